"""The experiment config: rows C1-C16 (and F10, E20) of RELIABILITY.md, plus round trips.

Every bad config is written as text into ``tmp_path`` and loaded the way ``jaxcalc run``
loads it; the checks read the one ``ConfigError`` message a user would see.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import jax
import pytest

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import (
    ConfigValidationError,
    ExperimentConfig,
    apply_dtype,
    load_config,
    parse_config,
)

REPO = Path(__file__).resolve().parents[2]

# The issue's example, verbatim.
EXAMPLE = """\
name = "rosenbrock-shootout"
seed = 0
dtype = "float32"            # or "float64"
[starts]
count = 1000                 # sampled uniformly in each objective's bounds, from the seed
[run]
steps = 2000
record_every = 10
target = 1e-6                # a run succeeds when f - f_opt <= target
[[objectives]]
name = "rosenbrock"
dim = 2
[[objectives]]
expression = "(x - 2)**2 + 3*(y + 1)**2"
bounds = [[-4.0, 4.0], [-4.0, 4.0]]
x_opt = [2.0, -1.0]
f_opt = 0.0
[[optimizers]]
name = "adam"
learning_rate = [0.001, 0.01, 0.1]   # a list is a sweep
[[optimizers]]
name = "newton"
"""

# The smallest valid config, for rows that change one thing.
MINIMAL = """\
[[objectives]]
name = "booth"
[[optimizers]]
name = "adam"
"""


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str | bytes, name: str = "config.toml", overrides=()) -> str:
    path = write(tmp_path, text, name)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    message = str(info.value)
    assert message.startswith("config error: ")
    assert "Traceback" not in message
    return message


def rows(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines()[1:]]


@pytest.fixture
def restore_x64():
    saved = jax.config.jax_enable_x64
    yield
    jax.config.update("jax_enable_x64", saved)


# -- the good config ----------------------------------------------------------------------


def test_issue_example_round_trip(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    assert isinstance(cfg, ExperimentConfig)
    assert (cfg.name, cfg.seed, cfg.dtype) == ("rosenbrock-shootout", 0, "float32")
    assert cfg.starts.count == 1000 and cfg.starts.points is None
    assert (cfg.run.steps, cfg.run.record_every) == (2000, 10)
    assert cfg.run.target == 1e-6 and isinstance(cfg.run.target, float)  # 1e-6 is a float
    rosen, quad = cfg.objectives
    assert (rosen.name, rosen.dim, rosen.expression, rosen.label) == (
        "rosenbrock",
        2,
        None,
        "rosenbrock",
    )
    assert quad.name is None and quad.expression == "(x - 2)**2 + 3*(y + 1)**2"
    assert quad.variables == ("x", "y") and quad.dim == 2
    assert quad.bounds == ((-4.0, 4.0), (-4.0, 4.0))
    assert quad.x_opt == (2.0, -1.0) and quad.f_opt == 0.0
    adam, newton = cfg.optimizers
    assert adam.name == "adam" and adam.hyperparameters["learning_rate"] == (0.001, 0.01, 0.1)
    assert adam.sweeps == ("learning_rate",)
    assert newton.name == "newton" and dict(newton.hyperparameters) == {}
    assert cfg.output.dir is None
    assert cfg.source_path == write(tmp_path, EXAMPLE).resolve()
    assert cfg.source_text == EXAMPLE and cfg.overrides == ()

    data = cfg.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["optimizers"][0]["hyperparameters"] == {"learning_rate": [0.001, 0.01, 0.1]}
    assert data["objectives"][1]["bounds"] == [[-4.0, 4.0], [-4.0, 4.0]]


def test_config_is_frozen_and_builds_registry_objects(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.optimizers[0].hyperparameters["learning_rate"] = 1.0  # type: ignore[index]
    rosen = cfg.objectives[0].build()
    assert rosen.name == "rosenbrock" and rosen.dim == 2
    quad = cfg.objectives[1].build()
    assert quad.dim == 2 and quad.f_opt == 0.0
    assert float(quad.fn(jax.numpy.asarray([2.0, -1.0]))) == 0.0
    adam = cfg.optimizers[0].build()
    assert adam.name == "adam" and "learning_rate" in adam.defaults
    kwargs = cfg.run.optimize_kwargs()
    assert kwargs["steps"] == 2000 and kwargs["record_every"] == 10 and "target" not in kwargs


def test_defaults_of_a_minimal_config():
    cfg = parse_config(MINIMAL)
    assert cfg.name == "experiment" and cfg.seed == 0 and cfg.dtype == "float32"
    assert cfg.starts.count == 100
    assert cfg.run == type(cfg.run)()  # every run default
    assert cfg.objectives[0].dim == 2 and cfg.objectives[0].bounds is None
    assert cfg.source_path is None


def test_name_defaults_to_the_file_stem(tmp_path):
    assert load_config(write(tmp_path, MINIMAL, "my study.toml")).name == "my study"


def test_smoke_config_validates():
    cfg = load_config(REPO / "configs" / "smoke.toml")
    assert len(cfg.objectives) == 2 and 2 <= len(cfg.optimizers) <= 3
    assert cfg.starts.count == 16 and cfg.run.steps == 200 and cfg.run.record_every == 10
    assert any(len(o.sweeps) == 1 for o in cfg.optimizers)
    assert {o.label for o in cfg.objectives} == {"booth", "shifted_quadratic"}


def test_optimizer_options_and_hyperparameters_are_split():
    cfg = parse_config(
        MINIMAL.replace('name = "adam"', 'name = "adam"\nb1 = 0.8\nnesterov = true')
        + '[[optimizers]]\nname = "gd_armijo"\nmax_trials = 10\nc1 = 1e-3\n'
    )
    adam, armijo = cfg.optimizers
    assert dict(adam.hyperparameters) == {"b1": 0.8} and dict(adam.options) == {"nesterov": True}
    assert dict(armijo.options) == {"max_trials": 10}
    assert armijo.build().options["max_trials"] == 10


def test_registered_objective_params_and_bounds_override():
    cfg = parse_config(
        MINIMAL
        + '[[objectives]]\nname = "bbob_f3"\ndim = 5\nparams = { instance = 2 }\n'
        + '[[objectives]]\nname = "sphere"\ndim = 3\nbounds = [-1, 1]\n'
    )
    bbob, sphere = cfg.objectives[1:]
    assert dict(bbob.params) == {"instance": 2} and bbob.dim == 5
    assert sphere.bounds == ((-1.0, 1.0),) * 3
    assert sphere.build().bounds.tolist() == [[-1.0, 1.0]] * 3


def test_explicit_start_points():
    cfg = parse_config(MINIMAL + "[starts]\npoints = [[0, 0], [1.5, -2]]\n")
    assert cfg.starts.points == ((0.0, 0.0), (1.5, -2.0)) and cfg.starts.count == 2
    one_d = parse_config(
        '[starts]\npoints = [0.5, 1, 3, 10]\n[[objectives]]\nexpression = "x**4"\n'
        '[[optimizers]]\nname = "gd"\n'
    )
    assert one_d.starts.points == ((0.5,), (1.0,), (3.0,), (10.0,))


# -- C1, C2: YAML -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["config.yaml", "config.yml", "config.YAML"])
def test_c1_c2_yaml_is_refused(tmp_path, name):
    message = error_of(tmp_path, "lr: 1e-3\nflag: no\nv: 012\n", name)
    assert "TOML only" in message and "YAML" in message


def test_c1_c2_yaml_text_in_a_toml_file_is_not_read_as_yaml(tmp_path):
    message = error_of(tmp_path, "lr: 1e-3\n")
    assert "is not valid TOML (line 1" in message


def test_c2_bare_no_is_not_a_boolean(tmp_path):
    message = error_of(tmp_path, MINIMAL + "[run]\ncheck_curvature = no\n")
    assert "line 6" in message and 'check_curvature = "no"' in message


# -- C3: duplicate keys -------------------------------------------------------------------


def test_c3_duplicate_key_reports_both_lines(tmp_path):
    message = error_of(tmp_path, "seed = 1\n[run]\nsteps = 5\nsteps = 6\n" + MINIMAL)
    assert rows(message) == ["line 4  run.steps  duplicate key (first on line 3); keep one of them"]


def test_c3_duplicate_key_inside_an_array_of_tables(tmp_path):
    text = MINIMAL + '[[optimizers]]\nname = "sgd"\nlearning_rate = 0.1\nlearning_rate = 0.2\n'
    message = error_of(tmp_path, text)
    assert "line 8" in message and "optimizers[1].learning_rate" in message
    assert "first on line 7" in message


def test_c3_duplicate_table(tmp_path):
    message = error_of(tmp_path, "[run]\nsteps = 5\n[starts]\ncount = 2\n[run]\npatience = 3\n")
    assert "line 5" in message and "[run]" in message and "first on line 1" in message


# -- C4: unquoted expression --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("expression = 3*x**2 + 1", 'expression = "3*x**2 + 1"'),
        ("expression = (x - 2)**2", 'expression = "(x - 2)**2"'),
    ],
)
def test_c4_unquoted_expression_gets_a_hint(tmp_path, line, hint):
    text = f"[[objectives]]\n{line}\n[[optimizers]]\nname = 'adam'\n"
    message = error_of(tmp_path, text)
    assert "line 2" in message and "must be a quoted string" in message and hint in message


def test_c4_expression_errors_become_config_problems(tmp_path):
    text = '[[objectives]]\nexpression = "__import__(1)"\n[[optimizers]]\nname = "adam"\n'
    message = error_of(tmp_path, text)
    assert "line 2" in message and "objectives[0].expression" in message
    assert "__import__" in message


def test_c4_expression_as_a_name_is_redirected(tmp_path):
    message = error_of(tmp_path, '[[objectives]]\nname = "x**2"\n[[optimizers]]\nname="gd"\n')
    assert 'expression = "x**2"' in message


# -- C5: nan, inf, non-positive -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("nan", "finite"),
        ("inf", "finite"),
        ("-inf", "finite"),
        ("-0.1", "(0, inf)"),
        ("0", "(0, inf)"),
        ("0.0", "(0, inf)"),
    ],
)
def test_c5_learning_rate_must_be_positive_and_finite(tmp_path, value, fragment):
    text = MINIMAL + f"learning_rate = {value}\n"
    message = error_of(tmp_path, text)
    (row,) = rows(message)
    assert row.startswith("line 5") and "optimizers[0].learning_rate" in row and fragment in row


def test_c5_every_swept_value_is_checked(tmp_path):
    message = error_of(tmp_path, MINIMAL + "learning_rate = [0.1, -0.1, nan]\nb1 = 1.0\n")
    assert "3 problems" in message
    assert "learning_rate[1]" in message and "learning_rate[2]" in message
    assert "optimizers[0].b1" in message and "[0, 1)" in message


@pytest.mark.parametrize(
    "line",
    ["[run]\ntarget = nan", "[run]\ntarget = 0", "[run]\ngtol = -1e-3", "[run]\nf_limit = inf"],
)
def test_c5_run_numbers(tmp_path, line):
    message = error_of(tmp_path, MINIMAL + line + "\n")
    assert "line 6" in message and ("finite" in message or "> 0" in message)


def test_c5_nan_in_bounds_and_x_opt(tmp_path):
    text = (
        '[[objectives]]\nexpression = "x**2"\nbounds = [[nan, 1]]\nx_opt = [inf]\n'
        '[[optimizers]]\nname = "gd"\n'
    )
    message = error_of(tmp_path, text)
    assert "objectives[0].bounds[0][0]" in message and "objectives[0].x_opt[0]" in message


# -- C6: unknown keys ---------------------------------------------------------------------


def test_c6_typo_suggests_the_key(tmp_path):
    message = error_of(tmp_path, MINIMAL + "[run]\nstesp = 100\n")
    assert rows(message) == ["line 6  run.stesp  unknown key; did you mean 'steps'?"]


def test_c6_hyperparameters_checked_against_that_optimizer(tmp_path):
    text = '[[objectives]]\nname = "booth"\n[[optimizers]]\nname = "sgd"\nlearning_rat = 0.1\n'
    message = error_of(tmp_path, text)
    assert "line 5" in message and "optimizers[0].learning_rat" in message
    assert "sgd" in message and "did you mean 'learning_rate'?" in message
    # a key of another optimizer is unknown for this one
    message = error_of(tmp_path, MINIMAL.replace('"adam"', '"gd"') + "b1 = 0.9\n")
    assert "optimizers[0].b1" in message and "unknown hyperparameter of gd" in message


def test_c6_unknown_keys_everywhere(tmp_path):
    text = (
        'nmae = "x"\nsteps = 3\n[starts]\ncont = 3\n[[objectives]]\nname = "booth"\n'
        "dimm = 2\nparams = { instance = 2 }\n[[optimizers]]\nname = 'adam'\n[outptu]\n"
    )
    message = error_of(tmp_path, text)
    assert re.search(r"line 1 +nmae +unknown key; did you mean 'name'\?", message)
    assert "'steps' belongs in the [run] table" in message
    assert "starts.cont" in message and "did you mean 'count'?" in message
    assert "objectives[0].dimm" in message and "did you mean 'dim'?" in message
    assert "objectives[0].params.instance" in message and "unknown parameter of booth" in message
    assert "outptu" in message and "did you mean 'output'?" in message


def test_c6_options_cannot_be_swept_or_mistyped(tmp_path):
    text = MINIMAL + 'nesterov = [true, false]\n[[optimizers]]\nname = "bfgs"\nmax_trials = 0\n'
    message = error_of(tmp_path, text)
    assert "cannot be swept" in message and "optimizers[1].max_trials" in message


# -- C7: unknown names --------------------------------------------------------------------


def test_c7_unknown_optimizer_lists_close_matches(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace('"adam"', '"adamm"'))
    assert rows(message) == [
        "line 4  optimizers[0].name  unknown optimizer 'adamm'; did you mean 'adam'? "
        "(list them with `jaxcalc list optimizers`)"
    ]


def test_c7_unknown_objective_lists_close_matches(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace('"booth"', '"rosenbrok"'))
    assert "line 2" in message and "objectives[0].name" in message
    assert "unknown objective 'rosenbrok'" in message and "'rosenbrock'" in message


# -- C8: integers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("steps = 10.5", "must be an integer, got 10.5"),
        ('steps = "10"', "remove the quotes"),
        ("steps = 99999999999999999999", "must be <= 10000000"),
        ("steps = 0", "must be >= 1 (got 0)"),
        ("steps = 10000001", "must be <= 10000000"),
        ("steps = 100.0", "write 100"),
        ("record_every = 0", "must be >= 1"),
        ("patience = -1", "must be >= 1"),
    ],
)
def test_c8_strict_integers_with_bounds(tmp_path, line, fragment):
    message = error_of(tmp_path, MINIMAL + f"[run]\n{line}\n")
    (row,) = rows(message)
    assert row.startswith("line 6  run.") and fragment in row


def test_c8_starts_count_and_seed(tmp_path):
    message = error_of(tmp_path, "seed = -1\n[starts]\ncount = 0\n" + MINIMAL)
    assert rows(message)[:2] == [
        "line 1  seed          must be >= 0 (got -1)",
        "line 3  starts.count  must be >= 1 (got 0)",
    ]


def test_c8_record_every_at_most_steps(tmp_path):
    message = error_of(tmp_path, MINIMAL + "[run]\nsteps = 5\nrecord_every = 10\n")
    assert "line 7" in message and "must be <= steps (5)" in message


def test_c8_dim_must_fit_the_objective(tmp_path):
    text = MINIMAL + '[[objectives]]\nname = "bbob_f1"\ndim = 7\n'
    text += '[[objectives]]\nname = "rosenbrock"\ndim = 1\n'
    text += '[[objectives]]\nexpression = "x + y"\ndim = 3\n'
    message = error_of(tmp_path, text)
    assert "objectives[1].dim" in message and "2, 3, 5, 10, 20, 40" in message
    assert "objectives[2].dim" in message and "dim >= 2" in message
    assert "objectives[3].dim" in message and "2 variables (x, y)" in message


# -- C9: booleans are not numbers ---------------------------------------------------------


def test_c9_booleans_are_not_numbers(tmp_path):
    text = "seed = true\n[run]\nsteps = true\ntarget = false\n" + MINIMAL + "learning_rate = true\n"
    message = error_of(tmp_path, text)
    assert "4 problems" in message
    assert "seed" in message and "must be an integer, got true" in message
    assert "run.target" in message and "must be a number, got false" in message
    assert "optimizers[0].learning_rate  must be a number, got true" in message


# -- C10: encodings -----------------------------------------------------------------------


def test_c10_utf8_bom_is_accepted(tmp_path):
    cfg = load_config(write(tmp_path, b"\xef\xbb\xbf" + MINIMAL.encode()))
    assert cfg.objectives[0].name == "booth"


def test_c10_latin1_byte_is_located(tmp_path):
    message = error_of(tmp_path, b'name = "caf\xe9"\n')
    assert "config.toml is not UTF-8 (byte 0xe9 at offset 11)" in message


def test_c10_latin1_byte_offset_counts_the_bom(tmp_path):
    message = error_of(tmp_path, b'\xef\xbb\xbfname = "caf\xe9"\n')
    assert "byte 0xe9 at offset 14" in message


def test_c10_utf16_is_refused(tmp_path):
    message = error_of(tmp_path, MINIMAL.encode("utf-16"))
    assert "UTF-16" in message and "UTF-8" in message


def test_c10_non_ascii_text_is_fine(tmp_path):
    cfg = load_config(write(tmp_path, 'name = "Étude μ"\n' + MINIMAL))
    assert cfg.name == "Étude μ"


# -- C11: empty, missing, directory -------------------------------------------------------


def test_c11_empty_file(tmp_path):
    assert "config file is empty" in error_of(tmp_path, "")
    assert "config file is empty" in error_of(tmp_path, "  \n\n")
    assert "config file is empty" in error_of(tmp_path, "# only a comment\n")


def test_c11_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found: .*nope.toml"):
        load_config(tmp_path / "nope.toml")


def test_c11_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_c11_missing_sections(tmp_path):
    message = error_of(tmp_path, 'name = "x"\n')
    assert "objectives" in message and "optimizers" in message and "2 problems" in message


# -- C12: Windows paths -------------------------------------------------------------------


def test_c12_windows_path_with_invalid_escape(tmp_path):
    message = error_of(tmp_path, MINIMAL + '[output]\ndir = "C:\\Users\\me"\n')
    assert "line 6" in message and "single quotes" in message and "'C:\\Users\\me'" in message


def test_c12_windows_path_with_a_valid_escape(tmp_path):
    # "\r" is a legal TOML escape: the path silently contains a carriage return
    message = error_of(tmp_path, MINIMAL + '[output]\ndir = "C:\\runs"\n')
    assert "output.dir" in message and "single quotes" in message and "'C:\\runs'" in message


def test_c12_single_quoted_windows_path_is_kept(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL + "[output]\ndir = 'C:\\runs'\n"))
    assert "C:\\runs" in str(cfg.output.dir)


# -- C13: integer values become floats ----------------------------------------------------


def test_c13_integers_are_cast_to_float(tmp_path):
    text = (
        "[starts]\npoints = [[1, 2], [3, 4]]\n"
        '[[objectives]]\nexpression = "(x - 1)**2 + y**2"\nbounds = [[-4, 4], [-4, 4]]\n'
        "x_opt = [1, 0]\nf_opt = 0\n[[optimizers]]\nname = 'adam'\nlearning_rate = [1, 2]\n"
        "[run]\ntarget = 1\n"
    )
    cfg = load_config(write(tmp_path, text))
    obj = cfg.objectives[0]
    values = [
        *(v for p in cfg.starts.points for v in p),
        *(v for b in obj.bounds for v in b),
        *obj.x_opt,
        obj.f_opt,
        *cfg.optimizers[0].hyperparameters["learning_rate"],
        cfg.run.target,
    ]
    assert all(type(v) is float for v in values)


def test_c13_point_shapes_are_checked(tmp_path):
    text = MINIMAL + "[starts]\npoints = [[1, 2], [3]]\n"
    assert "different lengths" in error_of(tmp_path, text)
    text = MINIMAL + "[starts]\ncount = 5\npoints = [[1, 2, 3]]\n"
    message = error_of(tmp_path, text)
    assert "points have 3 values, but objectives[0] ('booth') has dim 2" in message
    assert "is 5 but 1 points are given" in message


def test_c13_bounds_shape_must_match_the_expression(tmp_path):
    text = (
        '[[objectives]]\nexpression = "x + y"\nbounds = [[-1, 1]]\nx_opt = [0]\n'
        '[[objectives]]\nexpression = "x"\nbounds = [[1, -1]]\n[[optimizers]]\nname = "gd"\n'
    )
    message = error_of(tmp_path, text)
    assert "line 3  objectives[0].bounds" in message and "must have 2 pairs" in message
    assert "line 4  objectives[0].x_opt" in message and "must have 2 values (x, y)" in message
    assert "line 7  objectives[1].bounds[0]" in message and "low must be < high" in message


# -- C14: float64 -------------------------------------------------------------------------


def test_c14_float64_enables_x64(restore_x64):
    jax.config.update("jax_enable_x64", False)
    cfg = parse_config('dtype = "float64"\n' + MINIMAL)
    assert cfg.dtype == "float64" and cfg.to_dict()["dtype"] == "float64"
    dtype = apply_dtype(cfg)
    assert jax.config.jax_enable_x64 and str(dtype) == "float64"
    assert jax.numpy.zeros(2, dtype).dtype == jax.numpy.float64


def test_c14_float32_is_the_default_and_leaves_x64_alone(restore_x64):
    jax.config.update("jax_enable_x64", False)
    assert str(apply_dtype(parse_config(MINIMAL))) == "float32"
    assert not jax.config.jax_enable_x64


def test_c14_unknown_dtype(tmp_path):
    message = error_of(tmp_path, 'dtype = "float16"\n' + MINIMAL)
    assert "line 1  dtype" in message and "'float32' or 'float64'" in message


def test_c14_literal_overflow_checked_in_the_working_dtype(tmp_path):
    text = '[[objectives]]\nexpression = "1e39 * x**2"\n[[optimizers]]\nname = "gd"\n'
    assert "overflows float32" in error_of(tmp_path, text)
    assert parse_config('dtype = "float64"\n' + text).objectives[0].dim == 1


# -- C15, F10: paths ----------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["plain", "with space", "ünïcødé 数据"])
def test_c15_f10_relative_output_dir_is_relative_to_the_config(tmp_path, monkeypatch, folder):
    config_dir = tmp_path / folder / "configs"
    config_dir.mkdir(parents=True)
    path = write(config_dir, MINIMAL + '[output]\ndir = "../results/run 1"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = Path("..") / folder / "configs" / "config.toml"  # a relative config path too
    cfg = load_config(relative)
    expected = tmp_path / folder / "results" / "run 1"
    assert cfg.output.dir == expected and cfg.output.dir.is_absolute()
    assert cfg.source_path == path and cfg.base_dir == config_dir
    # --out on the command line is relative to the current directory
    assert cfg.output_dir("out") == elsewhere / "out"
    assert cfg.output_dir() == expected


def test_c15_absolute_output_dir_is_kept(tmp_path):
    target = tmp_path / "abs out"
    cfg = load_config(write(tmp_path, MINIMAL + f"[output]\ndir = '{target}'\n"))
    assert cfg.output.dir == target


def test_c15_parse_config_resolves_against_base_dir(tmp_path):
    cfg = parse_config(MINIMAL + '[output]\ndir = "r"\n', base_dir=tmp_path)
    assert cfg.output.dir == tmp_path / "r"


# -- C16: every problem at once, sorted by line -------------------------------------------

BAD = """\
name = "quad"
seed = true
[starts]
count = 0
[run]
stesp = 10
steps = 10.5
[[objectives]]
name = "rosenbrok"
[[objectives]]
expression = "(x - 2)**2 + y"
x_opt = [1, 2, 3]
[[optimizers]]
name = "adamm"
[[optimizers]]
name = "sgd"
learning_rat = 0.1
"""


def test_c16_all_problems_at_once_sorted_by_line(tmp_path):
    path = write(tmp_path, BAD)
    with pytest.raises(ConfigValidationError) as info:
        load_config(path)
    message = str(info.value)
    assert message.splitlines()[0] == f"config error: 8 problems in {path}"
    lines = [p.line for p in info.value.problems]
    assert lines == [2, 4, 6, 7, 9, 12, 14, 17]
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "seed",
        "starts.count",
        "run.stesp",
        "run.steps",
        "objectives[0].name",
        "objectives[1].x_opt",
        "optimizers[0].name",
        "optimizers[1].learning_rat",
    ]
    body = rows(message)
    assert body[1] == "line 4   starts.count                must be >= 1 (got 0)"
    assert body[2] == "line 6   run.stesp                   unknown key; did you mean 'steps'?"
    assert all(row.startswith(f"line {n} ") for row, n in zip(body, lines, strict=True))


def test_c16_one_problem_is_singular(tmp_path):
    assert error_of(tmp_path, MINIMAL + "[run]\nsteps = 0\n").startswith(
        "config error: 1 problem in "
    )


def test_labels_must_be_unique(tmp_path):
    text = MINIMAL + '[[optimizers]]\nname = "adam"\nb1 = 0.5\n'
    message = error_of(tmp_path, text)
    assert "optimizers[1]" in message and "label 'adam' is also used by optimizers[0]" in message
    ok = parse_config(text + 'label = "adam_b1_0.5"\n')
    assert [o.label for o in ok.optimizers] == ["adam", "adam_b1_0.5"]
    same_name = parse_config(MINIMAL + '[[objectives]]\nname = "rosenbrock"\n' * 2 + "dim = 5\n")
    assert [o.label for o in same_name.objectives][1:] == ["rosenbrock_d2", "rosenbrock_d5"]


def test_registry_checks_become_problems(tmp_path):
    text = MINIMAL + '[[objectives]]\nname = "bbob_f1"\nparams = { instance = 0 }\n'
    message = error_of(tmp_path, text)
    assert "line 5  objectives[1]" in message and "instance must be in 1.." in message
    text = MINIMAL + '[[objectives]]\nname = "ackley"\nparams = { a = "20" }\n'
    assert "objectives[1].params.a" in error_of(tmp_path, text)


def test_experiment_name_is_a_folder_name(tmp_path):
    assert "must not contain /" in error_of(tmp_path, 'name = "a/b"\n' + MINIMAL)


def test_exactly_one_of_name_and_expression(tmp_path):
    text = '[[objectives]]\nname = "booth"\nexpression = "x"\n[[objectives]]\ndim = 2\n'
    message = error_of(tmp_path, text + '[[optimizers]]\nname = "gd"\n')
    assert "got both" in message and "got neither" in message


# -- --set overrides (typed, validated, recorded), E20 ------------------------------------


def test_overrides_are_typed_and_recorded(tmp_path):
    path = write(tmp_path, EXAMPLE)
    cfg = load_config(
        path,
        [
            "starts.count=8",
            "run.steps=100",
            "optimizers[0].learning_rate=[0.1, 0.2]",
            "optimizers.1.max_trials=5",
            "dtype=float64",
            'name="renamed"',
            "output.dir=out dir",
        ],
    )
    assert cfg.starts.count == 8 and cfg.run.steps == 100
    assert cfg.optimizers[0].hyperparameters["learning_rate"] == (0.1, 0.2)
    assert cfg.optimizers[1].options["max_trials"] == 5
    assert cfg.dtype == "float64" and cfg.name == "renamed"
    assert cfg.output.dir == tmp_path / "out dir"
    assert cfg.overrides == (
        "starts.count=8",
        "run.steps=100",
        "optimizers[0].learning_rate=[0.1, 0.2]",
        "optimizers.1.max_trials=5",
        "dtype=float64",
        'name="renamed"',
        "output.dir=out dir",
    )
    assert cfg.to_dict()["source"]["overrides"] == list(cfg.overrides)
    # E20: what an override replaced is noted with the file and line
    assert f"--set starts.count=8 overrides starts.count = 1000 ({path}:5)" in cfg.notes
    assert cfg.source_text == EXAMPLE  # the file as read


def test_overrides_are_validated_and_named(tmp_path):
    message = error_of(
        tmp_path,
        EXAMPLE,
        overrides=["run.stesp=3", "starts.count=0", "optimizers[5].b1=0.5", "nonsense", "seed=x"],
    )
    body = rows(message)
    assert "--set run.stesp=3" in message
    assert any(
        r.startswith("--set run.stesp=3") and "unknown key; did you mean 'steps'?" in r
        for r in body
    )
    assert any(r.startswith("--set starts.count=0") and "must be >= 1" in r for r in body)
    assert any(r.startswith("--set optimizers[5].b1=0.5") and "no entry 5" in r for r in body)
    assert any(r.startswith("--set nonsense") and "key=value" in r for r in body)
    assert any(r.startswith("--set seed=x") and "must be an integer" in r for r in body)
    # overrides come after file problems, in the order given
    order = [r.split()[1] for r in body]
    assert order == [
        "run.stesp=3",
        "starts.count=0",
        "optimizers[5].b1=0.5",
        "nonsense",
        "seed=x",
    ]


def test_override_values_are_toml_typed(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert "must be an integer, got 1.5" in error_of(tmp_path, MINIMAL, overrides=["run.steps=1.5"])
    assert "remove the quotes" in error_of(tmp_path, MINIMAL, overrides=['run.steps="10"'])
    cfg = load_config(path, ["run.check_curvature=false", "run.target=1e-3"])
    assert cfg.run.check_curvature is False and cfg.run.target == 1e-3


# -- hash ---------------------------------------------------------------------------------


def test_hash_is_stable_across_key_order_and_spelling(tmp_path):
    a = parse_config(EXAMPLE)
    reordered = """\
dtype = "float32"
seed = 0
name = "rosenbrock-shootout"
[run]
target = 0.000001
record_every = 10
steps = 2000
[starts]
count = 1000
[[objectives]]
dim = 2
name = "rosenbrock"
[[objectives]]
f_opt = 0
x_opt = [2, -1]
bounds = [[-4, 4], [-4, 4]]
expression = "(x - 2)**2 + 3*(y + 1)**2"
[[optimizers]]
learning_rate = [1e-3, 1e-2, 1e-1]
name = "adam"
[[optimizers]]
name = "newton"
"""
    b = parse_config(reordered)
    assert a.hash() == b.hash() and len(a.hash()) == 64
    assert a.hash() == parse_config(EXAMPLE).hash()
    # the same value from --set hashes the same as from the file
    c = parse_config(EXAMPLE.replace("steps = 2000", "steps = 50"), overrides=["run.steps=2000"])
    assert c.hash() == a.hash()
    # where results go and the description do not change the experiment
    d = parse_config('description = "x"\n' + EXAMPLE + "[output]\ndir = '/tmp/x'\n")
    assert d.hash() == a.hash()


@pytest.mark.parametrize(
    "override",
    [
        "seed=1",
        "run.steps=2001",
        "run.target=1e-7",
        "dtype=float64",
        "starts.count=999",
        "optimizers[0].learning_rate=[0.001, 0.01]",
        "optimizers[1].c1=0.001",
        "objectives[0].dim=3",
    ],
)
def test_hash_changes_with_values(override):
    assert parse_config(EXAMPLE, overrides=[override]).hash() != parse_config(EXAMPLE).hash()


def test_to_dict_is_json_and_normalised():
    data = parse_config(EXAMPLE).to_dict()
    text = json.dumps(data, allow_nan=False, sort_keys=True)
    assert "NaN" not in text and "Infinity" not in text
    assert data["run"]["target"] == 1e-6 and not math.isnan(data["run"]["target"])
    assert data["objectives"][1]["variables"] == ["x", "y"]
    assert set(data) == {
        "name",
        "description",
        "seed",
        "dtype",
        "starts",
        "run",
        "objectives",
        "optimizers",
        "output",
        "source",
    }
