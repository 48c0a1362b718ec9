"""The optimizer protocol: declared requirements checked before tracing, the cost of a
step as data, and a method and a metric defined outside jaxcalc (in this file alone) that
run by name once registered: in ``optimize``, ``optimize_many`` and a TOML experiment."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

import jaxcalc
from jaxcalc.constraints import Box
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import (
    POPULATION_NAMES,
    Evaluations,
    Optimizer,
    Requires,
    StepCost,
    StepResult,
    get_optimizer,
    optimizer_names,
)
from jaxcalc.optimizers.stacked import stack
from jaxcalc.pipeline import parse_config, register_metric, run_experiment

# ----------------------------------------------------------------------------------------
# A method written here only: sign gradient descent, x <- x - lr * sign(grad f(x))


@dataclass(frozen=True)
class SignGradientDescent(Optimizer):
    """Sign gradient descent: every coordinate moves by ``learning_rate`` against the sign
    of its partial derivative (Bernstein et al., signSGD, ICML 2018)."""

    requires: ClassVar[Requires] = Requires(gradient=True)
    stackable: ClassVar[bool] = True

    name: str = "sign_gd"
    defaults: Mapping[str, float | None] = field(default_factory=lambda: {"learning_rate": 0.1})
    reference: str = "J. Bernstein et al., signSGD, ICML 2018"

    def init(self, fun, x, hyper, key) -> Any:
        return ()

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        return StepResult(x - hyper["learning_rate"] * jnp.sign(grad), state, Evaluations.of())

    def step_cost(self, dim: int) -> StepCost:
        return StepCost(f=1.0, g=1.0, h=0.0)

    def state_size(self, dim: int) -> int:
        return 0


jaxcalc.optimizers.register("sign_gd", SignGradientDescent)

CENTER = np.array([0.3141592653589793, -1.2345678901234567])
WEIGHTS = np.array([1.0, 3.0])


def bowl(x):
    return jnp.sum(WEIGHTS * (x - CENTER) ** 2)


def sign_gd_by_hand(x0: np.ndarray, learning_rate: float, steps: int) -> np.ndarray:
    """The same update in NumPy: every point of the path, (steps+1, D)."""
    path = [np.asarray(x0, np.float64)]
    for _ in range(steps):
        x = path[-1]
        path.append(x - learning_rate * np.sign(2.0 * WEIGHTS * (x - CENTER)))
    return np.stack(path)


STARTS = np.array([[2.0, 3.0], [-1.5, 0.25], [0.7, -4.0]])
STEPS = 40


def test_a_registered_method_runs_by_name_in_optimize(x64):
    assert "sign_gd" in optimizer_names()
    t = jaxcalc.optimize(bowl, "sign_gd", STARTS, STEPS, learning_rate=[0.1, 0.05], gtol=0.0)
    assert t.params.shape == (2, 3, STEPS + 1, 2)
    for i, lr in enumerate((0.1, 0.05)):
        for b, start in enumerate(STARTS):
            path = sign_gd_by_hand(start, lr, STEPS)
            np.testing.assert_array_equal(t.params[i, b], path)
            # f at those points to its last bit or so (XLA fuses multiply-adds)
            f = np.sum(WEIGHTS * (path - CENTER) ** 2, -1)
            np.testing.assert_allclose(t.values[i, b], f, rtol=4e-16, atol=0)
    assert set(t.status.ravel()) == {"max_steps"}
    # one gradient per step (the engine's, at the new point), as declared
    np.testing.assert_array_equal(t.gradient_evaluations, STEPS + 1)


def test_a_registered_method_shares_a_program_in_optimize_many(x64):
    runs = jaxcalc.optimize_many(
        bowl,
        [("sign_gd", {"learning_rate": 0.1}), ("sgd", {"learning_rate": 0.01})],
        STARTS,
        STEPS,
        gtol=0.0,
    )
    sign, sgd = runs
    assert sign.optimizer == "sign_gd" and sign.extras["program"] == "sign_gd+sgd"
    for b, start in enumerate(STARTS):
        np.testing.assert_array_equal(sign.params[b], sign_gd_by_hand(start, 0.1, STEPS))
    alone = jaxcalc.optimize(bowl, "sgd", STARTS, STEPS, learning_rate=0.01, gtol=0.0)
    np.testing.assert_allclose(sgd.params, alone.params, rtol=1e-14, atol=1e-15)


def test_a_stackable_method_that_reports_more_than_a_point_is_refused():
    @dataclass(frozen=True)
    class Chatty(SignGradientDescent):
        name: str = "chatty"

        def step(self, fun, x, value, grad, state, hyper) -> StepResult:
            res = super().step(fun, x, value, grad, state, hyper)
            return res._replace(failed=jnp.asarray(False))

    with pytest.raises(ConfigError, match="chatty is declared stackable"):
        jaxcalc.optimize_many(bowl, [(Chatty(), {}), ("sgd", {})], STARTS, 3)


def test_register_refuses_a_taken_name_and_keeps_lookups_as_before():
    with pytest.raises(ConfigError, match="'adam' is already registered"):
        jaxcalc.optimizers.register("adam", SignGradientDescent)
    jaxcalc.optimizers.register("sign_gd", SignGradientDescent)  # the same again: a no-op
    with pytest.raises(ConfigError, match="unknown optimizer 'sign_g'; did you mean 'sign_gd'"):
        get_optimizer("sign_g")


# ----------------------------------------------------------------------------------------
# Requirements refused before tracing


class Traced:
    """An objective that records every call (a trace calls it too)."""

    name = "plain_bowl"

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return jnp.sum(x**2)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (
            "gauss_newton",
            "gauss_newton needs a residual objective (one with residuals(x)); plain_bowl has none",
        ),
        ("levenberg_marquardt", "levenberg_marquardt needs a residual objective"),
        ("projected_gd", "projected_gd needs constraints: use a constrained objective"),
        ("augmented_lagrangian", "augmented_lagrangian needs constraints"),
    ],
)
def test_missing_requirements_are_refused_before_tracing(method, message):
    objective = Traced()
    with pytest.raises(ConfigError) as error:
        get_optimizer(method).check_objective(objective, 2)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
    with pytest.raises(ConfigError) as again:
        jaxcalc.optimize(objective, method, STARTS, 5)
    assert str(again.value) == str(error.value)
    assert objective.calls == 0  # nothing was traced


def test_requirements_are_declared_as_data():
    assert get_optimizer("gauss_newton").requires == Requires(residuals=True)
    assert get_optimizer("projected_gd").requires == Requires(constraints=True)
    assert get_optimizer("lagrange_newton").requires == Requires(hessian=True, constraints=True)
    assert get_optimizer("newton").requires == Requires(hessian=True)
    assert get_optimizer("adam").requires == Requires()
    for name in optimizer_names():
        assert get_optimizer(name).requires.gradient == (name not in POPULATION_NAMES)


def test_the_constraints_option_is_normalised_when_set():
    method = get_optimizer("projected_gd").with_options(constraints=[Box(0.0, 1.0)])
    assert isinstance(method.options["constraints"], tuple)
    assert hash(method.options["constraints"])
    with pytest.raises(ConfigError, match="projected_gd.constraints: not a constraint"):
        get_optimizer("projected_gd").with_options(constraints=[3])


# ----------------------------------------------------------------------------------------
# The cost of the cheapest step


def expected_cost(name: str, method: Optimizer, dim: int, gradient_cost: float) -> float:
    """The cheapest step in the evaluation-cost convention (f = 1, a gradient
    ``gradient_cost``, a Hessian ``dim`` gradients), from the methods' definitions: a
    population method evaluates its population once per generation (CMA-ES's default size
    is 4 + floor(3 ln D), Hansen 2016; annealing one point); Newton and Lagrange-Newton
    evaluate f, the gradient and the Hessian; every other method f and the gradient."""
    population = {
        "pso": method.options.get("population_size"),
        "ga": method.options.get("population_size"),
        "cma_es": method.options.get("population_size") or 4 + math.floor(3 * math.log(dim)),
        "simulated_annealing": 1,
    }
    if name in population:
        return float(population[name])
    hessian = dim * gradient_cost if name in ("newton", "lagrange_newton") else 0.0
    return 1.0 + gradient_cost + hessian


def as_cost(step: StepCost, dim: int, gradient_cost: float) -> float:
    return step.f + step.g * gradient_cost + step.h * dim * gradient_cost


@pytest.mark.parametrize("dim", [1, 2, 3, 10, 40])
@pytest.mark.parametrize("gradient_cost", [1.0, 2.5])
def test_step_cost_of_every_registered_optimizer(dim, gradient_cost):
    assert {n: get_optimizer(n).options["population_size"] for n in ("pso", "ga")} == {
        "pso": 20,
        "ga": 40,
    }
    for name in optimizer_names():
        method = get_optimizer(name)
        got = as_cost(method.step_cost(dim), dim, gradient_cost)
        assert got == expected_cost(name, method, dim, gradient_cost), name
    for name, size in (("pso", 7), ("ga", 9), ("cma_es", 12)):
        method = get_optimizer(name).with_options(population_size=size)
        assert method.step_cost(dim) == StepCost(f=float(size), g=0.0, h=0.0)


def test_stacked_methods_require_what_their_slots_require():
    both = stack([get_optimizer("sgd"), SignGradientDescent()])
    assert both.requires == Requires()
    assert both.step_cost(3) == StepCost(f=1.0, g=1.0, h=0.0)


# ----------------------------------------------------------------------------------------
# The same method, and a metric defined here, in a TOML experiment


def worst_final_value(runs) -> float:
    """The largest final f over one setting's runs."""
    return float(np.max(runs.final))


register_metric("worst_final_value", worst_final_value)

BOWL_TEXT = f"({float(CENTER[0])!r} - x1)^2 + 3*(x2 - ({float(CENTER[1])!r}))^2"
EXPERIMENT = f"""
name = "sign_gd_bowl"
dtype = "float64"

[starts]
points = {STARTS.tolist()}

[run]
steps = {STEPS}
gtol = 1e-300

[[objectives]]
expression = "{BOWL_TEXT}"

[[optimizers]]
name = "sign_gd"
learning_rate = [0.1, 0.05]

[[optimizers]]
name = "sgd"
learning_rate = 0.01

[output]
metrics = ["worst_final_value"]
"""


def test_a_registered_method_and_metric_run_in_a_toml_experiment(tmp_path, x64):
    config = parse_config(EXPERIMENT)
    out = run_experiment(config, tmp_path / "out", display="off", report=False)
    with open(out / "summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    rows = {(r["optimizer"], r["hp_learning_rate"]): r for r in summary}
    for lr in (0.1, 0.05):
        row = rows[("sign_gd", repr(lr))]
        finals = [
            np.sum(WEIGHTS * (sign_gd_by_hand(start, lr, STEPS)[-1] - CENTER) ** 2)
            for start in STARTS
        ]
        assert float(row["worst_final_value"]) == pytest.approx(max(finals), rel=1e-12)
    assert float(rows[("sgd", "0.01")]["worst_final_value"]) > 0
