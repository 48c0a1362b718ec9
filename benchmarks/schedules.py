"""What a learning-rate schedule costs in the engine, against a constant rate and a
hand-written ``jit(vmap(scan))`` of ``optax.adam(schedule)``.

Peers, in one process, on the same runs (Rosenbrock 2-D, float32, adam, 1000 steps,
record_every 10): jaxcalc with a constant rate; jaxcalc with an optax schedule (a callable,
compiled in); jaxcalc with a ``jc.schedule`` whose ``init_value`` is swept (traced data);
the hand-written loop with the callable schedule (no records, no status tests). Compile
and run seconds apart; the run time is the median of 5 runs after the compile.

Usage:
    python benchmarks/schedules.py [--runs 4096]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxcalc as jc

STEPS, RECORD_EVERY, REPEATS = 1000, 10, 5


def rosenbrock(x):
    return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


def timed_engine(starts, **hyper):
    first = jc.optimize(rosenbrock, "adam", starts, STEPS, record_every=RECORD_EVERY, **hyper)
    runs = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        jc.optimize(rosenbrock, "adam", starts, STEPS, record_every=RECORD_EVERY, **hyper)
        runs.append(time.perf_counter() - t0)
    return first.compile_seconds, statistics.median(runs)


def timed_hand(starts, schedule):
    tx = optax.adam(schedule)

    def run(x0):
        def body(carry, _):
            x, state = carry
            g = jax.grad(rosenbrock)(x)
            updates, state = tx.update(g, state, x)
            return (optax.apply_updates(x, updates), state), None

        (x, _), _ = jax.lax.scan(body, (x0, tx.init(x0)), None, length=STEPS)
        return x

    program = jax.jit(jax.vmap(run))
    t0 = time.perf_counter()
    compiled = program.lower(starts).compile()
    compile_seconds = time.perf_counter() - t0
    runs = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(starts))
        runs.append(time.perf_counter() - t0)
    return compile_seconds, statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4096)
    n = parser.parse_args().runs
    print("jaxcalc schedule benchmark")
    print(f"machine   {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}")
    print(f"versions  jax {jax.__version__}, optax {optax.__version__}")
    print(f"load avg  {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"job       {n} runs x {STEPS} steps, adam on Rosenbrock 2-D, float32\n")
    starts = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, size=(n, 2)), jnp.float32)
    cosine = optax.cosine_decay_schedule(0.01, STEPS)
    rows = {
        "jaxcalc, constant rate": timed_engine(starts, learning_rate=0.01),
        "jaxcalc, optax schedule (callable)": timed_engine(starts, learning_rate=cosine),
        "jaxcalc, jc.schedule, 1 value": timed_engine(
            starts, learning_rate=jc.schedule("cosine_decay", init_value=0.01, decay_steps=STEPS)
        ),
        "hand jit(vmap(scan)), callable": timed_hand(starts, cosine),
    }
    base = rows["jaxcalc, constant rate"][1]
    print(f"{'peer':38s} {'compile s':>10s} {'run s':>8s} {'run / constant':>15s}")
    for name, (compile_s, run_s) in rows.items():
        print(f"{name:38s} {compile_s:10.2f} {run_s:8.3f} {run_s / base:15.2f}")


if __name__ == "__main__":
    main()
