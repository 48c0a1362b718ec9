"""CPU and wall seconds per stage of one ``jaxcalc run``, in this process.

Each stage is timed by the CPU time of the thread that runs it (``time.thread_time``), so a
stage's figure holds no work of the engine's thread pool or of the background compile
thread, and it means the same on a busy machine as on a quiet one; its wall seconds are
summed over its calls (stages of the compile and writer threads overlap the main
thread's, so only the main thread's stages add up to the run's wall time). Stages nest:
the rows indented under another are part of it. The last rows are the whole process's CPU
time (all threads), the CPU time of its child processes (the report's helper) and its
wall time.

Stages: importing jaxcalc and JAX, reading the config, the plan, compiling (the background
thread's ``compile_batch``; warm, the programs loaded from their exports), running the
engine (the main thread's share: dispatch and the host side), the batches written by the
writer thread (the summary rows, the bootstrap intervals apart, the group part files, the
tables: summary.csv after each group; runs.csv, tests.csv and fixed_budget.csv at the end),
the main thread's wait for the writer thread, the manifest, and the report by figure kind
(and its wait for the helper process at the end).

Usage:
    python benchmarks/pipeline_stages.py configs/grid_benchmark.toml [--cache DIR] [--no-report]
        [--out DIR] [--compare DIR]

``--cache DIR`` is the persistent compilation cache: an empty folder gives a cold run, a
folder a run of the same config filled a warm one (default: a fresh folder). ``--out DIR``
keeps the run's results there (default: a temporary folder). ``--compare DIR`` then
compares them byte for byte with another run's (another version of jaxcalc, say), timings
apart (:func:`compare_results`), and exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

_CPU = collections.defaultdict(float)
_WALL = collections.defaultdict(float)
_CALLS: collections.Counter = collections.Counter()


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(owner, name: str, stage: str) -> None:
    """Add the calling thread's CPU time and the wall time in ``owner.name`` to ``stage``."""
    function = getattr(owner, name, None)
    if function is None:  # a stage of another version of jaxcalc
        return

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start, start_wall = time.thread_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _CPU[stage] += time.thread_time() - start
            _WALL[stage] += time.perf_counter() - start_wall
            _CALLS[stage] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("--cache", help="persistent compilation cache folder (default: new)")
    parser.add_argument("--no-report", action="store_true", help="no figures and report")
    parser.add_argument("--out", help="the run's output folder, kept (default: a temporary one)")
    parser.add_argument(
        "--compare", metavar="DIR", help="then compare the results byte for byte with DIR's"
    )
    args = parser.parse_args()
    if args.compare and not (Path(args.compare) / "manifest.json").is_file():
        parser.error(f"--compare {args.compare}: not a run's output folder (no manifest.json)")

    with contextlib.ExitStack() as stack:
        temporary = functools.partial(tempfile.TemporaryDirectory, ignore_cleanup_errors=True)
        cache = args.cache or stack.enter_context(temporary(prefix="jaxcalc-xla-"))
        os.environ["JAXCALC_CACHE_DIR"] = cache
        out = args.out or stack.enter_context(temporary(prefix="jaxcalc-stages-"))
        profile(args.config, out, args.no_report)
        if args.compare:
            differences = compare_results(Path(out), Path(args.compare))
            for line in differences:
                print(f"  differs: {line}")
            same = "the same results" if not differences else f"{len(differences)} differences"
            print(f"# compared with {args.compare}: {same}")
            sys.exit(1 if differences else 0)


def profile(config_path: str, out: str, no_report: bool) -> None:
    """Run ``jaxcalc run config_path --out out`` with every stage timed; print the table."""
    start_cpu, start_wall = process_cpu(), time.perf_counter()
    import jax  # noqa: F401

    import jaxcalc  # noqa: F401
    from jaxcalc.cli import app
    from jaxcalc.engine import cache
    from jaxcalc.pipeline import ahead, comparisons, config, plan, record, stats, tables
    from jaxcalc.pipeline import report as report_package
    from jaxcalc.pipeline import run as pipeline_run
    from jaxcalc.pipeline.report import comparisons as report_comparisons
    from jaxcalc.pipeline.report import figures, render

    _CPU["import jax, jaxcalc, pipeline"] = process_cpu() - start_cpu
    for owner, name, stage in (
        (config, "load_config", "config"),
        (plan.GroupPlan, "__init__", "plan"),
        (plan.GroupPlan, "batch", "plan: batches"),
        (pipeline_run, "_prepare_report", "start the helper, import matplotlib"),
        (ahead.CompileAhead, "wait", "waiting for a batch's compile"),
        (ahead, "compile_batch", "compile (background thread)"),
        (cache, "lower_program", "  programs traced or loaded"),
        (ahead.CompileAhead, "run", "engine run (main thread)"),
        (pipeline_run, "_write_batch", "batches written (writer thread)"),
        (getattr(pipeline_run, "_Writes", None), "_settle", "waiting for the writer thread"),
        (tables, "summarise_group", "summary rows"),
        (stats, "bootstrap_intervals", "  bootstrap intervals"),
        (pipeline_run, "write_group_part", "group part files"),
        (pipeline_run, "write_finished_tables", "tables"),
        (comparisons, "test_rows", "  tests.csv rows"),
        (comparisons, "fixed_budget_rows", "  fixed_budget.csv rows"),
        (record.RunRecord, "save", "manifest"),
        (pipeline_run, "_finish", "the end: tables, manifest, report"),
        (report_package, "build_report", "report"),
        (report_package, "read_groups", "  read part files"),
        (figures, "_convergence", "  convergence figures"),
        (figures, "_contour_with_paths", "  path figures"),
        (report_package, "across_objectives", "  figures across objectives"),
        (report_comparisons, "_tests_section", "  tests figure"),
        (report_comparisons, "_fixed_budget_section", "  fixed-budget figure"),
        (report_comparisons, "_more_wild_section", "  More-Wild profiles"),
        (report_package, "report_html", "  report.html"),
        (render.FigureSaver, "finish", "  waiting for the helper"),
    ):
        timed(owner, name, stage)
    argv = ["run", config_path, "--out", out, "--overwrite", "--quiet"]
    code = app.main(argv + (["--no-report"] if no_report else []))
    total_cpu, wall = process_cpu() - start_cpu, time.perf_counter() - start_wall
    print(f"# benchmarks/pipeline_stages.py {config_path} (exit {code})")
    print(f"  {'stage':34s} {'CPU s':>7s} {'wall s':>7s} {'calls':>6s}")
    for stage, seconds in _CPU.items():
        wall_s = f"{_WALL[stage]:7.2f}" if stage in _WALL else ""
        print(f"  {stage:34s} {seconds:7.2f} {wall_s:>7s} {_CALLS[stage] or '':>6}")
    print(f"  {'process, all threads':34s} {total_cpu:7.2f}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    helper = children.ru_utime + children.ru_stime
    print(f"  {'child processes (report helper)':34s} {helper:7.2f}")
    print(f"  {'wall':34s} {wall:7.2f}")
    sys.stdout.flush()


TIMINGS = ("compile_seconds", "run_seconds")


def compare_results(a: Path, b: Path) -> list[str]:
    """What differs between two runs' results, byte for byte: every array of every group
    part (its summary rows without their timings), runs.csv, tests.csv, fixed_budget.csv
    and schedules.csv, summary.csv without its timing columns, the Parquet twins' columns
    (timings apart) and every figure's file."""
    import csv
    import io
    import json

    import numpy as np

    out = []
    parts = sorted(p.name for p in a.glob("group_*.npz"))
    if parts != sorted(p.name for p in b.glob("group_*.npz")):
        return ["the group parts"]
    for name in parts:
        with np.load(a / name) as x, np.load(b / name) as y:
            if sorted(x.files) != sorted(y.files):
                out.append(f"{name}: its arrays")
                continue
            for key in x.files:
                u, v = x[key], y[key]
                if key == "summary_rows":  # JSON text of the rows, with the timings
                    u, v = (json.loads(r.tobytes()) for r in (u, v))
                    for row in u + v:
                        for t in TIMINGS:
                            row.pop(t, None)
                    same = json.dumps(u) == json.dumps(v)
                else:
                    same = u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
                if not same:
                    out.append(f"{name}: {key}")
    for table in ("runs.csv", "tests.csv", "fixed_budget.csv", "schedules.csv"):
        x, y = a / table, b / table
        if x.exists() != y.exists() or (x.exists() and x.read_bytes() != y.read_bytes()):
            out.append(table)

    def untimed(path: Path) -> list[list[str]]:
        rows = list(csv.reader(io.StringIO(path.read_text())))
        keep = [i for i, c in enumerate(rows[0]) if c not in TIMINGS] if rows else []
        return [[r[i] for i in keep] for r in rows]

    if untimed(a / "summary.csv") != untimed(b / "summary.csv"):
        out.append("summary.csv (timings apart)")
    for table in ("runs.parquet", "summary.parquet"):
        if (a / table).exists() or (b / table).exists():
            import pyarrow.parquet as pq

            x, y = pq.read_table(a / table), pq.read_table(b / table)
            names = [c for c in x.column_names if c not in TIMINGS]
            same = x.schema == y.schema and all(
                [repr(v) for v in x[c].to_pylist()] == [repr(v) for v in y[c].to_pylist()]
                for c in names
            )
            if not same:
                out.append(f"{table} (timings apart)")
    figures = sorted(p.relative_to(a) for p in a.glob("figures/*"))
    if figures != sorted(p.relative_to(b) for p in b.glob("figures/*")):
        out.append("the list of figures")
    else:
        out += [str(f) for f in figures if (a / f).read_bytes() != (b / f).read_bytes()]
    return out


if __name__ == "__main__":
    main()
