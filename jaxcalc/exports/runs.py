"""The runs of a results folder as exports see them: one :class:`ExportRun` per start.

Each start of a group is one run on its objective's instance. Its history is the list of
``(evaluations, best value so far, f at that point)`` rows that both exports write: the
first f-evaluation (f at the start), then every record where the best value so far fell,
then the run's end. Evaluations count ``f + c g + c D h`` (``c`` the run's configured
``gradient_cost``, 1 by default; a Hessian counts as ``D`` gradients), the convention of
:mod:`jaxcalc.pipeline.budget`. With an evaluation budget, records past it are left out and
the run ends at the budget.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline.results import (
    RESULTS_FORMAT,
    read_group_part,
    read_json,
    read_manifest,
)
from jaxcalc.pipeline.views import saved_record_counts

__all__ = ["ExportRun", "ExportSource", "read_source", "require_whole_counts"]

_SLACK = 1 + 1e-9  # as pipeline.budget: a record at the budget is within it


@dataclass(frozen=True)
class ExportRun:
    """One start of one group, ready to write.

    Attributes:
      algorithm: the optimizer's label (with the setting of a sweep).
      objective: the objective's label; name: its registry name ("" for an expression);
        family: its registry family.
      params: the objective's own parameters (a BBOB function's ``instance``).
      dim: the dimension; f_opt: the known minimum value, or None.
      start: the start's index in its group.
      rows: ``(evaluations, best f so far, f at that point)``, evaluations increasing:
        the first f-evaluation, each record where the best value fell, the run's end.
      trace: the same at every record (with a new evaluation count), the first
        f-evaluation and the end.
      x_best: the recorded point where the best value was first reached (empty when the
        group's saved points were thinned).
    """

    algorithm: str
    objective: str
    name: str
    family: str
    params: dict[str, Any]
    dim: int
    f_opt: float | None
    start: int
    rows: list[tuple[float, float, float]]
    trace: list[tuple[float, float, float]]
    x_best: list[float] = field(default_factory=list)

    @property
    def bbob_id(self) -> int | None:
        """The BBOB function number of the run's objective (``bbob_f<id>``), or None."""
        prefix = "bbob_f"
        if self.family != "bbob" or not self.name.startswith(prefix):
            return None
        tail = self.name[len(prefix) :]
        return int(tail) if tail.isdigit() else None

    @property
    def instance(self) -> int:
        return int(self.params.get("instance", 1))

    @property
    def evaluations(self) -> float:
        """The evaluations the run spent (its last row's)."""
        return self.rows[-1][0]

    @property
    def best(self) -> float:
        """The best value the run found (its last row's)."""
        return self.rows[-1][1]


@dataclass(frozen=True)
class ExportSource:
    """A results folder's runs and what the exports state about them.

    Attributes:
      folder: the results folder (absolute).
      runs: every exportable run, in group then start order.
      gradient_cost: the configured cost of a gradient (a number, or "dim").
      counter: the evaluation counter in words.
      left_out: one line per run or group that is not exported, saying why.
      status: the run's status in its manifest ("complete", "interrupted", ...).
    """

    folder: Path
    runs: list[ExportRun]
    gradient_cost: Any
    counter: str
    left_out: list[str]
    status: str
    experiment: str


def _counter(gradient_cost: Any) -> str:
    c = budgets.gradient_cost_text(gradient_cost)
    return f"f + {c} g + {c} D h (f, gradient and Hessian evaluations; gradient_cost = {c})"


def _settings(entry: dict[str, Any], shape: tuple[int, ...]) -> list[tuple[tuple, str]]:
    """Every setting of a group's sweep with its algorithm name (the label, plus the swept
    values when there is a sweep)."""
    label = str(entry.get("optimizer"))
    sweep = list(entry.get("sweep") or [])
    values = entry.get("sweep_values") or {}
    if not sweep:
        return [((), label)]
    out = []
    for index in np.ndindex(*shape):
        parts = [
            f"{k}={float(np.asarray(values[k])[i]):g}" for k, i in zip(sweep, index, strict=True)
        ]
        out.append((index, f"{label}_{'_'.join(parts)}"))
    return out


def _run_rows(
    counts: np.ndarray,
    best: np.ndarray,
    values: np.ndarray,
    dim: int,
    c: float,
    budget: float | None,
    final_value: float,
    total: float,
) -> tuple[list, list] | None:
    """One run's rows and trace (see :class:`ExportRun`); None when it has no finite value."""
    cost = budgets.evaluation_cost(counts[:, 0], counts[:, 1], counts[:, 2], dim, c)
    keep = np.ones(cost.shape, bool) if budget is None else cost <= budget * _SLACK
    keep[0] = True
    best = np.asarray(best, np.float64)
    values = np.asarray(values, np.float64)
    if not math.isfinite(best[0]):
        return None
    rows = [(1.0, float(best[0]), float(values[0]))]  # the first f-evaluation: f(x0)
    trace = list(rows)
    last = len(keep) - 1 - int(np.argmax(keep[::-1]))
    for k in range(last + 1):
        if not keep[k]:
            continue
        row = (float(cost[k]), float(best[k]), float(values[k]))
        if cost[k] > trace[-1][0]:
            trace.append(row)
        if cost[k] > rows[-1][0] and best[k] < rows[-1][1]:
            rows.append(row)
    cut = budget is not None and total > budget * _SLACK
    end = float(min(total, budget)) if budget is not None else float(total)
    end_best = float(best[last])
    if not cut and math.isfinite(final_value):  # steps after the last record
        end_best = min(end_best, final_value)
    end_value = float(values[last]) if cut else final_value
    for history in (rows, trace):
        if end > history[-1][0]:
            history.append((end, end_best, end_value))
        elif end_best < history[-1][1]:
            history[-1] = (history[-1][0], end_best, end_value)
    return rows, trace


def read_source(results: str | os.PathLike) -> ExportSource:
    """The runs of the results folder ``results``.

    Raises:
      OutputError: the folder is not a jaxcalc results folder, holds no finished group, or
        its groups have no per-record evaluation counts (written by an older jaxcalc).
    """
    folder = Path(results).expanduser().resolve()
    if not folder.is_dir():
        raise OutputError(f"results folder {folder} not found")
    manifest = read_manifest(folder)
    if manifest is None:
        raise OutputError(f"{folder} is not a jaxcalc results folder (no manifest.json)")
    metadata = read_json(folder / "metadata.json")
    if not isinstance(metadata, dict) or metadata.get("format") != RESULTS_FORMAT:
        raise OutputError(f"{folder / 'metadata.json'} is not jaxcalc results ({RESULTS_FORMAT})")
    config = metadata.get("config") or {}
    run_cfg = config.get("run") or {}
    objectives = {o.get("label"): o for o in config.get("objectives") or []}
    gradient_cost = run_cfg.get("gradient_cost", 1.0)
    entries = sorted(manifest.get("groups") or [], key=lambda e: e.get("index", 0))
    if not entries:
        raise OutputError(f"{folder} holds no finished group: nothing to export")
    runs: list[ExportRun] = []
    left_out: list[str] = []
    for entry in entries:
        path = folder / str(entry.get("file"))
        arrays, _summary, rows = read_group_part(path)
        counts = saved_record_counts(arrays)
        if counts is None or "best_values" not in arrays:
            raise OutputError(
                f"{path} has no per-record evaluation counts (results of an older jaxcalc): "
                "an export would have to guess them; run the experiment again to export it"
            )
        objective = objectives.get(entry.get("objective")) or {}
        arrays["record_counts"] = counts
        runs.extend(_group_runs(entry, objective, arrays, rows, gradient_cost, left_out))
    return ExportSource(
        folder=folder,
        runs=runs,
        gradient_cost=gradient_cost,
        counter=_counter(gradient_cost),
        left_out=left_out,
        status=str(manifest.get("status", "?")),
        experiment=str(metadata.get("name", "")),
    )


def _group_runs(
    entry: dict[str, Any],
    objective: dict[str, Any],
    arrays: dict[str, np.ndarray],
    rows: list[dict[str, Any]],
    gradient_cost: Any,
    left_out: list[str],
) -> list[ExportRun]:
    """The runs of one group (its runs without a finite value go to ``left_out``);
    ``objective`` is the group's objective in the saved config."""
    dim = int(arrays["bounds"].shape[0])
    c = float(dim) if gradient_cost == "dim" else float(gradient_cost)
    f_opt = float(arrays["f_opt"])
    budget = float(arrays["budget"]) if "budget" in arrays else None
    status = arrays["status"]
    shape = status.shape[:-1]
    starts = status.shape[-1]
    params = arrays["params"]
    out = []
    for s, (index, algorithm) in enumerate(_settings(entry, shape)):
        for b in range(starts):
            at = (*index, b)
            row = rows[s * starts + b]
            counts = np.asarray(arrays["record_counts"][at], np.float64)
            total = float(
                budgets.evaluation_cost(
                    row["function_evaluations"],
                    row["gradient_evaluations"],
                    row["hessian_evaluations"],
                    dim,
                    c,
                )
            )
            final = row.get("final_value")
            history = _run_rows(
                counts,
                arrays["best_values"][at],
                arrays["values"][at],
                dim,
                c,
                budget,
                float("nan") if final is None else float(final),
                total,
            )
            name = f"{entry.get('objective')} x {algorithm}, start {b}"
            if history is None:
                left_out.append(f"{name}: no finite value (status {row.get('status')})")
                continue
            history, trace = history
            x_best: list[float] = []
            if params.shape[len(shape)] > b:  # the group's points were kept for this start
                best = np.asarray(arrays["best_values"][at], np.float64)
                k = int(np.nanargmin(best)) if np.isfinite(best).any() else 0
                x_best = [float(v) for v in params[at][k]]
            out.append(
                ExportRun(
                    algorithm=algorithm,
                    objective=str(entry.get("objective")),
                    name=str(objective.get("name") or ""),
                    family=str(entry.get("family") or ""),
                    params=dict(objective.get("params") or {}),
                    dim=dim,
                    f_opt=f_opt if math.isfinite(f_opt) else None,
                    start=b,
                    rows=history,
                    trace=trace,
                    x_best=x_best,
                )
            )
    return out


def require_whole_counts(source: ExportSource, fmt: str) -> None:
    """OutputError when a run's evaluation counts are fractional (a fractional
    ``gradient_cost``): both formats count whole evaluations."""
    for run in source.runs:
        if any(not float(e).is_integer() for e, _, _ in run.trace):
            raise OutputError(
                f"{source.folder}: gradient_cost {source.gradient_cost} gives fractional "
                f"evaluation counts, and {fmt} format counts whole evaluations; run the "
                'experiment with an integer gradient_cost (or "dim") to export it'
            )
