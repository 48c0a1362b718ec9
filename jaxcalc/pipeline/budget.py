"""Evaluation budgets: the one place that knows what a run costs and where a budget cuts it.

``[run] budget`` (or ``budget_per_dim``) in a config counts a run's *cost* in one
convention: ``f + c g + c D h`` for ``f`` function, ``g`` gradient and ``h`` Hessian
evaluations in dimension ``D``, with ``c = gradient_cost`` (1 by default: with automatic
differentiation a gradient costs a small constant times f, whatever ``D``; ``c = D`` is the
cost of a gradient by finite differences, COCO's black-box view). A Hessian counts as ``D``
gradients (``D`` Hessian-vector products). COCO itself counts f-evaluations only; population
methods spend no gradients, so for them every convention gives the same numbers.

Each (objective, optimizer) group gets the steps its budget buys at the method's cheapest
step (:func:`steps_for`); its results are cut at the budget afterwards
(:func:`cut_at_budget`), so line searches that spend more per step lose nothing.

What a method costs is read here and nowhere else, from what it declares
(:class:`~jaxcalc.optimizers.Requires` and :meth:`~jaxcalc.optimizers.Optimizer.step_cost`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxcalc.optimizers import Optimizer

__all__ = [
    "Budget",
    "alternative_cost",
    "alternative_record_costs",
    "budget_for",
    "cost_label",
    "cut_at_budget",
    "evaluation_cost",
    "gradient_cost_for",
    "gradient_cost_text",
    "group_budget",
    "is_gradient_free",
    "minimum_step_cost",
    "optimize_kwargs",
    "per_step_cost",
    "record_costs",
    "start_cost",
    "steps_for",
    "within_budget",
]

MAX_STEPS = 10**7  # as jaxcalc.pipeline.config.MAX_STEPS: the most steps a budget buys
_SLACK = 1 + 1e-9  # costs are apportioned in floats: a record at the budget is within it


# -------------------------------------------------------------------------------------
# What a method costs (the only place that reads an optimizer's cost declarations)


def is_gradient_free(optimizer: Optimizer) -> bool:
    """True when the method evaluates f only (no gradients)."""
    return not optimizer.requires.gradient


def start_cost(optimizer: Optimizer, gradient_cost: float) -> float:
    """What the engine spends at the start: f, plus the gradient for gradient-based methods."""
    return 1.0 + (gradient_cost if optimizer.requires.gradient else 0.0)


def minimum_step_cost(optimizer: Optimizer, dim: int, gradient_cost: float) -> float:
    """The cheapest step of ``optimizer`` in the cost convention, from its declared
    :meth:`~jaxcalc.optimizers.Optimizer.step_cost` (a population method's population per
    generation; ``f + g``, plus a Hessian for methods that use one, for gradient-based
    methods, whose line searches may spend more)."""
    cost = optimizer.step_cost(dim)
    return float(evaluation_cost(cost.f, cost.g, cost.h, dim, gradient_cost))


# -------------------------------------------------------------------------------------
# The budget of a run


def budget_for(run: Any, dim: int) -> int | None:
    """The evaluation budget of one run of ``run`` (a RunConfig) on a ``dim``-dimensional
    objective, or None when runs count steps."""
    if run.budget_per_dim is not None:
        return run.budget_per_dim * dim
    return run.budget


def gradient_cost_for(run: Any, dim: int) -> float:
    """Evaluations one gradient counts as on a ``dim``-dimensional objective."""
    return float(dim) if run.gradient_cost == "dim" else float(run.gradient_cost)


def steps_for(run: Any, optimizer: Any, dim: int) -> int:
    """Steps of ``optimizer`` on a ``dim``-dimensional objective: ``run.steps`` without a
    budget; with one, enough steps to spend the budget at the method's cheapest step, at
    least 1 (runs are cut at the budget afterwards, so line searches that spend more per
    step lose nothing)."""
    budget = budget_for(run, dim)
    if budget is None:
        return run.steps
    c = gradient_cost_for(run, dim)
    start = start_cost(optimizer, c)
    per_step = minimum_step_cost(optimizer, dim, c)
    steps = math.floor(max(budget - start, 0) / per_step) if per_step > 0 else MAX_STEPS
    return int(min(max(steps, 1), MAX_STEPS))


@dataclass(frozen=True)
class Budget:
    """An evaluation budget for one group: the budget, the cost convention and the costs
    of the method's start and cheapest step."""

    budget: int
    gradient_cost: float
    dim: int
    start: float
    step: float
    gradient_free: bool


def group_budget(run: Any, optimizer: Any, dim: int) -> Budget | None:
    """The evaluation budget of one (objective, optimizer) group, or None when the run
    counts steps."""
    if not run.has_budget:
        return None
    c = gradient_cost_for(run, dim)
    return Budget(
        budget=int(budget_for(run, dim)),
        gradient_cost=c,
        dim=dim,
        start=start_cost(optimizer, c),
        step=minimum_step_cost(optimizer, dim, c),
        gradient_free=is_gradient_free(optimizer),
    )


# -------------------------------------------------------------------------------------
# Costs of finished runs (from plain arrays, as saved)


def evaluation_cost(f, g, h, dim: int, gradient_cost: float):
    """A run's cost in evaluations: ``f + c g + c dim h`` (``c = gradient_cost``)."""
    f, g, h = (np.asarray(a, np.float64) for a in (f, g, h))
    return f + gradient_cost * g + gradient_cost * dim * h


def record_costs(
    start: np.ndarray | float,
    total: np.ndarray,
    steps_run: np.ndarray,
    recorded_steps: np.ndarray,
) -> np.ndarray:
    """Cost spent by each record, ``(..., R+1)``: ``start`` at record 0, then apportioned
    linearly from each run's ``total`` over the steps it ran (exact for a fixed cost per step,
    as population methods have); records after a run stopped carry its total."""
    total = np.asarray(total, np.float64)
    steps_run = np.asarray(steps_run)
    start = np.broadcast_to(np.asarray(start, np.float64), total.shape)
    per_step = (total - start) / np.maximum(steps_run, 1)
    k = np.minimum(np.asarray(recorded_steps)[(None,) * total.ndim], steps_run[..., None])
    return start[..., None] + per_step[..., None] * k


def within_budget(costs: np.ndarray, budget: float) -> np.ndarray:
    """Which records lie within ``budget``; the start always does (a budget below it buys
    nothing)."""
    within = costs <= budget * _SLACK
    within[..., 0] = True
    return within


def _total_cost(t: Any, budget: Budget) -> np.ndarray:
    """Each run's cost (a :class:`~jaxcalc.Trajectory`'s counts, ``budget``'s convention)."""
    return evaluation_cost(
        t.function_evaluations,
        t.gradient_evaluations,
        t.hessian_evaluations,
        budget.dim,
        budget.gradient_cost,
    )


def cut_at_budget(t: Any, budget: Budget, status: np.ndarray, steps_run: np.ndarray):
    """Each run's cost per record (from the counts the engine recorded; apportioned from
    the totals without them), which records lie within the budget, the final values
    at the budget, the statuses (``budget_exhausted`` for runs the budget cut, or that
    ran all their steps) and the evaluations spent (at most the budget)."""
    total = _total_cost(t, budget)
    at_records = getattr(t, "evaluations_at_records", None)
    counts = at_records() if at_records is not None else None
    if counts is not None:  # the engine's counts at each record: exact costs
        costs = evaluation_cost(
            counts[..., 0], counts[..., 1], counts[..., 2], budget.dim, budget.gradient_cost
        )
    else:
        costs = record_costs(budget.start, total, steps_run, t.recorded_steps)
    within = within_budget(costs, budget.budget)
    last = within.sum(axis=-1) - 1
    at_last = np.take_along_axis(t.values, last[..., None], axis=-1)[..., 0]
    over = total > budget.budget * _SLACK
    final = np.where(over, at_last, t.final_values)
    status = np.where(over | (status == "max_steps"), "budget_exhausted", status)
    return costs, within, final, status, np.minimum(total, budget.budget)


def per_step_cost(t: Any, budget: Budget, steps_run: np.ndarray) -> np.ndarray:
    """Each run's mean cost per step (cost convention)."""
    return (_total_cost(t, budget) - budget.start) / np.maximum(steps_run, 1)


# -------------------------------------------------------------------------------------
# The cost convention in saved results and in the report


def gradient_cost_text(value: Any) -> str:
    """``gradient_cost`` as the report writes it: "D" for ``"dim"``, else the number."""
    return "D" if value == "dim" else f"{float(value):g}"


def cost_label(run_cfg: dict[str, Any]) -> str:
    """The axis label of costs under the saved ``run`` config's convention."""
    c = gradient_cost_text(run_cfg.get("gradient_cost", 1.0))
    return f"evaluations (f + {c} g + {c} D h)" if c != "1" else "evaluations (f + g + D h)"


def alternative_cost(run_cfg: dict[str, Any]) -> Any:
    """The other convention drawn next to the configured one: D if gradients count 1, else 1."""
    return 1.0 if run_cfg.get("gradient_cost", 1.0) == "dim" else "dim"


def alternative_record_costs(
    arrays: dict[str, np.ndarray], counts: dict[str, np.ndarray], run_cfg: dict[str, Any]
) -> np.ndarray:
    """The costs per record of saved runs under :func:`alternative_cost`.

    Args:
      arrays: the group's saved arrays (``bounds``, ``recorded_steps``, ``gradient_free``).
      counts: the setting's per-run ``function_evaluations`` and, when saved,
        ``gradient_evaluations``, ``hessian_evaluations``, with ``steps_run``.
      run_cfg: the saved config's ``run`` table.
    """
    dim = int(arrays["bounds"].shape[0])
    alt = alternative_cost(run_cfg)
    c_alt = float(dim) if alt == "dim" else float(alt)
    gradient_free = bool(arrays.get("gradient_free", False))
    f = counts["function_evaluations"]
    g = counts.get("gradient_evaluations", np.zeros_like(f))
    h = counts.get("hessian_evaluations", np.zeros_like(f))
    total_alt = evaluation_cost(f, g, h, dim, c_alt)
    start_alt = 1.0 + (0.0 if gradient_free else c_alt)
    return record_costs(start_alt, total_alt, counts["steps_run"], arrays["recorded_steps"])


def optimize_kwargs(run: Any, optimizer: Any, dim: int, steps: int | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`jaxcalc.optimize` for one group: ``run``'s
    (:meth:`~jaxcalc.pipeline.config.RunConfig.optimize_kwargs`), with a budget's steps
    (:func:`steps_for`), or the objective's own ``steps`` (its epochs, see
    :meth:`~jaxcalc.pipeline.config.ObjectiveConfig.fixed_steps`), and ``record_every``
    clipped to them."""
    kwargs = run.optimize_kwargs()
    if steps is not None:
        kwargs["steps"] = steps
        kwargs["record_every"] = min(kwargs["record_every"], steps)
    elif run.has_budget:
        steps = steps_for(run, optimizer, dim)
        kwargs["steps"] = steps
        kwargs["record_every"] = min(kwargs["record_every"], steps)
    return kwargs
