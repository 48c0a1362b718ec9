"""A tuning search space as settings, what one setting costs, and the method that runs
many settings of several hyperparameters as one sweep.

``grid`` takes every combination of the listed values; ``random`` and ``sobol`` draw
points in the ranges (uniform, or uniform in ``log`` for ``log = true``): ``random`` from
NumPy's generator seeded with the first tuning seed, ``sobol`` from
:class:`scipy.stats.qmc.Sobol` scrambled with that seed, ``2**m`` points (a Sobol
sequence is balanced only at powers of two).

The engine sweeps hyperparameters as a grid (one axis per swept hyperparameter). Drawn
points of several hyperparameters are not a grid: they run through :class:`Tabulated`,
the method with one swept hyperparameter, ``setting``, the index of a row of a table of
settings compiled into the program, so every setting still runs as lanes of one program.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import Optimizer, StepResult, Wrapped
from jaxcalc.pipeline import budget as budgets

__all__ = [
    "SETTING",
    "Tabulated",
    "configuration_cost",
    "evaluations_per_run",
    "sample_settings",
    "settings_count",
]

#: the swept hyperparameter of :class:`Tabulated`: the index of a setting
SETTING = "setting"


def evaluations_per_run(run: Any, method: Any, dim: int) -> float:
    """The most one run may spend, in the cost convention of :mod:`~jaxcalc.pipeline.budget`:
    the run's budget when ``[run]`` sets one; else the start and ``steps`` of the
    method's cheapest step (line searches may spend more; tuning.csv reports what was
    spent)."""
    limit = budgets.budget_for(run, dim)
    if limit is not None:
        return float(limit)
    c = budgets.gradient_cost_for(run, dim)
    return budgets.start_cost(method, c) + run.steps * budgets.minimum_step_cost(method, dim, c)


def configuration_cost(run: Any, method: Any, dims: Sequence[int], runs: int) -> float:
    """Evaluations of one setting: ``runs`` runs on each tuning objective (of ``dims``)."""
    return float(sum(runs * evaluations_per_run(run, method, d) for d in dims))


def settings_count(method: str, space: Mapping[str, Any], budget: int, cost: float,
                   samples: int | None, limit: int) -> int:  # fmt: skip
    """How many settings the search tries: a grid's size, else ``samples``, else as many
    as the budget buys (at most ``limit``; for sobol a power of two)."""
    if method == "grid":
        return math.prod(len(v) for v in space.values())
    n = samples if samples is not None else min(int(budget // cost), limit)
    if method == "sobol":
        n = 2 ** int(math.floor(math.log2(n))) if n >= 1 else 0
    return n


def sample_settings(
    method: str, space: Mapping[str, Any], n: int, seed: int
) -> dict[str, list[float]]:
    """``n`` settings of the hyperparameters of ``space``, as a column per name.

    ``space`` maps names to value lists (grid) or to ranges with ``low``, ``high`` and
    ``log`` (random, sobol)."""
    names = list(space)
    if method == "grid":
        rows = list(itertools.product(*(space[k] for k in names)))
        return {k: [float(r[j]) for r in rows] for j, k in enumerate(names)}
    if method == "random":
        unit = np.random.default_rng(seed).random((n, len(names)))
    elif method == "sobol":
        from scipy.stats import qmc

        unit = qmc.Sobol(d=len(names), scramble=True, seed=seed).random_base2(
            int(round(math.log2(n)))
        )
    else:
        raise ConfigError(f"tuning.method: unknown method {method!r}")
    columns = {}
    for j, k in enumerate(names):
        r = space[k]
        if r.log:
            lo, hi = math.log(r.low), math.log(r.high)
            values = np.exp(lo + unit[:, j] * (hi - lo))
        else:
            values = r.low + unit[:, j] * (r.high - r.low)
        columns[k] = np.clip(values, r.low, r.high).tolist()
    return columns


@dataclass(frozen=True)
class Tabulated(Wrapped):
    """``inner`` with the hyperparameters of ``names`` read from row ``setting`` of
    ``table`` (one row per setting, compiled into the program); ``setting`` is the only
    hyperparameter of these that is swept. Everything else is ``inner``'s."""

    names: tuple[str, ...] = ()
    table: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def of(cls, inner: Optimizer, columns: Mapping[str, Sequence[float]]) -> Tabulated:
        names = tuple(columns)
        table = tuple(zip(*(tuple(float(v) for v in columns[k]) for k in names), strict=True))
        defaults = {k: v for k, v in inner.defaults.items() if k not in names}
        return cls.around(inner, {**defaults, SETTING: 0.0}, names=names, table=table)

    def _own_structure(self) -> tuple[Any, ...]:
        return (self.names, self.table)

    def _inner_hyper(self, hyper: Mapping[str, Any], dtype) -> dict[str, Any]:
        index = jnp.asarray(hyper[SETTING]).astype(jnp.int32)
        table = jnp.asarray(np.asarray(self.table, np.float64), dtype)
        own = {k: v for k, v in hyper.items() if k != SETTING}
        return {**own, **{k: table[index, j] for j, k in enumerate(self.names)}}

    def init(self, fun, x, hyper, key):
        return self.inner.init(fun, x, self._inner_hyper(hyper, x.dtype), key)

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        return self.inner.step(fun, x, value, grad, state, self._inner_hyper(hyper, x.dtype))
