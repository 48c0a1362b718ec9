"""The only module that reads and writes result files.

(Over 500 lines because it is the only one: CSV, JSON, NPZ, Parquet, part files and the
manifest.)

Every file is written atomically: into a temporary file in the same folder, flushed and
fsynced, then ``os.replace``-d onto its name, and the folder fsynced; a reader (or a crash)
sees either the old complete file or the new one, never half of one. An output folder is
checked, locked and cleaned by :mod:`~jaxcalc.pipeline.folder`. A reader refuses a file it
cannot use with one :class:`~jaxcalc.errors.OutputError` naming that file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import time
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.errors import OutputError
from jaxcalc.files import write_atomically

__all__ = [
    "FIGURE_SUFFIXES",
    "GROUP_PART",
    "MANIFEST_NAME",
    "RESULTS_FORMAT",
    "RUN_FILES",
    "SCHEDULE_PREFIX",
    "columns_to_rows",
    "figure_files",
    "figure_stems",
    "parquet_available",
    "read_csv",
    "read_figure",
    "read_group_part",
    "read_json",
    "read_manifest",
    "read_npz",
    "rows_to_columns",
    "TESTS_COLUMNS",
    "write_bytes",
    "write_comparison_tables",
    "write_csv",
    "write_csv_columns",
    "write_group_part",
    "write_json",
    "write_manifest",
    "write_npz",
    "write_parquet",
    "write_parquet_columns",
    "write_tables",
    "write_text",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "jaxcalc-run-manifest/1"
#: the layout of a results folder (``metadata.json``'s "format"); a reader refuses others
RESULTS_FORMAT = "jaxcalc-results/1"
#: files a run writes at the top of its folder (plus ``group_NNN.npz`` and ``figures/``)
RUN_FILES = (
    MANIFEST_NAME,
    "metadata.json",
    "summary.csv",
    "summary.parquet",
    "runs.csv",
    "runs.parquet",
    "tests.csv",
    "fixed_budget.csv",
    "schedules.csv",
    "report.md",
    "report.html",
)
GROUP_PART = re.compile(r"group_\d{3,}\.npz")
#: a group part's array of a scheduled hyperparameter's values: ``schedule_<name>``,
#: ``sweep_shape + (R+1,)``, the value used by the step that produced each record (NaN at 0)
SCHEDULE_PREFIX = "schedule_"
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
_ROW_KEYS = ("summary_rows", "runs_rows")  # JSON text of a group's table rows, in its part


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    return write_atomically(path, lambda handle: handle.write(data), size=len(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def read_figure(folder: str | os.PathLike, relative: str) -> bytes | None:
    """The bytes of a figure the report drew, by its path relative to ``folder``; None
    when it is missing or lies outside the folder."""
    root = Path(folder).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or path.suffix.lower() not in FIGURE_SUFFIXES:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _json_safe(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null (the statuses say what happened)."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    text = json.dumps(_json_safe(data), indent=2, allow_nan=False, sort_keys=False)
    return write_text(path, text + "\n")


def rows_to_columns(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """A table given as rows, as columns: the union of the rows' keys in order of first
    appearance, each a list with None where a row lacks that key."""
    rows = list(rows)
    names: dict[str, None] = {}
    for keys in dict.fromkeys(tuple(row) for row in rows):  # each distinct key order once
        names.update(dict.fromkeys(keys))
    return {k: [row.get(k) for row in rows] for k in names}


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as CSV, atomically: the union of their keys (in order of appearance)
    as columns, an empty cell where a row lacks a key, ``nan`` for NaN, lists joined with
    ``;``."""
    return write_csv_columns(path, rows_to_columns(rows))


# Cells of these exact types are written by the csv module as write_csv means them (a float
# NaN as "nan", None as an empty cell); any other type goes through _csv_value.
_CSV_PLAIN = frozenset({str, int, float, bool, type(None)})


def write_csv_columns(path: str | os.PathLike, columns: Mapping[str, Sequence[Any]]) -> Path:
    """:func:`write_csv` for a table given as columns of equal length (the same file)."""
    names = list(columns)
    cells = []
    for name in names:
        values = columns[name]
        if not set(map(type, values)) <= _CSV_PLAIN:
            values = [_csv_value(v) for v in values]
        cells.append(values)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*cells, strict=True))
    return write_text(path, buffer.getvalue())


def _csv_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return value


#: zlib level of .npz parts: 1 compresses float trajectories nearly as well as numpy's
#: default 6 (about 30% larger files) in a third of the time
NPZ_COMPRESSLEVEL = 1
#: a float array of at least this many bytes whose sample (below) deflates to more than
#: _STORE_RATIO of its size is stored as it is: trajectories still moving at every record
#: shrink by under a tenth, for most of a part's writing time
_STORE_BYTES = 1 << 16
_STORE_RATIO = 0.9
_SAMPLE_CHUNKS, _SAMPLE_BYTES = 8, 4096


def _stored(value: np.ndarray) -> bool:
    """Whether ``value`` is written to a part uncompressed: a large float array whose
    evenly spaced sample of bytes does not deflate to less than :data:`_STORE_RATIO`."""
    if value.dtype.kind not in "fc" or value.nbytes < _STORE_BYTES:
        return False
    data = memoryview(np.ascontiguousarray(value).reshape(-1)).cast("B")
    step = data.nbytes // _SAMPLE_CHUNKS
    sample = b"".join(data[i * step : i * step + _SAMPLE_BYTES] for i in range(_SAMPLE_CHUNKS))
    return len(zlib.compress(sample, NPZ_COMPRESSLEVEL)) > _STORE_RATIO * len(sample)


def write_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` (what ``np.load`` reads), atomically; a
    large float array that hardly compresses is stored uncompressed (:func:`_stored`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=NPZ_COMPRESSLEVEL
    ) as archive:
        for name, value in arrays.items():
            value = np.asarray(value)
            member: str | zipfile.ZipInfo = f"{name}.npy"
            if _stored(value):
                member = zipfile.ZipInfo(f"{name}.npy", time.localtime(time.time())[:6])
                member.compress_type = zipfile.ZIP_STORED
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, value, allow_pickle=False)
    return write_bytes(path, buffer.getvalue())


def parquet_available() -> bool:
    """True when pyarrow is installed (the optional ``parquet`` extra)."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _column_type(values: list[Any]):
    """Arrow type of a column: bool, int64, float64 (ints and floats mixed) or string."""
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.item() if value.ndim == 0 else value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def write_parquet(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as a typed Parquet table, atomically (needs pyarrow).

    Columns are the union of the rows' keys in order of appearance, as in :func:`write_csv`.
    Each column is typed: bool, int64, float64 (a column mixing ints and floats) or string
    (lists are joined with ``;`` as in the CSV). NaN and infinities stay NaN and infinities;
    a key that a row lacks is null (the CSV leaves the cell empty).
    """
    return write_parquet_columns(path, rows_to_columns(rows))


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _arrow_column(values: Sequence[Any]):
    """One column's values and Arrow type, as :func:`write_parquet` documents them."""
    import pyarrow as pa

    kinds = set(map(type, values))
    if not kinds <= _PLAIN:
        values = [_plain(v) for v in values]
        kinds = set(map(type, values))
    present = kinds - {type(None)}
    if not present <= _PLAIN:  # lists (from arrays) and other objects
        kind = _column_type(values)
    elif present == {bool}:
        kind = pa.bool_()
    elif present == {int}:
        kind = pa.int64()
    elif present and present <= {int, float}:
        kind = pa.float64()
    else:
        kind = pa.string()
    if kind == pa.string():
        if not kinds <= {str, type(None)}:
            values = [None if v is None else str(_csv_value(v)) for v in values]
    elif kind == pa.float64() and not kinds <= {float, type(None)}:
        values = [None if v is None else float(v) for v in values]
    return values, kind


def write_parquet_columns(path: str | os.PathLike, columns: Mapping[str, Sequence[Any]]) -> Path:
    """:func:`write_parquet` for a table given as columns of equal length (the same file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays, fields = [], []
    for name, values in columns.items():
        values, kind = _arrow_column(values)
        arrays.append(pa.array(values, type=kind, from_pandas=False))
        fields.append(pa.field(name, kind))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return write_bytes(path, sink.getvalue().to_pybytes())


# Row dicts travel inside a group's part file as JSON. JSON has no NaN or infinity, and
# null would lose which one it was, so non-finite floats are tagged explicitly.
_FLOAT_TAG = "$float"


#: cells that JSON writes as they are
_JSON_PLAIN = frozenset({str, int, bool, type(None)})


def _encode_rows(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most cells: at once
        return value
    if kind is float:
        return value if math.isfinite(value) else {_FLOAT_TAG: repr(value)}
    value = _plain(value)
    if isinstance(value, Mapping):
        return {str(k): _encode_rows(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_rows(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_TAG: repr(value)}  # 'nan', 'inf' or '-inf'
    return value


def _encode_column(values: Sequence[Any]) -> list[Any]:
    """:func:`_encode_rows` of each cell of a column; a column of plain cells (the most
    common: all strings and whole numbers, or all floats) without a call per cell."""
    kinds = set(map(type, values))
    if kinds <= _JSON_PLAIN:
        return list(values)
    if kinds == {float}:
        return [v if math.isfinite(v) else {_FLOAT_TAG: repr(v)} for v in values]
    return [_encode_rows(v) for v in values]


def _decode_tag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _FLOAT_TAG in obj:
        return float(obj[_FLOAT_TAG])
    return obj


def columns_to_rows(columns: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """A table given as columns of equal length, as rows (dicts with the columns' order)."""
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def write_group_part(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    summary_rows: list[dict[str, Any]],
    runs_rows: list[dict[str, Any]] | Mapping[str, Sequence[Any]],
) -> Path:
    """One finished group as one atomically written part: its arrays and its table rows
    (``runs_rows`` may also be given as columns: the part holds the same rows)."""
    data = dict(arrays)
    if isinstance(runs_rows, Mapping):  # encoded a column at a time: the same rows, faster
        runs_rows = columns_to_rows({k: _encode_column(v) for k, v in runs_rows.items()})
    else:
        runs_rows = _encode_rows(runs_rows)
    for key, rows in zip(_ROW_KEYS, (_encode_rows(summary_rows), runs_rows), strict=True):
        text = json.dumps(rows, allow_nan=False, separators=(",", ":"))
        # UTF-8 bytes: a numpy string array holds at most 2**31 bytes (many runs' rows)
        data[key] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return write_npz(path, data)


def read_group_part(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]], list[dict[str, Any]]]:
    """The arrays, summary rows and per-run rows of a part written by :func:`write_group_part`.

    Raises:
      OutputError: the file is missing, unreadable or not a complete part.
    """
    try:
        arrays = read_npz(path)
    except OutputError:
        raise
    except Exception as err:  # a truncated or foreign file: zipfile, ValueError, ...
        raise OutputError(f"{path} is not a readable results part: {err}") from None
    missing = [k for k in _ROW_KEYS if k not in arrays]
    if missing:
        raise OutputError(f"{path} is not a complete results part (no {missing[0]})")
    try:
        summary, runs = (_rows_json(arrays.pop(k)) for k in _ROW_KEYS)
    except (ValueError, RecursionError) as err:
        raise OutputError(f"{path} is not a complete results part (rows: {err})") from None
    return arrays, summary, runs


def _rows_json(value: np.ndarray) -> Any:
    """Rows saved in a part: UTF-8 bytes, or (parts of earlier versions) a string array."""
    text = value.tobytes().decode("utf-8") if value.dtype == np.uint8 else str(value)
    return json.loads(text, object_hook=_decode_tag)


def write_manifest(folder: str | os.PathLike, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` (atomically): the run's status and its finished groups."""
    return write_json(Path(folder) / MANIFEST_NAME, {"format": MANIFEST_FORMAT, **manifest})


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's ``manifest.json``, or None when it has none.

    Raises:
      OutputError: the manifest exists but is not one jaxcalc wrote.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise OutputError(f"{path} is not a jaxcalc run manifest ({MANIFEST_FORMAT})")
    return data


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value in ``path``; OutputError when it is missing, not UTF-8 or not JSON."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None
    except UnicodeDecodeError as err:
        raise OutputError(
            f"{path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}); it is not a file jaxcalc wrote, or it was damaged"
        ) from None
    except (json.JSONDecodeError, RecursionError) as err:
        raise OutputError(f"{path} is not valid JSON: {err}") from None
    except OSError as err:
        raise OutputError(f"cannot read {path}: {err.strerror or err}") from None


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a CSV table; OutputError when it is missing, not UTF-8 text, not a
    table (a row longer than the header, NUL bytes) or has no header."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None
    except UnicodeDecodeError as err:
        raise OutputError(
            f"{path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}); it is not a table jaxcalc wrote, or it was damaged"
        ) from None
    except OSError as err:
        raise OutputError(f"cannot read {path}: {err.strerror or err}") from None
    if "\0" in text:
        raise OutputError(f"{path} is not a CSV table: it holds NUL bytes (a binary file?)")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_REST)
        rows = list(reader)
    except csv.Error as err:
        raise OutputError(f"{path} is not a CSV table: {err}") from None
    if not reader.fieldnames:
        raise OutputError(f"{path} is empty: it has no header row")
    for number, row in enumerate(rows, start=2):
        if _REST in row:
            raise OutputError(
                f"{path} is not a CSV table jaxcalc wrote: row {number} has more cells "
                f"than the {len(reader.fieldnames)} columns of the header"
            )
    return rows


_REST = "\0rest"  # DictReader's key for the cells of a row beyond its header


def read_npz(path: str | os.PathLike, prefix: str | tuple[str, ...] = "") -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (only those whose names start with ``prefix``: the others
    are not decompressed); OutputError when it is missing, truncated or corrupt."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files if k.startswith(prefix)}
    except FileNotFoundError:
        raise OutputError(f"not found: {path}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as err:
        what = str(err) or type(err).__name__
        raise OutputError(
            f"{path} is not a readable .npz (truncated or corrupt: {what}); "
            "jaxcalc run CONFIG --out DIR --resume recomputes a part it cannot read"
        ) from None
    except (KeyError, zlib.error, RuntimeError) as err:
        raise OutputError(f"{path} is not a readable .npz (corrupt member: {err})") from None


def figure_stems(labels: Iterable[str]) -> dict[str, str]:
    """A distinct, filesystem-safe file-name stem for each label, in order.

    A label made only of ASCII letters, digits, ``-`` and ``_`` (at most 60 characters)
    is its own stem. Any other label is cleaned (each other character becomes ``_``, the
    length is cut to 40) and gets 8 hex digits of its SHA-256, so ``a/b``, ``a_b`` and
    ``a b`` name three different files, and a label keeps its stem whatever the other
    labels are. Stems are also distinct ignoring case (for case-insensitive file systems).
    """
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for label in labels:
        if label in stems:
            continue
        clean = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in label)
        if clean != label or not label or len(label) > 60:
            digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:8]
            clean = f"{clean[:40]}-{digest}"
        stem, n = clean, 1
        while stem.lower() in taken:
            n += 1
            stem = f"{clean}-{n}"
        taken.add(stem.lower())
        stems[label] = stem
    return stems


def figure_files(objectives: Mapping[str, int]) -> dict[str, dict[str, str]]:
    """The figures of each objective, {label: {kind: path in the results folder}}, from
    {label: dimension}: its convergence figure, and its sample paths when it is 2-D. The
    names come from :func:`figure_stems`; ``metadata.json`` lists them."""
    stems = figure_stems(objectives)
    files = {}
    for label, dim in objectives.items():
        kinds = ("convergence", "paths") if dim == 2 else ("convergence",)
        files[label] = {kind: f"figures/{kind}_{stems[label]}.png" for kind in kinds}
    return files


#: the columns of ``tests.csv`` (written with its header even when no pair was tested)
TESTS_COLUMNS = (
    "objective",
    "optimizer_a",
    "optimizer_b",
    "metric",
    "p_value",
    "p_holm",
    "n_a",
    "n_b",
    "u_statistic",
    "a_better_probability",
)


def write_comparison_tables(
    folder: str | os.PathLike,
    tests: list[dict[str, Any]],
    fixed_budget: list[dict[str, Any]],
) -> None:
    """``tests.csv`` (pairwise tests) and ``fixed_budget.csv`` (best values within each
    budget), atomically."""
    out = Path(folder)
    if tests:
        write_csv(out / "tests.csv", tests)
    else:
        write_csv_columns(out / "tests.csv", {k: [] for k in TESTS_COLUMNS})
    if fixed_budget:
        write_csv(out / "fixed_budget.csv", fixed_budget)


def write_tables(
    folder: str | os.PathLike,
    summary: list[dict[str, Any]],
    runs: Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """``summary.csv`` (and ``.parquet`` with pyarrow) from tidy rows; with ``runs`` (tidy
    columns) also ``runs.csv`` (and ``runs.parquet``)."""
    out = Path(folder)
    if not summary:  # no finished group: no table rather than an empty, headerless file
        return
    parquet = parquet_available()
    write_csv(out / "summary.csv", summary)
    if parquet:
        write_parquet(out / "summary.parquet", summary)
    if runs is not None:
        write_csv_columns(out / "runs.csv", runs)
        if parquet:
            write_parquet_columns(out / "runs.parquet", runs)
