"""Experiments compute the stackable optimizers of an objective in one program.

Oracle: the same experiment with every group in its own program (``plan.STACK = 1``),
as before stacking existed. Both must give the same statuses, counts and success rates,
and final values equal to rounding (a stacked program is fused differently by XLA).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.engine import cache, curvature
from jaxcalc.engine import run as engine
from jaxcalc.pipeline import plan as planning

CONFIG = """
name = "stacking"
seed = 3
dtype = "float64"

[starts]
count = 5

[run]
steps = 40
record_every = 4
target = 1e-3

[[objectives]]
name = "booth"

[[objectives]]
name = "himmelblau"

[[optimizers]]
name = "sgd"
learning_rate = 0.01

[[optimizers]]
name = "adam"
learning_rate = [0.05, 0.2]

[[optimizers]]
name = "rmsprop"
learning_rate = 0.01

[[optimizers]]
name = "lbfgs"

[[optimizers]]
name = "yogi"
learning_rate = 0.1
"""
COMPILE, CURVATURE_PROGRAM = cache.compile_program, curvature.curvature_program
EXACT = ("runs", "success_rate", "median_steps_to_target")


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def run(tmp_path, capsys, monkeypatch, stack: int) -> tuple[Path, list[str]]:
    config = tmp_path / "stacking.toml"
    config.write_text(CONFIG)
    monkeypatch.setattr(planning, "STACK", stack)
    monkeypatch.setattr(cache, "COMPILED", {})  # nothing from an earlier run
    compiled: list[str] = []
    real, real_check = COMPILE, CURVATURE_PROGRAM

    def counted(lowered, quick):
        compiled.append("program")
        return real(lowered, quick)

    def check(*args):
        compiled.append("check")
        return real_check(*args)

    monkeypatch.setattr(cache, "compile_program", counted)
    monkeypatch.setattr(curvature, "curvature_program", check)
    out = tmp_path / f"stack{stack}"
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out), "--no-report")
    assert code == 0, err
    return out, compiled


def test_stacked_groups_give_the_results_of_separate_programs(tmp_path, capsys, monkeypatch):
    alone, alone_compiles = run(tmp_path, capsys, monkeypatch, 1)
    stacked, stacked_compiles = run(tmp_path, capsys, monkeypatch, 8)

    # per objective: sgd+adam+rmsprop in one program, lbfgs, yogi (not next to the others)
    manifest = json.loads((stacked / "manifest.json").read_text())
    shared = {
        (g["objective"], g["optimizer"]): g.get("program_shared_with") for g in manifest["groups"]
    }
    assert shared[("booth", "sgd")] == ["sgd", "adam", "rmsprop"]
    assert shared[("himmelblau", "rmsprop")] == ["sgd", "adam", "rmsprop"]
    assert shared[("booth", "lbfgs")] is None and shared[("booth", "yogi")] is None
    assert all(g["compile_seconds"] > 0 for g in manifest["groups"])
    # main programs (a curvature check's compile counts as "check" and "program"):
    # 10 alone, 6 stacked
    main = lambda names: names.count("program") - names.count("check")  # noqa: E731
    assert (main(alone_compiles), main(stacked_compiles)) == (10, 6)

    a, s = rows(alone / "summary.csv"), rows(stacked / "summary.csv")
    assert [(r["objective"], r["optimizer"]) for r in a] == [
        (r["objective"], r["optimizer"]) for r in s
    ]
    for ra, rs in zip(a, s, strict=True):
        for key in ra:
            if key.startswith("status_") or key in EXACT:
                assert ra[key] == rs[key], (ra["objective"], ra["optimizer"], key)
        assert float(rs["final_value_median"]) == pytest.approx(
            float(ra["final_value_median"]), rel=1e-9, abs=1e-12
        )
    for g in range(10):
        x, y = np.load(alone / f"group_{g:03d}.npz"), np.load(stacked / f"group_{g:03d}.npz")
        np.testing.assert_array_equal(x["status"], y["status"])
        np.testing.assert_allclose(x["values"], y["values"], rtol=1e-9, atol=1e-12)


def test_a_stacked_batch_interrupted_keeps_the_groups_before_it(tmp_path, capsys, monkeypatch):
    """Ctrl-C during a stacked batch: the groups finished before it are kept, the batch's
    groups are not half-written, and --resume completes the run."""
    config = tmp_path / "stacking.toml"
    config.write_text(CONFIG)
    real = engine.optimize_many
    calls: list[int] = []

    def interrupted(*args, **kwargs):
        if kwargs.get("_compile_only") or len(args[1]) == 1:  # ahead, or optimize's own
            return real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # himmelblau's sgd+adam+rmsprop
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "optimize_many", interrupted)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out), "--no-report")
    assert code == 130, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert [g["index"] for g in manifest["groups"]] == [0, 1, 2, 3, 4]  # booth's five
    assert not (out / "group_005.npz").exists()
    monkeypatch.setattr(engine, "optimize_many", real)
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out), "--no-report", "--resume")
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["groups_done"] == 10
