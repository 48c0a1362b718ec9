"""DFP, SR1 and the secant method against truths from outside jaxcalc.

* The SR1 update of the inverse Hessian equals ``scipy.optimize.SR1(approx_type="inv_hess")``,
  skip rule included.
* The DFP update equals scipy's BFGS update of the *Hessian* with ``s`` and ``y`` exchanged
  (DFP and BFGS are dual), ``scipy.optimize.BFGS(approx_type="hess")``.
* On a strictly convex quadratic, DFP with exact line searches (driven by hand) keeps the
  hereditary secant property ``H_{k+1} y_j = s_j`` for every ``j <= k``, builds
  A-conjugate steps and ends at ``x* = A^{-1} b`` with ``H = A^{-1}`` after ``n`` steps;
  SR1 does the same from any ``n`` independent steps (Nocedal & Wright 2006, Theorems 6.2
  and section 6.1). Closed forms by NumPy.
* DFP and SR1 through ``optimize`` end at scipy's BFGS minimisers of Rosenbrock.
* The secant method follows ``scipy.optimize.newton(fprime, x0)`` (scipy's secant method
  when no ``fprime`` of the derivative is given) iterate for iterate, with derivatives
  written by hand; and the conformance that ``tests/test_optimizers.py`` cannot give a
  1-D-only method: it converges on the course's functions, a batch equals its starts run
  one at a time, and new starts do not recompile.

Everything runs in float64.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

from jaxcalc.engine import optimize
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import DFP, SR1, Secant, get_optimizer
from jaxcalc.optimizers.quasi_newton import dfp_update, sr1_update


@pytest.fixture(scope="module", autouse=True)
def float64():
    """Every test here runs in float64; the previous x64 mode is restored afterwards."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def test_registered_by_name():
    assert isinstance(get_optimizer("dfp"), DFP)
    assert isinstance(get_optimizer("sr1"), SR1)
    assert isinstance(get_optimizer("secant"), Secant)
    assert Secant.dims == (1,)


# ----------------------------------------------------------------------------------------
# The update formulas against scipy's HessianUpdateStrategy


def _spd(rng, n):
    m = rng.normal(size=(n, n))
    a = m @ m.T + n * np.eye(n)
    return (a + a.T) / 2  # exactly symmetric (scipy checks it)


def _pairs(rng, n, count):
    """Random (s, y) with y.s > 0 (the curvature condition a line search would give)."""
    out = []
    for _ in range(count):
        s, y = rng.normal(size=n), rng.normal(size=n)
        if s @ y < 0:
            y = -y
        out.append((s, y))
    return out


@pytest.mark.parametrize("n", [2, 5])
def test_dfp_update_is_scipys_bfgs_hessian_update_with_s_and_y_exchanged(n):
    """scipy's BFGS of B: B - B s s^T B / (s^T B s) + y y^T / (y^T s). With s <-> y and
    B = H this is DFP's H - H y y^T H / (y^T H y) + s s^T / (s^T y). Five updates in a row
    from a random symmetric positive definite H."""
    rng = np.random.default_rng(7 + n)
    h0 = _spd(rng, n)
    ref = so.BFGS(init_scale=h0)
    ref.initialize(n, "hess")
    update = jax.jit(dfp_update)
    h = jnp.asarray(h0)
    for s, y in _pairs(rng, n, 5):
        ref.update(delta_x=y, delta_grad=s)
        h = update(h, jnp.asarray(s), jnp.asarray(y))
        np.testing.assert_allclose(h, ref.get_matrix(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h @ y, s, rtol=1e-10, atol=1e-12)  # secant equation


@pytest.mark.parametrize("n", [2, 5])
def test_sr1_update_is_scipys_inverse_hessian_sr1(n):
    """scipy.optimize.SR1(approx_type="inv_hess"): H + v v^T / (v^T y), v = s - H y, skipped
    when |v^T y| <= 1e-8 |y| |v|. Random pairs (SR1 needs no curvature condition), and a
    pair built with v orthogonal to y, which both must skip."""
    rng = np.random.default_rng(11 + n)
    h0 = _spd(rng, n)
    ref = so.SR1(min_denominator=1e-8, init_scale=h0)
    ref.initialize(n, "inv_hess")
    update = jax.jit(sr1_update)
    h = jnp.asarray(h0)
    for k in range(5):
        s, y = rng.normal(size=n), rng.normal(size=n)
        expect = k != 2
        if not expect:  # s = H y + v with v orthogonal to y: v.y is zero up to rounding
            w = rng.normal(size=n)
            s = ref.get_matrix() @ y + (w - (w @ y) / (y @ y) * y)
        before = ref.get_matrix().copy()
        ref.update(delta_x=s, delta_grad=y)
        h, updated = update(h, jnp.asarray(s), jnp.asarray(y))
        assert bool(updated) == expect
        assert np.array_equal(before, ref.get_matrix()) == (not expect)
        np.testing.assert_allclose(h, ref.get_matrix(), rtol=1e-10, atol=1e-12)
        if expect:
            np.testing.assert_allclose(h @ y, s, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------------------
# Quadratic termination (closed forms)

N_QUAD = 5


def _quadratic(seed=3):
    rng = np.random.default_rng(seed)
    a = _spd(rng, N_QUAD)
    b = rng.normal(size=N_QUAD)
    return a, b, np.linalg.solve(a, b), rng.normal(size=N_QUAD)


def test_dfp_with_exact_line_searches_terminates_on_a_quadratic():
    """f = x.A.x / 2 - b.x in 5-D, H_0 = I, exact steps t = -g.d / d.A.d along d = -H g
    (computed with NumPy), H updated by dfp_update. Nocedal & Wright (2006), section 6.1
    and Fletcher & Powell (1963): H_{k+1} y_j = s_j for all j <= k, the steps are
    A-conjugate, and x_n = A^{-1} b, H_n = A^{-1}."""
    a, b, x_star, x = _quadratic()
    update = jax.jit(dfp_update)
    h = np.eye(N_QUAD)
    steps, changes = [], []
    for _ in range(N_QUAD):
        g = a @ x - b
        d = -h @ g
        t = -(g @ d) / (d @ a @ d)
        s = t * d
        y = a @ s
        x = x + s
        h = np.asarray(update(jnp.asarray(h), jnp.asarray(s), jnp.asarray(y)))
        steps.append(s)
        changes.append(y)
        for s_j, y_j in zip(steps, changes, strict=True):  # hereditary secant property
            np.testing.assert_allclose(h @ y_j, s_j, rtol=0, atol=1e-10 * np.abs(s_j).max())
    s = np.stack(steps)
    conjugacy = s @ a @ s.T
    off = conjugacy - np.diag(np.diag(conjugacy))
    assert np.abs(off).max() <= 1e-10 * np.abs(np.diag(conjugacy)).max()
    np.testing.assert_allclose(x, x_star, rtol=0, atol=1e-10)
    np.testing.assert_allclose(h, np.linalg.inv(a), rtol=0, atol=1e-10)


def test_sr1_recovers_the_inverse_hessian_from_any_independent_steps():
    """N&W Theorem 6.2: on a quadratic, SR1 updates along n linearly independent steps
    (here random ones, no line search) give H_k y_j = s_j for j < k and H_n = A^{-1}."""
    a, _, _, _ = _quadratic(5)
    rng = np.random.default_rng(9)
    update = jax.jit(sr1_update)
    h = jnp.eye(N_QUAD)
    steps = rng.normal(size=(N_QUAD, N_QUAD))
    for k, s in enumerate(steps):
        h, updated = update(h, jnp.asarray(s), jnp.asarray(a @ s))
        assert bool(updated)
        for s_j in steps[: k + 1]:
            np.testing.assert_allclose(np.asarray(h) @ (a @ s_j), s_j, rtol=0, atol=1e-9)
    np.testing.assert_allclose(h, np.linalg.inv(a), rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------------------
# Through the engine: scipy's BFGS minimisers, honest counts


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


STARTS_2D = np.vstack([[-1.2, 1.0], np.random.default_rng(20240611).uniform(-2.0, 2.0, (3, 2))])


@pytest.mark.parametrize("name", ["dfp", "sr1"])
def test_rosenbrock_minimiser_agrees_with_scipy_bfgs(name):
    """Same minimiser as scipy.optimize.minimize(method="BFGS") to 1e-6 from each start;
    one gradient per step (plus the start's), at least one f per step (line search).
    (Booth, a quadratic, is in tests/test_optimizers.py's table with its closed-form
    minimiser; one compiled program per objective costs ~4 s, so only Rosenbrock here.)"""
    t = optimize(rosenbrock, name, STARTS_2D, 1000)
    grad = jax.jit(jax.grad(rosenbrock))
    for i, x0 in enumerate(STARTS_2D):
        ref = so.minimize(
            lambda z: float(rosenbrock(z)),
            x0,
            jac=lambda z: np.asarray(grad(jnp.asarray(z))),
            method="BFGS",
            options={"gtol": 1e-8, "norm": 2},
        )
        assert ref.success, ref.message
        np.testing.assert_allclose(ref.x, [1.0, 1.0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(t.final_params[i], ref.x, rtol=0, atol=1e-6)
    assert list(t.status) == ["converged"] * len(STARTS_2D), (t.status, t.event_step)
    np.testing.assert_array_equal(t.gradient_evaluations, t.event_step + 1)
    assert np.all(t.function_evaluations >= t.event_step + 1)
    assert np.all(t.hessian_evaluations == 0)


# ----------------------------------------------------------------------------------------
# The secant method against scipy.optimize.newton's secant iteration

SECANT_STEPS = 60
SECANT_STARTS = np.array([[-1.0], [0.5], [2.0], [2.5], [7.0]])

# name -> (f for jaxcalc, f' written by hand for scipy)
SECANT_CASES = {
    # the course's homework f = x^2 - 6x + 1: f' is linear, one secant step lands on x = 3
    "course_x2_minus_6x_plus_1": (None, lambda x: 2.0 * x - 6.0),
    "x4_minus_3x": (lambda x: x[0] ** 4 - 3.0 * x[0], lambda x: 4.0 * x**3 - 3.0),
    "cos": (lambda x: jnp.cos(x[0]), lambda x: -np.sin(x)),
}


def _secant_run(name: str):
    fun = SECANT_CASES[name][0] or name  # a registered objective by name, else the callable
    return optimize(fun, "secant", SECANT_STARTS, SECANT_STEPS)


def _scipy_secant(fprime, x0: float) -> list[float]:
    """scipy's secant iterates x_2, x_3, ... (x_0 = x0 and its own x_1 left out): the points
    where it evaluates f', then the root it returns (not evaluated)."""
    points: list[float] = []

    def recorded(x):
        points.append(float(x))
        return fprime(x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        root, info = so.newton(recorded, x0, fprime=None, full_output=True, disp=False)
    assert info.converged
    return [*points[2:], float(root)]


@pytest.mark.parametrize("name", list(SECANT_CASES))
def test_secant_follows_scipy_newton_step_for_step(name):
    """Every iterate up to where either stops (scipy: |x_{k+1} - x_k| <= 1.48e-8; jaxcalc:
    |f'| <= 1e-8), and then the same stationary point.

    Tolerance 1e-11 (absolute, |x| <= 7): the first step divides by f'(x1) - f'(x0) with
    x1 - x0 ~ 1e-4 |x0|, so the last-bit rounding of f' (autodiff here, NumPy in scipy,
    and scipy writes the same step as (x0 - x1 q0 / q1) / (1 - q0 / q1)) is amplified by
    ~1e4: 1e-12 differences on the course's quadratic (scipy lands on 3 exactly, jaxcalc
    on 3 + 9e-12). A wrong second point, pairing or formula differs at 1e-4 or more."""
    t = _secant_run(name)
    fprime = SECANT_CASES[name][1]
    for i, x0 in enumerate(SECANT_STARTS[:, 0]):
        ref = _scipy_secant(fprime, float(x0))
        ours = t.params[i, 1:, 0]
        stop = int(t.event_step[i])
        assert stop > 0, (name, x0, t.status[i])
        common = min(len(ref), stop)
        np.testing.assert_allclose(
            ours[:common], ref[:common], rtol=0, atol=1e-11, err_msg=f"{name}, x0 = {x0}"
        )
        # where they stop: |f'| <= 1e-8 here, a step <= 1.48e-8 in scipy (|f''| = 1 for cos)
        np.testing.assert_allclose(t.final_params[i, 0], ref[-1], rtol=0, atol=1e-8)
    if name == "course_x2_minus_6x_plus_1":
        assert list(t.event_step) == [1] * len(SECANT_STARTS)  # one step
        np.testing.assert_allclose(t.final_params[:, 0], 3.0, rtol=0, atol=1e-10)


def test_secant_maxima_are_reported_as_such():
    """cos' stationary points alternate maxima (2k pi) and minima ((2k+1) pi): the secant
    method finds whichever is near, and the engine's curvature check says which."""
    t = _secant_run("cos")
    near_zero = np.abs(t.final_params[:, 0]) < 1e-6
    near_pi = np.abs(t.final_params[:, 0] - np.round(t.final_params[:, 0] / np.pi) * np.pi) < 1e-6
    assert np.all(near_pi)
    odd = np.round(t.final_params[:, 0] / np.pi).astype(int) % 2 == 1
    assert np.all(t.status[odd] == "converged")
    assert np.all(t.status[~odd] == "non_minimum")
    assert near_zero.any() and odd.any()


def test_secant_counts_one_derivative_per_iterate_and_one_for_its_second_point():
    t = _secant_run("x4_minus_3x")
    assert list(t.status) == ["converged"] * len(SECANT_STARTS)
    np.testing.assert_array_equal(t.gradient_evaluations, t.event_step + 2)  # x0, x1, x2...
    np.testing.assert_array_equal(t.function_evaluations, t.event_step + 1)
    assert np.all(t.resets == 0) and np.all(t.hessian_evaluations == 0)


def test_secant_stalls_where_the_derivative_does_not_change():
    """f = x^4 - 3x from x0 = 0: f'(0) = -3 and f'(1e-4) = -3 + 4e-12, a step of ~7e7, then
    steps where f' no longer changes in float64: failed steps, so the run is "stalled",
    never a made-up root (scipy's newton calls it converged at x ~ 3e-16, where f' = -3)."""
    t = optimize(lambda x: x[0] ** 4 - 3.0 * x[0], "secant", np.zeros(1), 30)
    assert str(t.status) == "stalled"
    assert abs(float(t.final_params[0] ** 3 * 4 - 3)) > 1  # not a root of f'


# ----------------------------------------------------------------------------------------
# The secant method's own conformance (1-D; tests/test_optimizers.py's table is 2-D)

# course objective -> its minimiser in closed form (jaxcalc/objectives/course.py's sources)
SECANT_CONFORMANCE = {
    "course_x2_minus_6x_plus_1": 3.0,  # (x - 3)^2 - 8
    "d2l_cosh_cx": 0.0,  # cosh(x / 2)
}


@pytest.mark.parametrize("objective", list(SECANT_CONFORMANCE))
def test_secant_converges_on_course_functions(objective):
    t = optimize(objective, "secant", SECANT_STARTS, SECANT_STEPS)
    assert list(t.status) == ["converged"] * len(SECANT_STARTS), (t.status, t.event_step)
    np.testing.assert_allclose(t.final_params[:, 0], SECANT_CONFORMANCE[objective], atol=1e-8)


def test_secant_batch_equals_looped_and_new_starts_do_not_recompile():
    batch = optimize("d2l_cosh_cx", "secant", SECANT_STARTS, SECANT_STEPS)
    moved = optimize("d2l_cosh_cx", "secant", SECANT_STARTS[::-1] + 0.25, SECANT_STEPS)
    assert moved.compile_seconds == 0.0
    assert list(moved.status) == ["converged"] * len(SECANT_STARTS)
    looped = [optimize("d2l_cosh_cx", "secant", x0, SECANT_STEPS) for x0 in SECANT_STARTS]
    assert all(run.compile_seconds == 0.0 for run in looped[1:])
    for i, run in enumerate(looped):
        assert run.status == batch.status[i]
        assert run.event_step == batch.event_step[i]
        assert run.gradient_evaluations == batch.gradient_evaluations[i]
        np.testing.assert_allclose(run.params, batch.params[i], rtol=1e-12, atol=1e-15)


def test_secant_refuses_more_than_one_dimension():
    with pytest.raises(ConfigError) as error:
        optimize(booth, "secant", np.zeros((3, 2)), 5)
    assert str(error.value) == "secant: the secant method is one-dimensional; got 2 coordinates"
