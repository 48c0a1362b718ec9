"""Accuracy of jaxcalc.objectives._fastmath (vectorised sin/cos/log/exp used by the BBOB kernels).

Reference: NumPy in long double (x87 80-bit, 64-bit mantissa, the C library's ``sinl`` etc.
with full range reduction), i.e. about 11 bits more than float64; errors are counted in ulps
of the float64 (or float32) value. About 10^6 random points per range.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxcalc_testing import precision

from jaxcalc.objectives import _fastmath as fm

N = 1_000_000

pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double reference"
)


@pytest.fixture(autouse=True)
def x64():
    with precision(True):
        yield


def ulp_error(got: np.ndarray, x: np.ndarray, ref_fn, dtype) -> np.ndarray:
    """``|got - f(x)|`` in ulps of ``f(x)`` rounded to ``dtype`` (reference in long double)."""
    ref = ref_fn(x.astype(np.longdouble))
    ulp = np.spacing(np.abs(ref.astype(dtype))).astype(np.longdouble)
    return np.asarray(np.abs(got.astype(np.longdouble) - ref) / ulp, dtype=np.float64)


def sincos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s, c = jax.jit(fm.sincos)(jnp.asarray(x))
    return np.asarray(s), np.asarray(c)


def uniform(seed: int, hi: float, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-hi, hi, N).astype(dtype)


def test_largest_bbob_arguments_are_inside_the_fast_range():
    # f19 takes cos(s), s = 100 (z_i^2 - z_{i+1})^2 + (z_i - 1)^2 with z = R x + 1/2: on
    # [-5, 5]^40, |z_i| <= 5 sqrt(40) + 1/2. f16 takes cos(2 pi 3^k (z_i + 1/2)) directly for
    # k <= 8 (higher k by the triple-angle recurrence) with |z_i| <= 1.1 * 9 sqrt(40) (T_osz
    # grows |.| by at most e^0.098). Rastrigin-type and T_osz arguments are far smaller.
    z19 = 5.0 * math.sqrt(40) + 0.5
    s19 = 100.0 * (z19 * z19 + z19) ** 2 + (z19 + 1.0) ** 2
    z16 = math.exp(0.098) * 9.0 * math.sqrt(40)
    arg16 = 2.0 * math.pi * 3**8 * (z16 + 0.5)
    assert s19 < 1.2e8 and arg16 < 2.7e6
    assert max(s19, arg16) < fm.FAST_LIMIT_F64 / 2  # the tests below go beyond, to the limit


@pytest.mark.parametrize("hi", [math.pi / 4, 10.0, 1e4, 1e6, fm.FAST_LIMIT_F64])
def test_float64_sin_cos_within_2_ulp(hi):
    x = uniform(int(math.log2(hi) + 10), hi)
    s, c = sincos(x)
    assert ulp_error(s, x, np.sin, np.float64).max() <= 2.0
    assert ulp_error(c, x, np.cos, np.float64).max() <= 2.0


def test_float64_beyond_the_limit_is_backward_accurate():
    # Past 2^28 the products k P1 may round (without FMA contraction): the result is then
    # sin/cos of a number within ~1 ulp of x, and always within [-1, 1].
    rng = np.random.default_rng(7)
    x = np.exp(rng.uniform(math.log(2.0**28), math.log(1e300), N)) * rng.choice([-1, 1], N)
    s, c = sincos(x)
    xl = x.astype(np.longdouble)
    ulp_x = np.spacing(np.abs(x)).astype(np.longdouble)
    assert np.all(np.abs(s - np.sin(xl)) <= np.maximum(ulp_x, 1e-15))
    assert np.all(np.abs(c - np.cos(xl)) <= np.maximum(ulp_x, 1e-15))
    assert np.all(np.abs(s) <= 1.0) and np.all(np.abs(c) <= 1.0)


@pytest.mark.parametrize(("hi", "bound"), [(10.0, 2.0), (1e4, 3.0), (2.0**20, 4.0)])
def test_float32_sin_cos_ulp(hi, bound):
    x = uniform(int(math.log2(hi)), hi, np.float32)
    s, c = sincos(x)
    assert s.dtype == np.float32 and c.dtype == np.float32
    assert ulp_error(s, x, np.sin, np.float32).max() <= bound
    assert ulp_error(c, x, np.cos, np.float32).max() <= bound


def test_float32_up_to_its_limit_absolute_error():
    # 2^20 < |x| <= 2^24: float32's own spacing of x is >= 1/8 there; absolute error < 4e-7.
    x = uniform(24, fm.FAST_LIMIT_F32, np.float32)
    s, c = sincos(x)
    xl = x.astype(np.longdouble)
    assert np.abs(s - np.sin(xl)).max() < 4e-7
    assert np.abs(c - np.cos(xl)).max() < 4e-7


def test_float32_without_x64():
    with precision(False):
        x = uniform(3, 100.0, np.float32)
        s, c = sincos(x)
        assert s.dtype == np.float32
        assert ulp_error(s, x, np.sin, np.float32).max() <= 3.0
        assert ulp_error(c, x, np.cos, np.float32).max() <= 3.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype):
    x = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, np.pi / 2, -np.pi], dtype=dtype)
    s, c = sincos(x)
    assert s[0] == 0 and not np.signbit(s[0])
    assert s[1] == 0 and np.signbit(s[1])  # sin(-0) = -0
    assert c[0] == 1 and c[1] == 1
    assert np.all(np.isnan(s[2:5])) and np.all(np.isnan(c[2:5]))
    np.testing.assert_allclose(s[5:], np.sin(x[5:]), rtol=0, atol=2 * np.finfo(dtype).eps)
    np.testing.assert_allclose(c[5:], np.cos(x[5:]), rtol=0, atol=2 * np.finfo(dtype).eps)


def test_integer_and_half_inputs():
    np.testing.assert_allclose(np.asarray(fm.sin(jnp.arange(5))), np.sin(np.arange(5)), rtol=1e-15)
    h = fm.cos(jnp.asarray([0.5, 1.0], dtype=jnp.bfloat16))
    assert h.dtype == jnp.bfloat16


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_gradients_equal_jnp(dtype):
    x = jnp.asarray(uniform(11, 100.0)[:1000], dtype=dtype)
    tol = 4 * float(jnp.finfo(dtype).eps)
    d_sin = jax.vmap(jax.grad(fm.sin))(x)
    d_cos = jax.vmap(jax.grad(fm.cos))(x)
    np.testing.assert_allclose(d_sin, jnp.cos(x), rtol=0, atol=tol)
    np.testing.assert_allclose(d_cos, -jnp.sin(x), rtol=0, atol=tol)
    dd_sin = jax.vmap(jax.grad(jax.grad(fm.sin)))(x)
    np.testing.assert_allclose(dd_sin, -jnp.sin(x), rtol=0, atol=tol)
    # Forward mode and a non-trivial composition.
    _, t = jax.jvp(fm.sin, (x,), (jnp.ones_like(x),))
    np.testing.assert_allclose(t, jnp.cos(x), rtol=0, atol=tol)
    g = jax.grad(lambda v: jnp.sum(fm.cos(3.0 * v) ** 2))(x)
    np.testing.assert_allclose(g, -3.0 * jnp.sin(6.0 * x), rtol=0, atol=64 * tol)


def test_log_and_exp_float64():
    rng = np.random.default_rng(5)
    x = np.concatenate([np.exp(rng.uniform(-700, 700, N)), rng.uniform(0.5, 2.0, N)])
    got = np.asarray(jax.jit(fm.log)(jnp.asarray(x)))
    assert ulp_error(got, x, np.log, np.float64).max() <= 1.5
    y = np.concatenate([rng.uniform(-708, 709.7, N), rng.uniform(-1.0, 1.0, N)])
    got = np.asarray(jax.jit(fm.exp)(jnp.asarray(y)))
    assert ulp_error(got, y, np.exp, np.float64).max() <= 1.5
    specials = jnp.asarray([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan, 1.0])
    np.testing.assert_array_equal(
        np.asarray(fm.log(specials)), [-np.inf, -np.inf, np.nan, np.inf, np.nan, np.nan, 0.0]
    )
    np.testing.assert_array_equal(
        np.asarray(fm.exp(jnp.asarray([0.0, -np.inf, np.inf, np.nan, 710.0, -800.0]))),
        [1.0, 0.0, np.inf, np.nan, np.inf, 0.0],
    )
    # pow via exp(y log x), as used for T_asy and Schaffers' powers.
    b = rng.uniform(1e-3, 1e3, 10_000)
    e = rng.uniform(0.1, 3.0, 10_000)
    np.testing.assert_allclose(np.asarray(fm.pow_positive(b, e)), b**e, rtol=2e-14)
    # Gradients.
    v = jnp.asarray(rng.uniform(0.1, 10.0, 100))
    np.testing.assert_allclose(jax.vmap(jax.grad(fm.log))(v), 1.0 / v, rtol=1e-15)
    np.testing.assert_allclose(jax.vmap(jax.grad(fm.exp))(v), jnp.exp(v), rtol=4e-16)


def test_vmap_and_jit_compose():
    x = jnp.asarray(uniform(9, 50.0)[:600].reshape(6, 100))
    # Not bit for bit: XLA contracts multiply-adds differently in different fusions.
    np.testing.assert_allclose(jax.vmap(fm.sin)(x), np.sin(np.asarray(x)), rtol=0, atol=3e-16)
    np.testing.assert_allclose(jax.jit(fm.cos)(x), np.cos(np.asarray(x)), rtol=0, atol=3e-16)
