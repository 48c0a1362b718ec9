"""Experiment configs: TOML text in, a typed, validated, frozen :class:`ExperimentConfig` out.

The file is read with the standard library's :mod:`tomllib` (TOML only: in TOML ``1e-3`` is
a float and ``no`` is not a boolean). Validation is strict and reports *every* problem at
once, each with its key path and line, sorted by line, in one :class:`ConfigError`::

    config error: 2 problems in configs/quad.toml
      line 2  starts.count  must be >= 1 (got 0)
      line 7  run.stesp     unknown key; did you mean 'steps'?

Past this module nothing is string-typed except names that the registries resolve
(:meth:`ObjectiveConfig.build`, :meth:`OptimizerConfig.build`). The keys are documented in
``docs/configs.md``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import re
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError, ExpressionError

__all__ = [
    "MAX_COUNT",
    "MAX_STEPS",
    "ConfigProblem",
    "ConfigValidationError",
    "ExperimentConfig",
    "ObjectiveConfig",
    "OptimizerConfig",
    "OutputConfig",
    "RunConfig",
    "StartsConfig",
    "apply_dtype",
    "load_config",
    "parse_config",
]

MAX_STEPS = 10**7
MAX_COUNT = 10**7
MAX_SWEEP = 1000
MAX_SEED = 2**32 - 1
DTYPES = ("float32", "float64")

_TOP_KEYS = ("name", "description", "seed", "dtype", "starts", "run", "objectives",
             "optimizers", "output")  # fmt: skip
_STARTS_KEYS = ("count", "points")
_RUN_KEYS = ("steps", "record_every", "target", "gtol", "patience", "f_limit", "x_limit",
             "chunk_size", "check_curvature", "budget", "budget_per_dim",
             "gradient_cost")  # fmt: skip
_BUDGET_KEYS = ("budget", "budget_per_dim", "gradient_cost")  # omitted from to_dict when unset
MAX_BUDGET = 10**9
_RELATION = re.compile(r"<=|>=|==|=|<|>")  # as jaxcalc.constraints reads relations
_OBJECTIVE_KEYS = ("name", "expression", "label", "dim", "params", "bounds", "x_opt", "f_opt",
                   "variables", "constraints")  # fmt: skip
# relation-like operators the constraint parser does not read, with what to write instead
_NOT_RELATIONS = {"=>": ">=", "=<": "<=", "!=": None, "<>": None}
_OPTIMIZER_KEYS = ("name", "label")  # plus the optimizer's own hyperparameters and options
_OUTPUT_KEYS = ("dir",)
_SECTION_OF = {k: "starts" for k in _STARTS_KEYS} | {k: "run" for k in _RUN_KEYS}
_SECTION_OF["dir"] = "output"
# integer options with a lower bound above 0
_POSITIVE_OPTIONS = ("max_trials", "memory_size")

Path_ = tuple[str | int, ...]


# -------------------------------------------------------------------------------------
# The config objects


@dataclass(frozen=True)
class StartsConfig:
    """Where the runs start.

    Attributes:
      count: starts per objective (with ``points``: their number).
      points: explicit starts used for every objective instead of sampling, each a tuple of
        ``dim`` floats; None: ``count`` starts sampled uniformly in each objective's bounds
        from the experiment's seed.
    """

    count: int = 100
    points: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class RunConfig:
    """How each run goes (the arguments of :func:`jaxcalc.optimize`).

    Attributes:
      steps: iterations per run (1 to 10^7).
      record_every: record every this many steps (1 to ``steps``).
      target: a run succeeds when ``f - f_opt <= target``.
      gtol: convergence when ``|grad f| <= gtol``; None: the dtype's default.
      patience: consecutive failed or zero steps before a run is "stalled".
      f_limit: ``f < -f_limit`` means unbounded below; None: the dtype's default.
      x_limit: ``max|x| > x_limit`` means the run ran away; None: the dtype's default.
      chunk_size: force chunks of this many runs; None: chosen from the memory budget.
      check_curvature: check the Hessian where runs stop (dim <= 32).
      budget: evaluations per run (the convention of ``gradient_cost``); when set, each
        (objective, optimizer) group gets the steps this budget buys (see
        :meth:`steps_for`) and results are cut at the budget. None: ``steps`` for all.
      budget_per_dim: the budget as a multiple of each objective's dimension (COCO's
        convention); excludes ``budget``.
      gradient_cost: evaluations one gradient counts as (a number >= 0, or ``"dim"``);
        a Hessian counts as ``dim`` gradients. Only with a budget.
    """

    steps: int = 1000
    record_every: int = 1
    target: float = 1e-6
    gtol: float | None = None
    patience: int = 5
    f_limit: float | None = None
    x_limit: float | None = None
    chunk_size: int | None = None
    check_curvature: bool = True
    budget: int | None = None
    budget_per_dim: int | None = None
    gradient_cost: float | str = 1.0

    @property
    def has_budget(self) -> bool:
        """True when runs are limited by evaluations (``budget`` or ``budget_per_dim``)."""
        return self.budget is not None or self.budget_per_dim is not None

    def budget_for(self, dim: int) -> int | None:
        """The evaluation budget of one run on a ``dim``-dimensional objective (or None)."""
        if self.budget_per_dim is not None:
            return self.budget_per_dim * dim
        return self.budget

    def gradient_cost_for(self, dim: int) -> float:
        """Evaluations one gradient counts as on a ``dim``-dimensional objective."""
        return float(dim) if self.gradient_cost == "dim" else float(self.gradient_cost)

    def steps_for(self, optimizer: Any, dim: int) -> int:
        """Steps of ``optimizer`` (an :class:`~jaxcalc.optimizers.Optimizer`) on a
        ``dim``-dimensional objective: ``steps`` without a budget; with one, enough steps
        to spend the budget at the method's cheapest step, at least 1 (runs are cut at the
        budget afterwards, so line searches that spend more per step lose nothing)."""
        from jaxcalc.pipeline import metrics

        budget = self.budget_for(dim)
        if budget is None:
            return self.steps
        c = self.gradient_cost_for(dim)
        start = metrics.start_cost(optimizer, c)
        per_step = metrics.minimum_step_cost(optimizer, dim, c)
        steps = math.floor(max(budget - start, 0) / per_step) if per_step > 0 else MAX_STEPS
        return int(min(max(steps, 1), MAX_STEPS))

    def optimize_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`jaxcalc.optimize` (all but ``target``)."""
        return {
            "steps": self.steps,
            "record_every": self.record_every,
            "gtol": self.gtol,
            "patience": self.patience,
            "f_limit": self.f_limit,
            "x_limit": self.x_limit,
            "chunk_size": self.chunk_size,
            "check_curvature": self.check_curvature,
        }


@dataclass(frozen=True)
class ObjectiveConfig:
    """One objective: a registered function (``name``) or a formula (``expression``).

    Attributes:
      label: unique within the experiment; names the objective in results and plots.
      name: registry name (``"rosenbrock"``, ``"bbob_f3"``), or None for an expression.
      expression: the formula as typed (stripped), or None for a registered function.
      dim: number of variables (resolved: the spec's default, or the expression's count).
      params: the registered function's own parameters (e.g. ``{"instance": 3}``).
      bounds: ``dim`` pairs ``(low, high)`` for sampling starts, or None for the
        objective's own box (``[-5, 5]`` per variable for expressions).
      x_opt, f_opt: the known minimiser and minimum (expressions only; None if unknown);
        with ``constraints``, the constrained ones.
      variables: an expression's variables in vector order (None for registered names).
      constraints: relations such as ``"x + y = 1"`` or ``"x >= 0"`` (stripped, as typed),
        read in the objective's variables (an expression's; ``x, y, z`` up to 3-D and
        ``x1..xn`` above for registered names); empty: no constraints added.
    """

    label: str
    name: str | None = None
    expression: str | None = None
    dim: int = 1
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    bounds: tuple[tuple[float, float], ...] | None = None
    x_opt: tuple[float, ...] | None = None
    f_opt: float | None = None
    variables: tuple[str, ...] | None = None
    constraints: tuple[str, ...] = ()

    def build(self):
        """The :class:`~jaxcalc.objectives.Objective` this entry describes; with
        ``constraints``, a constrained one (:func:`jaxcalc.objectives.constrained`) whose
        ``constraints`` end with the parsed relations."""
        import numpy as np

        from jaxcalc import objectives

        if self.expression is not None:
            obj = objectives.from_expression(
                self.expression,
                bounds=self.bounds,
                x_opt=self.x_opt,
                f_opt=self.f_opt,
                name=self.label,
                variables=self.variables,
            )
        else:
            obj = objectives.spec(self.name).build(self.dim, **dict(self.params))
            if self.bounds is not None:
                obj = dataclasses.replace(obj, bounds=np.asarray(self.bounds, dtype=np.float64))
        if self.constraints:
            # the registered minimum is not the constrained one: x_opt/f_opt are the config's
            obj = objectives.constrained(
                obj, *self.constraints, name=obj.name, x_opt=self.x_opt, f_opt=self.f_opt
            )
        return obj

    def to_dict(self) -> dict[str, Any]:
        data = {
            "label": self.label,
            "name": self.name,
            "expression": self.expression,
            "variables": list(self.variables) if self.variables is not None else None,
            "dim": self.dim,
            "params": dict(self.params),
            "bounds": [list(b) for b in self.bounds] if self.bounds is not None else None,
            "x_opt": list(self.x_opt) if self.x_opt is not None else None,
            "f_opt": self.f_opt,
        }
        if self.constraints:  # only when given: configs without them keep their hash
            data["constraints"] = list(self.constraints)
        return data


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer entry.

    Attributes:
      label: unique within the experiment (default: the name).
      name: a name from :func:`jaxcalc.optimizers.optimizer_names`.
      hyperparameters: the numeric hyperparameters given (floats); a tuple of floats is a
        sweep. Those not given keep the optimizer's defaults.
      options: the static options given (booleans, integers, strings).
    """

    label: str
    name: str
    hyperparameters: Mapping[str, float | tuple[float, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def sweeps(self) -> tuple[str, ...]:
        """Names of the swept hyperparameters, in the order given."""
        return tuple(k for k, v in self.hyperparameters.items() if isinstance(v, tuple))

    def build(self):
        """The :class:`~jaxcalc.optimizers.Optimizer` (with ``options`` applied)."""
        from jaxcalc.optimizers import get_optimizer

        opt = get_optimizer(self.name)
        return opt.with_options(**self.options) if self.options else opt

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "name": self.name,
            "hyperparameters": {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.hyperparameters.items()
            },
            "options": dict(self.options),
        }


@dataclass(frozen=True)
class OutputConfig:
    """Where results go.

    Attributes:
      dir: absolute path (a relative ``dir`` in the file is resolved against the config
        file's folder), or None when the file gives none.
    """

    dir: Path | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment.

    Attributes:
      name: the experiment's name (default: the config file's stem).
      seed: the seed for sampling starts (0 to 2^32-1).
      dtype: "float32" or "float64" (see :func:`apply_dtype`).
      starts, run, objectives, optimizers, output: the sections.
      description: free text.
      source_path: the config file (absolute), or None for text.
      source_text: the file's text as read.
      base_dir: the folder relative paths were resolved against (the file's folder).
      overrides: the applied ``--set key=value`` strings, in order.
      notes: one line per override that replaced a value from the file (for the log).
    """

    name: str
    seed: int
    dtype: str
    starts: StartsConfig
    run: RunConfig
    objectives: tuple[ObjectiveConfig, ...]
    optimizers: tuple[OptimizerConfig, ...]
    output: OutputConfig = OutputConfig()
    description: str = ""
    source_path: Path | None = None
    source_text: str = field(default="", repr=False)
    base_dir: Path = field(default_factory=Path.cwd, repr=False)
    overrides: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The normalised config (defaults filled in, ints in float slots as floats): JSON-able."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "dtype": self.dtype,
            "starts": {
                "count": self.starts.count,
                "points": [list(p) for p in self.starts.points]
                if self.starts.points is not None
                else None,
            },
            "run": _run_dict(self.run),
            "objectives": [o.to_dict() for o in self.objectives],
            "optimizers": [o.to_dict() for o in self.optimizers],
            "output": {"dir": str(self.output.dir) if self.output.dir is not None else None},
            "source": {
                "path": str(self.source_path) if self.source_path is not None else None,
                "overrides": list(self.overrides),
            },
        }

    def hash(self) -> str:
        """sha256 (hex) of what determines the results: ``to_dict()`` without ``output``,
        ``description`` and ``source``. Stable across key order and spelling (``1`` vs
        ``1.0``, a value from the file vs the same value from ``--set``)."""
        data = self.to_dict()
        for key in ("output", "description", "source"):
            data.pop(key)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def output_dir(self, cli_out: str | os.PathLike | None = None) -> Path | None:
        """The results folder: ``--out`` (relative to the current directory) if given, else
        ``output.dir`` (already absolute), else None (the runner's default)."""
        if cli_out is not None:
            return Path(os.path.abspath(Path(cli_out).expanduser()))
        return self.output.dir


def _run_dict(run: RunConfig) -> dict[str, Any]:
    """``run`` as a dict; the budget keys only when a budget is set (so the configs without
    one keep the hash they had before budgets existed)."""
    data = dataclasses.asdict(run)
    if not run.has_budget:
        for key in _BUDGET_KEYS:
            data.pop(key)
    elif isinstance(run.gradient_cost, float) and run.gradient_cost.is_integer():
        data["gradient_cost"] = float(run.gradient_cost)
    return data


def apply_dtype(config: ExperimentConfig):
    """Make JAX compute in ``config.dtype``; call it before creating any array.

    ``float64`` turns on ``jax_enable_x64`` (JAX would otherwise silently truncate to
    float32) and checks that arrays really come out as float64. Returns the numpy dtype.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    if config.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = np.dtype(config.dtype)
    got = jnp.zeros((), dtype=dtype).dtype
    if got != dtype:
        raise ConfigError(f"config error: dtype {config.dtype} was asked for, but JAX gives {got}")
    return dtype


# -------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: the key path (``run.steps``), where (``line 7``, ``--set ...`` or ""),
    the line number (or None) and the message."""

    path: str
    where: str
    line: int | None
    message: str


class ConfigValidationError(ConfigError):
    """A :class:`ConfigError` listing every problem found (``problems``)."""

    def __init__(self, message: str, problems: Sequence[ConfigProblem] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


def _problems_error(source: str, problems: Sequence[ConfigProblem]) -> ConfigValidationError:
    w1 = max(len(p.where) for p in problems)
    w2 = max(len(p.path) for p in problems)
    rows = []
    for p in problems:
        head = f"{p.where:<{w1}}  " if w1 else ""
        rows.append(f"  {head}{p.path:<{w2}}  {p.message}".rstrip())
    n = len(problems)
    text = f"config error: {n} problem{'s' if n != 1 else ''} in {source}\n"
    return ConfigValidationError(text + "\n".join(rows), problems)


def _fail(message: str) -> ConfigError:
    return ConfigError(f"config error: {message}")


# -------------------------------------------------------------------------------------
# Reading


def load_config(path: str | os.PathLike, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, parse and validate a TOML experiment config.

    Args:
      path: the config file (TOML; ``.yaml``/``.yml``/``.json`` are refused).
      overrides: ``"key=value"`` strings (``--set``), applied before validation.

    Raises:
      ConfigError: the file cannot be read or is not UTF-8 TOML, or validation failed
        (a :class:`ConfigValidationError` with every problem).
    """
    shown = str(path)
    p = Path(path).expanduser()
    if p.suffix.lower() in (".yaml", ".yml", ".json"):
        kind = "JSON" if p.suffix.lower() == ".json" else "YAML"
        raise _fail(
            f"{shown}: {kind} is not supported; experiment configs are TOML only "
            "(see docs/configs.md; in YAML `1e-3` is a string and `no` is false)"
        )
    if p.is_dir():
        raise _fail(f"{shown} is a directory, not a config file")
    if not p.exists():
        raise _fail(f"not found: {shown}")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise _fail(f"cannot read {shown}: {err.strerror or err}") from None
    text = _decode(data, shown)
    return _parse(text, shown, overrides, Path(os.path.abspath(p)))


def parse_config(
    text: str,
    source: str = "<string>",
    overrides: Sequence[str] = (),
    *,
    base_dir: str | os.PathLike | None = None,
) -> ExperimentConfig:
    """Parse and validate TOML text (``source`` names it in messages; relative paths
    resolve against ``base_dir``, default the current directory)."""
    if not isinstance(text, str):
        raise _fail(f"{source}: expected text, got {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return _parse(text, source, overrides, None, base_dir)


def _decode(data: bytes, shown: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(f"{shown} is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        offset = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raise _fail(
            f"{shown} is not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); save it as UTF-8"
        ) from None


def _parse(
    text: str,
    source: str,
    overrides: Sequence[str],
    source_path: Path | None,
    base_dir: str | os.PathLike | None = None,
) -> ExperimentConfig:
    if not text.strip():
        raise _fail(f"{source}: config file is empty")
    if isinstance(overrides, str):
        overrides = (overrides,)
    scan = _scan(text)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _decode_error(err, text, source, scan) from None
    if not raw:
        raise _fail(f"{source}: config file is empty (only comments)")
    if source_path is not None:
        base = source_path.parent
        default_name = source_path.stem
    else:
        base = Path(os.path.abspath(base_dir if base_dir is not None else Path.cwd()))
        default_name = "experiment"
    v = _Validator(source, scan.lines)
    applied, notes = v.apply_overrides(raw, overrides, source)
    config = v.experiment(raw, default_name, base)
    if v.problems:
        raise v.error()
    return dataclasses.replace(
        config,
        source_path=source_path,
        source_text=text,
        base_dir=base,
        overrides=tuple(applied),
        notes=tuple(notes),
    )


# -------------------------------------------------------------------------------------
# Scanning the raw text for line numbers and duplicate keys (tomllib gives neither)


@dataclass
class _Scan:
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int, int, str]] = field(default_factory=list)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _read_key(s: str, i: int) -> tuple[list[str], int] | None:
    """A dotted key starting at ``s[i]``; returns its parts and the index after it."""
    parts: list[str] = []
    n = len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            return None
        if s[i] in "\"'":
            q = s[i]
            j = i + 1
            buf = []
            while j < n and s[j] != q:
                if q == '"' and s[j] == "\\" and j + 1 < n:
                    buf.append(s[j + 1])
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            if j >= n:
                return None
            parts.append("".join(buf))
            i = j + 1
        else:
            m = _BARE.match(s, i)
            if not m:
                return None
            parts.append(m.group())
            i = m.end()
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        return parts, i


def _scan_value(s: str, i: int, depth: int, ml: str | None) -> tuple[int, str | None]:
    """Track brackets and multi-line strings through ``s[i:]`` (one physical line)."""
    n = len(s)
    while i < n:
        if ml is not None:
            end = s.find(ml, i)
            if end < 0:
                return depth, ml
            i = end + 3
            ml = None
            continue
        c = s[i]
        if c == "#":
            break
        if s.startswith('"""', i) or s.startswith("'''", i):
            ml = s[i : i + 3]
            i += 3
            continue
        if c in "\"'":
            j = i + 1
            while j < n and s[j] != c:
                j += 2 if (c == '"' and s[j] == "\\") else 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, ml


def _scan(text: str) -> _Scan:
    scan = _Scan()
    arrays: dict[Path_, int] = {}
    tables: dict[Path_, int] = {}
    prefix: Path_ = ()
    depth, ml = 0, None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if depth or ml:
            depth, ml = _scan_value(line, 0, depth, ml)
            continue
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            is_array = stripped.startswith("[[")
            got = _read_key(stripped, 2 if is_array else 1)
            if got is None:
                continue
            keys = got[0]
            resolved: Path_ = ()
            for k in keys[:-1]:
                resolved += (k,)
                if resolved in arrays:
                    resolved += (arrays[resolved] - 1,)
            resolved += (keys[-1],)
            if is_array:
                index = arrays.get(resolved, 0)
                arrays[resolved] = index + 1
                scan.lines.setdefault(resolved, lineno)
                prefix = (*resolved, index)
            else:
                prefix = resolved
                if prefix in tables:
                    dup = (f"[{_show(prefix)}]", tables[prefix], lineno, "table")
                    scan.duplicates.append(dup)
                tables[prefix] = lineno
            scan.lines[prefix] = lineno
            continue
        got = _read_key(line, 0)
        if got is None:
            continue
        keys, i = got
        if i >= len(line) or line[i] != "=":
            continue
        path = (*prefix, *keys)
        for k in range(len(prefix) + 1, len(path)):  # the tables a dotted key opens
            scan.lines.setdefault(path[:k], lineno)
        if path in scan.lines and path not in arrays:
            scan.duplicates.append((_show(path), scan.lines[path], lineno, "key"))
        else:
            scan.lines[path] = lineno
        depth, ml = _scan_value(line, i + 1, 0, None)
    return scan


def _decode_error(err: tomllib.TOMLDecodeError, text: str, source: str, scan: _Scan) -> ConfigError:
    message = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)|\(at end of document\)", message)
    reason = message[: m.start()].strip() if m else message
    line = int(m.group(1)) if m and m.group(1) else None
    column = int(m.group(2)) if m and m.group(2) else None
    if scan.duplicates and ("overwrite" in reason or "twice" in reason):
        problems = [
            ConfigProblem(
                key,
                f"line {second}",
                second,
                f"duplicate {kind} (first on line {first}); keep one of them",
            )
            for key, first, second, kind in scan.duplicates
        ]
        return _problems_error(source, sorted(problems, key=lambda p: p.line))
    lines = text.splitlines()
    src = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    hint = ""
    key_value = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=\s*(.*?)\s*$", src)
    if "\\" in src and any(
        w in reason for w in ("Unescaped", "escape", "hex value", "Illegal character")
    ):
        fixed = re.sub(r'"([^"]*)"', lambda q: "'" + q.group(1) + "'", src.strip())
        hint = f"; use single quotes for paths (no escapes inside): {fixed}"
    elif key_value and key_value.group(2) and key_value.group(2)[0] not in "\"'[{":
        value = key_value.group(2).split(" #")[0].strip()
        if re.search(r"[A-Za-z*/()^]", value) and value not in ("true", "false", "inf", "nan"):
            key = key_value.group(1)
            hint = f'; a text value must be a quoted string: {key} = "{value}"'
    where = f"line {line}" + (f", column {column}" if column else "") if line else "end of file"
    return _fail(f"{source} is not valid TOML ({where}): {reason}{hint}")


# -------------------------------------------------------------------------------------
# Validation


def _show(path: Path_) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'a string ("{value}")' if len(value) <= 60 else "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_OVERRIDE_PART = re.compile(r"([A-Za-z0-9_-]+)|\[(\d+)\]")


def _parse_override_path(key: str) -> Path_ | None:
    parts: list[str | int] = []
    for chunk in key.split("."):
        if not chunk:
            return None
        pos = 0
        for m in _OVERRIDE_PART.finditer(chunk):
            if m.start() != pos:
                return None
            pos = m.end()
            if m.group(1) is not None:
                name = m.group(1)
                parts.append(int(name) if name.isdigit() else name)
            else:
                parts.append(int(m.group(2)))
        if pos != len(chunk):
            return None
    return tuple(parts) or None


def _override_value(text: str) -> Any:
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


class _Validator:
    def __init__(self, source: str, lines: dict[Path_, int]):
        self.objective_index: list[int] = []
        self.source = source
        self.lines = lines
        self.problems: list[ConfigProblem] = []
        self.overridden: list[tuple[Path_, str]] = []
        self.override_order: dict[str, int] = {}

    # -- problems ------------------------------------------------------------------------

    def problem(self, path: Path_, message: str) -> None:
        for opath, text in reversed(self.overridden):
            if path[: len(opath)] == opath:
                self.override_problem(path, text, message)
                return
        line = None
        probe = path
        while probe:
            if probe in self.lines:
                line = self.lines[probe]
                break
            probe = probe[:-1]
        where = f"line {line}" if line is not None else ""
        self.problems.append(ConfigProblem(_show(path) or "(top level)", where, line, message))

    def override_problem(self, path: Path_ | str, text: str, message: str) -> None:
        shown = path if isinstance(path, str) else _show(path)
        self.problems.append(ConfigProblem(shown, f"--set {text}", None, message))

    def error(self) -> ConfigValidationError:
        def order(p: ConfigProblem):
            if p.line is not None:
                return (0, p.line)
            if p.where.startswith("--set "):
                return (1, self.override_order.get(p.where[6:], 0))
            return (2, 0)

        return _problems_error(self.source, sorted(self.problems, key=order))

    # -- overrides -----------------------------------------------------------------------

    def apply_overrides(
        self, raw: dict, overrides: Sequence[str], source: str
    ) -> tuple[list[str], list[str]]:
        applied: list[str] = []
        notes: list[str] = []
        for number, item in enumerate(overrides):
            text = str(item).strip()
            self.override_order.setdefault(text, number)
            key, eq, value_text = text.partition("=")
            key = key.strip()
            path = _parse_override_path(key) if eq else None
            if path is None:
                self.override_problem(
                    key or text,
                    text,
                    "expected key=value with a dotted key, e.g. --set starts.count=8 "
                    "or --set optimizers[0].learning_rate=0.01",
                )
                continue
            value = _override_value(value_text.strip())
            node: Any = raw
            ok = True
            for depth, part in enumerate(path[:-1]):
                here = path[: depth + 1]
                if isinstance(part, int):
                    if not isinstance(node, list) or part >= len(node):
                        size = len(node) if isinstance(node, list) else 0
                        self.override_problem(
                            here,
                            text,
                            f"no entry {part}: there {'is' if size == 1 else 'are'} {size} "
                            "(indices start at 0)",
                        )
                        ok = False
                        break
                    node = node[part]
                else:
                    if not isinstance(node, dict):
                        self.override_problem(
                            here, text, "cannot set a key inside a value that is not a table"
                        )
                        ok = False
                        break
                    if isinstance(path[depth + 1], int) and not isinstance(node.get(part), list):
                        self.override_problem(
                            here, text, f"no entry {path[depth + 1]}: '{part}' has none"
                        )
                        ok = False
                        break
                    node = node.setdefault(part, {})
            if not ok:
                continue
            last = path[-1]
            if isinstance(last, int) or not isinstance(node, dict):
                self.override_problem(
                    path, text, "an override sets a key (e.g. run.steps), not a list entry"
                )
                continue
            if last in node:
                line = self.lines.get(path)
                at = f" ({self.source}:{line})" if line is not None else ""
                notes.append(f"--set {text} overrides {_show(path)} = {node[last]!r}{at}")
            node[last] = value
            self.overridden.append((path, text))
            applied.append(f"{key}={value_text.strip()}")
        return applied, notes

    # -- typed readers -------------------------------------------------------------------

    def table(self, value: Any, path: Path_, allowed: Sequence[str]) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be a table ([{_show(path)}]), got {_got(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.unknown(path + (key,), key, allowed, top=not path)
        return value

    def unknown(self, path: Path_, key: str, allowed: Sequence[str], top: bool = False) -> None:
        hint = _suggest(key, allowed)
        if not hint and top and key in _SECTION_OF:
            hint = f"; '{key}' belongs in the [{_SECTION_OF[key]}] table"
        if not hint:
            hint = f"; allowed keys: {', '.join(allowed)}"
        self.problem(path, f"unknown key{hint}")

    def integer(self, tbl: dict, key: str, path: Path_, default: Any, lo: int, hi: int) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        p = path + (key,)
        if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
            self.problem(p, f"must be an integer, got {_got(v)}; remove the quotes")
        elif isinstance(v, float) and math.isfinite(v) and v.is_integer() and lo <= v <= hi:
            self.problem(p, f"must be an integer, got {v!r}; write {int(v)}")
        elif isinstance(v, bool) or not isinstance(v, int):
            self.problem(p, f"must be an integer, got {_got(v)}")
        elif v < lo:
            self.problem(p, f"must be >= {lo} (got {v})")
        elif v > hi:
            self.problem(p, f"must be <= {hi} (got {v})")
        else:
            return v
        return None

    def number(
        self,
        tbl: dict,
        key: str,
        path: Path_,
        default: Any,
        positive: bool = False,
    ) -> Any:
        if key not in tbl:
            return default
        return self.float_value(tbl[key], path + (key,), positive)

    def float_value(self, v: Any, p: Path_, positive: bool = False) -> float | None:
        if isinstance(v, str) and _looks_numeric(v):
            self.problem(p, f"must be a number, got {_got(v)}; remove the quotes")
        elif not _is_number(v):
            self.problem(p, f"must be a number, got {_got(v)}")
        elif isinstance(v, int) and abs(v) > 2**63:
            self.problem(p, f"is too large ({v})")
        elif not math.isfinite(v):
            self.problem(p, f"must be a finite number (got {v})")
        elif positive and v <= 0:
            self.problem(p, f"must be > 0 (got {v})")
        else:
            return float(v)
        return None

    def string(self, tbl: dict, key: str, path: Path_, default: Any) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        if not isinstance(v, str):
            self.problem(path + (key,), f"must be a string, got {_got(v)}")
            return None
        return v

    def boolean(self, tbl: dict, key: str, path: Path_, default: bool) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        if not isinstance(v, bool):
            hint = " (true or false, unquoted)" if isinstance(v, str | int) else ""
            self.problem(path + (key,), f"must be true or false{hint}, got {_got(v)}")
            return None
        return v

    def label(self, v: Any, p: Path_) -> str | None:
        if not isinstance(v, str):
            self.problem(p, f"must be a string, got {_got(v)}")
        elif not v.strip():
            self.problem(p, "must not be empty")
        elif any(ord(c) < 32 for c in v):
            self.problem(p, "must not contain control characters")
        elif len(v) > 200:
            self.problem(p, f"is {len(v)} characters; limit 200")
        else:
            return v.strip()
        return None

    # -- sections ------------------------------------------------------------------------

    def experiment(self, raw: dict, default_name: str, base: Path) -> ExperimentConfig:
        self.table(raw, (), _TOP_KEYS)
        name = self.label(raw["name"], ("name",)) if "name" in raw else default_name
        if name and ("/" in name or "\\" in name):
            self.problem(("name",), "must not contain / or \\ (it names the results folder)")
        description = self.string(raw, "description", (), "")
        seed = self.integer(raw, "seed", (), 0, 0, MAX_SEED)
        dtype = self.string(raw, "dtype", (), "float32")
        if isinstance(dtype, str) and dtype not in DTYPES:
            self.problem(("dtype",), f"must be 'float32' or 'float64' (got '{dtype}')")
            dtype = None
        objectives = self.objectives(raw.get("objectives"), dtype or "float32")
        starts = self.starts(raw.get("starts", {}), objectives)
        run = self.run(raw.get("run", {}))
        optimizers = self.optimizers(raw.get("optimizers"))
        output = self.output(raw.get("output", {}), base)
        return ExperimentConfig(
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

    def starts(self, raw: Any, objectives: tuple[ObjectiveConfig, ...]) -> StartsConfig:
        path = ("starts",)
        tbl = self.table(raw, path, _STARTS_KEYS)
        if tbl is None:
            return StartsConfig()
        count = self.integer(tbl, "count", path, None, 1, MAX_COUNT)
        points = None
        if "points" in tbl:
            points = self.points(tbl["points"], path + ("points",), objectives)
            if points is not None and count is not None and count != len(points):
                self.problem(
                    path + ("count",),
                    f"is {count} but {len(points)} points are given; leave count out",
                )
        if points is not None:
            count = len(points)
        return StartsConfig(count=count if count is not None else 100, points=points)

    def points(self, v: Any, p: Path_, objectives) -> tuple[tuple[float, ...], ...] | None:
        if not isinstance(v, list) or not v:
            self.problem(p, f"must be a non-empty list of points, got {_got(v)}")
            return None
        if len(v) > MAX_COUNT:
            self.problem(p, f"has {len(v)} points; limit {MAX_COUNT}")
            return None
        if all(_is_number(x) for x in v):
            v = [[x] for x in v]  # 1-D starts may be written as plain numbers
        out = []
        for i, pt in enumerate(v):
            if not isinstance(pt, list) or not pt:
                self.problem(p + (i,), f"must be a list of numbers, got {_got(pt)}")
                return None
            values = [self.float_value(x, p + (i, j)) for j, x in enumerate(pt)]
            if any(x is None for x in values):
                return None
            out.append(tuple(values))
        dims = {len(pt) for pt in out}
        if len(dims) > 1:
            self.problem(p, f"points have different lengths ({', '.join(map(str, sorted(dims)))})")
            return None
        dim = dims.pop()
        for i, obj in zip(self.objective_index, objectives, strict=True):
            if obj.dim != dim:
                self.problem(
                    p,
                    f"points have {dim} value{'s' if dim != 1 else ''}, but objectives[{i}] "
                    f"('{obj.label}') has dim {obj.dim}; explicit points need every objective "
                    "to have the same dim",
                )
        return tuple(out)

    def run(self, raw: Any) -> RunConfig:
        path = ("run",)
        tbl = self.table(raw, path, _RUN_KEYS)
        d = RunConfig()
        if tbl is None:
            return d
        steps = self.integer(tbl, "steps", path, d.steps, 1, MAX_STEPS)
        record_every = self.integer(tbl, "record_every", path, d.record_every, 1, MAX_STEPS)
        budget = self.integer(tbl, "budget", path, None, 1, MAX_BUDGET)
        budget_per_dim = self.integer(tbl, "budget_per_dim", path, None, 1, MAX_BUDGET)
        given = [k for k in ("steps", "budget", "budget_per_dim") if k in tbl]
        if len(given) > 1:
            self.problem(
                path + (given[1],),
                f"give one of steps, budget and budget_per_dim (also given: {given[0]}); "
                "a budget sets each optimizer's steps",
            )
        has_budget = "budget" in tbl or "budget_per_dim" in tbl
        gradient_cost = self.gradient_cost(tbl, path, has_budget)
        # with a budget, record_every is clipped to each optimizer's steps
        too_sparse = steps is not None and record_every is not None and record_every > steps
        if too_sparse and not has_budget:
            self.problem(
                path + ("record_every",),
                f"must be <= steps ({steps}) (got {record_every})",
            )
        target = self.number(tbl, "target", path, d.target, positive=True)
        gtol = self.number(tbl, "gtol", path, None, positive=True)
        patience = self.integer(tbl, "patience", path, d.patience, 1, MAX_STEPS)
        f_limit = self.number(tbl, "f_limit", path, None, positive=True)
        x_limit = self.number(tbl, "x_limit", path, None, positive=True)
        chunk_size = self.integer(tbl, "chunk_size", path, None, 1, MAX_COUNT)
        check = self.boolean(tbl, "check_curvature", path, d.check_curvature)
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

    def gradient_cost(self, tbl: dict, path: Path_, has_budget: bool) -> float | str | None:
        if "gradient_cost" not in tbl:
            return None
        p = path + ("gradient_cost",)
        v = tbl["gradient_cost"]
        if not has_budget:
            self.problem(p, "only with a budget (run.budget or run.budget_per_dim)")
            return None
        if isinstance(v, str) and not _looks_numeric(v):
            if v != "dim":
                self.problem(p, f'must be a number >= 0 or "dim", got {_got(v)}')
                return None
            return v
        value = self.float_value(v, p)
        if value is not None and value < 0:
            self.problem(p, f"must be >= 0 (got {value:g})")
            return None
        return value

    def output(self, raw: Any, base: Path) -> OutputConfig:
        path = ("output",)
        tbl = self.table(raw, path, _OUTPUT_KEYS)
        if tbl is None or "dir" not in tbl:
            return OutputConfig()
        v = self.string(tbl, "dir", path, None)
        p = path + ("dir",)
        if v is None:
            return OutputConfig()
        bad = [c for c in v if ord(c) < 32]
        if bad:
            shown = v.encode("unicode_escape").decode()
            self.problem(
                p,
                f"contains a control character ({bad[0]!r}): a Windows path in double quotes? "
                f"Backslashes are escapes there; use single quotes: dir = '{shown}'",
            )
            return OutputConfig()
        if not v.strip():
            self.problem(p, "must not be empty")
            return OutputConfig()
        d = Path(v).expanduser()
        if not d.is_absolute():
            d = base / d
        return OutputConfig(dir=Path(os.path.normpath(d)))

    # -- objectives ----------------------------------------------------------------------

    def objectives(self, raw: Any, dtype: str) -> tuple[ObjectiveConfig, ...]:
        path: Path_ = ("objectives",)
        if raw is None:
            self.problem(path, "missing: add at least one [[objectives]] table")
            return ()
        if isinstance(raw, dict):
            raw = [raw]  # [objectives] written for one
        if not isinstance(raw, list) or not raw:
            self.problem(path, f"must be a list of [[objectives]] tables, got {_got(raw)}")
            return ()
        out = []
        self.objective_index: list[int] = []  # position in the file of each entry of `out`
        for i, item in enumerate(raw):
            obj = self.objective(item, path + (i,), dtype)
            if obj is not None:
                out.append(obj)
                self.objective_index.append(i)
        # default labels: the name (with _d<dim> when the name repeats), or the expression
        names = [o.name for o in out if o.name is not None]
        fixed = []
        for o in out:
            if o.label == "":
                label = o.name if o.name is not None else o.expression
                if o.name is not None and names.count(o.name) > 1:
                    label = f"{o.name}_d{o.dim}"
                o = dataclasses.replace(o, label=label)
            fixed.append(o)
        self.unique_labels([o.label for o in fixed], self.objective_index, "objectives")
        return tuple(fixed)

    def unique_labels(self, labels: list[str], index: list[int], section: str) -> None:
        seen: dict[str, int] = {}
        for i, label in zip(index, labels, strict=True):
            if label in seen:
                self.problem(
                    (section, i),
                    f"label '{label}' is also used by {section}[{seen[label]}]; "
                    "give each entry a distinct `label`",
                )
            else:
                seen[label] = i

    def objective(self, item: Any, path: Path_, dtype: str) -> ObjectiveConfig | None:
        tbl = self.table(item, path, _OBJECTIVE_KEYS)
        if tbl is None:
            return None
        n_problems = len(self.problems)
        label = self.label(tbl["label"], path + ("label",)) if "label" in tbl else ""
        has_name, has_expr = "name" in tbl, "expression" in tbl
        if has_name == has_expr:
            self.problem(
                path,
                "give exactly one of `name` (a registered objective) or `expression` "
                f"(a formula); got {'both' if has_name else 'neither'}",
            )
            return None
        if has_expr:
            obj = self.expression_objective(tbl, path, dtype, label)
        else:
            obj = self.named_objective(tbl, path, label, dtype)
        if obj is None or len(self.problems) > n_problems:
            return None
        if has_expr:  # checked above in the working dtype (building would use JAX's default)
            return obj
        try:  # the registry's own checks (e.g. a BBOB instance range); cheap
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # the constraints were checked in the config's dtype; JAX's default may differ
                dataclasses.replace(obj, constraints=()).build()
        except Exception as err:  # noqa: BLE001 - any refusal becomes a config problem
            self.problem(path, str(err))
            return None
        return obj

    def bounds(self, tbl: dict, path: Path_, dim: int | None) -> Any:
        if "bounds" not in tbl:
            return None
        v = tbl["bounds"]
        p = path + ("bounds",)
        if isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and dim:
            v = [v] * dim  # one [low, high] pair for every coordinate
        if not isinstance(v, list) or not all(isinstance(b, list) for b in v) or not v:
            self.problem(p, f"must be a list of [low, high] pairs, got {_got(v)}")
            return None
        out = []
        for i, pair in enumerate(v):
            if len(pair) != 2:
                self.problem(p + (i,), f"must be a pair [low, high], got {len(pair)} values")
                return None
            lo = self.float_value(pair[0], p + (i, 0))
            hi = self.float_value(pair[1], p + (i, 1))
            if lo is None or hi is None:
                return None
            if not lo < hi:
                self.problem(p + (i,), f"low must be < high (got [{lo:g}, {hi:g}])")
                return None
            out.append((lo, hi))
        if dim is not None and len(out) != dim:
            self.problem(p, f"must have {dim} pairs (one per variable), got {len(out)}")
            return None
        return tuple(out)

    def expression_objective(
        self, tbl: dict, path: Path_, dtype: str, label: str
    ) -> ObjectiveConfig | None:
        from jaxcalc.errors import ExpressionError
        from jaxcalc.expressions import parse

        for key in ("params",):
            if key in tbl:
                self.problem(path + (key,), "expression objectives take no parameters")
        text = tbl["expression"]
        p = path + ("expression",)
        if not isinstance(text, str):
            self.problem(
                p, f'must be a quoted string, e.g. expression = "3*x**2 + 1"; got {_got(text)}'
            )
            return None
        variables = None
        if "variables" in tbl:
            vs = tbl["variables"]
            if isinstance(vs, str):
                vs = [vs]
            if not isinstance(vs, list) or not all(isinstance(x, str) for x in vs):
                self.problem(path + ("variables",), f"must be a list of names, got {_got(vs)}")
                return None
            variables = vs
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expr = parse(text, variables, dtype=dtype)
        except ExpressionError as err:
            col = f" (column {err.column})" if err.column else ""
            self.problem(p, f"{err.reason}{col}")
            return None
        dim = expr.dim
        if "dim" in tbl:
            given = self.integer(tbl, "dim", path, None, 1, 10**6)
            if given is not None and given != dim:
                self.problem(
                    path + ("dim",),
                    f"is {given}, but `{expr.text}` has {dim} variable{'s' if dim > 1 else ''} "
                    f"({', '.join(expr.variables)})",
                )
        bounds = self.bounds(tbl, path, dim)
        x_opt = None
        if "x_opt" in tbl:
            v = tbl["x_opt"]
            if _is_number(v) and dim == 1:
                v = [v]
            if not isinstance(v, list):
                self.problem(path + ("x_opt",), f"must be a list of {dim} numbers, got {_got(v)}")
            elif len(v) != dim:
                self.problem(
                    path + ("x_opt",),
                    f"must have {dim} values ({', '.join(expr.variables)}), got {len(v)}",
                )
            else:
                vals = [self.float_value(x, path + ("x_opt", j)) for j, x in enumerate(v)]
                if all(x is not None for x in vals):
                    x_opt = tuple(vals)
        f_opt = self.number(tbl, "f_opt", path, None)
        constraints = self.constraints(tbl, path, tuple(expr.variables), dtype)
        return ObjectiveConfig(
            label=label,
            expression=expr.text,
            dim=dim,
            bounds=bounds,
            x_opt=x_opt,
            f_opt=f_opt,
            variables=tuple(expr.variables),
            constraints=constraints or (),
        )

    def named_objective(
        self, tbl: dict, path: Path_, label: str, dtype: str
    ) -> ObjectiveConfig | None:
        from jaxcalc import objectives
        from jaxcalc.constraints import default_variables

        for key in ("x_opt", "f_opt", "variables"):
            if key in tbl:
                self.problem(
                    path + (key,),
                    f"only for expressions; a registered objective knows its own {key}",
                )
        name = tbl["name"]
        p = path + ("name",)
        if not isinstance(name, str):
            self.problem(p, f"must be a string, got {_got(name)}")
            return None
        if not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
            if ":" in name and re.fullmatch(r"[\w.]+:\w+", name.strip()):
                self.problem(p, "Python code cannot be loaded from a config; use `expression`")
            else:
                self.problem(p, f"'{name}' is not an objective name; for a formula write "
                             f'expression = "{name}"')  # fmt: skip
            return None
        try:
            spec = objectives.spec(name.strip())
        except Exception as err:  # noqa: BLE001 - ObjectiveError with close matches
            msg = str(err).replace("`", "'")
            self.problem(p, f"{msg} (list them with `jaxcalc list objectives`)")
            return None
        dim = self.integer(tbl, "dim", path, spec.default_dim, 1, 10**6)
        if dim is not None:
            if spec.dims is not None and dim not in spec.dims:
                allowed = ", ".join(map(str, spec.dims))
                self.problem(
                    path + ("dim",), f"{spec.name} is defined for dim {allowed} (got {dim})"
                )
                dim = None
            elif spec.dims is None and dim < spec.min_dim:
                self.problem(
                    path + ("dim",), f"{spec.name} needs dim >= {spec.min_dim} (got {dim})"
                )
                dim = None
        params: dict[str, Any] = {}
        if "params" in tbl:
            raw = tbl["params"]
            pp = path + ("params",)
            if not isinstance(raw, dict):
                self.problem(
                    pp, f"must be a table, e.g. params = {{ instance = 2 }}; got {_got(raw)}"
                )
            else:
                for key in raw:
                    if key not in spec.params:
                        known = ", ".join(sorted(spec.params)) or "none"
                        hint = (
                            _suggest(key, sorted(spec.params)) or f" ({spec.name} takes: {known})"
                        )
                        self.problem(pp + (key,), f"unknown parameter of {spec.name}{hint}")
                        continue
                    default = spec.params[key]
                    if isinstance(default, bool):
                        val = self.boolean(raw, key, pp, default)
                    elif isinstance(default, int):
                        val = self.integer(raw, key, pp, default, -(2**63), 2**63 - 1)
                    else:
                        val = self.number(raw, key, pp, default)
                    if val is not None:
                        params[key] = val
        if dim is None:
            return None
        bounds = self.bounds(tbl, path, dim)
        # a registered objective's coordinates are x, y, z (x1..xn above 3-D), as
        # objectives.constrained reads them (constraints.default_variables)
        constraints = self.constraints(tbl, path, default_variables(dim), dtype)
        return ObjectiveConfig(
            label=label,
            name=spec.name,
            dim=dim,
            params=MappingProxyType(params),
            bounds=bounds,
            constraints=constraints or (),
        )

    def constraints(
        self, tbl: dict, path: Path_, variables: tuple[str, ...], dtype: str
    ) -> tuple[str, ...] | None:
        """The ``constraints`` key: relation strings, each parsed by
        :func:`jaxcalc.constraints.parse_constraint` in ``variables`` (literals checked in
        ``dtype``). Returns the stripped texts, () without the key, None after a problem."""
        if "constraints" not in tbl:
            return ()
        v = tbl["constraints"]
        p = path + ("constraints",)
        if isinstance(v, str):
            v = [v]  # one relation
        if not isinstance(v, list):
            self.problem(
                p, f'must be a list of relations, e.g. ["x + y = 1", "x >= 0"]; got {_got(v)}'
            )
            return None
        texts = [self.constraint(text, p + (j,), variables, dtype) for j, text in enumerate(v)]
        if any(t is None for t in texts):
            return None
        return tuple(texts)

    def constraint(self, text: Any, p: Path_, variables: tuple[str, ...], dtype: str) -> str | None:
        import jax

        from jaxcalc.constraints import parse_constraint
        from jaxcalc.expressions import ExpressionWarning

        if not isinstance(text, str):
            self.problem(p, f'must be a relation string such as "x + y = 1", got {_got(text)}')
            return None
        if not text.strip():
            self.problem(p, 'must not be empty; write a relation such as "x + y = 1"')
            return None
        wrong = re.search("|".join(map(re.escape, _NOT_RELATIONS)), text)
        if wrong:
            op = wrong.group()
            fix = _NOT_RELATIONS[op]
            hint = f"write `{fix}`" if fix else "write `=`, `<=` or `>=`"
            self.problem(p, f"`{op}` is not a relation: {hint}")
            return None
        try:  # literals are checked in the config's dtype, as for the expression
            with warnings.catch_warnings(record=True) as caught, jax.enable_x64(dtype == "float64"):
                warnings.simplefilter("always", ExpressionWarning)
                parse_constraint(text, variables)
        except ConfigError as err:
            self.problem(p, _constraint_reason(err, text))
            return None
        constant = [w for w in caught if issubclass(w.category, ExpressionWarning)]
        if any("does not depend" in str(w.message) for w in constant):
            shown = ", ".join(variables)
            self.problem(
                p, f"`{text.strip()}` uses none of the variables ({shown}): always true or never"
            )
            return None
        return text.strip()

    # -- optimizers ----------------------------------------------------------------------

    def optimizers(self, raw: Any) -> tuple[OptimizerConfig, ...]:
        path: Path_ = ("optimizers",)
        if raw is None:
            self.problem(path, "missing: add at least one [[optimizers]] table")
            return ()
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            self.problem(path, f"must be a list of [[optimizers]] tables, got {_got(raw)}")
            return ()
        out = [(i, self.optimizer(item, path + (i,))) for i, item in enumerate(raw)]
        good = [(i, o) for i, o in out if o is not None]
        self.unique_labels([o.label for _, o in good], [i for i, _ in good], "optimizers")
        return tuple(o for _, o in good)

    def optimizer(self, item: Any, path: Path_) -> OptimizerConfig | None:
        from jaxcalc.optimizers import check_hyperparameters, get_optimizer, optimizer_names

        if not isinstance(item, dict):
            self.problem(path, f"must be a table ([[optimizers]]), got {_got(item)}")
            return None
        if "name" not in item:
            self.problem(path, 'missing `name` (e.g. name = "adam")')
            return None
        name = item["name"]
        if not isinstance(name, str):
            self.problem(path + ("name",), f"must be a string, got {_got(name)}")
            return None
        if name not in optimizer_names():
            self.problem(
                path + ("name",),
                f"unknown optimizer '{name}'{_suggest(name, optimizer_names())} "
                "(list them with `jaxcalc list optimizers`)",
            )
            return None
        opt = get_optimizer(name)
        settable_options = {
            k: d for k, d in opt.options.items() if isinstance(d, bool | int | float | str)
        }
        known = [*_OPTIMIZER_KEYS, *opt.defaults, *opt.options]
        label = self.label(item["label"], path + ("label",)) if "label" in item else name
        hyper: dict[str, float | tuple[float, ...]] = {}
        options: dict[str, Any] = {}
        for key, v in item.items():
            if key in _OPTIMIZER_KEYS:
                continue
            p = path + (key,)
            if key in opt.defaults:
                val = self.hyperparameter(v, p, name, key, check_hyperparameters)
                if val is not None:
                    hyper[key] = val
            elif key in opt.options:
                if key not in settable_options:
                    self.problem(p, f"option '{key}' of {name} cannot be set from a config")
                    continue
                val = self.option(v, p, settable_options[key], name)
                if val is not None:
                    options[key] = val
            else:
                takes = ", ".join([*opt.defaults, *settable_options]) or "nothing"
                hint = _suggest(key, [k for k in known if k not in _OPTIMIZER_KEYS])
                self.problem(
                    p,
                    f"unknown hyperparameter of {name}{hint} ({name} takes: {takes})",
                )
        return OptimizerConfig(
            label=label or name,
            name=name,
            hyperparameters=MappingProxyType(hyper),
            options=MappingProxyType(options),
        )

    def hyperparameter(self, v: Any, p: Path_, method: str, key: str, check) -> Any:
        if isinstance(v, list):
            if not v:
                self.problem(p, "a sweep needs at least one value")
                return None
            if len(v) > MAX_SWEEP:
                self.problem(p, f"a sweep of {len(v)} values; limit {MAX_SWEEP}")
                return None
            vals = [self.checked(x, p + (i,), method, key, check) for i, x in enumerate(v)]
            return tuple(vals) if all(x is not None for x in vals) else None
        return self.checked(v, p, method, key, check)

    def checked(self, v: Any, p: Path_, method: str, key: str, check) -> float | None:
        value = self.float_value(v, p)
        if value is None:
            return None
        try:
            check(method, {key: value})
        except ConfigError as err:
            msg = str(err)
            prefix = f"{method}.{key}: "
            self.problem(p, msg[len(prefix) :] if msg.startswith(prefix) else msg)
            return None
        return value

    def option(self, v: Any, p: Path_, default: Any, method: str) -> Any:
        if isinstance(v, list):
            self.problem(
                p,
                "options are fixed when compiling and cannot be swept; use one [[optimizers]] "
                "entry per value, each with its own `label`",
            )
            return None
        if isinstance(default, bool):
            if not isinstance(v, bool):
                self.problem(p, f"must be true or false, got {_got(v)}")
                return None
            return v
        if isinstance(default, int):
            lo = 1 if p[-1] in _POSITIVE_OPTIONS else 0
            if isinstance(v, bool) or not isinstance(v, int):
                self.problem(p, f"must be an integer, got {_got(v)}")
            elif not lo <= v <= 10**9:
                self.problem(p, f"must be in {lo}..{10**9} (got {v})")
            else:
                return v
            return None
        if isinstance(default, float):
            return self.float_value(v, p)
        if not isinstance(v, str):
            self.problem(p, f"must be a string, got {_got(v)}")
            return None
        return v


def _constraint_reason(err: ConfigError, text: str) -> str:
    """The parser's reason for refusing the relation ``text``, with the column in ``text``.

    :func:`~jaxcalc.constraints.parse_constraint` parses ``(lhs) - (rhs)``; an expression
    error there (kept as the ConfigError's context) gives a reason and a column in that
    text, mapped back here. Anything else is the parser's own message."""
    inner = err.__context__
    if not isinstance(inner, ExpressionError):
        return str(err)
    reason = inner.reason
    if inner.column is None:
        return reason
    m = _RELATION.search(text)
    if m is None:
        return reason
    left, right = text[: m.start()], text[m.end() :]
    sides = [  # (side as parsed, its offset in text)
        (left.strip(), len(left) - len(left.lstrip())),
        (right.strip(), m.end() + len(right) - len(right.lstrip())),
    ]
    if m.group() == ">=":  # read as (rhs) - (lhs) <= 0
        sides.reverse()
    (first, first_at), (second, second_at) = sides
    if inner.text == f"({first}) - ({second})":
        col = inner.column - 1  # 0-based in the parsed text
        if 1 <= col < 1 + len(first):
            return f"{reason} (column {col + first_at})"
        start = len(first) + 6
        if start <= col < start + len(second):
            return f"{reason} (column {col - start + second_at + 1})"
    return reason


def _looks_numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
