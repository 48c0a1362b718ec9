"""COCO's transformations on the device: ``T_osz``, ``T_asy``, the boundary penalty, products.

Pure ``jax.numpy`` on inputs of shape ``(..., D)`` (or ``(...)`` for value transforms).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcalc.objectives import _fastmath as _fm
from jaxcalc.objectives.bbob.generators import TWO_PI


def rounded(p: jax.Array) -> jax.Array:
    """``p`` itself, but opaque to the compiler's multiply-add contraction.

    XLA's CPU backend fuses ``a * b + c`` into one fused multiply-add (a single rounding);
    COCO's C code rounds the product first. The select below (which keeps NaN as NaN) stops
    the contraction, so sums of products round exactly as in COCO. This matters for the few
    functions that amplify last-bit differences (f19 takes ``cos`` of values up to ~1e7).
    """
    return jnp.where(p == p, p, jnp.nan)


def matvec(m: jax.Array, x: jax.Array) -> jax.Array:
    """``m @ x`` for every vector ``x`` along the last axis (a full-precision matrix product).

    XLA computes it as one matrix multiplication, which also keeps expensive producers of
    ``x`` (``T_osz``, ``T_asy``) from being fused into, and recomputed for, every output. Its
    summation order differs from COCO's, which changes results in the last bits only; where
    that is amplified, use :func:`_matvec_exact`.
    """
    return jnp.matmul(x, m.T, precision=jax.lax.Precision.HIGHEST)


def matvec_exact(m: jax.Array, x: jax.Array, start: float | None = None) -> jax.Array:
    """``m @ x (+ start)`` for every vector ``x`` along the last axis, rounded as COCO does.

    For each output, ``start`` (or 0) plus the products ``x_j m_ij`` added one at a time in
    the order ``j = 0, 1, ...``, each product rounded before the addition -- bit for bit the
    C loop of COCO's ``transform_vars_affine``. Used where the function amplifies last-bit
    differences of ``z`` (f19 takes ``cos`` of values up to ~1e7, f23 multiplies by 2^32)
    and the input is cheap to recompute (XLA fuses the unrolled loop into its consumers).
    """
    d = m.shape[1]
    acc = rounded(x[..., 0, None] * m[:, 0])
    if start is not None:
        acc = start + acc
    for j in range(1, d):
        acc = acc + rounded(x[..., j, None] * m[:, j])
    return acc


def t_osz(x: jax.Array) -> jax.Array:
    """Oscillation ``T_osz``, elementwise.

    ``sign(x) exp(x_hat + 0.049 (sin(c1 x_hat) + sin(c2 x_hat)))`` with ``x_hat = ln|x|`` and
    ``(c1, c2) = (10, 7.9)`` for ``x > 0``, ``(5.5, 3.1)`` for ``x < 0``; ``T_osz(0) = 0``.
    (COCO evaluates the algebraically equal ``exp(10 x_hat + 0.49 (...))^0.1``; the form here
    saves a ``pow`` and cannot overflow, and differs from it in the last bits only.) The
    logarithm is guarded so that gradients stay finite at 0.
    """
    pos = x > 0
    nonzero = x != 0
    xhat = _fm.log(jnp.where(nonzero, jnp.abs(x), 1.0))
    c1 = jnp.where(pos, 10.0, 5.5).astype(x.dtype)
    c2 = jnp.where(pos, 7.9, 3.1).astype(x.dtype)
    mag = _fm.exp(xhat + 0.049 * (_fm.sin(c1 * xhat) + _fm.sin(c2 * xhat)))
    return jnp.where(nonzero, jnp.where(pos, mag, -mag), jnp.zeros_like(x))


def t_asy(x: jax.Array, coef: jax.Array) -> jax.Array:
    """Asymmetry ``T_asy^beta``: ``x_i^(1 + coef_i sqrt(x_i))`` where ``x_i > 0``, else ``x_i``.

    ``coef_i = beta i / (D - 1)`` is precomputed on the host.
    """
    pos = x > 0
    xp = jnp.where(pos, x, 1.0)
    return jnp.where(pos, _fm.pow_positive(xp, 1.0 + rounded(coef * jnp.sqrt(xp))), x)


def f_pen(x: jax.Array) -> jax.Array:
    """Boundary penalty ``sum_i max(0, |x_i| - 5)^2`` (zero inside ``[-5, 5]^D``)."""
    return jnp.sum(jnp.square(jnp.maximum(jnp.abs(x) - 5.0, 0.0)), axis=-1)


def rastrigin_raw(z: jax.Array) -> jax.Array:
    """``10 (D - sum cos(2 pi z_i)) + sum z_i^2``."""
    d = z.shape[-1]
    return 10.0 * (d - jnp.sum(_fm.cos(TWO_PI * z), axis=-1)) + jnp.sum(z * z, axis=-1)


def safe_sqrt(v: jax.Array) -> jax.Array:
    """``sqrt(v)`` for ``v >= 0`` whose gradient at 0 is 0 instead of NaN/inf."""
    pos = v > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, v, 1.0)), 0.0)
