"""Comparison metrics from trajectories: success, hitting times, COCO's ERT, ECDFs, profiles.

All functions take plain NumPy arrays (what :class:`jaxcalc.Trajectory` holds), so they can
be recomputed from saved results without running anything.

Definitions (COCO: Hansen et al., "COCO: performance assessment", 2016/2022):

* a run *reaches* a target ``t`` at the first recorded step where ``f - f_opt <= t``;
* its *evaluations to target* are its function evaluations up to that step (the engine
  counts them at every record; :func:`evaluations_at` apportions them linearly from a
  run's total over the steps it ran, for results that have only totals);
* ``ERT = (evaluations of all runs until they reached the target, or until they stopped)
  / (number of runs that reached it)``; infinite when none did.

Evaluation budgets and their cost convention live in :mod:`jaxcalc.pipeline.budget`
(re-exported here: ``evaluation_cost``, ``start_cost``, ``minimum_step_cost``,
``record_costs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxcalc.pipeline.budget import (
    evaluation_cost,
    minimum_step_cost,
    record_costs,
    start_cost,
)

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
