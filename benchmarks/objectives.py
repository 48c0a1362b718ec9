"""Throughput of jaxcalc's BBOB functions against COCO's own implementation (cocoex).

Run from the repository root::

    python benchmarks/objectives.py            # 10^5 points in D = 10, a minute or two
    python benchmarks/objectives.py --quick    # smoke run: 10^4 points, fewer repeats

For each of the 24 noiseless BBOB functions (instance 1, D = 10) one table row gives:

* ``compile``: wall time of the first call of ``jax.jit(f)`` on the float64 batch (trace,
  compile and one run), reported separately from the steady state;
* ``jaxcalc f64`` / ``jaxcalc f32``: points/s of the jitted, batched function on ``--points``
  points in ``[-5, 5]^10`` (inputs already on the device; each sample ends with
  ``block_until_ready``), median over ``--repeats`` samples after the compile call;
* ``cocoex``: points/s of cocoex's problem called once per point from a Python loop (how COCO
  is used from Python), timed on the first ``--coco-points`` points and scaled; median over
  three loops;
* ``ratio``: jaxcalc float64 over cocoex (both compute in float64);
* ``max rel err``: the largest ``|jaxcalc - cocoex| / max(1, |cocoex|)`` over the cocoex
  subsample -- the benchmark also checks it computes the same numbers.

The header prints the machine, versions, date and the load average: on a shared machine with
a load above the CPU count, read the medians with care. XLA runs each kernel on one core here.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

jax.config.update("jax_enable_x64", True)

import cocoex  # noqa: E402

from jaxcalc.objectives.bbob import BBOB_NAMES, bbob  # noqa: E402


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000, help="batch size for jaxcalc")
    parser.add_argument("--coco-points", type=int, default=2_000, help="points timed in cocoex")
    parser.add_argument("--repeats", type=int, default=7, help="timed jaxcalc calls per row")
    parser.add_argument("--dimension", type=int, default=10)
    parser.add_argument("--instance", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10^4 points, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.points, args.coco_points, args.repeats = 10_000, 500, 3
    return args


def _time_jax(fn, x, repeats: int) -> float:
    """Median wall time of ``fn(x)`` (already compiled), each call waited for."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x).block_until_ready()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _time_coco(problem, points: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    """Median wall time of one Python loop calling ``problem`` on every point, and values."""
    samples = []
    values = np.empty(len(points))
    for _ in range(repeats):
        t0 = time.perf_counter()
        for k, row in enumerate(points):
            values[k] = problem(row)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), values


def _header(args: argparse.Namespace) -> list[str]:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return [
        "# jaxcalc BBOB functions vs cocoex",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {load}",
        f"- python {platform.python_version()}, jax {jax.__version__}, "
        f"jaxlib {jaxlib.__version__}, "
        f"numpy {np.__version__}, cocoex {cocoex.__version__}, backend "
        f"{jax.default_backend()} ({jax.devices()[0].device_kind})",
        f"- D = {args.dimension}, instance {args.instance}; jaxcalc: {args.points:,} points, "
        f"median of {args.repeats}; cocoex: Python loop over {args.coco_points:,} points, "
        "median of 3, scaled",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    d = args.dimension
    rng = np.random.default_rng(0)
    x64 = rng.uniform(-5.0, 5.0, (args.points, d))
    x_dev64 = jnp.asarray(x64)
    x_dev32 = jnp.asarray(x64.astype(np.float32))
    x_coco = x64[: args.coco_points]
    suite = cocoex.Suite("bbob", f"instances: {args.instance}", f"dimensions: {d}")

    lines = _header(args)
    lines.append(
        "| f | name | compile (s) | jaxcalc f64 (points/s) | jaxcalc f32 (points/s) "
        "| cocoex (points/s) | ratio f64/cocoex | max rel err |"
    )
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines), flush=True)

    ratios = []
    for fid in sorted(BBOB_NAMES):
        inst = bbob(fid, d, args.instance)
        fn = jax.jit(inst.fn)

        t0 = time.perf_counter()
        fn(x_dev64).block_until_ready()
        compile_s = time.perf_counter() - t0
        fn(x_dev32).block_until_ready()  # compile the float32 kernel too (not reported)

        rate64 = args.points / _time_jax(fn, x_dev64, args.repeats)
        rate32 = args.points / _time_jax(fn, x_dev32, args.repeats)

        problem = suite.get_problem_by_function_dimension_instance(fid, d, args.instance)
        coco_s, coco_values = _time_coco(problem, x_coco)
        problem.free()
        rate_coco = len(x_coco) / coco_s

        ours = np.asarray(fn(jnp.asarray(x_coco)))
        err = float(np.max(np.abs(ours - coco_values) / np.maximum(1.0, np.abs(coco_values))))
        ratio = rate64 / rate_coco
        ratios.append(ratio)
        row = (
            f"| {fid} | {BBOB_NAMES[fid]} | {compile_s:.2f} | {rate64:,.0f} | {rate32:,.0f} "
            f"| {rate_coco:,.0f} | {ratio:,.0f}x | {err:.1e} |"
        )
        print(row, flush=True)

    suite.free()
    geo = float(np.exp(np.mean(np.log(ratios))))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"\nratio f64/cocoex: min {min(ratios):,.0f}x, geometric mean {geo:,.0f}x, "
        f"max {max(ratios):,.0f}x; load average at the end {load}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
