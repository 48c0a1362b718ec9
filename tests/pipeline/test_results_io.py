"""Tables written from columns are the tables written from rows, cell for cell.

Oracle for the CSV: ``csv.DictWriter`` over the rows with NaN written ``nan`` and lists
joined with ``;`` (what ``write_csv`` documents); for Parquet and the rows inside a part,
the same table given as rows.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile

import numpy as np
import pytest

from jaxcalc.pipeline.results import (
    columns_to_rows,
    read_group_part,
    read_npz,
    rows_to_columns,
    write_csv,
    write_csv_columns,
    write_group_part,
    write_npz,
    write_parquet,
    write_parquet_columns,
)

ROWS = [
    {"objective": "booth", "optimizer": "adam", "hp_lr": 0.1, "start": 0, "ok": True},
    {"objective": 'a, "quoted"\nname', "optimizer": "sgd", "start": 1, "ok": False},
    {"objective": "x", "hp_lr": float("nan"), "start": 2, "value": float("inf"), "ok": True},
    {"objective": "y", "hp_lr": 2, "start": 3, "value": -float("inf"), "tags": [1, 2.5]},
    {"objective": "z", "hp_lr": np.float64(0.5), "start": np.int64(4), "value": np.float32(1.5)},
    {"objective": "w", "hp_lr": None, "start": 5, "value": np.asarray(2.0), "tags": (3,)},
]


def oracle_csv(rows) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {}
        for k in columns:
            v = row.get(k)
            if isinstance(v, float) and math.isnan(v):
                v = "nan"
            elif isinstance(v, list | tuple):
                v = ";".join(str(x) for x in v)
            cells[k] = v
        writer.writerow(cells)
    return buffer.getvalue()


def test_rows_to_columns_keeps_the_order_of_first_appearance():
    columns = rows_to_columns(ROWS)
    assert list(columns) == ["objective", "optimizer", "hp_lr", "start", "ok", "value", "tags"]
    assert columns["optimizer"] == ["adam", "sgd", None, None, None, None]
    assert columns_to_rows({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    assert rows_to_columns([]) == {}


def test_csv_from_rows_and_from_columns_is_the_documented_csv(tmp_path):
    write_csv(tmp_path / "rows.csv", ROWS)
    write_csv_columns(tmp_path / "columns.csv", rows_to_columns(ROWS))
    expected = oracle_csv(ROWS)
    assert (tmp_path / "rows.csv").read_text() == expected
    assert (tmp_path / "columns.csv").read_text() == expected
    write_csv(tmp_path / "empty.csv", [])
    assert (tmp_path / "empty.csv").read_text() == oracle_csv([])


def test_parquet_from_rows_and_from_columns_is_the_same_table(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    plain = [{k: v for k, v in row.items() if k != "value"} for row in ROWS]
    write_parquet(tmp_path / "rows.parquet", plain)
    write_parquet_columns(tmp_path / "columns.parquet", rows_to_columns(plain))
    a, b = pq.read_table(tmp_path / "rows.parquet"), pq.read_table(tmp_path / "columns.parquet")
    assert a.schema == b.schema
    types = {f.name: f.type for f in a.schema}
    assert types["start"] == pa.int64()
    assert types["hp_lr"] == pa.float64()  # ints and floats mixed, NaN kept, None null
    assert types["ok"] == pa.bool_()  # a missing cell is null, not a string
    assert types["tags"] == pa.string()
    assert str(a.to_pylist()) == str(b.to_pylist())  # NaN != NaN: compare the text
    assert a.column("hp_lr").to_pylist()[4:] == [0.5, None]
    assert a.column("tags").to_pylist() == [None, None, None, "1;2.5", None, "3"]


def test_a_part_holds_the_same_rows_given_as_rows_or_columns(tmp_path):
    # a group's per-run rows all have the same keys
    runs = [{k: v for k, v in row.items() if k not in ("tags", "value")} for row in ROWS]
    runs = [dict(row, final=float(i) if i % 2 else float("nan")) for i, row in enumerate(runs)]
    runs = columns_to_rows(rows_to_columns(runs))
    summary = [{"objective": "booth", "ert": float("inf"), "median": float("nan")}]
    arrays = {"values": np.arange(6.0, dtype=np.float32).reshape(2, 3)}
    write_group_part(tmp_path / "rows.npz", arrays, summary, runs)
    write_group_part(tmp_path / "columns.npz", arrays, summary, rows_to_columns(runs))
    a, b = read_npz(tmp_path / "rows.npz"), read_npz(tmp_path / "columns.npz")
    assert str(a["runs_rows"]) == str(b["runs_rows"])
    got_arrays, got_summary, got_runs = read_group_part(tmp_path / "columns.npz")
    assert np.array_equal(got_arrays["values"], arrays["values"])
    assert math.isinf(got_summary[0]["ert"]) and math.isnan(got_summary[0]["median"])
    assert [r["start"] for r in got_runs] == [0, 1, 2, 3, 4, 5]
    assert math.isnan(got_runs[0]["final"]) and got_runs[1]["final"] == 1.0


def test_npz_parts_load_with_numpy(tmp_path):
    arrays = {
        "params": np.random.default_rng(0).normal(size=(4, 11, 2)).astype(np.float32),
        "status": np.asarray(["converged", "max_steps"]),
        "f_opt": np.asarray(np.nan),
        "text": np.asarray('{"a": 1}'),
    }
    write_npz(tmp_path / "part.npz", arrays)
    with np.load(tmp_path / "part.npz", allow_pickle=False) as data:
        assert data.files == list(arrays)
        for name, value in arrays.items():
            assert data[name].dtype == value.dtype
            assert np.array_equal(data[name], value, equal_nan=value.dtype.kind == "f")


def test_large_float_arrays_that_hardly_deflate_are_stored(tmp_path):
    """A trajectory still moving at every record is written as it is; one that settles
    (repeated values) and everything else is deflated. np.load reads both."""
    rng = np.random.default_rng(1)
    arrays = {
        "moving": rng.normal(size=(500, 101)).astype(np.float32),
        "settled": np.repeat(rng.normal(size=(500, 1)), 101, axis=1),
        "small": rng.normal(size=100),
        "counts": rng.integers(0, 1000, (500, 101)),
    }
    write_npz(tmp_path / "part.npz", arrays)
    with zipfile.ZipFile(tmp_path / "part.npz") as archive:
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
    assert kinds == {
        "moving.npy": zipfile.ZIP_STORED,
        "settled.npy": zipfile.ZIP_DEFLATED,
        "small.npy": zipfile.ZIP_DEFLATED,
        "counts.npy": zipfile.ZIP_DEFLATED,
    }
    with np.load(tmp_path / "part.npz", allow_pickle=False) as data:
        for name, value in arrays.items():
            assert data[name].dtype == value.dtype and np.array_equal(data[name], value)
