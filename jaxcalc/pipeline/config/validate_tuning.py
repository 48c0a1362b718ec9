"""Validation of ``[tuning]``: the method, budget, seeds, criterion, instances and the
search space of each tuned optimizer (see ``docs/tuning.md``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline.config.problems import Path_
from jaxcalc.pipeline.config.reader import Reader, got, is_number, suggest
from jaxcalc.pipeline.config.schema import (
    MAX_BUDGET,
    MAX_SEED,
    MAX_SWEEP,
    RANGE_KEYS,
    TUNING_CRITERIA,
    TUNING_KEYS,
    TUNING_METHODS,
    ExperimentConfig,
    Range,
    TuningConfig,
)

__all__ = ["read_tuning", "tuning_objectives"]

_MAX_INSTANCE = 10**6


def read_tuning(r: Reader, raw: Any, config: ExperimentConfig) -> TuningConfig | None:
    """``[tuning]`` of ``config`` (the rest already read), or None after a problem."""
    path: Path_ = ("tuning",)
    tbl = r.table(raw, path, TUNING_KEYS)
    if tbl is None:
        return None
    before = len(r.problems)
    method = r.string(tbl, "method", path, "grid")
    if isinstance(method, str) and method not in TUNING_METHODS:
        r.problem(
            path + ("method",), f"must be one of {', '.join(TUNING_METHODS)} (got '{method}')"
        )
    criterion = r.string(tbl, "criterion", path, "median_final_gap")
    if isinstance(criterion, str) and criterion not in TUNING_CRITERIA:
        hint = suggest(criterion, TUNING_CRITERIA) or f"; use {', '.join(TUNING_CRITERIA)}"
        r.problem(path + ("criterion",), f"unknown criterion '{criterion}'{hint}")
    if "budget" not in tbl:
        r.problem(path + ("budget",), "missing: the evaluations each optimizer's search may spend")
    budget = r.integer(tbl, "budget", path, None, 1, MAX_BUDGET)
    samples = r.integer(tbl, "samples", path, None, 1, MAX_SWEEP)
    if samples is not None and method == "grid":
        r.problem(path + ("samples",), "only for method random or sobol (a grid tries every value)")
    seeds = read_seeds(r, tbl, path, config)
    instances = read_instances(r, tbl, path, config)
    space = read_space(r, tbl.get("space"), path + ("space",), method, config)
    if config.starts.points is not None:
        r.problem(
            path,
            "needs sampled starts: starts.points would be the same in the tuning and the "
            "comparison stage; give starts.count instead",
        )
    if len(r.problems) > before:
        return None
    tuning = TuningConfig(
        method=method,
        budget=budget,
        seeds=seeds,
        criterion=criterion,
        space=MappingProxyType(space),
        instances=instances,
        samples=samples,
    )
    check_budget(r, tuning, config)
    return tuning if len(r.problems) == before else None


def read_seeds(r: Reader, tbl: dict, path: Path_, config: ExperimentConfig) -> tuple[int, ...]:
    p = path + ("seeds",)
    v = tbl.get("seeds")
    if v is None:
        r.problem(p, "missing: the tuning stage's seeds, e.g. seeds = [101, 102]")
        return ()
    if not isinstance(v, list) or not v:
        r.problem(p, f"must be a non-empty list of seeds, got {got(v)}")
        return ()
    if any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED for s in v):
        r.problem(p, f"must list whole numbers in 0..{MAX_SEED}, got {v!r}")
        return ()
    seeds = list(v)
    if len(set(seeds)) != len(seeds):
        r.problem(p, "lists a seed twice")
    if config.seed in seeds:
        r.problem(
            p,
            f"lists seed {config.seed}, the comparison's seed: the comparison must run on "
            "fresh seeds; pick other tuning seeds or another seed",
        )
    return tuple(seeds)


def _instance_objectives(config: ExperimentConfig) -> list[Any]:
    """The objectives that have instances (BBOB's): those built with an ``instance``."""
    return [o for o in config.objectives if "instance" in (o.build().params or {})]


def read_instances(
    r: Reader, tbl: dict, path: Path_, config: ExperimentConfig
) -> tuple[int, ...] | None:
    """Tuning instances: given, or the smallest instance number no comparison objective
    uses; disjoint from the comparison's. None when no objective has instances."""
    p = path + ("instances",)
    with_instances = _instance_objectives(config)
    used = sorted({int(o.build().params["instance"]) for o in with_instances})
    if "instances" not in tbl:
        if not with_instances:
            return None
        free = next(k for k in range(1, len(used) + 2) if k not in used)
        return (free,)
    v = tbl["instances"]
    if not with_instances:
        r.problem(p, "no objective has instances (only BBOB's do); leave instances out")
        return None
    if not isinstance(v, list) or not v or not all(isinstance(x, int) for x in v):
        r.problem(p, f"must be a non-empty list of instance numbers, got {got(v)}")
        return None
    if any(isinstance(x, bool) or not 1 <= x <= _MAX_INSTANCE for x in v):
        r.problem(p, f"instance numbers must be in 1..{_MAX_INSTANCE}")
        return None
    shared = sorted(set(v) & set(used))
    if shared:
        r.problem(
            p,
            f"instance {shared[0]} is also a comparison instance: tuning and comparison "
            "instances must be disjoint",
        )
        return None
    if len(set(v)) != len(v):
        r.problem(p, "lists an instance twice")
        return None
    return tuple(v)


def read_space(r: Reader, raw: Any, path: Path_, method: Any, config: ExperimentConfig) -> dict:
    """``[tuning.space.<label>]``: per optimizer label, each tuned hyperparameter's values
    (grid) or range (random, sobol)."""
    from jaxcalc.optimizers import check_hyperparameters

    labels = {o.label: o for o in config.optimizers}
    if raw is None or raw == {}:
        r.problem(
            path,
            "is empty: add a [tuning.space.<optimizer label>] table with the values to "
            "search, e.g. learning_rate = [0.001, 0.01, 0.1]",
        )
        return {}
    if not isinstance(raw, dict):
        r.problem(path, f"must be a table of optimizer labels, got {got(raw)}")
        return {}
    space: dict[str, Any] = {}
    for label, hp in raw.items():
        p = path + (label,)
        if label not in labels:
            hint = suggest(label, list(labels)) or f"; the optimizers are: {', '.join(labels)}"
            r.problem(p, f"no optimizer has the label '{label}'{hint}")
            continue
        o_cfg = labels[label]
        if not isinstance(hp, dict) or not hp:
            r.problem(
                p,
                f"is empty: name at least one hyperparameter of {o_cfg.name} to search"
                if hp == {}
                else f"must be a table of hyperparameters, got {got(hp)}",
            )
            continue
        if o_cfg.sweeps:
            r.problem(
                p,
                f"optimizer '{label}' also sweeps {o_cfg.sweeps[0]} in [[optimizers]]: a "
                "tuned optimizer gets one value of each hyperparameter outside the search "
                "space; move the sweep into the space",
            )
            continue
        method_obj = o_cfg.build()
        values: dict[str, Any] = {}
        for key, v in hp.items():
            q = p + (key,)
            if key not in method_obj.defaults:
                takes = ", ".join(method_obj.defaults) or "nothing"
                hint = suggest(key, list(method_obj.defaults))
                r.problem(q, f"not a hyperparameter of {o_cfg.name}{hint} (it takes: {takes})")
                continue
            read = read_values if method == "grid" else read_range
            value = read(r, v, q)
            if value is None:
                continue
            probe = list(value) if isinstance(value, tuple) else [value.low, value.high]
            try:
                check_hyperparameters(o_cfg.name, {key: probe})
            except ConfigError as err:
                r.problem(q, str(err))
                continue
            values[key] = value
        if values and len(values) == len(hp):
            space[label] = MappingProxyType(values)
    return space


def read_values(r: Reader, v: Any, p: Path_) -> tuple[float, ...] | None:
    if isinstance(v, dict):
        r.problem(p, "a range is for method random or sobol; a grid takes a list of values")
        return None
    if not isinstance(v, list) or not v:
        r.problem(p, f"is empty: list the values to try, e.g. [0.001, 0.01]; got {got(v)}"
                  if v == [] else f"must be a list of values, got {got(v)}")  # fmt: skip
        return None
    if len(v) > MAX_SWEEP:
        r.problem(p, f"lists {len(v)} values; limit {MAX_SWEEP}")
        return None
    values = [r.float_value(x, p + (i,)) for i, x in enumerate(v)]
    if any(x is None for x in values):
        return None
    if len(set(values)) != len(values):
        r.problem(p, "lists a value twice")
        return None
    return tuple(values)


def read_range(r: Reader, v: Any, p: Path_) -> Range | None:
    if isinstance(v, list):
        r.problem(
            p, "random and sobol sampling take a range, e.g. {low = 1e-5, high = 0.1, log = true}"
        )
        return None
    tbl = r.table(v, p, RANGE_KEYS)
    if tbl is None:
        return None
    missing = [k for k in ("low", "high") if k not in tbl]
    if missing:
        r.problem(p, f"missing `{missing[0]}`: a range needs low and high")
        return None
    if not all(is_number(tbl[k]) for k in ("low", "high")):
        r.problem(p, "low and high must be numbers")
        return None
    low = r.float_value(tbl["low"], p + ("low",))
    high = r.float_value(tbl["high"], p + ("high",))
    log = r.boolean(tbl, "log", p, False)
    if low is None or high is None or log is None:
        return None
    if not low < high:
        r.problem(p, f"low must be < high (got {low:g} and {high:g})")
        return None
    if log and low <= 0:
        r.problem(p + ("low",), f"must be > 0 with log = true (got {low:g})")
        return None
    return Range(low, high, log)


def tuning_objectives(config: ExperimentConfig, tuning: TuningConfig) -> list[Any]:
    """The tuning stage's objectives: the comparison's, each objective with instances
    once per tuning instance (labelled ``<label>_i<instance>``)."""
    import dataclasses

    out = []
    for o in config.objectives:
        if tuning.instances is None or "instance" not in (o.build().params or {}):
            out.append(o)
            continue
        for k in tuning.instances:
            changed = dataclasses.replace(
                o, label=f"{o.label}_i{k}", params=MappingProxyType({**o.params, "instance": k}),
                objective=None,
            )  # fmt: skip
            out.append(dataclasses.replace(changed, objective=changed.resolve()))
    return out


def check_budget(r: Reader, tuning: TuningConfig, config: ExperimentConfig) -> None:
    """Each optimizer's search must fit its budget: settings x runs per setting x the
    evaluations one run may spend <= budget (see ``docs/tuning.md``)."""
    from jaxcalc.pipeline.tuning_space import configuration_cost, settings_count

    objectives = tuning_objectives(config, tuning)
    unknown = [o.label for o in objectives if o.build().f_opt is None]
    if unknown:
        r.problem(
            ("tuning", "criterion"),
            f"{tuning.criterion} needs each objective's minimum f_opt; '{unknown[0]}' has "
            "none (give f_opt, or tune on objectives with a known minimum)",
        )
        return
    dims = [o.dim for o in objectives]
    runs = len(tuning.seeds) * config.starts.count
    labels = {o.label: o for o in config.optimizers}
    p = ("tuning", "budget")
    for label, space in tuning.space.items():
        method = labels[label].build()
        cost = configuration_cost(config.run, method, dims, runs)
        what = (
            f"one setting of '{label}' costs {cost:.6g} evaluations ({runs} runs x "
            f"{len(dims)} tuning objective(s))"
        )
        if tuning.budget < cost:
            r.problem(p, f"{tuning.budget} is smaller than one setting: {what}")
            continue
        n = settings_count(tuning.method, space, tuning.budget, cost, tuning.samples, MAX_SWEEP)
        if tuning.method == "grid" and n > MAX_SWEEP:
            r.problem(("tuning", "space", label), f"a grid of {n} settings; limit {MAX_SWEEP}")
        elif n * cost > tuning.budget:
            r.problem(
                p,
                f"{tuning.budget} does not buy the {n} settings of '{label}': {what}, "
                f"{n * cost:.6g} in all",
            )
