"""The README's main job: experiments/course_calculus/reproduce.py, checked against the course.

Expected values are the course's own printed answers and closed forms: d/dx (3x^2+1) = 6x,
12 at x = 2; the tangent of x^3 - 1/x at 1 is y = 4x - 4; D2L's quotients are 2 + 3h.
"""

import importlib.util
import json
import math
import subprocess
from pathlib import Path

import jax
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "course_calculus" / "reproduce.py"


@pytest.fixture(scope="module")
def script():
    previous = bool(jax.config.jax_enable_x64)
    spec = importlib.util.spec_from_file_location("reproduce", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the script enables float64, as the course computes
    jax.config.update("jax_enable_x64", previous)
    return module


@pytest.fixture(scope="module")
def results(script, tmp_path_factory):
    previous = bool(jax.config.jax_enable_x64)
    out = tmp_path_factory.mktemp("course")
    try:
        jax.config.update("jax_enable_x64", True)
        assert script.main(["--out", str(out)]) == 0
    finally:
        jax.config.update("jax_enable_x64", previous)
    return out, json.loads((out / "results.json").read_text())


def test_default_output_is_not_tracked_by_git(script):
    # a plain run leaves the checkout clean: its folder is one git ignores
    root = SCRIPT.parents[2]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    target = script.DEFAULT_OUT / "results.json"
    assert root in target.parents and SCRIPT.parent not in target.parents
    ignored = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "-q", str(target)], check=False
    )
    assert ignored.returncode == 0, f"{target} is not ignored by git"


def test_seed_example(results):
    _, r = results
    assert r["seed"]["derivative"] == "6*x"
    assert r["seed"]["value_at_2_autodiff"] == 12.0
    assert r["seed"]["value_at_2_central_h1"] == pytest.approx(12.0, abs=1e-12)


def test_homework(results):
    _, r = results
    assert r["homework"]["hw1"]["derivative"] == "2*x - 6"
    assert r["homework"]["hw3"]["tangent"]["equation"] == "y = 4*x - 4"


def test_limit_table_and_exercises(results):
    _, r = results
    for row in r["limit_table"][:6]:
        assert row["quotient"] == pytest.approx(2 + 3 * row["h"], rel=1e-8)
    assert r["ex7_gradient"]["gradient"] == pytest.approx([6.0, 5 * math.e**2], rel=1e-12)
    assert r["ex8_norm_gradient"]["at_zero_autodiff"] == [None, None, None]
    assert r["ex8_norm_gradient"]["at_zero_diagnosis"]
    assert r["autograd_ex4_sin"]["max_abs_error_vs_cos"] < 1e-12


def test_figures_written(results):
    out, _ = results
    for name in ("seed_3x2_plus_1.png", "hw1.png", "hw2.png", "hw3.png", "autograd_sin.png"):
        assert (out / name).stat().st_size > 1000
