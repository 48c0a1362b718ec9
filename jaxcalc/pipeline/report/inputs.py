"""The result files a report is drawn from, read and checked before anything is drawn.

A folder written by another jaxcalc (another results format), a metadata file of the
wrong shape, a summary table without its columns or a group part that cannot be read is
refused with one :class:`~jaxcalc.errors.OutputError` naming the file (and, for another
layout, the jaxcalc version that wrote it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.pipeline.results import RESULTS_FORMAT, read_csv, read_json, read_npz

__all__ = ["GROUP_ARRAYS", "SUMMARY_COLUMNS", "read_groups", "read_metadata", "read_summary"]

#: the arrays of a group part every report figure reads
GROUP_ARRAYS = ("status", "recorded_steps", "values", "function_evaluations", "steps_run", "bounds")
#: the summary.csv columns the report reads by name
SUMMARY_COLUMNS = ("objective", "optimizer", "ert")

# (key path, type) of every metadata value the report reads
_META_SHAPE: tuple[tuple[tuple[str, ...], type | tuple[type, ...]], ...] = (
    (("name",), str),
    (("status",), str),
    (("config_hash",), str),
    (("dtype",), str),
    (("started",), str),
    (("versions",), dict),
    (("versions", "jaxcalc"), str),
    (("versions", "jax"), str),
    (("platform",), dict),
    (("platform", "backend"), str),
    (("config",), dict),
    (("config", "run"), dict),
    (("config", "run", "target"), (int, float)),
    (("groups",), list),
)
_GROUP_SHAPE = (("file", str), ("objective", str), ("optimizer", str), ("sweep", list))
_PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.npz")
_TYPE_NAMES = {dict: "a table", list: "a list", str: "text", (int, float): "a number"}


def _writer(meta: Any) -> str:
    """'jaxcalc X' when the metadata says which jaxcalc wrote it."""
    versions = meta.get("versions") if isinstance(meta, dict) else None
    version = versions.get("jaxcalc") if isinstance(versions, dict) else None
    return f"jaxcalc {version}" if isinstance(version, str) else "an unknown jaxcalc"


def read_metadata(folder: Path) -> dict[str, Any]:
    """``metadata.json``, checked: this jaxcalc's results format and every key the report
    reads, with its type."""
    import jaxcalc

    path = folder / "metadata.json"
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise OutputError(
            f"{path} is not jaxcalc metadata: it holds {type(meta).__name__}, not a table"
        )
    found = meta.get("format", RESULTS_FORMAT)
    if found != RESULTS_FORMAT:
        raise OutputError(
            f"{path} was written by {_writer(meta)} in results format {found!r}; this jaxcalc "
            f"{jaxcalc.__version__} reads {RESULTS_FORMAT!r}: draw the report with the "
            "jaxcalc that wrote it, or run the experiment again"
        )
    for keys, kind in _META_SHAPE:
        value: Any = meta
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, kind) or isinstance(value, bool):
            older = "" if "format" in meta else f" (written by {_writer(meta)}, an older layout)"
            raise OutputError(
                f"{path}: key {'.'.join(keys)} should be {_TYPE_NAMES[kind]}, found "
                f"{'nothing' if value is None else type(value).__name__}{older}; "
                "run the experiment again to rewrite it"
            )
    for i, group in enumerate(meta["groups"]):
        for key, kind in _GROUP_SHAPE:
            value = group.get(key) if isinstance(group, dict) else None
            if not isinstance(value, kind):
                raise OutputError(
                    f"{path}: groups[{i}].{key} should be {_TYPE_NAMES[kind]}, found "
                    f"{'nothing' if value is None else type(value).__name__}"
                )
        if not _PART_NAME.fullmatch(group["file"]):
            raise OutputError(
                f"{path}: groups[{i}].file {group['file']!r} is not a part file in the folder"
            )
    return meta


def read_summary(folder: Path, meta: dict[str, Any]) -> list[dict[str, str]]:
    """``summary.csv``, checked for the columns the report reads (and for rows, when the
    metadata lists finished groups)."""
    path = folder / "summary.csv"
    if not meta["groups"] and not path.exists():
        return []
    rows = read_csv(path)
    if meta["groups"] and not rows:
        raise OutputError(
            f"{path} has no rows, but {folder / 'metadata.json'} lists "
            f"{len(meta['groups'])} finished group(s); run the experiment again to rewrite it"
        )
    for column in SUMMARY_COLUMNS:
        if rows and column not in rows[0]:
            raise OutputError(
                f"{path} is not a jaxcalc summary: it has no {column!r} column; "
                "run the experiment again to rewrite it"
            )
    return rows


def read_groups(folder: Path, meta: dict[str, Any]) -> dict[str, list[tuple[dict, dict]]]:
    """Each finished group's arrays, by objective: {label: [(group entry, arrays)]}."""
    by_objective: dict[str, list[tuple[dict, dict]]] = {}
    for group in meta["groups"]:
        path = folder / group["file"]
        arrays = read_npz(path)
        missing = [k for k in GROUP_ARRAYS if k not in arrays]
        if missing:
            raise OutputError(
                f"{path} is not a complete results part: it has no {missing[0]!r} array"
            )
        if np.ndim(arrays["bounds"]) != 2:
            raise OutputError(f"{path}: 'bounds' should be a (dim, 2) array")
        by_objective.setdefault(group["objective"], []).append((group, arrays))
    return by_objective
