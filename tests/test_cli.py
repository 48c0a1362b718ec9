"""The command line, through a real subprocess (the done criteria) and in process (the rest).

Expected values come from closed forms: d/dx (3x^2 + 1) = 6x; the tangent of x^3 - 1/x at 1
has slope 3 + 1 = 4 and passes through (1, 0).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jaxcalc_testing import run_cli


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-m", "jaxcalc", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


call = run_cli


# ----------------------------------------------------------------------------- subprocess


def test_done_criterion_diff_prints_6x_and_12():
    proc = run("diff", "3x^2+1", "--at", "2")
    assert proc.returncode == 0, proc.stderr
    assert "6*x" in proc.stdout
    assert "= 12" in proc.stdout.splitlines()[-1]


def test_done_criterion_tangent_prints_equation(tmp_path):
    proc = run("tangent", "x^3 - 1/x", "--at", "1", "--plot", str(tmp_path / "t.png"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "y = 4*x - 4"
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_bad_expression_is_one_line_exit_2_no_traceback(tmp_path):
    sentinel = tmp_path / "pwned"
    proc = run("diff", f"__import__('os').system('touch {sentinel}')")
    assert proc.returncode == 2
    assert not sentinel.exists()
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not allowed" in proc.stderr


def test_debug_shows_traceback():
    proc = run("diff", "x @ y", "--debug")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


# ----------------------------------------------------------------------------- in process


def test_diff_json_keys_and_values(capsys):
    code, out, _ = call(capsys, "diff", "3x^2+1", "--at", "2", "-1", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["expression"] == "3x^2+1"
    assert data["derivative"] == "6*x"
    assert data["order"] == 1
    assert data["at"] == [2.0, -1.0]
    assert data["values"] == [12.0, -6.0]


def test_diff_higher_order_matches_closed_form(capsys):
    code, out, _ = call(capsys, "diff", "x^5", "--order", "3", "--at", "2", "--json")
    data = json.loads(out)
    assert code == 0 and data["derivative"] == "60*x**2"
    assert data["values"] == [pytest.approx(60 * 2**2, rel=1e-12)]


def test_diff_non_finite_value_is_null_with_flag(capsys):
    code, out, _ = call(capsys, "diff", "x^3 - 1/x", "--at", "0", "1", "--json")
    data = json.loads(out)  # strict JSON: no NaN or Infinity tokens
    assert code == 0
    assert data["values"][0] is None and data["flags"][0] == "non_finite"
    assert data["values"][1] == 4.0 and data["flags"][1] == ""


def test_diff_vector_expression(capsys):
    code, out, _ = call(capsys, "diff", "x^2 + 3y", "--at", "1,2", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["derivative"] == ["2*x", "3"]
    assert data["values"] == [[2.0, 3.0]]


def test_expression_starting_with_minus(capsys):
    code, out, _ = call(capsys, "diff", "-x^2", "--at", "3", "--json")
    assert code == 0 and json.loads(out)["values"] == [-6.0]


def test_tangent_json(capsys):
    code, out, _ = call(capsys, "tangent", "x^3 - 1/x", "--at", "1", "--json")
    data = json.loads(out)
    assert code == 0
    assert data == {
        "expression": "x^3 - 1/x",
        "x0": 1.0,
        "y0": 0.0,
        "slope": 4.0,
        "intercept": -4.0,
        "equation": "y = 4*x - 4",
        "defined": True,
        "reason": "",
    }


@pytest.mark.parametrize(
    ("expression", "x0", "words"),
    [("abs(x)", "0", "left -1, right 1"), ("1/x", "0", "not finite"), ("sqrt(x)", "0", "slope")],
)
def test_tangent_undefined_is_reported(capsys, expression, x0, words):
    code, out, _ = call(capsys, "tangent", expression, "--at", x0, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["defined"] is False and data["slope"] is None
    assert words in data["reason"]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_formats(capsys, tmp_path, suffix):
    target = tmp_path / f"dir with space é/plot{suffix}"
    target.parent.mkdir()
    code, out, err = call(
        capsys,
        "plot",
        "sin(x)",
        "--derivative",
        "--tangent-at",
        "0",
        "--taylor-at",
        "0",
        "--order",
        "3",
        "-o",
        str(target),
    )
    assert code == 0, err
    assert target.stat().st_size > 500
    assert str(target.resolve()) in out
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_plot_refuses_bad_output_before_computing(capsys, tmp_path):
    code, _, err = call(capsys, "plot", "x", "-o", str(tmp_path / "missing" / "p.png"))
    assert code == 2 and "does not exist" in err
    code, _, err = call(capsys, "plot", "x", "-o", str(tmp_path / "p.gif"))
    assert code == 2 and "unknown figure format" in err
    code, _, err = call(capsys, "plot", "x", "-o", str(tmp_path))
    assert code == 2


def test_plot_keeps_existing_file_when_expression_is_bad(capsys, tmp_path):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")
    code, _, err = call(capsys, "plot", "x^", "-o", str(target))
    assert code == 2 and "incomplete" in err
    assert target.read_bytes() == b"old"


def test_check_reports_kink(capsys):
    code, out, _ = call(capsys, "check", "abs(x)", "--at", "0", "2", "--json")
    data = json.loads(out)
    assert code == 0
    kink, smooth = data["checks"]
    assert kink["differentiable"] is False
    assert (kink["left"], kink["right"]) == (-1.0, 1.0)
    assert smooth["differentiable"] is True and smooth["symbolic"] == 1.0


def test_critical_points(capsys):
    code, out, _ = call(capsys, "critical", "x^3 - 3x", "--range", "-3", "3", "--json")
    points = json.loads(out)["points"]
    assert code == 0
    assert [p["kind"] for p in points] == ["maximum", "minimum"]
    assert [round(p["x"], 9) for p in points] == [-1.0, 1.0]
    assert [p["value"] for p in points] == pytest.approx([2.0, -2.0])


def test_float32_option(capsys):
    code, out, _ = call(capsys, "diff", "x^2", "--at", "1.5", "--dtype", "float32", "--json")
    assert code == 0 and json.loads(out)["values"] == [3.0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("diff", "x^^2"), "column"),
        (("diff", "sinh2(x)"), "did you mean `sinh`"),
        (("diff", "x", "--at", "abc"), "not a number"),
        (("diff", "x", "--at", "nan"), "finite"),
        (("diff", "x", "--order", "0"), "positive"),
        (("diff", "x^2+y", "--at", "1"), "comma-separated"),
        (("tangent", "x*y", "--at", "1"), "one variable"),
        (("critical", "x", "--range", "2", "1"), "A < B"),
        (("nonsense",), "invalid choice"),
        (("diff",), "required"),
        (("diff", "1e400"), "overflows"),
    ],
)
def test_bad_input_table(capsys, args, words):
    code, out, err = call(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert words in err


def test_constant_expression_warns_but_works(capsys):
    code, out, err = call(capsys, "diff", "5", "--at", "1", "--json")
    assert code == 0
    assert json.loads(out)["values"] == [0.0]
    assert "does not depend" in err


def test_json_is_strict_everywhere(capsys):
    code, out, _ = call(capsys, "check", "sqrt(x)", "--at", "0", "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["checks"][0]["differentiable"] is False
    assert not any(isinstance(v, float) and math.isnan(v) for v in data["checks"][0].values())


# ----------------------------------------------------------------------------- objectives


def test_list_objectives_json(capsys):
    code, out, _ = call(capsys, "list", "objectives", "--json")
    rows = {r["name"]: r for r in json.loads(out)["objectives"]}
    assert code == 0
    # Booth's function (x + 2y - 7)^2 + (2x + y - 5)^2 vanishes at the solution (1, 3)
    assert rows["booth"]["f_opt"] == 0.0 and rows["booth"]["x_opt"] == [1.0, 3.0]
    assert rows["course_x3_minus_inv_x"]["unbounded"] is True


def test_list_optimizers_names_everything(capsys):
    code, out, _ = call(capsys, "list", "optimizers", "--json")
    names = [r["name"] for r in json.loads(out)["optimizers"]]
    assert code == 0
    assert {"gd", "gd_armijo", "newton", "bfgs", "lbfgs", "adam", "sgd", "rmsprop"} <= set(names)


def test_optimize_solves_booth(capsys, tmp_path):
    target = tmp_path / "booth.png"
    code, out, err = call(
        capsys,
        "optimize",
        "booth",
        "--optimizer",
        "bfgs",
        "--starts",
        "16",
        "--steps",
        "200",
        "--plot",
        str(target),
        "--json",
    )
    data = json.loads(out)
    assert code == 0, err
    assert data["status_counts"] == {"converged": 16}
    assert data["final_value_quantiles"]["max"] < 1e-12  # the minimum of a sum of squares
    assert data["settings"][0]["success_rate"] == 1.0  # f - 0 <= 1e-6 for every run
    assert target.stat().st_size > 1000


def test_optimize_one_start_and_sweep(capsys):
    code, out, err = call(
        capsys,
        "optimize",
        "(x-2)^2 + 3*(y+1)^2",
        "--optimizer",
        "adam",
        "--hp",
        "learning_rate=0.01,0.1",
        "--x0",
        "0,0",
        "--steps",
        "300",
        "--json",
    )
    data = json.loads(out)
    assert code == 0, err
    assert data["hyperparameters"]["learning_rate"] == [0.01, 0.1]
    assert sum(data["status_counts"].values()) == 2


def test_plot_objective(capsys, tmp_path):
    target = tmp_path / "himmelblau.svg"
    code, out, _ = call(capsys, "plot-objective", "himmelblau", "-o", str(target))
    assert code == 0 and target.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("optimize", "boooth", "--optimizer", "adam"), "did you mean `booth`"),
        (("optimize", "booth", "--optimizer", "adamm"), "did you mean 'adam'"),
        (("optimize", "booth", "--optimizer", "sgd", "--hp", "learning_rat=0.1"), "learning_rate"),
        (("optimize", "booth", "--optimizer", "sgd", "--lr", "-1"), "learning_rate"),
        (("optimize", "booth", "--optimizer", "sgd", "--x0", "1"), "2 comma-separated"),
        (("optimize", "os:getcwd", "--optimizer", "sgd"), "allow-code"),
        (("optimize", "rosenbrock", "--dim", "1", "--optimizer", "sgd"), "dim"),
    ],
)
def test_objective_bad_input_table(capsys, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    code, out, err = call(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err


def _titles(monkeypatch) -> list[str]:
    """The title of every figure the CLI saves (it saves through jaxcalc.plotting)."""
    from jaxcalc import plotting

    titles: list[str] = []
    save = plotting.save_figure

    def saving(fig, target, *args, **kwargs):
        titles.append(fig.axes[0].get_title())
        return save(fig, target, *args, **kwargs)

    monkeypatch.setattr(plotting, "save_figure", saving)
    return titles


def test_slice_at_a_chosen_point(capsys, tmp_path, monkeypatch):
    """Rosenbrock in 3-D: the slice goes through --slice-at, not through the minimiser
    (1, 1, 1); its title names the point and the held coordinate."""
    titles = _titles(monkeypatch)
    target = tmp_path / "slice.png"
    code, out, err = call(
        capsys, "plot-objective", "rosenbrock", "--dim", "3", "-o", str(target),
        "--slice-at", "1,2,0.5", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["slice_at"] == [1.0, 2.0, 0.5]
    assert titles[-1] == "rosenbrock\nslice through (1, 2, 0.5): x3 = 0.5"
    assert target.stat().st_size > 1000
    code, out, err = call(
        capsys, "optimize", "rosenbrock", "--dim", "3", "--optimizer", "bfgs", "--starts", "3",
        "--steps", "20", "--plot", str(target), "--slice-at", "-1,0,2.5", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["slice_at"] == [-1.0, 0.0, 2.5]
    assert titles[-1] == "bfgs on rosenbrock\nslice through (-1, 0, 2.5): x3 = 2.5"
    # without the option: through the minimiser, as before
    code, out, err = call(
        capsys, "plot-objective", "rosenbrock", "--dim", "3", "-o", str(target), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["slice_at"] == [1.0, 1.0, 1.0]
    assert titles[-1].endswith("slice through (1, 1, 1): x3 = 1")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--slice-at", "1,2"), "--slice-at '1,2': expected 3 comma-separated numbers"),
        (("--slice-at", "1,2,3,4"), "expected 3 comma-separated numbers"),
        (("--slice-at", "1,nan,2"), "--slice-at '1,nan,2': values must be finite"),
        (("--slice-at", "1,inf,2"), "values must be finite"),
        (("--slice-at", "1,x,2"), "--slice-at '1,x,2'"),
    ],
)
@pytest.mark.parametrize("command", ["plot-objective", "optimize"])
def test_slice_at_refuses_bad_points(capsys, tmp_path, command, extra, words):
    target = str(tmp_path / "slice.png")
    args = (
        ["-o", target] if command == "plot-objective" else ["--optimizer", "bfgs", "--plot", target]
    )
    code, out, err = call(capsys, command, "rosenbrock", "--dim", "3", *args, *extra)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err
    assert not Path(target).exists()


def test_slice_at_needs_a_slice(capsys, tmp_path):
    target = str(tmp_path / "p.png")
    code, _, err = call(capsys, "plot-objective", "booth", "-o", target, "--slice-at", "1,2")
    assert code == 2 and "--slice-at: booth has 2 dimensions" in err
    code, _, err = call(
        capsys, "optimize", "rosenbrock", "--dim", "3", "--optimizer", "bfgs", "--slice-at", "1,2,3"
    )
    assert code == 2 and "--slice-at" in err and "--plot" in err


# ----------------------------------------------------------------------------- issue 21


def _fresh(code: str) -> str:
    """stdout of ``code`` in a new interpreter on this checkout."""
    import jaxcalc

    root = str(Path(jaxcalc.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root, JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_HEAVY = "print(sorted(m for m in ('jax', 'sympy', 'numpy', 'matplotlib') if m in sys.modules))"


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["--version"], 0), (["--help"], 0), (["diff", "--help"], 0), (["diff", "x^2", "--at"], 2)],
)
def test_commands_that_need_no_jax_do_not_import_it(argv, code):
    out = _fresh(
        "import contextlib, io, sys\n"
        "from jaxcalc.cli import main\n"
        "sink = io.StringIO()\n"
        "with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):\n"
        "    try:\n"
        f"        code = main({argv!r})\n"
        "    except SystemExit as stop:\n"
        "        code = stop.code\n"
        "print(code)\n" + _HEAVY
    )
    assert out.split("\n")[:2] == [str(code), "[]"]


def test_import_jaxcalc_is_light_and_names_load_on_use():
    out = _fresh(
        "import sys\nimport jaxcalc\n" + _HEAVY + "\n"
        "print(jaxcalc.derivative('3x^2 + 1')(2.0))\n"
        "print('jax' in sys.modules, sorted(set(jaxcalc.__all__) - set(dir(jaxcalc))))\n"
    )
    assert out.split("\n")[:3] == ["[]", "12.0", "True []"]


def test_version_prints_the_package_version():
    proc = run("--version")
    assert proc.returncode == 0
    import jaxcalc

    assert proc.stdout.strip() == f"jaxcalc {jaxcalc.__version__}"


def test_help_text_order_limits_match_the_library():
    from jaxcalc import calculus
    from jaxcalc.cli import calculus_commands

    assert calculus_commands.MAX_ORDER == calculus.MAX_ORDER
    assert calculus_commands.MAX_NESTED_ORDER == calculus.MAX_NESTED_ORDER


def test_optimize_json_holds_every_run_and_matches_the_trajectory(capsys):
    import jax
    import numpy as np

    from jaxcalc import objectives, optimize

    args = ("(x-2)^2 + 3*(y+1)^2", "--optimizer", "gd", "--starts", "5", "--steps", "400")
    code, out, err = call(capsys, "optimize", *args, "--lr", "0.01,0.1", "--seed", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    # the same job in Python: the JSON reports these runs, value for value
    jax.config.update("jax_enable_x64", True)
    try:
        objective = objectives.get("(x-2)^2 + 3*(y+1)^2")
        starts = objective.sample(jax.random.key(3), 5)
        t = optimize(objective, "gd", starts, 400, seed=3, learning_rate=[0.01, 0.1])
    finally:
        jax.config.update("jax_enable_x64", False)
    assert data["sweep"] == ["learning_rate"]
    assert [s["hyperparameters"] for s in data["settings"]] == [
        {"learning_rate": 0.01},
        {"learning_rate": 0.1},
    ]
    for i, setting in enumerate(data["settings"]):
        final = setting["final"]
        np.testing.assert_allclose(final["x"], t.final_params[i], rtol=1e-12)
        np.testing.assert_allclose(final["f"], t.final_values[i], rtol=1e-12, atol=1e-300)
        assert final["status"] == t.status[i].tolist()
        steps = np.where(t.event_step[i] >= 0, t.event_step[i], 400)
        assert final["steps"] == steps.tolist()
        assert final["function_evaluations"] == t.function_evaluations[i].tolist()
        assert final["gradient_evaluations"] == t.gradient_evaluations[i].tolist()
        assert setting["runs"] == 5 == sum(setting["status_counts"].values())
    # closed form: the minimum is at (2, -1) with f = 0; gd at learning rate 0.1 contracts
    # each coordinate by |1 - 2*0.1| and |1 - 6*0.1| per step, so every run converges there
    fast = data["settings"][1]
    assert fast["status_counts"] == {"converged": 5}
    assert fast["success_rate"] is None  # an expression has no known f_opt
    assert np.allclose(fast["best_per_status"]["converged"]["x"], [2.0, -1.0], atol=1e-6)


def test_optimize_text_prints_best_point_per_status_and_setting(capsys):
    code, out, err = call(
        capsys,
        "optimize",
        "(x-2)^2 + 3*(y+1)^2",
        "--optimizer",
        "gd",
        "--x0",
        "0,0",
        "--steps",
        "400",
        "--lr",
        "1e-4,0.1",
    )
    assert code == 0, err
    blocks = out.split("\n\n")
    # 1e-4 for 400 steps moves x from 0 to 2 (1 - (1 - 2e-4)^400) = 0.15 and y from 0 to
    # -(1 - (1 - 6e-4)^400) = -0.21; 0.1 converges to (2, -1)
    slow = next(b for b in blocks if b.startswith("learning_rate=0.0001: 1 runs"))
    assert "max_steps" in slow and "(0.153" in slow and ", -0.213" in slow
    fast = next(b for b in blocks if b.startswith("learning_rate=0.1: 1 runs"))
    assert "converged" in fast and "(2, -1)" in fast
    assert "status: why a run stopped" in out


def test_optimize_lr_and_hp_learning_rate_together_is_an_error(capsys):
    args = ("booth", "--optimizer", "sgd", "--lr", "0.1", "--hp", "learning_rate=0.2")
    code, _, err = call(capsys, "optimize", *args)
    assert code == 2 and "give the learning rate once" in err
    code, _, err = call(capsys, "optimize", "booth", "--optimizer", "sgd", "--lr", "0.1,x")
    assert code == 2 and "comma-separated numbers" in err


def test_cli_compilation_cache_matches_the_engines(tmp_path, monkeypatch):
    import jax

    from jaxcalc.cli import app
    from jaxcalc.engine import enable_compilation_cache

    names = (
        "jax_compilation_cache_dir",
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes",
    )
    saved = {n: getattr(jax.config, n) for n in names}
    monkeypatch.setenv("JAXCALC_CACHE_DIR", str(tmp_path))
    try:
        app._enable_compilation_cache()
        by_cli = {n: getattr(jax.config, n) for n in names}
        for n, v in saved.items():
            jax.config.update(n, v)
        enable_compilation_cache()
        assert {n: getattr(jax.config, n) for n in names} == by_cli
        assert by_cli["jax_compilation_cache_dir"] == str(tmp_path)
    finally:
        for n, v in saved.items():
            jax.config.update(n, v)


# ------------------------------------------------------------- symbolic work beside JAX

_SIDE_PROBE = """
import sys
from jaxcalc.cli.app import main
code = main(sys.argv[1:])
print("sympy imported here:", "sympy" in sys.modules, file=sys.stderr)
raise SystemExit(code)
"""


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "sin(x)/cos(x)", "--at", "0.5", "1"),
        ("diff", "x*y^2 + exp(x)", "--at", "1,2"),
        ("check", "abs(x)", "--at", "0", "--at", "1"),
        ("critical", "x^3 - 3x", "--range", "-3", "3"),
    ],
)
def test_symbolic_part_in_a_child_gives_the_same_answer(args):
    # forked (the default in a new process) against computed in the process itself
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    forked = subprocess.run(
        [sys.executable, "-c", _SIDE_PROBE, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    alone = subprocess.run(
        [sys.executable, "-c", _SIDE_PROBE, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(env, JAXCALC_NO_FORK="1"),
    )
    assert forked.returncode == alone.returncode == 0, forked.stderr + alone.stderr
    assert json.loads(forked.stdout) == json.loads(alone.stdout)
    # the command's own process never imports sympy when the child does the symbolic part
    assert "sympy imported here: False" in forked.stderr
    assert "sympy imported here: True" in alone.stderr


def test_parsing_imports_neither_jax_nor_sympy():
    code = (
        "import sys; from jaxcalc.expressions import parse; "
        "e = parse('3x^2 + sin(x) * pi', dtype='float64'); "
        "print('jax' in sys.modules, 'sympy' in sys.modules); "
        "print(e.sympy); print(float(e(2.0)))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported, text, value = proc.stdout.split("\n")[:3]
    assert imported == "False False"
    assert text == "3*x**2 + pi*sin(x)"
    assert math.isclose(float(value), 12 + math.pi * math.sin(2.0), rel_tol=1e-6)


def test_side_work_answers_stops_and_reraises():
    from jaxcalc.cli import side

    # in a new process, where JAX is not imported yet, the work runs in a child
    code = textwrap.dedent(
        """
        import time
        from jaxcalc.cli import side

        def slow(seconds):
            time.sleep(seconds)
            return "done"

        def fails():
            raise ValueError("no such thing")

        w = side.start(slow, 0.0)
        print(w._pid is not None, w.result(30, "late"))
        w = side.start(slow, 30)
        t = time.monotonic()
        print(w.result(0.5, "late"), time.monotonic() - t < 5)
        try:
            side.start(fails).result(30, "late")
        except ValueError as err:
            print("raised", err)

        # ready() runs in the child before the value is sent (the clock is the system's)
        prepared = {}
        def ready(tag):
            prepared[tag] = time.monotonic()
        def work(sent_at, tag):
            return prepared[tag] < sent_at
        w = side.start(work, "t", receives=True, ready=ready)
        time.sleep(0.5)
        w.send(time.monotonic())
        print("ready first", w.result(30, "late"))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:4] == [
        "True done",
        "late True",
        "raised no such thing",
        "ready first True",
    ]
    # here JAX is imported: the work is done in this process, when its result is asked for
    work = side.start(sorted, [2, 1])
    assert work._pid is None and work.result(1, "late") == [1, 2]


@pytest.mark.parametrize(
    "args",
    [
        ("plot", "sin(x)", "--derivative", "--tangent-at", "1", "--taylor-at", "0", "--order", "5"),
        ("tangent", "x^3 - 1/x", "--at", "1"),
    ],
)
def test_figure_drawn_in_a_child_is_the_same_file(tmp_path, args):
    # the child draws from values this process computed: the same picture as drawing here
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    files = []
    for name, extra in (("forked", {}), ("alone", {"JAXCALC_NO_FORK": "1"})):
        out = tmp_path / f"{name}.png"
        flag = "-o" if args[0] == "plot" else "--plot"
        proc = subprocess.run(
            [sys.executable, "-c", _SIDE_PROBE, *args, flag, str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            env=dict(env, **extra),
        )
        assert proc.returncode == 0, proc.stderr
        assert str(out) in proc.stdout
        files.append(out.read_bytes())
    assert files[0] == files[1]
    assert files[0][:8] == b"\x89PNG\r\n\x1a\n"
