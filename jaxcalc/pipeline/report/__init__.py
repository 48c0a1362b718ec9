"""Saved results -> figures, report.md and report.html. Reads result files only; never
recomputes.

``jaxcalc report DIR`` calls :func:`build_report`, so figures and the report can be redrawn
(after a change of style, or on another machine) from what a run saved. The figures of one
objective are in :mod:`~.figures` (and, for training on data and schedules, in
:mod:`~.training`), those across objectives in :mod:`~.across`, the text in
:mod:`~.markdown`, and its self-contained HTML twin (figures inline, sortable tables) in
:mod:`~.html`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.pipeline.report.across import across_objectives
from jaxcalc.pipeline.report.comparisons import comparison_sections
from jaxcalc.pipeline.report.figures import ReportData, objective_section
from jaxcalc.pipeline.report.html import report_html
from jaxcalc.pipeline.report.inputs import read_groups, read_metadata, read_summary
from jaxcalc.pipeline.report.markdown import report_text
from jaxcalc.pipeline.report.render import FigureSaver
from jaxcalc.pipeline.report.training import heldout_figure, schedule_section
from jaxcalc.pipeline.report.tuning import tuning_section
from jaxcalc.pipeline.results import write_text

__all__ = ["build_report"]

# what a figure raises on arrays of the right names but the wrong shapes or types
_BAD_CONTENTS = (KeyError, IndexError, ValueError, TypeError)


def build_report(folder: str | Path, *, status: str | None = None) -> Path:
    """Draw every figure and write ``report.md`` from the results in ``folder``.

    ``status`` replaces the metadata's status in the report (a run records "complete" only
    after its report is written).

    Raises:
      OutputError: a result file is missing, unreadable, of the wrong shape or written by
        a jaxcalc with another results format (the message names the file); or a figure
        or the report cannot be written (earlier files are kept).
    """
    plt = _Figures()
    folder = Path(folder).resolve()
    meta = read_metadata(folder)
    if status is not None:
        meta = {**meta, "status": status}
    data = ReportData(
        folder=folder,
        figures=folder / "figures",
        meta=meta,
        summary=read_summary(folder, meta),
        plt=plt,
        formats=_formats(meta),
    )
    by_objective = read_groups(folder, meta)
    try:
        data.figures.mkdir(exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create {data.figures}: {err.strerror or err}") from None
    # two figures per objective and up to six across them, saved on two cores
    data.saver = FigureSaver(2 * len(by_objective) + 4)
    try:
        text = _draw(data, by_objective)
        data.saver.finish()  # every figure is written before the report that shows them
    except BaseException:
        data.saver.abandon()
        raise
    write_text(folder / "report.md", text)
    write_text(folder / "report.html", report_html(text, folder))
    return folder / "report.md"


def _draw(data: ReportData, by_objective: dict) -> str:
    """Draw every figure; returns report.md's text."""
    folder, plt, meta = data.folder, data.plt, data.meta
    sections = []
    for name, groups in by_objective.items():
        try:
            section = objective_section(data, name, groups)
            heldout = heldout_figure(data, name, groups)  # an objective from data
            if heldout is not None:
                section += "\n" + data.link("held-out metrics", heldout) + "\n"
            sections.append(section)
        except _BAD_CONTENTS as err:
            files = ", ".join(str(folder / group["file"]) for group, _ in groups)
            raise OutputError(
                f"{files}: unexpected contents for objective {name!r} "
                f"({type(err).__name__}: {err}); run the experiment again to rewrite it"
            ) from None
        finally:
            plt.close("all")
    try:
        extra = (
            schedule_section(data, by_objective)
            + across_objectives(data)
            + comparison_sections(data, by_objective)
        )
        tuning = tuning_section(data)
        text = report_text(
            meta, data.summary, sections, extra, data.target, tuning, _no_minimum(by_objective)
        )
    except _BAD_CONTENTS as err:
        raise OutputError(
            f"{folder / 'summary.csv'}: unexpected contents ({type(err).__name__}: {err}); "
            "run the experiment again to rewrite it"
        ) from None
    finally:
        plt.close("all")
    return text


def _no_minimum(by_objective: dict) -> frozenset[str]:
    """The objectives whose saved f_opt is NaN (no known minimum)."""
    return frozenset(
        name
        for name, groups in by_objective.items()
        if np.isnan(np.asarray(groups[0][1].get("f_opt", 0.0), np.float64))
    )


class _Figures:
    """``subplots`` and ``close`` as pyplot has them, for figures that pyplot never holds:
    drawing a report changes nothing in the caller's matplotlib (its backend, its open
    figures), so it works the same from the command line and inside a notebook."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, layout=None, **kwargs):
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout=layout)
        return fig, fig.subplots(nrows, ncols, **kwargs)

    @staticmethod
    def close(*_: object) -> None:
        """Nothing to close: the figures are not registered anywhere."""


def _formats(meta: dict) -> tuple[str, ...]:
    """The figure formats the run's config asked for (PNG always first)."""
    output = meta.get("config", {}).get("output") or {}
    asked = output.get("figure_formats") if isinstance(output, dict) else None
    formats = ["png"]
    for name in asked if isinstance(asked, list) else []:
        key = str(name).lower().lstrip(".")
        if key in ("svg", "pdf") and key not in formats:
            formats.append(key)
    return tuple(formats)
