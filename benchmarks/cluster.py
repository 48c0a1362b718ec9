"""Past one machine: one process against two (jax.distributed) and two shards, on the same
BBOB experiment, and a projection of a 10^9 run-step BBOB study on 1, 8 and 64 hosts.

Peers, each a new process with an empty compilation cache, on the same config:

* ``jaxcalc run`` in one process;
* ``jaxcalc run`` as two processes on localhost (``--coordinator``), lanes over both;
* two shards (``--shard 0/2``, ``--shard 1/2``) run at once, then ``jaxcalc merge``.

The projection takes the one-process run's measured compile seconds per program and its
run rate (run-steps x dimension per second of run time) and deals a study's programs to
hosts as ``jaxcalc run --shard`` does (largest first, to the least-loaded host).

Usage:
    python benchmarks/cluster.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTIONS = (1, 2, 3, 5, 6, 7, 8, 10)


def config_text(starts: int, steps: int, dim: int) -> str:
    objectives = "".join(f'\n[[objectives]]\nname = "bbob_f{f}"\ndim = {dim}\n' for f in FUNCTIONS)
    return f"""name = "cluster_bench"
seed = 0
dtype = "float64"
[starts]
count = {starts}
[run]
steps = {steps}
record_every = 10
target = 1e-8
[[optimizers]]
name = "adam"
learning_rate = 0.05
[[optimizers]]
name = "bfgs"
{objectives}"""


def env() -> dict[str, str]:
    e = dict(os.environ, JAXCALC_NO_CACHE="1", JAX_PLATFORMS="cpu")
    root = str(Path(__file__).resolve().parent.parent)
    e["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [e.get("PYTHONPATH")])])
    return e


def jaxcalc(*args: str) -> list[str]:
    return [sys.executable, "-m", "jaxcalc", *args]


def timed(commands: list[list[str]]) -> float:
    """Wall seconds until every command (started at once) has finished."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(c, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for c in commands
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            sys.exit(f"failed: {err.decode()[-1500:]}")
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller experiment")
    args = parser.parse_args()
    starts, steps, dim = (64, 200, 5) if args.quick else (500, 1000, 5)
    tmp = Path(tempfile.mkdtemp(prefix="jaxcalc-cluster-"))
    config = tmp / "cluster.toml"
    config.write_text(config_text(starts, steps, dim))
    common = ["--no-report", "--quiet"]
    one = timed([jaxcalc("run", str(config), "--out", str(tmp / "one"), *common)])
    coordinator = f"localhost:{free_port()}"
    two = timed(
        [
            jaxcalc(
                "run",
                str(config),
                "--out",
                str(tmp / f"two{i}"),
                *common,
                "--coordinator",
                coordinator,
                "--num-processes",
                "2",
                "--process-id",
                str(i),
            )  # fmt: skip
            for i in range(2)
        ]
    )
    t0 = time.perf_counter()
    shards = timed(
        [
            jaxcalc("run", str(config), "--shard", f"{i}/2", "--out", str(tmp / f"s{i}"), *common)
            for i in range(2)
        ]
    )
    merge = timed([jaxcalc("merge", str(tmp / "s0"), str(tmp / "s1"), "--out", str(tmp / "m"),
                           "--no-report")])  # fmt: skip
    shards_total = time.perf_counter() - t0

    manifest = json.loads((tmp / "one" / "manifest.json").read_text())
    groups = manifest["groups"]
    run_steps = sum(sum(g["status_counts"].values()) * g["steps"] for g in groups)
    compile_s = [g["compile_seconds"] for g in groups]
    run_s = sum(g["run_seconds"] for g in groups)
    rate = run_steps * dim / max(run_s, 1e-9)

    print(f"# cluster benchmark: {len(groups)} groups (8 BBOB functions, d={dim}, adam + bfgs),")
    print(f"# {starts} starts x {steps} steps each = {run_steps:.3g} run-steps; every peer a new")
    print("# process with an empty compilation cache")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, ")
    import jax

    print(f"# jax {jax.__version__}; {datetime.date.today()}")
    print()
    print("| peer | wall s | run-steps/s | vs one process |")
    print("|---|---:|---:|---:|")
    for name, wall in (
        ("one process", one),
        ("two processes (jax.distributed)", two),
        ("two shards at once + merge", shards_total),
    ):
        print(f"| {name} | {wall:.1f} | {run_steps / wall:.3g} | {one / wall:.2f}x |")
    print(f"\n(the two shards: {shards:.1f} s; the merge after them: {merge:.1f} s)")
    print(
        f"\nmeasured: compile {statistics.median(compile_s):.2f} s per group (median), run "
        f"{rate:.3g} run-steps x dim per second of run time"
    )

    # a 1e9 run-step BBOB study: 24 functions x dims (2, 3, 5, 10, 20, 40) x 10 programs
    # (optimizers or stacks), 15 instances as lanes; run-steps shared out evenly by program
    from jaxcalc.pipeline.shard import assign

    dims = (2, 3, 5, 10, 20, 40)
    programs = [(f, d, o) for f in range(24) for d in dims for o in range(10)]
    per_program = 1e9 / len(programs)
    compile_median = statistics.median(compile_s)
    costs = [compile_median + per_program * d / rate for _, d, _ in programs]
    print(
        f"\nprojection, a 10^9 run-step BBOB study ({len(programs)} programs: 24 functions x "
        f"6 dimensions x 10 optimizers, {per_program:.3g} run-steps each):\n"
    )
    print("| hosts | compile s per host | run s per host | wall per host (slowest) | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    base = sum(costs)
    for hosts in (1, 8, 64):
        loads = [sum(costs[b] for b in mine) for mine in assign(costs, hosts)]
        slowest = max(range(hosts), key=lambda h: loads[h])
        n_programs = len(assign(costs, hosts)[slowest])
        compile_part = n_programs * compile_median
        print(
            f"| {hosts} | {compile_part:.0f} | {loads[slowest] - compile_part:.0f} | "
            f"{loads[slowest] / 60:.1f} min | {base / loads[slowest]:.1f}x |"
        )


if __name__ == "__main__":
    main()
