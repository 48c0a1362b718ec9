"""Trajectory.status_counts: over all runs, and one row per setting of a sweep, against
counts made by hand on a small Trajectory built from known statuses."""

from __future__ import annotations

import numpy as np

from jaxcalc.engine import Trajectory


def _trajectory(status: list, sweep: dict[str, list[float]]) -> Trajectory:
    status = np.asarray(status)
    runs = status.shape
    zeros = np.zeros(runs)
    return Trajectory(
        objective="f",
        optimizer="gd",
        steps=10,
        record_every=10,
        params=np.zeros((*runs, 2, 1)),
        values=np.zeros((*runs, 2)),
        grad_norms=np.zeros((*runs, 2)),
        status=status,
        event_step=zeros.astype(int),
        function_evaluations=zeros.astype(int),
        gradient_evaluations=zeros.astype(int),
        hessian_evaluations=zeros.astype(int),
        resets=zeros.astype(int),
        final_params=np.zeros((*runs, 1)),
        final_values=zeros,
        hyperparameters={"momentum": 0.0, **{k: np.asarray(v) for k, v in sweep.items()}},
        sweep=tuple(sweep),
    )


C, M, D = "converged", "max_steps", "diverged"


def test_one_row_per_setting_in_sweep_order():
    # 2 learning rates x 3 starts
    t = _trajectory([[C, C, M], [D, D, D]], {"learning_rate": [0.1, 1.0]})
    assert t.status_counts() == {C: 2, D: 3, M: 1}  # the existing form is unchanged
    assert t.status_counts(by_setting=True) == [
        {"learning_rate": 0.1, "runs": 3, C: 2, D: 0, M: 1},
        {"learning_rate": 1.0, "runs": 3, C: 0, D: 3, M: 0},
    ]


def test_two_swept_hyperparameters_make_a_grid():
    # learning_rate (2) x b1 (2) x 2 starts; rows follow the sweep axes, the last fastest
    t = _trajectory(
        [[[C, C], [C, M]], [[M, M], [D, C]]], {"learning_rate": [0.01, 0.1], "b1": [0.8, 0.9]}
    )
    rows = t.status_counts(by_setting=True)
    assert [(r["learning_rate"], r["b1"]) for r in rows] == [
        (0.01, 0.8),
        (0.01, 0.9),
        (0.1, 0.8),
        (0.1, 0.9),
    ]
    assert [(r[C], r[M], r[D]) for r in rows] == [(2, 0, 0), (1, 1, 0), (0, 2, 0), (1, 0, 1)]
    assert all(r["runs"] == 2 for r in rows)


def test_without_a_sweep_one_row():
    t = _trajectory([C, M, M, M], {})
    assert t.status_counts(by_setting=True) == [{"runs": 4, C: 1, M: 3}]
