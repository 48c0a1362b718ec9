"""Config -> compiled runs -> result files.

One :func:`jaxcalc.optimize` call per (objective, optimizer) pair, a *group*: every start
and every swept hyperparameter value of that pair run as lanes of one compiled program.
Each finished group is written atomically as one part file (``group_NNN.npz``: its arrays
and its table rows), then listed in ``manifest.json`` (also written atomically) with the
config hash and the jaxcalc/JAX versions. Ctrl-C or SIGTERM stops the run after the current
group (a second one abandons it); the manifest then says "interrupted", the tables and the
report cover the finished groups, and ``resume=True`` (``jaxcalc run ... --resume``)
computes only the groups that are missing, refusing when the config or versions changed.

While a group runs and its results are written, a background thread compiles the next
groups' programs (``jaxcalc.trajectory.precompile``; XLA compiles without holding the GIL),
so compiling and running overlap. A group's compile seconds are those of its compile ahead;
a compile that fails ahead is done again by the group itself, which then fails (or not)
exactly as it would have without the thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime
import functools
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.pipeline import metrics
from jaxcalc.pipeline.results import (
    MANIFEST_NAME,
    OutputFolder,
    parquet_available,
    read_group_part,
    read_manifest,
    rows_to_columns,
    write_csv,
    write_csv_columns,
    write_group_part,
    write_json,
    write_manifest,
    write_parquet,
    write_parquet_columns,
)

__all__ = ["GROUP_FILE", "RunInterrupted", "run_experiment"]

#: versions that must match for ``--resume`` to add groups to an earlier run
RESUME_VERSIONS = ("jaxcalc", "jax", "jaxlib")

GROUP_FILE = "group_{index:03d}.npz"
_PARAMS_KEEP_BYTES = 64 << 20  # keep full paths up to this size per group, else a sample


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    import jax
    import jaxlib
    import optax

    import jaxcalc

    return {
        "jaxcalc": jaxcalc.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _platform() -> dict[str, Any]:
    import jax

    return {
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "x64": bool(jax.config.jax_enable_x64),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "machine": platform.machine(),
        "system": platform.platform(),
    }


def _label(cfg: Any, default: str) -> str:
    return getattr(cfg, "label", None) or default


@dataclass(frozen=True)
class _Budget:
    """An evaluation budget for one group: the budget, the cost convention and the costs
    of the method's start and cheapest step."""

    budget: int
    gradient_cost: float
    dim: int
    start: float
    step: float
    gradient_free: bool


def _cut_at_budget(t, budget: _Budget, status: np.ndarray, steps_run: np.ndarray):
    """Each run's cost per record, which records lie within the budget, the final values
    at the budget and the statuses (``budget_exhausted`` for runs the budget cut, or that
    ran all their steps)."""
    total = metrics.evaluation_cost(
        t.function_evaluations,
        t.gradient_evaluations,
        t.hessian_evaluations,
        budget.dim,
        budget.gradient_cost,
    )
    costs = metrics.record_costs(budget.start, total, steps_run, t.recorded_steps)
    limit = budget.budget * (1 + 1e-9)
    within = costs <= limit
    within[..., 0] = True  # the start is always within (a budget below it buys nothing)
    last = within.sum(axis=-1) - 1
    at_last = np.take_along_axis(t.values, last[..., None], axis=-1)[..., 0]
    over = total > limit
    final = np.where(over, at_last, t.final_values)
    status = np.where(over | (status == "max_steps"), "budget_exhausted", status)
    return costs, within, final, status, np.minimum(total, budget.budget)


def _ints(a: np.ndarray) -> list[int]:
    """Python ints, as ``int()`` of each element gives them."""
    a = np.asarray(a)
    return (a if a.dtype.kind in "iub" else np.trunc(a)).astype(np.int64).tolist()


CONTOUR_POINTS = 81  # per side of the grid of f saved for a 2-D objective's path figures


@functools.lru_cache(maxsize=16)
def _contour_grid(objective) -> np.ndarray:
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


def _summarise(
    objective,
    optimizer_label: str,
    t,
    target: float,
    budget: _Budget | None = None,
    compile_seconds: float | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[Any]], dict[str, np.ndarray]]:
    """Per-setting summary rows, the per-run table (as columns: one row per run) and the
    arrays to save for one group.

    With a ``budget``, records past it are ignored (hits, final values), statuses of runs it
    cut become ``budget_exhausted``, and evaluation columns count the cost convention.
    ``compile_seconds`` replaces the trajectory's own (when the group was compiled ahead)."""
    sweep_shape = t.status.shape[:-1]
    settings = list(np.ndindex(*sweep_shape)) if sweep_shape else [()]
    f_opt = objective.f_opt
    recorded = t.recorded_steps
    steps_run = np.where(t.event_step >= 0, t.event_step, t.steps)
    precision = t.values - f_opt if f_opt is not None else np.full_like(t.values, np.nan)
    all_status = t.status
    final_values = t.final_values
    if budget is not None:
        costs, within, final_values, all_status, spent = _cut_at_budget(
            t, budget, t.status, steps_run
        )
        precision = np.where(within, precision, np.nan)
    hit = (
        metrics.hitting_steps(precision, recorded, target)
        if f_opt is not None
        else np.full(t.status.shape, -1)
    )
    if budget is None:
        evals_hit = metrics.evaluations_at(hit, t.function_evaluations, steps_run)
        spent = t.function_evaluations
    else:
        first = np.argmax(np.nan_to_num(precision, nan=np.inf) <= target, axis=-1)
        at_hit = np.take_along_axis(costs, first[..., None], axis=-1)[..., 0]
        evals_hit = np.where(hit >= 0, np.round(at_hit), -1)
    summary: list[dict[str, Any]] = []
    runs: dict[str, list[Any]] = {}
    for index in settings:
        hyper = {
            k: (float(v[index[t.sweep.index(k)]]) if k in t.sweep else v)
            for k, v in t.hyperparameters.items()
            if v is None or isinstance(v, int | float | np.ndarray)
        }
        status = all_status[index]
        final = np.asarray(final_values[index], np.float64)
        prec_final = final - f_opt if f_opt is not None else np.full_like(final, np.nan)
        success = hit[index] >= 0
        finite = final[np.isfinite(final)]
        q = np.quantile(finite, [0.25, 0.5, 0.75]) if finite.size else [np.nan] * 3
        pf = prec_final[np.isfinite(prec_final)]
        pq = np.quantile(pf, [0.25, 0.5, 0.75]) if pf.size else [np.nan] * 3
        counts = {f"status_{s}": int((status == s).sum()) for s in np.unique(status)}
        row = {
            "objective": objective.name,
            "optimizer": optimizer_label,
            "method": t.optimizer,
            **{f"hp_{k}": v for k, v in hyper.items()},
            "runs": int(status.size),
            "success_rate": float(success.mean()) if f_opt is not None else np.nan,
            "final_value_q25": float(q[0]),
            "final_value_median": float(q[1]),
            "final_value_q75": float(q[2]),
            "precision_q25": float(pq[0]),
            "precision_median": float(pq[1]),
            "precision_q75": float(pq[2]),
            "median_steps_to_target": float(np.median(hit[index][success]))
            if success.any()
            else np.nan,
            "median_evaluations_to_target": float(np.median(evals_hit[index][success]))
            if success.any()
            else np.nan,
            "ert": metrics.expected_running_time(evals_hit[index], spent[index])
            if f_opt is not None
            else np.nan,
            **(
                {
                    "budget": budget.budget,
                    "steps": int(t.steps),
                    "evaluations_per_step": float(
                        np.median(_per_step(t, budget, steps_run)[index])
                    ),
                }
                if budget is not None
                else {}
            ),
            **counts,
            "compile_seconds": t.compile_seconds if compile_seconds is None else compile_seconds,
            "run_seconds": t.run_seconds,
        }
        summary.append(row)
        # one row per run, as columns of Python numbers (what the rows held one by one)
        n = int(status.size)
        columns = {
            "objective": [objective.name] * n,
            "optimizer": [optimizer_label] * n,
            **{f"hp_{k}": [v] * n for k, v in hyper.items()},
            "start": list(range(n)),
            "status": [str(s) for s in status.tolist()],
            "final_value": final.tolist(),
            "precision": np.asarray(prec_final, np.float64).tolist(),
            "event_step": _ints(t.event_step[index]),
            "steps_to_target": _ints(hit[index]),
            "evaluations_to_target": _ints(evals_hit[index]),
            "function_evaluations": _ints(t.function_evaluations[index]),
            "gradient_evaluations": _ints(t.gradient_evaluations[index]),
            "hessian_evaluations": _ints(t.hessian_evaluations[index]),
            **(
                {"evaluations": np.asarray(spent[index], np.float64).tolist()}
                if budget is not None
                else {}
            ),
        }
        if not runs:
            runs = columns
        else:
            for k, v in columns.items():
                runs[k].extend(v)
    params = t.params
    if params.nbytes > _PARAMS_KEEP_BYTES:
        keep = max(1, int(params.shape[-3] * _PARAMS_KEEP_BYTES / params.nbytes))
        params = params[..., :keep, :, :]
    arrays = {
        "values": t.values,
        "grad_norms": t.grad_norms,
        "params": params,
        "recorded_steps": recorded,
        "status": t.status.astype("U24"),
        "function_evaluations": t.function_evaluations,
        "steps_run": steps_run,
        "f_opt": np.asarray(np.nan if f_opt is None else f_opt),
        "bounds": objective.bounds,
        "minimizers": objective.minimizers
        if objective.minimizers is not None
        else np.zeros((0, objective.dim)),
        "gradient_evaluations": t.gradient_evaluations,
        "hessian_evaluations": t.hessian_evaluations,
    }
    if objective.dim == 2:  # the report's path figures draw these as their background
        arrays["contour_f"] = _contour_grid(objective)
    if budget is not None:
        arrays.update(
            record_evaluations=costs,
            budget=np.asarray(budget.budget),
            gradient_cost=np.asarray(budget.gradient_cost),
            start_cost=np.asarray(budget.start),
            gradient_free=np.asarray(budget.gradient_free),
            budget_status=all_status.astype("U24"),
        )
    return summary, runs, arrays


def _per_step(t, budget: _Budget, steps_run: np.ndarray) -> np.ndarray:
    """Each run's mean cost per step (cost convention)."""
    total = metrics.evaluation_cost(
        t.function_evaluations,
        t.gradient_evaluations,
        t.hessian_evaluations,
        budget.dim,
        budget.gradient_cost,
    )
    return (total - budget.start) / np.maximum(steps_run, 1)


def _group_budget(run: Any, method: Any, dim: int) -> _Budget | None:
    """The evaluation budget of one group, or None when the run counts steps."""
    if not getattr(run, "has_budget", False):
        return None
    c = run.gradient_cost_for(dim)
    return _Budget(
        budget=int(run.budget_for(dim)),
        gradient_cost=c,
        dim=dim,
        start=metrics.start_cost(method, c),
        step=metrics.minimum_step_cost(method, dim, c),
        gradient_free=bool(getattr(method, "gradient_free", False)),
    )


def _family(o_cfg: Any) -> str:
    """The objective's registry family ("classic", "bbob", ...); "user" for expressions."""
    name = getattr(o_cfg, "name", None)
    if not name:
        return "user"
    try:
        from jaxcalc import objectives

        return str(objectives.spec(name).family)
    except Exception:  # noqa: BLE001 - a label only
        return "user"


#: batches whose programs are compiled ahead, in a background thread, while the current
#: batch runs and its results are written (0: none; each batch compiles when it runs)
_LOOKAHEAD = 2

#: at most this many stackable optimizers of one objective share a program (1: none do).
#: Their compile grows with each method they hold, their run time barely does.
_STACK = 8


@dataclass(frozen=True)
class _Group:
    """One group's arguments of :func:`jaxcalc.optimize` (and of ``precompile``)."""

    o_cfg: Any
    objective: Any
    label: str
    method: Any
    budget: _Budget | None
    starts: np.ndarray
    common: dict[str, Any]  # steps, record_every, seed, tolerances ...
    hyper: dict[str, Any]  # the optimizer's hyperparameters (lists are sweeps)

    def call(self, function: Callable[..., Any], **extra: Any) -> Any:
        return function(
            self.objective, self.method, self.starts, **self.common, **extra, **self.hyper
        )

    def shares_program_with(self, other: _Group) -> bool:
        """Can the two groups run as one stacked program (jaxcalc.optimize_many)?"""
        return (
            self.objective is other.objective
            and self.method.stackable
            and other.method.stackable
            and self.common == other.common
        )


@dataclass(frozen=True)
class _Batch:
    """Groups computed by one engine call: a group alone (``optimize``), or groups of one
    objective whose stackable optimizers share one program (``optimize_many``)."""

    indices: tuple[int, ...]
    groups: tuple[_Group, ...]

    def call(self, single: Callable[..., Any], many: Callable[..., Any], **extra: Any) -> list:
        if len(self.groups) == 1:
            return [self.groups[0].call(single, **extra)]
        first = self.groups[0]
        optimizers = [(g.method, g.hyper) for g in self.groups]
        return many(first.objective, optimizers, first.starts, **first.common, **extra)


def _plan(todo: list[int], prepare: Callable[[int], _Group], stack: int) -> list[tuple[int, ...]]:
    """The groups to compute, in order, cut into batches: consecutive groups that can share
    a program (:meth:`_Group.shares_program_with`), at most ``stack`` to a batch. A group
    that cannot be prepared is a batch of its own (it raises its error when it runs)."""
    batches: list[list[int]] = []
    last: _Group | None = None
    for g in todo:
        try:
            group = prepare(g)
        except Exception:  # noqa: BLE001 - raised again when the group runs
            group = None
        if (
            group is not None
            and last is not None
            and len(batches[-1]) < stack
            and batches[-1][-1] == g - 1
            and last.shares_program_with(group)
        ):
            batches[-1].append(g)
        else:
            batches.append([g])
        last = group
    return [tuple(b) for b in batches]


# While the background thread compiles, a batch runs on one core: the engine's chunks on
# every core (its default on a CPU) would take the compile's core, and the grid is
# compile-bound (benchmarks/experiments.py: cold 66 s on one core against 87 s on two).
# The compile and the run must agree on it: it decides the program's chunk shape.
_RUN_AHEAD = {"cpu_threads": 1}


def _compile_batch(batch: _Batch) -> float:
    """Compile what the batch's engine call will run (in the background thread); returns
    the seconds it took, the batch's compile time."""
    from jaxcalc import trajectory

    t0 = time.perf_counter()
    batch.call(trajectory.precompile, trajectory.precompile_many, **_RUN_AHEAD)
    return time.perf_counter() - t0


class _CompileAhead:
    """Compiles the next batches' programs in one background thread (XLA compiles without
    holding the GIL) while the current batch runs and its results are written.

    The engine keeps what ``precompile`` compiled in its in-process cache, where the
    batch's ``optimize`` call finds it. A batch is never compiled ahead and by its own
    ``optimize`` at once: :meth:`wait` waits for its compile before the batch runs. A
    compile that fails ahead is forgotten: the batch's ``optimize`` then compiles again and
    raises the error itself, exactly as without compiling ahead.
    """

    def __init__(self, depth: int):
        self.depth = depth
        self._executor = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxcalc-compile")
            if depth > 0
            else None
        )
        self._groups: dict[int, _Batch | None] = {}
        self._futures: dict[int, concurrent.futures.Future] = {}

    def submit(self, later: list[int], prepare: Callable[[int], _Batch]) -> None:
        """Start compiling these batches (those not started yet), in order."""
        if self._executor is None:
            return
        for g in later:
            if g in self._groups:
                continue
            try:
                group = prepare(g)
            except Exception:  # noqa: BLE001 - raised again when the group runs
                self._groups[g] = None
                continue
            self._groups[g] = group
            self._futures[g] = self._executor.submit(_compile_batch, group)

    def take(self, g: int) -> _Batch | None:
        """The prepared arguments of batch ``g``, if it was compiled ahead."""
        return self._groups.pop(g, None)

    def wait(self, g: int) -> float | None:
        """Wait for batch ``g``'s compile: its seconds, or None when it was not compiled
        ahead or failed (``optimize`` compiles it then). A signal can interrupt the wait."""
        future = self._futures.pop(g, None)
        if future is None:
            return None
        concurrent.futures.wait([future])
        if future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    def run(self, batch: _Batch) -> list[Any]:
        """Compute the batch (the engine's caches are safe to share between threads)."""
        from jaxcalc import trajectory

        extra = _RUN_AHEAD if self.depth > 0 else {}
        return batch.call(trajectory.optimize, trajectory.optimize_many, **extra)

    def close(self, wait: bool) -> None:
        """Cancel the compiles not started; ``wait`` for the one under way (seconds)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
        self._groups.clear()
        self._futures.clear()


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM, after its finished groups were saved.

    Attributes:
      folder: the results folder (its manifest says "interrupted").
      done, total: finished groups, and all groups.
      signal_name: "SIGINT" or "SIGTERM".
    """

    def __init__(self, folder: Path, done: int, total: int, signal_name: str):
        super().__init__(f"interrupted ({signal_name}) after {done} of {total} groups")
        self.folder = folder
        self.done = done
        self.total = total
        self.signal_name = signal_name


class _StopRequest:
    """SIGINT/SIGTERM during a run: the first asks to stop after the current group, the
    second abandons it (raises KeyboardInterrupt). Handlers are only installed in the main
    thread, and the previous ones are restored afterwards."""

    def __init__(self, echo: bool):
        self.echo = echo
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = name
        if self.echo:  # a raw write: safe even if the signal lands inside a print
            note = f"\njaxcalc: {name}: stopping after the current group (again to abandon it)\n"
            os.write(2, note.encode())

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, OSError):
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        self._previous.clear()


class _Progress:
    """Groups done / total on stderr: a tqdm bar on a terminal, else one line per group.

    ``mode``: "auto" (bar on a TTY when tqdm is installed, else lines), "bar", "log" or
    "off". ``callback`` (the old ``progress=`` argument) receives every line as well.
    """

    def __init__(
        self,
        total: int,
        done: int,
        mode: str = "auto",
        stream: TextIO | None = None,
        callback: Callable[[str], None] | None = None,
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.callback = callback
        self.total = total
        self.bar = None
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "bar" if isatty() else "log"
        if mode == "bar":
            try:
                from tqdm.auto import tqdm
            except ImportError:
                mode = "log"
            else:
                self.bar = tqdm(
                    total=total,
                    initial=done,
                    file=self.stream,
                    dynamic_ncols=True,
                    leave=True,
                    bar_format="groups {n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}  {desc}",
                )
        self.mode = mode

    def line(self, text: str) -> None:
        if self.callback is not None:
            self.callback(text)
        if self.mode == "off":
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def start(self, g: int, what: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"now: {what}", refresh=True)

    def finish(self, text: str) -> None:
        self.line(text)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.set_description_str("", refresh=False)
            self.bar.close()
            self.bar = None


_SUMMARY_LEAD = ("objective", "optimizer", "method")
_SUMMARY_TAIL = ("compile_seconds", "run_seconds")


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


def _tidy(rows: list[dict[str, Any]], lead: tuple[str, ...], tail: tuple[str, ...] = ()):
    """Rows with one column order (see :func:`_missing` for the cells a row lacks)."""
    columns = _ordered(rows_to_columns(rows), lead, tail)
    return [{k: row.get(k, _missing(k)) for k in columns} for row in rows]


def _tidy_columns(tables: list[dict[str, list[Any]]], lead: tuple[str, ...]):
    """Tables given as columns, one after the other, as one table with one column order."""
    names = _ordered((k for table in tables for k in table), lead, ())
    merged: dict[str, list[Any]] = {k: [] for k in names}
    for table in tables:
        n = len(next(iter(table.values()))) if table else 0
        for k in names:
            merged[k].extend(table[k] if k in table else [_missing(k)] * n)
    return merged


def _write_tables(out: Path, finished: dict[int, Any], *, runs: bool) -> None:
    """summary.csv (and .parquet with pyarrow) of the finished groups, in group order; with
    ``runs`` also the per-run table."""
    order = sorted(finished)
    summary = _tidy([r for g in order for r in finished[g][1]], _SUMMARY_LEAD, _SUMMARY_TAIL)
    parquet = parquet_available()
    write_csv(out / "summary.csv", summary)
    if parquet:
        write_parquet(out / "summary.parquet", summary)
    if runs:
        per_run = _tidy_columns([finished[g][2] for g in order], ("objective", "optimizer"))
        write_csv_columns(out / "runs.csv", per_run)
        if parquet:
            write_parquet_columns(out / "runs.parquet", per_run)


def _check_resumable(out: Path, previous: dict[str, Any], config: Any, versions: dict) -> None:
    """Refuse to add groups to a run of another config or another jaxcalc/JAX version."""
    changes = []
    old_hash, new_hash = str(previous.get("config_hash")), config.hash()
    if old_hash != new_hash:
        changes.append(f"config hash {old_hash[:12]} -> {new_hash[:12]}")
    old_versions = previous.get("versions") or {}
    for name in RESUME_VERSIONS:
        if old_versions.get(name) != versions[name]:
            changes.append(f"{name} {old_versions.get(name)} -> {versions[name]}")
    if changes:
        raise OutputError(
            f"config changed since run of {previous.get('started', '?')} in {out} "
            f"({'; '.join(changes)}); refusing to mix results. Resume with the same config, "
            "--set and --dtype values, or use --overwrite or a new --out"
        )


def _load_finished(
    out: Path, previous: dict[str, Any], total: int, say: Callable[[str], None]
) -> dict[int, Any]:
    """The groups an earlier run finished: {index: (entry, summary rows, run columns)}."""
    finished: dict[int, Any] = {}
    for entry in previous.get("groups", []):
        index = entry.get("index")
        if not isinstance(index, int) or not 0 <= index < total:
            continue
        try:
            _arrays, summary_rows, runs_rows = read_group_part(out / entry["file"])
        except (OutputError, KeyError) as err:
            say(f"jaxcalc: group {index + 1} will be recomputed: {err}")
            continue
        finished[index] = (entry, summary_rows, rows_to_columns(runs_rows))
    return finished


def run_experiment(
    config: Any,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    display: str = "auto",
    report: bool = True,
) -> Path:
    """Run every (objective, optimizer) group of ``config`` and write the results.

    Writes one ``group_NNN.npz`` part per group (thinned trajectories and the group's
    table rows), ``manifest.json`` (finished groups, config hash, versions, status),
    ``summary.csv`` and ``runs.csv`` (plus ``.parquet`` twins when pyarrow is installed),
    ``metadata.json`` (resolved config, its hash, versions, platform, times, status) and,
    unless ``report=False``, the figures and ``report.md``.

    Args:
      overwrite: write into a folder that already holds results.
      resume: continue the run in ``out_dir``: finished groups are kept, the rest computed.
        Refused (``OutputError``) when the config hash or the jaxcalc/JAX versions differ.
      progress: called with one line per finished group (and notes).
      display: progress on stderr: "auto" (a bar on a terminal, one line per group
        otherwise), "bar", "log" or "off".
      report: draw the figures and write ``report.md``.

    Returns:
      The absolute path of the output folder.

    Raises:
      RunInterrupted: after Ctrl-C or SIGTERM, once the finished groups, tables, manifest
        and report are written (a ``KeyboardInterrupt``).
    """
    import jax

    folder = OutputFolder(out_dir, overwrite=overwrite, resume=resume)
    dtype = np.float64 if config.dtype == "float64" else np.float32
    versions = _versions()
    groups = [
        (i, o_cfg, p_cfg)
        for i, o_cfg in enumerate(config.objectives)
        for p_cfg in config.optimizers
    ]
    total = len(groups)
    with folder:
        out = folder.path
        previous = read_manifest(out) if resume else None
        if resume and previous is None:
            existing = [p.name for p in out.iterdir() if not p.name.startswith(".")]
            if existing:
                raise OutputError(
                    f"cannot resume in {out}: it has no {MANIFEST_NAME} (not a jaxcalc run, "
                    "or one from an older jaxcalc); use --overwrite or a new --out"
                )
        if previous is not None:
            _check_resumable(out, previous, config, versions)
        show = _Progress(total, 0, "off", callback=progress)  # for notes while loading
        finished = _load_finished(out, previous, total, show.line) if previous else {}
        now = _now()
        started = previous.get("started", now) if previous else now
        resumed = [*previous.get("resumed", []), now] if previous else []
        metadata: dict[str, Any] = {
            "name": config.name,
            "status": "running",
            "config": config.to_dict(),
            "config_hash": config.hash(),
            "overrides": list(config.overrides),
            "seed": config.seed,
            "dtype": config.dtype,
            "versions": versions,
            "platform": _platform(),
            "started": started,
            "resumed": resumed,
            "groups_total": total,
            "groups": [],
        }
        manifest: dict[str, Any] = {
            "name": config.name,
            "status": "running",
            "config_hash": config.hash(),
            "versions": {k: versions[k] for k in RESUME_VERSIONS},
            "started": started,
            "resumed": resumed,
            "updated": now,
            "groups_total": total,
            "groups_done": 0,
            "groups": [],
        }

        def save(status: str, **extra: Any) -> None:
            entries = [finished[g][0] for g in sorted(finished)]
            manifest.update(status=status, updated=_now(), groups_done=len(entries))
            manifest["groups"] = entries
            metadata.update(status=status, groups=entries, **extra)
            write_manifest(out, manifest)
            write_json(out / "metadata.json", metadata)

        save("running")
        show = _Progress(total, len(finished), display, callback=progress)
        if finished:
            show.line(
                f"jaxcalc: resuming {config.name}: {len(finished)} of {total} groups already "
                f"finished in {out}"
            )
        key = jax.random.key(config.seed)
        built: dict[int, tuple[Any, np.ndarray]] = {}

        def prepare(g: int) -> _Group:
            """Group ``g``'s arguments of ``optimize``. One objective object per objective
            (the engine caches compiled programs by the objective's identity, and its
            curvature check is one program per objective), with its starts."""
            i, o_cfg, p_cfg = groups[g]
            if i not in built:
                objective = o_cfg.build()
                o_label = getattr(o_cfg, "label", None)
                if o_label and o_label != objective.name:  # e.g. bbob_f1_d5
                    objective = dataclasses.replace(objective, name=o_label)
                points = getattr(config.starts, "points", None)
                if points:
                    starts = np.asarray(points, dtype)
                else:
                    starts = np.asarray(
                        objective.sample(jax.random.fold_in(key, i), config.starts.count, dtype)
                    )
                built[i] = (objective, starts)
            objective, starts = built[i]
            method = p_cfg.build()
            run_kwargs = config.run.optimize_kwargs()
            budget = _group_budget(config.run, method, objective.dim)
            if budget is not None:
                steps = config.run.steps_for(method, objective.dim)
                run_kwargs["steps"] = steps
                run_kwargs["record_every"] = min(run_kwargs["record_every"], steps)
            common = {"seed": config.seed, **run_kwargs}
            hyper = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in p_cfg.hyperparameters.items()
            }
            label = _label(p_cfg, p_cfg.name)
            return _Group(o_cfg, objective, label, method, budget, starts, common, hyper)

        prepared: dict[int, _Group] = {}

        def prepare_group(g: int) -> _Group:
            if g not in prepared:
                prepared[g] = prepare(g)
            return prepared[g]

        todo = [g for g in range(total) if g not in finished]
        batches = _plan(todo, prepare_group, _STACK)

        def prepare_batch(b: int) -> _Batch:
            indices = batches[b]
            return _Batch(indices, tuple(prepare_group(g) for g in indices))

        ahead = _CompileAhead(_LOOKAHEAD if len(batches) > 1 else 0)

        def finish_group(
            g: int, group: _Group, t: Any, compile_seconds: float, batch: _Batch, t0: float
        ) -> None:
            """Write group ``g``'s part, tables and manifest entry (it is then finished)."""
            objective, label, budget = group.objective, group.label, group.budget
            s_rows, r_columns, arrays = _summarise(
                objective, label, t, config.run.target, budget, compile_seconds
            )
            counts_by_status = t.status_counts()
            if budget is not None:
                values, n_status = np.unique(arrays["budget_status"], return_counts=True)
                counts_by_status = {str(k): int(v) for k, v in zip(values, n_status, strict=True)}
            name = GROUP_FILE.format(index=g)
            write_group_part(out / name, arrays, s_rows, r_columns)
            entry = {
                "index": g,
                "file": name,
                "objective": objective.name,
                "dim": objective.dim,
                "family": _family(group.o_cfg),
                "optimizer": label,
                "method": t.optimizer,
                "sweep": list(t.sweep),
                "sweep_values": {k: t.hyperparameters[k] for k in t.sweep},
                "status_counts": counts_by_status,
                "compile_seconds": compile_seconds,
                "run_seconds": t.run_seconds,
            }
            if budget is not None:
                entry["budget"] = budget.budget
                entry["steps"] = int(t.steps)
            if len(batch.groups) > 1:  # one program for these groups; seconds shared by runs
                entry["program_shared_with"] = [other.label for other in batch.groups]
            finished[g] = (entry, s_rows, r_columns)
            save("running")
            _write_tables(out, finished, runs=False)
            counts = ", ".join(f"{k} {v}" for k, v in sorted(counts_by_status.items()))
            show.finish(
                f"[{len(finished)}/{total}] {objective.name} x {label}: {counts} "
                f"(compile {compile_seconds:.2f} s, run {t.run_seconds:.2f} s, "
                f"total {time.perf_counter() - t0:.2f} s)"
            )

        stop_signal: str | None = None
        try:
            with _StopRequest(echo=display != "off") as stop:
                try:
                    for b in range(len(batches)):
                        if stop.signal_name is not None:
                            break
                        batch = ahead.take(b) or prepare_batch(b)
                        ahead.submit(list(range(b + 1, b + 1 + ahead.depth)), prepare_batch)
                        first = batch.groups[0]
                        labels = "+".join(group.label for group in batch.groups)
                        show.start(batch.indices[0], f"{first.objective.name} x {labels}")
                        t0 = time.perf_counter()
                        compiled_ahead = ahead.wait(b)  # seconds, or None: optimize compiles
                        results = ahead.run(batch)
                        all_runs = sum(t.status.size for t in results)
                        for g, group, t in zip(batch.indices, batch.groups, results, strict=True):
                            # a shared program's compile is shared out by runs, as the
                            # engine shares out its own compile and run seconds
                            share = t.status.size / all_runs
                            compile_seconds = t.compile_seconds + (compiled_ahead or 0.0) * share
                            finish_group(g, group, t, compile_seconds, batch, t0)
                    ahead.close(wait=True)  # after a stop: the one compile under way, if any
                except KeyboardInterrupt:  # a second signal, or one before handlers were set
                    stop_signal = stop.signal_name or "SIGINT"
                else:
                    stop_signal = stop.signal_name
                finally:
                    ahead.close(wait=False)  # abandoned or failed: a compile under way ends alone
        except BaseException as err:
            if not isinstance(err, KeyboardInterrupt):
                show.close()
                with contextlib.suppress(Exception):
                    _write_tables(out, finished, runs=True)
                    save("failed", finished=_now(), error=f"{type(err).__name__}: {err}")
            raise
        finally:
            show.close()
        complete = len(finished) == total
        status = "complete" if complete else "interrupted"
        counts: dict[str, int] = {}
        for entry, _, _ in finished.values():
            for k, v in entry.get("status_counts", {}).items():
                counts[k] = counts.get(k, 0) + int(v)
        _write_tables(out, finished, runs=True)
        save(
            status,
            finished=_now(),
            status_counts=dict(sorted(counts.items())),
            **({"stopped_by": stop_signal} if stop_signal and not complete else {}),
        )
        if report and finished:
            from jaxcalc.pipeline.report import build_report

            if complete:
                build_report(out)
            else:
                with contextlib.suppress(KeyboardInterrupt):  # a report is redrawn any time
                    build_report(out)
        if not complete:
            raise RunInterrupted(out, len(finished), total, stop_signal or "SIGINT")
    return folder.path
