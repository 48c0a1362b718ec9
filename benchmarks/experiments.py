"""A whole experiment grid as jaxcalc runs it, against the same grid cell by cell with optax.

The grid (``configs/grid_benchmark.toml``): 8 optax optimizers x 10 classic 2-D functions x
1000 starts x 1000 steps, a record every 10 steps (8e7 run-steps). Issue 5's target: the
whole run, compile included, in <= 60 s on 2 CPU cores.

Peers, in this process:

* ``jaxcalc run`` (``run_experiment``, tables and trajectories written, no figures): cold
  (a fresh persistent compilation cache) and warm (the programs loaded from that cache, as a
  rerun of the same config in a new process would);
* optax stepped from a Python loop, cell by cell: per (function, optimizer) one jitted,
  batched update over the 1000 starts, called 1000 times, the point and value kept every
  10 steps (what a researcher writes by hand; compile included).

* ``jaxcalc run`` of each config issue 20 times (smoke, course, the grid), figures and
  report included, in a new process: cold (an empty persistent compilation cache), then
  warm (a rerun with that cache), with the engine's compute seconds and the rest.

* ``--programs CONFIG``: where a config's compile time goes, engine call by engine call
  (compile only, in this process, no persistent cache): the process CPU seconds of each
  call and of its phases (tracing, lowering to MLIR, XLA's compile, as JAX's monitoring
  events mark their ends), for the main program, the curvature check and the small
  programs outside the engine (sampling the starts, buffers) apart.

Usage:
    python benchmarks/experiments.py [--quick]
    python benchmarks/experiments.py --pipeline [smoke course grid_benchmark] [--repeats 3]
    python benchmarks/experiments.py --programs configs/grid_benchmark.toml
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jax

jax.config.update("jax_cpu_enable_async_dispatch", False)  # timing whole programs here

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import jaxcalc  # noqa: E402
from jaxcalc.engine import cache, enable_compilation_cache  # noqa: E402
from jaxcalc.pipeline import load_config, run_experiment  # noqa: E402

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "grid_benchmark.toml"
TARGET_SECONDS = 60.0


def jaxcalc_grid(config, out: Path) -> tuple[float, float, float]:
    """Wall time of run_experiment, and the sums of its compile and run seconds."""
    import csv

    t0 = time.perf_counter()
    run_experiment(config, out, overwrite=True, display="off", report=False)
    wall = time.perf_counter() - t0
    with open(out / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    compile_s = sum(float(r["compile_seconds"]) for r in rows)
    run_s = sum(float(r["run_seconds"]) for r in rows)
    return wall, compile_s, run_s


def optax_cell(objective, name: str, hyper: dict, starts: np.ndarray, steps: int, every: int):
    """One grid cell the hand-written way: a jitted batched optax update in a Python loop."""
    fn = jax.vmap(objective)
    value_and_grad = jax.vmap(jax.value_and_grad(objective))
    tx = getattr(optax, name)(**hyper)

    if name == "lbfgs":

        def update(x, state):
            def one(x, state):
                value, grad = jax.value_and_grad(objective)(x)
                u, state = tx.update(grad, state, x, value=value, grad=grad, value_fn=objective)
                return optax.apply_updates(x, u), state

            x, state = jax.vmap(one)(x, state)
            return x, state, fn(x)

    else:

        def update(x, state):
            _, grad = value_and_grad(x)
            u, state = jax.vmap(tx.update)(grad, state, x)
            x = optax.apply_updates(x, u)
            return x, state, fn(x)

    update = jax.jit(update)
    x = jnp.asarray(starts)
    state = jax.vmap(tx.init)(x)
    path, values = [x], [fn(x)]
    for k in range(1, steps + 1):
        x, state, v = update(x, state)
        if k % every == 0:
            path.append(x)
            values.append(v)
    return np.asarray(jnp.stack(path, 1)), np.asarray(jnp.stack(values, 1))


def optax_grid(config, steps: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    cells = 0
    rng = np.random.default_rng(config.seed)
    for ocfg in config.objectives:
        objective = ocfg.build()
        lo, hi = np.asarray(objective.bounds, np.float32).T
        starts = rng.uniform(lo, hi, (config.starts.count, objective.dim)).astype(np.float32)
        for pcfg in config.optimizers:
            hyper = {k: v for k, v in pcfg.hyperparameters.items() if v is not None}
            optax_cell(objective, pcfg.name, hyper, starts, steps, config.run.record_every)
            cells += 1
    return time.perf_counter() - t0, cells


# -------------------------------------------------------------------------------------
# Issue 20: each shipped config through the command line, cold and warm, in new processes

#: the configs issue 20 times, with its wall-time targets in seconds (cold, warm)
PIPELINE_TARGETS = {
    "smoke": (5.0, None),
    "course": (20.0, None),
    "grid_benchmark": (15.0, 5.0),
}


def cli_run(config: Path, out: Path, cache: Path) -> tuple[float, float, float]:
    """``jaxcalc run config`` (figures and report included) in a new process with the
    persistent compilation cache in ``cache``: its wall seconds, its CPU seconds (all
    threads) and the engine's compute seconds (run_seconds summed over summary.csv's
    rows, a shared program counted once per group as the run records it)."""
    import csv
    import resource
    import subprocess

    env = dict(os.environ, JAXCALC_CACHE_DIR=str(cache))
    env.pop("JAXCALC_NO_CACHE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "jaxcalc", "run", str(config), "--out", str(out)]
        + ["--overwrite", "--quiet"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    # a group's settings share its run seconds: count each group once
    groups = {(r["objective"], r["optimizer"]): float(r["run_seconds"]) for r in rows}
    return wall, cpu, sum(groups.values())


def pipeline_rows(names: list[str], repeats: int) -> list[tuple[str, str, float, float, float]]:
    """Cold (an empty persistent cache) and warm (a rerun with that cache) runs of each
    config, each in a new process, ``repeats`` times; the median of each measure."""
    import statistics

    rows = []
    root = Path(__file__).resolve().parent.parent / "configs"
    for name in names:
        measured: dict[str, list[tuple[float, float, float]]] = {"cold": [], "warm": []}
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="jaxcalc-pipeline-") as tmp:
                work = Path(tmp)
                for kind in ("cold", "warm"):
                    measured[kind].append(cli_run(root / f"{name}.toml", work / kind, work / "xla"))
        for kind, runs in measured.items():
            wall, cpu, compute = (statistics.median(m[i] for m in runs) for i in range(3))
            rows.append((name, kind, wall, cpu, compute))
    return rows


def print_pipeline_rows(rows: list[tuple[str, str, float, float, float]], repeats: int) -> None:
    print()
    print(f"  jaxcalc run <config> (report included), new process each; median of {repeats}")
    print(
        f"  {'config':16s} {'cache':6s} {'wall s':>8s} {'CPU s':>8s} {'compute s':>10s} "
        f"{'outside compute s':>18s} {'target s':>9s}"
    )
    for name, kind, wall, cpu, compute in rows:
        cold, warm = PIPELINE_TARGETS.get(name, (None, None))
        target = cold if kind == "cold" else warm
        verdict = "" if target is None else f"{target:5.0f} {'met' if wall <= target else 'NOT'}"
        print(
            f"  {name:16s} {kind:6s} {wall:8.2f} {cpu:8.2f} {compute:10.2f} "
            f"{wall - compute:18.2f} {verdict:>9s}"
        )
    print(
        "  (compute s: the engine's run seconds, summed over groups; outside compute: wall "
        "minus that, i.e. import, tracing, compiling, tables, statistics, figures, writing)"
    )
    sys.stdout.flush()


def program_rows(path: str) -> None:
    """Print, per engine call of the config (compile only), its CPU seconds and JAX's
    durations of tracing, lowering and XLA compiling (main program, curvature check)."""
    import collections

    from jax import monitoring

    from jaxcalc.engine import run as engine
    from jaxcalc.pipeline.ahead import RUN_AHEAD
    from jaxcalc.pipeline.plan import GroupPlan
    from jaxcalc.pipeline.shard import shard_batches

    phases = {
        "/jax/core/compile/jaxpr_trace_duration": "trace",
        "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
        "/jax/core/compile/backend_compile_duration": "xla",
    }
    seen: collections.Counter = collections.Counter()
    last = [time.process_time()]

    def listen(event: str, seconds: float, **kwargs) -> None:
        # JAX reports each phase's wall duration when it ends; the CPU seconds since the
        # previous phase ended are this phase's (the phases of a call run one after another)
        if event in phases:
            name = kwargs.get("fun_name", "")
            kind = "check" if "curvature" in name else "main" if "batch" in name else "other"
            now = time.process_time()
            seen[kind, phases[event]] += now - last[0]
            last[0] = now

    monitoring.register_event_duration_secs_listener(listen)
    config = load_config(path)
    plan = GroupPlan(config)
    cpu = last[0] = time.process_time()
    for g in range(len(plan)):
        plan.group(g)  # the starts of every objective (sampled once per objective)
    head = [("prepare", time.process_time() - cpu, dict(seen))]
    seen.clear()
    for indices in shard_batches(plan, 1)[0]:
        batch = plan.batch(indices)
        first = batch.groups[0]
        label = f"{first.objective.name}: {'+'.join(g.label for g in batch.groups)}"
        cpu = last[0] = time.process_time()
        batch.call(engine.precompile, engine.precompile_many, **RUN_AHEAD)
        head.append((label, time.process_time() - cpu, dict(seen)))
        seen.clear()
    columns = [(k, p) for k in ("main", "check", "other") for p in ("trace", "lower", "xla")]
    print(f"# {path}: compile only, CPU s per engine call and per phase")
    print(f"  {'engine call':40s} {'CPU s':>6s} " + " ".join(f"{k[:5]}.{p:5s}" for k, p in columns))
    total = collections.Counter()
    for label, seconds, parts in head:
        total["cpu"] += seconds
        total.update(parts)
        cells = " ".join(f"{parts.get(c, 0.0):11.2f}" for c in columns)
        print(f"  {label[:40]:40s} {seconds:6.2f} {cells}")
    cells = " ".join(f"{total.get(c, 0.0):11.2f}" for c in columns)
    print(f"  {'total':40s} {total['cpu']:6.2f} {cells}")
    print(f"  process CPU s: {time.process_time():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 steps: a smoke run")
    parser.add_argument(
        "--pipeline",
        nargs="*",
        metavar="CONFIG",
        help="only the cold and warm `jaxcalc run` rows of these configs "
        f"(default: {' '.join(PIPELINE_TARGETS)})",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per pipeline row")
    parser.add_argument("--programs", metavar="CONFIG", help="where CONFIG's compile time goes")
    args = parser.parse_args()
    if args.programs:
        program_rows(args.programs)
        return
    if args.pipeline is not None:
        names = args.pipeline or list(PIPELINE_TARGETS)
        print(f"# benchmarks/experiments.py --pipeline  {datetime.date.today()}")
        print(
            f"# {os.cpu_count()} cores, python {platform.python_version()}, jax {jax.__version__}"
        )
        print_pipeline_rows(pipeline_rows(names, args.repeats), args.repeats)
        return

    config = load_config(CONFIG, overrides=["run.steps=100"] if args.quick else ())
    steps = config.run.steps
    run_steps = len(config.objectives) * len(config.optimizers) * config.starts.count * steps

    print(f"# benchmarks/experiments.py  {datetime.date.today()}")
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, jax {jax.__version__}, "
        f"jaxlib {jax.lib.__version__ if hasattr(jax, 'lib') else '?'}, "
        f"optax {optax.__version__}, jaxcalc {jaxcalc.__version__}, "
        f"backend {jax.default_backend()}"
    )
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"# load average at start: {load}")
    print(
        f"# grid: {len(config.objectives)} functions x {len(config.optimizers)} optimizers x "
        f"{config.starts.count} starts x {steps} steps = {run_steps:.2e} run-steps, "
        f"record every {config.run.record_every}, {config.dtype}"
    )

    workdir = Path(tempfile.mkdtemp(prefix="jaxcalc-grid-"))
    try:
        enable_compilation_cache(str(workdir / "xla-cache"))  # fresh: the first run is cold
        cold = jaxcalc_grid(config, workdir / "cold")
        cache.COMPILED.clear()  # as a new process: programs come from the persistent cache
        warm = jaxcalc_grid(config, workdir / "warm")
        jax.config.update("jax_enable_compilation_cache", False)  # the peer compiles afresh
        peer_wall, cells = optax_grid(config, steps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"  {'method':44s} {'wall s':>8s} {'compile s':>10s} {'run s':>8s} {'run-steps/s':>12s}")
    rows = [
        ("jaxcalc run, cold compile cache", *cold),
        ("jaxcalc run, warm (persistent cache)", *warm),
    ]
    for label, wall, comp, run in rows:
        print(f"  {label:44s} {wall:8.1f} {comp:10.1f} {run:8.2f} {run_steps / wall:12.3g}")
    print(
        f"  {'optax Python loop, cell by cell (' + str(cells) + ' cells)':44s} "
        f"{peer_wall:8.1f} {'(in wall)':>10s} {'':>8s} {run_steps / peer_wall:12.3g}"
    )
    print(
        "  (jaxcalc compiles the next groups in a background thread while a group runs: "
        "compile s + run s can exceed wall s)"
    )
    print()
    print(
        f"  target: wall <= {TARGET_SECONDS:.0f} s (cold): {cold[0]:.1f} s -> "
        f"{'met' if cold[0] <= TARGET_SECONDS else 'NOT met'}"
    )
    print(
        f"  jaxcalc cold vs the optax loop: {peer_wall / cold[0]:.2f}x faster; "
        f"warm: {peer_wall / warm[0]:.2f}x"
    )
    sys.stdout.flush()
    if not args.quick:
        print_pipeline_rows(pipeline_rows(list(PIPELINE_TARGETS), 1), 1)


if __name__ == "__main__":
    main()
