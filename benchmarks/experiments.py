"""A whole experiment grid as jaxcalc runs it, against the same grid cell by cell with optax.

The grid (``configs/grid_benchmark.toml``): 8 optax optimizers x 10 classic 2-D functions x
1000 starts x 1000 steps, a record every 10 steps (8e7 run-steps). Issue 5's target: the
whole run, compile included, in <= 60 s on 2 CPU cores.

Default (no mode), in this process:

* ``jaxcalc run`` (``run_experiment``, tables and trajectories written, no figures): cold
  (a fresh persistent compilation cache) and warm (the programs loaded from that cache, as a
  rerun of the same config in a new process would);
* the peers of ``benchmarks/peers.py`` on the same starts: the raw-scan floor (per
  (function, optimizer) one ``jit(vmap(lax.scan))`` program, compile and run timed apart)
  and optax stepped from a Python loop, cell by cell (one jitted, batched update over the
  1000 starts, called 1000 times, the point and value kept every 10 steps: what a
  researcher writes by hand);
* then the ``--pipeline`` rows of the configs issue 20 times, without peers.

``--pipeline [CONFIG ...]``: ``jaxcalc run`` of each config (issue 20's: smoke, course, the
grid), figures and report included, in a new process: cold (an empty persistent
compilation cache), then warm (a rerun with that cache), with the engine's compute seconds
and the rest; then, per config, those rows against the peers in this process on the
config's optax lanes: cold, warm, compute only (the engine's run phase, compile excluded),
the raw scan's compile and run, the optax loop's first call (compile) and other steps, in
wall and CPU seconds and run-steps per second. ``--loop-steps N`` times only N steps of
each optax loop and scales the rest up linearly (the output says so); ``--no-peers`` skips
them.

``--scaling [COUNT ...]``: the grid with 5, 10 and 20 objectives of dimension 2 (its ten,
its first five, its ten and ten more of jaxcalc's classic functions): per count, the compile
CPU seconds (``--programs`` in a new process) and a cold ``jaxcalc run`` (wall, CPU,
compute), and the ratio of 20 to 10 (issue 20's goal: doubling the objectives adds less
than 20% to compile time).

``--programs CONFIG``: where a config's compile time goes, engine call by engine call
(compile only, in this process, no persistent cache): the process CPU seconds of each
call and of its phases (tracing, lowering to MLIR, XLA's compile, as JAX's monitoring
events mark their ends), for the main program, the curvature check and the small
programs outside the engine (sampling the starts, buffers) apart.

``--starts N``, ``--steps N`` and ``--set KEY=VALUE`` change the configs of every mode (as
``jaxcalc run --set``), to run it small.

Usage:
    python benchmarks/experiments.py [--quick]
    python benchmarks/experiments.py --pipeline [smoke course grid_benchmark] [--repeats 3]
    python benchmarks/experiments.py --pipeline grid_benchmark --scaling   # issue 20's table
    python benchmarks/experiments.py --scaling 5 10 20 --starts 100        # smaller runs
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


# -------------------------------------------------------------------------------------
# Issue 20: each shipped config through the command line, cold and warm, in new processes

#: the configs issue 20 times, with its wall-time targets in seconds (cold, warm)
PIPELINE_TARGETS = {
    "smoke": (5.0, None),
    "course": (20.0, None),
    "grid_benchmark": (15.0, 5.0),
}

#: a run's measures: wall s, CPU s (all threads, the report's helper included), the
#: engine's compute s (all groups), and each group's compute s by (objective, optimizer)
Measured = tuple[float, float, float, dict[tuple[str, str], float]]


def config_path(name: str) -> Path:
    """A shipped config by name (``smoke``), or a path to a TOML file."""
    if name.endswith(".toml"):
        return Path(name)
    return Path(__file__).resolve().parent.parent / "configs" / f"{name}.toml"


def cli_run(config: Path, out: Path, cache: Path, overrides=()) -> Measured:
    """``jaxcalc run config`` (figures and report included) in a new process with the
    persistent compilation cache in ``cache``: its wall seconds, its CPU seconds (all
    threads) and the engine's compute seconds (run_seconds summed over summary.csv's
    rows, a shared program counted once per group as the run records it)."""
    import csv
    import resource
    import subprocess

    env = dict(os.environ, JAXCALC_CACHE_DIR=str(cache))
    env.pop("JAXCALC_NO_CACHE", None)
    sets = [arg for o in overrides for arg in ("--set", o)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "jaxcalc", "run", str(config), "--out", str(out)]
        + ["--overwrite", "--quiet", *sets],
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
    return wall, cpu, sum(groups.values()), groups


def cold_and_warm(config: Path, repeats: int, overrides=()) -> dict[str, list[Measured]]:
    """``repeats`` times: a cold run (an empty persistent cache), then a warm one (a
    rerun with that cache), each in a new process."""
    measured: dict[str, list[Measured]] = {"cold": [], "warm": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="jaxcalc-pipeline-") as tmp:
            work = Path(tmp)
            for kind in ("cold", "warm"):
                measured[kind].append(cli_run(config, work / kind, work / "xla", overrides))
    return measured


def median_of(runs: list[Measured], groups: set | None = None) -> tuple[float, float, float]:
    """The medians of wall, CPU and compute seconds (compute of ``groups`` only if given)."""
    import statistics

    def compute(m: Measured) -> float:
        return m[2] if groups is None else sum(v for k, v in m[3].items() if k in groups)

    return (
        statistics.median(m[0] for m in runs),
        statistics.median(m[1] for m in runs),
        statistics.median(compute(m) for m in runs),
    )


def print_pipeline_rows(measured: dict[str, dict[str, list[Measured]]], repeats: int) -> None:
    print()
    print(f"  jaxcalc run <config> (report included), new process each; median of {repeats}")
    print(
        f"  {'config':16s} {'cache':6s} {'wall s':>8s} {'CPU s':>8s} {'compute s':>10s} "
        f"{'outside compute s':>18s} {'target s':>9s}"
    )
    for name, kinds in measured.items():
        for kind, runs in kinds.items():
            wall, cpu, compute = median_of(runs)
            cold, warm = PIPELINE_TARGETS.get(name, (None, None))
            target = cold if kind == "cold" else warm
            verdict = (
                "" if target is None else f"{target:5.0f} {'met' if wall <= target else 'NOT'}"
            )
            print(
                f"  {name:16s} {kind:6s} {wall:8.2f} {cpu:8.2f} {compute:10.2f} "
                f"{wall - compute:18.2f} {verdict:>9s}"
            )
    print(
        "  (compute s: the engine's run seconds, summed over groups; outside compute: wall "
        "minus that, i.e. import, tracing, compiling, tables, statistics, figures, writing)"
    )
    sys.stdout.flush()


def print_peer_table(name: str, kinds: dict[str, list[Measured]], cells, peer) -> None:
    """The config's cold, warm and compute-only rows against the raw-scan floor and the
    optax loop on the same lanes, all measured in this run."""
    total, covered = cells.total_run_steps, cells.run_steps
    print()
    print(
        f"  {name}: {cells.total_groups} groups, {total:.3g} run-steps; the peers: "
        f"{len(cells.groups)} of the groups (optax optimizers), {peer.cells} cells, "
        f"{covered:.3g} run-steps"
    )
    rows: list[tuple[str, float, float | None, int | None]] = []
    for kind in ("cold", "warm"):
        wall, cpu, _ = median_of(kinds[kind])
        rows.append((f"jaxcalc run, {kind} (whole run, new process)", wall, cpu, total))
    compute = median_of(kinds["cold"])[2], median_of(kinds["warm"])[2]
    rows.append(("compute only: engine run phase, cold run", compute[0], None, total))
    rows.append(("compute only: engine run phase, warm run", compute[1], None, total))
    subset = 0.0
    if len(cells.groups) < cells.total_groups:
        subset = median_of(kinds["warm"], cells.groups)[2]
        rows.append(("compute only, the peers' groups (warm)", subset, None, covered))
    scan_c, scan_r = peer.scan_compile, peer.scan_run
    rows.append(("raw jit(vmap(lax.scan)): compile", scan_c.wall, scan_c.cpu, None))
    rows.append(("raw jit(vmap(lax.scan)): run", scan_r.wall, scan_r.cpu, covered))
    first, rest = peer.loop_first, peer.loop_rest
    scaled = "" if peer.loop_steps is None else f", scaled from {peer.loop_steps}"
    rows.append(("optax Python loop: first call (compile)", first.wall, first.cpu, None))
    rows.append((f"optax Python loop: other steps{scaled}", rest.wall, rest.cpu, covered))
    rows.append(("optax Python loop, whole", first.wall + rest.wall, first.cpu + rest.cpu, covered))
    print(f"  {'row':48s} {'wall s':>8s} {'CPU s':>8s} {'run-steps/s':>12s}")
    for label, wall, cpu, steps in rows:
        cpu_text = "-" if cpu is None else f"{cpu:.2f}"
        rate = "" if steps is None else f"{steps / wall:.3g}"
        print(f"  {label:48s} {wall:8.2f} {cpu_text:>8s} {rate:>12s}")
    cold_wall, loop = rows[0][1], first.wall + rest.wall
    engine = subset if len(cells.groups) < cells.total_groups else compute[1]
    print(
        f"  raw scan, compile + run: {scan_c.wall + scan_r.wall:.2f} s; "
        f"the optax loop: {loop:.2f} s"
    )
    print(
        f"  ratios (wall): compute only (warm, the peers' groups) / raw scan run "
        f"{engine / scan_r.wall:.2f}; optax loop / raw scan (compile + run) "
        f"{loop / (scan_c.wall + scan_r.wall):.2f}"
        + (f"; optax loop / cold run {loop / cold_wall:.2f}" if covered == total else "")
    )
    if peer.lanes:
        print(
            f"  raw scan and optax loop, last points equal to 1e-4: {peer.agreeing} of "
            f"{peer.lanes} lanes"
        )
    print(
        "  (run-steps: starts x settings x steps of every lane, stopped runs counted in "
        "full; the engine stops converged runs, the peers take every step; the peers run "
        "in this process, each program compiled afresh, one cell after another)"
    )
    sys.stdout.flush()


def pipeline(names: list[str], repeats: int, overrides, peers: bool, loop_steps) -> None:
    """Cold and warm rows of each config; with ``peers``, its table against the peers."""
    import peers as hand

    measured = {name: cold_and_warm(config_path(name), repeats, overrides) for name in names}
    print_pipeline_rows(measured, repeats)
    if not peers:
        return
    for name in names:
        config = load_config(config_path(name), overrides=overrides)
        cells = hand.config_cells(config)
        timed = hand.measure(cells, config, loop_steps)
        print_peer_table(name, measured[name], cells, timed)


# -------------------------------------------------------------------------------------
# Issue 20's scaling: the grid with 5, 10 and 20 objectives of one dimension

#: ten more 2-D objectives beside the grid's ten (smooth, jaxcalc's classic set)
MORE_OBJECTIVES = (
    "sphere",
    "goldstein_price",
    "griewank",
    "levy",
    "zakharov",
    "dixon_price",
    "mccormick",
    "branin",
    "sum_squares",
    "rotated_hyper_ellipsoid",
)


def scaled_config(count: int, folder: Path) -> Path:
    """``configs/grid_benchmark.toml`` with ``count`` objectives: its first ``count``,
    or all ten and the first ``count - 10`` of :data:`MORE_OBJECTIVES`."""
    sections: list[list[str]] = [[]]
    for line in CONFIG.read_text().splitlines():
        if line.startswith("["):
            sections.append([])
        sections[-1].append(line)
    objectives = [s for s in sections if s[0] == "[[objectives]]"]
    extra = [["[[objectives]]", f'name = "{n}"', ""] for n in MORE_OBJECTIVES]
    if not 0 < count <= len(objectives) + len(extra):
        raise SystemExit(f"--scaling: 1 to {len(objectives) + len(extra)} objectives")
    chosen = (objectives + extra)[:count]
    lines: list[str] = []
    for section in sections:
        if section and section[0] == "[[objectives]]":
            if section is objectives[0]:  # the chosen objectives where the grid's were
                lines += [line for s in chosen for line in s]
            continue
        lines += section
    path = folder / f"grid_{count}_objectives.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def compile_only(config: Path, overrides) -> dict:
    """``--programs`` in a new process without persistent cache: its totals."""
    import json
    import subprocess

    env = dict(os.environ, JAXCALC_NO_CACHE="1")
    out = config.with_suffix(".programs.json")
    sets = [arg for o in overrides for arg in ("--set", o)]
    subprocess.run(
        [sys.executable, __file__, "--programs", str(config), "--json", str(out), *sets],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def scaling(counts: list[int], repeats: int, overrides) -> None:
    """Per count of objectives: compile CPU seconds (compile only, a new process), then,
    per count, a cold whole run (a new process, report included); medians of ``repeats``,
    each row printed when measured."""
    import statistics

    config = load_config(CONFIG, overrides=overrides)
    print()
    print(
        f"  scaling: configs/grid_benchmark.toml's 8 optimizers, {config.starts.count} starts "
        f"x {config.run.steps} steps, 2-D objectives; median of {repeats}"
    )
    print(
        f"  {'objectives':>10s} {'engine calls':>12s} {'compile CPU s':>13s} {'of it XLA':>9s} "
        f"{'per objective':>13s}"
    )
    sys.stdout.flush()
    compile_cpu: dict[int, float] = {}
    walls: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="jaxcalc-scaling-") as tmp:
        folder = Path(tmp)
        paths = {count: scaled_config(count, folder) for count in counts}
        for count, path in paths.items():
            programs = [compile_only(path, overrides) for _ in range(repeats)]
            compile_cpu[count] = statistics.median(p["engine_calls_cpu"] for p in programs)
            xla = statistics.median(p["xla"] for p in programs)
            print(
                f"  {count:10d} {programs[0]['engine_calls']:12d} {compile_cpu[count]:13.2f} "
                f"{xla:9.2f} {compile_cpu[count] / count:13.2f}"
            )
            sys.stdout.flush()
        if 10 in compile_cpu and 20 in compile_cpu:
            ratio = compile_cpu[20] / compile_cpu[10]
            print(
                f"  20 vs 10 objectives: compile CPU x{ratio:.2f} (+{100 * (ratio - 1):.0f}%; "
                f"issue 20's goal: < +20% -> {'met' if ratio < 1.2 else 'NOT met'})"
            )
        print(
            "  (compile CPU: `--programs` on the config in a new process, no persistent "
            "cache: process CPU of every engine call and of sampling the starts)"
        )
        print()
        print(f"  {'objectives':>10s} {'cold run wall s':>15s} {'CPU s':>8s} {'compute s':>9s}")
        sys.stdout.flush()
        for count, path in paths.items():
            runs = []
            for r in range(repeats):
                work = folder / f"{count}-{r}"
                runs.append(cli_run(path, work / "out", work / "xla", overrides))
                shutil.rmtree(work, ignore_errors=True)
            walls[count], cpu, compute = median_of(runs)
            print(f"  {count:10d} {walls[count]:15.2f} {cpu:8.2f} {compute:9.2f}")
            sys.stdout.flush()
    if 10 in walls and 20 in walls:
        print(f"  20 vs 10 objectives: cold run wall x{walls[20] / walls[10]:.2f}")
    print(
        "  (cold run: `jaxcalc run` in a new process, an empty persistent cache, report "
        "included; CPU: all its threads and the report's helper)"
    )
    sys.stdout.flush()


def program_rows(path: str, overrides=()) -> dict:
    """Print, per engine call of the config (compile only), its CPU seconds and JAX's
    durations of tracing, lowering and XLA compiling (main program, curvature check);
    return the totals."""
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
    config = load_config(path, overrides=overrides)
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
    return {
        "engine_calls": len(head) - 1,
        "engine_calls_cpu": total["cpu"],
        "xla": sum(total.get((k, "xla"), 0.0) for k in ("main", "check", "other")),
        "process_cpu": time.process_time(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 steps: a smoke run")
    parser.add_argument(
        "--pipeline",
        nargs="*",
        metavar="CONFIG",
        help="the cold and warm `jaxcalc run` rows of these configs (names in configs/ or "
        f"paths; default: {' '.join(PIPELINE_TARGETS)}), each against the peers",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="--pipeline: without the raw scan and optax loop"
    )
    parser.add_argument(
        "--loop-steps",
        type=int,
        metavar="N",
        help="the optax loop takes only N steps per cell, its time scaled up linearly",
    )
    parser.add_argument(
        "--scaling",
        nargs="*",
        type=int,
        metavar="COUNT",
        help="the grid with COUNT objectives each (default: 5 10 20): compile CPU, cold run",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per pipeline row")
    parser.add_argument("--programs", metavar="CONFIG", help="where CONFIG's compile time goes")
    parser.add_argument("--json", metavar="FILE", help="--programs: its totals to FILE")
    parser.add_argument("--starts", type=int, help="starts per objective (starts.count)")
    parser.add_argument("--steps", type=int, help="steps per run (run.steps)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="as `jaxcalc run --set`"
    )
    args = parser.parse_args()
    overrides = list(args.set)
    if args.starts:
        overrides.append(f"starts.count={args.starts}")
    if args.steps:
        overrides.append(f"run.steps={args.steps}")
    if args.quick:
        overrides.append("run.steps=100")
    if args.programs:
        totals = program_rows(args.programs, overrides)
        if args.json:
            import json

            Path(args.json).write_text(json.dumps(totals))
        return
    if args.pipeline is not None or args.scaling is not None:
        print(f"# benchmarks/experiments.py  {datetime.datetime.now():%Y-%m-%d %H:%M}")
        print(
            f"# {os.cpu_count()} cores, python {platform.python_version()}, jax {jax.__version__}, "
            f"optax {optax.__version__}, overrides {overrides or 'none'}"
        )
        print(f"# load average at start: {os.getloadavg()}")
        if args.pipeline is not None:
            names = args.pipeline or list(PIPELINE_TARGETS)
            pipeline(names, args.repeats, overrides, not args.no_peers, args.loop_steps)
        if args.scaling is not None:
            scaling(args.scaling or [5, 10, 20], args.repeats, overrides)
        print(f"# load average at the end: {os.getloadavg()}")
        return

    import peers as hand

    config = load_config(CONFIG, overrides=overrides)
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
        cells = hand.config_cells(config)  # the starts jaxcalc ran
        peer = hand.measure(cells, config, args.loop_steps)  # compiles afresh, no cache
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    loop_wall = peer.loop_first.wall + peer.loop_rest.wall
    scan_wall = peer.scan_compile.wall + peer.scan_run.wall

    print()
    print(f"  {'method':44s} {'wall s':>8s} {'compile s':>10s} {'run s':>8s} {'run-steps/s':>12s}")
    rows = [
        ("jaxcalc run, cold compile cache", *cold),
        ("jaxcalc run, warm (persistent cache)", *warm),
        (
            "raw jit(vmap(lax.scan)), cell by cell",
            scan_wall,
            peer.scan_compile.wall,
            peer.scan_run.wall,
        ),
    ]
    for label, wall, comp, run in rows:
        print(f"  {label:44s} {wall:8.1f} {comp:10.1f} {run:8.2f} {run_steps / wall:12.3g}")
    print(
        f"  {'optax Python loop, cell by cell (' + str(peer.cells) + ' cells)':44s} "
        f"{loop_wall:8.1f} {peer.loop_first.wall:10.1f} {peer.loop_rest.wall:8.2f} "
        f"{run_steps / loop_wall:12.3g}"
    )
    print(
        "  (jaxcalc compiles the next groups in a background thread while a group runs: "
        "compile s + run s can exceed wall s; the optax loop's compile s is its first "
        "calls, tracing, compiling and one step)"
    )
    print()
    print(
        f"  target: wall <= {TARGET_SECONDS:.0f} s (cold): {cold[0]:.1f} s -> "
        f"{'met' if cold[0] <= TARGET_SECONDS else 'NOT met'}"
    )
    print(
        f"  jaxcalc cold vs the optax loop: {loop_wall / cold[0]:.2f}x faster; "
        f"warm: {loop_wall / warm[0]:.2f}x"
    )
    sys.stdout.flush()
    if not args.quick:
        rows = {n: cold_and_warm(config_path(n), 1, overrides) for n in PIPELINE_TARGETS}
        print_pipeline_rows(rows, 1)


if __name__ == "__main__":
    main()
