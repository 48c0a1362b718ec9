"""The calculus commands: ``diff``, ``tangent``, ``plot``, ``check`` and ``critical``."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import sympy as sp

from jaxcalc.calculus import derivative, gradient, tangent_line, taylor
from jaxcalc.cli.common import EXIT_OK, emit, json_number, read_expression, read_points
from jaxcalc.critical import critical_points
from jaxcalc.errors import ConfigError
from jaxcalc.formatting import format_number
from jaxcalc.numerical import check_derivative


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the calculus subcommands with ``command(name, help)`` (see :mod:`.app`)."""
    p = command("diff", "symbolic derivative (sympy) and its values (autodiff)")
    p.add_argument("expression")
    p.add_argument("--at", nargs="+", metavar="X", help="points (x, or 'x1,x2' for vectors)")
    p.add_argument("--order", type=int, default=1)
    p.set_defaults(run=cmd_diff)

    p = command("tangent", "tangent line of f at x0")
    p.add_argument("expression")
    p.add_argument("--at", nargs=1, required=True, metavar="X0")
    p.add_argument("--plot", metavar="FILE", help="also draw f and the tangent (png/svg/pdf)")
    p.add_argument("--range", nargs=2, type=float, metavar=("A", "B"))
    p.set_defaults(run=cmd_tangent)

    p = command("plot", "plot f, and optionally f', tangents and a Taylor polynomial")
    p.add_argument("expression")
    p.add_argument("--range", nargs=2, type=float, default=(-3.0, 3.0), metavar=("A", "B"))
    p.add_argument("--derivative", action="store_true", help="also draw f'")
    p.add_argument("--tangent-at", nargs="+", type=float, metavar="X")
    p.add_argument("--taylor-at", type=float, metavar="X")
    p.add_argument("--order", type=int, default=3, help="Taylor order (default 3)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="png, svg or pdf")
    p.set_defaults(run=cmd_plot)

    p = command("check", "symbolic, autodiff and finite differences side by side")
    p.add_argument("expression")
    p.add_argument("--at", nargs="+", required=True, metavar="X")
    p.set_defaults(run=cmd_check)

    p = command("critical", "stationary points and their kind in an interval (or box)")
    p.add_argument("expression")
    p.add_argument("--range", nargs=2, type=float, required=True, metavar=("A", "B"))
    p.set_defaults(run=cmd_critical)


def cmd_diff(args: argparse.Namespace) -> int:

    expr = read_expression(args)
    if args.order < 1:
        raise ConfigError(f"--order {args.order}: must be a positive integer")
    points = read_points(args, expr)
    if expr.dim == 1:
        symbolic = sp.simplify(sp.diff(expr.sympy, expr.symbols[0], args.order))
        derivative_text: Any = str(symbolic)
        d = derivative(expr, args.order)
        values = [float(d(jnp.asarray(x))) for x in points]
    else:
        if args.order != 1:
            raise ConfigError("--order: functions of several variables support order 1 only")
        derivative_text = [str(sp.simplify(sp.diff(expr.sympy, s))) for s in expr.symbols]
        g = gradient(expr)
        values = [[float(v) for v in g(jnp.asarray(x))] for x in points]
    flags = [
        "non_finite"
        if not all(math.isfinite(v) for v in (x if isinstance(x, list) else [x]))
        else ""
        for x in values
    ]
    payload = {
        "expression": expr.text,
        "variables": list(expr.variables),
        "derivative": derivative_text,
        "order": args.order,
        "at": points,
        "values": [json_number(v) for v in values],
        "flags": flags,
    }
    prime = "'" * args.order if args.order <= 3 else f"^({args.order})"
    lines = [f"f(x) = {expr.sympy}"]
    if expr.dim == 1:
        lines.append(f"f{prime}(x) = {derivative_text}")
    else:
        lines += [f"df/d{v} = {t}" for v, t in zip(expr.variables, derivative_text, strict=True)]
    for x, v, flag in zip(points, values, flags, strict=True):
        shown = (
            format_number(v, 10)
            if not isinstance(v, list)
            else "[" + ", ".join(format_number(c, 10) for c in v) + "]"
        )
        note = "  (not finite: f or its derivative is undefined here)" if flag else ""
        at = format_number(x) if not isinstance(x, list) else ", ".join(map(format_number, x))
        lines.append(f"f{prime}({at}) = {shown}{note}")
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_tangent(args: argparse.Namespace) -> int:
    from jaxcalc.plotting import check_output_path, plot_function, save_figure

    expr = read_expression(args)
    if expr.dim != 1:
        raise ConfigError(f"tangent needs a function of one variable; got {expr.variables}")
    (x0,) = read_points(args, expr)
    if args.plot:
        check_output_path(args.plot)
    t = tangent_line(expr, x0)
    payload = {
        "expression": expr.text,
        "x0": json_number(t.x0),
        "y0": json_number(t.y0),
        "slope": json_number(t.slope) if t.defined else None,
        "intercept": json_number(t.intercept) if t.defined else None,
        "equation": t.equation,
        "defined": bool(t.defined),
        "reason": t.reason,
    }
    text = t.equation
    if args.plot:
        lo, hi = args.range if args.range else (x0 - 3.0, x0 + 3.0)
        fig = plot_function(expr, (lo, hi), title=f"f(x) = {expr.sympy}", tangents=[t])
        path = save_figure(fig, args.plot)
        payload["plot"] = str(path)
        text += f"\nplot written to {path}"
    emit(args, payload, text)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from jaxcalc.plotting import check_output_path, plot_function, save_figure

    expr = read_expression(args)
    if expr.dim != 1:
        raise ConfigError(f"plot draws functions of one variable; got {expr.variables}")
    target = check_output_path(args.output)
    lo, hi = args.range
    if not lo < hi:
        raise ConfigError(f"--range {lo} {hi}: need A < B")
    tangents = [tangent_line(expr, float(x)) for x in args.tangent_at or []]
    poly = None
    if args.taylor_at is not None:
        if args.order < 0:
            raise ConfigError(f"--order {args.order}: must be >= 0")
        poly = taylor(expr, args.taylor_at, args.order)
    fig = plot_function(
        derivative(expr, 0),
        (lo, hi),
        title=f"f(x) = {expr.sympy}",
        derivative=derivative(expr, 1) if args.derivative else None,
        tangents=tangents,
        taylor=poly,
    )
    path = save_figure(fig, target)
    emit(args, {"expression": expr.text, "output": str(path)}, f"plot written to {path}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    expr = read_expression(args)
    points = read_points(args, expr)
    if not points:
        raise ConfigError("check: give at least one point with --at")
    checks = [check_derivative(expr, x) for x in points]
    payload = {"expression": expr.text, "checks": [c.as_dict() for c in checks]}
    lines = []
    for c in checks:
        status = "ok" if c.ok else "PROBLEM"
        lines.append(f"x = {c.x}: {status}")
        lines.append(
            f"  f = {c.value}  autodiff = {c.autodiff}  finite-diff = {c.finite_difference}  "
            f"sympy = {c.symbolic}"
        )
        lines.append(f"  one-sided: left {c.left}  right {c.right}")
        lines += [f"  ! {issue}" for issue in c.issues]
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_critical(args: argparse.Namespace) -> int:
    expr = read_expression(args)
    lo, hi = args.range
    if not lo < hi:
        raise ConfigError(f"--range {lo} {hi}: need A < B")
    if expr.dim == 1:
        found = critical_points(expr, lo, hi)
    else:
        found = critical_points(expr, [lo] * expr.dim, [hi] * expr.dim)
    rows = [
        {
            "x": p.x if isinstance(p.x, float) else [float(v) for v in p.x],
            "value": json_number(p.value),
            "kind": p.kind,
        }
        for p in found
    ]
    lines = [f"stationary points of {expr.sympy} in [{lo}, {hi}]" + ("" if rows else ": none")]
    for p in found:
        shown = (
            format_number(p.x, 8)
            if isinstance(p.x, float)
            else "(" + ", ".join(format_number(v, 8) for v in p.x) + ")"
        )
        lines.append(f"  x = {shown:>14}  f = {format_number(p.value, 8):>14}  {p.kind}")
    emit(args, {"expression": expr.text, "range": [lo, hi], "points": rows}, "\n".join(lines))
    return EXIT_OK
