"""Several optimizers in one compiled program: ``optimize_many`` and the Stacked optimizer.

Oracles: each optimizer's own ``optimize`` call (its own program, itself tested against
optax's update loop in test_optimizers.py); and optax's own loop, stepped here in Python,
for a stacked run directly.

A stacked program is fused differently by XLA, so a run's last bits may differ from its
own program's (fused multiply-adds; measured: <= 1 ulp per step in float32, 4e-16 relative
in float64 over these runs). The comparisons use tolerances at that level over a short
horizon (a constant-step method oscillating at a minimum amplifies any rounding), and the
statuses, event steps and counts must agree exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jaxcalc_testing import TRAJECTORY_FIELDS, forced_devices_env

from jaxcalc import engine
from jaxcalc.engine import optimize, optimize_many
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import get_optimizer
from jaxcalc.optimizers.stacked import stack

FIELDS = TRAJECTORY_FIELDS


def quartic(x):
    """Rosenbrock's valley with a steep wall: some settings below diverge, most do not."""
    return (1 - x[0]) ** 2 + 10 * (x[1] - x[0] ** 2) ** 2 + 0.1 * x[1] ** 4


STARTS = np.array([[-1.5, 2.0], [0.5, -0.5], [2.0, 2.0], [-0.3, 0.8], [1.2, 1.3]])

# sweeps, options, a None hyperparameter set (sgd's momentum) and one that diverges (lr 3)
SETTINGS = [
    ("sgd", {"learning_rate": [1e-3, 3.0]}),
    ("sgd", {"learning_rate": 1e-3, "momentum": 0.9, "nesterov": True}),
    ("adam", {"learning_rate": [0.01, 0.1], "b1": [0.8, 0.9]}),
    ("rmsprop", {"learning_rate": 0.01}),
    ("yogi", {}),
]


def assert_same(a, b, rtol: float = 0.0, atol: float = 0.0):
    """Same optimizer, sweep and counts; trajectories equal (to the bit when rtol = 0)."""
    assert a.optimizer == b.optimizer and a.sweep == b.sweep
    assert a.hyperparameters.keys() == b.hyperparameters.keys()
    for k in a.hyperparameters:
        if a.hyperparameters[k] is None:
            assert b.hyperparameters[k] is None
        else:
            np.testing.assert_array_equal(a.hyperparameters[k], b.hyperparameters[k])
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if name in ("params", "values", "grad_norms") and rtol:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("x64", [False, True])
def test_each_stacked_optimizer_equals_its_own_program(x64):
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", x64)
    rtol, atol = (1e-12, 1e-14) if x64 else (2e-5, 1e-6)
    try:
        starts = STARTS.astype(np.float64 if x64 else np.float32)
        stacked = optimize_many(quartic, SETTINGS, starts, 20, record_every=4)
        assert len(stacked) == len(SETTINGS)
        statuses = set()
        for (name, hyper), t in zip(SETTINGS, stacked, strict=True):
            alone = optimize(quartic, name, starts, 20, record_every=4, **hyper)
            assert_same(t, alone, rtol, atol)
            assert t.extras["program"] == "sgd+sgd+adam+rmsprop+yogi"
            statuses.update(np.ravel(t.status).tolist())
        assert "max_steps" in statuses and len(statuses) > 1  # sgd at lr 3 diverges
        assert stacked[0].values.shape == (2, len(STARTS), 6)  # lr sweep x starts x records
        assert stacked[2].values.shape == (2, 2, len(STARTS), 6)
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_a_stacked_run_follows_optax_own_loop():
    """Independent of the engine: Adam's updates stepped by optax in Python (float64)."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        t = optimize_many(quartic, SETTINGS, STARTS, 25)[2]  # adam, lr x b1 sweep
        tx = optax.adam(learning_rate=0.1, b1=0.8)
        x = jnp.asarray(STARTS[3])
        state = tx.init(x)
        path = [x]
        for _ in range(25):
            updates, state = tx.update(jax.grad(quartic)(x), state, x)
            x = optax.apply_updates(x, updates)
            path.append(x)
        np.testing.assert_allclose(t.params[1, 0, 3], np.stack(path), rtol=1e-10, atol=1e-12)
    finally:
        jax.config.update("jax_enable_x64", previous)


def test_a_diverging_method_does_not_change_its_neighbours():
    """sgd at learning rate 3 diverges; the adam runs beside it are those of a stack
    without it, to the bit."""
    starts = STARTS.astype(np.float32)
    with_bad = optimize_many(
        quartic, [("sgd", {"learning_rate": 3.0}), ("adam", {"learning_rate": 0.1})], starts, 40
    )
    assert (with_bad[0].status == "diverged_nonfinite").any()
    without = optimize_many(
        quartic, [("sgd", {"learning_rate": 1e-4}), ("adam", {"learning_rate": 0.1})], starts, 40
    )
    assert_same(with_bad[1], without[1])


def test_same_names_with_other_options_do_not_share_a_compiled_program():
    starts = STARTS.astype(np.float32)
    plain = optimize_many(quartic, [("sgd", {"momentum": 0.9}), ("adam", {})], starts, 20)
    nesterov = optimize_many(
        quartic, [("sgd", {"momentum": 0.9, "nesterov": True}), ("adam", {})], starts, 20
    )
    assert not np.array_equal(plain[0].params, nesterov[0].params)
    alone = optimize(quartic, "sgd", starts, 20, momentum=0.9, nesterov=True)
    assert_same(nesterov[0], alone, 2e-5, 1e-6)


def test_changing_values_does_not_recompile():
    starts = STARTS.astype(np.float32)
    first = optimize_many(quartic, [("sgd", {"learning_rate": 0.01}), ("adam", {})], starts, 30)
    again = optimize_many(
        quartic, [("sgd", {"learning_rate": 0.02}), ("adam", {"b1": 0.5})], starts + 0.25, 30
    )
    assert sum(t.compile_seconds for t in first) > 0
    assert all(t.compile_seconds == 0.0 for t in again)


def test_the_shared_seconds_are_shared_out_by_runs():
    starts = STARTS.astype(np.float32)
    ts = optimize_many(
        quartic, [("sgd", {"learning_rate": [0.01, 0.02, 0.03]}), ("adam", {})], starts, 33
    )
    assert ts[0].run_seconds == pytest.approx(3 * ts[1].run_seconds)


@pytest.mark.parametrize("name", ["lbfgs", "bfgs", "newton", "gd_armijo", "pso"])
def test_methods_that_cannot_share_a_program_are_refused(name):
    with pytest.raises(ConfigError, match=f"{name} cannot share a program"):
        optimize_many(quartic, [("adam", {}), (name, {})], STARTS, 5)
    assert not get_optimizer(name).stackable


def test_every_optax_optimizer_but_lbfgs_is_stackable():
    from jaxcalc.optimizers import OPTAX_NAMES

    assert [n for n in OPTAX_NAMES if not get_optimizer(n).stackable] == ["lbfgs"]
    assert stack([get_optimizer("sgd"), get_optimizer("adam")]).state_size(3) == 12


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="no optimizers given"):
        optimize_many(quartic, [], STARTS, 5)
    with pytest.raises(ConfigError, match="adam has no hyperparameter 'learning_rat'"):
        optimize_many(quartic, [("sgd", {}), ("adam", {"learning_rat": 0.1})], STARTS, 5)


def test_precompile_many_leaves_the_program_for_optimize_many():
    starts = STARTS.astype(np.float32)
    settings = [("adamw", {}), ("nadam", {"learning_rate": [0.1, 0.2]})]
    engine.precompile_many(quartic, settings, starts, 17)
    ts = optimize_many(quartic, settings, starts, 17)
    assert all(t.compile_seconds == 0.0 for t in ts)


_SHARD_SCRIPT = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from test_stacked import SETTINGS, STARTS, quartic
from jaxcalc.engine import optimize_many

ts = optimize_many(quartic, SETTINGS, STARTS, 30, record_every=3)
np.savez(sys.argv[1], devices=ts[0].devices,
         **{f"{i}:{k}": v for i, t in enumerate(ts) for k, v in t.to_numpy().items()})
"""


def test_a_stacked_program_sharded_on_four_devices_equals_one_device(tmp_path):
    """The slot and swept hyperparameters are per-run inputs, sharded with the runs.
    (One method's program sharded is equal to the bit: tests/test_trajectory.py.)"""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(_SHARD_SCRIPT)
    env = forced_devices_env(4)
    out = tmp_path / "sharded.npz"
    here = str(Path(__file__).resolve().parent)
    proc = subprocess.run(
        [sys.executable, str(script), str(out), here], env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    sharded = dict(np.load(out))
    assert int(sharded["devices"]) == 4

    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    try:
        ts = optimize_many(quartic, SETTINGS, STARTS, 30, record_every=3)
    finally:
        jax.config.update("jax_enable_x64", previous)
    # XLA partitions the stacked program for four devices and fuses it differently again:
    # equal to rounding (measured 4.8e-16 relative), statuses and counts exact
    for i, t in enumerate(ts):
        for name, value in t.to_numpy().items():
            got = sharded[f"{i}:{name}"]
            if np.issubdtype(value.dtype, np.floating):
                np.testing.assert_allclose(
                    got, value, rtol=1e-12, atol=1e-14, err_msg=f"{i}:{name}"
                )
            else:
                np.testing.assert_array_equal(got, value, err_msg=f"{i}:{name}")
