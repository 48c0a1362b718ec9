"""Stationary points in an interval or a box: Newton's method from many starts, then classified."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.calculus import derivative
from jaxcalc.errors import ConfigError
from jaxcalc.functions import as_function

__all__ = ["CriticalPoint", "critical_points"]


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

    Raises:
      ConfigError: ``lo`` and ``hi`` are not numbers (or arrays) with ``lo < hi``.

    Example:
      >>> [(round(p.x, 6), p.kind) for p in critical_points("x^3 - 3x", -3, 3)]
      [(-1.0, 'maximum'), (1.0, 'minimum')]
    """
    lo_arr, hi_arr = _box(lo, hi)
    one_d = np.ndim(lo) == 0
    fn = as_function(f, dim=1 if one_d else len(lo_arr))
    dtype = jnp.result_type(float)
    lo_j, hi_j = jnp.asarray(lo_arr, dtype), jnp.asarray(hi_arr, dtype)
    if one_d:
        lo_1, hi_1 = np.asarray(lo_arr[0], dtype), np.asarray(hi_arr[0], dtype)
        xs, gs, fs = _newton_1d(fn, lo_1, hi_1, starts or 400, iterations, dtype)
    else:
        count = starts or min(4096, 64 * len(lo_arr))
        xs, gs, fs = _newton_nd(fn, lo_j, hi_j, count, iterations, seed, dtype)
    xs, gs, fs = np.asarray(xs), np.abs(np.asarray(gs)), np.asarray(fs)
    gtol = 1e-4 if dtype == jnp.float32 else 1e-8
    good = np.isfinite(fs) & (gs <= gtol * (1.0 + np.abs(fs)))
    eps = float(jnp.finfo(dtype).eps)
    merge = 10 * math.sqrt(eps) * max(1.0, float(np.max(hi_arr - lo_arr)))
    kept = _deduplicate(xs[good], gs[good], merge)
    if one_d:
        kept.sort(key=tuple)
        tol = 1e3 * eps if dtype == jnp.float64 else 1e-3
        if not kept:
            return []
        at = np.concatenate(kept)
        values, kinds = _classify_1d(fn, at.astype(dtype), tol)
        return [
            CriticalPoint(float(xi), float(v), kind)
            for xi, v, kind in zip(at, values, kinds, strict=True)
        ]
    if not kept:
        return []
    # values and Hessians of every point in one compiled call each (one by one, eagerly,
    # ten variables and a few hundred points took a minute)
    points = jnp.asarray(np.stack(kept), dtype)
    values = np.asarray(jax.jit(jax.vmap(fn))(points), np.float64)
    hessians = np.asarray(jax.jit(jax.vmap(jax.hessian(fn)))(points), np.float64)
    order = np.argsort(values, kind="stable")
    return [_point_nd(kept[i], values[i], hessians[i]) for i in order]


def _box(lo: Any, hi: Any) -> tuple[np.ndarray, np.ndarray]:
    try:
        lo_arr = np.atleast_1d(np.asarray(lo, float))
        hi_arr = np.atleast_1d(np.asarray(hi, float))
    except (TypeError, ValueError):
        raise ConfigError(f"lo and hi must be numbers; got lo={lo!r}, hi={hi!r}") from None
    if lo_arr.shape != hi_arr.shape or np.any(~(lo_arr < hi_arr)):
        raise ConfigError(f"need lo < hi componentwise, got lo={lo!r}, hi={hi!r}")
    return lo_arr, hi_arr


def _newton_1d(fn: Callable, lo, hi, count: int, iterations: int, dtype) -> tuple:
    """Newton on f' from an even grid of ``count`` starts: final x, f'(x), f(x) per start."""
    g, h = jax.grad(fn), jax.grad(jax.grad(fn))

    def newton_1d(x):
        def step(x, _):
            gx, hx = g(x), h(x)
            newton = gx / jnp.where(hx == 0, 1.0, hx)
            safe = (hx != 0) & jnp.isfinite(newton)
            x_new = jnp.where(safe, x - newton, x - 0.1 * gx)
            x_new = jnp.clip(jnp.where(jnp.isfinite(x_new), x_new, x), lo, hi)
            return x_new, None

        x, _ = jax.lax.scan(step, x, None, length=iterations)
        return x, g(x), fn(x)

    # the starts are made in the same compiled program
    return jax.jit(lambda: jax.vmap(newton_1d)(jnp.linspace(lo, hi, count, dtype=dtype)))()


def _newton_nd(fn: Callable, lo, hi, count: int, iterations: int, seed: int, dtype) -> tuple:
    """Newton on the gradient from ``count`` uniform random starts: x, |grad f|, f per start."""
    u = jax.random.uniform(jax.random.key(seed), (count, lo.shape[0]), dtype)
    x0 = lo + (hi - lo) * u
    g, hess = jax.grad(fn), jax.hessian(fn)

    def newton_nd(x):
        def step(x, _):
            gx, hx = g(x), hess(x)
            dx = jnp.linalg.solve(hx, gx)
            ok = jnp.all(jnp.isfinite(dx))
            x_new = jnp.clip(jnp.where(ok, x - dx, x - 0.1 * gx), lo, hi)
            x_new = jnp.where(jnp.all(jnp.isfinite(x_new)), x_new, x)
            return x_new, None

        x, _ = jax.lax.scan(step, x, None, length=iterations)
        return x, jnp.linalg.norm(g(x)), fn(x)

    return jax.jit(jax.vmap(newton_nd))(x0)


def _deduplicate(xs: np.ndarray, gs: np.ndarray, merge: float) -> list[np.ndarray]:
    """One point per cluster of width ``merge``: the most stationary representative."""
    kept: list[np.ndarray] = []
    for i in np.argsort(gs):
        xi = np.atleast_1d(xs[i])
        if any(np.max(np.abs(xi - k)) <= merge for k in kept):
            continue
        kept.append(xi)
    return kept


def _classify_1d(fn: Callable, x: np.ndarray, tol: float) -> tuple[np.ndarray, list[str]]:
    """f at each stationary point ``x`` and its kind, by the first derivative of order 2 to
    8 that does not vanish (relative to ``1 + |f|``): even order, a minimum or maximum by
    its sign; odd, an inflection; none, or one not finite, "degenerate".

    f and f'' at every point are one compiled program; a higher order is computed only for
    the points still undecided, one program per order.
    """
    both = jax.jit(lambda x: (derivative(fn, 0)(x), derivative(fn, 2)(x)))
    values, second = both(jnp.asarray(x))
    values = np.asarray(values, np.float64)
    scale = 1.0 + np.abs(values)
    kinds = ["degenerate"] * len(values)
    undecided = np.arange(len(values))
    d = np.asarray(second, np.float64)
    for k in range(2, 9):
        if k > 2:
            d = np.asarray(derivative(fn, k)(jnp.asarray(x[undecided])), np.float64)
        finite = np.isfinite(d)
        decided = ~finite | (np.abs(d) > tol * scale[undecided])
        for i, dk, ok in zip(undecided[decided], d[decided], finite[decided], strict=True):
            if ok:
                kinds[i] = "inflection" if k % 2 == 1 else ("minimum" if dk > 0 else "maximum")
        undecided = undecided[~decided]
        if not undecided.size:
            break
    return values, kinds


def _point_nd(xi: np.ndarray, value: float, hessian: np.ndarray) -> CriticalPoint:
    """Classified by the Hessian's eigenvalues (computed in float64)."""
    eig = np.linalg.eigvalsh(hessian)
    tol = 1e-6 * max(1.0, np.max(np.abs(eig)))
    if np.all(eig > tol):
        kind = "minimum"
    elif np.all(eig < -tol):
        kind = "maximum"
    elif np.any(eig > tol) and np.any(eig < -tol):
        kind = "saddle"
    else:
        kind = "degenerate"
    return CriticalPoint(xi.copy(), float(value), kind)
