"""Tests of jaxcalc.numerical against oracles independent of it.

Oracles: exact derivatives written out by hand, the textbook error orders of difference
quotients, numdifftools' adaptive ``nd.Derivative``, D2L's limit table (section 2.4) in
its closed form 2 + 3h, and sympy. No expected value here was copied from jaxcalc's output.
"""

from __future__ import annotations

import math
import warnings

import jax
import jax.numpy as jnp
import numdifftools as nd
import numpy as np
import pytest
import scipy.differentiate as sd
from jaxcalc_testing import precision
from numdifftools.example_functions import FUN_DICT
from scipy import special, stats

from jaxcalc import check_derivative, derivative, gradient, hessian, limit_table, numeric_derivative

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)

# f, f' written by hand, and numpy f (for numdifftools)
SMOOTH = {
    "sin": (jnp.sin, np.cos, np.sin),
    "exp": (jnp.exp, np.exp, np.exp),
    "tanh": (jnp.tanh, lambda x: 1 / np.cosh(x) ** 2, np.tanh),
    "log_1_plus_x2": (
        lambda x: jnp.log(1 + x**2),
        lambda x: 2 * x / (1 + x**2),
        lambda x: np.log(1 + x**2),
    ),
    "cubic": (lambda x: x**3 - 2 * x, lambda x: 3 * x**2 - 2, lambda x: x**3 - 2 * x),
}


# ----------------------------------------------------------------------------------------
# numeric_derivative


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_numeric_derivative_default_step_is_near_the_theoretical_optimum(x64, name, method):
    f, df, _ = SMOOTH[name]
    xs = np.linspace(-2.0, 2.0, 41)
    got = numeric_derivative(f, jnp.asarray(xs), method=method)
    assert got.shape == xs.shape and got.dtype == jnp.float64
    # total error at the balancing step: ~eps^(2/3) for central, ~eps^(1/2) for one-sided,
    # times the size of f and its derivatives (at most e^2 ~ 7.4 and 22 here)
    power = 2 / 3 if method == "central" else 1 / 2
    bound = 25 * EPS64**power * np.maximum(1, np.abs(xs))
    assert np.all(np.abs(np.asarray(got) - df(xs)) <= bound)


def test_numeric_derivative_sin_at_1(x64):
    central = float(numeric_derivative(jnp.sin, 1.0))
    assert abs(central - math.cos(1.0)) < 1e-9
    forward = float(numeric_derivative(jnp.sin, 1.0, method="forward"))
    backward = float(numeric_derivative(jnp.sin, 1.0, method="backward"))
    assert abs(forward - math.cos(1.0)) < 1e-7
    assert abs(backward - math.cos(1.0)) < 1e-7
    # at one fixed step, a one-sided quotient errs by about -/+ f''(1) h / 2 = -/+ sin(1) h / 2:
    # opposite signs
    h = math.sqrt(EPS64)
    forward = float(numeric_derivative(jnp.sin, 1.0, h, method="forward"))
    backward = float(numeric_derivative(jnp.sin, 1.0, h, method="backward"))
    assert forward < math.cos(1.0) < backward


@pytest.mark.parametrize("method", ["central", "forward", "backward"])
def test_numeric_derivative_float32(x32, method):
    xs = np.linspace(-2.0, 2.0, 41, dtype=np.float32)
    got = numeric_derivative(jnp.sin, jnp.asarray(xs), method=method)
    assert got.dtype == jnp.float32
    power = 2 / 3 if method == "central" else 1 / 2
    bound = 10 * EPS32**power  # 2.4e-4 central, 3.5e-3 one-sided
    assert np.max(np.abs(np.asarray(got, np.float64) - np.cos(xs.astype(np.float64)))) < bound
    assert abs(float(numeric_derivative(jnp.sin, np.float32(1.0), method=method)) - 0.5403) < bound


@pytest.mark.parametrize(("method", "order"), [("central", 2), ("forward", 1), ("backward", 1)])
@pytest.mark.parametrize(("f", "df", "x"), [(jnp.sin, math.cos, 1.0), (jnp.exp, math.exp, 0.5)])
def test_numeric_derivative_error_order(x64, method, order, f, df, x):
    # truncation dominates for these h in float64: halving h divides the error by 2^order
    steps = 1e-2 * 2.0 ** -np.arange(7)  # 1e-2 .. 1.6e-4
    errors = np.array([abs(float(numeric_derivative(f, x, h, method)) - df(x)) for h in steps])
    ratios = errors[:-1] / errors[1:]
    np.testing.assert_allclose(ratios, 2.0**order, rtol=0.03)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert slope == pytest.approx(order, abs=0.02)


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_numeric_derivative_agrees_with_numdifftools(x64, name):
    f, df, f_np = SMOOTH[name]
    xs = np.linspace(-1.5, 1.5, 13)
    reference = nd.Derivative(f_np)(xs)
    np.testing.assert_allclose(reference, df(xs), atol=1e-10)  # the oracle is good
    got = np.asarray(numeric_derivative(f, jnp.asarray(xs)))
    np.testing.assert_allclose(got, reference, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["sin", "exp", "tanh"])
@pytest.mark.parametrize("mode", ["float32", "float64"])
def test_estimate_error_bounds_the_true_error_at_the_default_step(name, mode):
    f, df, _ = SMOOTH[name]
    with precision(mode == "float64"):
        xs = jnp.linspace(-3.0, 3.0, 61)
        result = numeric_derivative(f, xs, estimate_error=True)
        plain = numeric_derivative(f, xs)
    true = df(np.asarray(xs, np.float64))
    error = np.abs(np.asarray(result.value, np.float64) - true)
    bound = np.asarray(result.error, np.float64)
    assert result.value.shape == result.error.shape == xs.shape
    assert np.all(np.isfinite(bound)) and np.all(bound >= 0)
    assert np.all(error <= bound)
    if mode == "float64":  # the extrapolated value is no worse than plain central
        plain_error = np.abs(np.asarray(plain) - true)
        assert np.max(error) <= np.max(plain_error)


def test_estimate_error_bounds_the_true_error_for_a_cubic(x64):
    f, df, _ = SMOOTH["cubic"]
    xs = jnp.linspace(-3.0, 3.0, 61)
    result = numeric_derivative(f, xs, estimate_error=True)
    error = np.abs(np.asarray(result.value) - df(np.asarray(xs)))
    assert np.all(error <= np.asarray(result.error))


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_estimate_error_with_a_truncation_dominated_step(x64, name):
    # with h = 1e-3 the O(h^2) truncation error dominates: Richardson removes it, so the value
    # is far better than plain central differences and the bound (the size of the removed
    # correction) is at least the remaining error, except where f''' = 0 near x
    f, df, _ = SMOOTH[name]
    xs = np.array([-1.3, -0.4, 0.7, 1.1, 1.9])
    result = numeric_derivative(f, jnp.asarray(xs), 1e-3, estimate_error=True)
    plain = numeric_derivative(f, jnp.asarray(xs), 1e-3)
    true = df(xs)
    error = np.abs(np.asarray(result.value) - true)
    plain_error = np.abs(np.asarray(plain) - true)
    assert np.all(error <= np.asarray(result.error))
    assert np.all(error <= plain_error / 100 + 1e-12)


@pytest.mark.parametrize("shape", [(), (1000,), (2, 3, 4)])
def test_numeric_derivative_is_vectorised_and_jittable(x64, shape):
    xs = np.random.default_rng(0).uniform(-3, 3, shape)
    eager = numeric_derivative(jnp.sin, xs)
    assert eager.shape == shape
    jitted = jax.jit(lambda x: numeric_derivative(jnp.sin, x))(xs)
    np.testing.assert_allclose(jitted, eager, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(jitted, np.cos(xs), atol=1e-9)
    both = jax.jit(lambda x: numeric_derivative(jnp.sin, x, estimate_error=True))(xs)
    assert both.value.shape == both.error.shape == shape
    np.testing.assert_allclose(both.value, np.cos(xs), atol=1e-9)


def test_numeric_derivative_takes_expression_text_and_integers(x64):
    got = numeric_derivative("3x^2 + 1", np.arange(-2, 3))
    assert jnp.issubdtype(got.dtype, jnp.floating)
    np.testing.assert_allclose(got, 6.0 * np.arange(-2, 3), atol=1e-8)
    # the course's scipy.misc.derivative(f, 2.0) example: f'(2) = 12
    assert float(numeric_derivative(lambda x: 3 * x**2 + 1, 2.0)) == pytest.approx(12.0, abs=1e-8)


def test_numeric_derivative_accepts_a_step_per_point(x64):
    xs = jnp.array([0.0, 1.0, 2.0])
    steps = jnp.array([1e-2, 1e-3, 1e-4])
    got = np.asarray(numeric_derivative(jnp.sin, xs, h=steps))
    # central differences of sin: exactly cos(x) sin(h) / h
    np.testing.assert_allclose(got, np.cos(xs) * np.sin(steps) / steps, rtol=1e-10)


@pytest.mark.parametrize("method", ["centre", "Central", "", None])
def test_bad_method_raises(method):
    with pytest.raises(ValueError):
        numeric_derivative(jnp.sin, 1.0, method=method)


# ----------------------------------------------------------------------------------------
# limit_table (D2L 2.4: f(x) = 3x^2 - 4x at x = 1, f'(1) = 2)


def test_d2l_limit_table_float64(x64):
    table = limit_table("3x^2 - 4x", 1.0)
    assert table.dtype == "float64"
    assert table.exact == 2.0  # 6x - 4 at 1
    # steps 10^-1, 10^-2, ... down past eps
    np.testing.assert_allclose(table.steps[:5], [1e-1, 1e-2, 1e-3, 1e-4, 1e-5])
    assert table.steps[-1] < 1e-15
    # (f(1+h) - f(1)) / h = (3(1+h)^2 - 4(1+h) + 1) / h = 2 + 3h exactly; the computed
    # quotient differs only by round-off, at most a few eps * |f| / h
    closed = 2.0 + 3.0 * table.steps
    roundoff = 20 * EPS64 * 4 / table.steps
    assert np.all(np.abs(table.quotients - closed) <= roundoff + 4 * EPS64)
    # D2L prints 2.3, 2.03, 2.003, ...
    np.testing.assert_allclose(table.quotients[:4], [2.3, 2.03, 2.003, 2.0003], rtol=1e-10)
    np.testing.assert_allclose(table.errors, np.abs(table.quotients - 2.0), rtol=1e-15)
    # best: the smallest error; theory puts it near sqrt(eps) ~ 1.5e-8
    assert table.best == int(np.argmin(np.abs(table.quotients - 2.0)))
    assert 1e-9 <= table.steps[table.best] <= 1e-7
    notes = [row["note"] for row in table.rows()]
    assert notes[table.best] == "best"
    assert all(note == "" for note in notes[: table.best])
    assert all(note == "round-off wins" for note in notes[table.best + 1 :])
    text = str(table)
    assert "best" in text and "round-off wins" in text


def test_d2l_limit_table_float32_best_step_is_larger(x64):
    t32 = limit_table("3x^2 - 4x", 1.0, dtype="float32")
    t64 = limit_table("3x^2 - 4x", 1.0, dtype="float64")
    assert t32.dtype == "float32"
    assert t32.steps[t32.best] > t64.steps[t64.best]
    # theory: sqrt(eps32) ~ 3.5e-4
    assert 1e-5 <= t32.steps[t32.best] <= 1e-3
    assert t32.best == int(np.argmin(np.abs(t32.quotients - 2.0)))
    # the truncation-dominated rows still follow 2 + 3h (to float32 round-off)
    big = t32.steps >= 1e-3
    closed = 2.0 + 3.0 * t32.steps[big]
    assert np.all(np.abs(t32.quotients[big] - closed) <= 20 * EPS32 * 4 / t32.steps[big])


def test_limit_table_with_given_steps(x64):
    table = limit_table(lambda x: x**2, 3.0, steps=[0.5, 0.25])
    # (f(3+h) - f(3)) / h = 6 + h
    np.testing.assert_allclose(table.quotients, [6.5, 6.25], rtol=1e-15)
    assert table.best == 1
    with pytest.raises(ValueError):
        limit_table(lambda x: x**2, 3.0, steps=[0.1, -0.1])


def test_limit_table_float64_request_without_x64_is_not_mislabelled(x32):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            table = limit_table("3x^2 - 4x", 1.0, dtype="float64")
        except (ValueError, TypeError):
            return  # refusing is an honest answer
    assert table.dtype == "float64"
    assert table.quotients[1] == pytest.approx(2.03, rel=1e-12)


# ----------------------------------------------------------------------------------------
# check_derivative


def test_check_abs_at_zero(x64):
    c = check_derivative("abs(x)", 0.0)
    assert c.differentiable is False
    assert not c.ok
    assert c.left == pytest.approx(-1.0, abs=1e-12)
    assert c.right == pytest.approx(1.0, abs=1e-12)
    assert c.autodiff == 1.0
    assert any("convention" in issue for issue in c.issues)
    assert any("not differentiable" in issue for issue in c.issues)


def test_check_relu_at_zero(x64):
    c = check_derivative("relu(x)", 0.0)
    assert c.differentiable is False
    assert c.left == pytest.approx(0.0, abs=1e-12)
    assert c.right == pytest.approx(1.0, abs=1e-12)
    assert any("convention" in issue for issue in c.issues)


@pytest.mark.parametrize("mode", ["float32", "float64"])
def test_check_x_squared_at_3(mode):
    with precision(mode == "float64"):
        c = check_derivative("x^2", 3.0)
    assert c.ok and c.differentiable and c.issues == []
    assert c.symbolic == 6.0
    assert c.autodiff == 6.0
    assert c.value == 9.0
    assert c.finite_difference == pytest.approx(6.0, rel=1e-3 if mode == "float32" else 1e-8)


def test_check_sqrt_at_zero(x64):
    c = check_derivative("sqrt(x)", 0.0)
    assert c.differentiable is False
    assert c.issues
    assert c.autodiff == math.inf
    assert c.right > 1e3  # 1/sqrt(h): steep from the right


def test_check_sqrt_at_zero_is_reported_as_a_vertical_tangent(x64):
    c = check_derivative("sqrt(x)", 0.0)
    assert any("infinite" in issue or "vertical" in issue for issue in c.issues), c.issues


def test_check_non_finite_value(x64):
    c = check_derivative("x^3 - 1/x", 0.0)
    assert c.differentiable is False
    assert not math.isfinite(c.value)
    assert any("not finite" in issue for issue in c.issues)


def test_check_smooth_expression_ok_with_sympy(x64):
    c = check_derivative("x^3 - 1/x", 1.0)
    assert c.ok
    assert c.symbolic == pytest.approx(4.0, rel=1e-14)  # 3x^2 + 1/x^2 at 1
    assert c.autodiff == pytest.approx(4.0, rel=1e-14)


def test_check_callable_has_no_symbolic(x64):
    c = check_derivative(jnp.cos, 0.5)
    assert c.symbolic is None
    assert c.ok
    assert c.autodiff == pytest.approx(-math.sin(0.5), rel=1e-14)


def test_check_2_norm_at_zero_reports_the_nan_gradient(x64):
    c = check_derivative(jnp.linalg.norm, np.zeros(3))
    assert c.differentiable is False
    assert np.all(np.isnan(c.autodiff))
    np.testing.assert_allclose(c.left, [-1.0] * 3, atol=1e-12)
    np.testing.assert_allclose(c.right, [1.0] * 3, atol=1e-12)
    assert len(c.issues) == 3
    assert all("nan" in issue and "not differentiable" in issue for issue in c.issues)
    as_dict = c.as_dict()
    assert as_dict["autodiff"] == [None, None, None]
    assert as_dict["differentiable"] is False


def test_check_2_norm_away_from_zero(x64):
    point = np.array([3.0, -4.0, 12.0])
    c = check_derivative("sqrt(x1^2 + x2^2 + x3^2)", point)
    assert c.ok, c.issues
    np.testing.assert_allclose(c.autodiff, point / 13.0, rtol=1e-14)
    np.testing.assert_allclose(c.symbolic, point / 13.0, rtol=1e-14)
    np.testing.assert_allclose(c.finite_difference, point / 13.0, rtol=1e-8)


def test_check_refuses_a_batch_of_points():
    with pytest.raises(ValueError):
        check_derivative(jnp.sum, np.zeros((2, 3)))


# Smooth functions where autodiff (and sympy) are exact but finite differences are
# inaccurate: large curvature next to a zero slope, a large constant (cancellation), or a
# large but finite slope. None is a kink or a vertical tangent.
FALSE_ALARMS = [
    pytest.param("1000*x^2", 0.0, 0.0, id="large-curvature-at-minimum"),
    pytest.param("sin(100*x)", math.pi / 200, 0.0, id="fast-oscillation-at-crest"),
    pytest.param("1e8 + sin(x)", 1.0, math.cos(1.0), id="cancellation"),
    pytest.param("exp(x)", 20.0, math.exp(20.0), id="large-finite-slope"),
]


@pytest.mark.parametrize(("text", "x", "slope"), FALSE_ALARMS)
def test_check_does_not_flag_smooth_functions_with_inaccurate_differences(x64, text, x, slope):
    c = check_derivative(text, x)
    assert c.autodiff == pytest.approx(slope, rel=1e-12, abs=1e-9)
    assert c.differentiable, c.issues


@pytest.mark.parametrize(("text", "x", "slope"), FALSE_ALARMS)
def test_check_autodiff_and_sympy_are_right_where_differences_are_not(x64, text, x, slope):
    c = check_derivative(text, x)
    assert c.autodiff == pytest.approx(slope, rel=1e-12, abs=1e-9)
    assert c.symbolic == pytest.approx(slope, rel=1e-12, abs=1e-9)


# ----------------------------------------------------------------------------------------
# The adaptive default step: small |x|, domains that end at 0, honest error estimates

NEAR_ZERO = {
    "log": (jnp.log, lambda x: 1 / x, np.log),
    "sqrt": (jnp.sqrt, lambda x: 0.5 / np.sqrt(x), np.sqrt),
    "reciprocal": (lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 1 / x),
    "x^-1.5": (lambda x: x**-1.5, lambda x: -1.5 * x**-2.5, lambda x: x**-1.5),
}


@pytest.mark.parametrize("name", sorted(NEAR_ZERO))
def test_small_x_keeps_its_accuracy_and_never_steps_past_zero(x64, name):
    # scipy.differentiate with an initial step of x/2 is the reference the step must match
    f, df, f_np = NEAR_ZERO[name]
    xs = np.array([1e-3, 1e-5, 1e-6, 1e-9, 1e-12])
    result = numeric_derivative(f, jnp.asarray(xs), estimate_error=True)
    true = df(xs)
    relative = np.abs(np.asarray(result.value) - true) / np.abs(true)
    assert np.all(relative < 1e-10), relative
    assert np.all(np.asarray(result.error) >= np.abs(np.asarray(result.value) - true))
    scipy_rel = np.array(
        [
            abs(sd.derivative(f_np, x, initial_step=x / 2).df - t) / abs(t)
            for x, t in zip(xs, true, strict=True)
        ]
    )
    assert np.all(relative <= 10 * scipy_rel + 1e-13)


def test_small_x_in_float32(x32):
    xs = jnp.asarray([1e-3, 1e-5, 1e-6], jnp.float32)
    got = np.asarray(numeric_derivative(jnp.log, xs), np.float64)
    true = 1 / np.asarray(xs, np.float64)
    assert np.all(np.abs(got - true) / true < 1e-4)


def _coverage_cases():
    """numdifftools' example functions (with their exact derivatives) and three of
    scipy.differentiate's test cases: a small sample of benchmarks/derivative_errors.py."""
    cases = []
    with np.errstate(all="ignore"):
        for _, make in sorted(FUN_DICT.items()):
            f, df = make(0), make(1)
            for x in (-0.9, -1e-3, 1e-5, 0.5, 3.0):
                if np.isfinite(f(x)) and np.isfinite(df(x)):
                    cases.append((f, x, float(df(x))))
    cases += [(special.ndtr, float(x), float(stats.norm.pdf(x))) for x in (-0.05, 0.6, 1.05)]
    for dist in (stats.gamma(2.5), stats.beta(2.0, 3.5), stats.t(4.0)):
        x = float(dist.median()) + 0.1
        cases.append((dist.cdf, x, float(dist.pdf(x))))
    cases.append((lambda x: x**99 - 1, 7.0, 99 * 7.0**98))
    return cases


def test_error_estimate_covers_the_actual_error_in_95_percent_of_cases(x64):
    covered, total = 0, 0
    for f, x, exact in _coverage_cases():
        with np.errstate(all="ignore"):
            r = numeric_derivative(
                lambda v, f=f: jnp.asarray(f(np.asarray(v))), x, estimate_error=True
            )
        assert np.isfinite(float(r.value)), (f, x)
        total += 1
        covered += float(r.error) >= abs(float(r.value) - exact)
        # and the estimate is an estimate, not a blanket: within 1e-6 of the size of f'
        assert float(r.error) <= 1e-6 * max(1.0, abs(exact)), (f, x, float(r.error))
    assert total > 80 and covered / total >= 0.95, (covered, total)


def test_a_step_past_the_end_of_the_domain_is_never_used(x64):
    # just right of 1, a step reaching past 1 gives NaN for log(x - 1), and finite but wrong
    # quotients for the pole of 1/(x - 1): neither may be used
    x = jnp.asarray([1.001, 1.0 + 1e-6])
    for f, df in [
        (lambda v: jnp.log(v - 1), lambda v: 1 / (v - 1)),
        (lambda v: 1 / (v - 1), lambda v: -1 / (v - 1) ** 2),
    ]:
        r = numeric_derivative(f, x, estimate_error=True)
        true = df(np.asarray(x))
        err = np.abs(np.asarray(r.value) - true)
        assert np.all(err <= np.asarray(r.error)) and np.all(err / np.abs(true) < 1e-3)


# ----------------------------------------------------------------------------------------
# A function that is NaN at x has NaN derivatives of every order, and check says why

NAN_AT_X = [
    pytest.param("x + log(-1)", 1.0, "log(-1)", id="nan-constant-term"),
    pytest.param("log(x)", -1.0, "log(x)", id="outside-the-domain"),
    pytest.param("x^2 * sqrt(x - 2)", 1.0, "sqrt(x - 2)", id="inner-part"),
]


@pytest.mark.parametrize(("text", "x", "part"), NAN_AT_X)
def test_nan_function_has_nan_derivatives_of_every_order(x64, text, x, part):
    for order in range(0, 8):
        assert math.isnan(float(derivative(text, order)(x))), order
    assert math.isnan(float(numeric_derivative(text, x)))
    c = check_derivative(text, x)
    assert math.isnan(c.autodiff) and math.isnan(c.finite_difference) and not c.differentiable
    assert any(part in issue and "NaN" in issue for issue in c.issues), c.issues


def test_nan_callable_has_nan_derivatives_and_gradient(x64):
    assert math.isnan(float(derivative(lambda x: x + jnp.log(-1.0), 1)(2.0)))
    assert math.isnan(float(derivative(lambda x: x + jnp.log(-1.0), 5)(2.0)))
    g = gradient("x1 + 3*x2 + log(-1)")(jnp.asarray([1.0, 2.0]))
    assert np.all(np.isnan(np.asarray(g)))
    h = hessian(lambda v: jnp.sum(v**2) + jnp.sqrt(v[0]))(jnp.asarray([-1.0, 2.0]))
    assert np.all(np.isnan(np.asarray(h)))
    # where f is defined the gradient is untouched
    np.testing.assert_allclose(gradient("x1 + 3*x2")(jnp.asarray([1.0, 2.0])), [1.0, 3.0])
