"""Validation of a raw config dict, section by section, into an :class:`ExperimentConfig`.

Each ``read_*`` function reads one section or entry, records every problem it finds in the
:class:`~jaxcalc.pipeline.config.reader.Reader` and returns what it could read. Objectives
(:mod:`~jaxcalc.pipeline.config.validate_objectives`) and optimizers are built here, once;
the config carries them (``ObjectiveConfig.objective``, ``OptimizerConfig.optimizer``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline.config.problems import Path_
from jaxcalc.pipeline.config.reader import Reader, got, is_number, looks_numeric, suggest
from jaxcalc.pipeline.config.schema import (
    DTYPES,
    FIGURE_FORMATS,
    MAX_BUDGET,
    MAX_COUNT,
    MAX_SEED,
    MAX_STEPS,
    MAX_SWEEP,
    OPTIMIZER_KEYS,
    OUTPUT_KEYS,
    RUN_KEYS,
    STARTS_KEYS,
    TOP_KEYS,
    ExperimentConfig,
    ObjectiveConfig,
    OptimizerConfig,
    OutputConfig,
    RunConfig,
    StartsConfig,
)
from jaxcalc.pipeline.config.validate_objectives import check_unique_labels, read_objectives
from jaxcalc.pipeline.config.validate_tuning import read_tuning

__all__ = ["read_experiment"]

# integer options with a lower bound above 0
_POSITIVE_OPTIONS = ("max_trials", "memory_size")


def read_experiment(r: Reader, raw: dict, default_name: str, base: Path) -> ExperimentConfig:
    """The whole config (problems go to ``r``; the result is valid only without any)."""
    r.table(raw, (), TOP_KEYS)
    name = r.label(raw["name"], ("name",)) if "name" in raw else default_name
    if name and ("/" in name or "\\" in name):
        r.problem(("name",), "must not contain / or \\ (it names the results folder)")
    description = r.string(raw, "description", (), "")
    seed = r.integer(raw, "seed", (), 0, 0, MAX_SEED)
    dtype = r.string(raw, "dtype", (), "float32")
    if isinstance(dtype, str) and dtype not in DTYPES:
        r.problem(("dtype",), f"must be 'float32' or 'float64' (got '{dtype}')")
        dtype = None
    objectives, index = read_objectives(
        r, raw.get("objectives"), dtype or "float32", seed if seed is not None else 0
    )
    starts = read_starts(r, raw.get("starts", {}), objectives, index)
    run = read_run(r, raw.get("run", {}))
    run_table = raw.get("run", {}) if isinstance(raw.get("run", {}), dict) else {}
    # with a budget, each optimizer's steps are known only when planning: the engine then
    # checks the schedules' values
    budgeted = "budget" in run_table or "budget_per_dim" in run_table
    check_epochs(r, objectives, index, run_table)
    # epochs set some objectives' steps: the engine checks the schedules for them too
    by_epochs = any(o.epochs is not None for o in objectives)
    optimizers = read_optimizers(
        r, raw.get("optimizers"), None if budgeted or by_epochs else run.steps
    )
    output = read_output(r, raw.get("output", {}), base, run, starts)
    config = ExperimentConfig(
        name=name or "",
        seed=seed if seed is not None else 0,
        dtype=dtype or "float32",
        starts=starts,
        run=run,
        objectives=objectives,
        optimizers=optimizers,
        output=output,
        description=description or "",
    )
    if "tuning" in raw and not r.problems:  # the search space names valid optimizers
        config = dataclasses.replace(config, tuning=read_tuning(r, raw["tuning"], config))
    return config


def check_epochs(
    r: Reader, objectives: tuple[ObjectiveConfig, ...], index: list[int], run_table: dict
) -> None:
    """A problem for each objective that sets ``epochs`` while ``[run]`` sets the steps
    too (``steps``, or a budget): one of the two decides."""
    given = [k for k in ("steps", "budget", "budget_per_dim") if k in run_table]
    if not given:
        return
    for i in sorted({i for i, o in zip(index, objectives, strict=True) if o.epochs is not None}):
        r.problem(
            ("objectives", i, "epochs"),
            f"give either epochs here or run.{given[0]}, not both: epochs set this "
            f"objective's steps, run.{given[0]} every other objective's",
        )


def read_starts(
    r: Reader, raw: Any, objectives: tuple[ObjectiveConfig, ...], index: list[int]
) -> StartsConfig:
    """``[starts]``: a count, or explicit points (which every objective's dim must fit)."""
    path = ("starts",)
    tbl = r.table(raw, path, STARTS_KEYS)
    if tbl is None:
        return StartsConfig()
    count = r.integer(tbl, "count", path, None, 1, MAX_COUNT)
    points = None
    if "points" in tbl:
        points = read_points(r, tbl["points"], path + ("points",), objectives, index)
        if points is not None and count is not None and count != len(points):
            r.problem(
                path + ("count",),
                f"is {count} but {len(points)} points are given; leave count out",
            )
    if points is not None:
        count = len(points)
    return StartsConfig(count=count if count is not None else 100, points=points)


def read_points(
    r: Reader, v: Any, p: Path_, objectives, index: list[int]
) -> tuple[tuple[float, ...], ...] | None:
    if not isinstance(v, list) or not v:
        r.problem(p, f"must be a non-empty list of points, got {got(v)}")
        return None
    if len(v) > MAX_COUNT:
        r.problem(p, f"has {len(v)} points; limit {MAX_COUNT}")
        return None
    if all(is_number(x) for x in v):
        v = [[x] for x in v]  # 1-D starts may be written as plain numbers
    out = []
    for i, pt in enumerate(v):
        if not isinstance(pt, list) or not pt:
            r.problem(p + (i,), f"must be a list of numbers, got {got(pt)}")
            return None
        values = [r.float_value(x, p + (i, j)) for j, x in enumerate(pt)]
        if any(x is None for x in values):
            return None
        out.append(tuple(values))
    dims = {len(pt) for pt in out}
    if len(dims) > 1:
        r.problem(p, f"points have different lengths ({', '.join(map(str, sorted(dims)))})")
        return None
    dim = dims.pop()
    for i, obj in zip(index, objectives, strict=True):
        if obj.dim != dim:
            r.problem(
                p,
                f"points have {dim} value{'s' if dim != 1 else ''}, but objectives[{i}] "
                f"('{obj.label}') has dim {obj.dim}; explicit points need every objective "
                "to have the same dim",
            )
    return tuple(out)


def read_run(r: Reader, raw: Any) -> RunConfig:
    path = ("run",)
    tbl = r.table(raw, path, RUN_KEYS)
    d = RunConfig()
    if tbl is None:
        return d
    steps = r.integer(tbl, "steps", path, d.steps, 1, MAX_STEPS)
    record_every = r.integer(tbl, "record_every", path, d.record_every, 1, MAX_STEPS)
    budget = r.integer(tbl, "budget", path, None, 1, MAX_BUDGET)
    budget_per_dim = r.integer(tbl, "budget_per_dim", path, None, 1, MAX_BUDGET)
    given = [k for k in ("steps", "budget", "budget_per_dim") if k in tbl]
    if len(given) > 1:
        r.problem(
            path + (given[1],),
            f"give one of steps, budget and budget_per_dim (also given: {given[0]}); "
            "a budget sets each optimizer's steps",
        )
    has_budget = "budget" in tbl or "budget_per_dim" in tbl
    gradient_cost = read_gradient_cost(r, tbl, path, has_budget)
    # with a budget, record_every is clipped to each optimizer's steps
    too_sparse = steps is not None and record_every is not None and record_every > steps
    if too_sparse and not has_budget:
        r.problem(
            path + ("record_every",),
            f"must be <= steps ({steps}) (got {record_every})",
        )
    target = r.number(tbl, "target", path, d.target, positive=True)
    gtol = r.number(tbl, "gtol", path, None, positive=True)
    patience = r.integer(tbl, "patience", path, d.patience, 1, MAX_STEPS)
    f_limit = r.number(tbl, "f_limit", path, None, positive=True)
    x_limit = r.number(tbl, "x_limit", path, None, positive=True)
    chunk_size = r.integer(tbl, "chunk_size", path, None, 1, MAX_COUNT)
    check = r.boolean(tbl, "check_curvature", path, d.check_curvature)
    return RunConfig(
        steps=steps or d.steps,
        record_every=record_every or d.record_every,
        target=target if target is not None else d.target,
        gtol=gtol,
        patience=patience or d.patience,
        f_limit=f_limit,
        x_limit=x_limit,
        chunk_size=chunk_size,
        check_curvature=check if check is not None else True,
        budget=budget,
        budget_per_dim=budget_per_dim,
        gradient_cost=gradient_cost if gradient_cost is not None else d.gradient_cost,
    )


def read_gradient_cost(r: Reader, tbl: dict, path: Path_, has_budget: bool) -> float | str | None:
    if "gradient_cost" not in tbl:
        return None
    p = path + ("gradient_cost",)
    v = tbl["gradient_cost"]
    if not has_budget:
        r.problem(p, "only with a budget (run.budget or run.budget_per_dim)")
        return None
    if isinstance(v, str) and not looks_numeric(v):
        if v != "dim":
            r.problem(p, f'must be a number >= 0 or "dim", got {got(v)}')
            return None
        return v
    value = r.float_value(v, p)
    if value is not None and value < 0:
        r.problem(p, f"must be >= 0 (got {value:g})")
        return None
    return value


def read_output(
    r: Reader, raw: Any, base: Path, run: RunConfig | None = None, starts: Any = None
) -> OutputConfig:
    """``[output]``: the results folder, the extra summary metrics, the confidence
    intervals and the fixed budgets."""
    path = ("output",)
    tbl = r.table(raw, path, OUTPUT_KEYS)
    if tbl is None:
        return OutputConfig()
    names, metrics = read_metrics(r, tbl, path)
    confidence, samples = read_confidence(r, tbl, path, starts)
    return OutputConfig(
        dir=read_dir(r, tbl, path, base),
        metrics=names,
        resolved_metrics=metrics,
        figure_formats=read_figure_formats(r, tbl, path),
        confidence=confidence,
        bootstrap_samples=samples,
        fixed_budgets=read_fixed_budgets(r, tbl, path, run),
    )


def read_confidence(r: Reader, tbl: dict, path: Path_, starts: Any) -> tuple[float, int]:
    """``confidence`` (in (0, 1)) and ``bootstrap_samples`` (enough for both tails); with
    either given, at least 2 runs per setting (``starts.count``)."""
    from jaxcalc.pipeline import stats

    confidence, samples = stats.DEFAULT_CONFIDENCE, stats.DEFAULT_SAMPLES
    if "confidence" in tbl:
        try:
            confidence = stats.check_confidence(tbl["confidence"], "")
        except ConfigError as err:
            r.problem(path + ("confidence",), str(err).lstrip())
    if "bootstrap_samples" in tbl:
        try:
            samples = stats.check_samples(tbl["bootstrap_samples"], confidence, "")
        except ConfigError as err:
            r.problem(path + ("bootstrap_samples",), str(err).lstrip())
    asked = [k for k in ("confidence", "bootstrap_samples") if k in tbl]
    count = getattr(starts, "count", None)
    if asked and isinstance(count, int) and count < 2:
        r.problem(
            path + (asked[0],),
            f"a confidence interval needs at least 2 runs per setting, but starts.count is "
            f"{count}; raise starts.count or leave out output.{asked[0]}",
        )
    return confidence, samples


def read_fixed_budgets(
    r: Reader, tbl: dict, path: Path_, run: RunConfig | None
) -> tuple[int, ...] | None:
    """``fixed_budgets``: increasing whole numbers of evaluations >= 1 (within ``[run]
    budget`` when there is one)."""
    if "fixed_budgets" not in tbl:
        return None
    v = tbl["fixed_budgets"]
    p = path + ("fixed_budgets",)
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]  # one budget
    if v == []:
        r.problem(p, "is empty: list at least one evaluation budget, e.g. [100, 1000]")
        return None
    if not (isinstance(v, list) and all(is_number(x) for x in v)):
        r.problem(p, f"must be a list of evaluation budgets, e.g. [100, 1000]; got {got(v)}")
        return None
    budgets: list[int] = []
    for j, x in enumerate(v):
        if not (math.isfinite(x) and float(x).is_integer() and x >= 1):
            r.problem(p + (j,), f"must be a whole number of evaluations >= 1, got {x!r}")
            return None
        if budgets and x <= budgets[-1]:
            r.problem(p + (j,), f"must be larger than the budget before it ({budgets[-1]})")
            return None
        if run is not None and run.budget is not None and x > run.budget:
            r.problem(p + (j,), f"{x!r} is past run.budget = {run.budget}: nothing is recorded")
            return None
        budgets.append(int(x))
    return tuple(budgets)


def read_figure_formats(r: Reader, tbl: dict, path: Path_) -> tuple[str, ...]:
    """``figure_formats``: the report's figure files, PNG first (report.md shows it)."""
    if "figure_formats" not in tbl:
        return ("png",)
    v = tbl["figure_formats"]
    p = path + ("figure_formats",)
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        r.problem(p, f'must be a list of formats, e.g. ["png", "svg"]; got {got(v)}')
        return ("png",)
    formats = ["png"]
    for j, name in enumerate(v):
        key = name.lower().lstrip(".")
        if key not in FIGURE_FORMATS:
            r.problem(p + (j,), f"unknown figure format '{name}'; use {', '.join(FIGURE_FORMATS)}")
        elif key not in formats:
            formats.append(key)
    return tuple(formats)


def read_metrics(r: Reader, tbl: dict, path: Path_) -> tuple[tuple[str, ...], tuple]:
    """``metrics``: names of registered metrics (:func:`jaxcalc.pipeline.register_metric`),
    each resolved to its :class:`~jaxcalc.pipeline.tables.Metric`."""
    from jaxcalc.pipeline import tables

    if "metrics" not in tbl:
        return (), ()
    v = tbl["metrics"]
    p = path + ("metrics",)
    if isinstance(v, str):
        v = [v]  # one name
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        r.problem(p, f'must be a list of metric names, e.g. ["success_rate"]; got {got(v)}')
        return (), ()
    known = tables.metric_names()
    names, metrics = [], []
    for j, name in enumerate(v):
        if name not in known:
            hint = suggest(name, known) or f" (registered: {', '.join(known)})"
            r.problem(p + (j,), f"unknown metric '{name}'{hint}")
        elif name in names:
            r.problem(p + (j,), f"metric '{name}' is listed twice")
        else:
            names.append(name)
            metrics.append(tables.get_metric(name))
    return tuple(names), tuple(metrics)


def read_dir(r: Reader, tbl: dict, path: Path_, base: Path) -> Path | None:
    """``dir``: the results folder, made absolute against ``base`` (None when not given)."""
    if "dir" not in tbl:
        return None
    v = r.string(tbl, "dir", path, None)
    p = path + ("dir",)
    if v is None:
        return None
    bad = [c for c in v if ord(c) < 32]
    if bad:
        shown = v.encode("unicode_escape").decode()
        r.problem(
            p,
            f"contains a control character ({bad[0]!r}): a Windows path in double quotes? "
            f"Backslashes are escapes there; use single quotes: dir = '{shown}'",
        )
        return None
    if not v.strip():
        r.problem(p, "must not be empty")
        return None
    d = Path(v).expanduser()
    if not d.is_absolute():
        d = base / d
    return Path(os.path.normpath(d))


def read_optimizers(r: Reader, raw: Any, steps: int | None = None) -> tuple[OptimizerConfig, ...]:
    path: Path_ = ("optimizers",)
    if raw is None:
        r.problem(path, "missing: add at least one [[optimizers]] table")
        return ()
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        r.problem(path, f"must be a list of [[optimizers]] tables, got {got(raw)}")
        return ()
    out = [(i, read_optimizer(r, item, path + (i,), steps)) for i, item in enumerate(raw)]
    good = [(i, o) for i, o in out if o is not None]
    check_unique_labels(r, [o.label for _, o in good], [i for i, _ in good], "optimizers")
    return tuple(o for _, o in good)


def read_optimizer(
    r: Reader, item: Any, path: Path_, steps: int | None = None
) -> OptimizerConfig | None:
    """One ``[[optimizers]]`` entry: a registered ``name`` or a ``chain`` of optax
    transformations, its hyperparameters (a list sweeps; a table with a ``schedule`` key
    is a schedule) and its options. With ``steps``, a schedule whose value leaves its
    range within that many steps is a problem at its key."""
    from jaxcalc.optimizers.schedules import check_schedules, with_schedules

    if not isinstance(item, dict):
        r.problem(path, f"must be a table ([[optimizers]]), got {got(item)}")
        return None
    if "chain" in item and "name" in item:
        r.problem(path + ("chain",), "give `name` or `chain`, not both")
        return None
    label = r.label(item["label"], path + ("label",)) if "label" in item else None
    method = _read_method(r, item, path, label)
    if method is None:
        return None
    opt, name, hyper = method
    options, schedules = _read_settings(r, item, path, opt, name, hyper)
    try:
        resolved = opt.with_options(**options) if options else opt
        if schedules:
            given = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hyper.items()}
            resolved, given = with_schedules(resolved, {**given, **schedules})
            hyper = {k: (tuple(v) if isinstance(v, list) else v) for k, v in given.items()}
    except Exception as err:  # noqa: BLE001 - any refusal becomes a config problem
        r.problem(path, str(err))
        return None
    if schedules and steps is not None:
        try:
            check_schedules(resolved, hyper, steps)
        except ConfigError as err:
            key = next((k for k in schedules if f".{k}:" in str(err)), next(iter(schedules)))
            r.problem(path + (key,), str(err))
            return None
    definition = {k: item[k] for k in ("chain", *schedules) if k in item}
    return OptimizerConfig(
        label=label or name,
        name=name,
        hyperparameters=MappingProxyType(hyper),
        options=MappingProxyType(options),
        optimizer=resolved,
        definition=MappingProxyType(definition),
    )


def _read_method(r: Reader, item: dict, path: Path_, label: str | None):
    """The method of an ``[[optimizers]]`` entry, ``(optimizer, name, sweeps of its chain)``,
    from its ``chain`` or its registered ``name``; None after recording the problem."""
    from jaxcalc.optimizers import get_optimizer, optimizer_names
    from jaxcalc.optimizers.transformations import chain_optimizer

    hyper: dict[str, float | tuple[float, ...]] = {}
    if "chain" in item:
        try:
            opt, sweeps = chain_optimizer(item["chain"], name=label, where="chain")
        except ConfigError as err:
            r.problem(path + ("chain",), str(err))
            return None
        name = opt.name
        hyper.update({k: tuple(v) for k, v in sweeps.items()})
    else:
        if "name" not in item:
            r.problem(path, 'missing `name` (e.g. name = "adam") or `chain`')
            return None
        name = item["name"]
        if not isinstance(name, str):
            r.problem(path + ("name",), f"must be a string, got {got(name)}")
            return None
        if name not in optimizer_names():
            r.problem(
                path + ("name",),
                f"unknown optimizer '{name}'{suggest(name, optimizer_names())} "
                "(list them with `jaxcalc list optimizers`)",
            )
            return None
        opt = get_optimizer(name)
    return opt, name, hyper


def _read_settings(r: Reader, item: dict, path: Path_, opt, name: str, hyper: dict):
    """An entry's other keys: hyperparameters (into ``hyper``; a list sweeps), schedules
    (a table with a ``schedule`` key) and options; returns ``(options, schedules)``."""
    from jaxcalc.optimizers import check_hyperparameters
    from jaxcalc.optimizers.schedules import parse_schedule

    settable_options = {
        k: d for k, d in opt.options.items() if isinstance(d, bool | int | float | str)
    }
    known = [*OPTIMIZER_KEYS, *opt.defaults, *opt.options]
    options: dict[str, Any] = {}
    schedules: dict[str, Any] = {}
    for key, v in item.items():
        if key in OPTIMIZER_KEYS:
            continue
        p = path + (key,)
        if key in opt.defaults and isinstance(v, dict):
            try:
                schedules[key] = parse_schedule(v, f"{name}.{key}")
            except ConfigError as err:
                r.problem(p, str(err))
        elif key in opt.defaults:
            val = read_hyperparameter(r, v, p, name, key, check_hyperparameters)
            if val is not None:
                hyper[key] = val
        elif key in opt.options:
            if key not in settable_options:
                r.problem(p, f"option '{key}' of {name} cannot be set from a config")
                continue
            val = read_option(r, v, p, settable_options[key], name)
            if val is not None:
                options[key] = val
        else:
            takes = ", ".join([*opt.defaults, *settable_options]) or "nothing"
            hint = suggest(key, [k for k in known if k not in OPTIMIZER_KEYS])
            r.problem(
                p,
                f"unknown hyperparameter of {name}{hint} ({name} takes: {takes})",
            )
    return options, schedules


def read_hyperparameter(r: Reader, v: Any, p: Path_, method: str, key: str, check) -> Any:
    if isinstance(v, list):
        if not v:
            r.problem(p, "a sweep needs at least one value")
            return None
        if len(v) > MAX_SWEEP:
            r.problem(p, f"a sweep of {len(v)} values; limit {MAX_SWEEP}")
            return None
        vals = [read_checked(r, x, p + (i,), method, key, check) for i, x in enumerate(v)]
        return tuple(vals) if all(x is not None for x in vals) else None
    return read_checked(r, v, p, method, key, check)


def read_checked(r: Reader, v: Any, p: Path_, method: str, key: str, check) -> float | None:
    value = r.float_value(v, p)
    if value is None:
        return None
    try:
        check(method, {key: value})
    except ConfigError as err:
        msg = str(err)
        prefix = f"{method}.{key}: "
        r.problem(p, msg[len(prefix) :] if msg.startswith(prefix) else msg)
        return None
    return value


def read_option(r: Reader, v: Any, p: Path_, default: Any, method: str) -> Any:
    if isinstance(v, list):
        r.problem(
            p,
            "options are fixed when compiling and cannot be swept; use one [[optimizers]] "
            "entry per value, each with its own `label`",
        )
        return None
    if isinstance(default, bool):
        if not isinstance(v, bool):
            r.problem(p, f"must be true or false, got {got(v)}")
            return None
        return v
    if isinstance(default, int):
        lo = 1 if p[-1] in _POSITIVE_OPTIONS else 0
        if isinstance(v, bool) or not isinstance(v, int):
            r.problem(p, f"must be an integer, got {got(v)}")
        elif not lo <= v <= 10**9:
            r.problem(p, f"must be in {lo}..{10**9} (got {v})")
        else:
            return v
        return None
    if isinstance(default, float):
        return r.float_value(v, p)
    if not isinstance(v, str):
        r.problem(p, f"must be a string, got {got(v)}")
        return None
    return v
