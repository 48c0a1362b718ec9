"""Least squares, linear and nonlinear, against truths independent of jaxcalc.

Truths: ``numpy.linalg.lstsq``; NIST StRD certified values (Longley and Wampler1 for the
linear solvers, Misra1a and Thurber for Gauss-Newton and Levenberg-Marquardt, from both of
NIST's starting points); ``scipy.optimize.least_squares(method="lm")`` (MINPACK) on the
curve-fitting examples; an mpmath reference for the conditioning study; closed forms for
the residual forms of the optimizer conformance problems.

Runtime: each objective x optimizer is one compiled program (seconds of XLA compile on a
small CPU), so the curve fits and the conformance problems are each stacked into one
objective whose last coordinate, a constant tag the residuals do not differentiate
(``stop_gradient``), picks the problem (as in tests/test_optimizers.py). Its Jacobian
column is zero, so Gauss-Newton's minimum-norm step and Levenberg-Marquardt's damped step
leave it alone, and every other number is that of the problem alone.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from jaxcalc import objectives
from jaxcalc.engine import optimize
from jaxcalc.errors import ConfigError
from jaxcalc.linear_least_squares import (
    LINEAR_METHODS,
    solve_linear_least_squares,
    vandermonde_conditioning,
)
from jaxcalc.nist_strd import LONGLEY, MISRA1A, THURBER, WAMPLER1
from jaxcalc.objectives import ResidualObjective, from_residuals
from jaxcalc.optimizers import get_optimizer, optimizer_names

METHODS = ("gauss_newton", "levenberg_marquardt")
EPS = float(np.finfo(np.float64).eps)


@pytest.fixture(scope="module", autouse=True)
def float64():
    """Every test here runs in float64; the previous x64 mode is restored afterwards."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


# ----------------------------------------------------------------------------------------
# Linear least squares


def test_linear_solvers_match_numpy_lstsq():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(30, 5)) * np.array([1.0, 10.0, 0.1, 3.0, 1.0])
    b = rng.normal(size=30)
    expected, *_ = np.linalg.lstsq(a, b, rcond=None)
    for method in LINEAR_METHODS:
        res = solve_linear_least_squares(a, b, method)
        np.testing.assert_allclose(res.solution, expected, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(res.residual_norm, np.linalg.norm(a @ expected - b), rtol=1e-12)
        np.testing.assert_allclose(res.condition_number, np.linalg.cond(a), rtol=1e-10)


@pytest.mark.parametrize("dataset", [LONGLEY, WAMPLER1], ids=lambda d: d.name)
def test_linear_solvers_reach_nist_certified_values(dataset):
    """QR and the SVD reach NIST's certified coefficients (15 digits) to 1e-9 relative
    (observed 1e-11 on Longley, cond 4.9e9; 7e-10 on Wampler1, cond 6.4e6) and the
    certified residual sum of squares; the normal equations lose at least 100 times more
    (observed: 6e-8 and 2e-7)."""
    errors = {}
    for method in LINEAR_METHODS:
        res = solve_linear_least_squares(dataset.design, dataset.y, method)
        x = np.asarray(res.solution)
        errors[method] = np.max(np.abs(x - dataset.certified) / np.abs(dataset.certified))
        rss = float(res.residual_norm) ** 2
        if dataset.residual_sum_of_squares > 0:
            assert rss == pytest.approx(dataset.residual_sum_of_squares, rel=1e-8)
        else:
            assert rss < 1e-12 * float(np.sum(dataset.y**2))
    assert errors["qr"] < 1e-9 and errors["lstsq"] < 1e-9, errors
    assert errors["normal"] > 100 * errors["qr"], errors


def test_conditioning_trade_off():
    """Polynomial fits of degree 3..11 (cond(A) from 1e2 to 1e8): QR's and the SVD's errors
    stay within a small multiple of eps cond(A), the normal equations' errors follow
    eps cond(A)^2 (within a factor 1e-3..10), and on a log-log scale the error grows with
    slope ~2 in cond(A) for the normal equations and ~1 for QR."""
    rows = vandermonde_conditioning([3, 5, 7, 9, 11], points=50)
    cond = np.array([r["condition_number"] for r in rows])
    assert np.all(np.diff(np.log10(cond)) > 1.0)  # ill-conditioning grows with the degree
    for r in rows:
        assert r["qr_error"] <= 10 * r["eps_cond"], r
        assert r["lstsq_error"] <= 10 * r["eps_cond"], r
        assert 1e-3 * r["eps_cond_squared"] <= r["normal_error"] <= 10 * r["eps_cond_squared"], r
    log_cond = np.log10(cond)
    slope = {
        m: np.polyfit(log_cond, np.log10([r[f"{m}_error"] for r in rows]), 1)[0]
        for m in ("normal", "qr")
    }
    assert 1.6 <= slope["normal"] <= 2.4, slope
    assert 0.6 <= slope["qr"] <= 1.4, slope
    assert rows[-1]["normal_error"] > 1e5 * rows[-1]["qr_error"]


def test_linear_errors_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown least-squares method 'qrr'; did you mean 'qr'"):
        solve_linear_least_squares(np.eye(3), np.ones(3), "qrr")
    with pytest.raises(ConfigError, match="at least as many rows"):
        solve_linear_least_squares(np.ones((2, 3)), np.ones(2), "qr")
    with pytest.raises(ConfigError, match=r"b must have shape \(3,\)"):
        solve_linear_least_squares(np.eye(3), np.ones(4))


def test_conditioning_study_refuses_float32():
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ConfigError, match="float64"):
            vandermonde_conditioning([2])
    finally:
        jax.config.update("jax_enable_x64", True)


# ----------------------------------------------------------------------------------------
# NIST StRD nonlinear regression from both starts


@functools.cache
def _nist_run(name: str, method: str):
    obj = objectives.get(name)
    return obj, optimize(obj, method, obj.starts, 300, record_every=300, check_curvature=False)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["misra1a", "thurber"])
def test_reaches_nist_certified_values(name, method):
    """From NIST's Start 1 and Start 2, both methods end "converged" at
    the certified parameters to 1e-6 relative (observed: 1e-11 on Misra1a, 2e-8 on
    Thurber) and the certified residual sum of squares to 1e-8 (observed 4e-11, 6e-12)."""
    data = {"misra1a": MISRA1A, "thurber": THURBER}[name]
    obj, t = _nist_run(name, method)
    assert list(t.status) == ["converged", "converged"], (t.status, t.event_step)
    np.testing.assert_allclose(t.final_params, np.tile(data.certified, (2, 1)), rtol=1e-6)
    np.testing.assert_allclose(t.final_values, data.residual_sum_of_squares, rtol=1e-8)
    dof = data.x.shape[0] - data.certified.shape[0]
    np.testing.assert_allclose(
        np.sqrt(t.final_values / dof), data.residual_standard_deviation, rtol=1e-8
    )
    # one Jacobian per accepted step, a few residual evaluations per step
    assert np.all(t.gradient_evaluations <= t.event_step + 1)
    assert np.all(t.function_evaluations >= t.event_step)


# ----------------------------------------------------------------------------------------
# Curve fits against scipy's MINPACK Levenberg-Marquardt

FITS = ("exp_decay_fit", "logistic_fit")
_M = 40  # residuals per problem after padding (exp_decay has 40, logistic 31)


def _stack(problems: list[ResidualObjective], observations: int, name: str):
    """One residual objective of z = (x, tag) that is problem[tag](x), residuals padded."""
    dim = problems[0].dim

    def residuals(z):
        x, tag = z[:dim], jax.lax.stop_gradient(z[dim])
        out = jnp.zeros(observations, z.dtype)
        for i, p in enumerate(problems):
            r = p.residual_fn(x)
            padded = jnp.zeros(observations, z.dtype).at[: r.shape[0]].set(r)
            out = jnp.where(jnp.abs(tag - i) < 0.5, padded, out)
        return out

    bounds = np.vstack([problems[0].bounds, [[-0.5, len(problems) - 0.5]]])
    return from_residuals(residuals, dim + 1, bounds, name=name, citation="test")


@functools.cache
def _fit_runs(method: str):
    probs = [objectives.get(n) for n in FITS]
    stacked = _stack(probs, _M, "fits")
    starts = np.vstack([np.column_stack([p.starts, np.full(2, i)]) for i, p in enumerate(probs)])
    return optimize(stacked, method, starts, 300, record_every=300, check_curvature=False)


def _scipy_lm(obj: ResidualObjective, x0: np.ndarray):
    r = jax.jit(obj.residual_fn)
    jac = jax.jit(jax.jacfwd(obj.residual_fn))
    return so.least_squares(
        lambda x: np.asarray(r(jnp.asarray(x))),
        x0,
        jac=lambda x: np.asarray(jac(jnp.asarray(x))),
        method="lm",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )


@pytest.mark.parametrize("method", METHODS)
def test_curve_fits_agree_with_scipy_lm(method):
    """Both starts of both fits: the same minimiser as MINPACK's LM (scipy) to 1e-8
    relative, the same sum of squares to 1e-12, and the registered x_opt (60-digit mpmath)."""
    t = _fit_runs(method)
    assert set(t.status) == {"converged"}, t.status
    for i, name in enumerate(FITS):
        obj = objectives.get(name)
        for k, x0 in enumerate(obj.starts):
            lane = 2 * i + k
            ref = _scipy_lm(obj, x0)
            assert ref.success, ref.message
            x = t.final_params[lane, :3]
            assert t.final_params[lane, 3] == i  # the tag still selects the problem
            np.testing.assert_allclose(x, ref.x, rtol=1e-8)
            np.testing.assert_allclose(x, obj.x_opt, rtol=1e-8)
            assert t.final_values[lane] == pytest.approx(2 * ref.cost, rel=1e-12)
            assert t.final_values[lane] == pytest.approx(obj.f_opt, rel=1e-12)


# ----------------------------------------------------------------------------------------
# Conformance on residual forms of the optimizer table's problems

QUAD_A = np.array([[3.0, 1.0], [1.0, 2.0]])
QUAD_B = np.array([1.0, -1.0])
_L = np.linalg.cholesky(QUAD_A)  # A = L L^T
# ||L^T x - L^-1 b||^2 = x.A.x - 2 b.x + const: minimised where A x = b
_QUAD_C = np.linalg.solve(_L, QUAD_B)


def _quadratic(x):
    return jnp.asarray(_L.T, x.dtype) @ x - jnp.asarray(_QUAD_C, x.dtype)


def _booth(x):
    return jnp.stack([x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5])


def _rosenbrock(x):
    return jnp.stack([10 * (x[1] - x[0] ** 2), 1 - x[0]])


PROBLEMS = {  # residuals, x*, starts (those of tests/test_optimizers.py)
    "quadratic": (
        _quadratic,
        np.linalg.solve(QUAD_A, QUAD_B),
        [[0.0, 0.0], [3.0, -2.0], [-4.0, 5.0], [10.0, 10.0]],
    ),
    "booth": (_booth, np.array([1.0, 3.0]), [[0.0, 0.0], [-3.0, -2.0], [5.0, 8.0], [10.0, -10.0]]),
    "rosenbrock": (
        _rosenbrock,
        np.array([1.0, 1.0]),
        np.vstack([[-1.2, 1.0], np.random.default_rng(20240611).uniform(-2.0, 2.0, (3, 2))]),
    ),
}
N = 4


def _conformance_objective() -> ResidualObjective:
    problems = [
        from_residuals(r, 2, [-10.0, 10.0], name=name) for name, (r, _, _) in PROBLEMS.items()
    ]
    return _stack(problems, 2, "residual_table")


CONFORMANCE = _conformance_objective()
STARTS = np.vstack(
    [
        np.column_stack([np.asarray(s), np.full(N, i)])
        for i, (_, _, s) in enumerate(PROBLEMS.values())
    ]
)


@functools.cache
def _conformance(method: str):
    t = optimize(CONFORMANCE, method, STARTS, 100)
    rev = optimize(CONFORMANCE, method, STARTS[::-1], 100)
    moved = optimize(CONFORMANCE, method, STARTS + np.array([0.25, 0.25, 0.0]), 100)
    return t, rev, moved


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("objective", list(PROBLEMS))
def test_residual_conformance_converges(method, objective):
    t, _, moved = _conformance(method)
    i = list(PROBLEMS).index(objective)
    lanes = slice(N * i, N * (i + 1))
    x_star = PROBLEMS[objective][1]
    for run in (t, moved):
        assert list(run.status[lanes]) == ["converged"] * N, (run.status, run.event_step)
        np.testing.assert_allclose(run.final_params[lanes, :2], np.tile(x_star, (N, 1)), atol=1e-6)
        np.testing.assert_array_equal(run.final_params[lanes, 2], i)
        assert np.all(run.final_values[lanes] < 1e-10)
    if objective != "rosenbrock" and method == "gauss_newton":
        # a linear residual: the Gauss-Newton step solves the problem exactly
        assert list(t.event_step[lanes]) == [1] * N


@pytest.mark.parametrize("method", METHODS)
def test_residual_conformance_lanes_and_compilation(method):
    """Reversing the starts reverses every output; new starts of the same shape reuse the
    compiled program; each start run alone gives its batched run (floats to 1e-10)."""
    t, rev, moved = _conformance(method)
    assert t.compile_seconds > 0
    assert rev.compile_seconds == 0.0 and moved.compile_seconds == 0.0
    for name, a in t.to_numpy().items():
        b = np.flip(rev.to_numpy()[name], axis=0)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    compiled = 0.0
    for k, x0 in enumerate(STARTS):
        one = optimize(CONFORMANCE, method, x0, 100)
        compiled += one.compile_seconds if k else 0.0
        assert one.status == t.status[k]
        assert one.event_step == t.event_step[k]
        assert one.gradient_evaluations == t.gradient_evaluations[k]
        np.testing.assert_allclose(one.final_params, t.final_params[k], rtol=1e-10, atol=1e-12)
    assert compiled == 0.0, "single starts share one compiled program"


# ----------------------------------------------------------------------------------------
# Refusals and registration


@pytest.mark.parametrize("method", METHODS)
def test_objective_without_residuals_is_a_config_error(method):
    with pytest.raises(ConfigError) as info:
        optimize("booth", method, np.zeros(2), 5)
    message = str(info.value)
    assert message == (
        f"{method} needs a residual objective (one with residuals(x)); booth has none"
    )
    assert "\n" not in message


def test_registered_and_flagged():
    for method in METHODS:
        assert method in optimizer_names()
        opt = get_optimizer(method)
        assert opt.requires.residuals and opt.reference
    assert get_optimizer("levenberg_marquardt").options["scaled"] is True
