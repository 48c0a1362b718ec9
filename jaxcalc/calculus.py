"""Derivatives of any order, gradients, Jacobians, Hessians, tangent lines and Taylor polynomials.

(Over 500 lines: every public function shares the choice of differentiation mode and the
rule for batches of points defined at the top.)

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

from jaxcalc.errors import ConfigError
from jaxcalc.expressions import Expression
from jaxcalc.formatting import format_number
from jaxcalc.functions import as_function, float_array
from jaxcalc.slopes import SLOPE_KINK, SLOPE_NONFINITE_VALUE, SLOPE_OK, diagnose_slope
from jaxcalc.trees import is_tree, split_starts

__all__ = [
    "Derivative",
    "Taylor",
    "TangentLine",
    "as_function",
    "derivative",
    "directional_derivative",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "tangent_line",
    "taylor",
]

# Order 1 is reverse mode (jax.grad) and order 2 nested forward mode (jax.jvp). Above,
# an expression of one variable is evaluated in truncated Taylor arithmetic
# (jaxcalc.expressions.taylor: a rule for every function of the language, one compiled
# program whose size does not grow with the order). A Python callable takes nested
# forward mode up to order 4 (as fast as Taylor mode there and 4-9x more accurate), then
# Taylor mode (jax.experimental.jet), whose compile time stays flat. Measured in
# benchmarks/derivatives.py (docs/benchmarks.md).
_NESTED_MAX_ORDER = 4
_SERIES_MIN_ORDER = 3

# The highest derivative order: past it float64 coefficients f^(k)(x0)/k! mean little.
MAX_ORDER = 40
# What an order costs to compile, in nonlinear operations of f times a factor of the order:
# n^2 in Taylor mode (sin nested 20 deep: 7 s at order 8, 37 s at order 12; a sum of 59
# sines: 10 s at order 5), 2^n in nested forward mode (tan nested 20 deep: 40 s at order
# 6). Past both budgets an order is refused, naming the highest order the function allows
# (order 2 is always allowed). Functions with a primitive that has no Taylor rule (tan,
# asin, softplus, ...) have only nested forward mode, up to order 6.
TAYLOR_BUDGET = 900
NESTED_BUDGET = 400
MAX_NESTED_ORDER = 6
_LINEAR = {"add", "sub", "neg", "convert_element_type", "broadcast_in_dim", "reshape", "copy"}


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or order < 0:
        raise ConfigError(f"order must be a non-negative integer, got {order!r}")
    if order > MAX_ORDER:
        raise ConfigError(f"order {order} is above the limit of {MAX_ORDER}; ask for less")
    return int(order)


def _operations(f: Callable) -> int:
    """The number of nonlinear operations of a scalar function (0 when it cannot be traced
    on a scalar: its cost is then not known)."""

    def count(jaxpr) -> int:
        n = 0
        for eqn in jaxpr.eqns:
            inner = [p for p in eqn.params.values() if hasattr(getattr(p, "jaxpr", p), "eqns")]
            if inner:
                n += sum(count(getattr(p, "jaxpr", p)) for p in inner)
            elif eqn.primitive.name not in _LINEAR and not _by_constant(eqn):
                n += 1
        return n

    try:
        return count(jax.make_jaxpr(f)(jnp.zeros((), jnp.float32)).jaxpr)
    except Exception:  # a callable that needs other inputs
        return 0


def _by_constant(eqn) -> bool:
    """A product or quotient with a literal number (3*x, x/2): linear in Taylor mode."""
    literal = any(type(v).__name__ == "Literal" for v in eqn.invars)
    return eqn.primitive.name in ("mul", "div") and literal


def _mode(f: Callable, order: int) -> str:
    """How to take the ``order``-th derivative (order >= 2): "nested" forward mode or
    "taylor" mode, within the compile budgets; a ConfigError when neither fits."""
    ops = max(_operations(f), 1)
    nested_fits = order <= 2 or (ops * 2**order <= NESTED_BUDGET and order <= MAX_NESTED_ORDER)
    if order <= _NESTED_MAX_ORDER and nested_fits:
        return "nested"
    if _taylor_mode_works(f, order):
        if ops * order**2 <= TAYLOR_BUDGET:
            return "taylor"
        highest = max(math.isqrt(TAYLOR_BUDGET // ops), _highest_nested(ops))
    elif nested_fits:
        return "nested"
    else:
        highest = _highest_nested(ops)
    raise ConfigError(
        f"order {order} is too costly for this function ({ops} nonlinear operations); the "
        f"highest order for it is {highest}"
    )


def _highest_nested(ops: int) -> int:
    return max(k for k in range(2, MAX_NESTED_ORDER + 1) if k == 2 or ops * 2**k <= NESTED_BUDGET)


def _by_series(f: Callable, order: int) -> bool:
    """Whether the ``order``-th derivative of ``f`` comes from truncated Taylor arithmetic."""
    return isinstance(f, Expression) and f.dim == 1 and order >= _SERIES_MIN_ORDER


def series_scale(order: int) -> float:
    """The power of two nearest ``(order!)^(1/order)``: the series of ``f(x0 + s t)`` has
    ``c_k = f^(k) s^k / k!`` near ``f^(k)``, so high orders stay in range in float32."""
    if order < 1:
        return 1.0
    return 2.0 ** round(math.lgamma(order + 1) / order / math.log(2))


def _series_derivative(f: Expression, order: int) -> Callable:
    scale = series_scale(order)
    factor = math.exp(math.lgamma(order + 1) - order * math.log(scale))  # k! / s^k

    def scalar(x):
        return f.series(x, order, scale)[order] * jnp.asarray(factor, x.dtype)

    return scalar


def _scalar_derivative(f: Callable, order: int) -> Callable:
    """The ``order``-th derivative of a scalar function, as a scalar function; NaN at every
    point where ``f`` itself is NaN (outside its domain), whatever autodiff would give."""
    if order == 0:
        return f
    if _by_series(f, order):
        return _series_derivative(f, order)
    if order == 1:

        def first(x):
            value, slope = jax.value_and_grad(f)(x)
            return jnp.where(jnp.isnan(value), jnp.nan, slope)

        return first
    d = _unmasked_derivative(f, order)
    return lambda x: jnp.where(jnp.isnan(f(x)), jnp.nan, d(x))


def _unmasked_derivative(f: Callable, order: int) -> Callable:
    if _mode(f, order) == "nested":
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


def derivative(f: Callable | str, order: int = 1) -> Derivative:
    """The ``order``-th derivative of a scalar function of one variable, elementwise.

    Args:
      f: a scalar function ``R -> R`` (callable or expression text such as ``"3x^2 + 1"``).
      order: a non-negative integer; 0 gives ``f`` itself (compiled and mapped).

    Returns:
      A function taking an array of any shape and returning the derivative at every
      element, with the same shape and float dtype (integers are cast to floats).
      Points where ``f`` or the derivative is not finite come back as ``inf``/``nan``;
      :func:`jaxcalc.check_derivative` says why. It prints as the function, the order
      and, for an expression, the symbolic form.

    Example:
      >>> d = derivative("3x^2 + 1")
      >>> float(d(2.0))
      12.0
    """
    return _derivative(as_function(f, dim=1), _check_order(order))


class Derivative:
    """What :func:`derivative` returns: the compiled derivative, callable on arrays, that
    says what it is when printed (the function, the order and, for an expression, the
    symbolic form).

    Attributes:
      function: the function differentiated (a callable or an
        :class:`~jaxcalc.expressions.Expression`).
      order: the order of the derivative.
    """

    __slots__ = ("__weakref__", "_compiled", "_symbolic", "function", "order")

    def __init__(self, function: Callable, order: int, compiled: Callable[[Any], jax.Array]):
        self.function = function
        self.order = order
        self._compiled = compiled
        self._symbolic: str | None = None

    def __call__(self, x: Any) -> jax.Array:
        return self._compiled(x)

    @property
    def symbolic(self) -> str | None:
        """sympy's derivative as text for an expression (None for a Python callable); a
        note in parentheses when it is too large or slow to compute."""
        sym = getattr(self.function, "sympy", None)
        symbols = getattr(self.function, "symbols", None)
        if sym is None or not symbols:
            return None
        if self._symbolic is None:
            import sympy as sp

            from jaxcalc.expressions.symbolic import Skipped, bounded, simplify

            found = bounded(lambda e: sp.diff(e, symbols[0], self.order), sym)
            if isinstance(found, Skipped):
                self._symbolic = f"(not computed: {found})"
            else:
                self._symbolic = str(simplify(found, seconds=1.0)[0])
        return self._symbolic

    def __repr__(self) -> str:
        name = getattr(self.function, "text", None)
        if name is None:
            name = getattr(self.function, "__qualname__", None) or repr(self.function)
        ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(self.order, f"{self.order}th")
        text = f"Derivative({ordinal} derivative of {name}"
        if self.symbolic is not None:
            text += f" = {self.symbolic}"
        return text + ")"


@functools.lru_cache(maxsize=256)
def _derivative(f: Callable, order: int) -> Derivative:
    # cached per (function, order): repeated calls share one jitted (and compiled) function
    scalar = _scalar_derivative(f, order)

    @jax.jit
    def d(x):
        x = float_array(x)  # at trace time: integer inputs become floats, no run-time cost
        flat = jnp.ravel(x)
        return jax.vmap(scalar)(flat).reshape(x.shape)

    return Derivative(f, order, d)


def _map_points(fn: Callable, event_ndim: int | None) -> Callable:
    """Jit ``fn`` (defined on one point) and map it over the batch axes of its first argument."""
    if event_ndim is None:
        return jax.jit(fn)
    if isinstance(event_ndim, bool) or not isinstance(event_ndim, int) or event_ndim < 0:
        raise ConfigError(f"event_ndim must be a non-negative integer or None, got {event_ndim!r}")

    @jax.jit
    def mapped(x, *rest):
        if x.ndim < event_ndim:
            raise ConfigError(
                f"a point has {event_ndim} axes (event_ndim={event_ndim}); got shape {x.shape}"
            )
        batch_shape = x.shape[: x.ndim - event_ndim]
        flat = x.reshape((-1, *x.shape[x.ndim - event_ndim :]))
        out = jax.vmap(fn, in_axes=(0,) + (None,) * len(rest))(flat, *rest)
        return jax.tree.map(lambda o: o.reshape(batch_shape + o.shape[1:]), out)

    def call(x, *rest):
        return mapped(float_array(x), *rest)

    return call


def _point_function(f: Callable | str) -> Callable:
    return as_function(f)


def _on_trees(fn: Callable, one: Callable, call: Callable) -> Callable:
    """``call`` for array points; for a pytree point (see :mod:`jaxcalc.trees`), ``one``
    (a function of one point, and of a direction for ``hvp``) on one start, or mapped
    over the leading axis of every leaf for a batch."""
    one = jax.jit(one)
    batched = jax.jit(jax.vmap(one))
    batched_point = jax.jit(jax.vmap(one, in_axes=(0, None)))

    def dispatch(x, *rest):
        if not is_tree(x):
            return call(x, *rest)
        _, single, template = split_starts(fn, x, where="x")
        x = jax.tree.map(lambda leaf: jnp.asarray(leaf, template.dtype), x)
        if single:
            return one(x, *rest)
        if rest and jax.tree.map(jnp.shape, rest[0]) == jax.tree.map(jnp.shape, x):
            return batched(x, *rest)  # one direction per point
        return batched_point(x, *rest) if rest else batched(x)

    return dispatch


def gradient(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The gradient of a scalar function of a point.

    ``gradient(f)(X)`` with ``X`` of shape ``(16, n)`` has shape ``(16, n)``. For a function
    of a matrix (``event_ndim=2``), the gradient has the matrix's shape.

    Example:
      >>> g = gradient("3*x1^2 + 5*exp(x2)")
      >>> g(jnp.array([1.0, 0.0])).tolist()
      [6.0, 5.0]

    On a function of a pytree (``{"w": ..., "b": ...}``) the gradient is a pytree of the
    same structure; a batch of points carries a leading axis on every leaf, as
    :func:`jaxcalc.optimize` reads ``x0`` (see :mod:`jaxcalc.trees`).
    """
    fn = _point_function(f)

    def masked(x):
        value, g = jax.value_and_grad(fn)(x)
        return _nan_where(value, g)

    return _on_trees(fn, masked, _map_points(masked, event_ndim))


def _nan_where(value: jax.Array, tree: Any) -> Any:
    """``tree`` with every leaf NaN where the function's ``value`` is NaN."""
    return jax.tree.map(lambda leaf: jnp.where(jnp.isnan(value), jnp.nan, leaf), tree)


def jacobian(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The Jacobian of ``g: R^n -> R^m``: shape ``(..., m, n)`` for points ``(..., n)``.

    Row ``i`` is NaN at every point where ``g_i`` is NaN (outside its domain), whatever
    autodiff would give there (``log(x)`` at ``x < 0`` has the finite slope ``1/x``);
    the other rows, and the other points of a batch, keep their values. Forward mode
    (``jax.jacfwd``, one pass per coordinate of the point): in reverse mode the zero
    weight of one component times the NaN slope of another (``sqrt`` at a negative
    ``x2``) would turn every row's ``x2`` entry into NaN. For ``m`` much smaller than
    ``n``, ``jax.jacrev`` directly is cheaper, without that guarantee.

    Example:
      >>> j = jacobian(lambda x: jnp.stack([jnp.log(x[0]), x[0] * x[1]]))
      >>> j(jnp.array([-1.0, 2.0])).tolist()
      [[nan, nan], [2.0, -1.0]]
    """
    fn = _point_function(f)
    jac = jax.jacfwd(lambda x: (fn(x), fn(x)), has_aux=True)

    def masked(x):
        rows, value = jac(x)
        return jax.tree.map(
            lambda v, r: jnp.where(
                jnp.isnan(v).reshape(v.shape + (1,) * (r.ndim - v.ndim)), jnp.nan, r
            ),
            value,
            rows,
        )

    return _map_points(masked, event_ndim)


def hessian(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """The Hessian of a scalar function: shape ``(..., n, n)`` for points ``(..., n)``.

    Forward-over-reverse (``jax.hessian``). On a function of a pytree it is JAX's nested
    pytree: ``H[a][b]`` has shape ``a.shape + b.shape`` (with a leading batch axis for a
    batch of points).
    """
    fn = _point_function(f)
    h = jax.hessian(fn)

    def masked(x):
        return _nan_where(fn(x), h(x))

    return _on_trees(fn, masked, _map_points(masked, event_ndim))


def hvp(f: Callable | str, *, event_ndim: int | None = 1) -> Callable:
    """Hessian-vector product ``(x, v) -> H(x) v`` without forming ``H``.

    ``x`` may be a batch ``(..., n)``; ``v`` has the shape of one point (``(n,)``) and is
    applied at every point, or the shape of ``x``. On a function of a pytree, ``x`` and
    ``v`` are pytrees (a batch: a leading axis on every leaf of ``x``, and of ``v`` when
    each point has its own direction).
    """
    fn = _point_function(f)

    def one(x, v):
        v = jax.tree.map(lambda a, b: jnp.asarray(b, jnp.result_type(a)), x, v)
        return _nan_where(fn(x), jax.jvp(jax.grad(fn), (x,), (v,))[1])

    if event_ndim is None:
        return _on_trees(fn, one, jax.jit(one))

    @jax.jit
    def mapped(x, v):
        event = x.shape[x.ndim - event_ndim :]
        v = jnp.broadcast_to(v, x.shape).astype(x.dtype)
        out = jax.vmap(one)(x.reshape((-1, *event)), v.reshape((-1, *event)))
        return out.reshape(x.shape)

    return _on_trees(fn, one, lambda x, v: mapped(float_array(x), float_array(v)))


def directional_derivative(f: Callable | str, v: Any, *, event_ndim: int | None = 1) -> Callable:
    """``x -> grad f(x) . v``, the rate of change of ``f`` along ``v`` (forward mode).

    ``v`` is used as given (not normalised): pass a unit vector for the slope per unit
    length.
    """
    fn = _point_function(f)
    direction = float_array(v)

    def one(x):
        value, slope = jax.jvp(fn, (x,), (direction.astype(x.dtype),))
        return _nan_where(value, slope)

    return _map_points(one, event_ndim)


# ----------------------------------------------------------------------------------------
# Tangent lines and Taylor polynomials


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
            raise ConfigError("equation is defined for a single x0; index the arrays instead")
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
        x = float_array(x)
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
    fn = as_function(f, dim=1)
    x = float_array(x0)
    autodiff, diag, slope, intercept = jax.device_get(_tangent_numbers(fn, x))
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
        elif np.isnan(autodiff):
            reason = f"the derivative is not defined at x = {at} (autodiff gives nan)"
        else:
            reason = f"infinite slope at x = {at} (a vertical tangent)"
    as_out = (lambda a: float(a)) if x.ndim == 0 else np.asarray
    return TangentLine(
        x0=as_out(x),
        y0=as_out(y0),
        slope=as_out(slope),
        intercept=as_out(intercept),
        defined=bool(defined) if x.ndim == 0 else np.asarray(defined),
        reason=reason,
    )


def _tangent_numbers(fn: Callable, x: jax.Array) -> tuple:
    """f' at x, the slope's diagnosis, and the line's slope and intercept (NaN where the
    tangent is undefined), as one compiled program rather than one per operation."""

    @jax.jit
    def numbers(x):
        autodiff = derivative(fn, 1)(x)
        diag = diagnose_slope(fn, x, autodiff)
        # never a line with an infinite slope
        slope = jnp.where(diag.code == SLOPE_OK, autodiff, jnp.nan)
        return autodiff, diag, slope, diag.value - slope * x

    return numbers(x)


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
        x = float_array(x)
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

    All coefficients come from one pass: truncated Taylor arithmetic for an expression
    (:mod:`jaxcalc.expressions.taylor`), Taylor mode (``jax.experimental.jet``) for a
    callable, falling back to repeated forward mode for primitives without a Taylor rule.

    Example:
      >>> t = taylor("exp(x)", 0.0, 3)
      >>> [round(c, 6) for c in t.coefficients.tolist()]
      [1.0, 1.0, 0.5, 0.166667]
    """
    fn = as_function(f, dim=1)
    order = _check_order(order)
    x = float_array(x0)
    if x.ndim != 0:
        raise ConfigError(f"taylor expands at one point; got x0 of shape {x.shape}")
    if order >= 1 and isinstance(fn, Expression):
        scale = series_scale(order)
        c = np.asarray(jax.jit(lambda p: fn.series(p, order, scale))(x), np.float64)
        coefficients = c / scale ** np.arange(order + 1, dtype=np.float64)
        return Taylor(x0=float(x), coefficients=coefficients)
    if order >= 2 and _mode(fn, order) == "taylor":
        series = [jnp.ones_like(x)] + [jnp.zeros_like(x)] * (order - 1)
        y0, terms = jax.jit(lambda p: jet.jet(fn, (p,), (series,)))(x)
        derivatives = [y0, *terms]
    else:
        derivatives = [derivative(fn, k)(x) for k in range(order + 1)]
    coefficients = np.array(
        [float(d) / math.factorial(k) for k, d in enumerate(derivatives)], dtype=np.float64
    )
    return Taylor(x0=float(x), coefficients=coefficients)
