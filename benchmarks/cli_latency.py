"""Latency of the ``jaxcalc`` command: each subcommand, in a new process, against two floors.

Run from the repository root::

    python benchmarks/cli_latency.py               # 7 repeats per command, ~2 minutes
    python benchmarks/cli_latency.py --repeats 3   # quicker
    python benchmarks/cli_latency.py --no-cache    # with JAXCALC_NO_CACHE=1

Every row is a fresh ``python -m jaxcalc ...`` process (what a user waits for after
pressing Enter), timed from spawn to exit. The floors are ``python -c pass`` (the
interpreter) and ``python -c "import jax"`` (the price of JAX before any work). The rows
are timed interleaved, round after round, in an order rotated each round, so that load
changes on a shared machine hit them alike; the table gives the median and the best
(minimum) wall time, and each row's median minus the ``import jax`` floor's median.

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


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds from spawn to exit, and the exit code."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, check=False
    )
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--no-cache", action="store_true", help="set JAXCALC_NO_CACHE=1")
    parser.add_argument("--only", help="time only rows whose label contains this text")
    args = parser.parse_args()

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if args.no_cache:
        env["JAXCALC_NO_CACHE"] = "1"
    import jax  # versions only; the rows run in their own processes

    print(f"# benchmarks/cli_latency.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}")
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"jax {jax.__version__}, cache {'off' if args.no_cache else 'on'}, "
        f"load {tuple(round(v, 2) for v in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = commands(tmp)
        if args.only:
            rows = [r for r in rows if r[0].startswith("python") or args.only in r[0]]
        codes = {label: time_once(argv, env)[1] for label, argv in rows}  # warm-up round
        samples: dict[str, list[float]] = {label: [] for label, _ in rows}
        for r in range(args.repeats):
            order = rows[r % len(rows) :] + rows[: r % len(rows)]
            for label, argv in order:
                samples[label].append(time_once(argv, env)[0])
    floor = statistics.median(samples["python -c 'import jax'"])
    print(f"# {args.repeats} rounds, interleaved; load at end {os.getloadavg()[0]:.2f}")
    print(f"{'command':<40} {'median s':>9} {'best s':>8} {'- floor s':>10}  exit")
    for label, _ in rows:
        med, best = statistics.median(samples[label]), min(samples[label])
        print(f"{label:<40} {med:>9.2f} {best:>8.2f} {med - floor:>+10.2f}  {codes[label]}")


if __name__ == "__main__":
    main()
