"""What an export wrote: :class:`ExportSummary`, and its ``jaxcalc-export.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jaxcalc.exports.runs import ExportRun, ExportSource

__all__ = ["METADATA_NAME", "ExportSummary", "export_metadata"]

#: the file in an export's folder that states its source and its evaluation counter
METADATA_NAME = "jaxcalc-export.json"


@dataclass(frozen=True)
class ExportSummary:
    """An export's folder, its runs and algorithms, its counter and what it left out.

    Attributes:
      path: the export's folder (absolute).
      format: "coco" or "ioh".
      runs: the runs written.
      algorithms: {algorithm: its folder in the export}.
      counter: the evaluation counter in words.
      left_out: one line per run or objective that was not written, saying why.
    """

    path: Path
    format: str
    runs: int
    algorithms: dict[str, str]
    counter: str
    left_out: list[str]


def export_metadata(
    kind: str,
    source: ExportSource,
    runs: list[ExportRun],
    folders: dict[str, str],
    left_out: list[str],
) -> str:
    """The text of ``jaxcalc-export.json``."""
    import jaxcalc

    data: dict[str, Any] = {
        "format": f"jaxcalc-export/{kind}",
        "jaxcalc": jaxcalc.__version__,
        "results": str(source.folder),
        "experiment": source.experiment,
        "results_status": source.status,
        "evaluations": source.counter,
        "gradient_cost": source.gradient_cost,
        "runs": len(runs),
        "algorithms": folders,
        "left_out": left_out,
    }
    return json.dumps(data, indent=2) + "\n"
