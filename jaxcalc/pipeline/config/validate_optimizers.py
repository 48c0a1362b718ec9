"""Validating ``[[optimizers]]``: a registered ``name`` or a ``chain`` of optax
transformations, its hyperparameters (a list sweeps, a table is a schedule) and options;
each valid entry comes back with its optimizer built (once, here).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline.config.problems import Path_
from jaxcalc.pipeline.config.reader import Reader, got, suggest
from jaxcalc.pipeline.config.schema import MAX_SWEEP, OPTIMIZER_KEYS, OptimizerConfig
from jaxcalc.pipeline.config.validate_objectives import check_unique_labels

__all__ = ["read_optimizers"]

# integer options with a lower bound above 0
_POSITIVE_OPTIONS = ("max_trials", "memory_size")


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
