"""The calculus commands: ``diff``, ``tangent``, ``plot``, ``check`` and ``critical``."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from jaxcalc.cli import side
from jaxcalc.cli.common import (
    EXIT_OK,
    emit,
    json_number,
    plotting,
    read_expression,
    read_points,
    read_range,
)
from jaxcalc.errors import ConfigError, OutputError
from jaxcalc.files import check_output_path
from jaxcalc.formatting import format_number

# jaxcalc.calculus's MAX_ORDER and MAX_NESTED_ORDER, written out so that building the
# parser (``--help``, usage errors) imports no JAX; tests/test_cli.py checks they agree.
# The commands import JAX, sympy and the library when they run.
MAX_ORDER = 40
MAX_NESTED_ORDER = 6

# how long a command waits for its symbolic part: sympy's import, then steps that are
# each bounded by jaxcalc.expressions.symbolic.SYMBOLIC_SECONDS (2 s)
SIDE_SECONDS = 10.0

_ORDER_NOTE = "every function of the language has a Taylor rule, so any order is one pass"


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the calculus subcommands with ``command(name, help)`` (see :mod:`.app`)."""
    p = command("diff", "symbolic derivative (sympy) and its values (autodiff)")
    p.add_argument("expression")
    p.add_argument(
        "--at",
        nargs="+",
        action="extend",
        metavar="X",
        help="points (x, or 'x1,x2' for vectors); may be repeated",
    )
    p.add_argument(
        "--order",
        type=int,
        default=1,
        help=f"derivative order, 1 to {MAX_ORDER} (default 1); {_ORDER_NOTE}",
    )
    p.set_defaults(run=cmd_diff, prepare=prepare_diff)

    p = command("tangent", "tangent line of f at x0")
    p.add_argument("expression")
    p.add_argument("--at", nargs=1, required=True, metavar="X0", help="the point (one)")
    p.add_argument("--plot", metavar="FILE", help="also draw f and the tangent (png/svg/pdf)")
    p.add_argument("--range", nargs=2, type=float, metavar=("A", "B"), help="plot range, A < B")
    p.set_defaults(run=cmd_tangent, prepare=prepare_tangent)

    p = command("plot", "plot f, and optionally f', tangents and a Taylor polynomial")
    p.add_argument("expression")
    p.add_argument("--range", nargs=2, type=float, default=(-3.0, 3.0), metavar=("A", "B"))
    p.add_argument("--derivative", action="store_true", help="also draw f'")
    p.add_argument("--tangent-at", nargs="+", action="extend", type=float, metavar="X")
    p.add_argument("--taylor-at", type=float, metavar="X")
    p.add_argument(
        "--order",
        type=int,
        default=3,
        help=f"Taylor order, 0 to {MAX_ORDER} (default 3); {_ORDER_NOTE}",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="png, svg or pdf")
    p.set_defaults(run=cmd_plot, prepare=prepare_plot)

    p = command("check", "symbolic, autodiff and finite differences side by side")
    p.add_argument("expression")
    p.add_argument(
        "--at", nargs="+", action="extend", required=True, metavar="X", help="may be repeated"
    )
    p.set_defaults(run=cmd_check, prepare=prepare_check)

    p = command("critical", "stationary points and their kind in an interval (or box)")
    p.add_argument("expression")
    p.add_argument("--range", nargs=2, type=float, required=True, metavar=("A", "B"))
    p.set_defaults(run=cmd_critical, prepare=prepare_critical)


def prepare_diff(args: argparse.Namespace) -> None:
    """Read and check the input, and start the symbolic part beside the numeric one."""
    expr = read_expression(args)
    if not 1 <= args.order <= MAX_ORDER:
        raise ConfigError(f"--order {args.order}: must be a positive integer, 1 to {MAX_ORDER}")
    if expr.dim != 1 and args.order != 1:
        raise ConfigError("--order: functions of several variables support order 1 only")
    args.parsed = expr, read_points(args, expr)
    args.side = side.start(_diff_symbolic, expr, args.order)


def _diff_symbolic(expr, order: int) -> tuple[str, Any, str]:
    """f as text, its derivative (or gradient) as text, and a note (see _symbolic_derivative)."""
    return (_shown(expr.sympy), *_symbolic_derivative(expr, order))


def cmd_diff(args: argparse.Namespace) -> int:
    if not hasattr(args, "parsed"):  # called without main()
        prepare_diff(args)
    expr, points = args.parsed
    values, flags, which = _derivative_values(expr, args.order, points)
    f_text, derivative_text, note = args.side.result(
        timeout=SIDE_SECONDS, too_slow=_too_slow(expr, "symbolic derivative not computed")
    )
    payload = {
        "expression": expr.text,
        "variables": list(expr.variables),
        "derivative": derivative_text,
        "order": args.order,
        "at": points,
        "values": [json_number(v) for v in values],
        "flags": flags,
        "undefined": which,
    }
    if note:
        payload["note"] = note
    prime = "'" * args.order if args.order <= 3 else f"^({args.order})"
    lines = [f"f(x) = {f_text}"]
    if expr.dim == 1:
        lines.append(f"f{prime}(x) = {derivative_text}")
    else:
        lines += [f"df/d{v} = {t}" for v, t in zip(expr.variables, derivative_text, strict=True)]
    if note:
        lines.append(f"  ({note})")
    for x, v, undefined in zip(points, values, which, strict=True):
        shown = (
            format_number(v, 10)
            if not isinstance(v, list)
            else "[" + ", ".join(format_number(c, 10) for c in v) + "]"
        )
        at = format_number(x) if not isinstance(x, list) else ", ".join(map(format_number, x))
        lines.append(f"f{prime}({at}) = {shown}{_NOTES[undefined].format(at=at)}")
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


_NOTES = {
    "": "",
    "derivative": "  (not finite: f or its derivative is undefined here)",
    "f": "  (undefined: f({at}) is not finite, so {at} is outside f's domain)",
}


def _too_slow(expr, what: str) -> tuple[str, Any, str]:
    missing = "(not computed)"
    return (
        expr.text,
        missing if expr.dim == 1 else [missing] * expr.dim,
        (f"{what}: sympy took over {SIDE_SECONDS:g} s"),
    )


def _derivative_values(expr, order: int, points: list) -> tuple[list, list[str], list[str]]:
    """The derivative (or gradient) at each point, a flag for each ("" or "non_finite"),
    and which was not finite there ("f" itself, the "derivative", or "").

    A point where f is not finite is outside f's domain, even when the derivative's formula
    gives a number there (log at -1): its value is NaN, never that number.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxcalc.calculus import derivative, gradient

    d = derivative(expr, order) if expr.dim == 1 else gradient(expr)  # refuses a costly order
    if not points:
        return [], [], []
    # one compiled program for f's finiteness and the derivatives at every point
    f_and_d = jax.jit(lambda at: (jnp.isfinite(expr(at)).reshape(-1), d(at)))
    f_ok, found = jax.device_get(f_and_d(np.asarray(points, np.float64)))
    f_finite = [bool(v) for v in f_ok]
    if expr.dim == 1:
        values: list = [float(v) for v in found]
        finite = [math.isfinite(v) for v in values]
    else:
        values = [[float(c) for c in row] for row in found]
        finite = [all(math.isfinite(c) for c in row) for row in values]
    which = [
        "" if ok and defined else ("f" if not defined else "derivative")
        for ok, defined in zip(finite, f_finite, strict=True)
    ]
    values = [
        (math.nan if not isinstance(v, list) else [math.nan] * len(v)) if w else v
        for v, w in zip(values, which, strict=True)
    ]
    return values, ["non_finite" if w else "" for w in which], which


def _symbolic_derivative(expr, order: int) -> tuple[Any, str]:
    """sympy's derivative as text (simplified when that is cheap), and a note when it was
    left unsimplified or not computed; bounded in size and time (see jaxcalc.expressions)."""
    import sympy as sp

    from jaxcalc.expressions import symbolic
    from jaxcalc.expressions.symbolic import Skipped, bounded, simplify

    found = bounded(lambda e: [sp.diff(e, s, order) for s in expr.symbols], expr.sympy)
    if isinstance(found, Skipped):
        texts = ["(not computed)"] * expr.dim
        return texts[0] if expr.dim == 1 else texts, f"symbolic derivative not computed: {found}"
    notes, texts = [], []
    share = symbolic.SYMBOLIC_SECONDS / expr.dim  # one budget for the whole gradient
    for partial in found:
        simple, skipped = simplify(partial, seconds=share)
        if skipped:
            notes.append(f"not simplified: {skipped}")
        texts.append(_shown(simple))
    text: Any = texts[0] if expr.dim == 1 else texts
    return text, "; ".join(dict.fromkeys(notes))


def _shown(e, limit: int = 2000) -> str:
    """The text of a sympy expression, cut when it would fill the screen."""
    from jaxcalc.expressions.symbolic import MAX_SYMBOLIC_NODES, size

    if size(e) > MAX_SYMBOLIC_NODES:
        return f"(over {MAX_SYMBOLIC_NODES} terms; not shown)"
    text = str(e)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def prepare_tangent(args: argparse.Namespace) -> None:
    """Read and check the input (and the output file); with ``--plot``, start the drawing
    beside (see :func:`prepare_plot`)."""
    expr = read_expression(args)
    if expr.dim != 1:
        raise ConfigError(f"tangent needs a function of one variable; got {expr.variables}")
    (x0,) = read_points(args, expr)
    if args.range:
        read_range(args)
    args.parsed = expr, x0
    if args.plot:
        target = check_output_path(args.plot)
        args.side = side.start(_draw_function, expr, target, receives=True, ready=_ready_to_draw)


def cmd_tangent(args: argparse.Namespace) -> int:
    from jaxcalc.calculus import tangent_line

    if not hasattr(args, "parsed"):  # called without main()
        prepare_tangent(args)
    expr, x0 = args.parsed
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
        lo, hi = read_range(args) if args.range else (x0 - 3.0, x0 + 3.0)
        picture = {
            "range": (lo, hi),
            "f": _Curve(expr(_grid(lo, hi))),
            "derivative": None,
            "tangents": [_drawn_tangent(t)],
            "taylor": None,
        }
        args.side.send(picture)
        path = args.side.result(timeout=DRAW_SECONDS, too_slow=None)
        if path is None:
            raise OutputError(f"{args.plot}: the figure was not drawn within {DRAW_SECONDS:g} s")
        payload["plot"] = path
        text += f"\nplot written to {path}"
    emit(args, payload, text)
    return EXIT_OK


def prepare_plot(args: argparse.Namespace) -> None:
    """Read and check the input and the output file, and start the drawing beside: the
    child imports matplotlib while this process computes what it will draw."""
    expr = read_expression(args)
    if expr.dim != 1:
        raise ConfigError(f"plot draws functions of one variable; got {expr.variables}")
    read_range(args)
    if args.taylor_at is not None and not 0 <= args.order <= MAX_ORDER:
        raise ConfigError(f"--order {args.order}: must be 0 to {MAX_ORDER} (the limit)")
    target = check_output_path(args.output)
    args.parsed = expr, target
    args.side = side.start(_draw_function, expr, target, receives=True, ready=_ready_to_draw)


def cmd_plot(args: argparse.Namespace) -> int:
    from jaxcalc.calculus import derivative, tangent_line, taylor

    if not hasattr(args, "parsed"):  # called without main()
        prepare_plot(args)
    expr, target = args.parsed
    lo, hi = read_range(args)
    grid = _grid(lo, hi)
    poly = taylor(expr, args.taylor_at, args.order) if args.taylor_at is not None else None
    picture = {
        "range": (lo, hi),
        "f": _Curve(derivative(expr, 0)(grid)),
        "derivative": _Curve(derivative(expr, 1)(grid)) if args.derivative else None,
        "tangents": [_drawn_tangent(tangent_line(expr, float(x))) for x in args.tangent_at or []],
        "taylor": _drawn_taylor(poly, grid),
    }
    args.side.send(picture)
    path = args.side.result(timeout=DRAW_SECONDS, too_slow=None)
    if path is None:
        raise OutputError(f"{target}: the figure was not drawn within {DRAW_SECONDS:g} s")
    emit(args, {"expression": expr.text, "output": path}, f"plot written to {path}")
    return EXIT_OK


# the plot's sample points, here and in jaxcalc.plotting.plot_function
PLOT_POINTS = 801
# how long a command waits for its figure to be drawn and written
DRAW_SECONDS = 60.0


def _grid(lo: float, hi: float):
    import numpy as np

    return np.linspace(float(lo), float(hi), PLOT_POINTS)


class _Curve:
    """A function already evaluated on the plot's grid, as plot_function calls it; with
    the attributes of the object it stands for (a Taylor polynomial's order, x0, ...)."""

    def __init__(self, values: Any, **attributes: Any):
        import numpy as np

        self.values = np.asarray(values, np.float64)
        self.__dict__.update(attributes)

    def __call__(self, x: Any) -> Any:
        return self.values


def _drawn_tangent(t) -> Any:
    """The fields of a TangentLine that a drawing reads, as plain values (the drawing
    process imports no JAX)."""
    from types import SimpleNamespace

    fields = ("x0", "y0", "slope", "intercept")
    values = {k: float(getattr(t, k)) for k in fields}
    equation = t.equation if t.defined else ""
    return SimpleNamespace(**values, defined=bool(t.defined), reason=t.reason, equation=equation)


def _drawn_taylor(poly, grid) -> Any:
    import numpy as np

    if poly is None:
        return None
    coefficients = np.asarray(poly.coefficients, np.float64)
    return _Curve(poly(grid), order=poly.order, x0=float(poly.x0), coefficients=coefficients)


def _ready_to_draw(expr, target) -> None:
    """What a drawing needs before its values: matplotlib and its fonts, and the title's
    symbolic form (sympy)."""
    plotting()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()  # the first text drawn loads the fonts
    ax.set_title("f(x)")
    fig.canvas.draw()
    plt.close(fig)
    expr.sympy  # noqa: B018 - a cached property: computed now, read when drawing


def _draw_function(picture: dict, expr, target) -> str:
    """Draw f (and f', tangents, a Taylor polynomial) from values computed elsewhere, and
    write the figure; the path written."""
    draw = plotting()
    fig = draw.plot_function(
        picture["f"],
        picture["range"],
        title=f"f(x) = {expr.sympy}",
        derivative=picture["derivative"],
        tangents=picture["tangents"],
        taylor=picture["taylor"],
        points=PLOT_POINTS,
    )
    return str(draw.save_figure(fig, target))


def prepare_check(args: argparse.Namespace) -> None:
    """Read and check the input, and start sympy's derivatives at the points beside."""
    expr = read_expression(args)
    points = read_points(args, expr)
    if not points:
        raise ConfigError("check: give at least one point with --at")
    args.parsed = expr, points
    args.side = side.start(_sympy_references, expr, points)


def _sympy_references(expr, points: list) -> list:
    import numpy as np

    from jaxcalc.expressions.symbolic import gradient_at

    return [gradient_at(expr, np.atleast_1d(np.asarray(x, np.float64))) for x in points]


def cmd_check(args: argparse.Namespace) -> int:
    from jaxcalc.numerical import check_derivative

    if not hasattr(args, "parsed"):  # called without main()
        prepare_check(args)
    expr, points = args.parsed
    references = args.side.result(timeout=SIDE_SECONDS, too_slow=[None] * len(points))
    checks = [
        check_derivative(expr, x, reference=r) for x, r in zip(points, references, strict=True)
    ]
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


def prepare_critical(args: argparse.Namespace) -> None:
    """Read and check the input, and start sympy's form of f (for the heading) beside."""
    expr = read_expression(args)
    args.parsed = expr, read_range(args)
    args.side = side.start(_sympy_text, expr)


def _sympy_text(expr) -> str:
    return str(expr.sympy)


def cmd_critical(args: argparse.Namespace) -> int:
    from jaxcalc.critical import critical_points

    if not hasattr(args, "parsed"):  # called without main()
        prepare_critical(args)
    expr, (lo, hi) = args.parsed
    if expr.dim == 1:
        found = critical_points(expr, lo, hi)
    else:
        found = critical_points(expr, [lo] * expr.dim, [hi] * expr.dim)
    shown_f = args.side.result(timeout=SIDE_SECONDS, too_slow=expr.text)
    rows = [
        {
            "x": p.x if isinstance(p.x, float) else [float(v) for v in p.x],
            "value": json_number(p.value),
            "kind": p.kind,
        }
        for p in found
    ]
    lines = [f"stationary points of {shown_f} in [{lo}, {hi}]" + ("" if rows else ": none")]
    for p in found:
        shown = (
            format_number(p.x, 8)
            if isinstance(p.x, float)
            else "(" + ", ".join(format_number(v, 8) for v in p.x) + ")"
        )
        lines.append(f"  x = {shown:>14}  f = {format_number(p.value, 8):>14}  {p.kind}")
    emit(args, {"expression": expr.text, "range": [lo, hi], "points": rows}, "\n".join(lines))
    return EXIT_OK
