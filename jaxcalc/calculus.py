"""Derivatives of any order, gradients, Jacobians, Hessians, tangent lines and Taylor polynomials.

Every function here takes a Python callable or an expression string (parsed safely by
:func:`jaxcalc.parse`) and returns a new function that is compiled once per input shape
and dtype (``jax.jit``), so calling it again on arrays of the same shape does not
recompile.

Two calling conventions:

* scalar functions of one variable (:func:`derivative`, :func:`tangent_line`,
  :func:`taylor`): the returned function is elementwise over any array shape;
* functions of a point (:func:`gradient`, :func:`jacobian`, :func:`hessian`,
  :func:`hvp`, :func:`directional_derivative`): one point has ``event_ndim`` trailing axes
  (1 for a vector, 2 for a matrix); any leading axes are a batch and are mapped over.
  ``event_ndim=None`` means the input is exactly one point, which may be any pytree.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import jet

from jaxcalc.expressions import Expression, parse

__all__ = [
    "CriticalPoint",
    "Taylor",
    "TangentLine",
    "as_function",
    "critical_points",
    "derivative",
    "directional_derivative",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "tangent_line",
    "taylor",
]

# Order 1 is reverse mode (jax.grad); orders 2 to 4 nested forward mode (jax.jvp), which
# is as fast as Taylor mode there and 4-9x more accurate; higher orders use Taylor mode
# (jax.experimental.jet), whose compile time stays flat (nested modes took 5-10 s to
# compile at order 8). Measured in benchmarks/derivatives.py (docs/benchmarks.md).
_NESTED_MAX_ORDER = 4


def as_function(f: Callable | str, *, dim: int | None = None) -> Callable:
    """A JAX-traceable function from a callable or an expression string.

    Args:
      f: a callable, an :class:`~jaxcalc.expressions.Expression`, or expression text.
      dim: when given, an expression must have exactly this many variables.
    """
    if isinstance(f, str):
        f = _parse_cached(f)
    if isinstance(f, Expression) and dim is not None and f.dim != dim:
        raise ValueError(
            f"expression `{f.text}` has {f.dim} variables ({', '.join(f.variables)}); "
            f"expected {dim}"
        )
    if not callable(f):
        raise TypeError(f"expected a callable or an expression string, got {type(f).__name__}")
    return f


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Expression:
    # one Expression per text, so functions built from the same text share compilations
    return parse(text)


def _float_array(x: Any) -> jax.Array:
    if isinstance(x, jax.Array) and x.dtype.kind == "f":
        return x  # the common case, without jnp.asarray's ~10 us per call
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    return int(order)


def _scalar_derivative(f: Callable, order: int) -> Callable:
    """The ``order``-th derivative of a scalar function, as a scalar function."""
    if order == 0:
        return f
    if order == 1:
        return jax.grad(f)
    if order <= _NESTED_MAX_ORDER:
        d = f
        for _ in range(order):
            d = _forward(d)
        return d

    if not _taylor_mode_works(f, order):
        d = f
        for _ in range(order):
            d = _forward(d)
        return d

    def taylor_mode(x):
        series = [jnp.ones_like(x)] + [jnp.zeros_like(x)] * (order - 1)
        _, terms = jet.jet(f, (x,), (series,))
        return terms[-1]

    return taylor_mode


def _taylor_mode_works(f: Callable, order: int) -> bool:
    """Whether jet has a Taylor rule for every primitive of f (tan, asin, custom_jvp
    functions such as softplus have none): traced abstractly, nothing is computed."""

    def probe(x):
        series = [jnp.ones_like(x)] + [jnp.zeros_like(x)] * (order - 1)
        return jet.jet(f, (x,), (series,))

    try:
        jax.eval_shape(probe, jax.ShapeDtypeStruct((), jnp.float32))
    except Exception:  # jet raises KeyError, NotImplementedError or tracer errors
        return False
    return True


def _forward(f: Callable) -> Callable:
    return lambda x: jax.jvp(f, (x,), (jnp.ones_like(x),))[1]


def derivative(f: Callable | str, order: int = 1) -> Callable[[Any], jax.Array]:
    """The ``order``-th derivative of a scalar function of one variable, elementwise.

    Args:
      f: a scalar function ``R -> R`` (callable or expression text such as ``"3x^2 + 1"``).
      order: a non-negative integer; 0 gives ``f`` itself (compiled and mapped).

    Returns:
      A function taking an array of any shape and returning the derivative at every
      element, with the same shape and float dtype (integers are cast to floats).
      Points where ``f`` or the derivative is not finite come back as ``inf``/``nan``;
      :func:`jaxcalc.check_derivative` says why.

    Example:
      >>> d = derivative("3x^2 + 1")
      >>> float(d(2.0))
      12.0
    """
    return _derivative(as_function(f, dim=1), _check_order(order))


@functools.lru_cache(maxsize=256)
def _derivative(f: Callable, order: int) -> Callable[[Any], jax.Array]:
    # cached per (function, order): repeated calls share one jitted (and compiled) function
    scalar = _scalar_derivative(f, order)

    @jax.jit
    def d(x):
        x = _float_array(x)  # at trace time: integer inputs become floats, no run-time cost
        flat = jnp.ravel(x)
        return jax.vmap(scalar)(flat).reshape(x.shape)

    return d


def _map_points(fn: Callable, event_ndim: int | None) -> Callable:
    """Jit ``fn`` (defined on one point) and map it over the batch axes of its first argument."""
    if event_ndim is None:
        return jax.jit(fn)
    if isinstance(event_ndim, bool) or not isinstance(event_ndim, int) or event_ndim < 0:
        raise ValueError(f"event_ndim must be a non-negative integer or None, got {event_ndim!r}")

    @jax.jit
    def mapped(x, *rest):
        if x.ndim < event_ndim:
            raise ValueError(
                f"a point has {event_ndim} axes (event_ndim={event_ndim}); got shape {x.shape}"
            )
        batch_shape = x.shape[: x.ndim - event_ndim]
        flat = x.reshape((-1, *x.shape[x.ndim - event_ndim :]))
        out = jax.vmap(fn, in_axes=(0,) + (None,) * len(rest))(flat, *rest)
        return jax.tree.map(lambda o: o.reshape(batch_shape + o.shape[1:]), out)

    def call(x, *rest):
        return mapped(_float_array(x), *rest)

    return call


def _point_function(f: Callable | str) -> Callable:
    return as_function(f)


def gradient(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The gradient of a scalar function of a point.

    ``gradient(f)(X)`` with ``X`` of shape ``(16, n)`` has shape ``(16, n)``. For a function
    of a matrix (``event_ndim=2``), the gradient has the matrix's shape.

    Example:
      >>> g = gradient("3*x1^2 + 5*exp(x2)")
      >>> g(jnp.array([1.0, 0.0])).tolist()
      [6.0, 5.0]
    """
    return _map_points(jax.grad(_point_function(f)), event_ndim)


def jacobian(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The Jacobian of ``g: R^n -> R^m``: shape ``(..., m, n)`` for points ``(..., n)``.

    Reverse mode (``jax.jacrev``); for ``m > n`` consider ``jax.jacfwd`` directly.
    """
    return _map_points(jax.jacrev(_point_function(f)), event_ndim)


def hessian(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The Hessian of a scalar function: shape ``(..., n, n)`` for points ``(..., n)``.

    Forward-over-reverse (``jax.hessian``).
    """
    return _map_points(jax.hessian(_point_function(f)), event_ndim)


def hvp(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """Hessian-vector product ``(x, v) -> H(x) v`` without forming ``H``.

    ``x`` may be a batch ``(..., n)``; ``v`` has the shape of one point (``(n,)``) and is
    applied at every point, or the shape of ``x``.
    """
    fn = _point_function(f)

    def one(x, v):
        return jax.jvp(jax.grad(fn), (x,), (v,))[1]

    if event_ndim is None:
        return jax.jit(one)

    @jax.jit
    def mapped(x, v):
        event = x.shape[x.ndim - event_ndim :]
        v = jnp.broadcast_to(v, x.shape).astype(x.dtype)
        out = jax.vmap(one)(x.reshape((-1, *event)), v.reshape((-1, *event)))
        return out.reshape(x.shape)

    return lambda x, v: mapped(_float_array(x), _float_array(v))


def directional_derivative(f: Callable | str, v: Any, *, event_ndim: int | None = 1) -> Callable:
    """``x -> grad f(x) . v``, the rate of change of ``f`` along ``v`` (forward mode).

    ``v`` is used as given (not normalised): pass a unit vector for the slope per unit
    length.
    """
    fn = _point_function(f)
    direction = _float_array(v)

    def one(x):
        return jax.jvp(fn, (x,), (direction.astype(x.dtype),))[1]

    return _map_points(one, event_ndim)


# ----------------------------------------------------------------------------------------
# Tangent lines and Taylor polynomials


def format_number(value: float, digits: int = 6) -> str:
    """A short, readable number: integers without a decimal point, others to ``digits``."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    rounded = round(value)
    if abs(value - rounded) <= 1e-9 * max(1.0, abs(value)):
        return str(int(rounded))
    return f"{value:.{digits}g}"


@dataclass(frozen=True)
class TangentLine:
    """The tangent line ``y = y0 + slope * (x - x0)`` of a function at ``x0``.

    Attributes:
      x0, y0, slope, intercept: floats (or arrays, when ``x0`` was an array).
      defined: whether the tangent exists (f and f' finite at x0, no kink there).
      reason: why it does not exist, or "".
    """

    x0: Any
    y0: Any
    slope: Any
    intercept: Any
    defined: Any
    reason: str = ""

    @property
    def equation(self) -> str:
        """``"y = 4*x - 4"``; only for a single ``x0``."""
        if np.ndim(self.x0) != 0:
            raise TypeError("equation is defined for a single x0; index the arrays instead")
        if not bool(self.defined):
            return f"undefined ({self.reason})"
        slope, intercept = float(self.slope), float(self.intercept)
        if format_number(slope) == "0":
            return f"y = {format_number(intercept)}"
        s = format_number(slope)
        term = "x" if s == "1" else "-x" if s == "-1" else f"{s}*x"
        if format_number(intercept) == "0":
            return f"y = {term}"
        sign = "-" if intercept < 0 else "+"
        return f"y = {term} {sign} {format_number(abs(intercept))}"

    def __call__(self, x: Any) -> jax.Array:
        x = _float_array(x)
        line = self.intercept + self.slope * x
        return jnp.where(jnp.asarray(self.defined), line, jnp.nan)


def tangent_line(f: Callable | str, x0: Any) -> TangentLine:
    """The tangent line of a scalar function at ``x0`` (a number or an array of them).

    The tangent is *undefined* where f or f' is not finite (``1/x`` at 0), where the slope
    is infinite (``sqrt`` at 0: a vertical tangent), or where the one-sided difference
    quotients disagree (``abs`` at 0: a kink). Undefined tangents evaluate to NaN and carry
    the reason; no line with an infinite slope is ever produced.

    Example:
      >>> tangent_line("x^3 - 1/x", 1.0).equation
      'y = 4*x - 4'
    """
    from jaxcalc.numerical import (  # numerical builds on this module's derivatives
        SLOPE_KINK,
        SLOPE_NONFINITE_VALUE,
        SLOPE_OK,
        diagnose_slope,
    )

    fn = as_function(f, dim=1)
    x = _float_array(x0)
    slope = derivative(fn, 1)(x)
    diag = diagnose_slope(fn, x, slope)
    y0, code = diag.value, diag.code
    defined = code == SLOPE_OK
    reason = ""
    if x.ndim == 0 and not bool(defined):
        at = format_number(x)
        if int(code) == SLOPE_NONFINITE_VALUE:
            reason = f"f({at}) = {float(y0)} is not finite"
        elif int(code) == SLOPE_KINK:
            reason = (
                f"not differentiable at x = {at}: one-sided slopes left "
                f"{format_number(diag.left, 4)}, right {format_number(diag.right, 4)}"
            )
        elif bool(jnp.isnan(slope)):
            reason = f"the derivative is not defined at x = {at} (autodiff gives nan)"
        else:
            reason = f"infinite slope at x = {at} (a vertical tangent)"
    slope = jnp.where(defined, slope, jnp.nan)  # never a line with an infinite slope
    intercept = y0 - slope * x
    as_out = (lambda a: float(a)) if x.ndim == 0 else np.asarray
    return TangentLine(
        x0=as_out(x),
        y0=as_out(y0),
        slope=as_out(slope),
        intercept=as_out(intercept),
        defined=bool(defined) if x.ndim == 0 else np.asarray(defined),
        reason=reason,
    )


@dataclass(frozen=True)
class Taylor:
    """The Taylor polynomial ``sum_k c_k (x - x0)^k`` of a scalar function.

    Attributes:
      x0: the expansion point.
      coefficients: ``c_0 .. c_order`` (``c_k = f^(k)(x0) / k!``), a NumPy array.
    """

    x0: float
    coefficients: np.ndarray

    @property
    def order(self) -> int:
        return len(self.coefficients) - 1

    def __call__(self, x: Any) -> jax.Array:
        x = _float_array(x)
        h = x - self.x0
        result = jnp.zeros_like(x)
        for c in self.coefficients[::-1]:  # Horner
            result = result * h + c
        return result

    @property
    def sympy(self):
        """The polynomial as a sympy expression in ``x`` (for display)."""
        import sympy as sp

        x = sp.Symbol("x", real=True)
        x0 = sp.nsimplify(self.x0)
        terms = []
        for k, c in enumerate(self.coefficients):
            shown = float(f"{c:.6g}")
            coef = sp.Integer(int(shown)) if shown == int(shown) else sp.Float(shown, 6)
            terms.append(coef * (x - x0) ** k)
        return sp.Add(*terms)


def taylor(f: Callable | str, x0: float, order: int) -> Taylor:
    """The Taylor polynomial of order ``order`` of a scalar function at ``x0``.

    All coefficients come from one Taylor-mode pass (``jax.experimental.jet``), falling
    back to repeated forward mode for primitives without a Taylor rule.

    Example:
      >>> t = taylor("exp(x)", 0.0, 3)
      >>> [round(c, 6) for c in t.coefficients.tolist()]
      [1.0, 1.0, 0.5, 0.166667]
    """
    fn = as_function(f, dim=1)
    order = _check_order(order)
    x = _float_array(x0)
    if x.ndim != 0:
        raise ValueError(f"taylor expands at one point; got x0 of shape {x.shape}")
    if order > _NESTED_MAX_ORDER and _taylor_mode_works(fn, order):
        series = [jnp.ones_like(x)] + [jnp.zeros_like(x)] * (order - 1)
        y0, terms = jax.jit(lambda p: jet.jet(fn, (p,), (series,)))(x)
        derivatives = [y0, *terms]
    else:
        derivatives = [derivative(fn, k)(x) for k in range(order + 1)]
    coefficients = np.array(
        [float(d) / math.factorial(k) for k, d in enumerate(derivatives)], dtype=np.float64
    )
    return Taylor(x0=float(x), coefficients=coefficients)


# ----------------------------------------------------------------------------------------
# Critical points


@dataclass(frozen=True)
class CriticalPoint:
    """A stationary point: ``x`` (float or array), ``value`` f(x), and its ``kind``.

    ``kind`` is "minimum", "maximum", "saddle", "inflection" (1-D, f'' = 0 and the first
    non-zero derivative has odd order) or "degenerate" (n-D, a zero Hessian eigenvalue
    leaves the second-order test undecided).
    """

    x: Any
    value: float
    kind: str


def _classify_1d(fn: Callable, x: jax.Array, tol: float) -> str:
    for k in range(2, 9):
        d = float(derivative(fn, k)(x))
        scale = 1.0 + abs(float(derivative(fn, 0)(x)))
        if not math.isfinite(d):
            return "degenerate"
        if abs(d) > tol * scale:
            if k % 2 == 1:
                return "inflection"
            return "minimum" if d > 0 else "maximum"
    return "degenerate"


def critical_points(
    f: Callable | str,
    lo: Any,
    hi: Any,
    *,
    starts: int | None = None,
    iterations: int = 100,
    seed: int = 0,
) -> list[CriticalPoint]:
    """Stationary points of ``f`` in ``[lo, hi]`` (1-D) or in the box ``lo <= x <= hi``.

    Newton's method on the derivative (the gradient, in n-D) runs from many starts at
    once under ``vmap`` (an even grid in 1-D, uniform random points in n-D); converged
    points inside the interval are deduplicated and classified by the second derivative
    (higher derivatives where it vanishes) or the Hessian's eigenvalues.

    Returns:
      The points sorted by ``x`` (1-D) or by value (n-D).

    Example:
      >>> [(round(p.x, 6), p.kind) for p in critical_points("x^3 - 3x", -3, 3)]
      [(-1.0, 'maximum'), (1.0, 'minimum')]
    """
    lo_arr, hi_arr = np.atleast_1d(np.asarray(lo, float)), np.atleast_1d(np.asarray(hi, float))
    if lo_arr.shape != hi_arr.shape or np.any(~(lo_arr < hi_arr)):
        raise ValueError(f"need lo < hi componentwise, got lo={lo!r}, hi={hi!r}")
    one_d = np.ndim(lo) == 0
    fn = as_function(f, dim=1 if one_d else len(lo_arr))
    dtype = jnp.result_type(float)
    eps = float(jnp.finfo(dtype).eps)
    lo_j, hi_j = jnp.asarray(lo_arr, dtype), jnp.asarray(hi_arr, dtype)

    if one_d:
        count = starts or 400
        x0 = jnp.linspace(lo_j[0], hi_j[0], count, dtype=dtype)
        g, h = jax.grad(fn), jax.grad(jax.grad(fn))

        def newton_1d(x):
            def step(x, _):
                gx, hx = g(x), h(x)
                newton = gx / jnp.where(hx == 0, 1.0, hx)
                safe = (hx != 0) & jnp.isfinite(newton)
                x_new = jnp.where(safe, x - newton, x - 0.1 * gx)
                x_new = jnp.clip(jnp.where(jnp.isfinite(x_new), x_new, x), lo_j[0], hi_j[0])
                return x_new, None

            x, _ = jax.lax.scan(step, x, None, length=iterations)
            return x, g(x), fn(x)

        xs, gs, fs = jax.jit(jax.vmap(newton_1d))(x0)
    else:
        n = len(lo_arr)
        count = starts or min(4096, 64 * n)
        u = jax.random.uniform(jax.random.key(seed), (count, n), dtype)
        x0 = lo_j + (hi_j - lo_j) * u
        g, hess = jax.grad(fn), jax.hessian(fn)

        def newton_nd(x):
            def step(x, _):
                gx, hx = g(x), hess(x)
                dx = jnp.linalg.solve(hx, gx)
                ok = jnp.all(jnp.isfinite(dx))
                x_new = jnp.clip(jnp.where(ok, x - dx, x - 0.1 * gx), lo_j, hi_j)
                x_new = jnp.where(jnp.all(jnp.isfinite(x_new)), x_new, x)
                return x_new, None

            x, _ = jax.lax.scan(step, x, None, length=iterations)
            return x, jnp.linalg.norm(g(x)), fn(x)

        xs, gs, fs = jax.jit(jax.vmap(newton_nd))(x0)

    xs, gs, fs = np.asarray(xs), np.abs(np.asarray(gs)), np.asarray(fs)
    gtol = 1e-4 if dtype == jnp.float32 else 1e-8
    good = np.isfinite(fs) & (gs <= gtol * (1.0 + np.abs(fs)))
    xs, gs, fs = xs[good], gs[good], fs[good]
    span = float(np.max(hi_arr - lo_arr))
    merge = 10 * math.sqrt(eps) * max(1.0, span)
    kept: list[np.ndarray] = []
    for i in np.argsort(gs):  # the most stationary representative of each cluster first
        xi = np.atleast_1d(xs[i])
        if any(np.max(np.abs(xi - k)) <= merge for k in kept):
            continue
        kept.append(xi)
    kept.sort(key=lambda k: tuple(k) if one_d else float(fn(jnp.asarray(k, dtype))))
    points: list[CriticalPoint] = []
    for xi in kept:
        if one_d:
            x_pt = jnp.asarray(xi[0], dtype)
            kind = _classify_1d(fn, x_pt, tol=1e3 * eps if dtype == jnp.float64 else 1e-3)
            points.append(CriticalPoint(float(xi[0]), float(fn(x_pt)), kind))
        else:
            x_pt = jnp.asarray(xi, dtype)
            eig = np.linalg.eigvalsh(np.asarray(hess(x_pt), np.float64))
            tol = 1e-6 * max(1.0, np.max(np.abs(eig)))
            if np.all(eig > tol):
                kind = "minimum"
            elif np.all(eig < -tol):
                kind = "maximum"
            elif np.any(eig > tol) and np.any(eig < -tol):
                kind = "saddle"
            else:
                kind = "degenerate"
            points.append(CriticalPoint(xi.copy(), float(fn(x_pt)), kind))
    return points
