"""A large job on a one-device CPU runs its chunks at once, one per core.

The threaded path must give every run the numbers it gets in one chunk, bit for bit
(the one-chunk path is checked against optax's loop, scipy and closed forms elsewhere),
must not overwrite a Trajectory someone still holds when it reuses its host buffer, and
must reject a bad ``JAXCALC_CPU_THREADS`` with one line naming it.
"""

import numpy as np
import pytest
from jaxcalc_testing import TRAJECTORY_FIELDS

from jaxcalc import optimize, optimize_many
from jaxcalc.engine import plan
from jaxcalc.errors import ConfigError
from jaxcalc.objectives import Objective

FIELDS = TRAJECTORY_FIELDS


@pytest.fixture
def small_jobs_parallel(monkeypatch):
    """Let small jobs take the threaded path (the threshold is 4e6 run-steps)."""
    monkeypatch.setattr(plan, "PARALLEL_MIN_RUN_STEPS", 0)
    return monkeypatch


def _run(monkeypatch, threads, fn):
    monkeypatch.setenv("JAXCALC_CPU_THREADS", str(threads))
    return fn()


def _assert_same(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("threads", [2, 3])
def test_threaded_chunks_equal_one_chunk_bit_for_bit(small_jobs_parallel, threads):
    # gradient descent on Booth (Hessian eigenvalues 2 and 18): lr 0.001 runs out of steps,
    # 0.1 converges, 0.2 diverges, so statuses and event steps are exercised too
    x0 = np.random.default_rng(1).uniform(-10, 10, (333, 2))
    job = lambda: optimize(  # noqa: E731
        "booth", "sgd", x0, 200, learning_rate=[0.001, 0.1, 0.2], record_every=3
    )
    one = _run(small_jobs_parallel, 1, job)
    many = _run(small_jobs_parallel, threads, job)
    assert one.chunks == 1 and many.chunks == threads
    assert {"max_steps", "converged"} <= set(one.status.ravel())
    assert any(s.startswith("diverged") for s in one.status.ravel())
    _assert_same(one, many)


def test_threaded_stacked_program_equals_one_chunk(small_jobs_parallel):
    x0 = np.random.default_rng(2).uniform(-2, 2, (150, 2))
    entries = [("adam", {"learning_rate": 0.05}), ("sgd", {"learning_rate": [1e-3, 1e-2]})]
    job = lambda: optimize_many("booth", entries, x0, 40)  # noqa: E731
    one = _run(small_jobs_parallel, 1, job)
    many = _run(small_jobs_parallel, 2, job)
    for a, b in zip(one, many, strict=True):
        assert b.chunks == 2
        _assert_same(a, b)


def test_threaded_curvature_check_labels_like_one_chunk(small_jobs_parallel):
    # f = x^2 - y^2: gradient descent started on the x axis converges to the saddle, which
    # the curvature check must label in every chunk
    saddle = Objective("saddle", 2, lambda x: x[0] ** 2 - x[1] ** 2, bounds=[-1, 1])
    x0 = np.zeros((200, 2))
    x0[:, 0] = np.linspace(-1, 1, 200)
    x0[100:, 1] = 0.5  # these escape along y and diverge
    job = lambda: optimize(saddle, "gd", x0, 200, learning_rate=0.1, f_limit=1e6)  # noqa: E731
    one = _run(small_jobs_parallel, 1, job)
    many = _run(small_jobs_parallel, 2, job)
    assert set(one.status[:100]) == {"non_minimum"}
    _assert_same(one, many)


def test_reused_host_buffer_never_overwrites_a_held_trajectory(small_jobs_parallel):
    small_jobs_parallel.setenv("JAXCALC_CPU_THREADS", "2")
    x0 = np.random.default_rng(3).uniform(-5, 5, (256, 2))
    first = optimize("sphere", "adam", x0, 30, learning_rate=0.1)
    snapshot = np.array(first.params, copy=True)
    second = optimize("sphere", "adam", x0[::-1].copy(), 30, learning_rate=0.3)
    np.testing.assert_array_equal(first.params, snapshot)
    assert not np.array_equal(second.params, snapshot)
    del first, second  # now the host buffer is free, and the next call may reuse it
    third = optimize("sphere", "adam", x0, 30, learning_rate=0.1)
    np.testing.assert_array_equal(third.params, snapshot)


def test_small_jobs_stay_in_one_chunk(monkeypatch):
    monkeypatch.setenv("JAXCALC_CPU_THREADS", "2")
    t = optimize("sphere", "adam", np.ones((500, 2)), 100)  # 5e4 run-steps
    assert t.chunks == 1


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_bad_thread_count_is_one_clear_error(small_jobs_parallel, value):
    small_jobs_parallel.setenv("JAXCALC_CPU_THREADS", value)
    with pytest.raises(ConfigError, match="JAXCALC_CPU_THREADS") as info:
        optimize("sphere", "adam", np.ones((256, 2)), 10)
    assert "\n" not in str(info.value)


def test_cpu_threads_argument_overrides_the_environment(small_jobs_parallel):
    x0 = np.random.default_rng(4).uniform(-5, 5, (256, 2))
    small_jobs_parallel.setenv("JAXCALC_CPU_THREADS", "1")
    assert optimize("sphere", "adam", x0, 20, cpu_threads=2).chunks == 2
    small_jobs_parallel.setenv("JAXCALC_CPU_THREADS", "2")
    assert optimize("sphere", "adam", x0, 20, cpu_threads=1).chunks == 1
    assert optimize("sphere", "adam", x0, 20).chunks == 2


@pytest.mark.parametrize("value", [0, -2, 1.5, True, "2"])
def test_bad_cpu_threads_argument_is_one_clear_error(value):
    with pytest.raises(ConfigError, match="cpu_threads must be a whole number") as info:
        optimize("sphere", "adam", np.ones((4, 2)), 10, cpu_threads=value)
    assert "\n" not in str(info.value)
