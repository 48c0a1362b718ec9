"""Writing a batch's groups in a background thread while the next batch runs.

Oracle: the same run writing each batch at once (``runner._LOOKAHEAD = 0``: no compile
ahead and no writer thread, as a run did before either existed). The files must hold the
same numbers, the writing must really overlap the next batch's run, and a run that fails
or is interrupted while a batch is being written keeps the groups computed before, as a
run that writes at once does.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.engine import run as engine
from jaxcalc.errors import OutputError
from jaxcalc.pipeline import run as runner

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.toml"
QUICK = ("--set", "starts.count=6", "--set", "run.steps=60")
TIMINGS = {"compile_seconds", "run_seconds"}
GROUPS = 6  # smoke.toml: 2 objectives x 3 optimizer entries, one batch each


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in r.items() if k not in TIMINGS} for r in csv.DictReader(handle)]


def run(capsys, monkeypatch, out: Path, lookahead: int):
    monkeypatch.setattr(runner, "_LOOKAHEAD", lookahead)
    return run_cli(capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report")


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("jaxcalc-write")]


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """The oracle: every batch written at once, on the main thread."""
    out = tmp_path_factory.mktemp("plain") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "_LOOKAHEAD", 0)
        code, _, err = run_cli(
            _NoCapture(), "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report", "--quiet"
        )
    assert code == 0, err
    return out


class _NoCapture:
    """capsys for a module fixture (which cannot take the function-scoped one)."""

    @staticmethod
    def readouterr():
        return "", ""


def test_writing_in_a_thread_overlaps_the_next_run_and_writes_the_same_files(
    plain, tmp_path, capsys, monkeypatch
):
    real_write, real_optimize = runner._write_batch, engine.optimize
    events: list[tuple[str, str, float]] = []

    def write(*args, **kwargs):
        events.append(("write", threading.current_thread().name, time.perf_counter()))
        time.sleep(0.3)  # long enough for the next batch's run to start beside it
        real_write(*args, **kwargs)
        events.append(("written", threading.current_thread().name, time.perf_counter()))

    def optimize(*args, **kwargs):
        if not kwargs.get("_compile_only"):
            events.append(("run", threading.current_thread().name, time.perf_counter()))
        return real_optimize(*args, **kwargs)

    monkeypatch.setattr(runner, "_write_batch", write)
    monkeypatch.setattr(engine, "optimize", optimize)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, 2)
    assert code == 0, err
    assert not writer_threads()  # nothing left running after the run

    writes = [e for e in events if e[0] == "write"]
    assert len(writes) == GROUPS and all(n.startswith("jaxcalc-write") for _, n, _ in writes)
    # a batch's run started while the batch before it was being written
    done = [t for kind, _, t in events if kind == "written"]
    runs = [t for kind, _, t in events if kind == "run"]
    assert any(start < end for start, end in zip(runs[1:], done, strict=False))

    assert rows(out / "summary.csv") == rows(plain / "summary.csv")
    for table in ("runs.csv", "tests.csv", "fixed_budget.csv"):
        assert (out / table).read_bytes() == (plain / table).read_bytes(), table
    for g in range(GROUPS):
        a, b = np.load(out / f"group_{g:03d}.npz"), np.load(plain / f"group_{g:03d}.npz")
        assert a.files == b.files
        for name in a.files:
            if name != "summary_rows":  # holds the timings
                assert a[name].tobytes() == b[name].tobytes(), (g, name)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [g["index"] for g in manifest["groups"]] == list(range(GROUPS))


@pytest.mark.parametrize("lookahead", [0, 2])
def test_a_failed_write_fails_the_run_the_same_way(lookahead, tmp_path, capsys, monkeypatch):
    real = runner._GroupWriter.group

    def group(self, g, *args, **kwargs):
        if g == 2:
            raise OutputError("disk full on purpose")
        return real(self, g, *args, **kwargs)

    monkeypatch.setattr(runner._GroupWriter, "group", group)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, lookahead)
    assert code == 2
    assert "Traceback" not in err
    assert "disk full on purpose" in err and "the 2 finished group(s) are kept" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert [g["index"] for g in manifest["groups"]] == [0, 1]
    assert len(rows(out / "runs.csv")) == 3 * 6  # adam (2 learning rates) and bfgs
    assert not writer_threads()


@pytest.mark.parametrize("lookahead", [0, 2])
def test_an_abandoned_run_keeps_the_groups_computed_before(
    lookahead, tmp_path, capsys, monkeypatch
):
    """Ctrl-C twice during the third batch's run, while the second is still being written
    (its writing made slow): both earlier groups are kept, as when writing at once."""
    real_write, real_optimize = runner._write_batch, engine.optimize
    calls: list[int] = []

    def slow_write(*args, **kwargs):
        time.sleep(0.3)
        real_write(*args, **kwargs)

    def optimize(*args, **kwargs):
        if kwargs.get("_compile_only"):
            return real_optimize(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_optimize(*args, **kwargs)

    monkeypatch.setattr(runner, "_write_batch", slow_write)
    monkeypatch.setattr(engine, "optimize", optimize)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, lookahead)
    assert code == 130
    assert "after 2 of 6 groups" in err.strip().splitlines()[-1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert [g["index"] for g in manifest["groups"]] == [0, 1]
    assert (out / "group_001.npz").exists() and not (out / "group_002.npz").exists()
    assert not writer_threads()


@pytest.mark.parametrize("bounded", [False, True])
def test_several_batches_wait_to_be_written_while_later_ones_run(
    bounded, plain, tmp_path, capsys, monkeypatch
):
    """The first batch's writing is held until the third batch runs: the runs go on with
    up to _WRITE_BEHIND batches waiting (a grid alternates batches slow and quick to
    write), and the files are still those of the run writing at once. With no bytes
    allowed to wait (``bounded``), a batch's results wait alone: the second batch's run
    waits for the first batch's writing, and the third cannot run while it is held."""
    assert runner._WRITE_BEHIND >= 3
    if bounded:
        monkeypatch.setattr(runner, "_WRITE_BEHIND_BYTES", 0)
    real_write, real_optimize = runner._write_batch, engine.optimize
    third_ran = threading.Event()
    runs: list[int] = []
    held: list[bool] = []

    def write(*args, **kwargs):
        if not held:
            held.append(third_ran.wait(timeout=2 if bounded else 60))
        real_write(*args, **kwargs)

    def optimize(*args, **kwargs):
        if not kwargs.get("_compile_only"):
            runs.append(1)
            if len(runs) == 3:
                third_ran.set()
        return real_optimize(*args, **kwargs)

    monkeypatch.setattr(runner, "_write_batch", write)
    monkeypatch.setattr(engine, "optimize", optimize)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, 2)
    assert code == 0, err
    assert held == [not bounded]  # did the third batch run while the first was held?
    assert rows(out / "summary.csv") == rows(plain / "summary.csv")
    assert (out / "runs.csv").read_bytes() == (plain / "runs.csv").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [g["index"] for g in manifest["groups"]] == list(range(GROUPS))
