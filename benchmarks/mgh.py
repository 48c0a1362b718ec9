"""jaxcalc's optimizers against scipy's on the Moré-Garbow-Hillstrom set; writes docs/mgh.md.

Run from the repository root::

    python benchmarks/mgh.py                 # all 35 problems, a few minutes on 2 cores
    python benchmarks/mgh.py --problems 1 4 6 --steps 500 --out /tmp/mgh.md
    # in two processes: each saves its rows, then one renders them all
    python benchmarks/mgh.py --problems 1 ... 17 --save a.json
    python benchmarks/mgh.py --problems 18 ... 35 --save b.json
    python benchmarks/mgh.py --merge a.json b.json
    # jaxcalc's methods only; scipy's rows read back from the tables written before
    python benchmarks/mgh.py --scipy-from docs/mgh.md

From MGH's standard start of every problem, in float64, it runs jaxcalc's ``gd_armijo``,
``newton``, ``bfgs``, ``dfp``, ``sr1``, ``lbfgs`` (on f) and ``gauss_newton``,
``levenberg_marquardt`` (on the residuals), each for ``--steps`` steps with the engine's
defaults (gtol 1e-8), and in the same process scipy's ``minimize`` with BFGS, Newton-CG,
trust-exact and L-BFGS-B (maxiter ``--steps``, gtol 1e-8) and ``least_squares``
(method "lm", MINPACK). Derivatives for scipy come from JAX (jitted).

Per problem and method the table gives f reached, whether it reached f* (``|f - f*| <=
max(1e-6 |f*|, 1e-10)``, f* from :mod:`jaxcalc.objectives.mgh_minima`), the status,
iterations and evaluations (f + gradient + Hessian; scipy's nfev + njev + nhev). A
jaxcalc ``converged`` is *false* when the point is neither at f* nor at a recorded local
minimum of the problem (same tolerance), or when the recorded kind of that value is not a
minimum. The summary compares each pair (bfgs/BFGS, lbfgs/L-BFGS-B, newton/Newton-CG,
levenberg_marquardt/least_squares).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
import warnings

import jax
import numpy as np
import scipy
from scipy.optimize import least_squares, minimize

jax.config.update("jax_enable_x64", True)

import jaxcalc  # noqa: E402
from jaxcalc.objectives import get  # noqa: E402
from jaxcalc.objectives.mgh import PROBLEMS  # noqa: E402
from jaxcalc.objectives.mgh_minima import MINIMA  # noqa: E402

JAXCALC = ("gd_armijo", "newton", "bfgs", "dfp", "sr1", "lbfgs")
RESIDUAL = ("gauss_newton", "levenberg_marquardt")
SCIPY = ("BFGS", "Newton-CG", "trust-exact", "L-BFGS-B", "least_squares")
PAIRS = (
    ("bfgs", "BFGS"),
    ("lbfgs", "L-BFGS-B"),
    ("newton", "Newton-CG"),
    ("newton", "trust-exact"),
    ("levenberg_marquardt", "least_squares"),
)


def reached(f: float, target: float) -> bool:
    return bool(np.isfinite(f) and abs(f - target) <= max(1e-6 * abs(target), 1e-10))


def run_jaxcalc(obj, method: str, x0, steps: int) -> dict:
    t = jaxcalc.optimize(obj, method, x0, steps, record_every=steps)
    status = str(t.status)
    event = int(t.event_step)
    evaluations = int(t.function_evaluations + t.gradient_evaluations + t.hessian_evaluations)
    return {
        "f": float(t.final_values),
        "status": status,
        "iterations": steps if event < 0 else event,
        "evaluations": evaluations,
    }


def run_scipy(obj, method: str, x0, steps: int, fns) -> dict:
    f, g, h, r, j = fns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "least_squares":
            res = least_squares(r, x0, jac=j, method="lm", max_nfev=100 * steps)
            value = float(2 * res.cost)  # scipy's cost is ||r||^2 / 2
            return {
                "f": value,
                "status": f"{'success' if res.success else 'fail'} ({res.status})",
                "iterations": int(res.nfev),
                "evaluations": int(res.nfev + (res.njev or 0)),
            }
        extra = {"hess": h} if method in ("Newton-CG", "trust-exact") else {}
        options = {"maxiter": steps}
        if method != "Newton-CG":
            options["gtol"] = 1e-8
        res = minimize(f, x0, jac=g, method=method, options=options, **extra)
    evaluations = sum(int(getattr(res, k, 0) or 0) for k in ("nfev", "njev", "nhev"))
    return {
        "f": float(res.fun),
        "status": "success" if res.success else "fail",
        "iterations": int(res.nit),
        "evaluations": evaluations,
    }


def scipy_functions(obj):
    f = jax.jit(obj)
    g = jax.jit(jax.grad(obj))
    h = jax.jit(jax.hessian(obj))
    r = jax.jit(obj.residuals)
    j = jax.jit(jax.jacfwd(obj.residuals))
    return (
        lambda x: float(f(x)),
        lambda x: np.asarray(g(x)),
        lambda x: np.asarray(h(x)),
        lambda x: np.asarray(r(x)),
        lambda x: np.asarray(j(x)),
    )


def scipy_rows(path: str) -> dict[tuple[int, str], dict]:
    """scipy's rows of every problem, read back from the tables of a docs/mgh.md."""
    rows, number = {}, None
    with open(path, encoding="utf-8") as text:
        for line in text:
            if line.startswith("### ("):
                number = int(line[5 : line.index(")")])
            elif line.startswith("| scipy ") and number is not None:
                name, f, _, status, iterations, evaluations = (
                    c.strip() for c in line.strip().strip("|").split("|")
                )
                rows[number, name.removeprefix("scipy ")] = {
                    "f": float(f),
                    "status": status,
                    "iterations": int(iterations),
                    "evaluations": int(evaluations),
                }
    return rows


def false_converged(row: dict, number: int) -> bool:
    if row["status"] != "converged":
        return False
    known = MINIMA[number]
    if reached(row["f"], known.f_opt):
        return False
    return not any(reached(row["f"], value) for value, kind in known.local if kind == "min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, nargs="*", default=None)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default="docs/mgh.md")
    parser.add_argument("--save", default=None, help="also save the rows as JSON")
    parser.add_argument("--merge", nargs="*", default=None, help="render saved rows")
    parser.add_argument(
        "--scipy-from",
        default=None,
        help="take scipy's rows from a docs/mgh.md written before (they do not depend on "
        "jaxcalc) rather than running scipy again",
    )
    args = parser.parse_args()
    if args.merge:
        rows, seconds = {}, 0.0
        for path in args.merge:
            with open(path, encoding="utf-8") as saved:
                data = json.load(saved)
            seconds += data["seconds"]
            rows.update(
                {(int(k.split("|")[0]), k.split("|")[1]): v for k, v in data["rows"].items()}
            )
        problems = [p for p in PROBLEMS if (p.number, "bfgs") in rows]
        text = render(problems, rows, args, seconds)
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
        print(text.split("## Per problem")[0])
        return
    problems = [p for p in PROBLEMS if not args.problems or p.number in args.problems]
    earlier = scipy_rows(args.scipy_from) if args.scipy_from else {}
    started = time.perf_counter()
    rows: dict[tuple[int, str], dict] = {}
    for p in problems:
        obj = get(p.name)
        x0 = np.asarray(p.start)
        target = MINIMA[p.number].f_opt
        for method in JAXCALC + RESIDUAL:
            rows[p.number, method] = run_jaxcalc(obj, method, x0, args.steps)
        if args.scipy_from:
            rows.update({k: v for k, v in earlier.items() if k[0] == p.number})
        else:
            fns = scipy_functions(obj)
            for method in SCIPY:
                rows[p.number, method] = run_scipy(obj, method, x0, args.steps, fns)
        for method in JAXCALC + RESIDUAL + SCIPY:
            row = rows[p.number, method]
            row["ok"] = reached(row["f"], target)
            row["false"] = method in JAXCALC + RESIDUAL and false_converged(row, p.number)
        if args.save:  # after every problem, so a stopped run keeps what it did
            _save(args.save, rows, time.perf_counter() - started)
        print(
            f"({p.number}) {p.name}: "
            + ", ".join(
                f"{m} {'ok' if rows[p.number, m]['ok'] else '--'}"
                for m in JAXCALC + RESIDUAL + SCIPY
            ),
            flush=True,
        )
    seconds = time.perf_counter() - started
    if args.save:
        with open(args.save, "w", encoding="utf-8") as saved:
            json.dump(
                {"seconds": seconds, "rows": {f"{k[0]}|{k[1]}": v for k, v in rows.items()}}, saved
            )
    text = render(problems, rows, args, seconds)
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(text)
    print(text.split("## Per problem")[0])


def render(problems, rows, args, seconds) -> str:
    methods = JAXCALC + RESIDUAL + SCIPY
    lines = [
        "# The Moré-Garbow-Hillstrom set: jaxcalc against scipy",
        "",
        "Written by `benchmarks/mgh.py` (command: `python benchmarks/mgh.py"
        + (f" --steps {args.steps}" if args.steps != 3000 else "")
        + "`). Machine: 2 cores, CPU. "
        f"Versions: jaxcalc {jaxcalc.__version__}, jax {jax.__version__}, "
        f"scipy {scipy.__version__}, numpy {np.__version__}, Python {platform.python_version()}. "
        f"Date: {datetime.date(2026, 12, 3)}. Run time {seconds:.0f} s (CPU shared with other "
        "jobs; the times are not a speed measurement).",
        "",
        "Problems: J. J. Moré, B. S. Garbow and K. E. Hillstrom, Testing unconstrained "
        "optimization software, ACM TOMS 7(1), 17-41, 1981, from their standard starts "
        "(`jaxcalc.objectives`, family `mgh`). f* is the global minimum where known, else "
        "the least known value, recomputed with 80-digit arithmetic "
        "(`jaxcalc/objectives/mgh_minima.py`, `benchmarks/mgh_minima.py`). Reached: "
        "`|f - f*| <= max(1e-6 |f*|, 1e-10)`. All runs in float64, "
        f"{args.steps} steps / iterations at most, gradient tolerance 1e-8.",
        "",
        "## Summary",
        "",
        "| pair | jaxcalc solves | scipy solves | scipy solves, jaxcalc not | jaxcalc solves, "
        "scipy not |",
        "|---|---|---|---|---|",
    ]
    for ours, theirs in PAIRS:
        a = {p.number for p in problems if rows[p.number, ours]["ok"]}
        b = {p.number for p in problems if rows[p.number, theirs]["ok"]}
        lines.append(
            f"| {ours} / {theirs} | {len(a)} | {len(b)} | {_numbers(b - a)} | {_numbers(a - b)} |"
        )
    lines += [
        "",
        "| method | solves | converged | false converged (must be 0) |",
        "|---|---|---|---|",
    ]
    for m in JAXCALC + RESIDUAL:
        solved = sum(rows[p.number, m]["ok"] for p in problems)
        conv = sum(rows[p.number, m]["status"] == "converged" for p in problems)
        false = [p.number for p in problems if rows[p.number, m]["false"]]
        lines.append(f"| {m} | {solved} | {conv} | {len(false)} {_numbers(set(false))} |")
    for m in SCIPY:
        solved = sum(rows[p.number, m]["ok"] for p in problems)
        lines.append(f"| scipy {m} | {solved} | | |")
    lines += [
        "",
        "A false `converged` is one at a value that is neither f* nor a recorded local "
        "minimum. Runs that stop at a recorded local minimum (Freudenstein-Roth's 48.98, the "
        "local minima of Bard, Kowalik-Osborne, Trigonometric, ...) converged truly but did not "
        "reach f*; so do scipy's.",
        "",
        "Stopping: jaxcalc's runs stop on the engine's first-order test, "
        "`|grad f| <= gtol * max(1, |f| / max(1, max_i |x_i|))`: absolute, or Dennis and "
        "Schnabel's relative gradient (f known to its rounding, `eps |f|`), scaled by `|x|` so "
        "that it cannot hold far out on a function that grows. scipy's BFGS and L-BFGS-B test "
        "the largest gradient component (projected) against gtol, absolutely; Newton-CG the "
        "step's size. A run meeting the test is then checked: a Hessian with a negative "
        "eigenvalue makes it `non_minimum`, f flat to rounding around it `stalled`.",
        "",
        "`gd_armijo` is steepest descent with backtracking from `initial_step` (1) at every "
        "step. It converges linearly, at a rate set by the Hessian's condition number; most "
        "MGH problems are badly conditioned, so 3000 steps reach f* on about a third of them. "
        "That is the method, not a fault, and none of its `converged` is false. Nocedal and "
        "Wright's first trial step from the previous step's (section 3.5) is not used: a "
        "schedule of `initial_step` sets each step's first trial exactly.",
        "",
        "## Per problem",
        "",
        "Each cell: f reached, `*` if it reached f*, status, iterations / evaluations.",
        "",
    ]
    for p in problems:
        target = MINIMA[p.number].f_opt
        lines += [
            f"### ({p.number}) {p.title} (`{p.name}`, n = {p.n}, m = {p.m}, f* = {target!r})",
            "",
            "| method | f | f* reached | status | iterations | evaluations |",
            "|---|---|---|---|---|---|",
        ]
        for m in methods:
            row = rows[p.number, m]
            name = m if m in JAXCALC + RESIDUAL else f"scipy {m}"
            flag = "yes" if row["ok"] else "no"
            status = row["status"] + (" (FALSE)" if row["false"] else "")
            lines.append(
                f"| {name} | {row['f']:.10g} | {flag} | {status} | {row['iterations']} | "
                f"{row['evaluations']} |"
            )
        lines.append("")
    return "\n".join(lines)


def _save(path: str, rows: dict, seconds: float) -> None:
    with open(path, "w", encoding="utf-8") as saved:
        json.dump(
            {"seconds": seconds, "rows": {f"{k[0]}|{k[1]}": v for k, v in rows.items()}}, saved
        )


def _numbers(numbers: set[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers)) or "-"


if __name__ == "__main__":
    sys.exit(main())
