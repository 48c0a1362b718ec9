"""Constraints, constrained objectives and constrained optimizers, against outside truths.

Truths: closed forms (Lagrange multipliers by hand, the simplex projection by the sorting
rule and by its KKT conditions), the KKT systems of rosenbrock_disk and hs071 solved to 30
digits with mpmath (the constants in jaxcalc.objectives.constrained_problems, checked here
against scipy), and ``scipy.optimize.minimize`` with ``method="SLSQP"`` and
``"trust-constr"`` (solutions and multipliers). Multiplier convention:
``L = f + lambda.h + mu.g`` with ``h = 0``, ``g <= 0``; scipy's trust-constr reports ``v``
with the opposite sign for a lower bound ``c(x) >= lb``.

Runtime: each optimize call below with a new (objective, method, shape) compiles one
program (2-6 s on a shared CPU); the runs are grouped so that about ten are compiled.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax.projections as projections
import pytest
import scipy.optimize as so

from jaxcalc import objectives
from jaxcalc.constraints import (
    Ball,
    Box,
    Equality,
    Inequality,
    Simplex,
    bind_variables,
    total_violation,
)
from jaxcalc.engine import optimize
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import get_optimizer


@pytest.fixture(scope="module", autouse=True)
def float64():
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _scipy(method: str, fun, x0, constraints, bounds=None):
    """scipy's solution, tight tolerances; trust-constr's quasi-Newton warnings muted."""
    options = (
        {"ftol": 1e-15, "maxiter": 1000}
        if method == "SLSQP"
        else {"gtol": 1e-12, "xtol": 1e-14, "maxiter": 5000}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return so.minimize(
            fun, x0, method=method, constraints=constraints, bounds=bounds, options=options
        )


# ----------------------------------------------------------------------------------------
# Projections


def _simplex_by_sorting(v: np.ndarray, s: float) -> np.ndarray:
    """Held, Wolfe & Crowder's rule: sort, find the largest k with u_k > (sum_{i<=k} u_i - s)/k."""
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - s
    k = np.arange(1, len(v) + 1)
    rho = np.max(np.nonzero(u - cumulative / k > 0)[0])
    tau = cumulative[rho] / (rho + 1)
    return np.maximum(v - tau, 0.0)


def _is_simplex_projection(v: np.ndarray, y: np.ndarray, s: float) -> bool:
    """KKT of min |y - v|^2 / 2 s.t. y >= 0, sum y = s: y - v + tau = nu >= 0, nu.y = 0."""
    if np.any(y < -1e-12) or abs(y.sum() - s) > 1e-10:
        return False
    positive = y > 1e-12
    tau = np.mean((v - y)[positive])
    return bool(
        np.allclose((v - y)[positive], tau, atol=1e-10) and np.all(v[~positive] <= tau + 1e-10)
    )


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_simplex_projection_matches_sorting_rule_and_kkt(scale):
    rng = np.random.default_rng(0)
    for v in rng.normal(size=(50, 5)) * 2:
        y = np.asarray(Simplex(scale).project(jnp.asarray(v)))
        np.testing.assert_allclose(y, _simplex_by_sorting(v, scale), atol=1e-12)
        assert _is_simplex_projection(v, y, scale)
        assert float(Simplex(scale).violation(jnp.asarray(y))) <= 1e-12
        np.testing.assert_allclose(
            float(Simplex(scale).violation(jnp.asarray(v))), np.linalg.norm(v - y), rtol=1e-12
        )


def test_box_and_ball_projections_match_closed_forms_and_optax():
    rng = np.random.default_rng(1)
    lower, upper = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 0.5, 3.0])
    center, radius = np.array([1.0, -1.0, 0.5]), 1.5
    box, ball = Box(tuple(lower), tuple(upper)), Ball(tuple(center), radius)
    for v in rng.normal(size=(20, 3)) * 3:
        p = np.asarray(box.project(jnp.asarray(v)))
        np.testing.assert_array_equal(p, np.clip(v, lower, upper))
        np.testing.assert_array_equal(
            p, projections.projection_box(jnp.asarray(v), jnp.asarray(lower), upper)
        )
        np.testing.assert_allclose(float(box.violation(jnp.asarray(v))), np.linalg.norm(v - p))
        d = v - center
        expected = center + d * min(1.0, radius / np.linalg.norm(d))
        np.testing.assert_allclose(ball.project(jnp.asarray(v)), expected, rtol=1e-12)
        np.testing.assert_allclose(
            float(ball.violation(jnp.asarray(v))), max(np.linalg.norm(d) - radius, 0.0)
        )
    assert float(box.violation(jnp.asarray([0.0, 0.25, 2.5]))) == 0.0
    assert float(Box(0.0, np.inf).violation(jnp.asarray([3.0, 1e300]))) == 0.0


def test_functional_constraints_report_violation():
    x = jnp.asarray([0.2, 0.3])
    eq, ineq = Equality(["x + y - 1", "x - y"]), Inequality("x^2 + y^2 - 1")
    np.testing.assert_allclose(eq.values(x), [-0.5, -0.1])
    assert float(eq.violation(x)) == pytest.approx(0.5)
    assert float(ineq.violation(x)) == 0.0  # inside the disk
    assert float(ineq.violation(jnp.asarray([3.0, 4.0]))) == pytest.approx(24.0)
    assert float(Inequality(lambda z: z - 1.0).violation(jnp.asarray([0.0, 2.0]))) == 1.0
    both = (eq, ineq, Box(0.0, 1.0))
    assert float(total_violation(both, jnp.asarray([0.5, 0.5]))) == 0.0
    assert float(total_violation(both, jnp.asarray([0.5, 1.5]))) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("text", "kind", "point", "value"),
    [
        ("x + y = 1", "equality", [0.25, 0.25], -0.5),
        ("x + y == 1", "equality", [1.0, 1.0], 1.0),
        ("x^2 + y^2 <= 1", "inequality", [1.0, 1.0], 1.0),
        ("y >= 2x", "inequality", [1.0, 0.5], 1.5),
    ],
)
def test_relation_strings(text, kind, point, value):
    (c,) = bind_variables([text], ("x", "y"))
    assert c.kind == kind
    np.testing.assert_allclose(c.values(jnp.asarray(point)), [value])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x + y", "no relation"),
        ("x < 1", r"write `<=`"),
        ("0 <= x <= 1", "2 relations"),
        ("x + = 1", "Equality"),
        ("w >= 0", "unknown name `w`; declared variables: x, y"),
    ],
)
def test_bad_relation_strings_are_one_line_config_errors(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        bind_variables([text], ("x", "y"))
    assert "\n" not in str(err.value)


def test_bad_sets_are_refused():
    with pytest.raises(ConfigError, match="lower <= upper"):
        Box(1.0, 0.0)
    with pytest.raises(ConfigError, match="radius"):
        Ball(0.0, -1.0)
    with pytest.raises(ConfigError, match="scale"):
        Simplex(0.0)


# ----------------------------------------------------------------------------------------
# Constrained objectives


def test_registered_problems_agree_with_scipy():
    """The stored solutions (mpmath KKT solves) against SLSQP and trust-constr."""
    disk = objectives.get("rosenbrock_disk")
    rosen = lambda z: (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2  # noqa: E731
    for method, cons in [
        ("SLSQP", [{"type": "ineq", "fun": lambda z: 1 - z @ z}]),
        ("trust-constr", [so.NonlinearConstraint(lambda z: z @ z, -np.inf, 1.0)]),
    ]:
        ref = _scipy(method, rosen, [0.0, 0.0], cons)
        np.testing.assert_allclose(ref.x, disk.x_opt, atol=1e-6)
        assert ref.fun == pytest.approx(disk.f_opt, abs=1e-9)
    np.testing.assert_allclose(disk.x_opt, [0.7864, 0.6177], atol=5e-5)  # MathWorks' digits

    hs = objectives.get("hs071")
    assert hs.f_opt == pytest.approx(17.0140173, abs=1e-7)  # Hock & Schittkowski
    ref = _scipy(
        "SLSQP",
        lambda x: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2],
        [1.0, 5.0, 5.0, 1.0],
        [
            {"type": "ineq", "fun": lambda x: np.prod(x) - 25},
            {"type": "eq", "fun": lambda x: x @ x - 40},
        ],
        bounds=[(1, 5)] * 4,
    )
    np.testing.assert_allclose(ref.x, hs.x_opt, atol=1e-6)
    assert float(total_violation(hs.constraints, jnp.asarray(hs.x_opt))) < 1e-12


def test_minimum_is_a_lower_bound_on_feasible_points():
    rng = np.random.default_rng(2)
    cases = {
        "quadratic_on_line": np.column_stack([t := rng.uniform(-2, 3, 500), 1 - t]),
        "quadratic_on_simplex": rng.dirichlet(np.ones(3), 500),
        "rosenbrock_disk": (lambda r, a: np.column_stack([r * np.cos(a), r * np.sin(a)]))(
            np.sqrt(rng.uniform(0, 1, 2000)), rng.uniform(0, 2 * np.pi, 2000)
        ),
    }
    d = np.abs(rng.normal(size=(20000, 4)))
    sphere = np.sqrt(40) * d / np.linalg.norm(d, axis=1, keepdims=True)
    cases["hs071"] = sphere[np.all((sphere >= 1) & (sphere <= 5), axis=1)]
    for name, points in cases.items():
        obj = objectives.get(name)
        x = jnp.asarray(points)
        violation = jax.jit(jax.vmap(lambda p: total_violation(obj.constraints, p)))  # noqa: B023
        feasible = np.asarray(violation(x)) <= 1e-9
        if name == "hs071":
            feasible &= np.prod(points, axis=1) >= 25
        assert feasible.sum() >= 50, name
        assert np.min(np.asarray(obj(x[feasible]))) >= obj.f_opt - 1e-9, name


def test_constrained_objective_from_strings():
    obj = objectives.constrained("(x - 2)^2 + (y - 2)^2", "x + y <= 1", x_opt=[0.5, 0.5])
    assert obj.f_opt == pytest.approx(4.5)
    (c,) = obj.constraints
    assert c.kind == "inequality" and c.variables == ("x", "y")
    assert float(c.violation(jnp.asarray([2.0, 2.0]))) == pytest.approx(3.0)
    assert objectives.get("rosenbrock").constraints == ()
    with pytest.raises(ConfigError, match="unknown name `z`"):
        objectives.constrained("x^2 + y^2", "z >= 0")


# ----------------------------------------------------------------------------------------
# Optimizers


def test_projected_gd_on_the_simplex_fixed_and_backtracking():
    obj = objectives.get("quadratic_on_simplex")
    starts = np.array([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [2.0, -1.0, 5.0]])
    fixed = optimize(obj, "projected_gd", starts, 300, learning_rate=0.1)
    arc = optimize(obj, "projected_gd", starts, 300, backtracking=True, learning_rate=1.0)
    for t in (fixed, arc):
        np.testing.assert_allclose(t.final_params, np.tile(obj.x_opt, (3, 1)), atol=1e-8)
        assert list(t.status) == ["converged"] * 3
        assert np.all(t.metrics["constraint_violation"] <= 1e-12)
    # fixed step: one f and one gradient per step besides the start; no line search
    np.testing.assert_array_equal(fixed.function_evaluations, fixed.event_step + 1)
    np.testing.assert_array_equal(fixed.gradient_evaluations, fixed.event_step + 1)
    assert np.all(arc.event_step <= 5)  # step 1 from the projection arc lands on x*
    # new starts and step sizes: the same program
    again = optimize(obj, "projected_gd", starts[::-1] * 0.5, 300, learning_rate=0.05)
    assert again.compile_seconds == 0.0


def test_lagrange_newton_solves_a_quadratic_with_a_linear_constraint_in_one_step():
    obj = objectives.get("quadratic_on_line")
    t = optimize(obj, "lagrange_newton", np.array([[2.0, -3.0], [5.0, 1.0]]), 10)
    np.testing.assert_allclose(t.final_params, [[0.5, 0.5]] * 2, atol=1e-14)
    assert list(t.status) == ["converged"] * 2 and list(t.event_step) == [1, 1]
    np.testing.assert_allclose(t.metrics["multiplier_0"], [-1.0, -1.0], atol=1e-12)
    np.testing.assert_array_equal(t.hessian_evaluations, [1, 1])


def test_lagrange_newton_nonlinear_equality_against_scipy():
    """min x + y s.t. x^2 + y^2 = 2: x* = (-1, -1), lambda* = 1/2 (by hand)."""
    obj = objectives.constrained("x + y", "x^2 + y^2 = 2", x_opt=[-1.0, -1.0])
    starts = np.array([[-1.3, -0.6], [-0.5, -1.5], [-2.0, -2.0]])
    t = optimize(obj, "lagrange_newton", starts, 50, check_curvature=False)
    assert list(t.status) == ["converged"] * 3
    np.testing.assert_allclose(t.final_params, [[-1.0, -1.0]] * 3, atol=1e-10)
    np.testing.assert_allclose(t.metrics["multiplier_0"], 0.5, atol=1e-10)
    for x0, x, lam in zip(starts, t.final_params, t.metrics["multiplier_0"], strict=True):
        ref = _scipy(
            "trust-constr",
            lambda z: z[0] + z[1],
            x0,
            [so.NonlinearConstraint(lambda z: z @ z, 2, 2)],
        )
        np.testing.assert_allclose(x, ref.x, atol=1e-6)
        assert lam == pytest.approx(ref.v[0][0], abs=1e-6)
        slsqp = _scipy(
            "SLSQP", lambda z: z[0] + z[1], x0, [{"type": "eq", "fun": lambda z: z @ z - 2}]
        )
        np.testing.assert_allclose(x, slsqp.x, atol=1e-6)


DISK_STARTS = np.array([[0.0, 0.0], [-0.5, 0.5], [0.9, -0.3]])


@functools.cache
def _disk_runs():
    obj = objectives.get("rosenbrock_disk")
    batched = optimize(obj, "augmented_lagrangian", DISK_STARTS, 40)
    singles = [optimize(obj, "augmented_lagrangian", x0[None], 40) for x0 in DISK_STARTS]
    return obj, batched, singles


def test_augmented_lagrangian_rosenbrock_disk_against_scipy():
    obj, t, _ = _disk_runs()
    assert list(t.status) == ["converged"] * 3
    rosen = lambda z: (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2  # noqa: E731
    grad = jax.grad(obj)
    for x0, x in zip(DISK_STARTS, t.final_params, strict=True):
        ref = _scipy(
            "trust-constr", rosen, x0, [so.NonlinearConstraint(lambda z: z @ z, -np.inf, 1)]
        )
        np.testing.assert_allclose(x, ref.x, atol=1e-6)
        np.testing.assert_allclose(x, obj.x_opt, atol=1e-7)
        slsqp = _scipy("SLSQP", rosen, x0, [{"type": "ineq", "fun": lambda z: 1 - z @ z}])
        np.testing.assert_allclose(x, slsqp.x, atol=1e-6)
        # the multiplier at the final point: grad f + mu grad g = 0, g = |x|^2 - 1
        g = np.asarray(grad(jnp.asarray(x)))
        mu = -g @ (2 * x) / (4 * x @ x)
        assert mu == pytest.approx(0.121496556999288, abs=1e-7)  # the mpmath KKT solve
        # trust-constr's own multiplier is 1.7e-6 off the mpmath value at gtol 1e-12
        assert mu == pytest.approx(ref.v[0][0], abs=5e-6)
    assert np.all(t.metrics["constraint_violation"] <= 1e-8)


def test_batched_equals_looped_and_new_starts_do_not_recompile():
    obj, batched, singles = _disk_runs()
    for i, single in enumerate(singles):
        np.testing.assert_allclose(single.final_params[0], batched.final_params[i], rtol=1e-12)
        assert single.status[0] == batched.status[i]
        assert single.function_evaluations[0] == batched.function_evaluations[i]
        np.testing.assert_allclose(
            single.metrics["constraint_violation"][0],
            batched.metrics["constraint_violation"][i],
            rtol=1e-9,
            atol=1e-15,
        )
    assert all(s.compile_seconds == 0.0 for s in singles[1:])
    other = optimize(obj, "augmented_lagrangian", DISK_STARTS * 0.5, 40, penalty=100.0)
    assert other.compile_seconds == 0.0
    np.testing.assert_allclose(other.final_params, np.tile(obj.x_opt, (3, 1)), atol=1e-7)


def test_augmented_lagrangian_hs071_solution_and_multipliers():
    """Against the published solution, SLSQP, and trust-constr's multipliers."""
    obj = objectives.get("hs071")
    starts = np.array([[1.0, 5.0, 5.0, 1.0], [2.0, 2.0, 2.0, 2.0], [4.0, 1.5, 3.0, 2.5]])
    t = optimize(obj, "augmented_lagrangian", starts, 60, check_curvature=False)
    assert list(t.status) == ["converged"] * 3
    np.testing.assert_allclose(t.final_params, np.tile(obj.x_opt, (3, 1)), atol=1e-6)
    np.testing.assert_allclose(t.final_values, 17.0140173, atol=1e-7)
    assert np.all(t.metrics["constraint_violation"] <= 1e-8)

    # the multipliers in the state, stepping the method by hand (one compiled step)
    method = get_optimizer("augmented_lagrangian")
    hyper = {k: jnp.asarray(v) for k, v in method.defaults.items()}
    step = jax.jit(lambda x, f, g, s: method.step(obj, x, f, g, s, hyper))
    x = jnp.asarray(starts[0])
    state = method.init(obj, x, hyper, jax.random.key(0))
    f, g = jax.value_and_grad(obj)(x)
    for _ in range(60):
        res = step(x, f, g, state)
        x, f, g, state = res.x, res.value, res.grad, res.state
        if bool(res.converged):
            break
    assert bool(res.converged)
    ref = _scipy(
        "trust-constr",
        lambda x: x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2],
        starts[0],
        [
            so.NonlinearConstraint(lambda x: np.prod(x), 25, np.inf),
            so.NonlinearConstraint(lambda x: x @ x, 40, 40),
        ],
        bounds=so.Bounds([1] * 4, [5] * 4),
    )
    np.testing.assert_allclose(x, ref.x, atol=1e-6)
    (mu,), (lam,) = np.asarray(state.inequality_multipliers), np.asarray(state.equality_multipliers)
    assert mu == pytest.approx(-ref.v[0][0], abs=1e-6)  # g = 25 - prod: the opposite sign
    assert lam == pytest.approx(ref.v[1][0], abs=1e-6)
    assert mu == pytest.approx(0.552293660120727, abs=1e-7)  # the mpmath KKT solve
    assert lam == pytest.approx(0.161468566770506, abs=1e-7)


# ----------------------------------------------------------------------------------------
# Refusals at trace time


@pytest.mark.parametrize(
    ("objective", "method", "options", "message"),
    [
        ("rosenbrock", "lagrange_newton", {}, "lagrange_newton needs constraints"),
        ("rosenbrock", "augmented_lagrangian", {}, "augmented_lagrangian needs constraints"),
        ("rosenbrock", "projected_gd", {}, "projected_gd needs constraints"),
        ("rosenbrock_disk", "projected_gd", {}, "projects onto one set"),
        ("rosenbrock_disk", "lagrange_newton", {}, "equality constraints only"),
        ("rosenbrock_disk", "augmented_lagrangian", {"constraints": Box(0, 1)}, "given twice"),
        ("rosenbrock", "augmented_lagrangian", {"inner_steps": 0}, "inner_steps"),
        ("rosenbrock", "projected_gd", {"constraints": [1.0]}, "not a constraint"),
    ],
)
def test_missing_or_wrong_constraints_are_one_line_config_errors(
    objective, method, options, message
):
    with pytest.raises(ConfigError, match=message) as err:
        optimize(objective, method, np.zeros(2), 3, **options)
    assert "\n" not in str(err.value)


def test_constraints_as_an_option_with_relation_strings():
    t = optimize(
        lambda z: (z[0] - 2) ** 2 + (z[1] - 2) ** 2,
        "lagrange_newton",
        np.zeros(2),
        5,
        constraints=("x + y = 1",),
    )
    np.testing.assert_allclose(t.final_params, [0.5, 0.5], atol=1e-12)
    assert t.metrics["multiplier_0"] == pytest.approx(3.0)
