"""Constraint sets (box, ball, simplex) with projections, and functional constraints.

Two kinds of constraint describe a feasible region ``C`` of ``R^n``:

* *sets* with a cheap Euclidean projection ``P_C(x) = argmin_{y in C} |y - x|``:
  :class:`Box`, :class:`Ball` and :class:`Simplex` (used by projected gradient descent);
* *functional* constraints: :class:`Equality` ``h(x) = 0`` and :class:`Inequality`
  ``g(x) <= 0``, each possibly vector valued, from a callable or from expression strings
  parsed safely by :func:`jaxcalc.parse` (``"x + y - 1"``).

Every constraint reports ``violation(x) >= 0``, zero exactly when ``x`` is feasible: the
Euclidean distance to the set for sets, ``max_i |h_i(x)|`` for equalities and
``max(0, max_i g_i(x))`` for inequalities. Every constraint also lists itself as
functions, ``equalities(x)`` and ``inequalities(x)`` (a box is ``lower - x <= 0`` and
``x - upper <= 0``), so multiplier methods treat all kinds alike.

:func:`parse_constraint` reads a relation such as ``"x + y = 1"``, ``"x >= 0"`` or
``"x^2 + y^2 <= 1"``.

Example:
  >>> import jax.numpy as jnp
  >>> Simplex().project(jnp.array([0.8, 0.6, -0.2])).tolist()
  [0.6000000238418579, 0.40000003576278687, 0.0]
  >>> float(parse_constraint("x + y = 1").violation(jnp.array([0.2, 0.3])))
  0.5

References:
  D. P. Bertsekas, *Nonlinear Programming*, 2nd ed., Athena Scientific 1999, section 2.3
  (projections onto convex sets); A. Beck, *First-Order Methods in Optimization*, SIAM
  2017, chapter 6 (projections onto boxes, balls and the simplex); L. Condat, "Fast
  projection onto the simplex and the l1 ball", Math. Program. 158, 2016.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax.projections as projections

from jaxcalc.errors import ConfigError, ExpressionError

__all__ = [
    "Ball",
    "Box",
    "Constraint",
    "Equality",
    "Inequality",
    "Simplex",
    "bind_variables",
    "default_variables",
    "equality_values",
    "inequality_values",
    "parse_constraint",
    "total_violation",
]


def _as_static(value: Any, what: str) -> float | tuple[float, ...]:
    """A number or a flat tuple of numbers (hashable, so a set can be a static option)."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a number or a list of numbers, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    try:
        items = tuple(float(v) for v in np.ravel(np.asarray(value, np.float64)).tolist())
    except (TypeError, ValueError):
        raise ConfigError(
            f"{what}: expected a number or a list of numbers, got {value!r}"
        ) from None
    if not items:
        raise ConfigError(f"{what}: expected at least one number")
    return items


def _vector(value: float | tuple[float, ...], x: jax.Array, what: str) -> jax.Array:
    a = jnp.asarray(value, x.dtype)
    if a.ndim == 1 and a.shape[0] != x.shape[-1]:
        raise ConfigError(f"{what} has {a.shape[0]} values; the point has {x.shape[-1]}")
    return a


class Constraint:
    """Base class. ``kind`` is "set", "equality" or "inequality"."""

    kind: str = ""

    def equalities(self, x: jax.Array) -> jax.Array:
        """The values ``h(x)`` of the equality constraints ``h(x) = 0``, shape ``(m,)``."""
        return jnp.zeros((0,), x.dtype)

    def inequalities(self, x: jax.Array) -> jax.Array:
        """The values ``g(x)`` of the inequality constraints ``g(x) <= 0``, shape ``(p,)``."""
        return jnp.zeros((0,), x.dtype)

    def violation(self, x: jax.Array) -> jax.Array:
        """How infeasible ``x`` is: ``>= 0``, and 0 exactly on the feasible region."""
        raise NotImplementedError

    def bind(self, variables: Sequence[str]) -> Constraint:
        """This constraint with its expression strings read in ``variables``' order."""
        return self


# ----------------------------------------------------------------------------------------
# Sets with projections


class _Set(Constraint):
    kind = "set"

    def project(self, x: jax.Array) -> jax.Array:
        """The Euclidean projection of one point ``(n,)`` onto the set."""
        raise NotImplementedError

    def violation(self, x: jax.Array) -> jax.Array:
        """The Euclidean distance from ``x`` to the set."""
        return jnp.linalg.norm(x - self.project(x))


@dataclass(frozen=True)
class Box(_Set):
    """The box ``{x : lower <= x <= upper}`` (per coordinate; scalars apply to all).

    Projection: ``clip(x, lower, upper)`` (optax.projections.projection_box). Bounds may be
    infinite. As functions: ``lower - x <= 0`` and ``x - upper <= 0`` (2n inequalities).

    Reference: Beck (2017), Lemma 6.26.

    Example:
      >>> Box(0.0, 1.0).project(jnp.array([-1.0, 0.5, 2.0])).tolist()
      [0.0, 0.5, 1.0]
    """

    lower: float | tuple[float, ...] = -math.inf
    upper: float | tuple[float, ...] = math.inf

    def __post_init__(self) -> None:
        lower = _as_static(self.lower, "Box.lower")
        upper = _as_static(self.upper, "Box.upper")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        lo, hi = jnp.broadcast_arrays(jnp.asarray(lower), jnp.asarray(upper))
        if lo.shape != hi.shape or bool(jnp.any(lo > hi)) or bool(jnp.any(jnp.isnan(lo - hi))):
            raise ConfigError(f"Box: need lower <= upper; got lower={lower}, upper={upper}")

    def project(self, x: jax.Array) -> jax.Array:
        lo = _vector(self.lower, x, "Box.lower")
        hi = _vector(self.upper, x, "Box.upper")
        return projections.projection_box(x, jnp.broadcast_to(lo, x.shape), hi)

    def inequalities(self, x: jax.Array) -> jax.Array:
        lo = jnp.broadcast_to(_vector(self.lower, x, "Box.lower"), x.shape)
        hi = jnp.broadcast_to(_vector(self.upper, x, "Box.upper"), x.shape)
        return jnp.concatenate([lo - x, x - hi])


@dataclass(frozen=True)
class Ball(_Set):
    """The Euclidean ball ``{x : |x - center| <= radius}``.

    Projection: ``center + (x - center) min(1, radius / |x - center|)``
    (optax.projections.projection_l2_ball, shifted to ``center``). As a function:
    ``|x - center|^2 - radius^2 <= 0`` (smooth everywhere).

    Reference: Beck (2017), Lemma 6.26.

    Example:
      >>> Ball(0.0, 1.0).project(jnp.array([3.0, 4.0])).tolist()
      [0.6000000238418579, 0.800000011920929]
    """

    center: float | tuple[float, ...] = 0.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", _as_static(self.center, "Ball.center"))
        radius = self.radius
        if isinstance(radius, bool) or not isinstance(radius, int | float) or not radius > 0:
            raise ConfigError(f"Ball.radius: must be a number > 0; got {radius!r}")
        if not math.isfinite(radius):
            raise ConfigError(f"Ball.radius: must be finite; got {radius!r}")
        object.__setattr__(self, "radius", float(radius))

    def project(self, x: jax.Array) -> jax.Array:
        c = _vector(self.center, x, "Ball.center")
        return c + projections.projection_l2_ball(x - c, self.radius)

    def inequalities(self, x: jax.Array) -> jax.Array:
        c = _vector(self.center, x, "Ball.center")
        return jnp.atleast_1d(jnp.sum((x - c) ** 2) - self.radius**2)

    def violation(self, x: jax.Array) -> jax.Array:
        c = _vector(self.center, x, "Ball.center")
        return jnp.maximum(jnp.linalg.norm(x - c) - self.radius, 0.0)


@dataclass(frozen=True)
class Simplex(_Set):
    """The simplex ``{x : x_i >= 0, sum_i x_i = scale}``.

    Projection: ``max(x - tau, 0)`` with the threshold ``tau`` that makes the sum equal to
    ``scale``, found by sorting (optax.projections.projection_simplex). As functions:
    ``sum(x) - scale = 0`` and ``-x <= 0``.

    Reference: Held, Wolfe and Crowder, Math. Program. 6, 1974; Condat (2016).

    Example:
      >>> Simplex().project(jnp.array([2.0, 0.0])).tolist()
      [1.0, 0.0]
    """

    scale: float = 1.0

    def __post_init__(self) -> None:
        s = self.scale
        if isinstance(s, bool) or not isinstance(s, int | float) or not (s > 0 and s < math.inf):
            raise ConfigError(f"Simplex.scale: must be a finite number > 0; got {s!r}")
        object.__setattr__(self, "scale", float(s))

    def project(self, x: jax.Array) -> jax.Array:
        return projections.projection_simplex(x, self.scale)

    def equalities(self, x: jax.Array) -> jax.Array:
        return jnp.atleast_1d(jnp.sum(x) - self.scale)

    def inequalities(self, x: jax.Array) -> jax.Array:
        return -x


# ----------------------------------------------------------------------------------------
# Functional constraints


def default_variables(dim: int) -> tuple[str, ...]:
    """The variable names of a registered objective: ``x, y, z`` up to 3-D, else x1..xn."""
    return ("x", "y", "z")[:dim] if dim <= 3 else tuple(f"x{i}" for i in range(1, dim + 1))


def _expression(text: str, variables: Sequence[str] | None, what: str):
    from jaxcalc.expressions import parse

    try:
        return parse(text, variables)
    except ExpressionError as err:
        raise ConfigError(f"{what} `{text}`: {err}") from None


@dataclass(frozen=True, eq=False)
class _Functional(Constraint):
    """``function`` is a callable ``(n,) -> ()`` or ``(m,)``, or expression strings."""

    function: Callable[[jax.Array], jax.Array] | str | Sequence[str]
    variables: tuple[str, ...] | None = None
    texts: tuple[str, ...] = field(init=False, default=())
    _fn: Callable[[jax.Array], jax.Array] = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        label = type(self).__name__
        fun = self.function
        if isinstance(fun, str):
            fun = (fun,)
        if callable(fun):
            object.__setattr__(self, "_fn", fun)
            return
        if not isinstance(fun, Sequence) or not fun or not all(isinstance(t, str) for t in fun):
            raise ConfigError(
                f"{label}: expected a callable or expression strings, got {self.function!r}"
            )
        variables = None if self.variables is None else tuple(self.variables)
        exprs = [_expression(t, variables, label) for t in fun]
        if variables is None:
            names = sorted({v for e in exprs for v in e.variables}, key=_natural)
            variables = tuple(names)
            exprs = [_expression(t, variables, label) for t in fun]
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "texts", tuple(fun))
        n = len(variables)

        def fn(x):
            if x.shape[-1] != n:
                raise ConfigError(
                    f"{label} `{', '.join(self.texts)}` has variables ({', '.join(variables)}); "
                    f"the point has {x.shape[-1]} coordinates"
                )
            return jnp.stack([e(x[0]) if n == 1 else e(x) for e in exprs])

        object.__setattr__(self, "_fn", fn)

    def values(self, x: jax.Array) -> jax.Array:
        """The constraint function at one point, as a vector ``(m,)``."""
        v = jnp.asarray(self._fn(x))
        if v.ndim > 1:
            raise ConfigError(
                f"{type(self).__name__}: the function must return a scalar or a vector; "
                f"got shape {v.shape}"
            )
        return jnp.atleast_1d(v).astype(jnp.result_type(v.dtype, x.dtype))

    def bind(self, variables: Sequence[str]) -> Constraint:
        if not self.texts or self.variables == tuple(variables):
            return self
        return type(self)(self.texts, tuple(variables))

    def __repr__(self) -> str:
        shown = " ; ".join(self.texts) if self.texts else getattr(self._fn, "__name__", "fn")
        return f"{type(self).__name__}({shown!r})"


class Equality(_Functional):
    """Equality constraints ``h(x) = 0`` (vector valued: every component is zero).

    Args:
      function: a callable on one point ``(n,) -> ()`` or ``(m,)``, an expression string
        (``"x + y - 1"``) or a list of them (one component each).
      variables: the variable names of the point's coordinates, in order; by default the
        names in the strings, in natural order (:func:`bind_variables` rebinds them to an
        objective's).

    ``violation(x) = max_i |h_i(x)|``.

    Reference: Nocedal and Wright, *Numerical Optimization*, 2nd ed., 2006, section 12.1.

    Example:
      >>> float(Equality("x + y - 1").violation(jnp.array([1.0, 1.0])))
      1.0
    """

    kind = "equality"

    def equalities(self, x: jax.Array) -> jax.Array:
        return self.values(x)

    def violation(self, x: jax.Array) -> jax.Array:
        return jnp.max(jnp.abs(self.values(x)), initial=0.0)


class Inequality(_Functional):
    """Inequality constraints ``g(x) <= 0`` (vector valued: every component).

    Args: as :class:`Equality`. ``violation(x) = max(0, max_i g_i(x))``.

    Reference: Nocedal and Wright (2006), section 12.1.

    Example:
      >>> float(Inequality("x^2 + y^2 - 1").violation(jnp.array([0.0, 2.0])))
      3.0
    """

    kind = "inequality"

    def inequalities(self, x: jax.Array) -> jax.Array:
        return self.values(x)

    def violation(self, x: jax.Array) -> jax.Array:
        return jnp.maximum(jnp.max(self.values(x), initial=-jnp.inf), 0.0)


def _natural(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


# ----------------------------------------------------------------------------------------
# Relations and collections

_RELATION = re.compile(r"<=|>=|==|=|<|>")


def parse_constraint(text: str, variables: Sequence[str] | None = None) -> Constraint:
    """A constraint from a relation: ``lhs = rhs``, ``lhs <= rhs`` or ``lhs >= rhs``.

    ``"x + y = 1"`` becomes ``Equality("(x + y) - (1)")``, ``"x >= 0"`` becomes
    ``Inequality("(0) - (x)")``. Both sides are expressions for :func:`jaxcalc.parse`.

    Raises:
      ConfigError: no relation, more than one, a strict ``<``/``>``, or a bad expression.
    """
    if not isinstance(text, str):
        raise ConfigError(f"a constraint is a string such as 'x + y = 1'; got {text!r}")
    found = _RELATION.findall(text)
    if not found:
        raise ConfigError(f"constraint `{text}` has no relation: write `=`, `<=` or `>=`")
    if len(found) > 1:
        raise ConfigError(f"constraint `{text}` has {len(found)} relations; write one")
    op = found[0]
    if op in ("<", ">"):
        raise ConfigError(f"constraint `{text}`: write `{op}=` (strict `{op}` is not supported)")
    lhs, rhs = (side.strip() for side in text.split(op))
    if not lhs or not rhs:
        raise ConfigError(f"constraint `{text}` needs an expression on both sides of `{op}`")
    if op in ("=", "=="):
        return Equality(f"({lhs}) - ({rhs})", variables)
    if op == "<=":
        return Inequality(f"({lhs}) - ({rhs})", variables)
    return Inequality(f"({rhs}) - ({lhs})", variables)


def bind_variables(constraints: Iterable[Any], variables: Sequence[str]) -> tuple[Constraint, ...]:
    """Constraints (objects or relation strings) with strings read in ``variables``' order."""
    out = []
    for c in constraints:
        if isinstance(c, str):
            c = parse_constraint(c, variables)
        if not isinstance(c, Constraint):
            raise ConfigError(
                f"a constraint is a Box, Ball, Simplex, Equality, Inequality or a relation "
                f"string; got {c!r}"
            )
        if isinstance(c, _Functional) and c.texts:
            unknown = sorted(set(c.variables) - set(variables))
            if unknown:
                raise ConfigError(
                    f"constraint {c!r} uses {', '.join(unknown)}; the objective's variables "
                    f"are {', '.join(variables)}"
                )
        out.append(c.bind(variables))
    return tuple(out)


def equality_values(constraints: Sequence[Constraint], x: jax.Array) -> jax.Array:
    """Every equality constraint's values at ``x``, concatenated, shape ``(m,)``."""
    parts = [c.equalities(x) for c in constraints]
    return jnp.concatenate(parts) if parts else jnp.zeros((0,), x.dtype)


def inequality_values(constraints: Sequence[Constraint], x: jax.Array) -> jax.Array:
    """Every inequality constraint's values at ``x``, concatenated, shape ``(p,)``."""
    parts = [c.inequalities(x) for c in constraints]
    return jnp.concatenate(parts) if parts else jnp.zeros((0,), x.dtype)


def total_violation(constraints: Sequence[Constraint], x: jax.Array) -> jax.Array:
    """The largest violation over ``constraints`` (0 when there are none)."""
    if not constraints:
        return jnp.zeros((), x.dtype)
    return jnp.max(jnp.stack([jnp.asarray(c.violation(x), x.dtype) for c in constraints]))
