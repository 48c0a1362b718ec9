"""Programs that call LAPACK on two cores: their chunks one at a time against two at once.

Gauss-Newton and Levenberg-Marquardt (an SVD, and a QR with a triangular solve, in every
step) on NIST's Misra1a from 8,000 starts near the certified ones, 100 steps (``optimize``
cuts only jobs of 4e6 run-steps into one chunk per core; this script lowers that bar to
keep the timings short). Three ways, in one
process, each program compiled once before the timings (compile seconds reported apart),
then run ``REPEATS`` times, the ways alternating:

* ``one chunk, plain LAPACK``: one chunk, LAPACK called on the whole batch (as before
  ``jaxcalc.lapack``; jaxlib then splits each call over XLA's thread pool itself);
* ``one chunk``: one chunk, LAPACK in blocks (``jaxcalc.lapack.blocked``); this is also
  what a job of two chunks cost when they ran one at a time;
* ``two chunks at once``: two chunks on two threads (what the engine does now).

The table gives the median wall seconds of a run, the median CPU seconds of the process
during it, and throughput relative to ``one chunk``. On a busy machine only the CPU
seconds mean much.

Usage:
    python benchmarks/lapack_chunks.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
from importlib import metadata

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here

import numpy as np  # noqa: E402

import jaxcalc  # noqa: E402
from jaxcalc import objectives  # noqa: E402
from jaxcalc.engine import cache, plan  # noqa: E402
from jaxcalc.optimizers import least_squares  # noqa: E402

REPEATS = 5
METHODS = ("gauss_newton", "levenberg_marquardt")
WAYS = ("one chunk, plain LAPACK", "one chunk", "two chunks at once")
PROGRAMS: dict[str, dict] = {}  # compiled programs, per way


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(method: str, x: np.ndarray, steps: int, way: str):
    """One call of ``optimize`` the given way; (trajectory, process CPU seconds)."""
    blocked, compiled = least_squares.blocked, cache.COMPILED
    cache.COMPILED = PROGRAMS.setdefault(way, {})  # the engine's key does not see the patch
    if way == "one chunk, plain LAPACK":
        least_squares.blocked = lambda fn, rows, cols: fn
    try:
        before = cpu_seconds()
        t = jaxcalc.optimize(
            "misra1a",
            method,
            x,
            steps,
            record_every=10,
            check_curvature=False,
            cpu_threads=2 if way == "two chunks at once" else 1,
        )
        return t, cpu_seconds() - before
    finally:
        least_squares.blocked, cache.COMPILED = blocked, compiled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else REPEATS
    runs, steps = 8_000, 100
    plan.PARALLEL_MIN_RUN_STEPS = 0
    objective = objectives.get("misra1a")
    base = np.asarray(objective.starts, np.float32)[:1]
    rng = np.random.default_rng(0)
    x = (base * (1 + 0.2 * rng.uniform(-1, 1, (runs, 2)))).astype(np.float32)
    print(
        f"# {datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f}, "
        f"jax {jax.__version__}, jaxlib {metadata.version('jaxlib')}, float32, "
        f"{runs} runs x {steps} steps"
    )
    print("| method | way | chunks | compile s | run s (median) | CPU s (median) | throughput |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for method in METHODS:
        compile_seconds, chunks = {}, {}
        for way in WAYS:  # compile (and run once) before timing
            t, _ = run(method, x, steps, way)
            compile_seconds[way], chunks[way] = t.compile_seconds, t.chunks
        wall = {way: [] for way in WAYS}
        cpu = {way: [] for way in WAYS}
        for _ in range(repeats):
            for way in WAYS:
                t, seconds = run(method, x, steps, way)
                wall[way].append(t.run_seconds)
                cpu[way].append(seconds)
        reference = statistics.median(wall["one chunk"])
        for way in WAYS:
            median = statistics.median(wall[way])
            print(
                f"| {method} | {way} | {chunks[way]} | {compile_seconds[way]:.1f} | "
                f"{median:.2f} | {statistics.median(cpu[way]):.2f} | "
                f"{reference / median:.2f}x |"
            )


if __name__ == "__main__":
    main()
