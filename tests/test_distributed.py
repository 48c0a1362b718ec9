"""One run over several processes (``jax.distributed``), for real: two processes on
localhost with CPU devices, against the same work in one process (no mocks).

Oracle: the one-process run. The two-process run's tables must equal it in every column
but the timings, and only process 0 may write results.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from jaxcalc_testing import forced_devices_env

from jaxcalc.engine import distributed
from jaxcalc.errors import ConfigError

CONFIG = """
name = "two_processes"
seed = 11
dtype = "float64"

[starts]
count = 6

[run]
steps = 12
record_every = 3
target = 1e-3

[[objectives]]
name = "himmelblau"

[[optimizers]]
name = "adam"
learning_rate = [0.05, 0.2]

[[optimizers]]
name = "bfgs"
"""
TIMINGS = {"compile_seconds", "run_seconds"}

SCRIPT = """
import sys, json, numpy as np
import jaxcalc
from jaxcalc.engine import distributed
if len(sys.argv) > 1:
    distributed.initialize(sys.argv[1], 2, int(sys.argv[2]), timeout=60)
x0 = np.random.default_rng(3).uniform(-4, 4, (10, 2))
results = jaxcalc.optimize_many(
    "himmelblau",
    [("adam", {"learning_rate": [0.05, 0.2]}), ("sgd", {"learning_rate": 0.01})],
    x0,
    12,
)
print(json.dumps([
    [t.status.tolist(), t.values.tolist(), t.final_params.tolist(),
     t.function_evaluations.tolist(), t.devices]
    for t in results
]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = forced_devices_env(1)
    env["JAXCALC_NO_CACHE"] = "1"
    return env


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in r.items() if k not in TIMINGS} for r in csv.DictReader(handle)]


def _two(args_of, timeout=600):
    """Run two processes (process 0 first), returning their completed processes."""
    port = _free_port()
    coordinator = f"localhost:{port}"
    procs = [
        subprocess.Popen(
            args_of(coordinator, i),
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
    return [o for o, _ in outs]


def test_an_experiment_on_two_processes_equals_one(tmp_path):
    config = tmp_path / "two.toml"
    config.write_text(CONFIG)
    cli = [sys.executable, "-m", "jaxcalc", "run", str(config), "--no-report", "--quiet"]
    one = tmp_path / "one"
    done = subprocess.run([*cli, "--out", str(one)], env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    two, elsewhere = tmp_path / "two", tmp_path / "process1"

    def args_of(coordinator, i):
        out = two if i == 0 else elsewhere
        flags = ["--coordinator", coordinator, "--num-processes", "2", "--process-id", str(i)]
        return [*cli, "--out", str(out), *flags]

    _two(args_of)
    for table in ("summary.csv", "runs.csv"):
        assert _rows(two / table) == _rows(one / table)
    assert not elsewhere.exists()  # only process 0 writes
    metadata = json.loads((two / "metadata.json").read_text())
    assert len(metadata["platform"]["devices"]) == 2  # lanes over both processes' devices


def test_optimize_many_on_two_processes_equals_one(tmp_path):
    script = tmp_path / "many.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    alone = json.loads(done.stdout)
    outs = _two(lambda coordinator, i: [sys.executable, str(script), coordinator, str(i)])
    for out in outs:  # every process holds every run's results (after Gloo's own lines)
        both = json.loads(out.strip().splitlines()[-1])
        assert [r[:4] for r in both] == [r[:4] for r in alone]
        assert [r[4] for r in both] == [2, 2] and [r[4] for r in alone] == [1, 1]


def test_an_unreachable_coordinator_is_one_line_and_writes_nothing(tmp_path):
    config = tmp_path / "two.toml"
    config.write_text(CONFIG)
    out = tmp_path / "never"
    done = subprocess.run(
        [
            sys.executable, "-m", "jaxcalc", "run", str(config), "--out", str(out),
            "--coordinator", f"localhost:{_free_port()}", "--num-processes", "2",
            "--process-id", "1", "--coordinator-timeout", "1",
        ],
        env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "could not reach the coordinator" in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (("localhost", 2, 0), "HOST:PORT"),
        (("localhost:99999", 2, 0), "HOST:PORT"),
        (("localhost:1234", 2, 2), "in 0..1"),
        (("localhost:1234", 0, 0), "at least 1"),
        (("localhost:1234", None, 0), "together"),
    ],
)
def test_bad_process_flags_are_refused_before_anything_starts(args, needle):
    with pytest.raises(ConfigError, match=needle):
        distributed.initialize(*args)


def test_slurm_steps_of_several_tasks_are_recognised():
    assert distributed.from_environment({"SLURM_NTASKS": "4", "SLURM_PROCID": "1"})
    assert not distributed.from_environment({"SLURM_NTASKS": "1", "SLURM_PROCID": "0"})
    assert not distributed.from_environment({"SLURM_ARRAY_TASK_ID": "3"})
    with pytest.raises(ConfigError, match="SLURM_NTASKS"):
        distributed.from_environment({"SLURM_NTASKS": "x", "SLURM_PROCID": "0"})
