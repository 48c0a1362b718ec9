"""One-sided difference quotients, and what they say about the slope at a point."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxcalc.functions import float_array

__all__ = [
    "SLOPE_KINK",
    "SLOPE_NONFINITE_VALUE",
    "SLOPE_OK",
    "SLOPE_UNDEFINED",
    "SLOPE_VERTICAL",
    "SlopeDiagnosis",
    "diagnose_slope",
    "one_sided_slopes",
]


def one_sided_slopes(f: Callable, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Backward and forward difference quotients at ``x`` (step ``eps**(1/3) * max(1,|x|)``)."""
    x = float_array(x)
    quotients = _quotients(f, x)
    return quotients.left, quotients.right


# Codes of SlopeDiagnosis.code
SLOPE_OK, SLOPE_NONFINITE_VALUE, SLOPE_VERTICAL, SLOPE_KINK, SLOPE_UNDEFINED = range(5)


class _Quotients(NamedTuple):
    value: jax.Array
    left: jax.Array  # one-sided quotients at the coarse step h
    right: jax.Array
    left_fine: jax.Array  # and at h / 8
    right_fine: jax.Array
    step_fine: jax.Array


def _quotients(f: Callable, x: jax.Array) -> _Quotients:
    eps = jnp.finfo(x.dtype).eps
    coarse = eps ** (1 / 3) * jnp.maximum(1.0, jnp.abs(x))
    fx = f(x)

    def pair(h):
        above, below = x + h, x - h
        # divide by the steps actually taken (x + h is rounded), not by h
        return (fx - f(below)) / (x - below), (f(above) - fx) / (above - x)

    left, right = pair(coarse)
    left_fine, right_fine = pair(coarse / 8)
    return _Quotients(fx, left, right, left_fine, right_fine, coarse / 8)


class SlopeDiagnosis(NamedTuple):
    """Whether a scalar function has a (finite, two-sided) derivative at each point.

    ``code``: SLOPE_OK; SLOPE_NONFINITE_VALUE (f itself is not finite); SLOPE_VERTICAL
    (the difference quotients grow as the step shrinks, or autodiff gives inf: an infinite
    slope); SLOPE_KINK (left and right quotients keep a gap as the step shrinks: a corner);
    SLOPE_UNDEFINED (autodiff gives NaN with no corner or infinite slope found).
    """

    value: jax.Array
    autodiff: jax.Array
    left: jax.Array
    right: jax.Array
    code: jax.Array


def diagnose_slope(f: Callable, x: jax.Array, autodiff: jax.Array) -> SlopeDiagnosis:
    """Classify each point of ``x`` (elementwise) by how ``f`` behaves around it.

    A smooth function's left and right quotients differ by about ``h f''``, which shrinks
    with the step; at a corner the gap stays. Near a vertical tangent the quotients grow as
    the step shrinks (like ``h**-1/2`` for sqrt at 0). Comparing two steps (h and h/8)
    tells these apart without mistaking curvature (``1000 x^2`` at 0) or a large slope
    (``exp(x)`` at 20) for a problem. The round-off level ``eps |f| / h`` is allowed for.

    The whole diagnosis is one compiled program (called eagerly, its two dozen operations
    would each compile one of their own).
    """
    return jax.jit(lambda x, autodiff: _diagnose(f, x, autodiff))(x, autodiff)


def _diagnose(f: Callable, x: jax.Array, autodiff: jax.Array) -> SlopeDiagnosis:
    q = _quotients(f, x)
    eps = jnp.finfo(x.dtype).eps
    noise = 16 * eps * (jnp.abs(q.value) + 1.0) / q.step_fine
    rtol = 1e-3 if x.dtype == jnp.float32 else 1e-6
    tol = noise + rtol * (jnp.abs(q.left_fine) + jnp.abs(q.right_fine) + 1.0)
    gap, gap_fine = q.right - q.left, q.right_fine - q.left_fine
    kink = (jnp.abs(gap_fine) > tol) & (jnp.abs(gap_fine) > 0.5 * jnp.abs(gap))
    growing = (jnp.abs(q.right_fine) > 2 * jnp.abs(q.right) + tol) | (
        jnp.abs(q.left_fine) > 2 * jnp.abs(q.left) + tol
    )
    code = jnp.select(
        [
            ~jnp.isfinite(q.value),
            jnp.isinf(autodiff) | growing,
            kink,
            ~jnp.isfinite(autodiff),
        ],
        [SLOPE_NONFINITE_VALUE, SLOPE_VERTICAL, SLOPE_KINK, SLOPE_UNDEFINED],
        SLOPE_OK,
    )
    return SlopeDiagnosis(q.value, autodiff, q.left_fine, q.right_fine, code)
