"""The typed, frozen experiment config: its sections as dataclasses, and the key lists.

(Over 500 lines: every section of a config as one typed class with its defaults and
``to_dict``, so the shape of a config reads in one file.)

A validated :class:`ExperimentConfig` carries the resolved objects too: each
:class:`ObjectiveConfig` its :class:`~jaxcalc.objectives.Objective` (``objective``) and
each :class:`OptimizerConfig` its :class:`~jaxcalc.optimizers.Optimizer` (``optimizer``),
built once by the validation (:mod:`jaxcalc.pipeline.config.validate`). Those fields take
no part in equality, ``repr``, ``to_dict`` or the hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jaxcalc.errors import ConfigError

MAX_STEPS = 10**7
MAX_COUNT = 10**7
MAX_SWEEP = 1000
MAX_SEED = 2**32 - 1
MAX_BUDGET = 10**9
DTYPES = ("float32", "float64")

#: the keyword arguments of :func:`jaxcalc.optimize` that ``[run]`` gives (all but
#: ``target``, which the tables use): the one list of them
OPTIMIZE_KEYS = ("steps", "record_every", "gtol", "patience", "f_limit", "x_limit",
                 "chunk_size", "check_curvature")  # fmt: skip
BUDGET_KEYS = ("budget", "budget_per_dim", "gradient_cost")  # omitted from to_dict when unset
TOP_KEYS = ("name", "description", "seed", "dtype", "starts", "run", "objectives",
            "optimizers", "output", "tuning")  # fmt: skip
STARTS_KEYS = ("count", "points")
RUN_KEYS = (*OPTIMIZE_KEYS[:2], "target", *OPTIMIZE_KEYS[2:], *BUDGET_KEYS)
#: the keys of an objective from data (name = "logistic_regression", ...)
DATA_KEYS = ("dataset", "batch_size", "l2", "hidden", "activation", "heldout", "init", "rows",
             "features", "classes", "data_seed")  # fmt: skip
OBJECTIVE_KEYS = ("name", "expression", "label", "dim", "params", "bounds", "x_opt", "f_opt",
                  "variables", "constraints", *DATA_KEYS, "epochs")  # fmt: skip
OPTIMIZER_KEYS = ("name", "chain", "label")  # plus its own hyperparameters and options
#: the keys of ``[tuning]`` (``space`` holds one table per tuned optimizer's label)
TUNING_KEYS = ("method", "budget", "seeds", "criterion", "instances", "samples", "space")
TUNING_METHODS = ("grid", "random", "sobol")
TUNING_CRITERIA = ("median_final_gap", "success_rate", "ert")
#: the keys of a range in ``[tuning.space.<label>]`` (random and sobol sampling)
RANGE_KEYS = ("low", "high", "log")
OUTPUT_KEYS = ("dir", "metrics", "figure_formats", "confidence", "bootstrap_samples",
               "fixed_budgets")  # fmt: skip
#: formats a report can draw its figures in; PNG is always drawn (report.md shows it)
FIGURE_FORMATS = ("png", "svg", "pdf")
#: the table a key belongs in (for "unknown key" hints at the top level)
SECTION_OF = {k: "starts" for k in STARTS_KEYS} | {k: "run" for k in RUN_KEYS} | {"dir": "output"}


def resolved(default: Any = None) -> Any:
    """A field for an object the validation resolves: not compared, shown or serialised."""
    return field(default=default, compare=False, repr=False)


@dataclass(frozen=True)
class StartsConfig:
    """Where the runs start.

    Attributes:
      count: starts per objective (with ``points``: their number).
      points: explicit starts used for every objective instead of sampling, each a tuple of
        ``dim`` floats; None: ``count`` starts sampled uniformly in each objective's bounds
        from the experiment's seed.
      seeds: set only in a tuning stage (:mod:`jaxcalc.pipeline.tuning`): ``count`` starts
        are sampled from each of these seeds, one after the other, instead of from ``seed``.
    """

    count: int = 100
    points: tuple[tuple[float, ...], ...] | None = None
    seeds: tuple[int, ...] | None = None


def start_seeds(config: Any) -> tuple[int, ...]:
    """The seeds the starts are sampled from: ``starts.seeds`` (a tuning stage's), else
    the experiment's ``seed``."""
    return config.starts.seeds or (config.seed,)


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
        """The evaluation budget of one run on a ``dim``-dimensional objective (or None);
        see :func:`jaxcalc.pipeline.budget.budget_for`."""
        from jaxcalc.pipeline import budget

        return budget.budget_for(self, dim)

    def gradient_cost_for(self, dim: int) -> float:
        """Evaluations one gradient counts as on a ``dim``-dimensional objective."""
        from jaxcalc.pipeline import budget

        return budget.gradient_cost_for(self, dim)

    def steps_for(self, optimizer: Any, dim: int) -> int:
        """Steps of ``optimizer`` on a ``dim``-dimensional objective; see
        :func:`jaxcalc.pipeline.budget.steps_for`."""
        from jaxcalc.pipeline import budget

        return budget.steps_for(self, optimizer, dim)

    def optimize_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`jaxcalc.optimize` (all but ``target``)."""
        return {key: getattr(self, key) for key in OPTIMIZE_KEYS}


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
      objective: the resolved :class:`~jaxcalc.objectives.Objective` (set by validation).
      family: the registry family ("classic", "bbob", ...); "user" for expressions.
      epochs: an objective from data only: every run on it takes this many passes over
        the training rows (``epochs * steps_per_epoch`` steps) instead of ``run.steps``;
        None: ``run.steps``.
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
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    epochs: int | None = None
    objective: Any = resolved()
    family: str = resolved("user")

    def build(self):
        """The :class:`~jaxcalc.objectives.Objective` this entry describes: the one the
        validation resolved (``objective``), else a new one (:meth:`resolve`)."""
        return self.objective if self.objective is not None else self.resolve()

    def fixed_steps(self) -> int | None:
        """The steps of every run on this objective when it sets ``epochs`` (its
        :meth:`~jaxcalc.objectives.data.DataObjective.epoch_steps`), else None."""
        return None if self.epochs is None else self.build().epoch_steps(self.epochs)

    def resolve(self):
        """Build the :class:`~jaxcalc.objectives.Objective` this entry describes; with
        ``constraints``, a constrained one (:func:`jaxcalc.objectives.constrained`) whose
        ``constraints`` end with the parsed relations."""
        import numpy as np

        from jaxcalc import objectives

        if self.data:  # an objective from data (objectives.data_objective's arguments)
            built = objectives.data_objective(self.name, **dict(self.data))
            return dataclasses.replace(built, name=self.label)
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
        if self.data:
            data["data"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.data.items()}
        if self.epochs is not None:  # only when given: configs without it keep their hash
            data["epochs"] = self.epochs
        return data


@dataclass(frozen=True)
class OptimizerConfig:
    """One optimizer entry.

    Attributes:
      label: unique within the experiment (default: the name).
      name: a name from :func:`jaxcalc.optimizers.optimizer_names`, or for a ``chain``
        of optax transformations their names joined by ``+`` (or the label).
      hyperparameters: the numeric hyperparameters given (floats); a tuple of floats is a
        sweep. Those not given keep the optimizer's defaults. A hyperparameter given as a
        schedule appears as its schedule's float parameters (``learning_rate.init_value``).
      options: the static options given (booleans, integers, strings).
      optimizer: the resolved :class:`~jaxcalc.optimizers.Optimizer`, ``options`` applied
        (set by validation).
      definition: what the hyperparameters and options do not say, as written: the
        ``chain`` of transformations and the hyperparameters given as schedules (their
        tables). Part of ``to_dict`` and the hash when not empty.
    """

    label: str
    name: str
    hyperparameters: Mapping[str, float | tuple[float, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    optimizer: Any = resolved()
    definition: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def sweeps(self) -> tuple[str, ...]:
        """Names of the swept hyperparameters, in the order given."""
        return tuple(k for k, v in self.hyperparameters.items() if isinstance(v, tuple))

    def build(self):
        """The :class:`~jaxcalc.optimizers.Optimizer` (with ``options`` applied): the one the
        validation resolved (``optimizer``), else a new one (:meth:`resolve`)."""
        return self.optimizer if self.optimizer is not None else self.resolve()

    def resolve(self):
        """Build the :class:`~jaxcalc.optimizers.Optimizer` (with ``options`` applied)."""
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
            **({"definition": dict(self.definition)} if self.definition else {}),
        }


@dataclass(frozen=True)
class OutputConfig:
    """Where results go.

    Attributes:
      dir: absolute path (a relative ``dir`` in the file is resolved against the config
        file's folder), or None when the file gives none.
      metrics: names of registered metrics (:func:`jaxcalc.pipeline.register_metric`)
        added as columns of ``summary.csv``, in this order.
      resolved_metrics: the :class:`~jaxcalc.pipeline.tables.Metric` of each name (set by
        validation).
      figure_formats: the report's figure files: PNG (always) and any of SVG and PDF.
      confidence: the coverage of the bootstrap confidence intervals, in (0, 1).
      bootstrap_samples: resamples per confidence interval.
      fixed_budgets: evaluation budgets of the fixed-budget view (increasing), or None for
        the default (see :func:`jaxcalc.pipeline.tables.default_budgets`).
    """

    dir: Path | None = None
    metrics: tuple[str, ...] = ()
    figure_formats: tuple[str, ...] = ("png",)
    resolved_metrics: tuple[Any, ...] = resolved(())
    confidence: float = 0.95
    bootstrap_samples: int = 2000
    fixed_budgets: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Range:
    """A hyperparameter's range for random or Sobol sampling: uniform in ``[low, high]``,
    or log-uniform (uniform in ``log``) with ``log``."""

    low: float
    high: float
    log: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class TuningConfig:
    """``[tuning]``: search each listed optimizer's hyperparameters, then compare.

    Attributes:
      method: "grid" (every combination of the listed values), "random" or "sobol"
        (points sampled in the ranges).
      budget: evaluations per optimizer for the whole search.
      seeds: the tuning stage's seeds (its starts and runs); the comparison uses ``seed``,
        which must not be one of them.
      criterion: "median_final_gap" (lowest wins), "success_rate" (highest) or "ert"
        (lowest), over every run of a setting on every tuning objective.
      instances: the tuning instances of objectives that have instances (BBOB), disjoint
        from the comparison's; None when no objective has instances.
      samples: random and sobol: the number of settings (None: as many as the budget buys).
      space: per optimizer label, each tuned hyperparameter's values (a tuple, for grid)
        or :class:`Range` (random, sobol), in the order given.
      chosen: set in the comparison stage only: per optimizer label, the chosen value of
        each tuned hyperparameter (None: the search has not run).
    """

    method: str
    budget: int
    seeds: tuple[int, ...]
    criterion: str
    space: Mapping[str, Mapping[str, tuple[float, ...] | Range]]
    instances: tuple[int, ...] | None = None
    samples: int | None = None
    chosen: Mapping[str, Mapping[str, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "method": self.method,
            "budget": self.budget,
            "seeds": list(self.seeds),
            "criterion": self.criterion,
            "instances": list(self.instances) if self.instances is not None else None,
            "samples": self.samples,
            "space": {
                label: {
                    k: (v.to_dict() if isinstance(v, Range) else list(v)) for k, v in hp.items()
                }
                for label, hp in self.space.items()
            },
        }
        if self.chosen is not None:
            data["chosen"] = {label: dict(hp) for label, hp in self.chosen.items()}
        return data


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment.

    Attributes:
      name: the experiment's name (default: the config file's stem).
      seed: the seed for sampling starts (0 to 2^32-1).
      dtype: "float32" or "float64" (see :func:`apply_dtype`).
      starts, run, objectives, optimizers, output: the sections.
      tuning: ``[tuning]`` (None: no tuning stage); see :mod:`jaxcalc.pipeline.tuning`.
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
    tuning: TuningConfig | None = None
    description: str = ""
    source_path: Path | None = None
    source_text: str = field(default="", repr=False)
    base_dir: Path = field(default_factory=Path.cwd, repr=False)
    overrides: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The normalised config (defaults filled in, ints in float slots as floats): JSON-able."""
        starts: dict[str, Any] = {
            "count": self.starts.count,
            "points": [list(p) for p in self.starts.points]
            if self.starts.points is not None
            else None,
        }
        if self.starts.seeds:  # a tuning stage's: configs without keep their hash
            starts["seeds"] = list(self.starts.seeds)
        data = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "dtype": self.dtype,
            "starts": starts,
            "run": _run_dict(self.run),
            "objectives": [o.to_dict() for o in self.objectives],
            "optimizers": [o.to_dict() for o in self.optimizers],
            "output": _output_dict(self.output),
            "source": {
                "path": str(self.source_path) if self.source_path is not None else None,
                "overrides": list(self.overrides),
            },
        }
        if self.tuning is not None:
            data["tuning"] = self.tuning.to_dict()
        return data

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


def _output_dict(output: OutputConfig) -> dict[str, Any]:
    """``output`` as a dict; ``metrics`` only when given (configs without keep their dict)."""
    data: dict[str, Any] = {"dir": str(output.dir) if output.dir is not None else None}
    if output.metrics:
        data["metrics"] = list(output.metrics)
    if output.figure_formats != ("png",):
        data["figure_formats"] = list(output.figure_formats)
    data["confidence"] = output.confidence
    data["bootstrap_samples"] = output.bootstrap_samples
    if output.fixed_budgets is not None:
        data["fixed_budgets"] = list(output.fixed_budgets)
    return data


def _run_dict(run: RunConfig) -> dict[str, Any]:
    """``run`` as a dict; the budget keys only when a budget is set (a config without a
    budget hashes as though the keys did not exist)."""
    data = dataclasses.asdict(run)
    if not run.has_budget:
        for key in BUDGET_KEYS:
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
