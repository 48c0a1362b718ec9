"""Tests of jaxcalc.objectives.bbob against COCO's own bbob suite (the ``cocoex`` package).

Oracle: ``cocoex.Suite("bbob", ...)``, COCO's C implementation. Every function id is checked
in every dimension of the suite and for instances from each of COCO's instance sets (the 2009/
2010 instances 1-15, the 2016, 2018, 2021 and 2023 sets, and large instance numbers): values on
random points inside and outside ``[-5, 5]^D`` and next to the optimum, ``x_opt`` against the
optimum COCO reports, and ``f_opt`` against COCO's value at ``x_opt``. No expected value here
was copied from jaxcalc's output.

Runtime: one test per function id; all of its instances in one dimension share one compiled
kernel (same batch shape), so the whole module compiles ~6 kernels per function.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxcalc_testing import precision

from jaxcalc.objectives.bbob import (
    BBOB_DIMENSIONS,
    BBOB_MAX_INSTANCE,
    BBOB_NAMES,
    BBOBInstance,
    bbob,
    legacy_fopt,
    legacy_uniform,
)

cocoex = pytest.importorskip("cocoex")

# 2009/2010 instances (1-15), the 2016 (51-60), 2018 (71-80, cocoex 2.8's default), 2021
# (91-100) and 2023 (101-110) sets, and large instance numbers up to the largest accepted.
INSTANCES = (1, 2, 5, 15, 51, 60, 71, 80, 91, 101, 110, 1000, 2**31 - 1, BBOB_MAX_INSTANCE)
FUNCTION_IDS = tuple(range(1, 25))
RTOL = 1e-9


@pytest.fixture(autouse=True)
def x64():
    with precision(True):
        yield


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_kernels():
    """Drop this module's ~150 compiled kernels when it is done, not at interpreter exit."""
    yield
    jax.clear_caches()


@pytest.fixture(scope="module")
def suite():
    ranges = ",".join(str(i) for i in INSTANCES)
    s = cocoex.Suite("bbob", f"instances: {ranges}", "")
    yield s
    s.free()


def coco_best_parameter(problem, workdir) -> np.ndarray | None:
    """The optimum COCO reports for a problem (cocoex writes it to a file in the cwd)."""
    old = os.getcwd()
    os.chdir(workdir)
    try:
        problem._best_parameter("print")
        with open("._bbob_problem_best_parameter.txt") as fh:
            return np.array([float(v) for v in fh.read().split()])
    except (AttributeError, OSError):  # private API of cocoex; absent in other versions
        return None
    finally:
        os.chdir(old)


def sample_points(rng: np.random.Generator, inst: BBOBInstance) -> np.ndarray:
    """29 points: 20 in the box, 6 outside it (penalties, f5's clamp), 2 near x_opt, x_opt."""
    d = inst.dimension
    inside = rng.uniform(-5.0, 5.0, (20, d))
    outside = rng.uniform(-5.0, 5.0, (6, d))
    outside[:, : max(1, d // 2)] = rng.choice([-1.0, 1.0], (6, max(1, d // 2))) * rng.uniform(
        5.0, 9.0, (6, max(1, d // 2))
    )
    outside[0] = 1.5 * 5.0 * np.sign(inst.x_opt)  # beyond f5's optimal corner
    near = inst.x_opt + rng.normal(0.0, 1e-3, (2, d))
    return np.concatenate([inside, outside, near, inst.x_opt[None]])


def assert_close_to_coco(got, ref, f_opt, what):
    atol = RTOL * max(1.0, abs(f_opt))
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=atol, err_msg=what)


@pytest.mark.parametrize("fid", FUNCTION_IDS)
def test_values_xopt_fopt_match_coco(fid, suite, tmp_path):
    rng = np.random.default_rng(fid)
    for d in BBOB_DIMENSIONS:
        for i in INSTANCES:
            inst = bbob(fid, d, i)
            problem = suite.get_problem_by_function_dimension_instance(fid, d, i)
            assert problem.id_triple == (fid, d, i)
            what = f"f{fid} D={d} instance {i}"

            x = sample_points(rng, inst)
            ref = np.array([problem(row) for row in x])
            got = np.asarray(inst.fn(x))
            assert got.dtype == np.float64 and got.shape == (len(x),)
            assert_close_to_coco(got, ref, inst.f_opt, what)

            # f_opt: COCO's value at our x_opt, and ours.
            assert_close_to_coco(ref[-1], inst.f_opt, inst.f_opt, what + " f(x_opt) (COCO)")
            assert_close_to_coco(got[-1], inst.f_opt, inst.f_opt, what + " f(x_opt)")
            assert inst.f_opt == round(inst.f_opt, 2) and abs(inst.f_opt) <= 1000.0

            best = coco_best_parameter(problem, tmp_path)
            if best is not None:
                np.testing.assert_allclose(inst.x_opt, best, rtol=0, atol=1e-12, err_msg=what)
            problem.free()


def test_instance_metadata():
    assert sorted(BBOB_NAMES) == list(FUNCTION_IDS)
    inst = bbob(3, 5, 7)
    assert inst.name == "bbob_f3_rastrigin"
    assert (inst.function_id, inst.dimension, inst.instance) == (3, 5, 7)
    lower, upper = inst.bounds
    np.testing.assert_array_equal(lower, -5.0)
    np.testing.assert_array_equal(upper, 5.0)
    assert inst.x_opt.shape == (5,) and not inst.x_opt.flags.writeable
    assert bbob(3, 5, 7) is inst  # cached
    assert {f for f in FUNCTION_IDS if not bbob(f, 2).differentiable} == {7, 23}
    # f5's optimum is a corner of the box.
    np.testing.assert_array_equal(np.abs(bbob(5, 10, 3).x_opt), 5.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 2, 1), "function_id"),
        ((25, 2, 1), "function_id"),
        ((1.0, 2, 1), "function_id"),
        ((True, 2, 1), "function_id"),
        ((1, 4, 1), "dimension"),
        ((1, 1, 1), "dimension"),
        ((1, "2", 1), "dimension"),
        ((1, 2, 0), "instance"),
        ((1, 2, -3), "instance"),
        ((1, 2, BBOB_MAX_INSTANCE + 1), "instance"),
    ],
)
def test_bad_arguments_raise(args, match):
    with pytest.raises(ValueError, match=match):
        bbob(*args)


def test_bad_input_shape_raises():
    inst = bbob(1, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        inst.fn(np.zeros(4))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        inst.fn(np.float64(1.0))


def test_legacy_generator_matches_park_miller():
    # The underlying LCG is the "minimal standard" one: from seed 1, the 10000th state is
    # 1043618065 (Park & Miller 1988). Our uniforms are its shuffled output / 2.147483647e9,
    # so every value must be one of the LCG's states divided by that constant.
    state, states = 1, set()
    for _ in range(10000 + 40):
        state = (16807 * state) % 2147483647
        states.add(state)
    assert 1043618065 in states
    u = legacy_uniform(200, 1)
    assert all(round(v * 2.147483647e9) in states for v in u)
    assert np.all((u > 0) & (u < 1))
    # f_opt is symmetric in distribution, rounded to 0.01 and clipped to [-1000, 1000].
    values = [legacy_fopt(1, i) for i in range(1, 200)]
    assert all(abs(v) <= 1000 and v == round(v, 2) for v in values)


@pytest.mark.parametrize("fid", [1, 7, 16, 21, 24])
def test_batching_shapes(fid):
    inst = bbob(fid, 3, 2)
    x = np.random.default_rng(0).uniform(-5, 5, (2, 11, 3))
    batched = np.asarray(inst.fn(x))  # batch shapes may change the last bits (matmul blocking)
    assert batched.shape == (2, 11)
    flat = np.asarray(inst.fn(x[0]))
    assert flat.shape == (11,)
    np.testing.assert_allclose(flat, batched[0], rtol=1e-12)
    single = inst.fn(x[0, 4])
    assert single.shape == ()
    np.testing.assert_allclose(float(single), flat[4], rtol=1e-12)
    # Works under the usual transformations, and the instance itself is callable.
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(inst.fn))(x[0])), flat, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(inst(jnp.asarray(x[0]))), flat, rtol=1e-12)


# float32 agrees with float64 to ~1e-5 relative (measured over 200 points in D = 2..40),
# except where the function amplifies float32's rounding of z (~6e-8 relative):
# f16 (cos(2 pi 3^11 z)), f19 (cos of values up to ~1e7, ~1e-3 measured) and f23 (32 terms
# |2^j z - round(2^j z)| / 2^j multiplied over the coordinates, ~2e-4 measured).
FLOAT32_RTOL = {16: 2e-3, 19: 1e-2, 23: 2e-3}


@pytest.mark.parametrize("fid", FUNCTION_IDS)
def test_float32_stays_float32_and_is_close(fid, suite):
    inst = bbob(fid, 5, 1)
    x = np.random.default_rng(fid).uniform(-4, 4, (11, 5))
    y32 = inst.fn(x.astype(np.float32))
    assert y32.dtype == jnp.float32 and y32.shape == (11,)
    y32 = np.asarray(y32, dtype=np.float64)
    assert np.all(np.isfinite(y32))
    problem = suite.get_problem_by_function_dimension_instance(fid, 5, 1)
    ref = np.array([problem(row) for row in x.astype(np.float32).astype(np.float64)])
    problem.free()
    scale = np.maximum(np.abs(ref), max(1.0, abs(inst.f_opt)))
    assert np.max(np.abs(y32 - ref) / scale) < FLOAT32_RTOL.get(fid, 1e-4)


def test_integer_input_is_promoted():
    inst = bbob(1, 5, 1)
    y = inst.fn(np.ones((2, 5), dtype=np.int32))
    assert y.dtype == jnp.float64  # the default float type under x64
    np.testing.assert_allclose(np.asarray(y), np.asarray(inst.fn(np.ones((2, 5)))))


def test_float32_without_x64():
    with precision(False):
        inst = bbob(15, 10, 3)
        y = inst.fn(np.full((4, 10), 0.5))
        assert y.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(y)))


# Functions smooth enough around random points for central differences (h = 1e-6); f19 is
# differentiable too, but cos of values ~1e4 makes its gradient vary faster than h resolves.
SMOOTH = (1, 2, 8, 9, 10, 12, 14, 21)


@pytest.mark.parametrize("fid", SMOOTH)
def test_gradient_matches_central_differences(fid):
    inst = bbob(fid, 5, 3)
    assert inst.differentiable
    grad = jax.grad(inst.fn)
    x = np.random.default_rng(100 + fid).uniform(-3, 3, 5)
    g = np.asarray(grad(jnp.asarray(x)))
    h = 1e-6
    fd = np.array(
        [(float(inst.fn(x + h * e)) - float(inst.fn(x - h * e))) / (2 * h) for e in np.eye(5)]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(fd).max()))
    if fid not in (21,):  # Gallagher's optimum is a peak of a max: no zero gradient there
        g_opt = np.asarray(grad(jnp.asarray(inst.x_opt)))
        assert np.all(np.abs(g_opt) < 1e-6), g_opt


@pytest.mark.parametrize("fid", [3, 6, 13, 16, 17, 20, 24])
def test_gradient_is_finite(fid):
    inst = bbob(fid, 5, 3)
    assert inst.differentiable
    x = np.random.default_rng(fid).uniform(-6, 6, (5, 5))
    grads = np.asarray(jax.vmap(jax.grad(inst.fn))(jnp.asarray(x)))
    assert np.all(np.isfinite(grads))
