"""Constrained objectives: :func:`constrained` and test problems with known solutions.

An :class:`~jaxcalc.objectives.Objective` with a non-empty ``constraints`` tuple is a
constrained problem: ``min f(x)`` over the feasible region, and its ``x_opt``/``f_opt`` are
the constrained minimum. The registered problems (family ``"constrained"``):

``quadratic_on_line``
    ``x^2 + y^2`` subject to ``x + y = 1``: ``x* = (1/2, 1/2)``, ``f* = 1/2``, multiplier
    ``lambda* = -1`` (``grad f + lambda grad h = 0``).
``quadratic_on_simplex``
    ``|x - (0.8, 0.6, -0.2)|^2`` over the simplex ``{x >= 0, sum x = 1}``: the projection of
    the point onto the simplex, ``x* = (0.6, 0.4, 0)``, ``f* = 0.12``.
``rosenbrock_disk``
    Rosenbrock's function subject to ``x^2 + y^2 <= 1``:
    ``x* = (0.786415154168428, 0.617698312523393)``, ``f* = 0.0456748087195002``,
    multiplier 0.121496556999288 (the KKT system solved to 30 digits with mpmath).
``hs071``
    Hock and Schittkowski's problem 71: ``x1 x4 (x1 + x2 + x3) + x3`` subject to
    ``x1 x2 x3 x4 >= 25``, ``x1^2 + x2^2 + x3^2 + x4^2 = 40``, ``1 <= x_i <= 5``:
    ``x* = (1, 4.74299964, 3.82114998, 1.37940829)``, ``f* = 17.0140173``.

Multiplier convention everywhere in jaxcalc: ``L(x, lambda, mu) = f(x) + lambda.h(x) +
mu.g(x)`` with ``h(x) = 0``, ``g(x) <= 0`` and ``mu >= 0``.

Example:
  >>> from jaxcalc import objectives
  >>> from jaxcalc.constraints import Equality
  >>> obj = objectives.constrained("x^2 + y^2", "x + y = 1", x_opt=[0.5, 0.5])
  >>> obj.f_opt
  0.5
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxcalc.constraints import Box, Equality, Inequality, Simplex, bind_variables
from jaxcalc.constraints import default_variables as _default_variables
from jaxcalc.errors import ConfigError
from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.registry import ObjectiveSpec, get

__all__ = ["SPECS", "constrained", "variables_of"]

_HS = (
    "W. Hock and K. Schittkowski, Test Examples for Nonlinear Programming Codes, Lecture "
    "Notes in Economics and Mathematical Systems 187, Springer, 1981"
)


def variables_of(objective: Objective) -> tuple[str, ...]:
    """The names of an objective's coordinates, for reading constraint strings.

    An expression objective's own variables; otherwise ``x, y, z`` up to three dimensions
    and ``x1, ..., xn`` above.
    """
    names = objective.params.get("variables") if isinstance(objective.params, dict) else None
    if names and len(names) == objective.dim:
        return tuple(names)
    return _default_variables(objective.dim)


def constrained(
    objective: str | Objective,
    *constraints: Any,
    name: str | None = None,
    x_opt: Any = None,
    f_opt: float | None = None,
    citation: str | None = None,
    bounds: Any = None,
) -> Objective:
    """An objective with constraints added (to any it already has).

    Args:
      objective: an :class:`Objective`, a registered name or an expression string.
      *constraints: :class:`~jaxcalc.constraints.Box`, ``Ball``, ``Simplex``, ``Equality``,
        ``Inequality`` objects or relation strings (``"x + y = 1"``, ``"x >= 0"``); strings
        are read in the objective's variables (:func:`variables_of`).
      name: the new name (default: the objective's, with ``" s.t. ..."``).
      x_opt, f_opt: the constrained minimiser and minimum when known (``f_opt`` defaults to
        ``f(x_opt)``); the unconstrained ones are dropped.
      citation: where the constrained problem comes from.
      bounds: the box for sampling starts (default: the objective's).

    Returns:
      An :class:`Objective` whose ``constraints`` holds the constraints.

    Raises:
      ConfigError: a constraint that is not a constraint, or uses unknown variables.
    """
    obj = get(objective) if isinstance(objective, str) else objective
    if not isinstance(obj, Objective):
        raise ConfigError(f"constrained: expected an objective, got {objective!r}")
    if not constraints:
        raise ConfigError(f"constrained: no constraints given for {obj.name}")
    added = bind_variables(constraints, variables_of(obj))
    all_constraints = tuple(obj.constraints) + added
    if x_opt is not None:
        x_opt = np.asarray(x_opt, np.float64).reshape(-1)
        if x_opt.shape != (obj.dim,):
            raise ConfigError(f"constrained: x_opt must have {obj.dim} values")
        if f_opt is None:
            f_opt = float(np.asarray(obj(jnp.asarray(x_opt)), np.float64))
    shown = "; ".join(_describe(c) for c in added)
    return dataclasses.replace(
        obj,
        name=name or f"{obj.name} s.t. {shown}",
        x_opt=x_opt,
        f_opt=f_opt,
        minimizers=None,
        bounds=obj.bounds if bounds is None else bounds,
        citation=citation or obj.citation,
        unbounded=False if x_opt is not None else obj.unbounded,
        constraints=all_constraints,
    )


def _describe(c: Any) -> str:
    texts = getattr(c, "texts", ())
    if texts:
        relation = "= 0" if c.kind == "equality" else "<= 0"
        return ", ".join(f"{t} {relation}" for t in texts)
    return repr(c)


# ----------------------------------------------------------------------------------------
# Registered problems


def _quadratic_on_line(dim: int) -> Objective:
    base = Objective("sum_of_squares", 2, lambda x: x[0] ** 2 + x[1] ** 2, [-2.0, 2.0])
    return constrained(
        base,
        Equality("x + y - 1"),
        name="quadratic_on_line",
        x_opt=[0.5, 0.5],
        f_opt=0.5,
        citation=(
            "closed form by Lagrange multipliers (lambda* = -1); e.g. J. Nocedal and S. J. "
            "Wright, Numerical Optimization, 2nd ed., Springer 2006, section 12.1"
        ),
    )


_SIMPLEX_POINT = (0.8, 0.6, -0.2)


def _quadratic_on_simplex(dim: int) -> Objective:
    p = jnp.asarray(_SIMPLEX_POINT)

    def fn(x):
        return jnp.sum((x - p.astype(x.dtype)) ** 2)

    base = Objective("distance_squared", 3, fn, [-1.0, 2.0])
    return constrained(
        base,
        Simplex(1.0),
        name="quadratic_on_simplex",
        x_opt=[0.6, 0.4, 0.0],
        f_opt=0.12,
        citation=(
            "the Euclidean projection of (0.8, 0.6, -0.2) onto the unit simplex, closed "
            "form by the sorting rule: M. Held, P. Wolfe and H. P. Crowder, Math. Program. "
            "6, 1974; L. Condat, Math. Program. 158, 2016"
        ),
    )


def _rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


def _rosenbrock_disk(dim: int) -> Objective:
    base = Objective("rosenbrock", 2, _rosenbrock, [-1.0, 1.0])
    return constrained(
        base,
        Inequality("x^2 + y^2 - 1"),
        name="rosenbrock_disk",
        x_opt=[0.786415154168427830, 0.617698312523393485],
        f_opt=0.0456748087195002285,
        citation=(
            "Rosenbrock's function on the unit disk, MathWorks Optimization Toolbox "
            "documentation, 'Solve a Constrained Nonlinear Problem' (x* = (0.7864, 0.6177), "
            "f* = 0.0457); here the KKT system solved to 30 digits (mpmath)"
        ),
    )


def _hs071_f(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


def _hs071(dim: int) -> Objective:
    base = Objective("hs071", 4, _hs071_f, [1.0, 5.0])
    return constrained(
        base,
        Inequality(lambda x: 25.0 - x[0] * x[1] * x[2] * x[3]),
        Equality(lambda x: jnp.sum(x**2) - 40.0),
        Box(1.0, 5.0),
        name="hs071",
        x_opt=[1.0, 4.742999637264417, 3.821149984184874, 1.379408293172672],
        f_opt=17.014017289156302,
        citation=(
            f"{_HS}, problem 71 (f* = 17.0140173, x* ~ (1, 4.743, 3.821, 1.379)); here the "
            "KKT system with x1 = 1, x1 x2 x3 x4 = 25 and |x|^2 = 40 active, solved to 30 "
            "digits with mpmath"
        ),
    )


SPECS = (
    ObjectiveSpec("quadratic_on_line", _quadratic_on_line, 2, dims=(2,), family="constrained"),
    ObjectiveSpec(
        "quadratic_on_simplex", _quadratic_on_simplex, 3, dims=(3,), family="constrained"
    ),
    ObjectiveSpec("rosenbrock_disk", _rosenbrock_disk, 2, dims=(2,), family="constrained"),
    ObjectiveSpec("hs071", _hs071, 4, dims=(4,), family="constrained"),
)
