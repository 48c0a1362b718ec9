"""Comparison metrics from trajectories: success, hitting times, COCO's ERT, ECDFs, profiles.

All functions take plain NumPy arrays (what :class:`jaxcalc.Trajectory` holds), so they can
be recomputed from saved results without running anything.

Definitions (COCO: Hansen et al., "COCO: performance assessment", 2016/2022):

* a run *reaches* a target ``t`` at the first recorded step where ``f - f_opt <= t``;
* its *evaluations to target* are its function evaluations up to that step (the engine
  records counts per run; up to a record, they are apportioned linearly from the run's
  total over the steps it ran, exact for methods with a fixed cost per step);
* ``ERT = (evaluations of all runs until they reached the target, or until they stopped)
  / (number of runs that reached it)``; infinite when none did.

Evaluation budgets (``[run] budget`` in a config) count a run's *cost* in one convention:
``f + c g + c D h`` for ``f`` function, ``g`` gradient and ``h`` Hessian evaluations in
dimension ``D``, with ``c = gradient_cost`` (1 by default: with automatic differentiation a
gradient costs a small constant times f, whatever ``D``; ``c = D`` is the cost of a gradient
by finite differences, COCO's black-box view). A Hessian counts as ``D`` gradients (``D``
Hessian-vector products). COCO itself counts f-evaluations only; population methods spend
no gradients, so for them every convention gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "COCO_TARGETS",
    "evaluation_cost",
    "minimum_step_cost",
    "record_costs",
    "start_cost",
    "ecdf",
    "expected_running_time",
    "hitting_steps",
    "performance_profile",
]

#: COCO's standard targets f - f_opt: 10^2 down to 10^-8 in 51 log-uniform steps.
COCO_TARGETS = 10.0 ** np.linspace(2, -8, 51)


def hitting_steps(precision: np.ndarray, recorded_steps: np.ndarray, target: float) -> np.ndarray:
    """First recorded step where ``precision = f - f_opt`` is ``<= target``; -1 if never.

    Args:
      precision: ``(..., R+1)`` values of ``f - f_opt`` at the records (NaN allowed).
      recorded_steps: ``(R+1,)`` the step number of each record.
    """
    reached = np.nan_to_num(precision, nan=np.inf) <= target
    first = np.argmax(reached, axis=-1)
    return np.where(reached.any(axis=-1), recorded_steps[first], -1)


def evaluations_at(
    steps: np.ndarray, total_evaluations: np.ndarray, steps_run: np.ndarray
) -> np.ndarray:
    """Evaluations spent by ``steps``, apportioned from each run's total (see module doc)."""
    steps_run = np.maximum(steps_run, 1)
    per_step = (total_evaluations - 1) / steps_run  # the first evaluation is at the start
    return np.where(steps >= 0, 1 + np.round(per_step * steps), -1)


def evaluation_cost(f, g, h, dim: int, gradient_cost: float):
    """A run's cost in evaluations: ``f + c g + c dim h`` (``c = gradient_cost``)."""
    f, g, h = (np.asarray(a, np.float64) for a in (f, g, h))
    return f + gradient_cost * g + gradient_cost * dim * h


def start_cost(optimizer, gradient_cost: float) -> float:
    """What the engine spends at the start: f, plus the gradient for gradient-based methods."""
    return 1.0 + (0.0 if getattr(optimizer, "gradient_free", False) else gradient_cost)


def minimum_step_cost(optimizer, dim: int, gradient_cost: float) -> float:
    """The cheapest step of ``optimizer`` (an :class:`~jaxcalc.optimizers.Optimizer`) in the
    cost convention: a population method's population size per generation (CMA-ES's default
    ``4 + floor(3 ln D)``), 1 for other gradient-free methods, and ``f + g`` (plus a Hessian
    for methods that use one) for gradient-based methods, whose line searches may spend more.
    """
    if getattr(optimizer, "gradient_free", False):
        parameters = getattr(optimizer, "parameters", None)
        if callable(parameters):
            size = getattr(parameters(dim), "population_size", None)
            if size:
                return float(size)
        size = dict(getattr(optimizer, "options", {}) or {}).get("population_size")
        if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
            return float(size)
        return 1.0
    hessian = dim * gradient_cost if getattr(optimizer, "uses_hessian", False) else 0.0
    return 1.0 + gradient_cost + hessian


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


def expected_running_time(evals_to_target: np.ndarray, total_evaluations: np.ndarray) -> float:
    """COCO's ERT over a set of runs: spent evaluations / successes (inf without success)."""
    success = evals_to_target >= 0
    spent = np.where(success, evals_to_target, total_evaluations).sum()
    return float(spent / success.sum()) if success.any() else float("inf")


def ecdf(
    precision: np.ndarray,
    evaluations: np.ndarray,
    budgets: np.ndarray,
    targets: Sequence[float] = COCO_TARGETS,
) -> np.ndarray:
    """Fraction of (run, target) pairs reached within each budget of evaluations.

    Args:
      precision: ``(runs, R+1)`` f - f_opt at the records.
      evaluations: ``(runs, R+1)`` evaluations spent at each record.
      budgets: the evaluation budgets at which to read the curve.
    """
    targets = np.asarray(targets, np.float64)
    best = np.minimum.accumulate(np.nan_to_num(precision, nan=np.inf), axis=-1)
    fractions = []
    for budget in budgets:
        within = evaluations <= budget
        best_within = np.where(within, best, np.inf).min(axis=-1)  # (runs,)
        fractions.append(float((best_within[:, None] <= targets[None, :]).mean()))
    return np.asarray(fractions)


def performance_profile(costs: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Dolan & More (2002) profile: for each solver, the fraction of problems it solves
    within a factor ``tau`` of the best solver's cost.

    Args:
      costs: ``(problems, solvers)``, e.g. ERT; inf where a solver failed.
      taus: factors ``>= 1``.

    Returns:
      ``(solvers, len(taus))``.
    """
    costs = np.asarray(costs, np.float64)
    best = np.min(costs, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(np.isfinite(costs), costs / best, np.inf)
    return np.stack([(ratios <= tau).mean(axis=0) for tau in taus], axis=1)
