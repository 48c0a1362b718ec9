"""IOHprofiler's data format, as IOHexperimenter's analyzer logger writes it, so that
``iohinspector`` (and IOHanalyzer) read a jaxcalc experiment.

One folder per algorithm (an optimizer's label; with a sweep, one per setting), holding
per objective ``IOHprofiler_f<id>_<name>.json`` (the function, the algorithm, and per
dimension its runs: instance, evaluations, best value and point) and
``data_f<id>_<name>/IOHprofiler_f<id>_DIM<d>.dat``: per run a header line
``evaluations raw_y``, then a row where the best value fell (the first f-evaluation, each
such record, the run's end). Every start is one run on its objective's instance.

``raw_y`` is the best value so far minus ``f_opt`` where the objective's minimum is known
(as iohinspector reads COCO's precision), else the best value so far; each file's
``experiment_attributes`` say which. Evaluations count ``f + c g + c D h`` (see
:mod:`jaxcalc.exports.runs`). BBOB objectives keep their function numbers; an experiment
with other objectives numbers them 1, 2, ... in order of appearance.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from jaxcalc.exports.folder import check_out, write_folder
from jaxcalc.exports.runs import ExportRun, ExportSource, read_source, require_whole_counts
from jaxcalc.exports.summary import ExportSummary, export_metadata
from jaxcalc.pipeline.results import figure_stems

__all__ = ["export_ioh"]


def _raw_y(run: ExportRun, best: float) -> float:
    return best - run.f_opt if run.f_opt is not None else best


def _function(run: ExportRun) -> str:
    """The function a run is on: its registry name (its instances are one function), or
    the label of an objective given as an expression."""
    return run.name or run.objective


def _function_ids(runs: list[ExportRun]) -> tuple[str, dict[str, int]]:
    """The suite name and each function's number."""
    names = list(dict.fromkeys(_function(r) for r in runs))
    if all(r.bbob_id is not None for r in runs):
        return "BBOB", {_function(r): r.bbob_id for r in runs}
    return "jaxcalc", {name: i for i, name in enumerate(names, start=1)}


def ioh_files(source: ExportSource) -> tuple[dict[str, str], dict[str, str]]:
    """The files of the export ({relative path: text}) and {algorithm: its folder}."""
    import jaxcalc

    require_whole_counts(source, "IOHprofiler's")
    runs = source.runs
    suite, ids = _function_ids(runs)
    folders = figure_stems(dict.fromkeys(r.algorithm for r in runs))
    stems = figure_stems(dict.fromkeys(_function(r) for r in runs))
    grouped: dict[tuple[str, str], dict[int, list[ExportRun]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for run in runs:
        grouped[(run.algorithm, _function(run))][run.dim].append(run)
    files: dict[str, str] = {}
    for (algorithm, function), by_dim in grouped.items():
        fid, name = ids[function], stems[function]
        folder = folders[algorithm]
        scenarios = []
        for dim in sorted(by_dim):
            group = sorted(by_dim[dim], key=lambda r: (r.instance, r.start))
            path = f"data_f{fid}_{name}/IOHprofiler_f{fid}_DIM{dim}.dat"
            lines = []
            for run in group:
                lines.append("evaluations raw_y\n")
                lines.extend(f"{int(e)} {_raw_y(run, b):.10e}\n" for e, b, _ in run.rows)
            files[f"{folder}/{path}"] = "".join(lines)
            scenarios.append(
                {
                    "dimension": dim,
                    "path": path,
                    "runs": [
                        {
                            "instance": run.instance,
                            "evals": int(run.evaluations),
                            "best": {
                                "evals": int(_first_best(run)),
                                "x": run.x_best,
                                "y": _raw_y(run, run.best),
                            },
                        }
                        for run in group
                    ],
                }
            )
        known = group[0].f_opt is not None
        meta = {
            "version": f"jaxcalc-{jaxcalc.__version__}",
            "suite": suite,
            "function_id": fid,
            "function_name": function,
            "maximization": False,
            "algorithm": {"name": algorithm, "info": f"jaxcalc; evaluations: {source.counter}"},
            "attributes": ["evaluations", "raw_y"],
            "experiment_attributes": [
                {"raw_y_is": "best f - f_opt" if known else "best f"},
                {"evaluation_counter": source.counter},
            ],
            "scenarios": scenarios,
        }
        files[f"{folder}/IOHprofiler_f{fid}_{name}.json"] = json.dumps(meta, indent=1) + "\n"
    return files, folders


def _first_best(run: ExportRun) -> float:
    """The evaluations at which the run first had its best value."""
    return next(e for e, b, _ in run.rows if b <= run.best)


def export_ioh(results: str | os.PathLike, out: str | os.PathLike) -> ExportSummary:
    """Write the runs of the results folder ``results`` in IOHprofiler's format into
    ``out`` (a new or empty folder).

    Raises:
      OutputError: no per-record counts (results of an older jaxcalc), fractional
        evaluation counts, or ``out`` is not a new or empty folder.
    """
    check_out(out)
    source = read_source(results)
    files, folders = ioh_files(source)
    files["jaxcalc-export.json"] = export_metadata(
        "ioh", source, source.runs, folders, source.left_out
    )
    path = write_folder(out, files)
    return ExportSummary(
        path=Path(path),
        format="ioh",
        runs=len(source.runs),
        algorithms=dict(folders),
        counter=source.counter,
        left_out=list(source.left_out),
    )
