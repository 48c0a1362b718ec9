"""The objective commands: ``list``, ``plot-objective`` and ``optimize``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from jaxcalc.cli.common import (
    EXIT_OK,
    cli_float,
    emit,
    json_number,
    parse_point,
    plotting,
    read_key_values,
    seed_value,
)
from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.formatting import format_number

# JAX, NumPy and the library are imported by the commands when they run, so that building
# the parser (``--help``, usage errors) imports none of them.


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

    def slice_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--slice-at",
            metavar="X1,X2,...",
            help="above 2 dimensions: the point the 2-D slice (x1, x2) goes through, one "
            "number per coordinate (default: the minimiser)",
        )

    p = command(
        "plot-objective",
        "contour (2-D), curve (1-D) or a 2-D slice through the minimiser or a chosen point "
        "(more dimensions)",
    )
    objective_arguments(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="png, svg or pdf")
    slice_argument(p)
    p.set_defaults(run=cmd_plot_objective)

    p = command("optimize", "run an optimizer from many starts and summarise the runs")
    objective_arguments(p)
    p.add_argument("--optimizer", required=True, help="e.g. adam, sgd, bfgs, newton, lbfgs")
    p.add_argument(
        "--lr",
        type=_learning_rates,
        help="learning rate; a,b,c sweeps (--lr 1e-3,1e-2: one summary row per value)",
    )
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
    p.add_argument(
        "--target",
        type=float,
        default=1e-6,
        help="a run succeeds when f - f_opt <= TARGET at a recorded step (default 1e-6, "
        "as in configs); needs a known f_opt",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        help="contour with paths (2-D), curve (1-D), or a 2-D slice with the paths projected "
        "onto it (more dimensions)",
    )
    slice_argument(p)
    p.set_defaults(run=cmd_optimize)


#: run-steps from which optimize says beforehand that it will take a while (~10 s on 2 cores)
LONG_RUN_STEPS = 500_000_000


def _learning_rates(text: str) -> float | list[float]:
    """``--lr``: one learning rate, or a comma-separated sweep of them."""
    values = []
    for part in text.split(","):
        try:
            values.append(cli_float(part))
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentTypeError(
                f"{err} (give a number or comma-separated numbers: 1e-3,1e-2)"
            ) from None
    return values[0] if len(values) == 1 else values


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


def _slice_at(args: argparse.Namespace, objective) -> list[float] | None:
    """``--slice-at``: one finite number per coordinate, for an objective of more than two
    dimensions (None when not given)."""
    if args.slice_at is None:
        return None
    if objective.dim <= 2:
        raise ConfigError(
            f"--slice-at: {objective.name} has {objective.dim} dimension"
            f"{'s' if objective.dim != 1 else ''}; a slice is drawn only above 2"
        )
    return parse_point(args.slice_at, objective.dim, "--slice-at")


def cmd_plot_objective(args: argparse.Namespace) -> int:
    draw = plotting()
    target = draw.check_output_path(args.output)
    objective = build_objective(args)
    slice_at = _slice_at(args, objective)
    fig = draw.plot_objective(objective, slice_at=slice_at)
    path = draw.save_figure(fig, target)
    payload: dict[str, Any] = {"objective": objective.name, "output": str(path)}
    if objective.dim > 2:
        payload["slice_at"] = draw.slice_point(objective, slice_at).tolist()
    emit(args, payload, f"plot written to {path}")
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace) -> int:
    from jaxcalc.engine import optimize

    if args.plot:
        plotting().check_output_path(args.plot)
    objective = build_objective(args)
    if args.slice_at is not None and not args.plot:
        raise ConfigError("--slice-at: chooses the slice of --plot FILE; give --plot too")
    slice_at = _slice_at(args, objective)
    hyper = dict(read_key_values(args.param_hp or [], "--hp"))
    if args.lr is not None:
        if "learning_rate" in hyper:
            raise ConfigError("--lr and --hp learning_rate=...: give the learning rate once")
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
    payload, lines = _summary(t, objective, starts, args.target)
    if args.plot:
        path, point = _plot_paths(t, objective, args.plot, slice_at)
        payload["plot"] = str(path)
        if point is not None:
            payload["slice_at"] = point
        lines.append(f"plot written to {path}")
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


def _check_job(args: argparse.Namespace, objective, hyper: dict[str, Any]) -> None:
    """Refuse steps, record_every or a job too large for memory before any start is drawn."""
    from jaxcalc.engine import estimate
    from jaxcalc.engine.result import MAX_STEPS

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


def _starts(args: argparse.Namespace, objective):
    import jax
    import numpy as np

    if args.x0 is not None:
        return np.asarray([parse_point(args.x0, objective.dim, "--x0")])
    if args.starts < 1:
        raise ConfigError(f"--starts {args.starts}: must be >= 1")
    return np.asarray(objective.sample(jax.random.key(args.seed), args.starts))


STATUS_NOTE = (
    "status: why a run stopped. converged: |grad f| <= gtol (or relative to f) at a minimum;\n"
    "  max_steps: it ran every step without meeting a stopping test (others: README, 'Each run\n"
    "  ends with a status')"
)
SUCCESS_NOTE = (
    "success: the share of runs with f - f_opt <= {target:g} (--target) at some recorded step,\n"
    "  whatever their status: a max_steps run can succeed, a converged one at a local minimum not"
)


def _summary(t, objective, starts, target: float) -> tuple[dict[str, Any], list[str]]:
    """The JSON payload and the text lines of a finished ``optimize`` run: one block per
    setting of the sweep (a single block without one)."""
    import numpy as np

    finals = np.asarray(t.final_values, np.float64).reshape(-1)
    payload: dict[str, Any] = {
        "objective": objective.name,
        "dim": objective.dim,
        "optimizer": t.optimizer,
        "hyperparameters": {
            k: (v.tolist() if hasattr(v, "tolist") else v)
            for k, v in t.hyperparameters.items()
            if isinstance(v, int | float | list) or hasattr(v, "tolist")
        },
        "sweep": list(t.sweep),
        "starts": int(starts.shape[0]),
        "steps": t.steps,
        "record_every": t.record_every,
        "f_opt": objective.f_opt,
        "target": target if objective.f_opt is not None else None,
        "status_counts": t.status_counts(),
        "final_value_quantiles": _quantiles(finals),
        "settings": [],
        "compile_seconds": t.compile_seconds,
        "run_seconds": t.run_seconds,
    }
    runs = int(starts.shape[0])
    header = (
        f"{t.optimizer} on {objective.name} (dim {objective.dim}): {runs} starts x {t.steps} steps"
    )
    if t.sweep:
        settings = 1
        for k in t.sweep:
            settings *= len(t.hyperparameters[k])
        header += f", {settings} settings ({' x '.join(t.sweep)} swept)"
    lines = [header]
    if objective.f_opt is not None:
        lines.append(f"known minimum f_opt = {format_number(objective.f_opt, 8)}")
    for row, setting in zip(t.status_counts(by_setting=True), _settings(t), strict=True):
        block, lines_of_setting = _setting_summary(t, objective, setting, row, target)
        payload["settings"].append(block)
        lines += ["", *lines_of_setting]
    lines += ["", STATUS_NOTE]
    if objective.f_opt is not None:
        lines.append(SUCCESS_NOTE.format(target=target))
    lines.append(f"time: compile {t.compile_seconds:.2f} s, run {t.run_seconds:.3f} s")
    return payload, lines


def _quantiles(values) -> dict[str, float]:
    """min, quartiles and max of the finite values (empty when there are none)."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if not finite.size:
        return {}
    levels = np.quantile(finite, [0, 0.25, 0.5, 0.75, 1])
    return dict(zip(("min", "q25", "median", "q75", "max"), map(float, levels), strict=True))


def _settings(t) -> list[tuple[dict[str, float], tuple[int, ...]]]:
    """Each setting of the sweep (its swept values) and its index on the leading axes."""
    import numpy as np

    shape = t.status.shape[: len(t.sweep)]
    return [
        (
            {
                k: float(np.asarray(t.hyperparameters[k])[i])
                for k, i in zip(t.sweep, index, strict=True)
            },
            index,
        )
        for index in np.ndindex(*shape)
    ]


def _setting_summary(t, objective, setting, row, target: float) -> tuple[dict[str, Any], list[str]]:
    """One setting's JSON block and text lines: runs per status with the best run of each,
    the success rate, the final values' quartiles, and every run's final x, f, status,
    steps and evaluations (in the JSON)."""
    import numpy as np

    values, index = setting
    status = np.asarray(t.status[index]).reshape(-1)
    final_f = np.asarray(t.final_values[index], np.float64).reshape(-1)
    final_x = np.asarray(t.final_params[index], np.float64).reshape(status.size, -1)
    steps_run = np.where(t.event_step[index] >= 0, t.event_step[index], t.steps).reshape(-1)
    f_evals = np.asarray(t.function_evaluations[index]).reshape(-1)
    g_evals = np.asarray(t.gradient_evaluations[index]).reshape(-1)
    quantiles = _quantiles(final_f)
    best = {}
    for name in dict.fromkeys(status.tolist()):
        mine = np.flatnonzero((status == name) & np.isfinite(final_f))
        if mine.size:
            i = int(mine[np.argmin(final_f[mine])])
            best[name] = {"start": i, "f": float(final_f[i]), "x": final_x[i].tolist()}
        else:
            best[name] = {"start": None, "f": None, "x": None}  # no finite final value
    success = None
    if objective.f_opt is not None:
        recorded = np.asarray(t.values[index], np.float64).reshape(status.size, -1)
        reached = (recorded - objective.f_opt <= target).any(axis=-1)
        success = float(reached.mean())
    block = {
        "hyperparameters": values,
        "runs": int(status.size),
        "status_counts": {k: v for k, v in row.items() if k not in values and k != "runs" and v},
        "success_rate": success,
        "final_value_quantiles": quantiles,
        "best_per_status": best,
        "final": {
            "x": [json_number(x) for x in final_x.tolist()],
            "f": json_number(final_f.tolist()),
            "status": status.tolist(),
            "steps": steps_run.astype(int).tolist(),
            "function_evaluations": f_evals.astype(int).tolist(),
            "gradient_evaluations": g_evals.astype(int).tolist(),
        },
    }
    title = ", ".join(f"{k}={format_number(v)}" for k, v in values.items()) or "all runs"
    title += f": {status.size} runs"
    if success is not None:
        title += f", success {success:.2f}"
    lines = [title, f"  {'status':<22} {'runs':>6}  {'best f':>14}  at x"]
    for name, found in sorted(best.items(), key=lambda kv: -block["status_counts"][kv[0]]):
        count = block["status_counts"][name]
        if found["f"] is None:
            lines.append(f"  {name:<22} {count:>6}  {'(not finite)':>14}")
            continue
        x = ", ".join(_number(v) for v in found["x"])
        lines.append(f"  {name:<22} {count:>6}  {_number(found['f'], 8):>14}  ({x})")
    if quantiles:
        lines.append("  final f: " + ", ".join(f"{k} {_number(v)}" for k, v in quantiles.items()))
    return block, lines


def _number(value: float, digits: int = 6) -> str:
    """A final value or coordinate to ``digits`` significant digits (never rounded to a
    nearby integer: f = 1e-10 is not 0)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.{digits}g}"


def _plot_paths(t, objective, target: str, slice_at: list[float] | None = None):
    """The paths on the objective (above 2-D: on the slice through ``slice_at``, else
    through its minimiser, else through the best point found), the file written and the
    slice's point (None up to 2-D)."""
    import numpy as np

    draw = plotting()
    finals = np.asarray(t.final_values, np.float64).reshape(-1)
    if (
        slice_at is None
        and objective.dim > 2
        and objective.minimizers is None
        and np.isfinite(finals).any()
    ):
        ends = np.asarray(t.final_params, np.float64).reshape(-1, objective.dim)
        slice_at = ends[int(np.nanargmin(np.where(np.isfinite(finals), finals, np.nan)))]
    # every run of every setting of a sweep: (runs, records, dim)
    paths = t.params.reshape(-1, *t.params.shape[-2:])
    status = np.asarray(t.status).reshape(-1)
    fig = draw.plot_objective(
        objective,
        paths=paths,
        statuses=status,
        title=f"{t.optimizer} on {objective.name}",
        slice_at=slice_at,
    )
    point = draw.slice_point(objective, slice_at).tolist() if objective.dim > 2 else None
    return draw.save_figure(fig, target), point
