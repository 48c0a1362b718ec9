"""Saved results -> figures + report.md. Reads result files only; never recomputes.

``jaxcalc report DIR`` calls :func:`build_report`, so figures and the report can be redrawn
(after a change of style, or on another machine) from what a run saved. The figures of one
objective are in :mod:`~.figures`, those across objectives in :mod:`~.across`, the text in
:mod:`~.markdown`.
"""

from __future__ import annotations

from pathlib import Path

from jaxcalc.pipeline.report.across import across_objectives
from jaxcalc.pipeline.report.figures import ReportData, objective_section
from jaxcalc.pipeline.report.markdown import report_text
from jaxcalc.pipeline.results import read_csv, read_json, read_npz, write_text

__all__ = ["build_report"]


def build_report(folder: str | Path) -> Path:
    """Draw every figure and write ``report.md`` from the results in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder).resolve()
    meta = read_json(folder / "metadata.json")
    data = ReportData(
        folder=folder,
        figures=folder / "figures",
        meta=meta,
        summary=read_csv(folder / "summary.csv"),
        plt=plt,
    )
    data.figures.mkdir(exist_ok=True)
    by_objective: dict[str, list[tuple[dict, dict]]] = {}
    for group in meta["groups"]:
        arrays = read_npz(folder / group["file"])
        by_objective.setdefault(group["objective"], []).append((group, arrays))
    sections = [objective_section(data, name, groups) for name, groups in by_objective.items()]
    extra = across_objectives(data)
    write_text(folder / "report.md", report_text(meta, data.summary, sections, extra, data.target))
    return folder / "report.md"
