"""A family of objectives as one program, the objective chosen by a scalar index
(:mod:`jaxcalc.engine.family`).

Oracles: the closed forms of Booth's and Matyas's functions and their gradients; and each
objective's own program (itself tested against optax's loop in test_optimizers.py), whose
statuses, event steps and counts a family's program must give exactly. Values agree to
rounding only: the objective evaluated inside a conditional is fused apart from the step
around it (benchmarks/objective_family.py measures how far that goes).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcalc.engine import plan
from jaxcalc.engine import run as engine
from jaxcalc.engine.family import Family, family_inputs, family_job
from jaxcalc.engine.options import limits_for, resolve_methods
from jaxcalc.objectives import get


def booth(x):
    return (x[0] + 2 * x[1] - 7) ** 2 + (2 * x[0] + x[1] - 5) ** 2


def booth_grad(x):
    a, b = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
    return np.array([2 * a + 4 * b, 4 * a + 2 * b])


def matyas(x):
    return 0.26 * (x[0] ** 2 + x[1] ** 2) - 0.48 * x[0] * x[1]


def matyas_grad(x):
    return np.array([0.52 * x[0] - 0.48 * x[1], 0.52 * x[1] - 0.48 * x[0]])


def test_select_evaluates_the_chosen_objective_only(x64):
    family = Family((get("booth"), get("matyas")))
    points = np.random.default_rng(0).uniform(-5, 5, (16, 2))

    @jax.jit
    def value_and_grad(index, x):
        return jax.vmap(jax.value_and_grad(family.select(index)))(x)

    for index, (f, g) in enumerate(((booth, booth_grad), (matyas, matyas_grad))):
        values, grads = value_and_grad(jnp.int32(index), points)
        np.testing.assert_allclose(values, [f(p) for p in points], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(grads, [g(p) for p in points], rtol=1e-13, atol=1e-13)
    # a scalar index stays a conditional under vmap: no select over the branches' results
    jaxpr = jax.make_jaxpr(value_and_grad)(jnp.int32(0), points)
    assert "cond" in str(jaxpr) and "select_n" not in str(jaxpr)


def test_family_needs_one_dimension():
    with pytest.raises(ValueError, match="one known dimension"):
        Family((get("booth"), get("rosenbrock", dim=3)))


def _job(objective, x0, steps):
    entries = resolve_methods([("adam", {"learning_rate": 0.05}), ("sgd", {"learning_rate": 0.01})])
    limits = limits_for(x0.dtype, None, None, None, 5, objective.floor)
    layout = plan.lay_out(entries, x0, 0)
    return engine._job(objective, objective, layout, limits, steps, 5, True, None, None, 1)


def test_family_program_matches_own_programs(x64):
    objectives = [get("booth"), get("matyas")]
    starts = [
        np.asarray(o.sample(jax.random.key(i), 8, np.float64)) for i, o in enumerate(objectives)
    ]
    jobs = [_job(o, x0, 40) for o, x0 in zip(objectives, starts, strict=True)]
    fjob = family_job(jobs, Family(tuple(objectives)))
    fam = jax.jit(fjob.batch)
    for index, job in enumerate(jobs):
        bounds = job.chunks.bounds[0]
        own = jax.jit(job.batch)(*job.inputs(*bounds))
        got = fam(*family_inputs(job, index, *bounds))
        for key in ("status", "event_step", "function_evaluations", "gradient_evaluations"):
            np.testing.assert_array_equal(got[key], own[key], err_msg=key)
        for key in ("final_params", "final_values", "records"):
            np.testing.assert_allclose(got[key], own[key], rtol=1e-12, atol=1e-12, err_msg=key)
