"""Validation of a raw config dict, section by section, into an :class:`ExperimentConfig`.

Each ``read_*`` function reads one section or entry, records every problem it finds in the
:class:`~jaxcalc.pipeline.config.reader.Reader` and returns what it could read. Objectives
(:mod:`~jaxcalc.pipeline.config.validate_objectives`) and optimizers
(:mod:`~jaxcalc.pipeline.config.validate_optimizers`) are built there, once; the config
carries them (``ObjectiveConfig.objective``, ``OptimizerConfig.optimizer``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
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
    OUTPUT_KEYS,
    RUN_KEYS,
    STARTS_KEYS,
    TOP_KEYS,
    ExperimentConfig,
    ObjectiveConfig,
    OutputConfig,
    RunConfig,
    StartsConfig,
)
from jaxcalc.pipeline.config.validate_objectives import read_objectives
from jaxcalc.pipeline.config.validate_optimizers import read_optimizers
from jaxcalc.pipeline.config.validate_tuning import read_tuning

__all__ = ["read_experiment"]


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
