"""Config -> compiled runs -> result files.

One :func:`jaxcalc.optimize` call per (objective, optimizer) pair, a *group*: every start
and every swept hyperparameter value of that pair run as lanes of one compiled program.
Each finished group is written atomically as one part file (``group_NNN.npz``: its arrays
and its table rows), then listed in ``manifest.json`` (also written atomically) with the
config hash and the jaxcalc/JAX versions. Ctrl-C or SIGTERM stops the run after the current
group (a second one abandons it); the manifest then says "interrupted", the tables and the
report cover the finished groups, and ``resume=True`` (``jaxcalc run ... --resume``)
computes only the groups that are missing, refusing when the config or versions changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.experiments import metrics
from jaxcalc.experiments.results import (
    MANIFEST_NAME,
    OutputFolder,
    parquet_available,
    read_group_part,
    read_manifest,
    write_csv,
    write_group_part,
    write_json,
    write_manifest,
    write_parquet,
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


def _summarise(
    objective,
    optimizer_label: str,
    t,
    target: float,
    budget: _Budget | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, np.ndarray]]:
    """Per-setting summary rows, per-run rows and the arrays to save for one group.

    With a ``budget``, records past it are ignored (hits, final values), statuses of runs it
    cut become ``budget_exhausted``, and evaluation columns count the cost convention."""
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
    summary, runs = [], []
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
            "compile_seconds": t.compile_seconds,
            "run_seconds": t.run_seconds,
        }
        summary.append(row)
        for start in range(status.size):
            runs.append(
                {
                    "objective": objective.name,
                    "optimizer": optimizer_label,
                    **{f"hp_{k}": v for k, v in hyper.items()},
                    "start": start,
                    "status": str(status[start]),
                    "final_value": float(final[start]),
                    "precision": float(prec_final[start]),
                    "event_step": int(t.event_step[index][start]),
                    "steps_to_target": int(hit[index][start]),
                    "evaluations_to_target": int(evals_hit[index][start]),
                    "function_evaluations": int(t.function_evaluations[index][start]),
                    "gradient_evaluations": int(t.gradient_evaluations[index][start]),
                    "hessian_evaluations": int(t.hessian_evaluations[index][start]),
                    **({"evaluations": float(spent[index][start])} if budget is not None else {}),
                }
            )
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


def _ordered(rows: list[dict[str, Any]], lead: tuple[str, ...], tail: tuple[str, ...]):
    """Column order: ``lead``, hyperparameters, the rest, per-status counts, ``tail``."""
    seen: list[str] = []
    for row in rows:
        seen += [k for k in row if k not in seen]
    hp = [k for k in seen if k.startswith("hp_")]
    status = [k for k in seen if k.startswith("status_")]
    rest = [k for k in seen if k not in (*lead, *hp, *status, *tail)]
    return [k for k in lead if k in seen] + hp + rest + status + [k for k in tail if k in seen]


def _tidy(rows: list[dict[str, Any]], lead: tuple[str, ...], tail: tuple[str, ...] = ()):
    """Rows with one column order; a status no run of a setting ended in counts 0, a
    hyperparameter an optimizer does not have stays empty."""
    columns = _ordered(rows, lead, tail)
    return [
        {k: row.get(k, 0 if k.startswith("status_") else None) for k in columns} for row in rows
    ]


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
        per_run = _tidy([r for g in order for r in finished[g][2]], ("objective", "optimizer"))
        write_csv(out / "runs.csv", per_run)
        if parquet:
            write_parquet(out / "runs.parquet", per_run)


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
    """The groups an earlier run finished: {index: (entry, summary rows, run rows)}."""
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
        finished[index] = (entry, summary_rows, runs_rows)
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

    from jaxcalc import trajectory

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
        stop_signal: str | None = None
        try:
            with _StopRequest(echo=display != "off") as stop:
                try:
                    for g, (i, o_cfg, p_cfg) in enumerate(groups):
                        if g in finished:
                            continue
                        if stop.signal_name is not None:
                            break
                        objective = o_cfg.build()
                        o_label = getattr(o_cfg, "label", None)
                        if o_label and o_label != objective.name:  # e.g. bbob_f1_d5
                            objective = dataclasses.replace(objective, name=o_label)
                        label = _label(p_cfg, p_cfg.name)
                        method = p_cfg.build()
                        run_kwargs = config.run.optimize_kwargs()
                        budget = _group_budget(config.run, method, objective.dim)
                        if budget is not None:
                            steps = config.run.steps_for(method, objective.dim)
                            run_kwargs["steps"] = steps
                            run_kwargs["record_every"] = min(run_kwargs["record_every"], steps)
                        show.start(g, f"{objective.name} x {label}")
                        points = getattr(config.starts, "points", None)
                        if points:
                            starts = np.asarray(points, dtype)
                        else:
                            starts = np.asarray(
                                objective.sample(
                                    jax.random.fold_in(key, i), config.starts.count, dtype
                                )
                            )
                        t0 = time.perf_counter()
                        t = trajectory.optimize(
                            objective,
                            method,
                            starts,
                            seed=config.seed,
                            **run_kwargs,
                            **{
                                k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in p_cfg.hyperparameters.items()
                            },
                        )
                        s_rows, r_rows, arrays = _summarise(
                            objective, label, t, config.run.target, budget
                        )
                        counts_by_status = t.status_counts()
                        if budget is not None:
                            values, n = np.unique(arrays["budget_status"], return_counts=True)
                            counts_by_status = {
                                str(k): int(v) for k, v in zip(values, n, strict=True)
                            }
                        name = GROUP_FILE.format(index=g)
                        write_group_part(out / name, arrays, s_rows, r_rows)
                        entry = {
                            "index": g,
                            "file": name,
                            "objective": objective.name,
                            "dim": objective.dim,
                            "family": _family(o_cfg),
                            "optimizer": label,
                            "method": t.optimizer,
                            "sweep": list(t.sweep),
                            "sweep_values": {k: t.hyperparameters[k] for k in t.sweep},
                            "status_counts": counts_by_status,
                            "compile_seconds": t.compile_seconds,
                            "run_seconds": t.run_seconds,
                        }
                        if budget is not None:
                            entry["budget"] = budget.budget
                            entry["steps"] = int(t.steps)
                        finished[g] = (entry, s_rows, r_rows)
                        save("running")
                        _write_tables(out, finished, runs=False)
                        counts = ", ".join(f"{k} {v}" for k, v in sorted(counts_by_status.items()))
                        show.finish(
                            f"[{len(finished)}/{total}] {objective.name} x {label}: {counts} "
                            f"(compile {t.compile_seconds:.2f} s, run {t.run_seconds:.2f} s, "
                            f"total {time.perf_counter() - t0:.2f} s)"
                        )
                except KeyboardInterrupt:  # a second signal, or one before handlers were set
                    stop_signal = stop.signal_name or "SIGINT"
                else:
                    stop_signal = stop.signal_name
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
            from jaxcalc.experiments.report import build_report

            if complete:
                build_report(out)
            else:
                with contextlib.suppress(KeyboardInterrupt):  # a report is redrawn any time
                    build_report(out)
        if not complete:
            raise RunInterrupted(out, len(finished), total, stop_signal or "SIGINT")
    return folder.path
