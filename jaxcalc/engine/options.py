"""The run's arguments, checked and resolved: limits and tolerances, steps, records, seed,
the objective as a function, the starts, and the optimizers with their options."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.engine.result import MAX_STEPS
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import Optimizer
from jaxcalc.optimizers.schedules import with_schedules
from jaxcalc.optimizers.transformations import as_optimizer
from jaxcalc.trees import FlatObjective, Template, is_tree, split_starts

__all__ = [
    "Limits",
    "check_cpu_threads",
    "check_run_arguments",
    "limits_for",
    "resolve_methods",
    "resolve_objective",
    "resolve_starts",
    "resolve_tree_starts",
]


@dataclass(frozen=True)
class Limits:
    """The stopping tests' thresholds (see ``optimize``'s arguments of the same names)."""

    gtol: float
    f_limit: float
    x_limit: float
    patience: int
    lower_bound: float | None = None  # the objective's declared floor (Objective.floor)


def _whole(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def check_run_arguments(steps: Any, record_every: Any, seed: Any) -> None:
    """Refuse steps, record_every or seed out of their ranges, one line each."""
    if not _whole(steps) or not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"steps must be an integer from 1 to {MAX_STEPS}; got {steps!r}")
    if not _whole(record_every) or not (1 <= record_every <= steps):
        raise ConfigError(
            f"record_every must be an integer from 1 to steps ({steps}); got {record_every!r}"
        )
    if not _whole(seed) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer from 0 to 2**32 - 1; got {seed!r}")


def check_cpu_threads(threads: Any) -> None:
    """Refuse a ``cpu_threads`` that is not a whole number >= 1 (None: not given)."""
    if threads is not None and (not _whole(threads) or threads < 1):
        raise ConfigError(f"cpu_threads must be a whole number >= 1; got {threads!r}")


def limits_for(
    dtype: Any,
    gtol: Any,
    f_limit: Any,
    x_limit: Any,
    patience: Any,
    lower_bound: float | None = None,
) -> Limits:
    """The limits, with the defaults of ``dtype`` (float64 or float32) for those not given;
    ``lower_bound`` is the objective's floor (None: none known)."""
    is64 = dtype == jnp.float64
    return Limits(
        gtol=float(gtol if gtol is not None else (1e-8 if is64 else 1e-5)),
        f_limit=float(f_limit if f_limit is not None else (1e30 if is64 else 1e20)),
        x_limit=float(x_limit if x_limit is not None else (1e15 if is64 else 1e10)),
        patience=int(patience),
        lower_bound=None if lower_bound is None else float(lower_bound),
    )


def resolve_methods(
    optimizers: Sequence[tuple[str | Optimizer, Mapping[str, Any]]],
) -> list[tuple[Optimizer, dict[str, Any]]]:
    """``(optimizer, hyperparameters)`` pairs: each optimizer resolved (a name, an
    Optimizer or an optax ``GradientTransformation``), its static options (given among the
    hyperparameters) applied, and the hyperparameters given as schedules wrapped in
    :class:`~jaxcalc.optimizers.schedules.Scheduled` (their float parameters swept like
    any hyperparameter)."""
    entries = []
    for optimizer, given in optimizers:
        method = as_optimizer(optimizer)
        hyperparameters = dict(given)
        options = {k: hyperparameters.pop(k) for k in list(hyperparameters) if k in method.options}
        if options:
            method = method.with_options(**options)
        method, hyperparameters = with_schedules(method, hyperparameters)
        entries.append((method, hyperparameters))
    return entries


def resolve_objective(objective: Any) -> tuple[Callable, str, int | None]:
    """The objective as a function of one point, its name and its dimension (or None)."""
    from jaxcalc.expressions import Expression
    from jaxcalc.objectives import Objective, get

    if isinstance(objective, str):
        objective = get(objective)
    if isinstance(objective, Objective):
        return objective, objective.name, objective.dim
    if isinstance(objective, Expression):
        if objective.dim == 1:
            return (lambda x: objective(x[0])), objective.text, 1
        return objective, objective.text, objective.dim
    if callable(objective):
        name = getattr(objective, "name", None) or getattr(objective, "__name__", "callable")
        return objective, str(name), None
    raise ConfigError(
        f"objective must be a name, expression, Objective or callable; got {objective!r}"
    )


def resolve_starts(x0: Any, name: str, dim: int | None) -> tuple[np.ndarray, bool]:
    """The starts as a host array ``(B, D)`` of the default float dtype, and whether one
    start ``(D,)`` was given.

    Prepared with NumPy: every jnp operation here would be a small XLA program compiled on
    first use.
    """
    start = np.asarray(x0)
    if start.dtype.kind not in "biufc":
        raise ConfigError(f"x0 must be numbers; got an array of {start.dtype}")
    if not np.issubdtype(start.dtype, np.inexact):
        start = start.astype(jnp.result_type(float))
    start = start.astype(jax.dtypes.canonicalize_dtype(start.dtype), copy=False)
    single = start.ndim == 1
    if start.ndim not in (1, 2):
        raise ConfigError(f"x0 must be one start (D,) or a batch (B, D); got shape {start.shape}")
    starts = start[None] if single else start
    if dim is not None and starts.shape[1] != dim:
        raise ConfigError(f"objective {name} has dim {dim}; x0 has {starts.shape[1]} coordinates")
    if starts.shape[0] == 0:
        raise ConfigError("x0 holds no starts")
    return starts, single


def resolve_tree_starts(
    fun: Callable, x0: Any, name: str, dim: int | None
) -> tuple[Callable, np.ndarray, bool, Template | None]:
    """The starts of ``fun`` whether they are vectors or pytrees: the function the engine
    runs on (a :class:`~jaxcalc.trees.FlatObjective` for a pytree objective), the starts
    as flat vectors ``(B, D)``, whether one start was given, and the pytree template (None
    for a vector objective).

    A batch of pytree starts carries the same leading axis on every leaf; an objective
    with a ``template`` also takes flat vectors of its size.
    """
    template = getattr(fun, "template", None)
    if is_tree(x0):  # pytree parameters: the engine runs on their flattened vectors
        starts, single, template = split_starts(fun, x0)
    elif isinstance(template, Template):  # flat vectors of a pytree objective
        starts, single = resolve_starts(x0, name, template.size)
    if isinstance(template, Template):
        return FlatObjective(fun, template), starts, single, template
    starts, single = resolve_starts(x0, name, dim)
    return fun, starts, single, None
