"""What the engine's compiled program costs, piece by piece (the numbers behind
docs/benchmarks.md section 3's "what limits the rest").

1. Compile and run time of one Adam program (2-D Rosenbrock, float32, every step recorded)
   with XLA's default CPU emitters and with the older ones that ``optimize`` picks for jobs
   of at most 4e6 run-steps (``jaxcalc.engine.cache.compile_program(..., quick=True)``).
2. XLA kernels (fusions) in the loop body of that program.
3. What one kernel costs: a loop of 1000 steps over a (2, 10^4) array whose body has 1, 2 or
   6 outputs (every output array is a kernel of its own on XLA:CPU).
4. A hand-written runs-last Adam with the engine's record layout, with and without records,
   a per-run flag and frozen runs: what the generic engine is measured against.
5. That loop cut into chunks run at once from a thread pool (as ``optimize`` does on a
   multi-core CPU), each chunk keeping its own records: the floor with every core.

Usage:
    python benchmarks/engine_internals.py
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxcalc.engine.cache import compile_program  # noqa: E402
from jaxcalc.engine.options import Limits  # noqa: E402
from jaxcalc.engine.program import Program  # noqa: E402
from jaxcalc.objectives import Objective  # noqa: E402
from jaxcalc.optimizers import get_optimizer  # noqa: E402

REPEATS = 5


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def median_seconds(fn) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def adam_program(runs: int, steps: int, quick: bool, tag: str):
    """Lower and compile the engine's Adam program; (lower s, compile s, run s, HLO text)."""
    objective = Objective(f"rosenbrock-{tag}", 2, rosenbrock, bounds=[-2.0, 2.0])
    limits = Limits(gtol=0.0, f_limit=1e20, x_limit=1e10, patience=5)
    program = Program(objective, get_optimizer("adam"), limits, steps, 1)
    x0 = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, (runs, 2)), jnp.float32)
    hyper = {k: jnp.float32(v) for k, v in get_optimizer("adam").defaults.items() if v is not None}
    hyper["learning_rate"] = jnp.float32(1e-3)
    state = {"buffer": program.record_buffer(runs, 2, jnp.float32)}
    t0 = time.perf_counter()
    # the record buffer is donated and reused, as optimize does (fresh 160 MB outputs
    # would be bound by page faults)
    lowered = jax.jit(program, donate_argnums=2).lower(x0, hyper, state["buffer"])
    t1 = time.perf_counter()
    compiled = compile_program(lowered, quick)
    t2 = time.perf_counter()

    def run_once():
        out = compiled(x0, hyper, state["buffer"])
        state["buffer"] = out["records"]
        return out

    run = median_seconds(run_once)
    return t1 - t0, t2 - t1, run, compiled.as_text()


def loop_body_kernels(hlo: str) -> int:
    """Fusions in the largest while-loop body of an optimized HLO module."""
    bodies = re.findall(r"\n(%[^\n]*region[^\n]*\{\n.*?\n\})", hlo, re.S)
    return max((b.count(" fusion(") for b in bodies), default=0)


def kernel_cost(outputs: int, n: int = 10_000, steps: int = 1000) -> float:
    """Microseconds per loop step for a body with ``outputs`` elementwise output arrays."""
    x = jnp.ones((2, n), jnp.float32)

    def body(i, carry):
        return tuple(c * 0.999 + 0.001 * carry[0] for c in carry)

    f = jax.jit(lambda c: jax.lax.fori_loop(0, steps, body, c)).lower((x,) * outputs).compile()
    return median_seconds(lambda: f((x,) * outputs)) / steps * 1e6


def hand_written_adam(
    record: bool, flag: bool, freeze: bool, n=10_000, steps=1000, threads=1
) -> float:
    """Run-steps/s of a hand-written runs-last Adam on 2-D Rosenbrock (the engine's layout:
    x is (2, n), records (steps+1, 4, n) time-major), with or without the records, a
    per-run "something happened" flag and frozen stopped runs: the floor for the engine.
    With ``threads`` > 1 the runs are cut into that many chunks run at once by one compiled
    program from a thread pool, each chunk keeping its own records (not joined)."""
    total, n = n, n // threads

    def f_rows(x):
        return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2

    def grad_rows(x):
        a = x[1] - x[0] ** 2
        return jnp.stack([-400.0 * x[0] * a - 2.0 * (1.0 - x[0]), 200.0 * a])

    def program(x0, buf):
        b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8
        live = jnp.abs(x0[0]) < 1.9

        def body(i, c):
            x, g, m, v, fl, buf = c
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            t = (i + 1).astype(jnp.float32)
            xn = x - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps)
            gn = grad_rows(xn)
            if freeze:
                xn, gn = jnp.where(live, xn, x), jnp.where(live, gn, g)
            if flag:
                fl = fl | (jnp.sum(gn * gn, 0) < 1e-10) | ~jnp.isfinite(f_rows(xn))
            if record:
                norm = jnp.sqrt(jnp.sum(gn * gn, 0))
                row = jnp.concatenate([xn, f_rows(xn)[None], norm[None]])
                buf = jax.lax.dynamic_update_index_in_dim(buf, row, i + 1, 0)
            return xn, gn, m, v, fl, buf

        zeros = jnp.zeros_like(x0)
        c = (x0, grad_rows(x0), zeros, zeros, jnp.zeros(n, bool), buf)
        c = jax.lax.fori_loop(0, steps, body, c)
        return c[0], c[4], c[5]

    x0 = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, (2, n)), jnp.float32)
    bufs = [jnp.zeros((steps + 1, 4, n), jnp.float32) for _ in range(threads)]
    compiled = jax.jit(program, donate_argnums=1).lower(x0, bufs[0]).compile()

    def chunk(i):
        out = jax.block_until_ready(compiled(x0, bufs[i]))
        bufs[i] = out[2]
        return out

    if threads == 1:
        return total * steps / median_seconds(lambda: chunk(0))
    with ThreadPoolExecutor(threads) as pool:
        return total * steps / median_seconds(lambda: list(pool.map(chunk, range(threads))))


def main() -> None:
    print(
        f"# benchmarks/engine_internals.py  {datetime.datetime.now().isoformat(timespec='seconds')}"
    )
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"jax {jax.__version__}, backend {jax.default_backend()}, load {os.getloadavg()}"
    )
    print()
    print("1-2. The engine's Adam program, 1000 steps recorded, float32 (median of 5 runs)")
    print(f"  {'runs':>6s} {'emitters':10s} {'lower s':>8s} {'compile s':>10s} {'run s':>8s}"
          f" {'run-steps/s':>12s} {'loop kernels':>13s}")  # fmt: skip
    for runs in (1_000, 10_000):
        for quick in (False, True):
            tag = f"{runs}-{quick}"
            lower, comp, run, hlo = adam_program(runs, 1000, quick, tag)
            label = "older" if quick else "default"
            print(
                f"  {runs:6d} {label:10s} {lower:8.2f} {comp:10.2f} {run:8.4f} "
                f"{runs * 1000 / run:12.3g} {loop_body_kernels(hlo):13d}"
            )
    print()
    print("3. One XLA:CPU kernel: a 1000-step loop over a (2, 10^4) float32 array")
    for outputs in (1, 2, 6):
        print(f"  {outputs} output array(s) per step: {kernel_cost(outputs):6.1f} us/step")
    print()
    print("4. Hand-written runs-last Adam, 10^4 x 1000, float32: the floor for the engine")
    for record, flag, freeze in ((0, 0, 0), (1, 0, 0), (1, 1, 0), (1, 1, 1)):
        rate = hand_written_adam(bool(record), bool(flag), bool(freeze))
        print(f"  records={record} flag={flag} frozen runs={freeze}: {rate:9.3g} run-steps/s")
    print()
    print("5. The same, records=1 flag=1 frozen runs=1, in chunks run at once from threads")
    print("   (each chunk keeps its own records: no copy into one array of all runs)")
    for threads in (1, 2):
        rate = hand_written_adam(True, True, True, threads=threads)
        print(f"  {threads} chunk(s): {rate:9.3g} run-steps/s")


if __name__ == "__main__":
    main()
