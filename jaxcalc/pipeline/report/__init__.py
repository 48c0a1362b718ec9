"""Saved results -> figures + report.md. Reads result files only; never recomputes.

``jaxcalc report DIR`` calls :func:`build_report`, so figures and the report can be redrawn
(after a change of style, or on another machine) from what a run saved. The figures of one
objective are in :mod:`~.figures`, those across objectives in :mod:`~.across`, the text in
:mod:`~.markdown`.
"""

from __future__ import annotations

from pathlib import Path

from jaxcalc.errors import OutputError
from jaxcalc.pipeline.report.across import across_objectives
from jaxcalc.pipeline.report.figures import ReportData, objective_section
from jaxcalc.pipeline.report.inputs import read_groups, read_metadata, read_summary
from jaxcalc.pipeline.report.markdown import report_text
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    )
    by_objective = read_groups(folder, meta)
    try:
        data.figures.mkdir(exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create {data.figures}: {err.strerror or err}") from None
    sections = []
    for name, groups in by_objective.items():
        try:
            sections.append(objective_section(data, name, groups))
        except _BAD_CONTENTS as err:
            files = ", ".join(str(folder / group["file"]) for group, _ in groups)
            raise OutputError(
                f"{files}: unexpected contents for objective {name!r} "
                f"({type(err).__name__}: {err}); run the experiment again to rewrite it"
            ) from None
        finally:
            plt.close("all")
    try:
        extra = across_objectives(data)
        text = report_text(meta, data.summary, sections, extra, data.target)
    except _BAD_CONTENTS as err:
        raise OutputError(
            f"{folder / 'summary.csv'}: unexpected contents ({type(err).__name__}: {err}); "
            "run the experiment again to rewrite it"
        ) from None
    finally:
        plt.close("all")
    write_text(folder / "report.md", text)
    return folder / "report.md"
