"""What bit-reproducible programs cost: run-step throughput with and without the XLA:CPU
options the engine sets so that a run's bits do not depend on its batch
(``jaxcalc.engine.cache.DETERMINISTIC_CPU_OPTIONS``: no YNNPACK reductions, one codegen
partition per loop), each alone and both.

One optimizer of each family (optax Adam, BFGS, optax L-BFGS, Levenberg-Marquardt, CMA-ES)
on a job of each size the engine compiles differently (below and above 4e6 run-steps, where
``optimize`` switches to XLA's newer CPU emitters), in one process: each program is
compiled once per variant (compile time reported apart), then timed ``REPEATS`` times,
the variants alternating; the table gives medians and the ratio.

Usage:
    python benchmarks/reproducibility.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here

import numpy as np  # noqa: E402

import jaxcalc  # noqa: E402
from jaxcalc.engine import cache  # noqa: E402

REPEATS = 5
# (label, objective, optimizer, hyperparameters, starts, steps, record_every, threads)
JOBS = [
    ("adam 1e4x100", "rosenbrock", "adam", {"learning_rate": 0.01}, 10_000, 100, 1, 1),
    ("adam 1e4x1000", "rosenbrock", "adam", {"learning_rate": 0.01}, 10_000, 1000, 10, 1),
    (
        "adam 1e4x1000, 2 threads",
        "rosenbrock",
        "adam",
        {"learning_rate": 0.01},
        10_000,
        1000,
        10,
        2,
    ),
    ("bfgs 4000x100", "rosenbrock", "bfgs", {}, 4_000, 100, 10, 1),
    ("lbfgs 4000x50", "rosenbrock", "lbfgs", {}, 4_000, 50, 10, 1),
    ("levenberg_marquardt 4000x50", "misra1a", "levenberg_marquardt", {}, 4_000, 50, 10, 1),
    ("cma_es 1000x50", "rastrigin", "cma_es", {}, 1_000, 50, 10, 1),
]
_YNN = "xla_cpu_experimental_ynn_fusion_type"
_SPLIT = "xla_cpu_parallel_codegen_split_count"
VARIANTS = {
    "XLA defaults": {},
    "no YNNPACK": {_YNN: cache.DETERMINISTIC_CPU_OPTIONS[_YNN]},
    "one partition": {_SPLIT: cache.DETERMINISTIC_CPU_OPTIONS[_SPLIT]},
    "reproducible": dict(cache.DETERMINISTIC_CPU_OPTIONS),
}


def starts(name: str, count: int) -> np.ndarray:
    obj = jaxcalc.objectives.get(name)
    rng = np.random.default_rng(0)
    if name == "misra1a":
        base = np.asarray(obj.starts, np.float32)[:1]
        return (base * (1 + 0.2 * rng.uniform(-1, 1, (count, obj.dim)))).astype(np.float32)
    return rng.uniform(-2, 2, (count, obj.dim)).astype(np.float32)


def measure(job, repeats: int) -> dict[str, tuple[float, list[float]]]:
    """Per variant: compile seconds and the run seconds of every repeat."""
    _, objective, method, hyper, count, steps, every, threads = job
    x0 = starts(objective, count)

    def call():
        return jaxcalc.optimize(
            objective, method, x0, steps, record_every=every, cpu_threads=threads, **hyper
        )

    compiled, compile_seconds, runs = {}, {}, {name: [] for name in VARIANTS}
    for name, options in VARIANTS.items():
        cache.DETERMINISTIC_CPU_OPTIONS = options
        cache.COMPILED.clear()
        t = call()
        compile_seconds[name] = t.compile_seconds
        compiled[name] = dict(cache.COMPILED)
    for _ in range(repeats):
        for name in VARIANTS:  # alternate, so that a busy moment hits both
            cache.COMPILED.clear()
            cache.COMPILED.update(compiled[name])
            runs[name].append(call().run_seconds)
    return {name: (compile_seconds[name], runs[name]) for name in VARIANTS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two jobs, two repeats")
    args = parser.parse_args(argv)
    jobs, repeats = (JOBS[:1] + JOBS[3:4], 2) if args.quick else (JOBS, REPEATS)
    print("jaxcalc reproducibility cost")
    print(f"date      {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"machine   {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"versions  jax {jax.__version__}, jaxcalc {jaxcalc.__version__}")
    print(f"backend   {jax.default_backend()}, float32, cpu_threads=1 unless said\n")
    head = f"{'job':30s} {'variant':14s} {'compile s':>9s} {'run s (median)':>15s} "
    print(head + f"{'Mrun-steps/s':>13s} {'ratio':>6s}")
    for job in jobs:
        result = measure(job, repeats)
        run_steps = job[4] * job[5]
        base = statistics.median(result["XLA defaults"][1])
        for name, (compile_seconds, runs) in result.items():
            median = statistics.median(runs)
            print(
                f"{job[0]:30s} {name:14s} {compile_seconds:9.2f} {median:15.4f} "
                f"{run_steps / median / 1e6:13.2f} {median / base:6.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
