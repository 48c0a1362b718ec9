"""Results -> tables: one summary row per optimizer setting, one row per run, and metrics.

A *metric* (:class:`Metric`) turns the per-run arrays of one summary row
(:class:`SettingRuns`: final values, f_opt, statuses, evaluations, costs, hitting data) into
one number. The built-in summary columns (success rate, quartiles, steps and evaluations to
target, ERT) are metrics registered here; :func:`register_metric` adds more, and
``[output] metrics = ["name", ...]`` in a config adds registered ones as ``summary.csv``
columns::

    import numpy as np
    from jaxcalc.pipeline import register_metric

    def median_converged_steps(runs):
        steps = runs.event_step[runs.status == "converged"]
        return float(np.median(steps)) if steps.size else float("nan")

    register_metric("median_converged_steps", median_converged_steps)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline import metrics, stats, views
from jaxcalc.pipeline.results import SCHEDULE_PREFIX, rows_to_columns

__all__ = [
    "CONTOUR_POINTS",
    "INTERVAL_METHODS",
    "Metric",
    "SettingRuns",
    "Statistics",
    "get_metric",
    "metric_names",
    "register_metric",
    "summarise_group",
    "tidy_columns",
    "tidy_rows",
]

CONTOUR_POINTS = 81  # per side of the grid of f saved for a 2-D objective's path figures
_PARAMS_KEEP_BYTES = 64 << 20  # keep full paths up to this size per group, else a sample
SUMMARY_LEAD = ("objective", "optimizer", "method")
SUMMARY_TAIL = ("compile_seconds", "run_seconds")
RUNS_LEAD = ("objective", "optimizer")


# -------------------------------------------------------------------------------------
# The metric protocol


@dataclass(frozen=True)
class SettingRuns:
    """The runs of one optimizer setting on one objective (one summary row), as arrays
    over its runs. With a budget, values past it are ignored and statuses of runs it cut
    are ``budget_exhausted``.

    Attributes:
      final: final values f.
      f_opt: the objective's known minimum, or None.
      precision: final ``f - f_opt`` (NaN without ``f_opt``).
      status: each run's status (strings).
      target: the success threshold on ``f - f_opt``.
      steps_to_target: first recorded step within ``target`` (-1: never).
      evaluations_to_target: evaluations (or costs, with a budget) by then (-1: never).
      evaluations: evaluations spent (costs, at most the budget, with one).
      steps_run: steps each run took (to its event, else all).
      event_step: the step of each run's event (-1: none).
      function_evaluations, gradient_evaluations, hessian_evaluations: the engine's counts.
      record_costs: with a budget, each run's cost at each record ``(runs, R+1)``; else None.
      record_values: f at each record ``(runs, R+1)`` (NaN past a budget), or None.
      record_evaluations: evaluations (costs, with a budget) at each record ``(runs, R+1)``,
        as the engine counted them (:func:`~jaxcalc.pipeline.views.record_evaluations`),
        or None.
      horizon: the evaluations up to which the areas (``ecdf_area``, ``aocc``) are measured.
    """

    final: np.ndarray
    f_opt: float | None
    precision: np.ndarray
    status: np.ndarray
    target: float
    steps_to_target: np.ndarray
    evaluations_to_target: np.ndarray
    evaluations: np.ndarray
    steps_run: np.ndarray
    event_step: np.ndarray
    function_evaluations: np.ndarray
    gradient_evaluations: np.ndarray
    hessian_evaluations: np.ndarray
    record_costs: np.ndarray | None = None
    record_values: np.ndarray | None = None
    record_evaluations: np.ndarray | None = None
    horizon: float | None = None

    @property
    def success(self) -> np.ndarray:
        """Which runs reached the target."""
        return self.steps_to_target >= 0

    @property
    def record_precision(self) -> np.ndarray | None:
        """``f - f_opt`` at each record (None without ``f_opt`` or records)."""
        if self.f_opt is None or self.record_values is None:
            return None
        return np.asarray(self.record_values, np.float64) - self.f_opt

    @functools.cached_property
    def _ecdf_area(self) -> np.ndarray:
        if self.record_precision is None or self.horizon is None:
            return np.full(self.final.shape, np.nan)
        return views.ecdf_area(self.record_precision, self.record_evaluations, self.horizon)

    @functools.cached_property
    def _aocc(self) -> np.ndarray:
        if self.record_precision is None or self.horizon is None:
            return np.full(self.final.shape, np.nan)
        return views.aocc(self.record_precision, self.record_evaluations, self.horizon)

    def run_ecdf_area(self) -> np.ndarray:
        """Each run's area under its ECDF (:func:`~jaxcalc.pipeline.views.ecdf_area`)."""
        return self._ecdf_area

    def run_aocc(self) -> np.ndarray:
        """Each run's area over its convergence curve (:func:`~jaxcalc.pipeline.views.aocc`)."""
        return self._aocc


@dataclass(frozen=True)
class Metric:
    """A summary column: ``name`` and a function of one setting's runs to a number."""

    name: str
    function: Callable[[SettingRuns], float]

    def __call__(self, runs: SettingRuns) -> float:
        return self.function(runs)


_METRICS: dict[str, Metric] = {}


def register_metric(name: str, function: Callable[[SettingRuns], float]) -> Metric:
    """Register a metric by name (usable in ``[output] metrics``); returns it.

    Raises:
      ConfigError: ``name`` is a built-in metric, or not a plain identifier.
    """
    if not name.isidentifier():
        raise ConfigError(f"metric name '{name}' must be a plain identifier (a CSV column)")
    if name in _BUILTIN:
        raise ConfigError(f"'{name}' is a built-in summary column; choose another name")
    metric = Metric(name, function)
    _METRICS[name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The registered metric ``name``."""
    if name not in _METRICS:
        raise ConfigError(f"unknown metric '{name}' (registered: {', '.join(_METRICS)})")
    return _METRICS[name]


def metric_names() -> list[str]:
    """Registered metric names, built-in ones first."""
    return list(_METRICS)


def _quantile(name: str, field: str, q: int) -> Metric:
    def function(runs: SettingRuns) -> float:
        values = getattr(runs, field)
        finite = values[np.isfinite(values)]
        return float(np.quantile(finite, [0.25, 0.5, 0.75])[q]) if finite.size else np.nan

    return Metric(name, function)


def _median_on_success(name: str, field: str) -> Metric:
    def function(runs: SettingRuns) -> float:
        success = runs.success
        return float(np.median(getattr(runs, field)[success])) if success.any() else np.nan

    return Metric(name, function)


def _success_rate(runs: SettingRuns) -> float:
    return float(runs.success.mean()) if runs.f_opt is not None else np.nan


def _ert(runs: SettingRuns) -> float:
    if runs.f_opt is None:
        return np.nan
    return metrics.expected_running_time(runs.evaluations_to_target, runs.evaluations)


_BUILTIN_METRICS = (
    Metric("success_rate", _success_rate),
    _quantile("final_value_q25", "final", 0),
    _quantile("final_value_median", "final", 1),
    _quantile("final_value_q75", "final", 2),
    _quantile("precision_q25", "precision", 0),
    _quantile("precision_median", "precision", 1),
    _quantile("precision_q75", "precision", 2),
    _median_on_success("median_steps_to_target", "steps_to_target"),
    _median_on_success("median_evaluations_to_target", "evaluations_to_target"),
    Metric("ert", _ert),
    Metric("ecdf_area", lambda runs: float(np.mean(runs.run_ecdf_area()))),
    Metric("aocc", lambda runs: float(np.mean(runs.run_aocc()))),
)
_METRICS.update((m.name, m) for m in _BUILTIN_METRICS)
_BUILTIN = frozenset(m.name for m in _BUILTIN_METRICS)


# -------------------------------------------------------------------------------------
# Confidence intervals of the aggregates, and the per-run views


@dataclass(frozen=True)
class Statistics:
    """How the tables measure uncertainty and read fixed budgets (``[output]`` keys).

    Attributes:
      seed: the config seed; each row's bootstrap seed is :func:`~jaxcalc.pipeline.stats.row_seed`
        of it and the row's key.
      confidence: the coverage of the intervals (0.95).
      samples: bootstrap resamples per interval (2000).
      fixed_budgets: the evaluation budgets of the fixed-budget view, or None for the
        default (powers of ten up to the horizon, and the run budget when there is one).
    """

    seed: int = 0
    confidence: float = stats.DEFAULT_CONFIDENCE
    samples: int = stats.DEFAULT_SAMPLES
    fixed_budgets: tuple[int, ...] | None = None


#: each aggregate with a confidence interval, and the bootstrap interval it gets: BCa for
#: the smooth statistics (a median, means), percentile for the success rate (a proportion
#: whose resamples take few values) and the ERT (a ratio that is infinite in resamples
#: without a success)
INTERVAL_METHODS = {
    "success_rate": "percentile",
    "precision_median": "bca",
    "ert": "percentile",
    "ecdf_area": "bca",
    "aocc": "bca",
}


def _interval_statistics(runs: SettingRuns) -> dict[str, stats.Statistic]:
    """Each aggregate as a bootstrap :class:`~jaxcalc.pipeline.stats.Statistic`, with its
    interval method (:data:`INTERVAL_METHODS`)."""
    success = runs.success.astype(np.float64)
    hit = np.asarray(runs.evaluations_to_target, np.float64)
    spent = np.where(hit >= 0, hit, np.asarray(runs.evaluations, np.float64))
    return {
        "success_rate": stats.mean_of(success, INTERVAL_METHODS["success_rate"]),
        "precision_median": stats.median_of_finite(
            runs.precision, INTERVAL_METHODS["precision_median"]
        ),
        "ert": stats.ratio_of_sums(spent, success),
        "ecdf_area": stats.mean_of(runs.run_ecdf_area(), INTERVAL_METHODS["ecdf_area"]),
        "aocc": stats.mean_of(runs.run_aocc(), INTERVAL_METHODS["aocc"]),
    }


def interval_columns(runs: SettingRuns, key: dict[str, Any], options: Statistics) -> dict:
    """``<aggregate>_ci_low`` and ``<aggregate>_ci_high`` of one summary row, from one
    bootstrap seeded by the config seed and the row's ``key`` (never its position). NaN
    where the aggregate is undefined (no f_opt) or the row has fewer than 2 runs."""
    n = int(runs.final.size)
    intervals = {}
    if runs.f_opt is not None and n >= 2:
        intervals = stats.bootstrap_intervals(
            _interval_statistics(runs),
            n,
            confidence=options.confidence,
            samples=options.samples,
            seed=stats.row_seed(options.seed, key),
        )
    columns: dict[str, float] = {}
    for name in INTERVAL_METHODS:
        ci = intervals.get(name)
        columns[f"{name}_ci_low"] = float(ci.low) if ci else np.nan
        columns[f"{name}_ci_high"] = float(ci.high) if ci else np.nan
    return columns


def default_budgets(horizon: float, budget: float | None) -> tuple[int, ...]:
    """The fixed-budget view's default budgets: 10, 100, ... up to the horizon, and the run
    budget itself when there is one."""
    top = int(np.floor(np.log10(max(horizon, 10.0)) + 1e-9))
    powers = [10**k for k in range(1, top + 1)]
    if budget is not None:
        powers = [b for b in powers if b < budget] + [int(budget)]
    return tuple(powers)


def horizon_of(runs_evaluations: np.ndarray, budget, fixed_budgets) -> float:
    """The evaluations up to which a row's areas are measured: its budget, else the
    largest fixed budget, else the next power of ten at or above the most evaluations any
    of its runs spent."""
    if budget is not None:
        return float(budget.budget)
    if fixed_budgets:
        return float(max(fixed_budgets))
    most = float(np.max(runs_evaluations)) if np.size(runs_evaluations) else 1.0
    return float(10.0 ** np.ceil(np.log10(max(most, 10.0)) - 1e-12))


def best_column(budget_value: int, known: bool) -> str:
    """The runs.csv column of the best value within ``budget_value`` evaluations."""
    return f"best_{'gap' if known else 'f'}_at_{budget_value}"


def view_columns(runs: SettingRuns, budgets_: Sequence[int]) -> dict[str, list[float]]:
    """Per-run view columns: the ECDF area, the AOCC and the best value (f - f_opt, or f
    without f_opt) within each fixed budget."""
    known = runs.f_opt is not None
    values = runs.record_precision if known else np.asarray(runs.record_values, np.float64)
    best = views.best_at_budgets(values, runs.record_evaluations, budgets_)
    columns = {
        "ecdf_area": runs.run_ecdf_area().tolist(),
        "aocc": runs.run_aocc().tolist(),
    }
    for j, b in enumerate(budgets_):
        columns[best_column(b, known)] = best[:, j].tolist()
    return columns


# -------------------------------------------------------------------------------------
# One group's tables


@dataclass(frozen=True)
class _GroupRuns:
    """A group's per-run arrays over all its settings (sweep axes, then runs)."""

    status: np.ndarray
    final: np.ndarray
    hit: np.ndarray
    evals_hit: np.ndarray
    spent: np.ndarray
    steps_run: np.ndarray
    costs: np.ndarray | None  # cost per record, with a budget
    values: np.ndarray  # f per record, NaN past a budget
    record_evaluations: np.ndarray  # evaluations (costs, with a budget) per record


def _group_runs(t: Any, f_opt: float | None, target: float, budget) -> _GroupRuns:
    """Hitting data, final values and statuses of every run (cut at ``budget`` if any).

    A run reaches the target at the first record where its best value so far does; its
    evaluations there are the counts the engine recorded (a trajectory without them, from
    an older jaxcalc, has them apportioned from its totals)."""
    recorded = t.recorded_steps
    steps_run = np.where(t.event_step >= 0, t.event_step, t.steps)
    best = t.values if getattr(t, "best_values", None) is None else t.best_values
    precision = best - f_opt if f_opt is not None else np.full_like(t.values, np.nan)
    at_records = getattr(t, "evaluations_at_records", None)
    exact = at_records(0) if at_records is not None else None  # f-evaluations
    status, final, costs, values = t.status, t.final_values, None, t.values
    if budget is not None:
        costs, within, final, status, spent = budgets.cut_at_budget(t, budget, status, steps_run)
        precision = np.where(within, precision, np.nan)
        values = np.where(within, t.values, np.nan)
    hit = (
        metrics.hitting_steps(precision, recorded, target)
        if f_opt is not None
        else np.full(t.status.shape, -1)
    )
    if budget is None and exact is not None:
        first = np.argmax(np.nan_to_num(precision, nan=np.inf) <= target, axis=-1)
        at_hit = np.take_along_axis(exact, first[..., None], axis=-1)[..., 0]
        evals_hit = np.where(hit >= 0, at_hit, -1)
        spent = t.function_evaluations
    elif budget is None:
        evals_hit = metrics.evaluations_at(hit, t.function_evaluations, steps_run)
        spent = t.function_evaluations
    else:
        first = np.argmax(np.nan_to_num(precision, nan=np.inf) <= target, axis=-1)
        at_hit = np.take_along_axis(costs, first[..., None], axis=-1)[..., 0]
        evals_hit = np.where(hit >= 0, np.round(at_hit), -1)
    if costs is None:
        at_records = views.record_evaluations(
            t.function_evaluations,
            steps_run,
            recorded,
            exact=exact,
        )
    else:
        at_records = np.asarray(costs, np.float64)
    return _GroupRuns(status, final, hit, evals_hit, spent, steps_run, costs, values, at_records)


def _setting(
    t: Any, g: _GroupRuns, index: tuple, f_opt, target: float, budget, fixed_budgets
) -> SettingRuns:
    final = np.asarray(g.final[index], np.float64)
    return SettingRuns(
        final=final,
        f_opt=f_opt,
        precision=final - f_opt if f_opt is not None else np.full_like(final, np.nan),
        status=g.status[index],
        target=target,
        steps_to_target=g.hit[index],
        evaluations_to_target=g.evals_hit[index],
        evaluations=g.spent[index],
        steps_run=g.steps_run[index],
        event_step=t.event_step[index],
        function_evaluations=t.function_evaluations[index],
        gradient_evaluations=t.gradient_evaluations[index],
        hessian_evaluations=t.hessian_evaluations[index],
        record_costs=g.costs[index] if g.costs is not None else None,
        record_values=np.asarray(g.values[index], np.float64),
        record_evaluations=g.record_evaluations[index],
        horizon=horizon_of(g.spent[index], budget, fixed_budgets),
    )


def _hyperparameters(t: Any, index: tuple) -> dict[str, Any]:
    """The setting's hyperparameters (a swept one at this setting's value)."""
    return {
        k: (float(v[index[t.sweep.index(k)]]) if k in t.sweep else v)
        for k, v in t.hyperparameters.items()
        if v is None or isinstance(v, int | float | np.ndarray)
    }


def _ints(a: np.ndarray) -> list[int]:
    """Python ints, as ``int()`` of each element gives them."""
    a = np.asarray(a)
    return (a if a.dtype.kind in "iub" else np.trunc(a)).astype(np.int64).tolist()


def _run_columns(name: str, label: str, hyper: dict, runs: SettingRuns, budget) -> dict:
    """One row per run of a setting, as columns of Python numbers."""
    n = int(runs.status.size)
    columns = {
        "objective": [name] * n,
        "optimizer": [label] * n,
        **{f"hp_{k}": [v] * n for k, v in hyper.items()},
        "start": list(range(n)),
        "status": [str(s) for s in runs.status.tolist()],
        "final_value": runs.final.tolist(),
        "precision": np.asarray(runs.precision, np.float64).tolist(),
        "event_step": _ints(runs.event_step),
        "steps_to_target": _ints(runs.steps_to_target),
        "evaluations_to_target": _ints(runs.evaluations_to_target),
        "function_evaluations": _ints(runs.function_evaluations),
        "gradient_evaluations": _ints(runs.gradient_evaluations),
        "hessian_evaluations": _ints(runs.hessian_evaluations),
    }
    if budget is not None:
        columns["evaluations"] = np.asarray(runs.evaluations, np.float64).tolist()
    return columns


def summarise_group(
    objective: Any,
    optimizer_label: str,
    t: Any,
    target: float,
    budget: budgets.Budget | None = None,
    compile_seconds: float | None = None,
    extra: Sequence[Metric] = (),
    statistics: Statistics | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[Any]], dict[str, np.ndarray]]:
    """Per-setting summary rows, the per-run table (as columns: one row per run) and the
    arrays to save for one group (a :class:`~jaxcalc.Trajectory` ``t``).

    With a ``budget``, records past it are ignored (hits, final values), statuses of runs it
    cut become ``budget_exhausted``, and evaluation columns count the cost convention.
    ``compile_seconds`` replaces the trajectory's own (when the group was compiled ahead);
    ``extra`` metrics follow the built-in columns. ``statistics`` (default
    :class:`Statistics`) sets the confidence intervals (``<aggregate>_ci_low`` and
    ``_ci_high`` columns after the built-in ones) and the fixed budgets of the per-run
    ``best_gap_at_<budget>`` columns (``best_f_at_<budget>`` without f_opt)."""
    options = statistics if statistics is not None else Statistics()
    f_opt = objective.f_opt
    g = _group_runs(t, f_opt, target, budget)
    sweep_shape = t.status.shape[:-1]
    per_step = budgets.per_step_cost(t, budget, g.steps_run) if budget is not None else None
    summary: list[dict[str, Any]] = []
    run_tables = []
    indices = list(np.ndindex(*sweep_shape)) if sweep_shape else [()]
    settings = [_setting(t, g, i, f_opt, target, budget, options.fixed_budgets) for i in indices]
    # the per-run columns of one group are the same for every setting: the union of the
    # settings' default budgets (each reads its own runs only)
    fixed = options.fixed_budgets or tuple(
        sorted(
            {
                b
                for runs in settings
                for b in default_budgets(runs.horizon, budget.budget if budget else None)
            }
        )
    )
    for index, runs in zip(indices, settings, strict=True):
        hyper = _hyperparameters(t, index)
        key = {"objective": objective.name, "optimizer": optimizer_label, "setting": hyper}
        row = {
            "objective": objective.name,
            "optimizer": optimizer_label,
            "method": t.optimizer,
            **{f"hp_{k}": v for k, v in hyper.items()},
            "runs": int(runs.status.size),
            **{m.name: m(runs) for m in _BUILTIN_METRICS},
            **interval_columns(runs, key, options),
        }
        if budget is not None:
            row.update(
                budget=budget.budget,
                steps=int(t.steps),
                evaluations_per_step=float(np.median(per_step[index])),
            )
        row.update({f"status_{s}": int((runs.status == s).sum()) for s in np.unique(runs.status)})
        row["compile_seconds"] = t.compile_seconds if compile_seconds is None else compile_seconds
        row["run_seconds"] = t.run_seconds
        columns = _run_columns(objective.name, optimizer_label, hyper, runs, budget)
        # an objective from data records held-out loss and accuracies: their final values
        # per run (with a budget, at the record of the final value: the last within it),
        # and their quartiles per setting (over the finite ones), under names that say so
        final_record = -1
        if budget is not None:
            final_record = budgets.within_budget(g.costs[index], budget.budget).sum(-1) - 1
        for name, recorded in t.recorded.items():
            final = np.asarray(_at_record(recorded[index], final_record), np.float64)
            columns[f"final_{name}"] = final.tolist()
            finite = final[np.isfinite(final)]
            quartiles = (
                (np.quantile(finite, 0.25), np.median(finite), np.quantile(finite, 0.75))
                if finite.size
                else (None, None, None)
            )
            for prefix, q in zip(("q25", "median", "q75"), quartiles, strict=True):
                row[f"{prefix}_final_{name}"] = None if q is None else float(q)
        row.update({m.name: float(m(runs)) for m in extra if m.name not in row})
        summary.append(row)
        columns.update(view_columns(runs, fixed))
        run_tables.append(columns)
    runs_columns = {k: [v for table in run_tables for v in table[k]] for k in run_tables[0]}
    return summary, runs_columns, _saved_arrays(objective, t, g, budget)


def _at_record(recorded: np.ndarray, record: int | np.ndarray) -> np.ndarray:
    """Each run's value at its ``record`` (one for all runs, or one per run)."""
    if np.ndim(record) == 0:
        return recorded[..., record]
    return np.take_along_axis(recorded, np.asarray(record)[..., None], axis=-1)[..., 0]


def _saved_arrays(objective: Any, t: Any, g: _GroupRuns, budget) -> dict[str, np.ndarray]:
    """The arrays of a group's part file (the report draws from these)."""
    params = t.params
    if params.nbytes > _PARAMS_KEEP_BYTES:
        keep = max(1, int(params.shape[-3] * _PARAMS_KEEP_BYTES / params.nbytes))
        params = params[..., :keep, :, :]
    f_opt = objective.f_opt
    arrays = {
        "values": t.values,
        "grad_norms": t.grad_norms,
        "params": params,
        "recorded_steps": t.recorded_steps,
        "status": t.status.astype("U24"),
        "function_evaluations": t.function_evaluations,
        "steps_run": g.steps_run,
        "f_opt": np.asarray(np.nan if f_opt is None else f_opt),
        "bounds": objective.bounds,
        "minimizers": objective.minimizers
        if objective.minimizers is not None
        else np.zeros((0, objective.dim)),
        "gradient_evaluations": t.gradient_evaluations,
        "hessian_evaluations": t.hessian_evaluations,
    }
    arrays.update({f"recorded_{k}": v for k, v in t.recorded.items()})
    # each scheduled hyperparameter's value per setting at every record (see SCHEDULE_PREFIX)
    arrays.update({SCHEDULE_PREFIX + k: v for k, v in t.hyperparameter_history.items()})
    # what exports need (docs/exports.md): the best values and the counts at every record
    # (a method with constant counts per step: those at the start and per step)
    if getattr(t, "best_values", None) is not None:
        arrays["best_values"] = t.best_values
    if getattr(t, "record_counts", None) is not None:
        arrays["record_counts"] = t.record_counts
    elif getattr(t, "step_counts", None) is not None:
        arrays["step_counts"] = t.step_counts
    if objective.dim == 2 and objective.minimizers is not None:  # path figures' background
        arrays["contour_f"] = contour_grid(objective)
    if budget is not None:
        arrays.update(
            record_evaluations=g.costs,
            budget=np.asarray(budget.budget),
            gradient_cost=np.asarray(budget.gradient_cost),
            start_cost=np.asarray(budget.start),
            gradient_free=np.asarray(budget.gradient_free),
            budget_status=g.status.astype("U24"),
        )
    return arrays


@functools.lru_cache(maxsize=16)
def contour_grid(objective) -> np.ndarray:
    """f on a CONTOUR_POINTS x CONTOUR_POINTS grid over a 2-D objective's bounds, indexed
    [y, x] as matplotlib's contour expects (one small program per objective)."""
    import jax

    (x0, x1), (y0, y1) = objective.bounds
    xs = np.linspace(x0, x1, CONTOUR_POINTS)
    ys = np.linspace(y0, y1, CONTOUR_POINTS)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    values = np.asarray(jax.jit(objective.__call__)(points), np.float64)
    return values.reshape(CONTOUR_POINTS, CONTOUR_POINTS)


# -------------------------------------------------------------------------------------
# Tables of many groups


def _ordered(names: Iterable[str], lead: tuple[str, ...], tail: tuple[str, ...]):
    """Column order: ``lead``, hyperparameters, the rest, per-status counts, ``tail``
    (``names`` in order of first appearance)."""
    seen = list(dict.fromkeys(names))
    hp = [k for k in seen if k.startswith("hp_")]
    status = [k for k in seen if k.startswith("status_")]
    rest = [k for k in seen if k not in (*lead, *hp, *status, *tail)]
    return [k for k in lead if k in seen] + hp + rest + status + [k for k in tail if k in seen]


def _missing(column: str) -> Any:
    """A cell a row lacks: a status no run of a setting ended in counts 0, a hyperparameter
    an optimizer does not have stays empty."""
    return 0 if column.startswith("status_") else None


def tidy_rows(
    rows: list[dict[str, Any]], lead: tuple[str, ...] = SUMMARY_LEAD, tail=SUMMARY_TAIL
) -> list[dict[str, Any]]:
    """Rows with one column order (see :func:`_missing` for the cells a row lacks)."""
    columns = _ordered(rows_to_columns(rows), lead, tail)
    return [{k: row.get(k, _missing(k)) for k in columns} for row in rows]


def tidy_columns(
    tables: list[dict[str, list[Any]]], lead: tuple[str, ...] = RUNS_LEAD
) -> dict[str, list[Any]]:
    """Tables given as columns, one after the other, as one table with one column order."""
    names = _ordered((k for table in tables for k in table), lead, ())
    merged: dict[str, list[Any]] = {k: [] for k in names}
    for table in tables:
        n = len(next(iter(table.values()))) if table else 0
        for k in names:
            merged[k].extend(table[k] if k in table else [_missing(k)] * n)
    return merged
