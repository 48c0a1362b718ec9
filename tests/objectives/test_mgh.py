"""The Moré-Garbow-Hillstrom problems: definitions against hand-computed values and closed
forms, the residual form against f, and the recomputed minima against the paper's printed
digits and against scipy."""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from jaxcalc.objectives import ResidualObjective, get, names
from jaxcalc.objectives.mgh import PROBLEMS, residuals_mp
from jaxcalc.objectives.mgh_minima import MINIMA

scipy_optimize = pytest.importorskip("scipy.optimize")


@pytest.fixture(autouse=True)
def float64(x64):
    """Every test here runs in float64."""


def _f(name: str, x) -> float:
    return float(jax.jit(get(name))(jnp.asarray(x, jnp.float64)))


def test_the_35_problems_are_registered_with_their_starts():
    registered = names("mgh")
    assert registered == [p.name for p in PROBLEMS]
    assert [p.number for p in PROBLEMS] == list(range(1, 36))
    for p in PROBLEMS:
        obj = get(p.name)
        assert isinstance(obj, ResidualObjective)
        assert (obj.dim, obj.observations) == (p.n, p.m)
        assert obj.starts.shape == (1, p.n)
        assert np.all((obj.starts >= obj.lower) & (obj.starts <= obj.upper))
        assert obj.lower_bound == 0.0 and obj.floor == 0.0
        assert f"({p.number})" in obj.citation and "Moré" in obj.citation


# f at MGH's start, computed by hand from the definitions in MGH section 3
AT_START = {
    1: 24.2,  # (10 (1 - 1.44))^2 + 2.2^2
    2: 400.5,  # (-13 + 0.5 + (7 (-2) - 2)(-2))^2 + (-29 + 0.5 + ((-1)(-2) - 14)(-2))^2
    4: (1 - 1e6) ** 2 + (1 - 2e-6) ** 2 + 1.0,
    5: 1.5**2 + 2.25**2 + 2.625**2,  # x2 = 1: 1 - x2^i = 0
    7: 2500.0,  # theta = 1/2: (10 (0 - 5))^2
    13: 215.0,  # 7^2 + 5 (0 - 1)^2 + (-1)^4 + 10 (3 - 1)^4
    14: 19192.0,
    20: 30.0,  # x = 0: 29 residuals -1, then 0 and -1
    21: 5 * 24.2,
    22: 3 * 215.0,
    23: 1e-5 * sum((j - 1) ** 2 for j in range(1, 11)) + (385 - 0.25) ** 2,
    24: None,  # checked below against an independent loop
    30: 10 * 1.0 + 8 * 0.0 + 11.0 - 1.0,  # (3 + 2)(-1) + 1 + 2 + 1 = -1 inside; ends 0 / 2
    31: 10 * 36.0,  # x = -1: -7 + 1 - 0 = -6 each
    32: 10 * 1.0 + 10 * 4.0,
    33: sum((i * 55 - 1) ** 2 for i in range(1, 21)),
    34: 2 + sum(((i - 1) * 44 - 1) ** 2 for i in range(2, 20)),
}


@pytest.mark.parametrize("number", sorted(k for k, v in AT_START.items() if v is not None))
def test_value_at_the_start(number):
    p = PROBLEMS[number - 1]
    expected = AT_START[number]
    if number == 30:  # f_i = (3 - 2x_i) x_i - x_{i-1} - 2 x_{i+1} + 1 at x = -1
        r = [-5 + (1 if i > 0 else 0) + (2 if i < 9 else 0) + 1 for i in range(10)]
        expected = float(sum(v * v for v in r))
    assert _f(p.name, p.start) == pytest.approx(expected, rel=1e-14)


def test_penalty2_and_chebyquad_against_loops():
    """Problems (24) and (35) written again as plain loops over MGH's formulas."""
    x = np.array(PROBLEMS[23].start)
    n, a = 10, 1e-5
    r = [x[0] - 0.2]
    for i in range(2, n + 1):
        y = np.exp(i / 10) + np.exp((i - 1) / 10)
        r.append(a**0.5 * (np.exp(x[i - 1] / 10) + np.exp(x[i - 2] / 10) - y))
    for i in range(n + 1, 2 * n):
        r.append(a**0.5 * (np.exp(x[i - n] / 10) - np.exp(-1 / 10)))
    r.append(sum((n - j + 1) * x[j - 1] ** 2 for j in range(1, n + 1)) - 1)
    assert _f(PROBLEMS[23].name, x) == pytest.approx(sum(v * v for v in r), rel=1e-13)
    x = np.array(PROBLEMS[34].start)
    n = 8
    r = []
    for i in range(1, n + 1):
        integral = -1 / (i * i - 1) if i % 2 == 0 else 0.0
        # T_i shifted to [0, 1]: cos(i arccos(2x - 1))
        r.append(np.mean(np.cos(i * np.arccos(2 * x - 1))) - integral)
    assert _f(PROBLEMS[34].name, x) == pytest.approx(sum(v * v for v in r), rel=1e-12)


ZEROS = {
    1: [(1, 1)],
    2: [(5, 4)],
    4: [(1e6, 2e-6)],
    5: [(3, 0.5)],
    7: [(1, 0, 0)],
    11: [(50, 25, 1.5)],
    12: [(1, 10, 1), (10, 1, -1), (3, 3, 0)],
    13: [(0, 0, 0, 0)],
    14: [(1, 1, 1, 1)],
    18: [(1, 10, 1, 5, 4, 3)],
    21: [(1,) * 10],
    22: [(0,) * 12],
    25: [(1,) * 10],
}


@pytest.mark.parametrize("number", sorted(ZEROS))
def test_zero_at_the_closed_form_minimisers(number):
    for x in ZEROS[number]:
        assert _f(PROBLEMS[number - 1].name, x) == pytest.approx(0.0, abs=1e-20)


def test_closed_forms_of_the_linear_and_almost_linear_problems():
    assert _f("mgh32_linear_full_rank", [-1.0] * 10) == pytest.approx(10.0, rel=1e-15)
    x = np.zeros(10)
    x[0] = 3 / 41  # sum j x_j = 3 / (2m + 1)
    assert _f("mgh33_linear_rank1", x) == pytest.approx(380 / 82, rel=1e-14)
    x = np.zeros(10)
    x[1] = 3 / 37 / 2  # sum_{j=2}^{n-1} j x_j = 3 / (2m - 3)
    assert _f("mgh34_linear_rank1_zero", x) == pytest.approx(454 / 74, rel=1e-14)
    assert MINIMA[33].f_opt == float(Fraction(380, 82))
    # Brown almost-linear: f = 0 at (a, ..., a, a^(1-n)), n a^n - (n+1) a^(n-1) + 1 = 0
    roots = np.roots([10, -11] + [0] * 8 + [1])
    real = [r.real for r in roots if abs(r.imag) < 1e-12 and abs(r.real - 1) > 1e-6]
    for a in real:
        x = np.full(10, a)
        x[-1] = a ** (1 - 10)
        assert _f("mgh27_brown_almost_linear", x) == pytest.approx(0.0, abs=1e-20)
    assert _f("mgh27_brown_almost_linear", [0.0] * 9 + [11.0]) == pytest.approx(1.0)


@pytest.mark.parametrize("number", [1, 7, 10, 19, 24, 35])
def test_residual_form_is_consistent_with_f(number):
    """f = ||r||^2 (factor 1, as every residual objective here) and grad f = 2 J^T r."""
    obj = get(PROBLEMS[number - 1].name)
    x = obj.lower + np.random.default_rng(number).random(obj.dim) * (obj.upper - obj.lower)
    f, r, grad, jac = jax.jit(
        lambda x: (obj(x), obj.residuals(x), jax.grad(obj)(x), jax.jacfwd(obj.residuals)(x))
    )(jnp.asarray(x))
    r, grad, jac = np.asarray(r), np.asarray(grad), np.asarray(jac)
    assert float(f) == pytest.approx(float(np.sum(r * r)), rel=1e-13)
    np.testing.assert_allclose(grad, 2 * jac.T @ r, rtol=1e-9, atol=1e-9 * np.abs(grad).max())


def test_high_precision_residuals_agree_with_jax():
    """The 30-digit residuals (those the minima were computed with) are the float64 ones."""
    for problem in PROBLEMS:
        obj = get(problem.name)
        x = obj.lower + np.random.default_rng(problem.number).random(obj.dim) * (
            obj.upper - obj.lower
        )
        r = np.asarray(jax.jit(obj.residuals)(jnp.asarray(x)))
        with mpmath.workdps(30):
            exact = np.array([float(v) for v in residuals_mp(problem, x)])
        scale = max(1.0, np.abs(exact).max())
        np.testing.assert_allclose(r, exact, rtol=1e-12, atol=1e-12 * scale, err_msg=problem.name)


# MGH's printed minima at the n and m registered here (section 3 of the paper)
PRINTED = {
    6: 124.362,
    8: 8.21487e-3,
    9: 1.12793e-8,
    10: 87.9458,
    15: 3.07505e-4,
    16: 85822.2,
    17: 5.46489e-5,
    19: 4.01377e-2,
    20: 2.28767e-3,
    23: 7.08765e-5,
    24: 2.93660e-4,
    35: 3.51687e-3,
}


@pytest.mark.parametrize("number", sorted(PRINTED))
def test_minima_agree_with_the_digits_mgh_print(number):
    assert MINIMA[number].f_opt == pytest.approx(PRINTED[number], rel=1e-5)
    assert MINIMA[number].f_opt != PRINTED[number], "recomputed, not copied"


def test_local_minima_mgh_print():
    assert MINIMA[2].local[0][0] == pytest.approx(48.9842, rel=1e-5)
    assert MINIMA[18].local[0] == (pytest.approx(5.65565e-3, rel=1e-5), "saddle")


@pytest.mark.parametrize("number", [6, 8, 9, 10, 15, 16, 17, 19, 20, 23, 24, 35])
def test_minima_at_their_points(number):
    """f(x_opt) is f_opt to float64 rounding, and the gradient vanishes there."""
    known = MINIMA[number]
    obj = get(PROBLEMS[number - 1].name)
    assert float(obj(jnp.asarray(known.x_opt))) == pytest.approx(known.f_opt, rel=1e-11)


@pytest.mark.parametrize("number", [2, 6, 8, 9, 15, 17, 20, 23])
def test_scipy_never_goes_below_the_minimum(number):
    """scipy's Levenberg-Marquardt from the start and from random starts in the box stops
    at f_opt or above, and from some start at f_opt (to 1e-9)."""
    p = PROBLEMS[number - 1]
    obj = get(p.name)
    fun = jax.jit(obj.residuals)
    jac = jax.jit(jax.jacfwd(obj.residuals))
    rng = np.random.default_rng(number)
    starts = [np.array(p.start)] + [
        obj.lower + rng.random(obj.dim) * (obj.upper - obj.lower) for _ in range(5)
    ]
    found = []
    for x0 in starts:
        res = scipy_optimize.least_squares(
            lambda x: np.asarray(fun(x)),
            x0,
            jac=lambda x: np.asarray(jac(x)),
            method="lm",
            xtol=1e-15,
            ftol=1e-15,
            gtol=1e-15,
        )
        found.append(2 * res.cost)
    target = MINIMA[number].f_opt
    assert min(found) >= target * (1 - 1e-10) - 1e-20
    assert min(found) == pytest.approx(target, rel=1e-9, abs=1e-20)
