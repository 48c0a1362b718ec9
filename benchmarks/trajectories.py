"""Full trajectories of many runs: jaxcalc.optimize against its peers, in one process.

The headline: 10^4 starts x 1000 Adam steps on 2-D Rosenbrock, float32, every step
recorded (params, value, gradient norm), in run-steps per second:

* jaxcalc.optimize (one compiled program; compile time reported apart);
* a plain ``jit(vmap(lax.scan))`` over optax Adam, the layout most JAX code uses;
* optax stepped from a Python loop (the update jitted and batched over starts);
* optax per start (a Python loop over starts; timed on a subsample and scaled);
* torch.optim.Adam on a batched tensor, CPU (optional: ``pip install torch==2.13.0``);
* scipy.optimize.minimize(method="BFGS") per start (another method: context only).

Then jaxcalc's run time against the number of starts B, the number of steps and the
dimension D (Rosenbrock in D dimensions), written as a figure with ``--figure FILE``.

The persistent compilation caches are on (``jaxcalc.engine.enable_compilation_cache``)
in a fresh temporary folder, so the table's first compile is cold; then the compile time
again after the in-process caches are cleared, and in two new processes with the registered
``rosenbrock`` (JAX's persistent cache: what a rerun of a script pays). ``--no-cache``
leaves the caches off.

Usage:
    python benchmarks/trajectories.py [--quick] [--no-cache]
        [--figure docs/images/trajectories_scaling.png]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import jaxcalc  # noqa: E402
from jaxcalc.engine import enable_compilation_cache  # noqa: E402
from jaxcalc.engine.cache import COMPILED as _COMPILED  # noqa: E402
from jaxcalc.objectives import Objective  # noqa: E402

TARGET_RATE = 3.3e8  # run-steps/s: the throughput the engine aims for
TARGET_VS_LOOP = 5.0  # times the optax Python loop
TARGET_COMPILE = 0.3  # seconds


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def objective(dim: int) -> Objective:
    return Objective(f"rosenbrock{dim}", dim, rosenbrock, bounds=[-2.0, 2.0])


def starts(count: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, (count, dim)).astype(np.float32)


def median_time(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


# ---------------------------------------------------------------------------------- peers


_NEW_PROCESS = """
import sys, numpy as np, jaxcalc
from jaxcalc.engine import enable_compilation_cache
enable_compilation_cache(sys.argv[1])
x0 = np.random.default_rng(1).uniform(-2, 2, (int(sys.argv[2]), 2)).astype(np.float32)
t = jaxcalc.optimize("rosenbrock", "adam", x0, int(sys.argv[3]),
                     learning_rate=float(sys.argv[4]), gtol=0.0)
print(t.compile_seconds)
"""


def new_process_compile(cache: str, b: int, steps: int, lr: float) -> list[float]:
    """Compile seconds of one optimize call in each of two fresh Python processes."""
    import subprocess
    import sys

    out = []
    for _ in range(2):
        args = [sys.executable, "-c", _NEW_PROCESS, cache, str(b), str(steps), str(lr)]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        out.append(float(done.stdout.split()[-1]))
    return out


def jaxcalc_runner(obj, x0, steps, lr, threads=None, record_every=1):
    """``threads`` sets $JAXCALC_CPU_THREADS for these calls only (None: jaxcalc's default,
    one chunk per core for jobs of >= 4e6 run-steps)."""

    def call():
        saved = os.environ.pop("JAXCALC_CPU_THREADS", None)
        if threads is not None:
            os.environ["JAXCALC_CPU_THREADS"] = str(threads)
        try:
            return jaxcalc.optimize(
                obj, "adam", x0, steps, learning_rate=lr, gtol=0.0, record_every=record_every
            )
        finally:
            os.environ.pop("JAXCALC_CPU_THREADS", None)
            if saved is not None:
                os.environ["JAXCALC_CPU_THREADS"] = saved

    compile_s = call().compile_seconds

    def run():
        call()

    return compile_s, run


def plain_scan_runner(x0, steps, lr):
    tx = optax.adam(lr)

    def one(x):
        def body(carry, _):
            x, s = carry
            v, g = jax.value_and_grad(rosenbrock)(x)
            u, s = tx.update(g, s, x)
            x = optax.apply_updates(x, u)
            return (x, s), (x, v, jnp.linalg.norm(g))

        _, out = jax.lax.scan(body, (x, tx.init(x)), None, length=steps)
        return out

    fn = jax.jit(jax.vmap(one))
    xd = jnp.asarray(x0)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(xd))
    compile_s = time.perf_counter() - t0
    return compile_s, lambda: jax.block_until_ready(fn(xd))


def plain_scan_no_records_runner(x0, steps, lr):
    tx = optax.adam(lr)

    def one(x):
        def body(carry, _):
            x, s = carry
            g = jax.grad(rosenbrock)(x)
            u, s = tx.update(g, s, x)
            return (optax.apply_updates(x, u), s), None

        (x, _), _ = jax.lax.scan(body, (x, tx.init(x)), None, length=steps)
        return x

    fn = jax.jit(jax.vmap(one))
    xd = jnp.asarray(x0)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(xd))
    compile_s = time.perf_counter() - t0
    return compile_s, lambda: jax.block_until_ready(fn(xd))


def optax_loop_runner(x0, steps, lr):
    tx = optax.adam(lr)

    @jax.jit
    def step(x, s):
        v, g = jax.vmap(jax.value_and_grad(rosenbrock))(x)
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s, v, jnp.linalg.norm(g, axis=-1)

    def run():
        x = jnp.asarray(x0)
        s = tx.init(x)
        path = []
        for _ in range(steps):
            x, s, v, gn = step(x, s)
            path.append((x, v, gn))
        jax.block_until_ready(path[-1])

    t0 = time.perf_counter()
    x = jnp.asarray(x0)
    jax.block_until_ready(step(x, tx.init(x)))
    return time.perf_counter() - t0, run


def optax_per_start_runner(x0, steps, lr):
    tx = optax.adam(lr)

    @jax.jit
    def step(x, s):
        g = jax.grad(rosenbrock)(x)
        u, s = tx.update(g, s, x)
        return optax.apply_updates(x, u), s

    def run():
        for start in x0:
            x = jnp.asarray(start)
            s = tx.init(x)
            for _ in range(steps):
                x, s = step(x, s)
        jax.block_until_ready(x)

    t0 = time.perf_counter()
    jax.block_until_ready(step(jnp.asarray(x0[0]), tx.init(jnp.asarray(x0[0]))))
    return time.perf_counter() - t0, run


def torch_runner(x0, steps, lr):
    import torch

    torch.set_num_threads(1)  # small tensors: threads only add synchronisation

    def run():
        x = torch.tensor(x0, requires_grad=True)
        opt = torch.optim.Adam([x], lr=lr)
        path = torch.empty((steps, *x0.shape))
        for k in range(steps):
            opt.zero_grad()
            f = (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(dim=1)
            f.sum().backward()
            opt.step()
            with torch.no_grad():
                path[k] = x
        return path

    return 0.0, run


def scipy_bfgs_runner(x0, steps):
    from scipy.optimize import minimize, rosen, rosen_der

    def run():
        for start in x0.astype(np.float64):
            minimize(rosen, start, jac=rosen_der, method="BFGS", options={"maxiter": steps})

    return 0.0, run


# ----------------------------------------------------------------------------------- main


def header() -> None:
    import scipy

    print("jaxcalc trajectory benchmark")
    print(f"date      {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"machine   {platform.machine()}, {platform.processor() or '?'}, {os.cpu_count()} CPUs")
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "?"
    print(f"load avg  {load} (1/5/15 min)")
    print(f"python    {platform.python_version()}")
    versions = (
        f"jax {jax.__version__}, optax {optax.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}"
    )
    try:
        import torch

        versions += f", torch {torch.__version__}"
    except ImportError:
        versions += ", torch not installed"
    print(f"versions  {versions}, jaxcalc {jaxcalc.__version__}")
    print(f"backend   {jax.default_backend()} ({jax.device_count()} device(s)), float32")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--figure", help="write the scaling figure here (PNG)")
    parser.add_argument("--no-cache", action="store_true", help="no persistent compile cache")
    args = parser.parse_args(argv)
    # a fresh cache folder: the first compile below is cold, the reruns measure the caches
    cache = None if args.no_cache else enable_compilation_cache(tempfile.mkdtemp())
    header()
    print(f"cache     {cache or 'off'}")
    B, T = (2_000, 200) if args.quick else (10_000, 1000)
    repeats = 3 if args.quick else 7
    lr = 1e-2
    x0 = starts(B, 2)
    work = B * T
    rosen2 = objective(2)  # one object: optimize caches compiled programs per objective

    rows = []

    def add(name, compile_s, run, scale=1.0, note="", reps=repeats):
        med, best = median_time(run, reps)
        med, best = med * scale, best * scale
        rows.append((name, compile_s, med, work / med, work / best, note))

    add("jaxcalc.optimize (adam)", *jaxcalc_runner(rosen2, x0, T, lr))
    c, r = jaxcalc_runner(rosen2, x0, T, lr, threads=1)
    add("  the same on one core", c, r, note="JAXCALC_CPU_THREADS=1")
    c, r = jaxcalc_runner(rosen2, x0, T, lr, record_every=10)
    add("  the same, every 10th step recorded", c, r, note="context")
    add("jit(vmap(lax.scan)) + optax", *plain_scan_runner(x0, T, lr))
    c, r = plain_scan_no_records_runner(x0, T, lr)
    add("  the same, nothing recorded (context)", c, r, note="final point only")
    add("optax, Python loop over steps (batched)", *optax_loop_runner(x0, T, lr), reps=3)
    sub = max(2, B // 1000)
    c, r = optax_per_start_runner(x0[:sub], T, lr)
    add("optax, Python loop per start", c, r, B / sub, f"timed on {sub} starts, scaled", 1)
    try:
        c, r = torch_runner(x0, T, lr)
        add("torch.optim.Adam (batched tensor)", c, r, 1.0, "CPU", 3)
    except ImportError:
        rows.append(("torch.optim.Adam", None, None, None, None, "not installed"))
    sub = max(4, B // 200)
    c, r = scipy_bfgs_runner(x0[:sub], T)
    add("scipy BFGS per start (other method)", c, r, B / sub, f"timed on {sub} starts", 1)

    print(f"\n1. {B} starts x {T} Adam steps, 2-D Rosenbrock, every step recorded")
    print(
        f"  {'method':<42} {'compile':>8} {'median':>10} {'run-steps/s':>12} {'best':>10}"
        "  vs jaxcalc"
    )
    base = rows[0][3]
    for name, comp, med, rate, best, note in rows:
        if med is None:
            print(f"  {name:<42} {'-':>8} {'-':>10} {'-':>12} {'-':>10}  {note}")
            continue
        comp_s = f"{comp:.2f}s" if comp else "-"
        print(
            f"  {name:<42} {comp_s:>8} {med:>9.3f}s {rate:>12.3g} {best:>10.3g}  "
            f"{rate / base:>6.2f}x  {note}"
        )

    # compile time on a rerun: a fresh program for the same shapes hits the in-process cache
    t = jaxcalc.optimize(rosen2, "adam", x0, T, learning_rate=0.05, gtol=0.0)
    print(f"\n  rerun with another learning rate: compile {t.compile_seconds:.3f} s (no recompile)")
    _COMPILED.clear()
    jax.clear_caches()
    t = jaxcalc.optimize(rosen2, "adam", x0, T, learning_rate=lr, gtol=0.0)
    print(
        f"  rerun after clearing the in-process caches (persistent cache "
        f"{'on' if cache else 'off'}): compile {t.compile_seconds:.3f} s"
    )
    rerun_compile = t.compile_seconds
    if cache:
        fresh = new_process_compile(cache, B, T, lr)
        print(
            "  the registered `rosenbrock` in two new processes (JAX's persistent cache): "
            f"compile first {fresh[0]:.3f} s, second {fresh[1]:.3f} s"
        )
        rerun_compile = min(rerun_compile, fresh[1])

    loop_rate = next(row[3] for row in rows if row[0].startswith("optax, Python loop over"))
    print("\n  targets: measured / target")
    print(f"    run-steps/s >= {TARGET_RATE:.2g}: {base:.3g} ({base / TARGET_RATE:.3f} of target)")
    print(
        f"    >= {TARGET_VS_LOOP:g}x the optax Python loop: {base / loop_rate:.2f}x "
        f"({base / loop_rate / TARGET_VS_LOOP:.2f} of the target)"
    )
    print(
        f"    compile <= {TARGET_COMPILE} s: first {rows[0][1]:.2f} s, rerun {rerun_compile:.2f} s"
    )

    print("\n2. jaxcalc run time against B, steps and D (Adam, float32, every step recorded)")
    scaling = {"B": [], "steps": [], "D": []}
    for b in [1_000, 3_000, 10_000, 30_000] if not args.quick else [500, 2_000]:
        c, r = jaxcalc_runner(rosen2, starts(b, 2), T, lr)
        med, _ = median_time(r, 3)
        scaling["B"].append((b, med, b * T / med))
    for steps in [100, 300, 1000, 3000] if not args.quick else [100, 200]:
        c, r = jaxcalc_runner(rosen2, x0, steps, lr)
        med, _ = median_time(r, 3)
        scaling["steps"].append((steps, med, B * steps / med))
    for d in [2, 5, 10, 20, 50] if not args.quick else [2, 5]:
        c, r = jaxcalc_runner(objective(d), starts(B // 10, d), T, lr)
        med, _ = median_time(r, 3)
        scaling["D"].append((d, med, (B // 10) * T / med))
    for axis, points in scaling.items():
        print(f"  {axis:<6}" + "  ".join(f"{v:>6}: {s:7.3f}s ({r:.3g}/s)" for v, s, r in points))

    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
        labels = {
            "B": f"starts B ({T} steps, D=2)",
            "steps": f"steps ({B} starts, D=2)",
            "D": f"dimension D ({B // 10} starts, {T} steps)",
        }
        for ax, (axis, points) in zip(axes, scaling.items(), strict=True):
            xs, ts, _ = zip(*points, strict=True)
            ax.loglog(xs, ts, "o-")
            ax.set_xlabel(labels[axis])
            ax.set_ylabel("run time (s)")
            ax.grid(alpha=0.3, which="both")
        fig.suptitle("jaxcalc.optimize run time (Adam on Rosenbrock, every step recorded)")
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
        print(f"\nfigure written to {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
