"""Does ``numeric_derivative``'s error estimate bound its actual error? And how accurate is it?

Run from the repository root::

    python benchmarks/derivative_errors.py            # ~1 minute
    python benchmarks/derivative_errors.py --quick    # fewer distributions

The test functions are the peers' own:

* numdifftools' ``example_functions`` (``FUN_DICT``: 22 functions with their exact first
  derivatives), at points from 1e-6 to 10 on both sides of 0, wherever the function and
  its derivative are finite;
* scipy.differentiate's test cases (``scipy/differentiate/tests/test_differentiate.py``):
  the derivative of ``special.ndtr`` against ``stats.norm.pdf`` on ``linspace(-0.05,
  1.05, 10)``; of every continuous distribution's cdf at its median + 0.1 against its pdf
  (``stats._distr_params.distcont``); of ``2 x^n`` (n = 0..5) at 1.5 and ``x^99 - 1`` at 7.

For each case, ``jaxcalc.numeric_derivative(f, x, estimate_error=True)`` (the default,
adaptive step) gives a value and an estimate; the estimate *covers* the case when it is at
least the actual error ``|value - f'(x)|``. Float64 throughout, plus numdifftools' functions
in float32 (exact values in float64). The same cases go to ``scipy.differentiate.derivative``
(default settings, and with ``initial_step = |x| / 2``) and ``numdifftools.Derivative``, whose
errors are shown for comparison (scipy's own estimate's coverage too).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numdifftools as nd  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.differentiate as sd  # noqa: E402
from numdifftools.example_functions import FUN_DICT  # noqa: E402
from scipy import special, stats  # noqa: E402

import jaxcalc  # noqa: E402
from jaxcalc.numerical import numeric_derivative  # noqa: E402

POINTS = np.array([1e-6, 1e-3, 0.1, 0.5, 0.9, 2.0, 10.0])
POINTS = np.concatenate([-POINTS[::-1], [0.0], POINTS])
# cdfs whose single evaluation takes seconds (numerical integration): left out
SLOW_DISTRIBUTIONS = {"levy_stable", "studentized_range", "kstwo", "vonmises", "genhyperbolic"}


def numdifftools_cases():
    """(family, name, f, x, exact) for numdifftools' example functions."""
    cases = []
    for name, make in sorted(FUN_DICT.items()):
        f, df = make(0), make(1)
        with np.errstate(all="ignore"):
            for x in POINTS:
                fx, dfx = f(np.float64(x)), df(np.float64(x))
                if np.isfinite(fx) and np.isfinite(dfx):
                    cases.append(("numdifftools", name, f, float(x), float(dfx)))
    return cases


def scipy_cases(quick: bool):
    cases = [
        ("scipy", "ndtr", special.ndtr, float(x), float(stats.norm.pdf(x)))
        for x in np.linspace(-0.05, 1.05, 10)
    ]
    for n in range(6):
        cases.append(("scipy", f"2x^{n}", lambda x, n=n: 2 * x**n, 1.5, 2.0 * n * 1.5 ** (n - 1)))
    cases.append(("scipy", "x^99 - 1", lambda x: x**99 - 1, 7.0, 99 * 7.0**98))
    distributions = stats._distr_params.distcont[:: 6 if quick else 1]
    for name, params in distributions:
        if name in SLOW_DISTRIBUTIONS:
            continue
        dist = getattr(stats, name)(*params)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            x = float(dist.median()) + 0.1
            start = time.perf_counter()
            pdf = float(dist.pdf(x))
            dist.cdf(np.full(60, x))
            if time.perf_counter() - start > 0.5 or not np.isfinite(pdf):
                continue
        cases.append(("scipy", f"{name}.cdf", lambda v, d=dist: d.cdf(np.asarray(v)), x, pdf))
    return cases


def jaxcalc_result(f, x: float, dtype):
    def g(v):  # a NumPy function, called on the array of trial points
        return jnp.asarray(f(np.asarray(v)), dtype)

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        r = numeric_derivative(g, jnp.asarray(x, dtype), estimate_error=True)
    return float(r.value), float(r.error)


def peer_errors(f, x: float, exact: float) -> dict[str, float]:
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        res = sd.derivative(f, x)
        out["scipy"] = abs(float(res.df) - exact)
        out["scipy covers"] = float(res.error) >= out["scipy"]
        step = abs(x) / 2 if x != 0 else 0.5
        out["scipy x/2"] = abs(float(sd.derivative(f, x, initial_step=step).df) - exact)
        try:
            out["numdifftools"] = abs(float(nd.Derivative(f)(x)) - exact)
        except Exception:  # noqa: BLE001 - numdifftools refuses some cases
            out["numdifftools"] = math.nan
    return out


def summarise(label: str, rows: list[dict]) -> None:
    defined = [r for r in rows if math.isfinite(r["value"])]
    covered = sum(r["estimate"] >= r["error"] for r in defined)
    rel = np.array([r["error"] / max(abs(r["exact"]), 1e-300) for r in defined])
    ratio = np.array([r["estimate"] / max(r["error"], 1e-300) for r in defined])
    print(
        f"  {label:<34} {len(rows):>5} {len(rows) - len(defined):>6} "
        f"{covered / len(defined):>9.1%} {np.median(rel):>10.1e} {np.max(rel):>10.1e} "
        f"{np.median(ratio):>10.1e}"
    )
    if "scipy" in rows[0]:
        for peer in ("scipy", "scipy x/2", "numdifftools"):
            errs = np.array([r[peer] / max(abs(r["exact"]), 1e-300) for r in rows])
            errs = errs[np.isfinite(errs)]
            print(
                f"    {peer:<32} {'':>5} {'':>6} {'':>9} {np.median(errs):>10.1e} "
                f"{np.max(errs) if errs.size else math.nan:>10.1e}"
            )
        scipy_cov = np.mean([r["scipy covers"] for r in rows])
        print(f"    scipy's own estimate covers {scipy_cov:.1%} of these cases")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    print("jaxcalc numeric_derivative: error estimates against actual errors")
    print(f"date      {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"machine   {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}")
    print(
        f"versions  jaxcalc {jaxcalc.__version__}, jax {jax.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, numdifftools {nd.__version__}"
    )
    families = {
        "numdifftools example functions": numdifftools_cases(),
        "scipy.differentiate test cases": scipy_cases(args.quick),
    }
    print(
        f"\n  {'cases (float64 unless marked)':<34} {'n':>5} {'NaN':>6} {'covered':>9} "
        f"{'med rel':>10} {'max rel':>10} {'est/err':>10}"
    )
    everything = []
    for label, cases in families.items():
        rows = []
        for _, name, f, x, exact in cases:
            value, estimate = jaxcalc_result(f, x, jnp.float64)
            row = {"name": name, "x": x, "exact": exact, "value": value, "estimate": estimate}
            row["error"] = abs(value - exact)
            row.update(peer_errors(f, x, exact))
            rows.append(row)
        summarise(label, rows)
        everything += rows
        missed = [r for r in rows if math.isfinite(r["value"]) and r["estimate"] < r["error"]]
        for r in missed[:8]:
            print(
                f"      not covered: {r['name']} at {r['x']:g}: error {r['error']:.2e}, "
                f"estimate {r['estimate']:.2e}"
            )
    rows32 = []
    for _, _name, f, x, exact in families["numdifftools example functions"]:
        value, estimate = jaxcalc_result(f, x, jnp.float32)
        rows32.append(
            {"value": value, "estimate": estimate, "exact": exact, "error": abs(value - exact)}
        )
    summarise("numdifftools functions, float32", rows32)
    summarise("all float64 cases", everything)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
