"""Tests of jaxcalc.calculus against oracles independent of it.

Oracles: sympy derivatives and series of expressions built here with sympy's own API,
scipy's Rosenbrock derivatives, closed forms (D2L's matrix-calculus identities and
exercises), scipy.optimize.minimize, and published values (Himmelblau's minima).
No expected value in this file was copied from jaxcalc's output.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
import sympy as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jaxcalc_testing import precision

from jaxcalc import (
    critical_points,
    derivative,
    directional_derivative,
    gradient,
    hessian,
    hvp,
    jacobian,
    tangent_line,
    taylor,
)

X = sp.Symbol("x", real=True)


def sympy_values(expr: sp.Expr, points) -> np.ndarray:
    """Evaluate a sympy expression of X at float64 points (sympy's own tree, numpy backend)."""
    fn = sp.lambdify(X, expr, "numpy")
    return np.broadcast_to(
        np.asarray(fn(np.asarray(points, np.float64)), np.float64), np.shape(points)
    )


def sympy_values_exact(expr: sp.Expr, points) -> np.ndarray:
    """Evaluate a sympy expression of X with 50 significant digits (mpmath), then round."""
    import mpmath

    fn = sp.lambdify(X, expr, "mpmath")
    with mpmath.workdps(50):
        return np.array([float(fn(mpmath.mpf(float(p)))) for p in np.ravel(points)])


def assert_close_scaled(actual, expected, rtol):
    """``|actual - expected| <= rtol * (|expected| + max(1, max|expected|))`` elementwise.

    A pure relative test is meaningless where a derivative crosses zero, so the absolute
    part of the tolerance is relative to the derivative's size over the whole grid.
    """
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# Smooth scalar functions, each three times: a JAX callable, the same function as expression
# text, and a sympy expression built independently with sympy's API.
SMOOTH = {
    "polynomial": (
        lambda x: 3 * x**5 - 2 * x**3 + x - 7,
        "3x^5 - 2x^3 + x - 7",
        3 * X**5 - 2 * X**3 + X - 7,
    ),
    "sin_exp": (lambda x: jnp.sin(x) * jnp.exp(x), "sin(x) * exp(x)", sp.sin(X) * sp.exp(X)),
    "tanh": (jnp.tanh, "tanh(x)", sp.tanh(X)),
    "log_1_plus_x2": (lambda x: jnp.log(1 + x**2), "log(1 + x^2)", sp.log(1 + X**2)),
    # a hand-written logistic for the callable, the parser's sigmoid for the text
    "sigmoid": (lambda x: 1 / (1 + jnp.exp(-x)), "sigmoid(x)", 1 / (1 + sp.exp(-X))),
}
GRID = np.linspace(-2.0, 2.0, 17)


# ----------------------------------------------------------------------------------------
# derivative: values


@pytest.mark.parametrize("kind", ["callable", "text"])
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_derivative_orders_1_to_6_match_sympy_float64(x64, name, kind):
    fn, text, expr = SMOOTH[name]
    f = fn if kind == "callable" else text
    for order in range(1, 7):
        got = derivative(f, order)(jnp.asarray(GRID))
        assert got.dtype == jnp.float64
        expected = sympy_values(sp.diff(expr, X, order), GRID)
        assert_close_scaled(got, expected, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_derivative_float32_matches_sympy(x32, name):
    fn, _, expr = SMOOTH[name]
    points32 = GRID.astype(np.float32)
    for order in range(1, 5):
        got = derivative(fn, order)(jnp.asarray(points32))
        assert got.dtype == jnp.float32
        # the oracle is evaluated at exactly the float32 points, in float64
        expected = sympy_values(sp.diff(expr, X, order), points32.astype(np.float64))
        # Orders 1-2: the 1e-5. Higher orders: each Taylor-mode order adds a few
        # float32 roundings (eps = 1.2e-7) times the growing size of the intermediate terms;
        # 1e-4 of the derivative's scale leaves ~50x margin over a dozen roundings.
        assert_close_scaled(got, expected, rtol=1e-5 if order <= 2 else 1e-4)


def test_derivative_order_zero_is_the_function(x64):
    fn, _, expr = SMOOTH["sin_exp"]
    assert_close_scaled(derivative(fn, 0)(GRID), sympy_values(expr, GRID), rtol=1e-14)


def test_derivative_of_the_d2l_example_string(x64):
    # D2L 2.4: f(x) = 3x^2 - 4x, f'(x) = 6x - 4, f'' = 6, f''' = 0
    xs = jnp.linspace(-3.0, 3.0, 7)
    np.testing.assert_allclose(derivative("3x^2 - 4x")(xs), 6 * np.asarray(xs) - 4, rtol=1e-15)
    np.testing.assert_allclose(derivative("3x^2 - 4x", 2)(xs), np.full(7, 6.0))
    np.testing.assert_allclose(derivative("3x^2 - 4x", 3)(xs), np.zeros(7), atol=1e-12)


@pytest.mark.parametrize("order", [-1, 1.5, True, "2"])
def test_derivative_rejects_bad_orders(order):
    with pytest.raises(ValueError):
        derivative(jnp.sin, order)


# High orders use Taylor mode (jax.experimental.jet); jet has no rule for tan/arctan/
# arcsin/arccos/cbrt (it raises KeyError) and fails on custom_jvp functions like softplus
# (UnexpectedTracerError). The documented fallback to nested forward mode only catches
# NotImplementedError, so these derivatives raise instead of being computed.
JET_GAPS = {
    "tan": (jnp.tan, sp.tan(X)),
    "arctan": (jnp.arctan, sp.atan(X)),
    "softplus": (jax.nn.softplus, sp.log(1 + sp.exp(X))),
}


@pytest.mark.parametrize("name", sorted(JET_GAPS))
def test_derivative_orders_3_to_6_without_a_jet_rule(x64, name):
    fn, expr = JET_GAPS[name]
    points = np.array([-0.7, 0.2, 0.9])
    for order in range(3, 7):
        got = derivative(fn, order)(jnp.asarray(points))
        assert_close_scaled(got, sympy_values(sp.diff(expr, X, order), points), rtol=1e-10)


@pytest.mark.parametrize("name", sorted(JET_GAPS))
def test_derivative_orders_1_2_of_functions_without_a_jet_rule(x64, name):
    # the nested reverse-mode path (orders <= 2) does work for the same functions
    fn, expr = JET_GAPS[name]
    points = np.array([-0.7, 0.2, 0.9])
    for order in (1, 2):
        got = derivative(fn, order)(jnp.asarray(points))
        assert_close_scaled(got, sympy_values(sp.diff(expr, X, order), points), rtol=1e-12)


# Random polynomials and compositions: the JAX callable, the expression text and the sympy
# oracle are built from the same random description by three separate builders.
OUTER = {
    "identity": (lambda u: u, "({})", lambda u: u),
    "sin": (jnp.sin, "sin({})", sp.sin),
    "tanh": (jnp.tanh, "tanh({})", sp.tanh),
    "exp": (lambda u: jnp.exp(u / 4), "exp(({}) / 4)", lambda u: sp.exp(u / 4)),
    "log1p_square": (lambda u: jnp.log(1 + u**2), "log(1 + ({})^2)", lambda u: sp.log(1 + u**2)),
}

coefficients = st.lists(st.integers(-4, 4), min_size=2, max_size=6).filter(lambda cs: any(cs[1:]))


def polynomial_parts(cs):
    def jax_poly(x):
        return sum(c * x**k for k, c in enumerate(cs))

    text = " + ".join(f"({c})*x^{k}" for k, c in enumerate(cs))
    expr = sum(sp.Integer(c) * X**k for k, c in enumerate(cs))
    return jax_poly, text, expr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cs=coefficients,
    outer=st.sampled_from(sorted(OUTER)),
    order=st.integers(1, 5),
    as_text=st.booleans(),
    points=st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=5),
)
@example(cs=[1, 4, 0, 0, 4], outer="tanh", order=5, as_text=False, points=[1.0])  # always run
def test_derivative_of_random_compositions_matches_sympy(cs, outer, order, as_text, points):
    jax_outer, text_outer, sympy_outer = OUTER[outer]
    jax_poly, text_poly, sympy_poly = polynomial_parts(cs)
    expr = sympy_outer(sympy_poly)
    with precision(True):
        f = text_outer.format(text_poly) if as_text else (lambda x: jax_outer(jax_poly(x)))
        got = np.asarray(derivative(f, order)(jnp.asarray(points, jnp.float64)))
    # The oracle: sympy's derivative evaluated with 50 significant digits (mpmath). Its
    # float64 evaluation can itself be off by more than 1e-9 (e.g. 1 - tanh(u)^2 cancels
    # near saturation: cs=[1, 4, 0, 0, 4], tanh, order 5 at x=1 gives 3.4e-9), so jaxcalc,
    # also float64, may be as far off as that evaluation is, with a margin of 10.
    derivative_expr = sp.diff(expr, X, order)
    exact = sympy_values_exact(derivative_expr, points)
    float64_error = np.abs(sympy_values(derivative_expr, np.asarray(points)) - exact)
    scale = max(1.0, float(np.max(np.abs(exact))))
    excess = np.abs(got - exact) - (1e-9 * scale + 10 * float64_error)
    assert (excess <= 0).all(), (got, exact, float64_error)


# ----------------------------------------------------------------------------------------
# derivative: shapes, dtypes, compilation


@pytest.mark.parametrize("shape", [(), (1000,), (2, 3, 4)])
def test_derivative_keeps_the_input_shape(x64, shape):
    rng = np.random.default_rng(0)
    points = rng.uniform(-3, 3, shape)
    d = derivative(lambda x: jnp.sin(x) * x)
    got = d(points)
    assert got.shape == shape
    np.testing.assert_allclose(
        got, np.cos(points) * points + np.sin(points), rtol=1e-13, atol=1e-15
    )


def test_derivative_casts_integers_to_float(x64):
    got = derivative("x^3")(np.arange(-3, 4))
    assert jnp.issubdtype(got.dtype, jnp.floating)
    np.testing.assert_array_equal(np.asarray(got), 3.0 * np.arange(-3, 4) ** 2)
    scalar = derivative(lambda x: x**2)(3)
    assert scalar.shape == () and jnp.issubdtype(scalar.dtype, jnp.floating)
    assert float(scalar) == 6.0


def test_derivative_casts_integers_to_float32_by_default(x32):
    got = derivative(lambda x: x**2)(np.arange(5))
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(got), 2.0 * np.arange(5))


@pytest.mark.parametrize("order", [1, 4])
def test_derivative_does_not_retrace_for_the_same_shape_and_dtype(x64, order):
    traces = []

    def f(x):
        traces.append(1)  # runs only while JAX traces f
        return x**3

    d = derivative(f, order)
    first = d(jnp.linspace(0.0, 1.0, 8))
    n = len(traces)
    assert n > 0
    second = d(jnp.linspace(1.0, 2.0, 8))
    d(np.linspace(2.0, 3.0, 8))  # a NumPy array of the same shape/dtype is the same signature
    assert len(traces) == n, "second call with the same shape and dtype retraced"
    expected = [3 * np.linspace(0, 1, 8) ** 2, 6 * np.linspace(0, 1, 8), 6.0, 0.0][order - 1]
    np.testing.assert_allclose(first, np.broadcast_to(expected, (8,)), atol=1e-12)
    assert second.shape == (8,)
    d(jnp.linspace(0.0, 1.0, 9))  # a new shape does trace again
    assert len(traces) > n


def test_gradient_does_not_retrace_for_the_same_shape(x64):
    traces = []

    def f(x):
        traces.append(1)
        return jnp.sum(x**2)

    g = gradient(f)
    g(np.ones((16, 3)))
    n = len(traces)
    got = g(np.full((16, 3), 2.0))
    assert len(traces) == n
    np.testing.assert_array_equal(np.asarray(got), np.full((16, 3), 4.0))
    g(np.ones((8, 3)))
    assert len(traces) > n


# ----------------------------------------------------------------------------------------
# gradient, jacobian, hessian, hvp, directional derivative


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("n", [2, 5, 10])
def test_rosenbrock_gradient_and_hessian_match_scipy(x64, n):
    rng = np.random.default_rng(n)
    points = rng.uniform(-2, 2, (16, n))
    grads = gradient(rosen)(points)
    hessians = hessian(rosen)(points)
    assert grads.shape == (16, n)
    assert hessians.shape == (16, n, n)
    for p, g, h in zip(points, np.asarray(grads), np.asarray(hessians), strict=True):
        np.testing.assert_allclose(g, so.rosen_der(p), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(h, so.rosen_hess(p), rtol=1e-10, atol=1e-10)
    # one point (n,) works too
    one = points[3]
    assert gradient(rosen)(one).shape == (n,)
    assert hessian(rosen)(one).shape == (n, n)
    np.testing.assert_allclose(gradient(rosen)(one), so.rosen_der(one), rtol=1e-10)
    np.testing.assert_allclose(hessian(rosen)(one), so.rosen_hess(one), rtol=1e-10, atol=1e-10)


def test_hvp_and_directional_derivative_match_scipy_on_rosenbrock(x64):
    rng = np.random.default_rng(1)
    n = 6
    points = rng.uniform(-2, 2, (16, n))
    v = rng.normal(size=n)
    products = hvp(rosen)(points, v)
    slopes = directional_derivative(rosen, v)(points)
    assert products.shape == (16, n)
    assert slopes.shape == (16,)
    for p, hv, s in zip(points, np.asarray(products), np.asarray(slopes), strict=True):
        np.testing.assert_allclose(hv, so.rosen_hess_prod(p, v), rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(s, so.rosen_der(p) @ v, rtol=1e-10, atol=1e-9)
    # one direction per point (v with the shape of the batch)
    vs = rng.normal(size=(16, n))
    per_point = hvp(rosen)(points, vs)
    for p, vi, hv in zip(points, vs, np.asarray(per_point), strict=True):
        np.testing.assert_allclose(hv, so.rosen_hess_prod(p, vi), rtol=1e-10, atol=1e-9)


def test_d2l_jacobian_of_a_linear_map_is_the_matrix(x64):
    rng = np.random.default_rng(2)
    m, n = 3, 4
    A = rng.normal(size=(m, n))
    g = jacobian(lambda x: jnp.asarray(A) @ x)
    batch = g(rng.normal(size=(16, n)))
    assert batch.shape == (16, m, n)
    np.testing.assert_allclose(batch, np.broadcast_to(A, (16, m, n)), rtol=1e-15)
    assert g(rng.normal(size=n)).shape == (m, n)


def test_jacobian_of_a_nonlinear_map_matches_closed_form(x64):
    # g(x) = (x1 x2, sin x1, x2^2 e^x3): its Jacobian written out by hand
    def g(x):
        return jnp.stack([x[0] * x[1], jnp.sin(x[0]), x[1] ** 2 * jnp.exp(x[2])])

    rng = np.random.default_rng(3)
    points = rng.normal(size=(16, 3))
    got = np.asarray(jacobian(g)(points))
    assert got.shape == (16, 3, 3)
    for (a, b, c), J in zip(points, got, strict=True):
        expected = [[b, a, 0.0], [np.cos(a), 0.0, 0.0], [0.0, 2 * b * np.exp(c), b**2 * np.exp(c)]]
        np.testing.assert_allclose(J, expected, rtol=1e-13, atol=1e-15)


def test_jacobian_rows_are_nan_where_their_component_is_undefined(x64):
    # g(x) = (log x1, sqrt x2, x1 x2): a row is NaN exactly where its component is NaN
    # (log's autodiff slope 1/x1 is finite at x1 < 0); the other rows, and the other
    # points of the batch, keep the closed form
    def g(x):
        return jnp.stack([jnp.log(x[0]), jnp.sqrt(x[1]), x[0] * x[1]])

    points = np.array([[-1.0, 2.0], [2.0, -3.0], [0.5, 4.0], [-2.0, -5.0]])
    got = np.asarray(jacobian(g)(points))
    for (a, b), J in zip(points, got, strict=True):
        rows = [[1 / a, 0.0], [0.0, 0.5 / np.sqrt(b) if b >= 0 else 0.0], [b, a]]
        for defined, row, expected in zip([a > 0, b >= 0, True], J, rows, strict=True):
            if defined:
                np.testing.assert_allclose(row, expected, rtol=1e-14)
            else:
                assert np.isnan(row).all(), (a, b, row)
    # one point alone, and an expression: the same rule
    assert np.isnan(np.asarray(jacobian(g)(points[0]))[0]).all()
    one = np.asarray(jacobian("log(x1) + x2")(np.array([[-1.0, 2.0], [4.0, 2.0]])))
    assert np.isnan(one[0]).all()
    np.testing.assert_allclose(one[1], [0.25, 1.0], rtol=1e-15)


def test_d2l_gradient_of_a_quadratic_form(x64):
    rng = np.random.default_rng(4)
    n = 5
    A = rng.normal(size=(n, n))
    points = rng.normal(size=(16, n))
    Aj = jnp.asarray(A)
    f = lambda x: x @ Aj @ x  # noqa: E731
    np.testing.assert_allclose(gradient(f)(points), points @ (A + A.T).T, rtol=1e-12, atol=1e-13)
    hess = np.asarray(hessian(f)(points))
    np.testing.assert_allclose(hess, np.broadcast_to(A + A.T, (16, n, n)), rtol=1e-13, atol=1e-14)
    v = rng.normal(size=n)
    np.testing.assert_allclose(
        hvp(f)(points, v), np.broadcast_to((A + A.T) @ v, (16, n)), rtol=1e-12
    )
    np.testing.assert_allclose(
        directional_derivative(f, v)(points), points @ (A + A.T).T @ v, rtol=1e-12, atol=1e-13
    )


def test_d2l_gradient_of_squared_norm(x64):
    rng = np.random.default_rng(5)
    points = rng.normal(size=(16, 7))
    np.testing.assert_allclose(gradient(lambda x: jnp.sum(x**2))(points), 2 * points, rtol=1e-15)
    np.testing.assert_allclose(gradient("x1^2 + x2^2 + x3^2")(points[:, :3]), 2 * points[:, :3])


def test_d2l_gradient_of_squared_frobenius_norm_on_matrices(x64):
    rng = np.random.default_rng(6)
    mats = rng.normal(size=(4, 3, 5))
    got = gradient(lambda M: jnp.sum(M**2), event_ndim=2)(mats)
    assert got.shape == (4, 3, 5)
    np.testing.assert_allclose(got, 2 * mats, rtol=1e-15)
    one = gradient(lambda M: jnp.linalg.norm(M, "fro") ** 2, event_ndim=2)(mats[0])
    np.testing.assert_allclose(one, 2 * mats[0], rtol=1e-13)


def test_event_ndim_none_takes_a_pytree_point(x64):
    def f(params):
        return jnp.sum(params["w"] ** 2) + 3.0 * params["b"]

    got = gradient(f, event_ndim=None)({"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)})
    np.testing.assert_allclose(got["w"], [2.0, -4.0])
    assert float(got["b"]) == 3.0


@pytest.mark.parametrize("as_text", [False, True])
def test_d2l_exercise_7_gradient(x64, as_text):
    f = "3*x1^2 + 5*exp(x2)" if as_text else (lambda x: 3 * x[0] ** 2 + 5 * jnp.exp(x[1]))
    rng = np.random.default_rng(7)
    points = rng.uniform(-2, 2, (16, 2))
    expected = np.stack([6 * points[:, 0], 5 * np.exp(points[:, 1])], axis=-1)
    np.testing.assert_allclose(gradient(f)(points), expected, rtol=1e-14)


def test_d2l_exercise_8_gradient_of_the_2_norm(x64):
    rng = np.random.default_rng(8)
    points = rng.normal(size=(16, 4))
    expected = points / np.linalg.norm(points, axis=-1, keepdims=True)
    np.testing.assert_allclose(gradient(jnp.linalg.norm)(points), expected, rtol=1e-14)
    np.testing.assert_allclose(
        gradient("sqrt(x1^2 + x2^2 + x3^2 + x4^2)")(points), expected, rtol=1e-14
    )
    # at 0 the norm has no gradient: autodiff gives NaN (check_derivative explains why;
    # tested in test_numerical.py)
    assert np.all(np.isnan(np.asarray(gradient(jnp.linalg.norm)(np.zeros(4)))))


def test_integer_points_are_cast_to_float(x64):
    got = gradient(lambda x: jnp.sum(x**2))(np.arange(6).reshape(2, 3))
    assert jnp.issubdtype(got.dtype, jnp.floating)
    np.testing.assert_array_equal(np.asarray(got), 2.0 * np.arange(6).reshape(2, 3))


def test_bad_event_ndim_is_refused():
    with pytest.raises(ValueError):
        gradient(jnp.sum, event_ndim=-1)


# ----------------------------------------------------------------------------------------
# tangent lines


def test_tangent_line_course_example(x64):
    # f(x) = x^3 - 1/x: f(1) = 0, f'(1) = 3 + 1 = 4, so y = 4(x - 1) = 4x - 4
    t = tangent_line("x^3 - 1/x", 1)
    assert t.defined
    assert t.equation == "y = 4*x - 4"
    assert t.slope == pytest.approx(4.0, rel=1e-14)
    assert t.y0 == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(t(np.array([0.0, 2.0])), [-4.0, 4.0], atol=1e-14)


def test_tangent_line_course_example_float32(x32):
    assert tangent_line("x^3 - 1/x", 1.0).equation == "y = 4*x - 4"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cs=coefficients,
    outer=st.sampled_from(sorted(OUTER)),
    x0=st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=4),  # one shape: fewer compiles
)
def test_tangent_line_touches_with_sympys_slope(cs, outer, x0):
    jax_outer, _, sympy_outer = OUTER[outer]
    jax_poly, _, sympy_poly = polynomial_parts(cs)
    expr = sympy_outer(sympy_poly)
    x0 = np.asarray(x0)
    f0 = sympy_values(expr, x0)
    slope = sympy_values(sp.diff(expr, X), x0)
    curvature = np.abs(sympy_values(sp.diff(expr, X, 2), x0))
    with precision(True):
        t = tangent_line(lambda x: jax_outer(jax_poly(x)), jnp.asarray(x0))
        assert np.all(t.defined)
        np.testing.assert_allclose(t.slope, slope, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(t(x0), f0, rtol=1e-12, atol=1e-12)
        # (t(x) - f(x)) / (x - x0) -> 0: by Taylor's theorem it is at most
        # |f''(x0)| h / 2 + |f'''| h^2 / 6, plus round-off of order 1e-16 |f| / h
        size = np.abs(f0) + np.abs(slope) + 1
        third = sp.diff(expr, X, 3)
        for h in (1e-2, 1e-3, 1e-4):
            gap = np.abs(np.asarray(t(x0 + h)) - sympy_values(expr, x0 + h)) / h
            # sup |f3| over [x0, x0 + h] from 11 points (the two ends alone missed an
            # interior maximum: sin of a cubic at h = 0.01, gap above bound by 1e-5)
            f3 = np.max(
                [np.abs(sympy_values(third, x0 + u * h)) for u in np.linspace(0, 1, 11)], axis=0
            )
            bound = curvature * h / 2 + (f3 / 6 + 1) * h**2 + 1e-13 * size / h
            assert np.all(gap <= bound), (h, gap, bound)


@pytest.mark.parametrize(
    ("text", "x0", "words"),
    [
        ("abs(x)", 0.0, ("not differentiable", "one-sided")),  # a kink
        ("sqrt(x)", 0.0, ("infinite", "vertical")),  # a vertical tangent
        ("1/x", 0.0, ("not finite",)),  # no value at all
    ],
)
def test_undefined_tangents(x64, text, x0, words):
    t = tangent_line(text, x0)
    assert t.defined is False
    assert t.reason
    assert any(w in t.reason for w in words), t.reason
    assert t.equation.startswith("undefined")
    assert np.all(np.isnan(np.asarray(t(np.array([-1.0, 0.0, 1.0, 2.0])))))


@pytest.mark.parametrize("text", ["sqrt(x)", "1/x", "cbrt(x)"])
def test_undefined_tangent_never_has_an_infinite_slope(x64, text):
    t = tangent_line(text, 0.0)
    assert not t.defined
    assert not math.isinf(t.slope)


def test_tangent_line_over_an_array_of_points(x64):
    x0 = np.array([-1.0, 0.0, 0.5, 2.0])
    t = tangent_line(lambda x: jnp.abs(x) + x**2, x0)  # kink at 0 only
    np.testing.assert_array_equal(t.defined, [True, False, True, True])
    np.testing.assert_allclose(np.asarray(t.slope)[[0, 2, 3]], [-3.0, 2.0, 5.0], rtol=1e-14)
    values = np.asarray(t(x0))
    np.testing.assert_allclose(values[[0, 2, 3]], [2.0, 0.75, 6.0], rtol=1e-14)
    assert np.isnan(values[1])


@pytest.mark.parametrize(
    ("text", "x0", "expr"),
    [("10*x^2", 0.0, 10 * X**2), ("sin(10*x)", 0.1, sp.sin(10 * X)), ("exp(x)", 10.0, sp.exp(X))],
)
def test_smooth_tangent_is_defined_in_float32(x32, text, x0, expr):
    t = tangent_line(text, x0)
    assert t.defined, t.reason
    expected = float(sp.diff(expr, X).subs(X, sp.Float(np.float32(x0))))
    assert t.slope == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_smooth_tangents_with_large_curvature_are_defined_in_float64(x64):
    for text, x0, expr in [
        ("10*x^2", 0.0, 10 * X**2),
        ("sin(10*x)", 0.1, sp.sin(10 * X)),
        ("exp(x)", 10.0, sp.exp(X)),
    ]:
        t = tangent_line(text, x0)
        assert t.defined, (text, t.reason)
        expected = float(sp.diff(expr, X).subs(X, x0))
        assert t.slope == pytest.approx(expected, rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------------------
# Taylor polynomials


def sympy_taylor_coefficients(expr, x0, order):
    series = sp.series(expr, X, x0, order + 1).removeO()
    poly = sp.Poly(sp.expand(series.subs(X, X + x0)), X)  # a polynomial in (x - x0)
    return np.array([float(poly.coeff_monomial(X**k)) for k in range(order + 1)])


TAYLOR_CASES = {
    "exp": ("exp(x)", sp.exp(X)),
    "sin": ("sin(x)", sp.sin(X)),
    "log_1_plus_x": ("log(1 + x)", sp.log(1 + X)),
}


@pytest.mark.parametrize("x0", [0, sp.Rational(1, 2)])
@pytest.mark.parametrize("name", sorted(TAYLOR_CASES))
def test_taylor_coefficients_match_sympy_series(x64, name, x0):
    text, expr = TAYLOR_CASES[name]
    expected = sympy_taylor_coefficients(expr, x0, 8)
    t = taylor(text, float(x0), 8)
    assert t.order == 8
    assert t.x0 == float(x0)
    np.testing.assert_allclose(t.coefficients, expected, rtol=1e-9, atol=1e-12)
    # the polynomial evaluates as sum c_k (x - x0)^k ...
    xs = float(x0) + np.array([-0.2, -0.05, 0.0, 0.1, 0.2])
    by_hand = sum(c * (xs - float(x0)) ** k for k, c in enumerate(expected))
    np.testing.assert_allclose(t(xs), by_hand, rtol=1e-12, atol=1e-14)
    # ... and is within the Lagrange remainder max|f^(9)| |x - x0|^9 / 9! of f
    fine = float(x0) + np.linspace(-0.2, 0.2, 401)
    max_d9 = np.max(np.abs(sympy_values(sp.diff(expr, X, 9), fine)))
    remainder = max_d9 * np.abs(xs - float(x0)) ** 9 / math.factorial(9)
    assert np.all(np.abs(np.asarray(t(xs)) - sympy_values(expr, xs)) <= remainder * 1.01 + 1e-14)


def test_taylor_low_order_path_matches_sympy(x64):
    # orders <= 2 take the nested-derivative path rather than jet
    expected = sympy_taylor_coefficients(sp.exp(X) * sp.cos(X), sp.Rational(3, 10), 2)
    t = taylor(lambda x: jnp.exp(x) * jnp.cos(x), 0.3, 2)
    np.testing.assert_allclose(t.coefficients, expected, rtol=1e-13)


def test_taylor_float32_is_close_to_sympy(x32):
    expected = sympy_taylor_coefficients(sp.exp(X), 0, 6)
    np.testing.assert_allclose(taylor("exp(x)", 0.0, 6).coefficients, expected, rtol=1e-5)


def test_taylor_of_tan(x64):
    expected = sympy_taylor_coefficients(sp.tan(X), sp.Rational(1, 4), 4)
    np.testing.assert_allclose(taylor("tan(x)", 0.25, 4).coefficients, expected, rtol=1e-9)


# ----------------------------------------------------------------------------------------
# critical points


def kinds(points):
    return [(p.x, p.kind) for p in points]


@pytest.mark.parametrize("mode", ["float32", "float64"])
def test_critical_points_of_x3_minus_3x(mode):
    # f' = 3x^2 - 3 = 0 at -1 (f'' = -6: maximum) and 1 (f'' = 6: minimum)
    with precision(mode == "float64"):
        points = critical_points("x^3 - 3x", -3, 3)
    tol = 1e-5 if mode == "float32" else 1e-12
    assert [p.kind for p in points] == ["maximum", "minimum"]
    np.testing.assert_allclose([p.x for p in points], [-1.0, 1.0], atol=tol)
    np.testing.assert_allclose([p.value for p in points], [2.0, -2.0], atol=tol)


def test_critical_points_of_sin(x64):
    points = critical_points(jnp.sin, -7, 7)
    expected = [-3 * np.pi / 2, -np.pi / 2, np.pi / 2, 3 * np.pi / 2]
    np.testing.assert_allclose([p.x for p in points], expected, atol=1e-12)
    assert [p.kind for p in points] == ["maximum", "minimum", "maximum", "minimum"]
    np.testing.assert_allclose([p.value for p in points], [1, -1, 1, -1], atol=1e-14)


@pytest.mark.parametrize(("text", "kind"), [("x^4", "minimum"), ("x^3", "inflection")])
def test_critical_points_degenerate_at_zero(x64, text, kind):
    points = critical_points(text, -3, 3)
    assert len(points) == 1
    assert points[0].kind == kind
    assert abs(points[0].x) < 1e-6


def test_saddle_of_x2_minus_y2(x64):
    points = critical_points("x^2 - y^2", [-5, -5], [5, 5])
    assert len(points) == 1
    assert points[0].kind == "saddle"
    np.testing.assert_allclose(points[0].x, [0.0, 0.0], atol=1e-12)


def test_minimum_of_shifted_quadratic_agrees_with_scipy(x64):
    points = critical_points("(x-1)^2 + 2(y+2)^2", [-5, -5], [5, 5])
    assert [p.kind for p in points] == ["minimum"]
    reference = so.minimize(lambda p: (p[0] - 1) ** 2 + 2 * (p[1] + 2) ** 2, [0.0, 0.0], tol=1e-12)
    np.testing.assert_allclose(points[0].x, [1.0, -2.0], atol=1e-12)  # closed form
    np.testing.assert_allclose(points[0].x, reference.x, atol=1e-6)
    assert points[0].value == pytest.approx(0.0, abs=1e-20)


def test_himmelblau_four_minima(x64):
    def himmelblau(p):
        x, y = p
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    literature = np.array(
        [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]]
    )
    # sharpen the published 6-digit values with scipy (an independent optimiser)
    refined = np.array(
        [so.minimize(himmelblau, p, method="BFGS", options={"gtol": 1e-12}).x for p in literature]
    )
    np.testing.assert_allclose(refined, literature, atol=1e-5)
    points = critical_points("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", [-5, -5], [5, 5])
    minima = np.array([p.x for p in points if p.kind == "minimum"])
    assert minima.shape == (4, 2)
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(minima), order(refined), atol=1e-6)
    for p in points:
        if p.kind == "minimum":
            assert p.value == pytest.approx(0.0, abs=1e-10)
    assert all(p.kind in {"minimum", "maximum", "saddle"} for p in points)


def test_critical_points_refuses_an_empty_interval():
    with pytest.raises(ValueError):
        critical_points("x^2", 1.0, -1.0)


# ----------------------------------------------------------------------------------------
# High orders of every function of the expression language (truncated Taylor arithmetic),
# against sympy's derivative evaluated with 50 digits

LANGUAGE = [
    ("sin(x)", 0.7),
    ("cos(x)", 0.7),
    ("tan(x)", 0.4),
    ("asin(x)", 0.3),
    ("acos(x)", -0.4),
    ("atan(x)", 0.8),
    ("sinh(x)", 0.5),
    ("cosh(x)", -0.5),
    ("tanh(x)", 0.3),
    ("asinh(x)", 0.6),
    ("acosh(x)", 1.7),
    ("atanh(x)", -0.3),
    ("exp(x)", 0.9),
    ("log(x)", 1.4),
    ("log2(x)", 0.8),
    ("log10(x)", 2.5),
    ("sqrt(x)", 1.3),
    ("cbrt(x)", -0.8),
    ("abs(x)", -0.6),
    ("sign(x)", 0.4),
    ("erf(x)", 0.6),
    ("sigmoid(x)", -0.9),
    ("relu(x)", 0.6),
    ("softplus(x)", 0.7),
    ("min(x, 1 - x^2)", 0.9),
    ("max(x, 1 - x^2)", 0.9),
    ("x^2.5", 1.1),
    ("2^x", 0.5),
    ("x^x", 1.2),
    ("x^-3", 0.8),
    ("x^7", -1.1),
    ("sin(x)/cos(x)", 0.6),
    ("exp(sin(x)) * log(1 + x^2)", 0.4),
    ("atan(x) / (2 + tanh(x))", 0.9),
    ("relu(x) + abs(x)", -0.7),
]


def sympy_derivative_50_digits(expr: sp.Expr, x0: float, order: int) -> float:
    value = sp.diff(expr, X, order).subs(X, sp.Rational(repr(x0))).evalf(50)
    return float(sp.re(value))


@pytest.mark.parametrize(("text", "x0"), LANGUAGE, ids=[t for t, _ in LANGUAGE])
def test_high_orders_of_every_function_match_sympy_with_50_digits(x64, text, x0):
    from jaxcalc import parse

    expr = parse(text).sympy
    for order in (10,):
        got = float(derivative(text, order)(x0))
        expected = sympy_derivative_50_digits(expr, x0, order)
        # compared as Taylor coefficients f^(k)/k!, relative to max(1, |coefficient|)
        scale = math.factorial(order) * max(1.0, abs(expected) / math.factorial(order))
        assert abs(got - expected) <= 1e-10 * scale, (order, got, expected)


def test_taylor_coefficients_to_order_20_match_sympy(x64):
    t = taylor("tan(x)", 0.0, 20)
    series = sp.series(sp.tan(X), X, 0, 21).removeO()
    expected = [float(series.coeff(X, k)) for k in range(21)]
    np.testing.assert_allclose(t.coefficients, expected, rtol=1e-13, atol=1e-15)


def test_high_orders_in_float32(x32):
    for text, x0 in [("tan(x)", 0.4), ("atan(x)", 0.8), ("softplus(x)", 0.7)]:
        expr = sp.sympify(text.replace("softplus(x)", "log(1 + exp(x))"), locals={"x": X})
        got = float(derivative(text, 8)(np.float32(x0)))
        expected = sympy_derivative_50_digits(expr, x0, 8)
        assert abs(got - expected) <= 1e-4 * max(math.factorial(8), abs(expected))


def test_order_40_is_allowed_and_order_41_refused(x64):
    # d^40/dx^40 sin(x) = sin(x); exp(2x) gives 2^40 exp(2x)
    assert float(derivative("sin(x)", 40)(0.3)) == pytest.approx(math.sin(0.3), rel=1e-12)
    assert float(derivative("exp(2*x)", 40)(0.1)) == pytest.approx(
        2.0**40 * math.exp(0.2), rel=1e-12
    )
    with pytest.raises(ValueError, match="limit of 40"):
        derivative("sin(x)", 41)
