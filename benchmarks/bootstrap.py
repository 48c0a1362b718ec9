"""What the statistics of a summary row cost: jaxcalc's five bootstrap intervals against
the same five with ``scipy.stats.bootstrap``, next to the row's summary without them.

One row of the experiment grid (``configs/grid_benchmark.toml``): 1000 runs, 101 records.
Peers, in this process, on the same synthetic row:

* ``summary without intervals``: the built-in metrics (``success_rate`` ... ``aocc``);
* ``jaxcalc intervals``: :func:`jaxcalc.pipeline.tables.interval_columns` (one set of
  resamples for the five aggregates, statistics of the drawn run indices);
* ``scipy.stats.bootstrap x5``: the same five intervals, one ``bootstrap`` call each
  (BCa where jaxcalc uses BCa), from the same seed.

Usage:
    python benchmarks/bootstrap.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time

import numpy as np
import scipy
import scipy.stats

import jaxcalc
from jaxcalc.pipeline import tables


def synthetic_row(n: int, records: int, seed: int = 0) -> tables.SettingRuns:
    """A row of ``n`` runs converging at random rates, half of them to the target."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.02, 0.3, (n, 1))
    precision = 1e2 * np.exp(-rate * np.arange(records)) * rng.lognormal(0, 0.3, (n, records))
    precision = np.minimum.accumulate(precision, axis=1)
    evaluations = np.broadcast_to(1.0 + 10 * np.arange(records), (n, records)).copy()
    reached = precision <= 1e-8
    first = np.argmax(reached, axis=1)
    hit = np.where(reached.any(axis=1), evaluations[0, first], -1.0)
    return tables.SettingRuns(
        final=precision[:, -1],
        f_opt=0.0,
        precision=precision[:, -1],
        status=np.array(["max_steps"] * n),
        target=1e-8,
        steps_to_target=np.where(hit >= 0, first * 10, -1),
        evaluations_to_target=hit,
        evaluations=np.full(n, evaluations[0, -1]),
        steps_run=np.full(n, 10 * (records - 1)),
        event_step=-np.ones(n, int),
        function_evaluations=np.full(n, evaluations[0, -1]),
        gradient_evaluations=np.zeros(n),
        hessian_evaluations=np.zeros(n),
        record_values=precision,
        record_evaluations=evaluations,
        horizon=1e4,
    )


def scipy_intervals(runs: tables.SettingRuns, seed: int) -> None:
    hit, spent = runs.evaluations_to_target, runs.evaluations

    def ert(h, s, axis=-1):
        success = h >= 0
        with np.errstate(divide="ignore"):
            return np.where(success, h, s).sum(axis=axis) / success.sum(axis=axis)

    calls = [
        (((hit >= 0).astype(float),), np.mean, "percentile", False),
        ((runs.precision,), np.median, "BCa", False),
        ((hit, spent), ert, "percentile", True),
        ((runs.run_ecdf_area(),), np.mean, "BCa", False),
        ((runs.run_aocc(),), np.mean, "BCa", False),
    ]
    for data, statistic, method, paired in calls:
        scipy.stats.bootstrap(
            data, statistic, n_resamples=2000, method=method, paired=paired,
            vectorized=True, rng=np.random.default_rng(seed),
        )  # fmt: skip


def timed(function, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.process_time()
        function()
        out.append(time.process_time() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 15")
    args = parser.parse_args()
    rounds = 3 if args.quick else 15
    print("# jaxcalc statistics benchmark")
    print(f"# {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    print(f"# jaxcalc {jaxcalc.__version__}, numpy {np.__version__}, scipy {scipy.__version__}")
    print("# CPU seconds per row (process_time), median and best of the rounds")
    print(f"{'runs':>6s} {'records':>8s}  {'peer':34s} {'median s':>9s} {'best s':>8s}")
    options = tables.Statistics(seed=0)
    for n, records in ((100, 101), (1000, 101), (10000, 101)):
        runs = synthetic_row(n, records)
        runs.run_ecdf_area(), runs.run_aocc()  # computed once per row, as the tables do
        peers = {
            "summary without intervals": lambda r=runs: [m(r) for m in tables._BUILTIN_METRICS],
            "jaxcalc intervals": lambda r=runs: tables.interval_columns(r, {"k": 1}, options),
            "scipy.stats.bootstrap x5": lambda r=runs: scipy_intervals(r, 0),
        }
        medians = {}
        for name, function in peers.items():
            seconds = timed(function, rounds if n < 10000 else max(1, rounds // 3))
            medians[name] = statistics.median(seconds)
            print(f"{n:6d} {records:8d}  {name:34s} {medians[name]:9.4f} {min(seconds):8.4f}")
        ratio = medians["scipy.stats.bootstrap x5"] / medians["jaxcalc intervals"]
        print(f"{'':16s}scipy / jaxcalc intervals: {ratio:.1f}x")


if __name__ == "__main__":
    main()
