"""Truncated Taylor arithmetic: an expression tree evaluated on coefficient arrays.

A series is the array ``c`` of the normalised Taylor coefficients ``c_k = u^(k)(t0) / k!``
of an intermediate value ``u(t)``, ``k = 0 .. n``. The tree is walked once; each node maps
the series of its arguments to its own, so the whole derivative of order ``n`` is one
compiled program whose size does not grow with ``n`` (every recurrence is one
``lax.fori_loop`` over ``k``) and whose cost is ``O(n^2)`` per node.

The rules are the standard ones (Griewank & Walther, *Evaluating Derivatives*, 2nd ed.,
SIAM 2008, chapter 13, table 13.2):

* ``a * b``: the Cauchy product ``c_k = sum_j a_j b_(k-j)``;
* ``a / b``: ``c_k = (a_k - sum_(j>=1) b_j c_(k-j)) / b_0``;
* ``exp``: ``b_k = (1/k) sum_j j a_j b_(k-j)``; ``log``: ``b_k = (a_k - (1/k) sum_(j<k)
  j b_j a_(k-j)) / a_0``; ``a^r`` for a constant ``r``: ``b_k = (1/(k a_0)) sum_(j<k)
  (r (k-j) - j) a_(k-j) b_j``, which also gives the real cube root;
* ``sin``/``cos`` and ``sinh``/``cosh`` as coupled pairs; ``tan``, ``tanh`` and
  ``sigmoid`` through the series of their derivatives ``1 + tan^2``, ``1 - tanh^2``,
  ``s (1 - s)``, filled in the same loop;
* ``atan``, ``asin``, ``acos``, ``asinh``, ``acosh``, ``atanh``, ``erf``, ``softplus``:
  the integral of the series of ``u' g(u)``, whose ``g`` (``1 / (1 + u^2)``, ...) is built
  from the rules above;
* ``abs``, ``sign``, ``relu``, ``min``, ``max``: the branch taken at ``t0``, with the
  conventions of JAX's own derivatives at the switch (``abs'(0) = 1``, ``relu'(0) = 0``,
  the mean of both sides for ``min``/``max`` at a tie).

Every coefficient ``c_0`` is the value JAX computes for the same node, and a node whose
value is NaN (a point outside its domain) has NaN coefficients of every order.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

from jaxcalc.expressions.builders import integer_exponent
from jaxcalc.expressions.vocabulary import ARITHMETIC, CONSTANTS, FUNCTIONS

__all__ = ["series"]

# Integer powers up to this size are products (exact where the base is 0); above, the
# recurrence for a^r.
_MAX_PRODUCT_POWER = 64


class _Series:
    """The coefficients ``c_0 .. c_n`` of a value that depends on the variable."""

    __slots__ = ("c",)

    def __init__(self, c: jax.Array):
        self.c = c


def series(tree: ast.AST, variable: str, x0: jax.Array, order: int, scale) -> jax.Array:
    """The coefficients ``c_0 .. c_order`` of ``t -> f(x0 + scale * t)`` at ``t = 0``.

    ``f`` is the checked expression ``tree`` of the one ``variable``; ``x0`` is a scalar.
    ``c_k = f^(k)(x0) scale^k / k!``: a ``scale`` of ``(k!)^(1/k)`` makes ``c_k`` the
    ``k``-th derivative itself, keeping high orders in the range of float32.
    """
    n = order + 1
    seed = jnp.zeros(n, x0.dtype).at[0].set(x0)
    if n > 1:
        seed = seed.at[1].set(jnp.asarray(scale, x0.dtype))
    out = _walk(tree, {variable: _Series(seed)}, n, x0.dtype)
    if isinstance(out, _Series):
        c = out.c.astype(x0.dtype)
    else:  # a constant: its value, as the expression gives it at x0
        c = jnp.zeros(n, x0.dtype).at[0].set(jnp.asarray(out, x0.dtype))
    return jnp.where(jnp.isnan(c[0]), jnp.nan, c)


def _walk(node: ast.AST, env: dict, n: int, dtype) -> _Series | jax.Array:
    if isinstance(node, ast.Constant):
        return jnp.asarray(float(node.value), dtype)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return jnp.asarray(CONSTANTS[node.id].value, dtype)
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _walk(node.operand, env, n, dtype)
        if isinstance(node.op, ast.USub):
            return _Series(-operand.c) if isinstance(operand, _Series) else -operand
        return operand
    if isinstance(node, ast.Call):
        name = node.func.id
        args = [_walk(a, env, n, dtype) for a in node.args]
        if not any(isinstance(a, _Series) for a in args):
            return FUNCTIONS[name].jax(*args)
        return _nan_where_undefined(_CALLS[name](*args))
    left = _walk(node.left, env, n, dtype)
    op = type(node.op)
    if op is ast.Pow:
        return _power(node, left, env, n, dtype)
    right = _walk(node.right, env, n, dtype)
    if not isinstance(left, _Series) and not isinstance(right, _Series):
        return ARITHMETIC[op](left, right)
    if op is ast.Add or op is ast.Sub:
        sign = 1 if op is ast.Add else -1
        return _Series(_coefficients(left, n) + sign * _coefficients(right, n))
    if op is ast.Mult:
        return _mul(left, right)
    return _nan_where_undefined(_div(left, right, n))


def _coefficients(v: _Series | jax.Array, n: int) -> jax.Array:
    if isinstance(v, _Series):
        return v.c
    return jnp.zeros(n, jnp.result_type(v)).at[0].set(v)


def _nan_where_undefined(s: _Series) -> _Series:
    return _Series(jnp.where(jnp.isnan(s.c[0]), jnp.nan, s.c))


# ----------------------------------------------------------------------------------------
# Products, quotients, powers


def _cauchy(a: jax.Array, b: jax.Array) -> jax.Array:
    """``c_k = sum_(j<=k) a_j b_(k-j)`` for all k: one lower-triangular Toeplitz product."""
    n = a.shape[0]
    lag = jnp.arange(n)[:, None] - jnp.arange(n)[None, :]
    toeplitz = jnp.where(lag >= 0, a[jnp.clip(lag, 0, n - 1)], 0)
    return jnp.matmul(toeplitz, b, precision=lax.Precision.HIGHEST)


def _term(a: jax.Array, b: jax.Array, k) -> jax.Array:
    """``sum_(j<=k) a_j b_(k-j)`` for one (traced) ``k``."""
    j = jnp.arange(a.shape[0])
    lag = k - j
    return jnp.sum(jnp.where(lag >= 0, a * b[jnp.clip(lag, 0, a.shape[0] - 1)], 0))


def _mul(a, b) -> _Series:
    if not isinstance(a, _Series):
        return _Series(a * b.c)
    if not isinstance(b, _Series):
        return _Series(a.c * b)
    return _Series(_cauchy(a.c, b.c))


def _div(a, b, n: int) -> _Series:
    if not isinstance(b, _Series):
        return _Series(a.c / b)
    num = _coefficients(a, n).astype(b.c.dtype)
    return _Series(_quotient(num, b.c))


def _quotient(a: jax.Array, b: jax.Array) -> jax.Array:
    def body(k, c):
        return c.at[k].set((a[k] - _term(b, c, k)) / b[0])

    return lax.fori_loop(1, a.shape[0], body, jnp.zeros_like(a).at[0].set(a[0] / b[0]))


def _integer_power(a: jax.Array, p: int) -> jax.Array:
    """``a^p`` for an integer ``p`` by repeated squaring (exact at ``a_0 = 0``)."""
    result = jnp.zeros_like(a).at[0].set(1.0)
    base, m = a, abs(p)
    while m:
        if m & 1:
            result = _cauchy(result, base)
        m >>= 1
        if m:
            base = _cauchy(base, base)
    return _quotient(jnp.zeros_like(a).at[0].set(1.0), result) if p < 0 else result


def _real_power(a: jax.Array, r) -> jax.Array:
    j = jnp.arange(a.shape[0])
    ja = j * a

    def body(k, b):
        total = r * _term(ja, b, k) - _term(j * b, a, k)
        return b.at[k].set(total / (k * a[0]))

    b0 = jnp.power(a[0], r)
    return lax.fori_loop(1, a.shape[0], body, jnp.zeros_like(a).at[0].set(b0))


def _static_integer(v) -> int | None:
    """``v`` as a Python int when it is a known (not traced) integer-valued constant."""
    try:
        value = float(v)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None
    if math.isfinite(value) and value == int(value) and abs(value) <= _MAX_PRODUCT_POWER:
        return int(value)
    return None


def _power(node: ast.BinOp, left, env: dict, n: int, dtype):
    literal = integer_exponent(node.right)
    right = _walk(node.right, env, n, dtype)
    if not isinstance(left, _Series) and not isinstance(right, _Series):
        return left**literal if literal is not None else jnp.power(left, right)
    if isinstance(right, _Series):  # a^b = exp(b log a)
        log_a = _log(left) if isinstance(left, _Series) else jnp.log(left)
        return _nan_where_undefined(_exp(_mul(right, log_a)))
    p = literal if literal is not None else _static_integer(right)
    if p is not None and abs(p) <= _MAX_PRODUCT_POWER:
        return _nan_where_undefined(_Series(_integer_power(left.c, p)))
    return _nan_where_undefined(_Series(_real_power(left.c, right)))


# ----------------------------------------------------------------------------------------
# Elementary functions


def _exp(a: _Series) -> _Series:
    ja = jnp.arange(a.c.shape[0]) * a.c

    def body(k, b):
        return b.at[k].set(_term(ja, b, k) / k)

    return _Series(
        lax.fori_loop(1, a.c.shape[0], body, jnp.zeros_like(a.c).at[0].set(jnp.exp(a.c[0])))
    )


def _log_base(scale: float, value: Callable) -> Callable:
    def log(a: _Series) -> _Series:
        c = a.c
        j = jnp.arange(c.shape[0])

        def body(k, b):
            return b.at[k].set((c[k] - _term(j * b, c, k) / k) / c[0])

        b = lax.fori_loop(1, c.shape[0], body, jnp.zeros_like(c).at[0].set(jnp.log(c[0])))
        return _Series((b / scale).at[0].set(value(c[0])))

    return log


_log = _log_base(1.0, jnp.log)


def _sqrt(a: _Series) -> _Series:
    c = a.c

    def body(k, b):
        return b.at[k].set((c[k] - _term(b, b, k)) / (2 * b[0]))

    return _Series(lax.fori_loop(1, c.shape[0], body, jnp.zeros_like(c).at[0].set(jnp.sqrt(c[0]))))


def _cbrt(a: _Series) -> _Series:
    # the recurrence of a^(1/3) holds for the real cube root on both sides of 0
    c = a.c
    j = jnp.arange(c.shape[0])
    ja = j * c

    def body(k, b):
        return b.at[k].set((_term(ja, b, k) / 3 - _term(j * b, c, k)) / (k * c[0]))

    return _Series(lax.fori_loop(1, c.shape[0], body, jnp.zeros_like(c).at[0].set(jnp.cbrt(c[0]))))


def _pair(sign: float, first: Callable, second: Callable) -> Callable:
    """(s, c) with s' = c u', c' = sign * s u': sin/cos (sign -1), sinh/cosh (sign +1)."""

    def both(a: _Series) -> tuple[jax.Array, jax.Array]:
        ja = jnp.arange(a.c.shape[0]) * a.c

        def body(k, sc):
            s, c = sc
            return s.at[k].set(_term(ja, c, k) / k), c.at[k].set(sign * _term(ja, s, k) / k)

        zero = jnp.zeros_like(a.c)
        init = (zero.at[0].set(first(a.c[0])), zero.at[0].set(second(a.c[0])))
        return lax.fori_loop(1, a.c.shape[0], body, init)

    return both


_sin_cos = _pair(-1.0, jnp.sin, jnp.cos)
_sinh_cosh = _pair(1.0, jnp.sinh, jnp.cosh)


def _self_derivative(value: Callable, slope: Callable) -> Callable:
    """A function ``v`` with ``v' = g(v) u'`` where ``g(v)`` is a polynomial in ``v``:
    ``slope(v, k, g)`` gives the coefficient ``g_k`` once ``v_0 .. v_k`` are known."""

    def rule(a: _Series) -> _Series:
        c = a.c
        ja = jnp.arange(c.shape[0]) * c

        def body(k, vg):
            v, g = vg
            v = v.at[k].set(_term(ja, g, k) / k)
            return v, g.at[k].set(slope(v, k))

        v0 = jnp.zeros_like(c).at[0].set(value(c[0]))
        g0 = jnp.zeros_like(c).at[0].set(slope(v0, 0))
        return _Series(lax.fori_loop(1, c.shape[0], body, (v0, g0))[0])

    return rule


def _one_plus_square(sign: float) -> Callable:
    def slope(v, k):
        return jnp.where(k == 0, 1.0, 0.0) + sign * _term(v, v, k)

    return slope


def _logistic_slope(v, k):
    return v[k] - _term(v, v, k)


def _shift_down(c: jax.Array) -> jax.Array:
    """The series of u' (truncated: the top coefficient is unknown and set to 0)."""
    k = jnp.arange(1, c.shape[0])
    return jnp.zeros_like(c).at[:-1].set(k * c[1:])


def _integral(value: jax.Array, q: jax.Array) -> _Series:
    """The series ``v`` with ``v_0 = value`` and ``v' = q``."""
    k = jnp.arange(1, q.shape[0])
    return _Series(jnp.zeros_like(q).at[0].set(value).at[1:].set(q[:-1] / k))


def _by_integral(value: Callable, integrand: Callable) -> Callable:
    """v(u) from v(u_0) and dv/dt = u' g(u): ``integrand(u)`` is the series of g(u)."""

    def rule(a: _Series) -> _Series:
        q = _cauchy(_shift_down(a.c), integrand(a.c))
        return _integral(value(a.c[0]), q)

    return rule


def _unit(c: jax.Array) -> jax.Array:
    return jnp.zeros_like(c).at[0].set(1.0)


def _reciprocal(c: jax.Array) -> jax.Array:
    return _quotient(_unit(c), c)


def _inverse_sqrt(c: jax.Array) -> jax.Array:
    return _reciprocal(_sqrt(_Series(c)).c)


def _square(c: jax.Array) -> jax.Array:
    return _cauchy(c, c)


def _sigmoid_series(c: jax.Array) -> jax.Array:
    return _self_derivative(jax.nn.sigmoid, _logistic_slope)(_Series(c)).c


def _at_branch(choose: Callable) -> Callable:
    def rule(a: _Series) -> _Series:
        return _Series(choose(a.c[0]) * a.c)

    return rule


def _sign(a: _Series) -> _Series:
    return _Series(jnp.zeros_like(a.c).at[0].set(jnp.sign(a.c[0])))


def _pick(smaller: bool) -> Callable:
    def rule(a, b) -> _Series:
        dtype = a.c.dtype if isinstance(a, _Series) else b.c.dtype
        n = a.c.shape[0] if isinstance(a, _Series) else b.c.shape[0]
        ca, cb = _coefficients(a, n).astype(dtype), _coefficients(b, n).astype(dtype)
        first = ca[0] < cb[0] if smaller else ca[0] > cb[0]
        tie = ca[0] == cb[0]
        out = jnp.where(tie, (ca + cb) / 2, jnp.where(first, ca, cb))
        value = jnp.minimum(ca[0], cb[0]) if smaller else jnp.maximum(ca[0], cb[0])
        return _Series(out.at[0].set(value))

    return rule


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

_CALLS: dict[str, Callable] = {
    "sin": lambda a: _Series(_sin_cos(a)[0]),
    "cos": lambda a: _Series(_sin_cos(a)[1]),
    "tan": _self_derivative(jnp.tan, _one_plus_square(1.0)),
    "sinh": lambda a: _Series(_sinh_cosh(a)[0]),
    "cosh": lambda a: _Series(_sinh_cosh(a)[1]),
    "tanh": _self_derivative(jnp.tanh, _one_plus_square(-1.0)),
    "asin": _by_integral(jnp.arcsin, lambda c: _inverse_sqrt(_unit(c) - _square(c))),
    "acos": _by_integral(jnp.arccos, lambda c: -_inverse_sqrt(_unit(c) - _square(c))),
    "atan": _by_integral(jnp.arctan, lambda c: _reciprocal(_unit(c) + _square(c))),
    "asinh": _by_integral(jnp.arcsinh, lambda c: _inverse_sqrt(_square(c) + _unit(c))),
    "acosh": _by_integral(jnp.arccosh, lambda c: _inverse_sqrt(_square(c) - _unit(c))),
    "atanh": _by_integral(jnp.arctanh, lambda c: _reciprocal(_unit(c) - _square(c))),
    "exp": _exp,
    "log": _log,
    "log2": _log_base(math.log(2), jnp.log2),
    "log10": _log_base(math.log(10), jnp.log10),
    "sqrt": _sqrt,
    "cbrt": _cbrt,
    "abs": _at_branch(lambda v: jnp.where(v >= 0, 1.0, -1.0)),
    "sign": _sign,
    "relu": _at_branch(lambda v: jnp.where(v > 0, 1.0, 0.0)),
    "erf": _by_integral(
        jax.scipy.special.erf,
        lambda c: _TWO_OVER_SQRT_PI * _exp(_Series(-_square(c))).c,
    ),
    "sigmoid": lambda a: _Series(_sigmoid_series(a.c)),
    "softplus": _by_integral(jax.nn.softplus, _sigmoid_series),
    "min": _pick(True),
    "max": _pick(False),
}
