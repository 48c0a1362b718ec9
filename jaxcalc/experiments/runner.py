"""Config -> compiled runs -> result files.

One :func:`jaxcalc.optimize` call per (objective, optimizer) pair: every start and every
swept hyperparameter value of that pair run as lanes of one compiled program. Results are
written as they finish (each file atomically), so an interrupt keeps every finished group
and marks the run "interrupted".
"""

from __future__ import annotations

import datetime
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.experiments import metrics
from jaxcalc.experiments.results import OutputFolder, write_csv, write_json, write_npz

__all__ = ["GROUP_FILE", "run_experiment"]

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


def _summarise(
    objective,
    optimizer_label: str,
    t,
    target: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, np.ndarray]]:
    """Per-setting summary rows, per-run rows and the arrays to save for one group."""
    sweep_shape = t.status.shape[:-1]
    settings = list(np.ndindex(*sweep_shape)) if sweep_shape else [()]
    f_opt = objective.f_opt
    recorded = t.recorded_steps
    steps_run = np.where(t.event_step >= 0, t.event_step, t.steps)
    precision = t.values - f_opt if f_opt is not None else np.full_like(t.values, np.nan)
    hit = (
        metrics.hitting_steps(precision, recorded, target)
        if f_opt is not None
        else np.full(t.status.shape, -1)
    )
    evals_hit = metrics.evaluations_at(hit, t.function_evaluations, steps_run)
    summary, runs = [], []
    for index in settings:
        hyper = {
            k: (float(v[index[t.sweep.index(k)]]) if k in t.sweep else v)
            for k, v in t.hyperparameters.items()
            if v is None or isinstance(v, int | float | np.ndarray)
        }
        status = t.status[index]
        final = np.asarray(t.final_values[index], np.float64)
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
            "ert": metrics.expected_running_time(evals_hit[index], t.function_evaluations[index])
            if f_opt is not None
            else np.nan,
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
    }
    return summary, runs, arrays


def run_experiment(
    config: Any,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    report: bool = True,
) -> Path:
    """Run every (objective, optimizer) group of ``config`` and write the results.

    Writes ``summary.csv``, ``runs.csv``, one ``group_NNN.npz`` per group (thinned
    trajectories), ``metadata.json`` (resolved config, its hash, versions, platform,
    times, status) and, unless ``report=False``, the figures and ``report.md``.

    Returns:
      The absolute path of the output folder.
    """
    import jax

    from jaxcalc.trajectory import optimize

    say = progress or (lambda _msg: None)
    folder = OutputFolder(out_dir, overwrite=overwrite)
    started = _now()
    dtype = np.float64 if config.dtype == "float64" else np.float32
    metadata: dict[str, Any] = {
        "name": config.name,
        "status": "running",
        "config": config.to_dict(),
        "config_hash": config.hash(),
        "seed": config.seed,
        "dtype": config.dtype,
        "versions": _versions(),
        "platform": _platform(),
        "started": started,
        "groups": [],
    }
    summary: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    with folder:
        out = folder.path
        write_json(out / "metadata.json", metadata)
        key = jax.random.key(config.seed)
        groups = [
            (i, o_cfg, j, p_cfg)
            for i, o_cfg in enumerate(config.objectives)
            for j, p_cfg in enumerate(config.optimizers)
        ]
        try:
            for g, (i, o_cfg, _j, p_cfg) in enumerate(groups):
                objective = o_cfg.build()
                points = getattr(config.starts, "points", None)
                if points:
                    starts = np.asarray(points, dtype)
                else:
                    starts = np.asarray(
                        objective.sample(jax.random.fold_in(key, i), config.starts.count, dtype)
                    )
                label = _label(p_cfg, p_cfg.name)
                t0 = time.perf_counter()
                t = optimize(
                    objective,
                    p_cfg.build(),
                    starts,
                    seed=config.seed,
                    **config.run.optimize_kwargs(),
                    **{
                        k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in p_cfg.hyperparameters.items()
                    },
                )
                s_rows, r_rows, arrays = _summarise(objective, label, t, config.run.target)
                summary += s_rows
                runs += r_rows
                write_npz(out / GROUP_FILE.format(index=g), arrays)
                metadata["groups"].append(
                    {
                        "index": g,
                        "file": GROUP_FILE.format(index=g),
                        "objective": objective.name,
                        "dim": objective.dim,
                        "optimizer": label,
                        "method": t.optimizer,
                        "sweep": list(t.sweep),
                        "sweep_values": {k: t.hyperparameters[k] for k in t.sweep},
                        "status_counts": t.status_counts(),
                        "compile_seconds": t.compile_seconds,
                        "run_seconds": t.run_seconds,
                    }
                )
                write_csv(out / "summary.csv", summary)
                write_csv(out / "runs.csv", runs)
                write_json(out / "metadata.json", metadata)
                counts = ", ".join(f"{k} {v}" for k, v in sorted(t.status_counts().items()))
                say(
                    f"[{g + 1}/{len(groups)}] {objective.name} x {label}: {counts} "
                    f"(compile {t.compile_seconds:.2f} s, run {t.run_seconds:.2f} s, "
                    f"total {time.perf_counter() - t0:.2f} s)"
                )
        except KeyboardInterrupt:
            metadata["status"] = "interrupted"
            metadata["finished"] = _now()
            write_json(out / "metadata.json", metadata)
            raise
        metadata["status"] = "complete"
        metadata["finished"] = _now()
        write_json(out / "metadata.json", metadata)
        if report:
            from jaxcalc.experiments.report import build_report

            build_report(out)
    return folder.path
