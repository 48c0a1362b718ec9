"""Views of the same runs: fixed-budget values, areas under and over the curves, Moré-Wild
performance and data profiles.

Plain NumPy over saved arrays (``docs/statistics.md`` defines each view):

* :func:`record_evaluations`: evaluations spent at each record of each run;
* :func:`best_at_budgets`: each run's best value within each evaluation budget;
* :func:`ecdf_area`: a run's normalised area under its ECDF of COCO's targets against
  log10 evaluations, up to a horizon;
* :func:`aocc`: a run's area over its convergence curve (Ye et al. 2022) up to a horizon;
* :func:`more_wild_evaluations`, :func:`performance_profile`, :func:`data_profile`:
  Moré & Wild (2009), "Benchmarking derivative-free optimization algorithms", SIAM J.
  Optim. 20(1):172-191.

Runs are recorded every few steps, so a run's values between two records are unknown: each
view reads the records (the best value found by an evaluation count is the best recorded
by then). The engine records each run's evaluations at every record; results from an
older jaxcalc, which kept only each run's total, have them apportioned linearly from it
over the steps the run took (exact for methods with a fixed cost per step; as in
:func:`jaxcalc.pipeline.metrics.evaluations_at`). With a budget, the costs per record are
the budget's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxcalc.pipeline.metrics import COCO_TARGETS

__all__ = [
    "AOCC_RANGE",
    "aocc",
    "best_at_budgets",
    "best_so_far",
    "data_profile",
    "ecdf_area",
    "more_wild_evaluations",
    "more_wild_evaluations_at",
    "performance_profile",
    "record_evaluations",
    "saved_record_counts",
]

#: the range of log10(f - f_opt) over which the AOCC is measured (COCO's targets' range)
AOCC_RANGE = (-8.0, 2.0)


def record_evaluations(
    function_evaluations: np.ndarray,
    steps_run: np.ndarray,
    recorded_steps: np.ndarray,
    exact: np.ndarray | None = None,
) -> np.ndarray:
    """Function evaluations each run had spent at each record ``(runs, R+1)``.

    ``exact``: the counts the engine recorded ``(runs, R+1)``, returned as floats. Without
    them (results of an older jaxcalc): 1 at the start, then the run's later evaluations
    spread evenly over the steps it ran, and its total after it stopped (the apportioning
    approximation of the module docstring)."""
    if exact is not None:
        return np.asarray(exact, np.float64)
    total = np.asarray(function_evaluations, np.float64)[..., None]
    steps = np.maximum(np.asarray(steps_run, np.float64), 1)[..., None]
    spread = 1 + (total - 1) / steps * np.asarray(recorded_steps, np.float64)
    return np.minimum(spread, np.maximum(total, 1))


def saved_record_counts(arrays: dict[str, np.ndarray], kind: int | None = None):
    """The counts at every record ``(..., R+1, 3)`` (or of one ``kind``: 0 f, 1 gradient,
    2 Hessian) of a group's saved arrays: its ``record_counts``, or those its
    ``step_counts`` give over its ``steps_run``; None when it has neither (results of an
    older jaxcalc)."""
    from jaxcalc.engine.result import counts_at_records

    if "record_counts" in arrays:
        counts = np.asarray(arrays["record_counts"])
        return counts if kind is None else counts[..., kind]
    if "step_counts" not in arrays:
        return None
    per = np.asarray(arrays["step_counts"])
    kinds = range(3) if kind is None else [kind]
    out = [
        counts_at_records(per[0, k], per[1, k], arrays["steps_run"], arrays["recorded_steps"])
        for k in kinds
    ]
    return np.stack(out, axis=-1) if kind is None else out[0]


def best_so_far(values: np.ndarray) -> np.ndarray:
    """The running minimum along the records; NaN counts as +inf (never best)."""
    return np.minimum.accumulate(np.nan_to_num(values, nan=np.inf), axis=-1)


def best_at_budgets(
    values: np.ndarray, evaluations: np.ndarray, budgets: Sequence[float]
) -> np.ndarray:
    """Each run's best recorded value within each budget: ``(runs, len(budgets))``, NaN
    where a run has no record within a budget (or no finite value by then).

    Args:
      values: ``(runs, R+1)`` f (or f - f_opt) at the records (NaN past a budget cut).
      evaluations: ``(runs, R+1)`` evaluations spent at each record.
      budgets: evaluation budgets.
    """
    best = best_so_far(values)
    out = []
    for budget in budgets:
        within = np.where(evaluations <= budget, best, np.inf).min(axis=-1)
        out.append(np.where(np.isfinite(within), within, np.nan))
    return np.stack(out, axis=-1) if out else np.zeros(values.shape[:-1] + (0,))


def _hitting_evaluations(
    precision: np.ndarray, evaluations: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Evaluations at the first record reaching each target ``(runs, targets)``; inf if never."""
    best = best_so_far(precision)
    out = np.full((best.shape[0], targets.size), np.inf)
    for j, target in enumerate(targets):  # one (runs, R+1) mask at a time: bounded memory
        reached = best <= target
        first = np.argmax(reached, axis=1)
        at = np.take_along_axis(evaluations, first[:, None], axis=1)[:, 0]
        out[:, j] = np.where(reached.any(axis=1), at, np.inf)
    return out


def ecdf_area(
    precision: np.ndarray,
    evaluations: np.ndarray,
    horizon: float,
    targets: Sequence[float] = COCO_TARGETS,
) -> np.ndarray:
    """Each run's normalised area under its ECDF: the fraction of ``targets`` reached,
    integrated over ``log10`` evaluations from 1 to ``horizon`` and divided by
    ``log10(horizon)``; in ``[0, 1]``. A target first reached after ``e`` evaluations adds
    ``(log10 horizon - log10 e) / log10 horizon`` over the number of targets; one never
    reached, or reached past the horizon, adds 0. NaN when ``horizon <= 1``.

    Args:
      precision: ``(runs, R+1)`` f - f_opt at the records.
      evaluations: ``(runs, R+1)`` evaluations spent at each record.
    """
    if not horizon > 1:
        return np.full(precision.shape[0], np.nan)
    e = _hitting_evaluations(precision, evaluations, np.asarray(targets, np.float64))
    log_h = np.log10(horizon)
    with np.errstate(divide="ignore"):
        share = np.clip((log_h - np.log10(np.maximum(e, 1.0))) / log_h, 0.0, 1.0)
    return share.mean(axis=-1)


def aocc(
    precision: np.ndarray,
    evaluations: np.ndarray,
    horizon: float,
    log_range: tuple[float, float] = AOCC_RANGE,
) -> np.ndarray:
    """Each run's area over its convergence curve (Ye, Doerr, Wang, Bäck 2022) in ``[0, 1]``:

    ``AOCC = (1/H) * sum_{i=1..H} (1 - c(b_i))``, ``c(y) = (clip(log10 y, lo, hi) - lo) /
    (hi - lo)``, with ``b_i`` the best f - f_opt recorded within ``i`` evaluations, ``H`` the
    ``horizon`` and ``(lo, hi)`` the ``log_range``. Before the first record (or with no finite
    value) ``c = 1``. The best value is a step function of the evaluation count, so the sum is
    over the intervals between records. NaN when ``horizon < 1``.
    """
    if not horizon >= 1:
        return np.full(precision.shape[0], np.nan)
    lo, hi = log_range
    best = best_so_far(precision)
    with np.errstate(divide="ignore"):
        level = (np.clip(np.log10(np.maximum(best, 0.0)), lo, hi) - lo) / (hi - lo)
    level = np.where(np.isfinite(best), level, 1.0)
    # evaluation i in [1, H] sees the last record with evaluations <= i: a record at e_k
    # covers the integers ceil(e_k) .. ceil(e_{k+1}) - 1
    end = np.floor(horizon) + 1
    first = np.clip(np.ceil(evaluations), 1, end)
    last = np.concatenate([first[:, 1:], np.full((first.shape[0], 1), end)], axis=1)
    last = np.maximum.accumulate(np.maximum(last, first), axis=1)
    counts = np.clip(last - first, 0, None)
    return ((1 - level) * counts).sum(axis=-1) / np.floor(horizon)


def more_wild_evaluations(
    f0: np.ndarray, values: np.ndarray, evaluations: np.ndarray, tau: float, budget: float
) -> np.ndarray:
    """Evaluations each solver needs on each problem to pass Moré & Wild's convergence test

    ``f(x0) - f(x) >= (1 - tau) (f(x0) - f_L)``,

    ``f_L`` the smallest value any solver recorded on the problem within ``budget``
    evaluations; inf when a solver never passes within ``budget``.

    Args:
      f0: ``(problems,)`` f at the problem's start.
      values: ``(problems, solvers, R+1)`` f at the records (NaN allowed).
      evaluations: ``(problems, solvers, R+1)`` evaluations at the records.
      tau: the tolerance, in (0, 1).
      budget: the most evaluations counted.

    Returns:
      ``t``: ``(problems, solvers)``.
    """
    return more_wild_evaluations_at(f0, values, evaluations, (tau,), budget)[0]


def more_wild_evaluations_at(
    f0: np.ndarray,
    values: np.ndarray,
    evaluations: np.ndarray,
    taus: Sequence[float],
    budget: float,
) -> list[np.ndarray]:
    """:func:`more_wild_evaluations` at each tolerance of ``taus`` (the best values so far
    and ``f_L``, the same for every tolerance, computed once)."""
    within = evaluations <= budget
    best = best_so_far(np.where(within, values, np.nan))
    f_low = best.min(axis=(1, 2))  # (problems,)
    f0 = np.asarray(f0, np.float64)
    out = []
    for tau in taus:
        need = (f0 - (1 - tau) * (f0 - f_low))[:, None, None]
        passed = (best <= need) & within
        first = np.argmax(passed, axis=-1)
        at = np.take_along_axis(evaluations, first[..., None], axis=-1)[..., 0]
        out.append(np.where(passed.any(axis=-1), at, np.inf))
    return out


def performance_profile(t: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """Moré & Wild's performance profile ``rho_s(alpha)``: the fraction of problems on
    which solver ``s`` needs at most ``alpha`` times the fewest evaluations of any solver.
    A problem that no solver passes counts for none. Returns ``(solvers, alphas)``."""
    t = np.asarray(t, np.float64)
    best = t.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(t), t / best, np.inf)
    return np.stack([(ratio <= a).mean(axis=0) for a in alphas], axis=1)


def data_profile(t: np.ndarray, dims: np.ndarray, kappas: Sequence[float]) -> np.ndarray:
    """Moré & Wild's data profile ``d_s(kappa)``: the fraction of problems solver ``s``
    passes within ``kappa`` simplex gradients, ``t / (n_p + 1)`` for a problem of
    dimension ``n_p``. Returns ``(solvers, kappas)``."""
    t = np.asarray(t, np.float64)
    units = t / (np.asarray(dims, np.float64)[:, None] + 1)
    return np.stack([(units <= k).mean(axis=0) for k in kappas], axis=1)
