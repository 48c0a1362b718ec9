"""Vectorisable ``sin``, ``cos`` (float64, float32), ``log`` and ``exp`` (float64) for BBOB.

XLA:CPU calls a scalar library routine for every element of ``jnp.sin`` / ``jnp.cos`` (20-35
ns per element in ``benchmarks/objectives.py``, float64 and float32 alike), and its float64
``log`` / ``exp`` stop being vectorised inside larger fusions, while plain arithmetic --
multiply, add, round, select, bit casts -- runs in SIMD registers at a fraction of a
nanosecond per element. The functions here are built from that arithmetic only.

**sin / cos.**

1. *Range reduction* (Cody and Waite): ``k = round(x 2/pi)`` and ``r = x - k pi/2`` with
   ``pi/2`` split into parts whose leading ones have so few significant bits that every
   product ``k P_i`` is exact, so ``r`` is obtained with a few roundings of its own size and
   ``|r| <= pi/4`` (a hair more when ``x 2/pi`` rounds to the other neighbour).

   - float64: ``pi/2 = P1 + P2 + P3`` with 25-bit ``P1``, ``P2`` and a full ``P3`` (``pi/2``
     carried to ~103 bits); the products are exact for ``k < 2^28``;
   - float32: ``pi/2 = P1 + P2 + P3 + P4`` with 12-bit ``P1..P3`` and a full ``P4``; ``k`` is
     split as ``k_hi + k_lo`` (``k_hi`` a multiple of ``2^12``, ``|k_lo| <= 2^11``) so that
     every product ``k_hi P_i``, ``k_lo P_i`` is exact for ``k < 2^24``.

2. *Polynomials* on ``[-pi/4, pi/4]``: the Taylor series ``sin r = r - r^3/3! + ...`` and
   ``cos r = 1 - r^2/2! + ...``, truncated where the first omitted term is below 1e-18 of the
   value (float64: through ``r^17`` and ``r^16``; float32: through ``r^11`` and ``r^12``).
   The coefficients are the Taylor coefficients ``(-1)^n / m!`` -- nothing fitted or copied.

3. *Quadrant selection*: with ``q = k mod 4``, ``sin x`` is ``sin r``, ``cos r``, ``-sin r``,
   ``-cos r`` for ``q = 0, 1, 2, 3``, and ``cos x`` is shifted by one quadrant. Both
   polynomials are evaluated and selected between, as SIMD code must.

Accuracy (tests/objectives/test_fastmath.py, against a long-double reference, ~10^6 random
points per range): float64 at most 2 ulp (measured 1.6) for ``|x| <= FAST_LIMIT_F64 = 2^28
~ 2.7e8``; float32 at most 2 ulp for ``|x| <= 10``, 3 ulp to 1e4, 4 ulp to ``2^20`` and an
absolute error below 4e-7 up to ``FAST_LIMIT_F32 = 2^24``. ``sin(+-0) = +-0``, ``cos(0) = 1``;
``nan`` and ``+-inf`` give ``nan``. (Near a zero of ``sin``/``cos`` the error is ~1e-16
absolute, so very small results have more ulps of relative error.)

Beyond the limits there is **no fallback** to ``jnp.sin``/``jnp.cos``: a fallback costs the
speed-up wherever it is compiled in (a ``jnp.where`` puts the scalar library call back into
the loop and XLA then runs the whole fused loop scalar; a ``lax.cond`` on "any element out of
range" materialises the arguments, ~6 ns per element, and under ``vmap`` becomes a select
that computes both). It is not needed: past the limit the products ``k P_i`` may round, which
makes the result ``sin``/``cos`` of a number within about one ulp of ``x`` (tested: absolute
error at most ``ulp(x)``; with XLA's multiply-add contraction, which makes the products exact,
measured within 2 ulp up to ~1e12) and always within ``[-1, 1]``. In the BBOB functions the
largest arguments on ``[-5, 5]^D`` are f19's ``cos(s)`` (``s < 1.2e8`` for D = 40) and f16's
``cos(2 pi 3^8 (z + 1/2))`` (< 2.7e6), inside the limit; arguments beyond it come only from
points far outside the box, where every such function is dominated by a term growing with the
argument (``s/4000`` in f19, ``z^2`` in the Rastrigin family, the boundary penalty in f16),
so the relative effect on ``f`` stays below ~1e-11.

**log** (float64): ``x = 2^e m`` read from the bits, ``m`` moved to ``[sqrt(1/2), sqrt(2))``,
``log m = 2 atanh(s)`` with ``s = (m - 1)/(m + 1)`` (series ``2 s (1 + s^2/3 + s^4/5 + ...)``,
through ``s^22``), ``log x = e ln2 + log m`` with a two-part ``ln 2``; at most 1.5 ulp.
**exp** (float64): ``x = k ln2 + r``, ``|r| <= ln(2)/2``, Taylor series through ``r^13``,
times ``2^k`` built from its bits; at most 1.5 ulp; overflow gives ``inf``, results below the
normal range give 0 (XLA:CPU flushes subnormals, as ``jnp.exp`` does). ``pow_positive(x, y) =
exp(y log x)`` for ``x > 0`` (relative error ~ ``|y log x|`` ulp). float32 and other dtypes
use ``jnp.log`` / ``jnp.exp``, which XLA:CPU already vectorises there.

Derivatives: ``custom_jvp`` rules ``d sin = cos``, ``d cos = -sin``, ``d log = 1/x``,
``d exp = exp`` (each with these same functions), so gradients -- of any order -- are as
accurate as the values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["FAST_LIMIT_F32", "FAST_LIMIT_F64", "cos", "exp", "log", "pow_positive", "sin", "sincos"]

#: Largest ``|x|`` for which float64 ``sin``/``cos`` are within 2 ulp (``k P_i`` exact).
FAST_LIMIT_F64 = 2.0**28
#: Largest ``|x|`` for which float32 ``sin``/``cos`` keep the stated accuracy (``k < 2^24``).
FAST_LIMIT_F32 = 2.0**24

_TWO_OVER_PI = 0.6366197723675814  # 2/pi rounded to float64

# pi/2 = P1 + P2 + P3 (+ ~1.5e-33): P1, P2 are pi/2 and its remainder rounded to 25 significant
# bits, P3 the remainder rounded to float64 (computed with mpmath at 300 bits).
_PIO2_F64 = (1.5707963109016418, 1.5893254712295857e-08, 6.123233995736766e-17)
# pi/2 = P1 + P2 + P3 + P4 (+ ~2e-21): P1..P3 rounded to 12 significant bits, P4 to float32.
_PIO2_F32 = (1.57080078125, -4.453584551811218e-06, -8.706138032721356e-10, 6.223371969669989e-14)
_K_SPLIT_F32 = 4096.0  # k = k_hi + k_lo with k_hi a multiple of 2^12

# Taylor coefficients 1/m! (m = 0 .. 18), float64.
_INV_FACT = {m: 1.0 / float(np.prod(np.arange(1, m + 1, dtype=np.float64))) for m in range(0, 19)}


def _sin_coefs(last: int) -> tuple[float, ...]:
    """``(-1/3!, +1/5!, ...)`` up to ``r^last``: ``sin r = r + r^3 (c_0 + r^2 (c_1 + ...))``."""
    return tuple((-1.0) ** (i + 1) * _INV_FACT[m] for i, m in enumerate(range(3, last + 1, 2)))


def _cos_coefs(last: int) -> tuple[float, ...]:
    """``(+1/4!, -1/6!, ...)`` up to ``r^last``: ``cos r = 1 - r^2/2 + r^4 (c_0 + ...)``."""
    return tuple((-1.0) ** i * _INV_FACT[m] for i, m in enumerate(range(4, last + 1, 2)))


_SIN_F64, _COS_F64 = _sin_coefs(17), _cos_coefs(16)
_SIN_F32, _COS_F32 = _sin_coefs(11), _cos_coefs(12)


def _horner(z: jax.Array, coefs: tuple[float, ...]) -> jax.Array:
    acc = jnp.full_like(z, coefs[-1])
    for c in reversed(coefs[:-1]):
        acc = acc * z + c
    return acc


def _reduce(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(k, r)`` with ``k = round(2 x / pi)`` (a float) and ``r = x - k pi/2``."""
    k = jnp.round(x * _TWO_OVER_PI)
    if x.dtype == jnp.float64:
        p1, p2, p3 = _PIO2_F64
        r = ((x - k * p1) - k * p2) - k * p3
    else:
        k_hi = jnp.round(k * (1.0 / _K_SPLIT_F32)) * _K_SPLIT_F32
        k_lo = k - k_hi
        r = x
        for p in _PIO2_F32[:-1]:
            r = (r - k_hi * p) - k_lo * p
        r = r - k * _PIO2_F32[-1]
    # Keep the sign of a zero argument (x - 0 * P would turn -0 into +0). Clip: |r| <= pi/4
    # (+ ~1e-16) while x 2/pi is computed with an error below 1/2 ulp of its fractional part;
    # where the product's rounding reaches 1/2 (|x| >= 2^22 in float32) k can be off by one
    # and |r| <= pi/2 (the polynomials are still accurate there, to ~1 ulp more); far
    # beyond (|x| > 2^52 in float64) r is meaningless and the clip keeps results in [-1, 1].
    r = jnp.clip(jnp.where(k == 0, x, r), -2.0, 2.0)
    return k, r


def _sincos_fast(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(sin x, cos x)`` by the vectorised path (accurate for ``|x|`` up to the limit)."""
    k, r = _reduce(x)
    z = r * r
    if x.dtype == jnp.float64:
        sc, cc = _SIN_F64, _COS_F64
    else:
        sc, cc = _SIN_F32, _COS_F32
    s = r + (r * z) * _horner(z, sc)
    c = (1.0 - 0.5 * z) + (z * z) * _horner(z, cc)
    q = k - 4.0 * jnp.floor(k * 0.25)  # k mod 4, in 0..3
    odd = (q == 1.0) | (q == 3.0)
    sin_x = jnp.where(odd, c, s)
    cos_x = jnp.where(odd, s, c)
    sin_x = jnp.where(q >= 2.0, -sin_x, sin_x)
    sin_x = jnp.where(x == 0, x, sin_x)  # sin(-0) = -0 (r + r^3 P(r^2) gives +0)
    cos_x = jnp.where((q == 1.0) | (q == 2.0), -cos_x, cos_x)
    return sin_x, cos_x


def _prepare(x) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))
    return x


@jax.custom_jvp
def _sincos(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    if x.dtype in (jnp.float64, jnp.float32):
        return _sincos_fast(x)
    # float16/bfloat16: compute in float32.
    s, c = _sincos_fast(x.astype(jnp.float32))
    return s.astype(x.dtype), c.astype(x.dtype)


@_sincos.defjvp
def _sincos_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    s, c = _sincos(x)
    return (s, c), (c * t, -s * t)


def sincos(x) -> tuple[jax.Array, jax.Array]:
    """``(sin(x), cos(x))`` from one range reduction (see the module docstring)."""
    return _sincos(_prepare(x))


def sin(x) -> jax.Array:
    """``sin(x)``, elementwise, vectorised on CPU (see the module docstring for accuracy)."""
    return sincos(x)[0]


def cos(x) -> jax.Array:
    """``cos(x)``, elementwise, vectorised on CPU (see the module docstring for accuracy)."""
    return sincos(x)[1]


# --------------------------------------------------------------------------------------------
# log and pow
# --------------------------------------------------------------------------------------------

# ln 2 = HI + LO: HI rounded to 32 significant bits so that e * HI is exact for every binary
# exponent e; LO the rest rounded to float64 (computed with mpmath at 200 bits).
_LN2_F64 = (0.6931471806019545, -4.2009150726810846e-11)
# log m = 2 atanh(s), s = (m - 1) / (m + 1): 2 s (1 + z/3 + z^2/5 + ...), z = s^2 <= 0.0295
# for m in [sqrt(1/2), sqrt(2)). Series coefficients 1/(2n+1), n >= 1, cut where the first
# omitted term is below 2^-56 (through z^11).
_ATANH_F64 = tuple(1.0 / (2 * n + 1) for n in range(1, 12))


def _log_positive(x: jax.Array) -> jax.Array:
    """``log x`` (float64) for finite ``x > 0`` (other inputs are handled by :func:`log`).

    No special case for subnormal ``x``: XLA:CPU flushes them to zero (``jnp.log`` gives
    ``-inf`` for them too).
    """
    bits = jax.lax.bitcast_convert_type(x, jnp.int64)
    e = (bits >> 52) - 1023  # the binary exponent (x > 0: the sign bit is clear)
    mant = (bits & ((1 << 52) - 1)) | (1023 << 52)  # the same mantissa, exponent 0
    m = jax.lax.bitcast_convert_type(mant, jnp.float64)  # in [1, 2)
    big = m > 1.4142135623730951
    m = jnp.where(big, 0.5 * m, m)  # in [sqrt(1/2), sqrt(2))
    e = jnp.where(big, e + 1, e).astype(jnp.float64)
    f = m - 1.0  # exact
    s = f / (2.0 + f)
    z = s * s
    # 2 s = f - s f exactly in real arithmetic (s (2 + f) = f), which keeps the leading
    # term's rounding small: log m = f - s f + 2 s z P(z).
    log_m = f - (s * f - 2.0 * s * z * _horner(z, _ATANH_F64))
    return e * _LN2_F64[0] + (e * _LN2_F64[1] + log_m)


@jax.custom_jvp
def _log(x: jax.Array) -> jax.Array:
    pos = x > 0
    finite = jnp.isfinite(x)
    y = _log_positive(jnp.where(pos & finite, x, 1.0))
    y = jnp.where(x == 0, -jnp.inf, jnp.where(pos, y, jnp.nan))
    return jnp.where(pos & ~finite, x, y)  # +inf -> +inf, nan -> nan


@_log.defjvp
def _log_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _log(x), t / x


def log(x) -> jax.Array:
    """Natural logarithm, elementwise; vectorised on CPU in float64 (see the module docstring).

    Other dtypes go to ``jnp.log`` (XLA:CPU already vectorises the float32 one).
    """
    x = _prepare(x)
    return _log(x) if x.dtype == jnp.float64 else jnp.log(x)


# exp r = sum r^n / n! on |r| <= ln(2)/2, through r^13 (the first omitted term is < 2^-57).
_EXP_F64 = tuple(_INV_FACT.get(n, 1.0) for n in range(0, 14))


@jax.custom_jvp
def _exp(x: jax.Array) -> jax.Array:
    # k = round(x / ln 2), r = x - k ln 2 (two-part ln 2, k HI exact), exp x = 2^k exp r with
    # 2^k applied as two powers of two built from their bits (each factor is a normal number
    # for every k that matters; overflow to inf and flush to zero happen in the products).
    k = jnp.clip(jnp.round(x * 1.4426950408889634), -1100.0, 1100.0)
    r = (x - k * _LN2_F64[0]) - k * _LN2_F64[1]
    k1 = jnp.floor(0.5 * k)
    p = _horner(r, _EXP_F64)
    y = (p * _pow2(k1)) * _pow2(k - k1)
    y = jnp.where(x > 710.0, jnp.inf, y)
    return jnp.where(x < -746.0, 0.0, y)  # -inf -> 0; nan stays nan


def _pow2(k: jax.Array) -> jax.Array:
    """``2^k`` for integral float64 ``k`` in ``[-1022, 1023]``, from its bits."""
    return jax.lax.bitcast_convert_type((k.astype(jnp.int64) + 1023) << 52, jnp.float64)


@_exp.defjvp
def _exp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    y = _exp(x)
    return y, y * t


def exp(x) -> jax.Array:
    """``exp(x)``, elementwise; vectorised on CPU in float64 (see the module docstring).

    Other dtypes go to ``jnp.exp``. (XLA:CPU's own float64 ``exp`` vectorises on its own, but
    not inside a fusion together with the polynomials here.)
    """
    x = _prepare(x)
    return _exp(x) if x.dtype == jnp.float64 else jnp.exp(x)


def pow_positive(x, y) -> jax.Array:
    """``x ** y`` for ``x > 0`` as ``exp(y log x)`` (relative error ~ ``|y log x|`` ulp)."""
    return exp(y * log(x))
