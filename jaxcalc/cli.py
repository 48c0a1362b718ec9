"""The ``jaxcalc`` command line: parses argv, calls the library, maps errors to exit codes.

Every subcommand prints readable text by default and JSON with ``--json``. Bad input gives
one line on stderr naming the problem and exit code 2; ``--debug`` shows the traceback.
Numbers are computed in float64 unless ``--dtype float32`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from jaxcalc.errors import JaxcalcError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: non-finite numbers become null (their status says why)."""
    if isinstance(value, list | tuple):
        return [_json_number(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, allow_nan=False, indent=2))
    else:
        print(text)


def _setup_numbers(args: argparse.Namespace) -> None:
    """Process-wide JAX settings, made once here at the edge (the library sets none)."""
    import jax

    if getattr(args, "dtype", None) == "float64":
        jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    if args.command in ("optimize", "run") and not os.environ.get("JAXCALC_NO_CACHE"):
        from jaxcalc.trajectory import enable_compilation_cache

        # compiled programs are reused across processes; an unwritable cache is no error
        with contextlib.suppress(OSError):
            enable_compilation_cache()


def _parse_point(text: str, dim: int, flag: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise JaxcalcError(f"{flag} {text!r}: expected {dim} comma-separated numbers") from None
    if len(values) != dim:
        raise JaxcalcError(f"{flag} {text!r}: expected {dim} comma-separated numbers")
    if not all(math.isfinite(v) for v in values):
        raise JaxcalcError(f"{flag} {text!r}: values must be finite")
    return values


def _expression(args: argparse.Namespace):
    from jaxcalc.expressions import parse

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            expr = parse(args.expression, dtype=args.dtype)
    except JaxcalcError as err:
        raise JaxcalcError(f"expression {args.expression!r}: {err}") from None
    for w in caught:
        print(f"jaxcalc: warning: {w.message}", file=sys.stderr)
    return expr


def _points(args: argparse.Namespace, expr, flag: str = "--at") -> list[Any]:
    raw = args.at or []
    if expr.dim == 1:
        out = []
        for v in raw:
            try:
                x = float(v)
            except ValueError:
                raise JaxcalcError(f"{flag} {v!r}: not a number") from None
            if not math.isfinite(x):
                raise JaxcalcError(f"{flag} {v!r}: must be finite")
            out.append(x)
        return out
    return [_parse_point(v, expr.dim, flag) for v in raw]


# ----------------------------------------------------------------------------------------
# Subcommands


def cmd_diff(args: argparse.Namespace) -> int:
    import jax.numpy as jnp
    import sympy as sp

    from jaxcalc.calculus import derivative, format_number, gradient

    expr = _expression(args)
    if args.order < 1:
        raise JaxcalcError(f"--order {args.order}: must be a positive integer")
    points = _points(args, expr)
    if expr.dim == 1:
        symbolic = sp.simplify(sp.diff(expr.sympy, expr.symbols[0], args.order))
        derivative_text: Any = str(symbolic)
        d = derivative(expr, args.order)
        values = [float(d(jnp.asarray(x))) for x in points]
    else:
        if args.order != 1:
            raise JaxcalcError("--order: functions of several variables support order 1 only")
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
        "values": [_json_number(v) for v in values],
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
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_tangent(args: argparse.Namespace) -> int:
    from jaxcalc.calculus import tangent_line
    from jaxcalc.plotting import check_output_path, plot_function, save_figure

    expr = _expression(args)
    if expr.dim != 1:
        raise JaxcalcError(f"tangent needs a function of one variable; got {expr.variables}")
    (x0,) = _points(args, expr)
    if args.plot:
        check_output_path(args.plot)
    t = tangent_line(expr, x0)
    payload = {
        "expression": expr.text,
        "x0": _json_number(t.x0),
        "y0": _json_number(t.y0),
        "slope": _json_number(t.slope) if t.defined else None,
        "intercept": _json_number(t.intercept) if t.defined else None,
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
    _emit(args, payload, text)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from jaxcalc.calculus import derivative, tangent_line, taylor
    from jaxcalc.plotting import check_output_path, plot_function, save_figure

    expr = _expression(args)
    if expr.dim != 1:
        raise JaxcalcError(f"plot draws functions of one variable; got {expr.variables}")
    target = check_output_path(args.output)
    lo, hi = args.range
    if not lo < hi:
        raise JaxcalcError(f"--range {lo} {hi}: need A < B")
    tangents = [tangent_line(expr, float(x)) for x in args.tangent_at or []]
    poly = None
    if args.taylor_at is not None:
        if args.order < 0:
            raise JaxcalcError(f"--order {args.order}: must be >= 0")
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
    _emit(args, {"expression": expr.text, "output": str(path)}, f"plot written to {path}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from jaxcalc.numerical import check_derivative

    expr = _expression(args)
    points = _points(args, expr)
    if not points:
        raise JaxcalcError("check: give at least one point with --at")
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
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_critical(args: argparse.Namespace) -> int:
    from jaxcalc.calculus import critical_points, format_number

    expr = _expression(args)
    lo, hi = args.range
    if not lo < hi:
        raise JaxcalcError(f"--range {lo} {hi}: need A < B")
    if expr.dim == 1:
        found = critical_points(expr, lo, hi)
    else:
        found = critical_points(expr, [lo] * expr.dim, [hi] * expr.dim)
    rows = [
        {
            "x": p.x if isinstance(p.x, float) else [float(v) for v in p.x],
            "value": _json_number(p.value),
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
    _emit(args, {"expression": expr.text, "range": [lo, hi], "points": rows}, "\n".join(lines))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "optimizers":
        from jaxcalc.optimizers import get_optimizer, optimizer_names

        rows = []
        for name in optimizer_names():
            opt = get_optimizer(name)
            rows.append(
                {
                    "name": name,
                    "hyperparameters": dict(opt.defaults),
                    "options": sorted(opt.options),
                    "reference": opt.reference,
                }
            )
        lines = [f"{'name':<30} hyperparameters (defaults)"]
        for r in rows:
            hp = ", ".join(f"{k}={v}" for k, v in r["hyperparameters"].items())
            lines.append(f"{r['name']:<30} {hp}")
        _emit(args, {"optimizers": rows}, "\n".join(lines))
        return EXIT_OK

    from jaxcalc.calculus import format_number
    from jaxcalc.objectives import get, names

    rows = [get(name).summary() for name in names()]
    for r in rows:
        r["f_opt"] = None if r["f_opt"] is None else _json_number(r["f_opt"])
    lines = [f"{'name':<28} {'dim':>4}  {'bounds':<26} {'f_opt':>14}  citation"]
    for r in rows:
        (lo, hi), *rest = r["bounds"]
        same = all(b == [lo, hi] for b in rest)
        box = f"[{format_number(lo)}, {format_number(hi)}]" + ("^d" if same and rest else "")
        f_opt = (
            "unbounded"
            if r["unbounded"]
            else ("unknown" if r["f_opt"] is None else format_number(r["f_opt"], 8))
        )
        cite = r["citation"] if len(r["citation"]) <= 60 else r["citation"][:57] + "..."
        lines.append(f"{r['name']:<28} {r['dim']:>4}  {box:<26} {f_opt:>14}  {cite}")
    _emit(args, {"objectives": rows}, "\n".join(lines))
    return EXIT_OK


def _objective(args: argparse.Namespace):
    from jaxcalc.objectives import get

    params = dict(_key_values(args.param or [], "--param"))
    return get(args.objective, args.dim, allow_code=args.allow_code, **params)


def _key_values(items: list[str], flag: str) -> list[tuple[str, Any]]:
    pairs = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise JaxcalcError(f"{flag} {item!r}: expected NAME=VALUE")
        value: Any
        if "," in raw:
            try:
                value = [float(v) for v in raw.split(",")]
            except ValueError:
                raise JaxcalcError(f"{flag} {item!r}: values must be numbers") from None
        else:
            try:
                value = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            except ValueError:
                value = {"true": True, "false": False}.get(raw.lower(), raw)
        pairs.append((key.strip(), value))
    return pairs


def cmd_plot_objective(args: argparse.Namespace) -> int:
    from jaxcalc.plotting import check_output_path, plot_objective, save_figure

    target = check_output_path(args.output)
    objective = _objective(args)
    fig = plot_objective(objective)
    path = save_figure(fig, target)
    _emit(args, {"objective": objective.name, "output": str(path)}, f"plot written to {path}")
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from jaxcalc.calculus import format_number
    from jaxcalc.plotting import check_output_path, plot_objective, save_figure
    from jaxcalc.trajectory import optimize

    if args.plot:
        check_output_path(args.plot)
    objective = _objective(args)
    if args.steps < 1:
        raise JaxcalcError(f"--steps {args.steps}: must be >= 1")
    if args.x0 is not None:
        starts = np.asarray([_parse_point(args.x0, objective.dim, "--x0")])
    else:
        if args.starts < 1:
            raise JaxcalcError(f"--starts {args.starts}: must be >= 1")
        starts = np.asarray(objective.sample(jax.random.key(args.seed), args.starts))
    hyper = dict(_key_values(args.param_hp or [], "--hp"))
    if args.lr is not None:
        hyper["learning_rate"] = args.lr
    t = optimize(
        objective,
        args.optimizer,
        starts,
        args.steps,
        record_every=args.record_every,
        seed=args.seed,
        **hyper,
    )
    finals = np.asarray(t.final_values, np.float64).reshape(-1)
    finite = finals[np.isfinite(finals)]
    names = ("min", "q25", "median", "q75", "max")
    levels = np.quantile(finite, [0, 0.25, 0.5, 0.75, 1]) if finite.size else []
    quantiles = dict(zip(names, levels, strict=False))
    payload = {
        "objective": objective.name,
        "optimizer": t.optimizer,
        "hyperparameters": {
            k: (v.tolist() if hasattr(v, "tolist") else v)
            for k, v in t.hyperparameters.items()
            if isinstance(v, int | float | list) or hasattr(v, "tolist")
        },
        "starts": int(starts.shape[0]),
        "steps": t.steps,
        "f_opt": objective.f_opt,
        "final_value_quantiles": {k: float(v) for k, v in quantiles.items()},
        "status_counts": t.status_counts(),
        "compile_seconds": t.compile_seconds,
        "run_seconds": t.run_seconds,
    }
    lines = [
        f"{t.optimizer} on {objective.name} (dim {objective.dim}): {starts.shape[0]} starts x "
        f"{t.steps} steps",
        "final value: " + ", ".join(f"{k} {format_number(v, 6)}" for k, v in quantiles.items()),
        "status: " + ", ".join(f"{k} {v}" for k, v in sorted(t.status_counts().items())),
        f"time: compile {t.compile_seconds:.2f} s, run {t.run_seconds:.3f} s",
    ]
    if objective.f_opt is not None:
        lines.insert(2, f"known minimum f_opt = {format_number(objective.f_opt, 8)}")
    if args.plot:
        if objective.dim not in (1, 2):
            raise JaxcalcError(
                f"--plot draws 1-D and 2-D objectives; {objective.name} has dim {objective.dim}"
            )
        paths = t.params if t.params.ndim == 3 else t.params[None]
        status = np.atleast_1d(t.status)
        fig = plot_objective(
            objective, paths=paths, statuses=status, title=f"{t.optimizer} on {objective.name}"
        )
        path = save_figure(fig, args.plot)
        payload["plot"] = str(path)
        lines.append(f"plot written to {path}")
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import datetime
    import shlex
    from pathlib import Path

    from jaxcalc.pipeline.config import apply_dtype, load_config
    from jaxcalc.pipeline.runner import RunInterrupted, run_experiment

    overrides = list(args.set or [])
    if args.dtype is not None:  # --dtype is the same as --set dtype=..., and wins over it
        overrides.append(f"dtype={args.dtype}")
    config = load_config(args.config, overrides=overrides)
    apply_dtype(config)
    if args.out:
        out = Path(args.out)
    elif getattr(config.output, "dir", None):
        out = Path(config.output.dir)
    elif args.resume:
        raise JaxcalcError(
            "--resume needs the folder of the run to finish: give --out DIR "
            "(or output.dir in the config)"
        )
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("results") / f"{config.name}-{stamp}"
    out = out.expanduser().resolve()
    if not (args.quiet or args.json):
        for note in config.notes:
            print(f"jaxcalc: {note}", file=sys.stderr)
    if not args.json:
        print(f"jaxcalc run {config.name}: writing to {out}", flush=True)
    try:
        folder = run_experiment(
            config,
            out,
            overwrite=args.overwrite,
            resume=args.resume,
            display="off" if args.quiet else "auto",
            report=not args.no_report,
        )
    except RunInterrupted as stop:
        again = ["jaxcalc", "run", args.config, "--out", str(stop.folder)]
        for item in args.set or []:
            again += ["--set", item]
        if args.dtype is not None:
            again += ["--dtype", args.dtype]
        print(
            f"jaxcalc: interrupted ({stop.signal_name}) after {stop.done} of {stop.total} "
            f"groups; finished groups are kept in {stop.folder}; resume with: "
            f"{shlex.join([*again, '--resume'])}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    payload = {"name": config.name, "output": str(folder), "summary": str(folder / "summary.csv")}
    if not args.no_report:
        payload["report"] = str(folder / "report.md")
    _emit(args, payload, f"done: {folder / ('summary.csv' if args.no_report else 'report.md')}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jaxcalc.pipeline.report import build_report

    folder = Path(args.folder).expanduser().resolve()
    if not (folder / "metadata.json").is_file():
        raise JaxcalcError(f"{folder}: no metadata.json; is this a jaxcalc results folder?")
    path = build_report(folder)
    _emit(args, {"report": str(path)}, f"report written to {path}")
    return EXIT_OK


# ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxcalc",
        description="Derivatives, tangent lines, plots and checks of expressions, in JAX. "
        "An expression that starts with '-' goes after '--': jaxcalc diff -- '-x^2'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(
        name: str, help_text: str, dtype_help: str = "working precision (default float64)"
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        p.add_argument(
            "--dtype",
            choices=("float64", "float32"),
            default="float64",
            help=dtype_help,
        )
        return p

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

    p = command("list", "list the registered objectives or optimizers")
    p.add_argument("what", choices=("objectives", "optimizers"))
    p.set_defaults(run=cmd_list)

    def objective_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("objective", help="a registered name, an expression, or module:function")
        p.add_argument("--dim", type=int, help="dimension (for functions of any dimension)")
        p.add_argument(
            "--param",
            action="append",
            metavar="NAME=VALUE",
            help="objective parameter, e.g. instance=3 for BBOB",
        )
        p.add_argument(
            "--allow-code",
            action="store_true",
            help="allow OBJECTIVE to name Python code as module:function (runs it)",
        )

    p = command("plot-objective", "contour (2-D) or curve (1-D) of an objective")
    objective_arguments(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="png, svg or pdf")
    p.set_defaults(run=cmd_plot_objective)

    p = command("optimize", "run an optimizer from many starts and summarise the runs")
    objective_arguments(p)
    p.add_argument("--optimizer", required=True, help="e.g. adam, sgd, bfgs, newton, lbfgs")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument(
        "--hp",
        dest="param_hp",
        action="append",
        metavar="NAME=VALUE",
        help="another hyperparameter, e.g. --hp b1=0.95 (a,b,c sweeps)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--starts", type=int, default=100, help="random starts in the bounds")
    group.add_argument("--x0", help="one start, comma-separated")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--record-every", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="FILE", help="contour with paths (2-D) or curve (1-D)")
    p.set_defaults(run=cmd_optimize)

    p = command(
        "run",
        "run an experiment from a TOML config: tables, figures, report",
        dtype_help="override the config's dtype (the same as --set dtype=...; recorded "
        "with the overrides)",
    )
    p.add_argument("config", help="the TOML file (see docs/configs.md)")
    p.add_argument("--out", help="output folder (default results/<name>-<timestamp>)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set starts.count=8",
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty --out (replacing files)"
    )
    existing.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted run in --out: keep its finished groups, compute the rest "
        "(refused if the config, --set/--dtype values or jaxcalc/JAX versions changed)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the figures and report.md (draw them later with jaxcalc report DIR)",
    )
    p.set_defaults(run=cmd_run, dtype=None)

    p = command("report", "rebuild figures and report.md from saved results")
    p.add_argument("folder")
    p.set_defaults(run=cmd_report)
    return parser


_OPTION_WORDS = {"-h", "--help", "--json", "--debug", "--dtype", "-o", "--output"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if len(argv) > 1 and argv[1][:1] == "-" and argv[1] not in _OPTION_WORDS:
        argv[1] = " " + argv[1]  # an expression such as "-x^2", not an option
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _setup_numbers(args)
        return args.run(args)
    except _UsageError as err:
        print(f"{err}", file=sys.stderr)
        return EXIT_USAGE
    except (JaxcalcError, ValueError) as err:
        if debug:
            raise
        print(f"jaxcalc: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("jaxcalc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head, less, ...: not an error
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
