"""Bad input to the public API raises a jaxcalc error with a one-line message.

Every rejection a user can cause is a :class:`jaxcalc.JaxcalcError` subclass (they also
subclass ValueError, RuntimeError or OSError for compatibility), so callers and the command
line catch one class; a bare ValueError, TypeError, KeyError or IndexError escaping from
this table is a bug. The message is one line (the command line prints it after
``jaxcalc: error:``); a config validation error adds one line per problem it lists.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import jaxcalc as jc
from jaxcalc import objectives
from jaxcalc.errors import JaxcalcError
from jaxcalc.pipeline.config import parse_config


def _residuals(x):
    return x - jnp.arange(x.shape[0], dtype=x.dtype)


def _from_residuals(**overrides):
    kwargs = {"dim": 2, "bounds": [-1.0, 1.0]} | overrides
    return objectives.from_residuals(_residuals, **kwargs)


_MINIMAL_CONFIG = """
name = "quad"
stesp = 3

[run]
steps = 10

[[optimizers]]
name = "adam"

[[objectives]]
name = "sphere"
dim = 2
"""

# (label, call): every call must raise a JaxcalcError subclass with a one-line message
CASES = [
    # expressions
    ("parse empty", lambda: jc.parse("")),
    ("parse incomplete", lambda: jc.parse("x +")),
    ("parse not a string", lambda: jc.parse(42)),
    ("parse attribute", lambda: jc.parse("().__class__")),
    ("parse reserved variable", lambda: jc.parse("x", variables=["sin"])),
    ("parse unknown function", lambda: jc.parse("sinh2(x)")),
    ("expression called on a bad shape", lambda: jc.parse("x*y")(jnp.ones(3))),
    # derivative
    ("derivative negative order", lambda: jc.derivative("x^2", -1)),
    ("derivative fractional order", lambda: jc.derivative("x^2", 1.5)),
    ("derivative order as text", lambda: jc.derivative("x^2", "2")),
    ("derivative of two variables", lambda: jc.derivative("x*y")),
    ("derivative of a non-function", lambda: jc.derivative(42)),
    ("derivative of a bad expression", lambda: jc.derivative("x^^2")),
    # gradient, jacobian, hessian on bad shapes
    ("gradient wrong point length", lambda: jc.gradient("x1^2 + x2^2")(jnp.ones(3))),
    ("gradient of a scalar point", lambda: jc.gradient("x1^2 + x2^2")(1.0)),
    ("gradient negative event_ndim", lambda: jc.gradient("x1^2 + x2^2", event_ndim=-1)),
    ("jacobian event_ndim as text", lambda: jc.jacobian("x1^2 + x2^2", event_ndim="1")),
    ("hessian wrong point length", lambda: jc.hessian("x1^2 + x2^2")(jnp.ones((4, 3)))),
    ("hvp wrong point length", lambda: jc.hvp("x1^2 + x2^2")(jnp.ones(3), jnp.ones(3))),
    # tangent lines and Taylor polynomials
    ("tangent_line of two variables", lambda: jc.tangent_line("x*y", 1.0)),
    ("tangent_line at text", lambda: jc.tangent_line("x^2", "one")),
    ("tangent equation of many points", lambda: jc.tangent_line("x^2", [1.0, 2.0]).equation),
    ("taylor negative order", lambda: jc.taylor("exp(x)", 0.0, -1)),
    ("taylor at two points", lambda: jc.taylor("exp(x)", [0.0, 1.0], 2)),
    ("taylor fractional order", lambda: jc.taylor("exp(x)", 0.0, 2.5)),
    # finite differences
    ("numeric_derivative bad method", lambda: jc.numeric_derivative("x^2", 1.0, method="side")),
    ("numeric_derivative two variables", lambda: jc.numeric_derivative("x*y", 1.0)),
    ("numeric_derivative at text", lambda: jc.numeric_derivative("x^2", "one")),
    ("check_derivative on a matrix", lambda: jc.check_derivative("x^2", np.zeros((2, 2)))),
    ("check_derivative too few coordinates", lambda: jc.check_derivative("x*y", 1.0)),
    ("check_derivative too many coordinates", lambda: jc.check_derivative("x^2", [1.0, 2.0])),
    ("limit_table no steps", lambda: jc.limit_table("x^2", 1.0, steps=[])),
    ("limit_table negative step", lambda: jc.limit_table("x^2", 1.0, steps=[0.1, -0.1])),
    ("limit_table steps as text", lambda: jc.limit_table("x^2", 1.0, steps="small")),
    ("limit_table integer dtype", lambda: jc.limit_table("x^2", 1.0, dtype="int32")),
    ("limit_table unknown dtype", lambda: jc.limit_table("x^2", 1.0, dtype="float13")),
    # critical points
    ("critical_points reversed range", lambda: jc.critical_points("x^2", 1.0, -1.0)),
    ("critical_points empty range", lambda: jc.critical_points("x^2", 1.0, 1.0)),
    ("critical_points range as text", lambda: jc.critical_points("x^2", "a", 1.0)),
    ("critical_points box shapes", lambda: jc.critical_points("x1^2+x2^2", [0, 0], [1])),
    ("critical_points box of wrong dim", lambda: jc.critical_points("x^2", [0, 0], [1, 1])),
    # objectives
    ("objectives.get unknown name", lambda: objectives.get("rosenbrok")),
    ("objectives.get empty name", lambda: objectives.get("  ")),
    ("objectives.get not a name", lambda: objectives.get(42)),
    ("objectives.get code not allowed", lambda: objectives.get("os:getcwd")),
    ("objectives.get dim 0", lambda: objectives.get("sphere", dim=0)),
    ("objectives.get dim as text", lambda: objectives.get("sphere", dim="3")),
    ("objectives.get fixed dim", lambda: objectives.get("booth", dim=3)),
    ("objectives.get bbob dim", lambda: objectives.get("bbob_f1", dim=7)),
    ("objectives.get bbob instance 0", lambda: objectives.get("bbob_f1", instance=0)),
    ("objectives.get bbob instance text", lambda: objectives.get("bbob_f1", instance="a")),
    ("objectives.get unknown parameter", lambda: objectives.get("sphere", c=1.0)),
    ("objectives.get expression dim", lambda: objectives.get("x^2 + y^2", dim=3)),
    ("objectives.get expression params", lambda: objectives.get("x^2", c=1.0)),
    ("objectives.spec unknown", lambda: objectives.spec("nope")),
    ("objective called on a bad shape", lambda: objectives.get("booth")(jnp.ones(3))),
    ("bbob called on a bad shape", lambda: objectives.get("bbob_f1")(jnp.ones(3))),
    ("objectives.register taken name", lambda: objectives.register(objectives.spec("booth"))),
    # from_residuals
    ("from_residuals bounds shape", lambda: _from_residuals(bounds=[[0.0, 1.0]] * 3)),
    ("from_residuals bounds reversed", lambda: _from_residuals(bounds=[1.0, -1.0])),
    ("from_residuals bounds as text", lambda: _from_residuals(bounds="wide")),
    ("from_residuals starts columns", lambda: _from_residuals(starts=[[1.0, 2.0, 3.0]])),
    ("from_residuals starts as text", lambda: _from_residuals(starts=[["a", "b"]])),
    ("from_residuals x_opt length", lambda: _from_residuals(x_opt=[0.0, 1.0, 2.0])),
    ("from_residuals dim 0", lambda: _from_residuals(dim=0)),
    ("residuals on a bad shape", lambda: _from_residuals().residuals(jnp.ones(3))),
    # optimize
    ("optimize unknown optimizer", lambda: jc.optimize("booth", "adamm", [0.0, 0.0], 10)),
    ("optimize steps 0", lambda: jc.optimize("booth", "adam", [0.0, 0.0], 0)),
    ("optimize steps fractional", lambda: jc.optimize("booth", "adam", [0.0, 0.0], 2.5)),
    ("optimize record_every 0", lambda: jc.optimize("booth", "adam", [0, 0], 10, record_every=0)),
    ("optimize x0 wrong length", lambda: jc.optimize("booth", "adam", [0.0, 0.0, 0.0], 10)),
    ("optimize x0 as text", lambda: jc.optimize("booth", "adam", "origin", 10)),
    ("optimize unknown hyperparameter", lambda: jc.optimize("booth", "adam", [0, 0], 10, foo=1)),
    (
        "optimize learning rate as text",
        lambda: jc.optimize("booth", "adam", [0.0, 0.0], 10, learning_rate="fast"),
    ),
    ("optimize unknown objective", lambda: jc.optimize("rosenbrok", "adam", [0.0, 0.0], 10)),
    # experiment configs
    ("parse_config bad TOML", lambda: parse_config('name = "quad"\nsteps = = 3\n')),
    ("parse_config unquoted expression", lambda: parse_config("objective = 3*x**2 + 1\n")),
    ("parse_config empty", lambda: parse_config("")),
    ("parse_config not text", lambda: parse_config(42)),
    ("parse_config unknown key", lambda: parse_config(_MINIMAL_CONFIG)),
]

# Cases that fail in modules outside this part of the code base, with what escapes.
XFAIL: dict[str, str] = {}


def _params() -> list:
    params = []
    for label, call in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[label])] if label in XFAIL else []
        params.append(pytest.param(call, id=label, marks=marks))
    return params


@pytest.mark.parametrize("call", _params())
def test_bad_input_raises_a_one_line_jaxcalc_error(call):
    with pytest.raises(Exception) as info:  # noqa: B017 (the class is what is checked)
        call()
    err = info.value
    assert isinstance(err, JaxcalcError), f"{type(err).__name__} escaped: {err}"
    lines = str(err).strip().splitlines()
    assert lines, "empty message"
    # a config validation error lists its problems one a line, under one summary line
    expected = 1 + len(getattr(err, "problems", ()))
    assert len(lines) == expected, f"message is not {expected} line(s): {str(err)!r}"


def test_every_case_has_a_unique_label():
    labels = [label for label, _ in CASES]
    assert len(labels) == len(set(labels))
    assert set(XFAIL) <= set(labels)
