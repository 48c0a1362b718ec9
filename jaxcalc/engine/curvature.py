"""The curvature check where runs stop: a 'converged' run at a maximum or saddle becomes
'non_minimum', one on a plateau 'stalled', a flat start at a verified minimum 'converged'.

The Hessian is formed only up to ``CURVATURE_CHECK_MAX_DIM`` dimensions; above it only the
plateau test runs (it needs f and one gradient), so a plateau is never 'converged' in any
dimension, while a saddle or maximum above it can still be reported 'converged'."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxcalc.engine import cache
from jaxcalc.engine.result import CODE
from jaxcalc.lapack import blocked

__all__ = ["CURVATURE_CHECK_MAX_DIM", "curvature_check", "curvature_program"]

CURVATURE_CHECK_MAX_DIM = 32  # the Hessian is checked up to this dimension


def lowest_eigenpair(h: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The smallest eigenvalue of a symmetric matrix, its unit eigenvector, and the largest
    eigenvalue magnitude: closed forms for 1x1 and 2x2, else LAPACK.

    The closed forms keep the common 1-D and 2-D programs free of an eigendecomposition,
    which takes XLA longer to compile (~0.3 s) than the rest of the check.
    """
    if h.shape[0] == 1:
        return h[0, 0], jnp.ones((1,), h.dtype), jnp.abs(h[0, 0])
    if h.shape[0] == 2:
        a, c, b = h[0, 0], h[1, 1], 0.5 * (h[0, 1] + h[1, 0])
        mean = 0.5 * (a + c)
        radius = jnp.hypot(0.5 * (a - c), b)
        low = mean - radius
        # (b, low - a) and (low - c, b) both solve (H - low) v = 0; take the longer one
        u = jnp.stack([b, low - a])
        w = jnp.stack([low - c, b])
        v = jnp.where(jnp.sum(u * u) >= jnp.sum(w * w), u, w)
        norm = jnp.sqrt(jnp.sum(v * v))
        axis = jnp.where(a <= c, jnp.array([1.0, 0.0], h.dtype), jnp.array([0.0, 1.0], h.dtype))
        v = jnp.where(norm > 0, v / jnp.where(norm > 0, norm, 1), axis)  # H = lambda I: any
        return low, v, jnp.abs(mean) + radius
    eig, vectors = blocked(jnp.linalg.eigh, *h.shape)(h)
    return eig[0], vectors[:, 0], jnp.max(jnp.abs(eig))


def curvature_check(fun, final_params: jax.Array, status: jax.Array) -> jax.Array:
    """Turn 'converged' (and 'flat_start') into 'non_minimum' / 'converged' by the Hessian,
    and 'converged' on a plateau into 'stalled' (only this above ``CURVATURE_CHECK_MAX_DIM``).

    A point is a maximum or saddle when the Hessian has an eigenvalue below ``-tol`` *and* f
    confirms it: f decreases along that eigenvector, a step ``h`` to either side (``h``
    large enough that the predicted decrease ``|lambda| h^2 / 2`` stands above f's rounding).
    The second test keeps functions whose Hessian is not continuous at their minimum (BBOB's
    oscillating T_osz transform: eigenvalues of -2e6 within 3e-12 of the optimum) from having
    their minima called saddles.
    """

    if final_params.shape[-1] > CURVATURE_CHECK_MAX_DIM:
        return jax.vmap(partial(_plateau_only, fun))(final_params, status)

    def one(x, status):
        f0 = fun(x)
        low, v, top = lowest_eigenpair(jax.hessian(fun)(x))
        eps = jnp.finfo(x.dtype).eps
        tol = 1e3 * eps * jnp.maximum(1.0, top)
        checkable = jnp.isfinite(low) & jnp.isfinite(top) & jnp.all(jnp.isfinite(v))
        h = jnp.maximum(
            jnp.sqrt(eps) * jnp.maximum(1.0, jnp.max(jnp.abs(x))),
            jnp.sqrt(100 * eps * jnp.abs(f0) / jnp.maximum(jnp.abs(low), eps)),
        )
        descends = jnp.minimum(fun(x + h * v), fun(x - h * v)) < f0
        negative = checkable & (low < -tol) & descends
        positive = checkable & (low > tol)
        status = jnp.where((status == CODE["converged"]) & negative, CODE["non_minimum"], status)
        status = jnp.where(
            (status == CODE["converged"]) & _plateau(fun, x, f0, v), CODE["stalled"], status
        )
        status = jnp.where(
            status == CODE["flat_start"],
            jnp.where(
                positive, CODE["converged"], jnp.where(negative, CODE["non_minimum"], status)
            ),
            status,
        )
        return status.astype(jnp.int32)

    return jax.vmap(one)(final_params, status)


def _plateau_only(fun, x: jax.Array, status: jax.Array) -> jax.Array:
    """Above ``CURVATURE_CHECK_MAX_DIM``: no Hessian, only the plateau test, along the
    diagonal and the alternating-sign diagonal (a unit step each way). A 'converged' run on
    a plateau becomes 'stalled'; a saddle or maximum stays 'converged' and a flat start
    stays 'flat_start'."""
    n = x.shape[0]
    alternating = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0).astype(x.dtype)
    alternating = alternating / jnp.sqrt(jnp.asarray(n, x.dtype))
    flat = _plateau(fun, x, fun(x), alternating)
    return jnp.where((status == CODE["converged"]) & flat, CODE["stalled"], status).astype(
        jnp.int32
    )


def _plateau(fun, x: jax.Array, f0: jax.Array, v: jax.Array) -> jax.Array:
    """Whether f is nonzero and constant to rounding within a unit distance of ``x`` (the
    gradient, and f along ``v`` and along the diagonal, both ways)."""
    eps = jnp.finfo(x.dtype).eps
    scale = jnp.abs(f0)
    diagonal = jnp.full_like(x, 1.0 / jnp.sqrt(jnp.asarray(x.shape[0], x.dtype)))
    g = jax.grad(fun)(x)
    change = jnp.max(jnp.abs(jnp.stack([fun(x + d) for d in (v, -v, diagonal, -diagonal)]) - f0))
    flat_gradient = jnp.sqrt(jnp.vdot(g, g)) < eps * scale
    return (scale > 0) & flat_gradient & (change <= 4 * eps * scale)


def curvature_program(fun, shape, dtype, sharding):
    """The compiled curvature check for runs of this shape (one per objective)."""
    shapes = [
        jax.ShapeDtypeStruct(shape, dtype, sharding=sharding),
        jax.ShapeDtypeStruct(shape[:1], jnp.int32, sharding=sharding),
    ]
    return cache.compile_program(jax.jit(partial(curvature_check, fun)).lower(*shapes), True)
