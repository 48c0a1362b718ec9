"""Fixed-budget values, areas under the ECDF and over the convergence curve, and Moré-Wild
profiles, each on a small case worked by hand (the expected numbers are in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from jaxcalc.pipeline import views


def test_record_evaluations_spread_the_total_over_the_steps_run():
    # 11 evaluations over 10 steps: 1 at the start, 1 per step; held after the run stopped
    got = views.record_evaluations(np.array([11]), np.array([10]), np.array([0, 5, 10, 15]))
    np.testing.assert_array_equal(got, [[1, 6, 11, 11]])


def test_best_at_budgets():
    values = np.array([[5.0, 3.0, 4.0, 1.0], [np.nan, 2.0, np.nan, np.nan]])
    evals = np.array([[1.0, 6, 11, 11], [2.0, 3, 4, 5]])
    got = views.best_at_budgets(values, evals, [1, 5, 6, 100])
    # run 0: within 1 -> 5; within 5 -> 5; within 6 -> 3; all -> 1
    # run 1: nothing within 1; NaN at 2 is no value; 2.0 from 3 evaluations on
    np.testing.assert_array_equal(got, [[5, 5, 3, 1], [np.nan, 2, 2, 2]])


def test_ecdf_area_by_hand():
    precision = np.array([[10.0, 0.5, 0.001]])
    evals = np.array([[1.0, 10.0, 100.0]])
    # horizon 1000 (3 decades): target 1 first reached at 10 evaluations -> (3 - 1) / 3;
    # target 0.01 at 100 -> (3 - 2) / 3; target 1e-5 never -> 0. Mean of the three: 1/3
    got = views.ecdf_area(precision, evals, 1000.0, targets=[1.0, 0.01, 1e-5])
    np.testing.assert_allclose(got, [1 / 3])
    # a target reached at the start counts fully; the horizon cuts a later hit
    got = views.ecdf_area(precision, evals, 10.0, targets=[100.0, 0.01])
    np.testing.assert_allclose(got, [0.5])
    assert np.isnan(views.ecdf_area(precision, evals, 1.0)).all()


def test_aocc_by_hand():
    # range 1e-8..1e2 (10 decades); best 100 -> c = 1, 1 -> c = 0.8, 1e-8 -> c = 0
    precision = np.array([[100.0, 1.0, 1e-8]])
    evals = np.array([[1.0, 3.0, 5.0]])
    # evaluations 1, 2 see 100 (adds 0); 3, 4 see 1 (0.2 each); 5, 6 see 1e-8 (1 each)
    np.testing.assert_allclose(views.aocc(precision, evals, 6), [(0.4 + 2.0) / 6])
    # records one evaluation later (2, 4, 6): evaluation 1 has no value (adds 0), 2 and 3
    # see 100 (0), 4 and 5 see 1 (0.2 each), 6 sees 1e-8 (1)
    np.testing.assert_allclose(views.aocc(precision, evals + 1, 6), [(0.2 * 2 + 1.0) / 6])
    # beyond the range the curve is clipped: 1e-12 counts as 1e-8
    np.testing.assert_allclose(views.aocc(np.array([[1e-12]]), np.array([[1.0]]), 4), [1.0])


def test_aocc_matches_a_sum_over_every_evaluation():
    rng = np.random.default_rng(0)
    precision = 10.0 ** rng.uniform(-10, 4, (5, 12))
    evals = np.cumsum(rng.uniform(0.5, 7, (5, 12)), axis=1)
    horizon = 40
    best = np.minimum.accumulate(precision, axis=1)
    expected = []
    for r in range(5):
        total = 0.0
        for i in range(1, horizon + 1):
            seen = best[r][evals[r] <= i]
            if seen.size:
                c = (np.clip(np.log10(seen[-1]), -8, 2) + 8) / 10
                total += 1 - c
        expected.append(total / horizon)
    np.testing.assert_allclose(views.aocc(precision, evals, horizon), expected)


# Two problems, two solvers (A, B); records at the evaluations given.
F0 = np.array([10.0, 4.0])
VALUES = np.array(
    [
        [[10.0, 5.0, 1.0], [10.0, 2.0, 0.0]],  # problem 1: f_L = 0
        [[4.0, 4.0, 4.0], [4.0, 3.0, 2.0]],  # problem 2: f_L = 2
    ]
)
EVALS = np.array([[[1.0, 5, 10], [1.0, 4, 8]], [[1.0, 2, 3], [1.0, 2, 3]]])


def test_more_wild_convergence_test_by_hand():
    # tau = 0.1: problem 1 needs f <= 10 - 0.9 * 10 = 1: A at 10 evaluations, B at 8;
    # problem 2 needs f <= 4 - 0.9 * 2 = 2.2: A never, B at 3
    t = views.more_wild_evaluations(F0, VALUES, EVALS, tau=0.1, budget=np.inf)
    np.testing.assert_array_equal(t, [[10, 8], [np.inf, 3]])
    # tau = 0.5: problem 1 needs f <= 5: A at 5, B at 4; problem 2 f <= 3: B at 2
    t = views.more_wild_evaluations(F0, VALUES, EVALS, tau=0.5, budget=np.inf)
    np.testing.assert_array_equal(t, [[5, 4], [np.inf, 2]])
    # a budget of 9: A's record at 10 is past it; f_L stays 0 (B's 0 at 8)
    t = views.more_wild_evaluations(F0, VALUES, EVALS, tau=0.1, budget=9)
    np.testing.assert_array_equal(t, [[np.inf, 8], [np.inf, 3]])


@pytest.mark.parametrize("budget", [np.inf, 9])
def test_more_wild_at_several_tolerances_by_hand(budget):
    # both tolerances in one call; tau = 0.5 with a budget of 9: f_L stays 0, problem 1
    # needs f <= 5 (A at 5, B at 4), problem 2 f <= 3 (A never, B at 2), as without it
    by_hand = {
        np.inf: ([[10, 8], [np.inf, 3]], [[5, 4], [np.inf, 2]]),
        9: ([[np.inf, 8], [np.inf, 3]], [[5, 4], [np.inf, 2]]),
    }
    t_01, t_05 = views.more_wild_evaluations_at(F0, VALUES, EVALS, (0.1, 0.5), budget)
    np.testing.assert_array_equal(t_01, by_hand[budget][0])
    np.testing.assert_array_equal(t_05, by_hand[budget][1])


def test_more_wild_profiles_by_hand():
    t = np.array([[10.0, 8.0], [np.inf, 3.0]])
    # ratios to the best: A 1.25 and inf, B 1 and 1
    rho = views.performance_profile(t, [1.0, 1.2, 1.25, 100.0])
    np.testing.assert_array_equal(rho, [[0, 0, 0.5, 0.5], [1, 1, 1, 1]])
    # simplex gradients (dims 2 and 1): A 10/3 and inf, B 8/3 and 3/2
    d = views.data_profile(t, np.array([2, 1]), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(d, [[0, 0, 0, 0.5], [0, 0.5, 1, 1]])


@pytest.mark.parametrize("tau", [1e-1, 1e-3])
def test_more_wild_nothing_improved_passes_at_the_start(tau):
    values = np.full((1, 2, 3), 7.0)
    t = views.more_wild_evaluations(np.array([7.0]), values, np.ones((1, 2, 3)), tau, np.inf)
    np.testing.assert_array_equal(t, [[1, 1]])
