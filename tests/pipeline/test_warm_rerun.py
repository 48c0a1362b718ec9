"""A rerun of the same config in a new process loads every program from the persistent
compilation cache and writes the same tables.

Oracle: the first run's own files, from another process that compiled every program itself
(nothing is shared between the two processes but the cache folder), and JAX's own log of
its persistent cache (a program compiled afresh is written to the cache; one loaded is a
hit).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """
name = "warm-rerun"
seed = 3
dtype = "float32"

[starts]
count = 6

[run]
steps = 30
record_every = 5
target = 1e-4

[[objectives]]
name = "booth"

[[objectives]]
name = "rosenbrock"
dim = 2

[[optimizers]]
name = "adam"
learning_rate = [0.05, 0.2]

[[optimizers]]
name = "bfgs"
"""

# runs the CLI in a new process and prints what JAX's persistent cache did
_RUN = """
import logging, sys
events = {"hit": 0, "written": 0}
class Count(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        if text.startswith("Persistent compilation cache hit"):
            events["hit"] += 1
        elif text.startswith("Writing") and "persistent compilation cache" in text:
            events["written"] += 1
for name in ("jax._src.compiler", "jax._src.compilation_cache"):
    logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger(name).addHandler(Count())
from jaxcalc.cli.app import main
code = main(["run", sys.argv[1], "--out", sys.argv[2], "--no-report", "--quiet"])
print("CACHE", events["hit"], events["written"])
sys.exit(code)
"""

# columns that measure this run's own seconds, not its results
_TIMES = ("compile_seconds", "run_seconds")


def _run(config: Path, out: Path, cache: Path) -> tuple[int, int]:
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAXCALC_CACHE_DIR=str(cache))
    env.pop("JAXCALC_NO_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(config), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(s for s in done.stdout.splitlines() if s.startswith("CACHE "))
    hits, written = map(int, line.split()[1:])
    return hits, written


def _table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return [{k: v for k, v in row.items() if k not in _TIMES} for row in csv.DictReader(fh)]


@pytest.mark.slow  # two new processes: about 13 s of CPU
def test_warm_rerun_loads_every_program_and_writes_the_same_tables(tmp_path):
    config = tmp_path / "warm.toml"
    config.write_text(CONFIG)
    cache = tmp_path / "xla"
    cold_hits, cold_written = _run(config, tmp_path / "cold", cache)
    warm_hits, warm_written = _run(config, tmp_path / "warm", cache)
    assert cold_written > 0  # the first process compiled its programs and kept them
    # nothing compiled afresh; the rerun loads its programs from the program cache
    # (jaxcalc.engine.exported) without tracing them, so it also skips the small programs
    # a trace evaluates eagerly: fewer lookups than the first run made
    assert warm_written == 0 and 0 < warm_hits <= cold_hits + cold_written
    for name in ("summary.csv", "runs.csv", "tests.csv"):
        cold = _table(tmp_path / "cold" / name)
        assert cold  # rows to compare
        assert _table(tmp_path / "warm" / name) == cold, name
