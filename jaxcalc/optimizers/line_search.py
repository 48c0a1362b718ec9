"""Backtracking (Armijo) line search with a capped number of trials.

Reference: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006,
Algorithm 3.1 (backtracking line search) and condition (3.4) (sufficient decrease).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["LineSearchResult", "backtracking"]


class LineSearchResult(NamedTuple):
    step: jax.Array  # the accepted step length (0 when none was found)
    value: jax.Array  # f at x + step * direction (f(x) when none was found)
    evaluations: jax.Array  # function evaluations spent
    success: jax.Array  # whether the sufficient-decrease condition was met


def backtracking(
    fun,
    x: jax.Array,
    value: jax.Array,
    grad: jax.Array,
    direction: jax.Array,
    *,
    initial_step: jax.Array | float = 1.0,
    c1: jax.Array | float = 1e-4,
    shrink: jax.Array | float = 0.5,
    max_trials: int = 30,
) -> LineSearchResult:
    """Largest ``t = initial_step * shrink**k`` (k < max_trials) with
    ``f(x + t d) <= f(x) + c1 t grad.d`` and ``f(x + t d)`` finite.

    Non-finite trial values count as failures, so a step into a region where f is not
    defined is shrunk rather than taken. The loop stops at ``max_trials`` (under ``vmap``
    a batch waits for its slowest run, so the cap bounds every run's cost).
    """
    slope = jnp.vdot(grad, direction)
    t0 = jnp.asarray(initial_step, x.dtype)

    def trial(t):
        return fun(x + t * direction)

    def accepted(t, f_t):
        return jnp.isfinite(f_t) & (f_t <= value + c1 * t * slope)

    def cond(carry):
        k, t, f_t, ok = carry
        return (k < max_trials) & ~ok

    def body(carry):
        k, t, _, _ = carry
        t = t * shrink
        f_t = trial(t)
        return k + 1, t, f_t, accepted(t, f_t)

    f0 = trial(t0)
    k, t, f_t, ok = jax.lax.while_loop(cond, body, (jnp.int32(1), t0, f0, accepted(t0, f0)))
    ok = ok & (slope < 0)
    return LineSearchResult(
        step=jnp.where(ok, t, 0.0).astype(x.dtype),
        value=jnp.where(ok, f_t, value),
        evaluations=k,
        success=ok,
    )
