"""Reproduce the course's calculus examples and homework with jaxcalc.

Runs the seed slides' example (sympy's derivative 6*x of 3x^2 + 1, the removed
``scipy.misc.derivative(f, 2.0) == 12.0``, the plot of f on [-3, 3]), the three homework
items, D2L's limit table for 3x^2 - 4x at 1, D2L calculus exercises 4, 7 and 8, and autograd
exercise 4. Prints every value, writes ``results.json`` and the figures.

Usage:
    python experiments/course_calculus/reproduce.py             # into results/course_calculus/
    python experiments/course_calculus/reproduce.py --out DIR   # into DIR
    python experiments/course_calculus/reproduce.py --figures   # refresh the committed figures/

By default nothing tracked by git is written: the output goes to the repository's
``results/`` folder (ignored by git). ``--figures`` rewrites this study's committed
``figures/`` (then commit them).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import jax
import matplotlib

jax.config.update("jax_enable_x64", True)  # the course computes in Python floats (float64)
matplotlib.use("Agg")  # figures go to files

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import jaxcalc as jc  # noqa: E402
from jaxcalc.plotting import plot_function, save_figure  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parents[1] / "results" / "course_calculus"  # untracked (.gitignore)


def section(title: str) -> None:
    print(f"\n== {title}")


def seed_example(out: Path, results: dict) -> None:
    section("Seed slides: u = f(x) = 3x^2 + 1")
    f = jc.parse("3x^2 + 1")
    symbolic = sp.diff(f.sympy, f.symbols[0])
    autodiff = float(jc.derivative(f)(2.0))
    # scipy.misc.derivative(f, 2.0) used central differences with dx=1.0 by default
    finite_diff = float(jc.numeric_derivative(f, 2.0, h=1.0))
    print(f"sp.diff(3*x**2+1, x)  -> {symbolic}")
    print(f"derivative(f, 2.0)    -> {autodiff}   (autodiff)")
    print(f"numeric_derivative    -> {finite_diff}   (central, h=1 as scipy.misc.derivative did)")
    fig = plot_function(f, (-3, 3), title="f(x) = 3x^2 + 1 on [-3, 3] (the slides' plot)")
    save_figure(fig, out / "seed_3x2_plus_1.png")
    results["seed"] = {
        "derivative": str(symbolic),
        "value_at_2_autodiff": autodiff,
        "value_at_2_central_h1": finite_diff,
    }


def homework(out: Path, results: dict) -> None:
    section("Homework")
    items = [
        ("hw1", "x^2 - 6x + 1", (-2, 8), None),
        ("hw2", "2x - 1/x", (-3, 3), None),
        ("hw3", "x^3 - 1/x", (-2, 3), 1.0),
    ]
    results["homework"] = {}
    for key, text, x_range, tangent_at in items:
        f = jc.parse(text)
        d = sp.simplify(sp.diff(f.sympy, f.symbols[0]))
        entry = {"function": text, "derivative": str(d)}
        print(f"{key}: f(x) = {f.sympy};  f'(x) = {d}")
        tangents = []
        if tangent_at is not None:
            t = jc.tangent_line(f, tangent_at)
            tangents.append(t)
            entry["tangent"] = {"x0": t.x0, "y0": t.y0, "slope": t.slope, "equation": t.equation}
            print(f"     tangent at x = {tangent_at:g}: {t.equation}")
        fig = plot_function(
            f,
            x_range,
            title=f"f(x) = {f.sympy}",
            derivative=jc.derivative(f),
            derivative_label=f"f'(x) = {d}",
            tangents=tangents,
        )
        save_figure(fig, out / f"{key}.png")
        results["homework"][key] = entry


def limit_table(results: dict) -> None:
    section("D2L 2.4: difference quotients of f(x) = 3x^2 - 4x at x = 1")
    table = jc.limit_table("3x^2 - 4x", 1.0, steps=[10.0**-k for k in range(1, 13)])
    print(table)
    results["limit_table"] = table.rows()


def exercises(out: Path, results: dict) -> None:
    section("D2L 2.4 exercise 4: derivative of x^x")
    f = jc.parse("x^x")  # defined for x > 0 (real-valued)
    d = sp.simplify(sp.diff(f.sympy, f.symbols[0]))
    xs = jnp.array([0.5, 1.0, 2.0])
    ad = jc.derivative(f)(xs)
    closed = xs**xs * (jnp.log(xs) + 1)
    print(f"d/dx x^x = {d}  (closed form x^x (ln x + 1))")
    print(f"at {xs.tolist()}: autodiff {np.round(ad, 12).tolist()}, closed {closed.tolist()}")
    results["ex4_x_pow_x"] = {"derivative": str(d), "at": xs.tolist(), "values": ad.tolist()}

    section("D2L 2.4 exercise 7: gradient of f(x) = 3 x1^2 + 5 e^x2")
    g = jc.gradient("3*x1^2 + 5*exp(x2)")
    point = jnp.array([1.0, 2.0])
    print(
        f"grad f(1, 2) = {g(point).tolist()}  (closed form [6 x1, 5 e^x2] = [6, {5 * math.e**2}])"
    )
    results["ex7_gradient"] = {"at": point.tolist(), "gradient": g(point).tolist()}

    section("D2L 2.4 exercise 8: gradient of f(x) = ||x||_2")
    norm = jc.parse("sqrt(x1^2 + x2^2 + x3^2)")
    gn = jc.gradient(norm)
    x = jnp.array([1.0, 2.0, 2.0])
    print(f"grad ||x|| at {x.tolist()} = {gn(x).tolist()}  (x / ||x|| = {(x / 3).tolist()})")
    at_zero = gn(jnp.zeros(3))
    check = jc.check_derivative(norm, [0.0, 0.0, 0.0])
    print(f"at 0: autodiff gives {at_zero.tolist()}")
    for issue in check.issues[:1]:
        print(f"      check_derivative: {issue}")
    results["ex8_norm_gradient"] = {
        "at": x.tolist(),
        "gradient": gn(x).tolist(),
        "at_zero_autodiff": [None if not math.isfinite(v) else v for v in at_zero.tolist()],
        "at_zero_diagnosis": check.issues,
    }

    section("D2L 2.5 (autograd) exercise 4: f(x) = sin(x) and its derivative by autodiff")
    sin = jc.parse("sin(x)")
    grid = jnp.linspace(-2 * math.pi, 2 * math.pi, 1001)
    err = float(jnp.max(jnp.abs(jc.derivative(sin)(grid) - jnp.cos(grid))))
    print(f"max |d/dx sin(x) - cos(x)| on [-2pi, 2pi], 1001 points: {err:.2e}")
    fig = plot_function(
        sin,
        (-2 * math.pi, 2 * math.pi),
        title="sin(x) and its derivative by autodiff (never told it is cos)",
        label="sin(x)",
        derivative=jc.derivative(sin),
        derivative_label="d/dx sin(x) by jax.grad",
    )
    save_figure(fig, out / "autograd_sin.png")
    results["autograd_ex4_sin"] = {"max_abs_error_vs_cos": err}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output folder (default results/course_calculus)",
    )
    where.add_argument(
        "--figures",
        action="store_true",
        help=f"write into the committed {HERE.name}/figures/ (to refresh them)",
    )
    args = parser.parse_args(argv)
    out = (HERE / "figures" if args.figures else args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    seed_example(out, results)
    homework(out, results)
    limit_table(results)
    exercises(out, results)
    (out / "results.json").write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    print(f"\nfigures and results.json written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
