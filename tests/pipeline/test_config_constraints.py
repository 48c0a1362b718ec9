"""The ``constraints`` key of ``[[objectives]]``: relations read by jaxcalc's constraint parser.

Oracles: closed-form constrained minimisers derived by hand (not jaxcalc's output):

* ``(x - 1)^2 + (y - 2)^2`` on ``x + y = 1``: the projection of (1, 2) onto the line,
  ``(1, 2) - ((1 + 2 - 1) / 2) (1, 1) = (0, 1)``, f = 2;
* Booth ``(x + 2y - 7)^2 + (2x + y - 5)^2`` on ``x + y = 1``: with ``y = 1 - x``,
  ``f = (x + 5)^2 + (x - 4)^2``, minimal at ``x = -1/2``: (-0.5, 1.5), f = 40.5;
* ``(x + 1)^2 + y^2`` subject to ``x >= 0``: the unconstrained minimiser (-1, 0) is
  infeasible, so the constraint is active: (0, 0), f = 1 (KKT multiplier 2 >= 0);
* ``(x - 1)^2 + y^2`` subject to ``x >= 0``: the unconstrained minimiser (1, 0) is feasible.

Bad input is checked through ``jaxcalc run`` (exit code 2, one stderr row naming the key).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from jaxcalc_testing import run_cli

from jaxcalc.pipeline import ConfigValidationError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]

EQUALITY = """\
name = "on_a_line"
seed = 3
dtype = "float64"

[starts]
count = 4

[run]
steps = 200
record_every = 20

[[objectives]]
expression = "(x - 1)**2 + (y - 2)**2"
constraints = ["x + y = 1"]
label = "circle_on_line"

[[objectives]]
name = "booth"
constraints = ["x + y = 1"]

[[optimizers]]
name = "augmented_lagrangian"

[[optimizers]]
name = "lagrange_newton"
"""

INEQUALITY = """\
name = "half_plane"
seed = 5
dtype = "float64"

[starts]
count = 4

[run]
steps = 200
record_every = 20

[[objectives]]
expression = "(x + 1)**2 + y**2"
constraints = "x >= 0"             # one relation may be written without the list
label = "active"

[[objectives]]
expression = "(x - 1)**2 + y**2"
constraints = ["x >= 0"]
label = "inactive"

[[optimizers]]
name = "augmented_lagrangian"
"""

# closed forms (see the module docstring), by objective label
SOLUTIONS = {
    "circle_on_line": ((0.0, 1.0), 2.0),
    "booth": ((-0.5, 1.5), 40.5),
    "active": ((0.0, 0.0), 1.0),
    "inactive": ((1.0, 0.0), 0.0),
}


def run(tmp_path: Path, capsys, text: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out), "--no-report")
    assert code == 0, err
    return out


def check_against_closed_forms(out: Path, n_groups: int) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["groups"]) == n_groups
    for entry in manifest["groups"]:
        x_star, f_star = SOLUTIONS[entry["objective"]]
        part = np.load(out / entry["file"])
        final = part["params"][..., -1, :].reshape(-1, 2)  # every start's last record
        assert final.shape == (4, 2)
        where = f"{entry['objective']} x {entry['optimizer']}"
        np.testing.assert_allclose(final, np.tile(x_star, (4, 1)), atol=1e-6, err_msg=where)
    with open(out / "runs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * n_groups
    for row in rows:
        _, f_star = SOLUTIONS[row["objective"]]
        assert abs(float(row["final_value"]) - f_star) <= 1e-6 * (1 + f_star), row


# -- runs ----------------------------------------------------------------------------------


def test_equality_constraint_end_to_end(tmp_path, capsys):
    out = run(tmp_path, capsys, EQUALITY)
    check_against_closed_forms(out, n_groups=4)
    # the resolved config records the constraints (and the hash covers them)
    metadata = json.loads((out / "metadata.json").read_text())
    objectives = metadata["config"]["objectives"]
    assert [o["constraints"] for o in objectives] == [["x + y = 1"], ["x + y = 1"]]
    assert metadata["config_hash"] == load_config(tmp_path / "config.toml").hash()


def test_inequality_constraint_end_to_end(tmp_path, capsys):
    out = run(tmp_path, capsys, INEQUALITY)
    check_against_closed_forms(out, n_groups=2)
    metadata = json.loads((out / "metadata.json").read_text())
    assert [o["constraints"] for o in metadata["config"]["objectives"]] == [
        ["x >= 0"],
        ["x >= 0"],
    ]


# -- what build() gives ----------------------------------------------------------------------


def test_build_carries_the_parsed_constraints_in_the_objectives_variables():
    cfg = parse_config(
        INEQUALITY.replace('"(x + 1)**2 + y**2"', '"(x + 1)**2 + y**2"\nx_opt = [0, 0]')
    )
    active, inactive = (o.build() for o in cfg.objectives)
    assert cfg.objectives[0].constraints == ("x >= 0",)
    (c,) = active.constraints
    assert c.kind == "inequality" and c.variables == ("x", "y")
    # x >= 0 is -x <= 0: the value at (x, y) is -x
    assert float(c.inequalities(jnp.asarray([2.0, 7.0]))[0]) == -2.0
    assert active.x_opt.tolist() == [0.0, 0.0] and active.f_opt == 1.0  # f(0, 0) by hand
    assert active.name == "active" and inactive.x_opt is None and inactive.f_opt is None


def test_variables_order_is_the_objectives():
    cfg = parse_config(
        '[[objectives]]\nexpression = "x**2 + y**2"\nvariables = ["y", "x"]\n'
        'constraints = ["x = 2"]\n[[optimizers]]\nname = "lagrange_newton"\n'
    )
    (c,) = cfg.objectives[0].build().constraints
    # coordinates are (y, x): at (y, x) = (5, 3) the equality x - 2 is 1
    assert float(c.equalities(jnp.asarray([5.0, 3.0]))[0]) == 1.0


def test_registered_objectives_use_x_y_z_then_x1_to_xn():
    cfg = parse_config(
        '[[objectives]]\nname = "rosenbrock"\nconstraints = ["x + y = 1"]\n'
        '[[objectives]]\nname = "sphere"\ndim = 4\nconstraints = ["x1 + x2 + x3 + x4 = 2"]\n'
        '[[optimizers]]\nname = "lagrange_newton"\n'
    )
    rosen, sphere = (o.build() for o in cfg.objectives)
    # the registered minimiser (1, 1) is not on x + y = 1: the constrained one is unknown
    assert rosen.name == "rosenbrock" and rosen.x_opt is None and rosen.f_opt is None
    (c,) = sphere.constraints
    assert c.variables == ("x1", "x2", "x3", "x4")
    assert float(c.equalities(jnp.asarray([0.5, 0.5, 0.5, 0.5]))[0]) == 0.0
    assert float(c.equalities(jnp.asarray([1.0, 0.0, 0.0, 4.0]))[0]) == 3.0


def test_a_registered_constrained_problem_keeps_its_own_constraints():
    cfg = parse_config(
        '[[objectives]]\nname = "rosenbrock_disk"\nconstraints = ["x >= 0.5"]\n'
        '[[optimizers]]\nname = "augmented_lagrangian"\n'
    )
    plain = parse_config('[[objectives]]\nname = "rosenbrock_disk"\n[[optimizers]]\nname = "gd"\n')
    own = plain.objectives[0].build().constraints
    built = cfg.objectives[0].build().constraints
    assert len(built) == len(own) + 1
    assert [repr(c) for c in built[: len(own)]] == [repr(c) for c in own]
    # x >= 0.5 is 0.5 - x <= 0: at (0.2, 0) the value is 0.3
    assert float(built[-1].inequalities(jnp.asarray([0.2, 0.0]))[0]) == pytest.approx(0.3)


def test_no_constraints_keeps_every_hash():
    smoke = load_config(REPO / "configs" / "smoke.toml")
    assert all("constraints" not in o.to_dict() for o in smoke.objectives)
    text = '[[objectives]]\nexpression = "x**2 + y**2"\n[[optimizers]]\nname = "gd"\n'
    none = parse_config(text)
    empty = parse_config(text.replace('"\n[[opt', '"\nconstraints = []\n[[opt'))
    assert empty.objectives[0].constraints == () and none.hash() == empty.hash()
    with_one = parse_config(text.replace('"\n[[opt', '"\nconstraints = ["x >= 0"]\n[[opt'))
    assert with_one.hash() != none.hash()
    assert with_one.to_dict()["objectives"][0]["constraints"] == ["x >= 0"]


def test_literals_are_checked_in_the_configs_dtype():
    text = (
        '[[objectives]]\nexpression = "x**2 + y**2"\nconstraints = ["x <= 1e300"]\n'
        '[[optimizers]]\nname = "augmented_lagrangian"\n'
    )
    assert parse_config('dtype = "float64"\n' + text).objectives[0].constraints == ("x <= 1e300",)
    with pytest.raises(ConfigValidationError) as info:
        parse_config('dtype = "float32"\n' + text)
    (problem,) = info.value.problems
    assert problem.path == "objectives[0].constraints[0]" and "overflows float32" in problem.message


def test_set_overrides_constraints():
    text = '[[objectives]]\nexpression = "x**2 + y**2"\n[[optimizers]]\nname = "gd"\n'
    path_ok = 'objectives[0].constraints=["x + y = 1"]'
    cfg = parse_config(text, overrides=[path_ok])
    assert cfg.objectives[0].constraints == ("x + y = 1",)
    with pytest.raises(ConfigValidationError) as info:
        parse_config(text, overrides=['objectives[0].constraints=["x + w = 1"]'])
    (problem,) = info.value.problems
    assert problem.path == "objectives[0].constraints[0]" and problem.where.startswith("--set ")
    assert "unknown name `w`" in problem.message


# -- the error table ---------------------------------------------------------------------------

EXPRESSION = '[[objectives]]\nexpression = "(x - 1)**2 + (y - 2)**2"\nconstraints = {value}\n'
NAMED = '[[objectives]]\nname = "rosenbrock"\nconstraints = {value}\n'
OPTIMIZER = '[[optimizers]]\nname = "augmented_lagrangian"\n'


@pytest.mark.parametrize(
    ("table", "value", "path", "fragment"),
    [
        (EXPRESSION, "3", "objectives[0].constraints", "must be a list of relations"),
        (EXPRESSION, "{ a = 1 }", "objectives[0].constraints", "got a table"),
        (EXPRESSION, "[1]", "objectives[0].constraints[0]", "must be a relation string"),
        (EXPRESSION, '["x + y = 1", true]', "objectives[0].constraints[1]", "got true"),
        (EXPRESSION, '[""]', "objectives[0].constraints[0]", "must not be empty"),
        (EXPRESSION, '["x + y"]', "objectives[0].constraints[0]", "has no relation"),
        (EXPRESSION, '["x < 1"]', "objectives[0].constraints[0]", "strict `<` is not supported"),
        (EXPRESSION, '["x > 1"]', "objectives[0].constraints[0]", "strict `>` is not supported"),
        (EXPRESSION, '["x != 1"]', "objectives[0].constraints[0]", "`!=` is not a relation"),
        (EXPRESSION, '["x => 1"]', "objectives[0].constraints[0]", "write `>=`"),
        (EXPRESSION, '["x = y = 1"]', "objectives[0].constraints[0]", "2 relations"),
        (
            EXPRESSION,
            '["x >= 0", "x + z = 1"]',
            "objectives[0].constraints[1]",
            "unknown name `z`; declared variables: x, y (column 5)",
        ),
        (
            EXPRESSION,
            '["x + * y = 1"]',
            "objectives[0].constraints[0]",
            "missing operator: write `*` between factors, e.g. `x*y` (column 5)",
        ),
        (
            EXPRESSION,
            '["0 <= sqrt(x"]',
            "objectives[0].constraints[0]",
            "unclosed `(`",
        ),
        (EXPRESSION, '["1 >= 0"]', "objectives[0].constraints[0]", "uses none of the variables"),
        (
            NAMED,
            '["x1 + x2 = 1"]',
            "objectives[0].constraints[0]",
            "unknown name `x1`; declared variables: x, y",
        ),
    ],
)
def test_bad_constraints_are_config_problems(tmp_path, capsys, table, value, path, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(table.format(value=value) + OPTIMIZER, encoding="utf-8")
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(tmp_path / "out"))
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[0].endswith(f"1 problem in {config}")
    (row,) = [line for line in err.splitlines() if path in line]
    assert row.split()[:3] == ["line", "3", path]
    assert fragment in row
    assert not (tmp_path / "out").exists()


def test_several_problems_are_reported_together(tmp_path, capsys):
    text = (
        "[starts]\ncount = 0\n"
        + EXPRESSION.format(value='["x + z = 1", "x >= 0", "y < 3"]')
        + OPTIMIZER
        + "learning_rat = 0.1\n"
    )
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigValidationError) as info:
        load_config(config)
    assert [(p.line, p.path) for p in info.value.problems] == [
        (2, "starts.count"),
        (5, "objectives[0].constraints[0]"),
        (5, "objectives[0].constraints[2]"),
        (8, "optimizers[0].learning_rat"),
    ]
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(tmp_path / "out"))
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[0].endswith(f"4 problems in {config}")
    assert sum("objectives[0].constraints[" in line for line in err.splitlines()) == 2
