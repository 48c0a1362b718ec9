"""Finite differences and their error estimates, and D2L's limit table.

:func:`numeric_derivative` is the working home of the removed ``scipy.misc.derivative``:
vectorised over arrays, jittable, with a default step chosen from the dtype and an
optional error estimate by Richardson extrapolation. :func:`adaptive_derivative` chooses
the step per point; :func:`limit_table` shows the difference quotients as ``h -> 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.calculus import derivative
from jaxcalc.errors import ConfigError
from jaxcalc.formatting import format_number
from jaxcalc.functions import as_function, float_array

__all__ = [
    "LimitTable",
    "NumericDerivative",
    "adaptive_derivative",
    "default_step",
    "limit_table",
    "numeric_derivative",
]

_METHODS = ("central", "forward", "backward")


class NumericDerivative(NamedTuple):
    """A finite-difference derivative with its estimated absolute error."""

    value: jax.Array
    error: jax.Array


def default_step(x: jax.Array, method: str = "central") -> jax.Array:
    """The step balancing truncation and round-off error for ``x``'s dtype.

    ``eps**(1/3) * max(1, |x|)`` for central differences (error O(h^2)) and
    ``eps**(1/2) * max(1, |x|)`` for one-sided ones (error O(h)).
    """
    eps = jnp.finfo(x.dtype).eps
    power = 1 / 3 if method == "central" else 1 / 2
    return eps**power * jnp.maximum(1.0, jnp.abs(x))


def _difference(f: Callable, x: jax.Array, h: jax.Array, method: str) -> jax.Array:
    above, below = x + h, x - h  # rounded: divide by the steps actually taken
    if method == "central":
        return (f(above) - f(below)) / (above - below)
    if method == "forward":
        return (f(above) - f(x)) / (above - x)
    return (f(x) - f(below)) / (x - below)


def numeric_derivative(
    f: Callable | str,
    x: Any,
    h: Any = None,
    method: str = "central",
    *,
    estimate_error: bool = False,
) -> jax.Array | NumericDerivative:
    """The first derivative of a vectorised scalar function by finite differences.

    Args:
      f: a function applied elementwise to arrays (callable or expression text).
      x: the points, any shape; integers are cast to floats.
      h: the step (scalar or broadcastable to ``x``). By default the step is chosen per
        point (:func:`adaptive_derivative`): from ``|x| / 2`` down, halving, with
        Richardson extrapolation, keeping the step whose estimated error is smallest. No
        step reaches past 0 (where ``log``, ``sqrt`` or ``1/x`` end), and a step at which
        ``f`` is not finite (past the end of its domain) is never used.
      method: "central" (error O(h^2)), "forward" or "backward" (error O(h)).
      estimate_error: also return an error estimate. With a given ``h``, the value is then
        Richardson's extrapolation of the quotients at ``h`` and ``2h`` (one order more
        accurate), and the error is the size of that correction plus the round-off bound
        ``eps * |f(x)| / h``. By default the estimate comes with the chosen step; it bounds
        the actual error in over 95% of the cases measured (docs/derivatives.md).

    Returns:
      An array shaped like ``x``, or a :class:`NumericDerivative` (value, error). Where
      ``f(x)`` is NaN (outside f's domain), or no step keeps ``f`` finite, the value is NaN
      and its error infinite.

    Example (the course's ``scipy.misc.derivative(f, 2.0)``):
      >>> round(float(numeric_derivative(lambda x: 3 * x**2 + 1, 2.0)), 3)
      12.0
    """
    if method not in _METHODS:
        raise ConfigError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    fn = as_function(f, dim=1)
    x = float_array(x)
    if h is None:
        result = adaptive_derivative(fn, x, method)
        return result if estimate_error else result.value
    step = jnp.asarray(h, x.dtype)
    if not estimate_error:
        return _difference(fn, x, step, method)
    d1 = _difference(fn, x, step, method)
    d2 = _difference(fn, x, 2 * step, method)
    p = 2 if method == "central" else 1
    correction = (d1 - d2) / (2**p - 1)
    # round-off: each f value carries ~eps|f|, divided by the step and amplified by the
    # extrapolation weights (2^p + 1) / (2^p - 1) <= 3; doubled for safety
    size = jnp.maximum(jnp.abs(fn(x)), jnp.maximum(jnp.abs(fn(x + step)), jnp.abs(fn(x - step))))
    roundoff = 6 * jnp.finfo(x.dtype).eps * size / step
    return NumericDerivative(d1 + correction, 2 * jnp.abs(correction) + roundoff)


# The adaptive rule. Steps h_j = s 2^-(j+1), s = |x| (1 at x = 0), down to about
# s eps^0.6; the error terms removed by Richardson extrapolation (powers of h), and the
# factor by which the chosen estimate is widened: the estimate is the difference of two
# neighbouring extrapolations (plus round-off), and picking the smallest of many such
# differences favours ones that are small by chance.
_SMALLEST_STEP_POWER = 0.6
_REMOVED_POWERS = {"central": (2, 4), "forward": (1, 2, 3), "backward": (1, 2, 3)}
_ESTIMATE_SAFETY = 1.0
_ROUNDOFF_ULPS = 2.0


def adaptive_derivative(fn: Callable, x: jax.Array, method: str = "central") -> NumericDerivative:
    """The derivative at each point of ``x`` with the step chosen for that point.

    Difference quotients at steps ``h_j = s 2^-(j+1)`` (``s = |x|``, or 1 at 0) are
    extrapolated (Richardson, removing the ``h^2`` and ``h^4`` terms of central
    differences, ``h .. h^3`` of one-sided ones). The error of each extrapolation is
    estimated by its difference to the next one (smaller steps) plus the round-off
    ``eps |f| / h`` amplified by the extrapolation weights; the value with the smallest
    estimate wins. Steps at which ``f`` is not finite are left out, so no quotient spans a
    point where ``f`` leaves its domain; a pole (``1/(x-1)`` seen from near 1) shows up as
    disagreeing extrapolations and is passed over in the same way.
    """
    dt = x.dtype
    eps = float(jnp.finfo(dt).eps)
    count = math.ceil(math.log2(0.5 / eps**_SMALLEST_STEP_POWER)) + 1
    scale = jnp.where(x == 0, 1.0, jnp.abs(x)).astype(dt)
    factors = jnp.asarray(2.0 ** -np.arange(1, count + 1), dt).reshape((count,) + (1,) * x.ndim)
    steps = factors * scale  # (count, *x.shape)
    center = fn(x)
    if method == "central":
        above, below = x + steps, x - steps
    elif method == "forward":
        above, below = x + steps, jnp.broadcast_to(x, steps.shape)
    else:
        above, below = jnp.broadcast_to(x, steps.shape), x - steps
    f_above = fn(above) if method != "backward" else jnp.broadcast_to(center, steps.shape)
    f_below = fn(below) if method != "forward" else jnp.broadcast_to(center, steps.shape)
    quotients = (f_above - f_below) / (above - below)
    finite = jnp.isfinite(f_above) & jnp.isfinite(f_below)
    size = jnp.maximum(jnp.abs(f_above), jnp.abs(f_below))
    size = jnp.maximum(size, jnp.abs(center))
    # round-off of one quotient: each f value carries ~ULPS eps |f|
    roundoff = _ROUNDOFF_ULPS * eps * size / (above - below) * 2
    values, rounds, oks = quotients, roundoff, finite
    for p in _REMOVED_POWERS[method]:
        w = 2.0**p - 1
        values = values[1:] + (values[1:] - values[:-1]) / w
        rounds = rounds[1:] * (w + 2) / w  # the finer quotient's round-off, amplified
        oks = oks[1:] & oks[:-1]
    estimate = jnp.abs(values[:-1] - values[1:]) + rounds[1:]
    valid = oks[:-1] & oks[1:] & jnp.isfinite(estimate)
    estimate = jnp.where(valid, estimate, jnp.inf)
    best = jnp.argmin(estimate, axis=0)
    value = jnp.take_along_axis(values[:-1], best[None], axis=0)[0]
    error = _ESTIMATE_SAFETY * jnp.take_along_axis(estimate, best[None], axis=0)[0]
    defined = jnp.isfinite(error) & ~jnp.isnan(center)
    return NumericDerivative(
        jnp.where(defined, value, jnp.nan).astype(dt), jnp.where(defined, error, jnp.inf).astype(dt)
    )


@dataclass(frozen=True)
class LimitTable:
    """Difference quotients ``(f(x+h) - f(x)) / h`` as ``h -> 0`` (D2L, section 2.4).

    Attributes:
      x: the point; exact: the derivative by automatic differentiation.
      steps, quotients, errors: one row per step (``errors = |quotient - exact|``).
      best: index of the most accurate row; below it round-off error wins over the
        truncation error.
    """

    x: float
    exact: float
    steps: np.ndarray
    quotients: np.ndarray
    errors: np.ndarray
    best: int
    dtype: str

    def rows(self) -> list[dict[str, float | str]]:
        marks = ["" for _ in self.steps]
        marks[self.best] = "best"
        for i in range(self.best + 1, len(self.steps)):
            marks[i] = "round-off wins"
        return [
            {"h": float(h), "quotient": float(q), "error": float(e), "note": m}
            for h, q, e, m in zip(self.steps, self.quotients, self.errors, marks, strict=True)
        ]

    def __str__(self) -> str:
        lines = [
            f"difference quotients at x = {format_number(self.x)} ({self.dtype}); "
            f"derivative {format_number(self.exact, 10)}",
            f"{'h':>10}  {'(f(x+h)-f(x))/h':>20}  {'error':>10}",
        ]
        for row in self.rows():
            lines.append(
                f"{row['h']:>10.0e}  {row['quotient']:>20.12g}  {row['error']:>10.2e}  "
                f"{row['note']}"
            )
        return "\n".join(lines)


def limit_table(f: Callable | str, x: float, steps: Any = None, *, dtype: Any = None) -> LimitTable:
    """D2L's table of forward difference quotients of ``f`` at ``x`` as ``h -> 0``.

    Args:
      f: scalar function of one variable.
      x: the point.
      steps: the steps ``h``; by default ``10^-1 .. 10^-k`` down to just past ``eps``.
      dtype: the float dtype to compute in (default JAX's default float dtype).
    """
    fn = as_function(f, dim=1)
    dt = _float_dtype(dtype)
    if jnp.zeros((), dt).dtype != dt:
        raise ConfigError(
            f"{dt.name} was asked for but JAX computes in {jnp.zeros((), dt).dtype.name}: "
            'enable it first with jax.config.update("jax_enable_x64", True)'
        )
    if steps is None:
        digits = int(-math.log10(float(jnp.finfo(dt).eps)))
        steps = [10.0**-k for k in range(1, digits + 2)]
    try:
        steps_arr = np.asarray(steps, dtype=np.float64)
    except (TypeError, ValueError):
        steps_arr = np.zeros(0)
    if steps_arr.ndim != 1 or steps_arr.size == 0 or not np.all(steps_arr > 0):
        raise ConfigError(f"steps must be a non-empty list of positive numbers; got {steps!r}")
    xj = jnp.asarray(x, dt)
    hs = jnp.asarray(steps_arr, dt)
    quotients = np.asarray((fn(xj + hs) - fn(xj)) / hs, dtype=np.float64)
    exact = float(derivative(fn)(xj))
    errors = np.abs(quotients - exact)
    best = int(np.nanargmin(np.where(np.isfinite(errors), errors, np.inf)))
    return LimitTable(
        float(xj), exact, np.asarray(hs, np.float64), quotients, errors, best, dt.name
    )


def _float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a float dtype (None: JAX's default float dtype)."""
    if dtype is None:
        return jnp.dtype(jnp.result_type(float))
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or not jnp.issubdtype(dt, jnp.floating):
        raise ConfigError(f"dtype {dtype!r} is not a float dtype; use float32 or float64")
    return dt
