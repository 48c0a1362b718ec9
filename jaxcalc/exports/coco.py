"""COCO's data format, as its ``bbob`` logger writes it (``data_format = 'bbob-new2'``), so
that ``cocopp`` post-processes a jaxcalc experiment on BBOB functions.

One folder per algorithm (an optimizer's label; with a sweep, one per setting), holding
per function ``bbobexp_f<id>.info`` and, in ``data_f<id>/``, per dimension
``bbobexp_f<id>_DIM<d>.dat`` (a row where the best value fell: the target-triggered
data) and ``.tdat`` (a row at every record: the time-triggered data). Every start is one
trial on its objective's instance. A row is

``evaluations  0  best f - f_opt  f  best f``

The first column counts ``f + c g + c D h`` (see :mod:`jaxcalc.exports.runs`), stated in
each ``.info`` comment line and in ``jaxcalc-export.json``; the second, constraint
evaluations in COCO, is 0. The format is described in COCO's documentation ("Data
format", numbbo.github.io/coco-doc) and read by ``cocopp.pproc.DataSet``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from jaxcalc.errors import OutputError
from jaxcalc.exports.folder import check_out, write_folder
from jaxcalc.exports.runs import ExportRun, ExportSource, read_source, require_whole_counts
from jaxcalc.exports.summary import ExportSummary, export_metadata
from jaxcalc.pipeline.results import figure_stems

__all__ = ["COCO_PRECISION", "export_coco"]

#: the final target of COCO's bbob suite, written in every ``.info`` header
COCO_PRECISION = 1e-8

_HEADER = (
    "% f evaluations | g evaluations | best noise-free fitness - Fopt ({f_opt:.12e}) + sum g_i+"
    " | measured fitness | best measured fitness or single-digit g-values\n"
)


def _evals(value: float) -> str:
    return str(int(value))


def _row(evals: float, best: float, value: float, f_opt: float) -> str:
    # rounding can put f a hair below f_opt: COCO's precision is never negative
    precision = max(best - f_opt, 0.0)
    return f"{_evals(evals)} 0 {precision:+.9e} {value:+.9e} {best:+.9e}\n"


def _data_file(runs: list[ExportRun], trace: bool) -> str:
    lines = []
    for run in runs:
        lines.append(_HEADER.format(f_opt=run.f_opt))
        for evals, best, value in run.trace if trace else run.rows:
            lines.append(_row(evals, best, value, run.f_opt))
    return "".join(lines)


def coco_files(source: ExportSource) -> tuple[dict[str, str], dict[str, str]]:
    """The files of the export ({relative path: text}) and {algorithm: its folder}."""
    runs = [r for r in source.runs if r.bbob_id is not None]
    if not runs:
        names = sorted({r.objective for r in source.runs})
        raise OutputError(
            f"{source.folder} has no BBOB objective ({', '.join(names) or 'no runs'}): "
            "COCO's format is for the bbob_f1..bbob_f24 functions; use --ioh"
        )
    require_whole_counts(source, "COCO's")
    folders = figure_stems(dict.fromkeys(r.algorithm for r in runs))
    grouped: dict[tuple[str, int, int], list[ExportRun]] = defaultdict(list)
    for run in runs:
        grouped[(run.algorithm, run.bbob_id, run.dim)].append(run)
    files: dict[str, str] = {}
    info: dict[tuple[str, int], list[str]] = defaultdict(list)
    comment = f"% evaluations count {source.counter}; exported by jaxcalc from {source.folder}\n"
    for (algorithm, fid, dim), group in sorted(grouped.items()):
        group.sort(key=lambda r: (r.instance, r.start))
        folder = folders[algorithm]
        stem = f"data_f{fid}/bbobexp_f{fid}_DIM{dim}"
        files[f"{folder}/{stem}.dat"] = _data_file(group, trace=False)
        files[f"{folder}/{stem}.tdat"] = _data_file(group, trace=True)
        trials = ", ".join(
            f"{r.instance}:{_evals(r.evaluations)}|{max(r.best - r.f_opt, 0.0):.1e}" for r in group
        )
        info[(folder, fid)].append(
            f"suite = 'bbob', funcId = {fid}, DIM = {dim}, Precision = {COCO_PRECISION:.3e}, "
            f"algId = '{algorithm}', coco_version = '', logger = 'bbob', "
            f"data_format = 'bbob-new2'\n{comment}{stem}.dat, {trials}\n"
        )
    for (folder, fid), blocks in info.items():
        files[f"{folder}/bbobexp_f{fid}.info"] = "".join(blocks)
    return files, folders


def export_coco(results: str | os.PathLike, out: str | os.PathLike) -> ExportSummary:
    """Write the BBOB runs of the results folder ``results`` in COCO's format into ``out``
    (a new or empty folder). Runs on other objectives are left out and listed.

    Raises:
      OutputError: no BBOB objective, no per-record counts (results of an older jaxcalc),
        fractional evaluation counts, or ``out`` is not a new or empty folder.
    """
    check_out(out)
    source = read_source(results)
    files, folders = coco_files(source)
    others = sorted({r.objective for r in source.runs if r.bbob_id is None})
    left_out = list(source.left_out)
    if others:
        left_out.append(f"objectives not in BBOB, left out: {', '.join(others)}")
    exported = [r for r in source.runs if r.bbob_id is not None]
    files["jaxcalc-export.json"] = export_metadata("coco", source, exported, folders, left_out)
    path = write_folder(out, files)
    return ExportSummary(
        path=Path(path),
        format="coco",
        runs=len(exported),
        algorithms=dict(folders),
        counter=source.counter,
        left_out=left_out,
    )
