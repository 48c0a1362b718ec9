"""Tests of jaxcalc.engine.optimize: shapes, compilation, lane independence, statuses.

Expected statuses and event steps come from RELIABILITY.md (rows O1-O8, R1, R4, R6) and are
re-derived here with plain NumPy iterations, not copied from jaxcalc's output.

Runtime: every distinct (objective, optimizer, steps, record_every, batch shape, dtype) is
one XLA compilation (1-5 s on a shared CPU), so the tests reuse a few objective objects and
shapes; ``optimize`` keeps compiled programs, so a repeated configuration costs no compile.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxcalc_testing import forced_devices_env

from jaxcalc import objectives
from jaxcalc.engine import STATUSES, estimate_bytes, optimize
from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.optimizers import get_optimizer


@pytest.fixture(scope="module", autouse=True)
def float64():
    """float64 unless a test asks for float32 (``float32`` fixture); restored afterwards."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture
def float32():
    jax.config.update("jax_enable_x64", False)
    yield
    jax.config.update("jax_enable_x64", True)


def bowl(x):
    """A convex quadratic in 2-D, minimum 0 at (1, -2)."""
    return (x[0] - 1.0) ** 2 + 3.0 * (x[1] + 2.0) ** 2 + 0.5 * (x[0] - 1.0) * (x[1] + 2.0)


def quartic(x):
    return jnp.sum(x**4)


STARTS = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]])  # B = 3 for most tests
STEPS = 10


def gd(x0, steps=STEPS, record_every=1, **kw):
    """The shared program: gd on ``bowl``; only the shapes and steps make new programs."""
    kw.setdefault("learning_rate", 0.1)
    return optimize(bowl, "gd", x0, steps, record_every=record_every, **kw)


# ----------------------------------------------------------------------------------------
# Shapes


def test_batch_shapes():
    t = gd(STARTS)
    b, r, d = 3, STEPS, 2
    assert t.params.shape == (b, r + 1, d)
    assert t.values.shape == t.grad_norms.shape == (b, r + 1)
    for name in ("status", "event_step", "function_evaluations", "gradient_evaluations"):
        assert getattr(t, name).shape == (b,), name
    assert t.hessian_evaluations.shape == t.resets.shape == t.final_values.shape == (b,)
    assert t.final_params.shape == (b, d)
    np.testing.assert_array_equal(t.params[:, 0, :], STARTS)
    assert t.params.dtype == np.float64
    np.testing.assert_array_equal(t.recorded_steps, np.arange(r + 1))
    np.testing.assert_array_equal(t.values[:, 0], [float(bowl(jnp.asarray(x))) for x in STARTS])
    # values and gradient norms are those of the recorded points (autodiff, outside jaxcalc)
    points = jnp.asarray(t.params.reshape(-1, d))
    grads = np.asarray(jax.vmap(jax.grad(bowl))(points))
    np.testing.assert_allclose(
        t.grad_norms, np.linalg.norm(grads, axis=-1).reshape(b, r + 1), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        t.values, np.asarray(jax.vmap(bowl)(points)).reshape(b, r + 1), rtol=1e-12, atol=1e-15
    )


def test_single_start_drops_the_batch_axis():
    t = gd(STARTS[1])
    assert t.params.shape == (STEPS + 1, 2)
    assert t.values.shape == (STEPS + 1,)
    assert t.status.shape == t.event_step.shape == ()
    assert t.final_params.shape == (2,)
    np.testing.assert_array_equal(t.params[0], STARTS[1])


def test_a_swept_hyperparameter_adds_a_leading_axis():
    rates = [1e-3, 1e-2, 1e-1]
    single = gd(STARTS[1], learning_rate=rates)  # 3 runs: the (3, 2) program of STARTS
    assert single.sweep == ("learning_rate",)
    assert single.params.shape == (3, STEPS + 1, 2)
    assert single.status.shape == (3,)
    np.testing.assert_array_equal(single.hyperparameters["learning_rate"], rates)
    batch = gd(STARTS[1:2], learning_rate=rates)  # a batch of one keeps its B axis
    assert batch.params.shape == (3, 1, STEPS + 1, 2)
    assert batch.status.shape == (3, 1)
    # each sweep point is the run with that learning rate alone
    for i, lr in enumerate(rates):
        alone = gd(STARTS, learning_rate=lr)
        np.testing.assert_array_equal(single.params[i], alone.params[1])


SWEEP = {"learning_rate": [0.01, 0.1], "b1": [0.8, 0.9, 0.95]}


def test_two_swept_hyperparameters_give_two_axes():
    rates, b1s = SWEEP["learning_rate"], SWEEP["b1"]
    t = optimize(bowl, "adam", STARTS[0], STEPS, learning_rate=rates, b1=b1s)
    assert t.sweep == ("learning_rate", "b1")
    assert t.params.shape == (2, 3, STEPS + 1, 2)
    assert t.status.shape == (2, 3)
    # the (lr, b1) = (0.1, 0.8) run is adam with those two values, nothing shared
    assert not np.array_equal(t.params[1, 0], t.params[1, 1])
    assert not np.array_equal(t.params[0, 0], t.params[1, 0])
    rows = t.to_table()
    assert len(rows) == 6
    assert [(r["learning_rate"], r["b1"]) for r in rows] == [(a, b) for a in rates for b in b1s]
    assert all(r["b2"] == 0.999 and r["optimizer"] == "adam" for r in rows)
    assert [r["status"] for r in rows] == list(t.status.reshape(-1))
    assert sum(t.status_counts().values()) == 6


def test_sweep_axes_follow_the_order_given():
    rates, b1s = SWEEP["learning_rate"], SWEEP["b1"]
    t = optimize(bowl, "adam", STARTS[0], STEPS, learning_rate=rates, b1=b1s)
    swapped = optimize(bowl, "adam", STARTS[0], STEPS, b1=b1s, learning_rate=rates)
    assert swapped.sweep == ("b1", "learning_rate")
    assert swapped.params.shape == (3, 2, STEPS + 1, 2)
    np.testing.assert_array_equal(swapped.params, t.params.transpose(1, 0, 2, 3))


@pytest.mark.parametrize(("steps", "record_every"), [(10, 3), (10, 1)])
def test_records_are_steps_floor_divided_by_record_every(steps, record_every):
    t = gd(STARTS, steps=steps, record_every=record_every)
    r = steps // record_every
    assert t.params.shape == (3, r + 1, 2)
    np.testing.assert_array_equal(t.recorded_steps, np.arange(r + 1) * record_every)
    every = gd(STARTS, steps=steps)  # record_every=1: the same iterates, every one of them
    np.testing.assert_array_equal(t.params, every.params[:, ::record_every][:, : r + 1])
    # the steps after the last record still run: final_params is the point after `steps`
    np.testing.assert_array_equal(t.final_params, every.final_params)


def test_integer_starts_are_cast_to_float():
    ints = np.array([[0, 0], [3, -1], [-2, 4]])
    t = gd(ints)
    assert t.params.dtype == np.float64
    np.testing.assert_array_equal(t.params, gd(STARTS).params)


# ----------------------------------------------------------------------------------------
# Compilation (R4, R6)


def test_new_values_do_not_recompile_but_new_steps_and_shapes_do():
    def fresh(x):  # a new function object: a program nobody has compiled yet
        return bowl(x)

    first = optimize(fresh, "gd", STARTS, STEPS, learning_rate=0.1)
    assert first.compile_seconds > 0
    again = optimize(fresh, "gd", STARTS + 1.5, STEPS, learning_rate=0.02)
    assert again.compile_seconds == 0.0
    # a sweep is another program (its values are per-run data, a single value is one
    # scalar shared by every run); new sweep values of the same length reuse it
    swept = optimize(fresh, "gd", STARTS[0], STEPS, learning_rate=[0.3, 0.2, 0.01])  # 3 runs
    assert swept.compile_seconds > 0
    reswept = optimize(fresh, "gd", STARTS[1], STEPS, learning_rate=[0.1, 0.05, 0.4])
    assert reswept.compile_seconds == 0.0
    assert not np.array_equal(reswept.params, swept.params)
    assert not np.array_equal(again.params, first.params)
    longer = optimize(fresh, "gd", STARTS, STEPS + 1, learning_rate=0.1)
    assert longer.compile_seconds > 0
    # batches are padded to a multiple of 32 lanes: 3 and 6 starts share a program, 33 not
    same = optimize(fresh, "gd", np.vstack([STARTS, STARTS]), STEPS, learning_rate=0.1)
    assert same.compile_seconds == 0.0
    wider = optimize(fresh, "gd", np.tile(STARTS, (11, 1)), STEPS, learning_rate=0.1)
    assert wider.compile_seconds > 0


def test_compile_time_is_flat_in_steps():
    """R6: lax.scan, not an unrolled loop. A loose guard on wall-clock time: 10 and 10,000
    steps (record_every adjusted so both keep 10 records) compile within a factor 3 of each
    other; an unrolled loop would take minutes for 10,000 steps. Compile times on a shared
    CPU swing by 2x, so a ratio above 3 is measured once more with fresh programs."""

    def ratio():
        def short(x):
            return jnp.sum((x - 0.5) ** 2)

        def long(x):
            return jnp.sum((x - 0.5) ** 2)

        a = optimize(short, "gd", STARTS, 10, record_every=1, check_curvature=False)
        b = optimize(long, "gd", STARTS, 10_000, record_every=1000, check_curvature=False)
        assert a.values.shape == b.values.shape == (3, 11)
        return b.compile_seconds / a.compile_seconds

    first = ratio()
    assert 1 / 3 <= first <= 3 or 1 / 3 <= ratio() <= 3, first


# ----------------------------------------------------------------------------------------
# Batched equals looped


def test_batched_equals_looped_gd():
    """Each start alone (a (1, D) program) gives the same numbers as in a batch (vmap lanes
    do the same arithmetic): compared exactly, float64."""
    batch = gd(STARTS, steps=STEPS)
    for i, x0 in enumerate(STARTS):
        alone = gd(x0, steps=STEPS)
        for name, value in alone.to_numpy().items():
            np.testing.assert_array_equal(value, getattr(batch, name)[i], err_msg=name)


def test_batched_equals_looped_bfgs_with_line_search():
    """BFGS's line search is a while_loop: under vmap it runs until every lane is done
    (jax #2586), with finished lanes masked. Masking must leave their numbers alone."""
    starts = np.array([[-1.2, 1.0], [0.0, 0.0], [2.0, -1.0]])
    kw = {"record_every": 5, "check_curvature": False}
    batch = optimize(rosen, "bfgs", starts, 60, **kw)
    assert set(batch.status) == {"converged"}
    for i, x0 in enumerate(starts):
        alone = optimize(rosen, "bfgs", x0, 60, **kw)
        for name, value in alone.to_numpy().items():
            np.testing.assert_array_equal(value, getattr(batch, name)[i], err_msg=name)


def rosen(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


# ----------------------------------------------------------------------------------------
# Diverging runs are isolated (O1)

O1_STARTS = [0.5, 1.0, 3.0, 10.0]


def _numpy_gd_quartic(x0: float, lr: float, steps: int, dtype, x_limit: float = np.inf):
    """GD on x^4 in NumPy: the finite iterates, the first step where f, f' or x is not
    finite or |x| > x_limit (None if there is none), and the point reached at that step."""
    x = dtype(x0)
    path = [x]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            x = dtype(x - dtype(lr) * (dtype(4) * x**3))
            f, g = x**4, dtype(4) * x**3
            if not (np.isfinite(x) and np.isfinite(f) and np.isfinite(g)) or abs(x) > x_limit:
                return path, k, x
            path.append(x)
    return path, None, None


def test_diverging_runs_are_isolated_float32(float32):
    """RELIABILITY O1 (float32, as measured): starts 3 and 10 blow up at steps 4 and 3."""
    expected = {x0: _numpy_gd_quartic(x0, 0.1, 20, np.float32)[:2] for x0 in O1_STARTS}
    assert expected[3.0][1] == 4 and expected[10.0][1] == 3  # the measured steps
    assert expected[0.5][1] is None and expected[1.0][1] is None

    x0 = np.array(O1_STARTS, np.float32)[:, None]
    t = optimize(quartic, "gd", x0, 20, learning_rate=0.1)
    assert t.params.dtype == np.float32
    assert list(t.status) == ["max_steps", "max_steps", "diverged_nonfinite", "diverged_nonfinite"]
    assert list(t.event_step) == [-1, -1, 4, 3]
    for i, start in enumerate(O1_STARTS[2:], start=2):
        path, bad = expected[start]
        # the recorded path is NumPy's up to the last finite point, which is then kept
        np.testing.assert_allclose(t.params[i, :bad, 0], path, rtol=1e-6)
        np.testing.assert_array_equal(t.params[i, bad:, 0], t.params[i, bad - 1, 0])
        assert t.final_params[i, 0] == t.params[i, bad - 1, 0]
        assert np.all(np.isfinite(t.values[i])) and np.isfinite(t.final_values[i])
        assert t.function_evaluations[i] == bad + 1  # the start, then one per step
    # healthy neighbours in place of the diverging ones: the same program, same numbers
    calm = optimize(quartic, "gd", np.array([0.5, 1.0, 0.5, 1.0], np.float32)[:, None], 20,
                    learning_rate=0.1)  # fmt: skip
    assert calm.compile_seconds == 0.0
    for name, value in calm.to_numpy().items():
        np.testing.assert_array_equal(value[:2], getattr(t, name)[:2], err_msg=name)
    np.testing.assert_allclose(t.params[0, :, 0], expected[0.5][0], rtol=1e-5)


def test_runaway_in_float64_stops_at_x_limit():
    """In float64 the same runs stay finite longer, so the x_limit test stops them first:
    status "diverged" (the point ran away while f grew) at the step NumPy says; that
    finite run-away point is the last one recorded."""
    x_limit = 1e15  # the documented float64 default
    t = optimize(quartic, "gd", np.array(O1_STARTS)[:, None], 20, learning_rate=0.1)
    for i, start in enumerate(O1_STARTS):
        path, bad, away = _numpy_gd_quartic(start, 0.1, 20, np.float64, x_limit=x_limit)
        if bad is None:
            assert t.status[i] == "max_steps"
            np.testing.assert_allclose(t.params[i, :, 0], path, rtol=1e-12)
        else:
            assert (t.status[i], t.event_step[i]) == ("diverged", bad)
            np.testing.assert_allclose(t.params[i, : bad + 1, 0], [*path, away], rtol=1e-12)
            np.testing.assert_array_equal(t.params[i, bad:, 0], t.final_params[i, 0])
            assert np.all(np.isfinite(t.values[i]))
    assert list(t.event_step) == [-1, -1, 4, 3]


# ----------------------------------------------------------------------------------------
# Statuses (RELIABILITY O3-O8 and the start checks)


def test_newton_on_a_flat_minimum_gives_no_nan():
    """O3: x^4 at exactly 0 (f'' = 0, so a plain Newton step is 0/0). 0 is the minimum;
    its Hessian is 0, so the curvature check cannot verify it: flat_start is documented."""
    t = optimize(quartic, "newton", np.array([0.0]), 5)
    assert t.status in ("converged", "flat_start")
    assert np.all(t.params == 0.0) and np.all(np.isfinite(t.values))


def test_newton_on_a_maximum_is_non_minimum():
    """O4: x^3 - 3x has a maximum at -1 (f'' = -6) and a minimum at 1 (f'' = 6)."""

    def cubic(x):
        return jnp.sum(x**3 - 3.0 * x)

    t = optimize(cubic, "newton", np.array([[-1.0], [-0.5]]), 30)
    assert t.status[0] == "non_minimum"
    assert t.event_step[0] == 0 and t.final_params[0, 0] == -1.0
    # from -0.5 the modified Newton step descends (plain Newton would climb to -1)
    assert t.status[1] == "converged"
    np.testing.assert_allclose(t.final_params[1, 0], 1.0, atol=1e-10)


def x_minus_log(x):
    return jnp.sum(x - jnp.log(x))


def test_lbfgs_domain_error_and_tiny_start_float32(float32):
    """O5: from -1, f = nan at the start: domain_error_at_start (optax alone would return
    NaNs without a word). O6 (float32, as measured): from 1e-30 optax's L-BFGS leaves the
    domain's scale (x ~ 1e24); jaxcalc keeps finite parameters and does not claim
    convergence."""
    t = optimize(x_minus_log, "lbfgs", np.array([[-1.0], [1e-30]], np.float32), 20)
    assert t.status[0] == "domain_error_at_start" and t.event_step[0] == 0
    np.testing.assert_array_equal(t.params[0], -1.0)
    assert t.function_evaluations[0] == 1
    assert t.status[1] != "converged"
    assert np.all(np.isfinite(t.final_params[1])) and np.all(np.isfinite(t.params[1]))


def test_gd_domain_errors_at_start_and_converged_runs_freeze():
    """log of a negative number (and log 0) at the start: domain_error_at_start, nothing
    run. The healthy start converges and then freezes: no evaluation after event_step."""
    t = optimize(x_minus_log, "gd", np.array([[-1.0], [0.0], [0.5]]), 200, learning_rate=0.2)
    assert list(t.status[:2]) == ["domain_error_at_start"] * 2
    assert list(t.event_step[:2]) == [0, 0]
    assert list(t.function_evaluations[:2]) == [1, 1]
    np.testing.assert_array_equal(t.params[:2, :, 0], [[-1.0] * 201, [0.0] * 201])
    assert t.status[2] == "converged"
    k = int(t.event_step[2])
    assert 0 < k < 200
    # gd evaluates f and f' once at the start and once per step taken
    assert t.function_evaluations[2] == t.gradient_evaluations[2] == k + 1
    assert t.hessian_evaluations[2] == 0
    np.testing.assert_array_equal(t.params[2, k:], np.broadcast_to(t.params[2, k], (201 - k, 1)))
    assert t.grad_norms[2, k] <= t.extras["gtol"] < t.grad_norms[2, k - 1]
    np.testing.assert_allclose(t.final_params[2], 1.0, atol=1e-8)


def test_unbounded_below_and_flat_start():
    """O7: gd on x^3 from -1 runs off to -inf: unbounded once f < -f_limit. From exactly 0
    the gradient is 0 but 0 is an inflection point: flat_start, not converged."""

    def cube(x):
        return jnp.sum(x**3)

    f_limit = 1e6
    t = optimize(cube, "gd", np.array([[-1.0], [0.0]]), 100, learning_rate=0.1, f_limit=f_limit)
    assert list(t.status) == ["unbounded", "flat_start"]
    # NumPy: x <- x - 0.1 * 3x^2; the first step with x^3 < -f_limit
    x, k = -1.0, 0
    while x**3 >= -f_limit:
        x, k = x - 0.3 * x * x, k + 1
    assert t.event_step[0] == k
    assert t.event_step[1] == 0 and np.all(t.params[1] == 0.0)


def test_unbounded_concave_and_start_on_a_maximum():
    """O7 with -x^2: unbounded from 1; a start exactly on the maximum 0 is non_minimum."""

    def cap(x):
        return -jnp.sum(x**2)

    t = optimize(cap, "gd", np.array([[1.0], [0.0]]), 100, learning_rate=0.1, f_limit=1e6)
    assert list(t.status) == ["unbounded", "non_minimum"]
    k = int(np.ceil(np.log(1e3) / np.log(1.2)))  # x_k = 1.2^k; -x_k^2 < -1e6
    assert t.event_step[0] == k


def test_no_convergence_within_steps_is_max_steps():
    """O8: Rosenbrock with tiny steps ends with a non-zero gradient: max_steps, never
    converged; event_step is -1 and every step was taken."""
    t = optimize(rosen, "gd", np.array([-1.2, 1.0]), 50, learning_rate=1e-5)
    assert t.status == "max_steps" and t.event_step == -1
    assert t.function_evaluations == 51
    assert t.grad_norms[-1] > 1.0 and t.final_values < t.values[0]


# ----------------------------------------------------------------------------------------
# Sharded equals single-device

_SHARD_SCRIPT = textwrap.dedent(
    """
    import sys
    import jax.numpy as jnp
    import numpy as np
    from jaxcalc.engine import optimize

    def quartic(x):
        return jnp.sum(x**4)

    starts = np.linspace(-3.0, 3.5, 20).reshape(10, 2)
    t = optimize(quartic, "adam", starts, 30, record_every=3, learning_rate=0.5)
    np.savez(sys.argv[1], devices=t.devices, chunks=t.chunks, **t.to_numpy())
    """
)


def test_sharded_equals_single_device(tmp_path):
    """10 runs on 4 forced host devices, in a fresh float64 process, against the same runs
    here on one device: every output equal to the bit. (Before each device's lanes were
    padded to a multiple of 16 (now 32), 3 lanes per device were vectorised differently from 10 and
    Adam's updates differed in the last bit, up to 5.6e-16.)"""
    script = tmp_path / "run.py"
    script.write_text(_SHARD_SCRIPT)
    env = forced_devices_env(4)
    out = tmp_path / "sharded.npz"
    proc = subprocess.run(
        [sys.executable, str(script), str(out)], env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    sharded = dict(np.load(out))
    assert int(sharded["devices"]) == 4

    starts = np.linspace(-3.0, 3.5, 20).reshape(10, 2)
    one = optimize(quartic, "adam", starts, 30, record_every=3, learning_rate=0.5)
    assert one.devices == len(jax.devices())
    for name, value in one.to_numpy().items():
        np.testing.assert_array_equal(sharded[name], value, err_msg=name)


# ----------------------------------------------------------------------------------------
# Memory (R1)


def test_small_memory_budget_chunks_with_identical_results():
    whole = gd(STARTS)
    per_run = estimate_bytes(1, STEPS, 1, 2, 8, get_optimizer("gd").state_size(2))
    # a budget of two runs still gets whole 32-lane chunks (fewer lanes would round the
    # runs differently): the three runs are one chunk
    chunked = gd(STARTS, memory_budget=2 * per_run)
    assert whole.chunks == 1 and chunked.chunks == 1
    forced = gd(STARTS, chunk_size=2)  # chunks of 2 runs, each padded to 32 lanes
    assert forced.chunks == 2
    assert forced.compile_seconds == 0.0  # the same 32-lane program as the whole batch
    for name, value in whole.to_numpy().items():
        np.testing.assert_array_equal(chunked.to_numpy()[name], value, err_msg=name)
        np.testing.assert_array_equal(forced.to_numpy()[name], value, err_msg=name)


def test_a_single_run_over_budget_is_a_resource_error():
    with pytest.raises(ResourceError, match="record_every") as info:
        gd(STARTS, steps=10_000, memory_budget=10_000)
    assert "steps=10000" in str(info.value)


# ----------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, r"steps must be an integer from 1 to 10000000; got 0"),
        ({"steps": 10.5}, r"steps must be an integer .*got 10\.5"),
        ({"steps": True}, r"steps must be an integer"),
        ({"steps": 10**8}, r"steps must be an integer from 1 to 10000000"),
        ({"record_every": 0}, r"record_every must be an integer from 1 to steps \(10\); got 0"),
        ({"record_every": 11}, r"record_every .*got 11"),
        ({"record_every": 2.0}, r"record_every must be an integer"),
        ({"seed": -1}, r"seed must be an integer from 0 to 2\*\*32 - 1; got -1"),
        ({"seed": 2**32}, r"seed must be an integer .*got 4294967296"),
        ({"seed": True}, r"seed must be an integer"),
        ({"seed": 1.5}, r"seed must be an integer .*got 1\.5"),
    ],
)
def test_bad_steps_record_every_and_seed(kwargs, message):
    args = {"steps": 10, **kwargs}
    steps = args.pop("steps")
    with pytest.raises(ConfigError, match=message):
        optimize(bowl, "gd", STARTS, steps, **args)


@pytest.mark.parametrize("shape", [(3,), (4, 3), (2, 1)])
def test_start_of_the_wrong_dimension_for_a_registered_objective(shape):
    with pytest.raises(ConfigError, match=r"objective booth has dim 2; x0 has \d coordinates"):
        optimize("booth", "gd", np.zeros(shape), 10)


@pytest.mark.parametrize("x0", [np.zeros((2, 2, 2)), np.float64(1.0), np.zeros((0, 2))])
def test_start_of_the_wrong_rank_or_empty(x0):
    with pytest.raises(ConfigError, match="x0"):
        optimize(bowl, "gd", x0, 10)


# ----------------------------------------------------------------------------------------
# Tables


def test_to_table_has_one_row_per_run_with_status():
    t = gd(STARTS[1], learning_rate=[1e-3, 1e-2, 1e-1])
    rows = t.to_table()
    assert len(rows) == 3
    assert [r["learning_rate"] for r in rows] == [1e-3, 1e-2, 1e-1]
    assert [r["status"] for r in rows] == list(t.status)
    batch = gd(STARTS)
    rows = batch.to_table()
    assert [r["start"] for r in rows] == [0, 1, 2]
    assert all(r["learning_rate"] == 0.1 and r["status"] in STATUSES for r in rows)
    assert [r["final_value"] for r in rows] == list(batch.final_values)
    assert sum(batch.status_counts().values()) == 3
    json.dumps(rows)  # plain Python values, ready for a results file


def test_closed_form_eigenpairs_of_the_curvature_check_match_lapack():
    """The 1x1 and 2x2 closed forms (used instead of an eigendecomposition, which compiles
    slowly) against numpy's LAPACK eigh, on random symmetric and degenerate matrices."""
    from jaxcalc.engine.curvature import lowest_eigenpair as _lowest_eigenpair

    rng = np.random.default_rng(7)
    mats = [rng.normal(size=(2, 2)) for _ in range(200)]
    mats += [np.diag([1.0, 1.0 + 1e-9]), np.eye(2), np.zeros((2, 2)), np.diag([-3.0, 2.0])]
    for a in mats:
        h = 0.5 * (a + a.T)
        low, v, top = (np.asarray(t) for t in _lowest_eigenpair(jnp.asarray(h, jnp.float64)))
        eig = np.linalg.eigvalsh(h)
        np.testing.assert_allclose(low, eig[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(top, np.max(np.abs(eig)), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(np.linalg.norm(v), 1.0, rtol=1e-12)
        np.testing.assert_allclose(h @ v, eig[0] * v, atol=1e-12 * max(1.0, np.abs(eig).max()))
    low, v, top = _lowest_eigenpair(jnp.asarray([[-2.5]]))
    assert (float(low), float(v[0]), float(top)) == (-2.5, 1.0, 2.5)


def test_curvature_check_calls_saddles_saddles_but_not_oscillating_minima():
    """x^2 - y^2 at 0 and a rotated saddle are non-minima (f decreases along the negative
    eigenvector); BBOB f2 at 1e-10 from its optimum (f - f_opt is 0 in float64), where the
    T_osz transform makes the Hessian indefinite (eigenvalue ~ -8e6), stays converged: f
    does not decrease there."""
    from jaxcalc.engine.curvature import curvature_check as _curvature_check
    from jaxcalc.engine.result import CODE as _CODE
    from jaxcalc.objectives import get

    def saddle(x):
        return x[0] ** 2 - x[1] ** 2

    def rotated(x):
        u, w = (x[0] + x[1]) / np.sqrt(2), (x[0] - x[1]) / np.sqrt(2)
        return 3 * u**2 - 0.5 * w**2 + 7.0

    conv = jnp.asarray([_CODE["converged"]])
    for f in (saddle, rotated):
        got = _curvature_check(f, jnp.zeros((1, 2)), conv)
        assert int(got[0]) == _CODE["non_minimum"]
    f2 = get("bbob_f2", dim=2)
    x = jnp.asarray(np.asarray(f2.x_opt) + np.array([1e-10, 1e-10]))[None]
    assert np.min(np.linalg.eigvalsh(np.asarray(jax.hessian(f2)(x[0])))) < -1e3
    assert int(_curvature_check(f2, x, conv)[0]) == _CODE["converged"]


def test_precompile_leaves_the_program_for_optimize_and_compiles_in_a_thread():
    """precompile compiles exactly the program optimize then runs (no second compile),
    also from another thread; its results equal an optimize that compiled for itself."""
    import threading

    from jaxcalc import engine
    from jaxcalc.engine import cache

    x0 = np.random.default_rng(3).uniform(-2, 2, (40, 2)).astype(np.float32)
    worker = threading.Thread(
        target=engine.precompile,
        args=("beale", "rmsprop", x0, 30),
        kwargs={"record_every": 3, "learning_rate": 0.01},
    )
    worker.start()
    worker.join()
    t = optimize("beale", "rmsprop", x0, 30, record_every=3, learning_rate=0.02)
    assert t.compile_seconds == 0.0
    cache.COMPILED.clear()
    fresh = optimize("beale", "rmsprop", x0, 30, record_every=3, learning_rate=0.02)
    assert fresh.compile_seconds > 0
    np.testing.assert_array_equal(t.params, fresh.params)
    np.testing.assert_array_equal(t.status, fresh.status)


def test_curvature_check_is_skipped_when_no_run_can_change_status(monkeypatch):
    """Only converged and flat-start runs can become non_minimum: without any, the
    curvature program is not built; with one at a saddle, it is and labels it."""
    from jaxcalc.engine import cache, curvature

    calls = []
    original = curvature.curvature_program
    monkeypatch.setattr(curvature, "curvature_program", lambda *a: calls.append(1) or original(*a))
    cache.COMPILED.clear()
    far = optimize("x**2 - y**2", "gd", [3.0, 0.5], 3, learning_rate=0.01)
    assert far.status == "max_steps" and not calls
    # gd at learning rate 0.5 lands on the saddle in one step (newton would leave it)
    saddle = optimize("x**2 - y**2", "gd", [3.0, 0.0], 3, learning_rate=0.5)
    assert saddle.status == "non_minimum" and calls


def test_curvature_check_in_blocks_is_one_program_per_objective(monkeypatch):
    """The check runs on blocks of the program's rows, gathered from the checkable runs:
    with blocks of 64, 150 saddles among 300 runs (three blocks, the last one partly
    filled) are each found, the other runs keep their status, and a job of another size on
    the same objective reuses the same check program."""
    from jaxcalc.engine import cache, curvature
    from jaxcalc.engine import run as engine

    calls = []
    original = curvature.curvature_program
    monkeypatch.setattr(curvature, "curvature_program", lambda *a: calls.append(a) or original(*a))
    monkeypatch.setattr(engine, "CHECK_ROWS", 64)
    cache.COMPILED.clear()
    # gd at learning rate 0.5 on x^2 - y^2: (3, 0) lands on the saddle in one step, (3, 1)
    # only moves away from it (y doubles each step)
    starts = np.array([[3.0, 0.0] if i % 2 == 0 else [3.0, 1.0] for i in range(300)])
    saddle = objectives.from_expression("x**2 - y**2")
    t = optimize(saddle, "gd", starts, 3, learning_rate=0.5)
    expected = np.where(np.arange(300) % 2 == 0, "non_minimum", "max_steps")
    np.testing.assert_array_equal(t.status, expected)
    assert len(calls) == 1 and calls[0][1] == (64, 2)
    small = optimize(saddle, "gd", starts[:40], 3, learning_rate=0.5)
    np.testing.assert_array_equal(small.status, expected[:40])
    assert len(calls) == 1


def test_loop_ends_when_every_run_stopped_and_records_repeat_the_frozen_point():
    """The record loop exits once every run has stopped; the rows it skipped hold each
    run's frozen point, and the runs equal the same runs next to a neighbour that keeps
    going to the last step (no early exit there)."""
    quick = np.array([[0.5, -0.3], [1.0, 2.0], [-2.0, 0.1]])
    slow = np.array([[3.0e3, 0.0]])
    kwargs = {"record_every": 2, "learning_rate": 0.2, "gtol": 1e-4}
    alone = optimize("x**2 + 3*y**2", "gd", quick, 400, **kwargs)
    assert set(alone.status) == {"converged"} and alone.event_step.max() < 100
    for i, k in enumerate(alone.event_step):
        after = alone.params[i, (k + 1) // 2 + 1 :]
        np.testing.assert_array_equal(after, np.broadcast_to(alone.final_params[i], after.shape))
    mixed = optimize("x**2 + 3*y**2", "gd", np.vstack([quick, slow]), 400, **kwargs)
    assert mixed.event_step[-1] > alone.event_step.max()
    for field in ("params", "values", "grad_norms", "status", "event_step"):
        np.testing.assert_array_equal(getattr(mixed, field)[:3], getattr(alone, field))


def test_engine_caches_are_safe_to_share_between_threads(monkeypatch):
    """Compiling in one thread while another runs and evicts: no 'dictionary changed
    size' errors, and every result equals the same call made alone."""
    import threading

    from jaxcalc import engine
    from jaxcalc.engine import cache

    monkeypatch.setattr(cache, "COMPILED_KEEP", 2)  # evict all the time
    names = ["booth", "matyas", "beale", "himmelblau", "three_hump_camel", "sphere"]
    x0 = np.random.default_rng(5).uniform(-2, 2, (16, 2))
    errors: list[BaseException] = []

    def compile_all():
        try:
            for name in names:
                engine.precompile(name, "adam", x0, 12, learning_rate=0.01)
        except BaseException as err:  # noqa: BLE001 - reported by the assert below
            errors.append(err)

    worker = threading.Thread(target=compile_all)
    worker.start()
    together = [optimize(n, "adam", x0, 12, learning_rate=0.05).params for n in names]
    worker.join()
    assert not errors
    cache.COMPILED.clear()
    alone = [optimize(n, "adam", x0, 12, learning_rate=0.05).params for n in names]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_array_equal(a, b)


def test_non_numeric_start_is_one_line_config_error():
    with pytest.raises(ConfigError, match="x0 must be numbers"):
        optimize("booth", "adam", [["a", "b"]], 5)
