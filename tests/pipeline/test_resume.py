"""Interrupted runs, --resume, the progress log, Parquet twins of the tables and --dtype.

Oracle for resuming: an uninterrupted run of the same config. Its summary (timings aside)
and per-run table must equal those of a run interrupted after its first group and then
resumed, because every group's starts come from the seed and the objective's index only.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
from pathlib import Path

import jax
import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.cli import main
from jaxcalc.engine import run as engine

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.toml"
QUICK = ("--set", "starts.count=6", "--set", "run.steps=60")
TIMINGS = {"compile_seconds", "run_seconds"}
GROUPS = 6  # smoke.toml: 2 objectives x 3 optimizer entries

TINY = """
name = "tiny"
dtype = "float32"
[starts]
count = 3
[run]
steps = 20
record_every = 10
target = 1e-4
[[objectives]]
expression = "(x - 2)**2 + 3*(y + 1)**2"
bounds = [[-4.0, 4.0], [-4.0, 4.0]]
x_opt = [2.0, -1.0]
[[optimizers]]
name = "gd_armijo"
"""


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_timings(table: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in table]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run (no figures: they are not what is compared here)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    saved = (jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
    try:
        code = main(["run", str(SMOKE), "--out", str(out), *QUICK, "--no-report", "--quiet"])
    finally:
        jax.config.update("jax_enable_x64", saved[0])
        jax.config.update("jax_default_matmul_precision", saved[1])
    assert code == 0
    return out


def test_interrupt_then_resume_equals_an_uninterrupted_run(
    reference, tmp_path, capsys, monkeypatch
):
    real = engine.optimize
    calls: list[int] = []

    def interrupted_on_second_group(*args, **kwargs):
        if kwargs.get("_compile_only"):  # a group compiled ahead (precompile): not a run
            return real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C pressed twice: the group is abandoned
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "optimize", interrupted_on_second_group)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report")
    assert code == 130
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "interrupted" in last and "after 1 of 6 groups" in last
    assert f"--out {out}" in last and "--set starts.count=6" in last and last.endswith("--resume")

    manifest = json.loads((out / "manifest.json").read_text())
    meta = json.loads((out / "metadata.json").read_text())
    assert manifest["status"] == meta["status"] == "interrupted"
    assert [g["index"] for g in manifest["groups"]] == [0]
    assert manifest["groups_total"] == GROUPS
    assert manifest["config_hash"] == meta["config_hash"]
    assert manifest["versions"]["jax"] == jax.__version__
    assert (out / "group_000.npz").exists() and not (out / "group_001.npz").exists()
    assert len(rows(out / "summary.csv")) == 2  # the finished group: adam at 2 learning rates
    assert len(rows(out / "runs.csv")) == 2 * 6
    assert not (out / ".jaxcalc.lock").exists()
    monkeypatch.setattr(engine, "optimize", real)

    # a changed config, or another JAX version, is refused and leaves everything as it was
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    changed = ("--set", "run.target=0.001")
    code, _, err = run_cli(
        capsys, "run", str(SMOKE), "--out", str(out), *QUICK, *changed, "--resume"
    )
    assert code == 2
    assert "config changed since run" in err and "refusing to mix results" in err
    assert "Traceback" not in err
    stale = dict(manifest, versions={**manifest["versions"], "jax": "0.0.1"})
    (out / "manifest.json").write_text(json.dumps(stale))
    code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--resume")
    assert code == 2 and "jax 0.0.1 ->" in err and "refusing to mix results" in err
    (out / "manifest.json").write_bytes(before["manifest.json"])
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before

    # resuming computes only the missing groups, logging one line per group on stderr
    calls.clear()

    def counted(*args, **kwargs):
        if not kwargs.get("_compile_only"):
            calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "optimize", counted)
    code, _, err = run_cli(
        capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report", "--resume"
    )
    assert code == 0, err
    assert len(calls) == GROUPS - 1
    assert "resuming smoke: 1 of 6 groups already finished" in err
    assert "[6/6] shifted_quadratic x gd_armijo" in err and "compile" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [g["index"] for g in manifest["groups"]] == list(range(GROUPS))
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["status"] == "complete" and len(meta["resumed"]) == 1
    assert without_timings(rows(out / "summary.csv")) == without_timings(
        rows(reference / "summary.csv")
    )
    assert (out / "runs.csv").read_bytes() == (reference / "runs.csv").read_bytes()


def test_sigterm_stops_after_the_current_group(tmp_path, capsys, monkeypatch):
    real = engine.optimize
    before = signal.getsignal(signal.SIGTERM)

    def terminated_during_first_group(*args, **kwargs):
        result = real(*args, **kwargs)
        if not kwargs.get("_compile_only"):  # not when a later group is compiled ahead
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    monkeypatch.setattr(engine, "optimize", terminated_during_first_group)
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report", "--quiet"
    )
    assert code == 130
    assert stdout.splitlines() == [f"jaxcalc run smoke: writing to {out}"]
    (line,) = err.strip().splitlines()  # --quiet: no progress, only the one-line message
    assert "interrupted (SIGTERM) after 1 of 6 groups" in line and "--resume" in line
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert [g["index"] for g in manifest["groups"]] == [0]  # the group was finished, not lost
    assert json.loads((out / "metadata.json").read_text())["stopped_by"] == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


def test_resume_refuses_a_folder_without_a_manifest(tmp_path, capsys):
    out = tmp_path / "other"
    out.mkdir()
    (out / "notes.txt").write_text("not a jaxcalc run")
    code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--resume")
    assert code == 2 and "no manifest.json" in err
    code, _, err = run_cli(capsys, "run", str(SMOKE), "--out", str(out), "--resume", "--overwrite")
    assert code == 2 and "not allowed with" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("table", ["summary", "runs"])
def test_parquet_has_the_csv_numbers_typed(reference, table):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    parquet = pq.read_table(reference / f"{table}.parquet")
    text = rows(reference / f"{table}.csv")
    assert parquet.column_names == list(text[0])
    assert parquet.num_rows == len(text)
    types = {f.name: f.type for f in parquet.schema}
    assert types["objective"] == pa.string()
    if table == "summary":
        assert types["runs"] == pa.int64() and types["success_rate"] == pa.float64()
        assert types["ert"] == pa.float64() and types["status_converged"] == pa.int64()
    else:
        assert types["start"] == pa.int64() and types["status"] == pa.string()
    nan_seen = False
    for row, typed in zip(text, parquet.to_pylist(), strict=True):
        for name, cell in row.items():
            value = typed[name]
            if cell == "":
                assert value is None, (name, row)
            elif types[name] == pa.float64():
                expected = float(cell)
                nan_seen |= math.isnan(expected)
                assert value == expected or (math.isnan(expected) and math.isnan(value))
            elif types[name] == pa.int64():
                assert value == int(cell)
            else:
                assert value == cell
    assert nan_seen or table == "runs"  # adam never reaches the target: NaN medians survive


def test_dtype_flag_overrides_the_config(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "run", str(config), "--out", str(out), "--dtype", "float64", "--no-report"
    )
    assert code == 0, err
    assert "overrides dtype = 'float32'" in err  # the replaced value is logged
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["dtype"] == meta["config"]["dtype"] == "float64"
    assert meta["overrides"] == ["dtype=float64"]
    assert meta["config"]["source"]["overrides"] == ["dtype=float64"]
    assert np.load(out / "group_000.npz")["values"].dtype == np.float64
    # the dtype is part of the config hash: resuming without the flag mixes nothing
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out), "--resume")
    assert code == 2 and "config changed since run" in err
