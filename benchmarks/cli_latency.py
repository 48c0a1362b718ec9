"""Latency of the ``jaxcalc`` command: each subcommand, in a new process, against two floors.

Run from the repository root::

    python benchmarks/cli_latency.py               # 7 repeats per command, ~2 minutes
    python benchmarks/cli_latency.py --repeats 3   # quicker
    python benchmarks/cli_latency.py --no-cache    # with JAXCALC_NO_CACHE=1
    python benchmarks/cli_latency.py --baseline ../other-checkout   # before/after

With ``--baseline DIR`` every jaxcalc row is timed a second time with ``PYTHONPATH=DIR``
(another checkout, e.g. a ``git worktree`` of the previous commit), in the same rounds, so
that before and after meet the same load.

Every row is a fresh ``python -m jaxcalc ...`` process (what a user waits for after
pressing Enter), timed from spawn to exit. The floors are ``python -c pass`` (the
interpreter) and ``python -c "import jax"`` (the price of JAX before any work). The rows
are timed interleaved, round after round, in an order rotated each round, so that load
changes on a shared machine hit them alike; the table gives the median and the best
(minimum) wall time and CPU time (user + system, from ``os.wait4``: less sensitive to
other jobs on a shared machine than wall time), and each row's median minus the
``import jax`` floor's median. The calculus commands do their sympy and matplotlib part in
a child process beside the JAX work: the CPU column counts both processes, and the wall
column is what the user waits for.

The persistent compilation cache is left as the user has it (on by default): the first
round is untimed, so a calculus command's compiled programs are in the cache when the
timed rounds run, as they are for anyone who ran that command before. ``--no-cache``
measures the cold compile instead.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(tmp: str) -> list[tuple[str, list[str]]]:
    """(label, argv) of every row; argv after ``python``."""
    jc = ["-m", "jaxcalc"]
    return [
        ("python -c pass", ["-c", "pass"]),
        ("python -c 'import jax'", ["-c", "import jax"]),
        ("jaxcalc --version", [*jc, "--version"]),
        ("jaxcalc --help", [*jc, "--help"]),
        ("jaxcalc diff (usage error)", [*jc, "diff", "x^2", "--at"]),
        ('diff "3x^2+1" --at 2', [*jc, "diff", "3x^2+1", "--at", "2"]),
        ('diff "sin(x)" --order 5 --at 1', [*jc, "diff", "sin(x)", "--order", "5", "--at", "1"]),
        ('tangent "x^3 - 1/x" --at 1', [*jc, "tangent", "x^3 - 1/x", "--at", "1"]),
        ('check "abs(x)" --at 0', [*jc, "check", "abs(x)", "--at", "0"]),
        ('critical "x^3 - 3x" --range -3 3', [*jc, "critical", "x^3 - 3x", "--range", "-3", "3"]),
        (
            'plot "sin(x)" --derivative -o f.png',
            [*jc, "plot", "sin(x)", "--derivative", "-o", os.path.join(tmp, "f.png")],
        ),
        ("list optimizers", [*jc, "list", "optimizers"]),
    ]


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds from spawn to exit, the process's CPU seconds (user + system), and its
    exit code."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *argv],
        env=env,
        cwd=tempfile.gettempdir(),  # not the checkout: python -m would import it first
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--no-cache", action="store_true", help="set JAXCALC_NO_CACHE=1")
    parser.add_argument("--only", help="time only rows whose label contains this text")
    parser.add_argument("--baseline", metavar="DIR", help="also time the checkout in DIR")
    args = parser.parse_args()

    def environment(checkout: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(checkout) + os.pathsep + env.get("PYTHONPATH", "")
        if args.no_cache:
            env["JAXCALC_NO_CACHE"] = "1"
        return env

    import jax  # versions only; the rows run in their own processes

    print(f"# benchmarks/cli_latency.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}")
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"jax {jax.__version__}, cache {'off' if args.no_cache else 'on'}, "
        f"load {tuple(round(v, 2) for v in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = [(label, argv, environment(ROOT)) for label, argv in commands(tmp)]
        if args.only:
            rows = [r for r in rows if r[0].startswith("python") or args.only in r[0]]
        if args.baseline:
            base = environment(Path(args.baseline).resolve())
            rows += [(f"{label} [baseline]", argv, base) for label, argv, _ in rows if "-m" in argv]
        codes = {label: time_once(argv, env)[2] for label, argv, env in rows}  # warm-up round
        wall: dict[str, list[float]] = {label: [] for label, _, _ in rows}
        cpu: dict[str, list[float]] = {label: [] for label, _, _ in rows}
        for r in range(args.repeats):
            order = rows[r % len(rows) :] + rows[: r % len(rows)]
            for label, argv, env in order:
                w, c, _ = time_once(argv, env)
                wall[label].append(w)
                cpu[label].append(c)
    floor = "python -c 'import jax'"
    floor_wall, floor_cpu = statistics.median(wall[floor]), statistics.median(cpu[floor])
    print(f"# {args.repeats} rounds, interleaved; load at end {os.getloadavg()[0]:.2f}")
    print("# wall: spawn to exit; cpu: the process's user + system seconds (less sensitive")
    print("# to other jobs on the machine); '- floor': median minus the import-jax median")
    print(
        f"{'command':<40} {'wall med':>8} {'best':>6} {'- floor':>8}"
        f" {'cpu med':>8} {'best':>6} {'- floor':>8}  exit"
    )
    for label, _, _ in rows:
        w, c = statistics.median(wall[label]), statistics.median(cpu[label])
        print(
            f"{label:<40} {w:>8.2f} {min(wall[label]):>6.2f} {w - floor_wall:>+8.2f}"
            f" {c:>8.2f} {min(cpu[label]):>6.2f} {c - floor_cpu:>+8.2f}  {codes[label]}"
        )


if __name__ == "__main__":
    main()
