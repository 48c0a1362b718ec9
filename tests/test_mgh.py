"""'converged' means converged, on the Moré-Garbow-Hillstrom problems: the cases that
failed (a plateau called converged, BFGS stuck at a badly scaled start, Newton out of steps
on badly scaled problems or stopped at a saddle), a saddle reported as such, and no false
'converged' on a sample of the set (the whole set: benchmarks/mgh.py, docs/mgh.md)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import jaxcalc
from jaxcalc.objectives import get
from jaxcalc.objectives.mgh import PROBLEMS
from jaxcalc.objectives.mgh_minima import MINIMA

scipy_optimize = pytest.importorskip("scipy.optimize")


@pytest.fixture(autouse=True)
def float64(x64):
    """Every test here runs in float64."""


def _reached(f: float, target: float) -> bool:
    return abs(f - target) <= max(1e-6 * abs(target), 1e-10)


def _true_minimum(number: int, f: float) -> bool:
    """f is the problem's minimum or one of its recorded local minima."""
    known = MINIMA[number]
    return _reached(f, known.f_opt) or any(
        _reached(f, value) for value, kind in known.local if kind == "min"
    )


def _start(number: int) -> np.ndarray:
    return np.asarray(PROBLEMS[number - 1].start)


def test_a_plateau_is_not_converged():
    """Far out, Jennrich-Sampson's exponentials vanish: f = 2020 (sixteen times the
    minimum) and the gradient ~1e-35. BFGS used to stop there as 'converged'."""
    obj = get("mgh06_jennrich_sampson")
    t = jaxcalc.optimize(obj, "bfgs", [-40.0, -40.0], 50)
    assert float(t.final_values) == pytest.approx(2020.0)
    assert str(t.status) == "stalled"
    t = jaxcalc.optimize("1 - exp(-x^2)", "gd", [7.0], 20)
    assert str(t.status) == "stalled"
    # a minimum whose Hessian vanishes is still a minimum (f changes a unit away)
    t = jaxcalc.optimize("x^4 + 1", "newton", [1.0], 100)
    assert str(t.status) == "converged"


def test_bfgs_reaches_jennrich_sampsons_minimum_from_the_start():
    """From MGH's start BFGS's first full step along -g (|g| = 3e4) used to land on the
    plateau and report 'converged' at f = 2020; the first step min(1, 1/|g|) avoids it."""
    t = jaxcalc.optimize("mgh06_jennrich_sampson", "bfgs", _start(6), 200)
    assert str(t.status) == "converged"
    assert _reached(float(t.final_values), MINIMA[6].f_opt)


@pytest.mark.parametrize("method", ["bfgs", "dfp", "sr1"])
def test_quasi_newton_moves_from_a_badly_scaled_start(method):
    """Meyer's gradient at MGH's start is 9e10: thirty halvings of the full step along -g
    find no decrease, so the methods used to stall at x0. scipy's BFGS moves at once."""
    obj = get("mgh10_meyer")
    f0 = float(obj(_start(10)))
    t = jaxcalc.optimize(obj, method, _start(10), 20, record_every=1)
    assert float(t.values[1]) < f0
    assert float(t.final_values) < 1e-2 * f0
    f = jax.jit(obj)
    g = jax.jit(jax.grad(obj))
    scipy_result = scipy_optimize.minimize(
        lambda x: float(f(x)),
        _start(10),
        jac=lambda x: np.asarray(g(x)),
        method="BFGS",
        options={"maxiter": 20},
    )
    assert scipy_result.fun < 1e-2 * f0  # the reference moves as well


def test_bfgs_solves_meyer():
    t = jaxcalc.optimize("mgh10_meyer", "bfgs", _start(10), 1000)
    assert _reached(float(t.final_values), MINIMA[10].f_opt)
    assert str(t.status) != "converged" or _true_minimum(10, float(t.final_values))


def test_newton_solves_the_brown_badly_scaled_problem():
    """scipy's Newton-CG solves it in 4 iterations; Newton with the eigenvalue floor at
    1e-8 of the largest bent its steps and ran out of 500."""
    obj = get("mgh04_brown_badly_scaled")
    t = jaxcalc.optimize(obj, "newton", _start(4), 50)
    assert str(t.status) == "converged"
    assert float(t.final_values) < 1e-20
    f = jax.jit(obj)
    g = jax.jit(jax.grad(obj))
    h = jax.jit(jax.hessian(obj))
    reference = scipy_optimize.minimize(
        lambda x: float(f(x)),
        _start(4),
        jac=lambda x: np.asarray(g(x)),
        hess=lambda x: np.asarray(h(x)),
        method="Newton-CG",
    )
    assert reference.fun < 1e-20


def test_the_saddle_mgh_print_for_biggs_exp6_is_non_minimum():
    """MGH's f = 5.65565e-3 for Biggs EXP6 is a saddle: BFGS from the start stops there,
    and must say non_minimum; so must Newton started on it."""
    t = jaxcalc.optimize("mgh18_biggs_exp6", "bfgs", _start(18), 300)
    assert float(t.final_values) == pytest.approx(MINIMA[18].local[0][0], rel=1e-6)
    assert str(t.status) == "non_minimum"
    saddle = [1.7114159947195875, 17.683198180949066, 1.244028982606705]
    saddle += [5.186561551993452, 1.7114159947195875, 1.08225833923108]
    t = jaxcalc.optimize("mgh18_biggs_exp6", "newton", saddle, 5)
    assert str(t.status) == "non_minimum"


@pytest.mark.parametrize(("number", "steps"), [(3, 150), (18, 120)])
def test_newton_solves_powell_badly_scaled_and_biggs_exp6(number, steps):
    """Powell badly scaled: the Hessian's condition reaches 2e17 and the floored
    eigenvalues shortened every step (f = 2e-9 after 3000 steps); Biggs EXP6: Newton
    stopped at the saddle f = 5.66e-3. scipy's trust-exact solves both; so does newton now
    (91 and 60 steps), to f* computed with 80 digits."""
    t = jaxcalc.optimize(PROBLEMS[number - 1].name, "newton", _start(number), steps)
    assert str(t.status) == "converged"
    assert _reached(float(t.final_values), MINIMA[number].f_opt)


def test_newton_leaves_a_saddle_it_starts_beside():
    """On x^2 - y^2 from (3, 0) the gradient has no y part: the modified Newton step lands
    on the saddle (0, 0). The step of negative curvature moves y off 0, and f, unbounded
    below, runs off."""
    t = jaxcalc.optimize("x**2 - y**2", "newton", [3.0, 0.0], 200)
    assert str(t.status) == "unbounded"
    assert float(t.final_values) < -1e20


SAMPLE = (2, 3, 6, 8, 15, 17, 18, 26)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bfgs", "newton", "lbfgs"])
def test_no_false_converged_on_a_sample_of_the_set(method):
    """Every 'converged' run from MGH's start ends at the minimum or at a recorded local
    minimum (a sample of problems chosen for their local minima, saddles, plateaus and bad
    scaling)."""
    for number in SAMPLE:
        t = jaxcalc.optimize(PROBLEMS[number - 1].name, method, _start(number), 600)
        f = float(t.final_values)
        if str(t.status) == "converged":
            assert _true_minimum(number, f), (number, f)
