"""The objective commands: ``list``, ``plot-objective`` and ``optimize``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxcalc import optimize
from jaxcalc.cli.common import (
    EXIT_OK,
    emit,
    json_number,
    parse_point,
    read_key_values,
    seed_value,
)
from jaxcalc.engine import estimate
from jaxcalc.engine.result import MAX_STEPS
from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.formatting import format_number
from jaxcalc.optimizers import get_optimizer, optimizer_names


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the objective subcommands with ``command(name, help)`` (see :mod:`.app`)."""
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

    p = command(
        "plot-objective",
        "contour (2-D), curve (1-D) or a 2-D slice through the minimiser (more dimensions)",
    )
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
    group.add_argument(
        "--starts",
        type=_count,
        default=100,
        help="random starts in the bounds (a whole number: 1000 or 1e3); the job's memory "
        "is estimated before any start is drawn",
    )
    group.add_argument("--x0", help="one start, comma-separated")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--record-every", type=int, default=1)
    p.add_argument("--seed", type=seed_value, default=0, help="0 to 2^32 - 1 (default 0)")
    p.add_argument("--plot", metavar="FILE", help="contour with paths (2-D) or curve (1-D)")
    p.set_defaults(run=cmd_optimize)


#: run-steps from which optimize says beforehand that it will take a while (~10 s on 2 cores)
LONG_RUN_STEPS = 500_000_000


def _count(text: str) -> int:
    """A count typed as ``2000000`` or ``2e6`` (a whole number >= 1)."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if not (number == number and number != float("inf") and number == int(number)):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number (write 1000 or 1e3)"
            ) from None
        value = int(number)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be >= 1")
    return value


def build_objective(args: argparse.Namespace):
    from jaxcalc import objectives

    params = dict(read_key_values(args.param or [], "--param"))
    return objectives.get(args.objective, args.dim, allow_code=args.allow_code, **params)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "optimizers":
        return _list_optimizers(args)
    return _list_objectives(args)


def _list_optimizers(args: argparse.Namespace) -> int:
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
    emit(args, {"optimizers": rows}, "\n".join(lines))
    return EXIT_OK


def _list_objectives(args: argparse.Namespace) -> int:
    from jaxcalc import objectives

    rows = [objectives.get(name).summary() for name in objectives.names()]
    for r in rows:
        r["f_opt"] = None if r["f_opt"] is None else json_number(r["f_opt"])
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
    emit(args, {"objectives": rows}, "\n".join(lines))
    return EXIT_OK


def cmd_plot_objective(args: argparse.Namespace) -> int:
    from jaxcalc.plotting import check_output_path, plot_objective, save_figure, use_file_backend

    use_file_backend()
    target = check_output_path(args.output)
    objective = build_objective(args)
    fig = plot_objective(objective)
    path = save_figure(fig, target)
    emit(args, {"objective": objective.name, "output": str(path)}, f"plot written to {path}")
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace) -> int:
    from jaxcalc.plotting import check_output_path

    if args.plot:
        check_output_path(args.plot)
    objective = build_objective(args)
    hyper = dict(read_key_values(args.param_hp or [], "--hp"))
    if args.lr is not None:
        hyper["learning_rate"] = args.lr
    _check_job(args, objective, hyper)
    starts = _starts(args, objective)
    t = optimize(
        objective,
        args.optimizer,
        starts,
        args.steps,
        record_every=args.record_every,
        seed=args.seed,
        **hyper,
    )
    payload, lines = _summary(t, objective, starts)
    if args.plot:
        path = _plot_paths(t, objective, args.plot)
        payload["plot"] = str(path)
        lines.append(f"plot written to {path}")
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


def _check_job(args: argparse.Namespace, objective, hyper: dict[str, Any]) -> None:
    """Refuse steps, record_every or a job too large for memory before any start is drawn."""
    if not 1 <= args.steps <= MAX_STEPS:
        raise ConfigError(f"--steps {args.steps}: must be from 1 to {MAX_STEPS}")
    if not 1 <= args.record_every <= args.steps:
        raise ConfigError(
            f"--record-every {args.record_every}: must be from 1 to --steps ({args.steps})"
        )
    n_starts = 1 if args.x0 is not None else args.starts
    try:
        job = estimate(
            [(args.optimizer, hyper)],
            n_starts,
            args.steps,
            objective.dim,
            record_every=args.record_every,
        )
    except ResourceError as err:
        message = str(err).replace("optimize: ", "", 1)
        message = (
            message.replace("record_every=", "--record-every ")
            .replace("reduce starts", "reduce --starts")
            .replace("fewer starts", "fewer --starts")
        )
        raise ResourceError(f"optimize: {message}") from None
    if job.runs * args.steps >= LONG_RUN_STEPS and not args.json:
        print(
            f"jaxcalc: optimize: {job.summary()}, {args.steps} steps each; this can take "
            f"a minute or more",
            file=sys.stderr,
            flush=True,
        )


def _starts(args: argparse.Namespace, objective) -> np.ndarray:
    if args.x0 is not None:
        return np.asarray([parse_point(args.x0, objective.dim, "--x0")])
    if args.starts < 1:
        raise ConfigError(f"--starts {args.starts}: must be >= 1")
    return np.asarray(objective.sample(jax.random.key(args.seed), args.starts))


def _summary(t, objective, starts: np.ndarray) -> tuple[dict[str, Any], list[str]]:
    """The JSON payload and the text lines of a finished ``optimize`` run."""
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
    return payload, lines


def _plot_paths(t, objective, target: str):
    """The paths on the objective (above 2-D: on the slice through its minimiser, or
    through the best point found when no minimiser is known)."""
    from jaxcalc.plotting import plot_objective, save_figure, use_file_backend

    use_file_backend()
    slice_at = None
    finals = np.asarray(t.final_values, np.float64).reshape(-1)
    if objective.dim > 2 and objective.minimizers is None and np.isfinite(finals).any():
        ends = np.asarray(t.final_params, np.float64).reshape(-1, objective.dim)
        slice_at = ends[int(np.nanargmin(np.where(np.isfinite(finals), finals, np.nan)))]
    paths = t.params if t.params.ndim == 3 else t.params[None]
    status = np.atleast_1d(t.status)
    fig = plot_objective(
        objective,
        paths=paths,
        statuses=status,
        title=f"{t.optimizer} on {objective.name}",
        slice_at=slice_at,
    )
    return save_figure(fig, target)
