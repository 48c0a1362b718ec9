"""The same seed gives the same bits, however the work is split.

Every number of a run must be a function of its inputs (objective, optimizer,
hyperparameters, start, seed, steps, dtype) only: not of the number of runs in the
program, the run's place among them, the chunk size, the memory budget, the number of
threads or of devices. Each case
below runs one optimizer family from 4,000 starts (enough for XLA to choose its
large-array code paths) and compares, bit for bit, every field of the trajectories with
the same starts run another way. The reference is the same computation, so what is
tested is independence, not correctness (which the other test files check against
scipy, optax and closed forms).

All runs happen in subprocesses (one per dtype and device count) so that forced host
devices and float64 can be set before JAX starts; one process checks every case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # about a minute of CPU per dtype, in subprocesses

HERE = Path(__file__).resolve()
BIG = 4_000  # runs in the large program
STEPS = 6
HEAD = 40  # the first starts, run alone
POSITION = 1_237  # a start run alone and at this place in the large batch
# family: (objective, optimizer or optimizers, hyperparameters, stochastic)
CASES = {
    "optax_adam": ("rosenbrock", "adam", {"learning_rate": 0.01}, False),
    "gd": ("rosenbrock", "gd", {"learning_rate": 1e-3}, False),
    "gd_armijo": ("rosenbrock", "gd_armijo", {}, False),
    "newton": ("rosenbrock", "newton", {}, False),
    "bfgs": ("rosenbrock", "bfgs", {}, False),
    "lbfgs": ("rosenbrock", "lbfgs", {}, False),
    "gauss_newton": ("misra1a", "gauss_newton", {}, False),
    "levenberg_marquardt": ("misra1a", "levenberg_marquardt", {}, False),
    "pso": ("rastrigin", "pso", {}, True),
    "cma_es": ("rastrigin", "cma_es", {}, True),
    "augmented_lagrangian": ("rosenbrock_disk", "augmented_lagrangian", {}, False),
    "projected_gd": ("quadratic_on_simplex", "projected_gd", {"learning_rate": 0.1}, False),
    "stacked": ("rosenbrock", ("adam", "sgd"), {"learning_rate": 0.01}, False),
}


# ---------------------------------------------------------------------------- the worker


def _starts(objective, n: int, dtype: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    given = getattr(objective, "starts", None)
    if objective.name == "misra1a":  # near the certified starts: a scaled problem
        base = np.asarray(given, np.float64)[:1]
        x = base * (1 + 0.2 * rng.uniform(-1, 1, (n, objective.dim)))
    else:
        x = rng.uniform(-2, 2, (n, objective.dim))
    return x.astype(dtype)


def _fields(traj) -> dict[str, np.ndarray]:
    from jaxcalc_testing import TRAJECTORY_FIELDS

    return {name: np.asarray(getattr(traj, name)) for name in TRAJECTORY_FIELDS}


def _run(name: str, x: np.ndarray, chunks=None, **options) -> list[dict]:
    """The fields of each trajectory of case ``name`` from starts ``x``; ``chunks``, when
    given, maps the job's runs to the number of chunks it must have been cut into."""
    from jaxcalc import objectives, optimize_many

    objective, methods, hyper, _ = CASES[name]
    methods = (methods,) if isinstance(methods, str) else methods
    obj = objectives.get(objective)
    entries = [(m, dict(hyper)) for m in methods]
    trajectories = optimize_many(obj, entries, x, STEPS, **options)
    if chunks is not None:  # the stacked case has twice the runs
        expected = chunks(len(methods) * len(x))
        assert trajectories[0].chunks == expected, (name, options, trajectories[0].chunks)
    return [_fields(t) for t in trajectories]


def worker(dtype: str, out: str, variants: str, cases: str = "") -> None:
    """Run every case (or those ``cases`` names) in the ways ``variants`` names; write the
    fields to ``out``."""
    import jax

    jax.config.update("jax_enable_x64", dtype == "float64")
    from jaxcalc import objectives
    from jaxcalc.engine import plan
    from jaxcalc.optimizers import get_optimizer

    plan.PARALLEL_MIN_RUN_STEPS = 0  # let this small job take the threaded path
    saved: dict[str, np.ndarray] = {}

    def keep(case: str, variant: str, trajectories) -> None:
        for i, fields in enumerate(trajectories):
            for field, value in fields.items():
                saved[f"{case}|{variant}|{i}|{field}"] = value

    for case, (objective, *_rest) in CASES.items():
        if cases and case not in cases.split(","):
            continue
        stochastic = CASES[case][3]
        x = _starts(objectives.get(objective), BIG, dtype)
        for variant in variants.split(","):
            if variant == "big":  # one chunk, one thread
                keep(case, variant, _run(case, x, lambda runs: 1, cpu_threads=1))
            elif variant == "threads":  # two chunks at once, through the environment
                os.environ["JAXCALC_CPU_THREADS"] = "2"
                try:
                    keep(case, variant, _run(case, x, lambda runs: 2))
                finally:
                    del os.environ["JAXCALC_CPU_THREADS"]
            elif variant == "head":
                keep(case, variant, _run(case, x[:HEAD]))
            elif variant == "one":
                keep(case, variant, _run(case, x[:1]))
            elif variant == "chunks":  # chunks of 5 runs
                keep(case, variant, _run(case, x[:HEAD], lambda runs: -(-runs // 5), chunk_size=5))
            elif variant == "budget":  # a memory budget that holds 7 runs: 32-run chunks
                methods = CASES[case][1]
                methods = (methods,) if isinstance(methods, str) else methods
                state = sum(get_optimizer(m).state_size(x.shape[1]) + 1 for m in methods)
                per_run = plan.estimate_bytes(1, STEPS, 1, x.shape[1], x.itemsize, state)
                keep(
                    case,
                    variant,
                    _run(case, x[:HEAD], lambda runs: -(-runs // 32), memory_budget=7 * per_run),
                )
            elif variant == "position" and not stochastic:
                # a start's random stream is its index's: only deterministic methods
                # give the same run from another index
                keep(case, variant, _run(case, x[POSITION : POSITION + 1]))
    np.savez(out, **saved)


# ----------------------------------------------------------------------------- the tests


def _spawn(
    tmp: Path, dtype: str, variants: str, devices: int = 1, cases: str = ""
) -> dict[str, np.ndarray]:
    out = tmp / f"{dtype}-{devices}-{variants.replace(',', '_')}.npz"
    env = dict(os.environ)
    env.pop("JAXCALC_CPU_THREADS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]), str(HERE.parent)])
    flags = env.get("XLA_FLAGS", "")
    if devices > 1:
        flags += f" --xla_force_host_platform_device_count={devices}"
    env["XLA_FLAGS"] = flags.strip()
    subprocess.run(
        [sys.executable, str(HERE), dtype, str(out), variants, cases],
        env=env,
        check=True,
        timeout=900,
    )
    with np.load(out) as data:
        return dict(data)


def _select(saved: dict[str, np.ndarray], variant: str) -> dict[tuple, np.ndarray]:
    return {
        (case, i, field): value
        for key, value in saved.items()
        for case, var, i, field in [key.split("|")]
        if var == variant
    }


def _differences(reference, other, lanes=slice(None), lanes_other=slice(None)) -> list[str]:
    """The (case, trajectory, field) whose bits differ, with how many runs differ."""
    bad = []
    assert other, "nothing to compare"
    for key, value in other.items():
        ref = reference[key][lanes]
        got = value[lanes_other]
        if ref.dtype.kind == "f":
            ref, got = ref.view(f"u{ref.itemsize}"), got.view(f"u{got.itemsize}")
        if ref.shape != got.shape:
            bad.append(f"{key}: shape {got.shape} != {ref.shape}")
            continue
        differ = (ref != got).reshape(ref.shape[0], -1).any(axis=1)
        if differ.any():
            bad.append(f"{key}: {int(differ.sum())} of {len(differ)} runs differ")
    return bad


@pytest.fixture(scope="module", params=["float32", "float64"])
def one_device(request, tmp_path_factory):
    variants = "big,threads,head,one,chunks,budget,position"
    return request.param, _spawn(tmp_path_factory.mktemp("repro"), request.param, variants)


def test_runs_alone_equal_the_same_runs_among_4000(one_device):
    _, saved = one_device
    big = _select(saved, "big")
    assert _differences(big, _select(saved, "head"), slice(0, HEAD)) == []
    assert _differences(big, _select(saved, "one"), slice(0, 1)) == []


def test_a_run_equals_itself_at_another_place_in_the_batch(one_device):
    _, saved = one_device
    place = slice(POSITION, POSITION + 1)
    assert _differences(_select(saved, "big"), _select(saved, "position"), place) == []


def test_chunk_size_and_memory_budget_change_no_bit(one_device):
    _, saved = one_device
    big = _select(saved, "big")
    assert _differences(big, _select(saved, "chunks"), slice(0, HEAD)) == []
    assert _differences(big, _select(saved, "budget"), slice(0, HEAD)) == []


def test_thread_count_changes_no_bit(one_device):
    _, saved = one_device
    assert _differences(_select(saved, "big"), _select(saved, "threads")) == []


def test_the_emitters_do_not_depend_on_the_number_of_runs(monkeypatch):
    # XLA's two CPU emitters round newton's and cma_es's runs differently: which one
    # compiles a job may depend on its steps, never on how many runs it has
    from jaxcalc import optimize
    from jaxcalc.engine import cache

    quick = []
    compile_program = cache.compile_program
    monkeypatch.setattr(
        cache, "compile_program", lambda lowered, q: quick.append(q) or compile_program(lowered, q)
    )
    for runs in (1, 5_000):
        optimize("sphere", "gd", np.ones((runs, 2)), 3, check_curvature=False)
        cache.COMPILED.clear()
    assert quick == [True, True]
    # runs long in numbers times steps get the newer emitters, alone or among others
    for runs in (1, 64):
        optimize(lambda x: (x**2).sum(), "gd", np.ones((runs, 2**16)), 5, check_curvature=False)
        cache.COMPILED.clear()
    assert quick == [True, True, False, False]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_four_devices_give_the_bits_of_one(dtype, one_device, tmp_path):
    if one_device[0] != dtype:
        pytest.skip("compared in the other dtype's fixture")
    four = _spawn(tmp_path, dtype, "big", devices=4)
    assert _differences(_select(one_device[1], "big"), _select(four, "big")) == []


# ------------------------------------------------ programs that call LAPACK, at once


def finisher(runs: str) -> None:
    """Run gauss_newton and levenberg_marquardt (LAPACK's SVD and QR in every step) from
    ``runs`` starts, two chunks at once on one device or sharded on several."""
    from jaxcalc import objectives, optimize
    from jaxcalc.engine import plan

    plan.PARALLEL_MIN_RUN_STEPS = 0
    x = _starts(objectives.get("misra1a"), int(runs), "float32")
    for method in ("gauss_newton", "levenberg_marquardt"):
        t = optimize("misra1a", method, x, 4, check_curvature=False, cpu_threads=2)
        print(method, t.devices, t.chunks, flush=True)


@pytest.mark.parametrize("devices", [1, 4])
def test_programs_that_call_lapack_finish_on_two_threads_and_four_devices(devices):
    # 2048 runs: jaxlib 0.10.2 split each LAPACK call over XLA's thread pool and the
    # process hung (two chunks at once) or aborted after 40 s (four devices); now each
    # call runs on its own thread. A hang fails here after the timeout, not CI's.
    env = dict(os.environ)
    env.pop("JAXCALC_CPU_THREADS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parents[1]), str(HERE.parent)])
    if devices > 1:
        flags = env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={devices}"
        env["XLA_FLAGS"] = flags.strip()
    done = subprocess.run(
        [sys.executable, str(HERE), "finish", "2048"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    chunks = 2 if devices == 1 else 1
    for method in ("gauss_newton", "levenberg_marquardt"):
        assert f"{method} {devices} {chunks}" in done.stdout, done.stdout


if __name__ == "__main__":
    if sys.argv[1] == "finish":
        finisher(sys.argv[2])
    else:
        worker(*sys.argv[1:])
