"""Compiling groups ahead, in background threads (two at once), while a group runs.

Oracle: the same run without compiling ahead (``runner._LOOKAHEAD = 0``, every group
compiled by its own ``optimize`` call, as before look-ahead existed). Both must write the
same numbers, report every group's compile seconds, and fail the same way when a later
group's program cannot be compiled.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.engine import run as engine
from jaxcalc.errors import ResourceError
from jaxcalc.pipeline import run as runner

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.toml"
QUICK = ("--set", "starts.count=6", "--set", "run.steps=60")
TIMINGS = {"compile_seconds", "run_seconds"}
GROUPS = 6  # smoke.toml: 2 objectives x 3 optimizer entries


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_timings(table: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k not in TIMINGS} for row in table]


def compile_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("jaxcalc-compile")]


def run(capsys, monkeypatch, out: Path, lookahead: int, *extra: str):
    monkeypatch.setattr(runner, "_LOOKAHEAD", lookahead)
    return run_cli(capsys, "run", str(SMOKE), "--out", str(out), *QUICK, "--no-report", *extra)


def test_compiling_ahead_writes_the_same_results(tmp_path, capsys, monkeypatch):
    code, _, err = run(capsys, monkeypatch, tmp_path / "plain", 0)
    assert code == 0, err

    real = engine.optimize
    calls: list[tuple[bool, float | None]] = []

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        compile_only = bool(kwargs.get("_compile_only"))
        calls.append((compile_only, None if compile_only else result.compile_seconds))
        return result

    monkeypatch.setattr(engine, "optimize", spy)
    out = tmp_path / "ahead"
    code, _, err = run(capsys, monkeypatch, out, 2)
    assert code == 0, err
    assert not compile_threads()  # nothing left running after the run

    # every group was compiled ahead (the first beside the second), and its optimize call
    # compiled nothing
    assert sum(only for only, _ in calls) == GROUPS
    runs = [seconds for only, seconds in calls if not only]
    assert len(runs) == GROUPS and all(s == 0.0 for s in runs)

    plain = tmp_path / "plain"
    assert without_timings(rows(out / "summary.csv")) == without_timings(
        rows(plain / "summary.csv")
    )
    assert (out / "runs.csv").read_bytes() == (plain / "runs.csv").read_bytes()
    for g in range(GROUPS):
        a, b = np.load(out / f"group_{g:03d}.npz"), np.load(plain / f"group_{g:03d}.npz")
        assert a.files == b.files
        for name in ("values", "params", "grad_norms", "status", "runs_rows"):
            assert np.array_equal(a[name], b[name]), (g, name)

    # compile seconds stay honest: the time of compiling ahead is the group's
    manifest = json.loads((out / "manifest.json").read_text())
    assert [g["index"] for g in manifest["groups"]] == list(range(GROUPS))
    assert all(g["compile_seconds"] > 0 for g in manifest["groups"])
    summary = rows(out / "summary.csv")
    assert all(float(r["compile_seconds"]) > 0 for r in summary)
    by_group = {(g["objective"], g["optimizer"]): g["compile_seconds"] for g in manifest["groups"]}
    for r in summary:
        assert float(r["compile_seconds"]) == pytest.approx(
            by_group[(r["objective"], r["optimizer"])]
        )


def broken_program(monkeypatch, method: str):
    """Compiling ``method``'s program fails (as running out of memory while compiling
    would): in ``optimize``, and so in ``precompile``, which compiles through it."""
    real = engine.optimize

    def optimize(objective, optimizer, *args, **kwargs):
        if getattr(optimizer, "name", optimizer) == method:
            raise ResourceError(f"cannot compile {method}: broken on purpose")
        return real(objective, optimizer, *args, **kwargs)

    monkeypatch.setattr(engine, "optimize", optimize)


@pytest.mark.parametrize("lookahead", [0, 2])
def test_a_later_group_that_fails_to_compile_fails_the_run_the_same_way(
    lookahead, tmp_path, capsys, monkeypatch
):
    broken_program(monkeypatch, "gd_armijo")  # group 3 of 6 (booth x gd_armijo)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, lookahead)
    assert code == 2
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("jaxcalc: error: cannot compile gd_armijo: broken on purpose")
    # the groups before it are kept, and the line says how to go on
    assert f"the 2 finished group(s) are kept in {out}" in last and "--resume" in last
    manifest = json.loads((out / "manifest.json").read_text())
    meta = json.loads((out / "metadata.json").read_text())
    assert manifest["status"] == meta["status"] == "failed"
    assert [g["index"] for g in manifest["groups"]] == [0, 1]  # the groups before it
    assert meta["error"] == "ResourceError: cannot compile gd_armijo: broken on purpose"
    assert len(rows(out / "runs.csv")) == 3 * 6  # adam (2 learning rates) and bfgs
    assert not (out / "group_002.npz").exists()
    assert not (out / ".jaxcalc.lock").exists()


def test_a_failed_compile_ahead_is_compiled_again_by_its_group(tmp_path, capsys, monkeypatch):
    """A compile that fails only in the background (say, for want of memory while another
    group ran) costs the speed-up, not the run: the group compiles when it runs."""
    real = engine.precompile

    def fails_once(objective, optimizer, *args, **kwargs):
        if getattr(optimizer, "name", optimizer) == "bfgs":
            raise MemoryError("no memory for a second compile")
        return real(objective, optimizer, *args, **kwargs)

    monkeypatch.setattr(engine, "precompile", fails_once)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, 2)
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert all(g["compile_seconds"] > 0 for g in manifest["groups"])
    plain = tmp_path / "plain"
    code, _, err = run(capsys, monkeypatch, plain, 0)
    assert code == 0, err
    assert (out / "runs.csv").read_bytes() == (plain / "runs.csv").read_bytes()


def test_a_stop_waits_for_the_compile_under_way(tmp_path, capsys, monkeypatch):
    """SIGTERM during a group: the run stops after it, with no compile left running."""
    import os
    import signal

    real = engine.optimize

    def terminated_during_second_group(*args, **kwargs):
        result = real(*args, **kwargs)
        if not kwargs.get("_compile_only"):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
        return result

    calls: list[int] = []
    monkeypatch.setattr(engine, "optimize", terminated_during_second_group)
    out = tmp_path / "run"
    code, _, err = run(capsys, monkeypatch, out, 2, "--quiet")
    assert code == 130
    assert "interrupted (SIGTERM) after 2 of 6 groups" in err
    assert not compile_threads()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [g["index"] for g in manifest["groups"]] == [0, 1]

    # resuming compiles ahead again and ends with every group
    monkeypatch.setattr(engine, "optimize", real)
    code, _, err = run(capsys, monkeypatch, out, 2, "--resume")
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [g["index"] for g in manifest["groups"]] == list(range(GROUPS))


@pytest.mark.parametrize("lookahead", [0, 2])
def test_runs_use_one_core_while_the_next_groups_compile(lookahead, tmp_path, capsys, monkeypatch):
    # the engine would run a large job's chunks on every core; while the background
    # thread compiles, the runner asks for one, and the compile ahead must ask the same
    # (the number decides the program's chunk shape)
    seen: list[tuple[bool, object]] = []
    for name in ("optimize", "optimize_many"):
        real = getattr(engine, name)

        def spy(*args, _real=real, **kwargs):
            seen.append((bool(kwargs.get("_compile_only")), kwargs.get("cpu_threads")))
            return _real(*args, **kwargs)

        monkeypatch.setattr(engine, name, spy)
    code, _, err = run(capsys, monkeypatch, tmp_path / "run", lookahead)
    assert code == 0, err
    assert any(only for only, _ in seen) == (lookahead > 0)
    assert {threads for _, threads in seen} == ({1} if lookahead else {None})
