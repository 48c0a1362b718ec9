"""Bootstrap intervals, rank tests and Holm's correction against SciPy and hand computations.

Oracles: ``scipy.stats.bootstrap`` (drawing from a generator seeded as ours, so the
intervals agree to rounding), ``scipy.stats.mannwhitneyu``, and Holm's adjustment worked
by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import stats, tables

scipy_stats = pytest.importorskip("scipy.stats")


def scipy_interval(data, statistic, method, seed, paired=False, samples=2000, confidence=0.95):
    result = scipy_stats.bootstrap(
        data,
        statistic,
        n_resamples=samples,
        confidence_level=confidence,
        method=method,
        paired=paired,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return result.confidence_interval.low, result.confidence_interval.high


SKEWED = np.random.default_rng(7).lognormal(0.0, 1.2, 31)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_median_interval_matches_scipy(method):
    statistic = stats.median_of_finite(SKEWED, method)
    ci = stats.bootstrap_intervals({"median": statistic}, SKEWED.size, seed=11)["median"]
    scipy_method = "BCa" if method == "bca" else method
    low, high = scipy_interval((SKEWED,), np.median, scipy_method, 11)
    assert ci.method == method
    np.testing.assert_allclose([ci.low, ci.high], [low, high], rtol=1e-12)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_bca_interval_matches_scipy(confidence):
    ci = stats.bootstrap_intervals(
        {"mean": stats.mean_of(SKEWED)}, SKEWED.size, seed=3, confidence=confidence,
        samples=3000,
    )["mean"]  # fmt: skip
    low, high = scipy_interval((SKEWED,), np.mean, "BCa", 3, samples=3000, confidence=confidence)
    assert ci.method == "bca"
    assert ci.low != ci.high
    np.testing.assert_allclose([ci.low, ci.high], [low, high], rtol=1e-12)


@pytest.mark.parametrize("n", [5, 7, 50, 1000])
def test_small_and_large_rows_match_scipy_at_every_end(n):
    """BCa's bias correction counts the resamples below the estimate: a resample mean
    rounded differently from the estimate's would move an end by a whole order statistic
    (with 5 runs, several per cent), so both are computed as SciPy computes them."""
    rng = np.random.default_rng(n)
    area, success = rng.random(n), (rng.random(n) < 0.6).astype(float)
    precision = 10 ** rng.uniform(-8, 2, n)
    statistics = {
        "area": stats.mean_of(area),
        "success": stats.mean_of(success, "percentile"),
        "median": stats.median_of_finite(precision),
    }
    got = stats.bootstrap_intervals(statistics, n, seed=n)
    expected = {
        "area": scipy_interval((area,), np.mean, "BCa", n),
        "success": scipy_interval((success,), np.mean, "percentile", n),
        "median": scipy_interval((precision,), np.median, "BCa", n),
    }
    for name, (low, high) in expected.items():
        np.testing.assert_allclose([got[name].low, got[name].high], [low, high], rtol=1e-12)


def runs_of(hit, spent, precision=None) -> tables.SettingRuns:
    hit = np.asarray(hit, np.float64)
    n = hit.size
    precision = np.where(hit >= 0, 1e-9, 1.0) if precision is None else np.asarray(precision)
    return tables.SettingRuns(
        final=precision,
        f_opt=0.0,
        precision=precision,
        status=np.array(["max_steps"] * n),
        target=1e-8,
        steps_to_target=np.where(hit >= 0, 1, -1),
        evaluations_to_target=hit,
        evaluations=np.asarray(spent, np.float64),
        steps_run=np.ones(n),
        event_step=-np.ones(n),
        function_evaluations=np.asarray(spent),
        gradient_evaluations=np.zeros(n),
        hessian_evaluations=np.zeros(n),
    )


def test_success_rate_and_ert_intervals_match_scipy_paired():
    rng = np.random.default_rng(0)
    hit = np.where(rng.random(40) < 0.7, rng.integers(50, 500, 40), -1).astype(float)
    spent = np.full(40, 1000.0)
    runs = runs_of(hit, spent)
    key = {"objective": "f", "optimizer": "a", "setting": {}}
    columns = tables.interval_columns(runs, key, tables.Statistics(seed=5))
    seed = stats.row_seed(5, key)

    def ert(h, s, axis=-1):
        success = h >= 0
        count = success.sum(axis=axis)
        return np.where(success, h, s).sum(axis=axis) / count

    low, high = scipy_interval((hit, spent), ert, "percentile", seed, paired=True)
    np.testing.assert_allclose([columns["ert_ci_low"], columns["ert_ci_high"]], [low, high])
    low, high = scipy_interval(((hit >= 0).astype(float),), np.mean, "percentile", seed)
    np.testing.assert_allclose(
        [columns["success_rate_ci_low"], columns["success_rate_ci_high"]], [low, high]
    )


def test_ert_interval_reaches_infinity_when_resamples_have_no_success():
    hit = np.array([100.0, -1, -1, -1, -1, -1, -1, -1])
    runs = runs_of(hit, np.full(8, 1000.0))
    ci = tables.interval_columns(runs, {"k": 1}, tables.Statistics())
    assert np.isfinite(ci["ert_ci_low"]) and ci["ert_ci_high"] == np.inf


def test_row_interval_depends_on_its_key_and_seed_not_on_other_rows():
    rng = np.random.default_rng(1)
    runs = runs_of(rng.integers(10, 99, 20).astype(float), np.full(20, 100.0))
    key = {"objective": "sphere", "optimizer": "adam", "setting": {"learning_rate": 0.1}}
    alone = tables.interval_columns(runs, key, tables.Statistics(seed=2))
    for other_key in ({"objective": "x"}, {"objective": "y"}):  # other rows, any order
        tables.interval_columns(runs, other_key, tables.Statistics(seed=2))
    reordered = dict(reversed(key.items()))
    assert tables.interval_columns(runs, reordered, tables.Statistics(seed=2)) == alone
    moved = tables.interval_columns(runs, {**key, "optimizer": "sgd"}, tables.Statistics(seed=2))
    assert moved != alone
    assert tables.interval_columns(runs, key, tables.Statistics(seed=3)) != alone


def test_degenerate_sample_gives_a_point_interval():
    ci = stats.bootstrap_intervals({"m": stats.median_of_finite(np.full(10, 2.5))}, 10)["m"]
    assert (ci.low, ci.high) == (2.5, 2.5)
    assert ci.method == "percentile (BCa undefined)"


def test_median_jackknife_matches_leaving_each_value_out():
    x = np.array([4.0, np.inf, 1.0, 7.0, 2.0, np.nan, 9.0, 4.0])
    statistic = stats.median_of_finite(x)
    expected = []
    for i in range(x.size):
        rest = np.delete(x, i)
        expected.append(np.median(rest[np.isfinite(rest)]))
    np.testing.assert_allclose(statistic.jackknife(), expected)


def test_median_of_a_resample_is_the_median_of_its_finite_draws():
    x = np.array([4.0, np.inf, 1.0, 7.0, 2.0, np.nan, 9.0, 4.0])
    rng = np.random.default_rng(0)
    index = rng.integers(0, x.size, (50, x.size))
    index[0] = [1, 5, 1, 5, 5, 1, 1, 5]  # no finite draw: NaN
    expected = []
    for i in index:
        sample = x[i][np.isfinite(x[i])]
        expected.append(np.median(sample) if sample.size else np.nan)
    np.testing.assert_allclose(stats.median_of_finite(x).resample(index), expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [(95, "did you mean 0.95"), (0, "between 0 and 1"), (1.0, "between 0 and 1"),
     ("0.95", "must be a number"), (True, "must be a number")],
)  # fmt: skip
def test_bad_confidence_is_one_line_naming_the_key(value, message):
    with pytest.raises(ConfigError, match=message) as err:
        stats.check_confidence(value, "output.confidence")
    assert str(err.value).startswith("output.confidence") and "\n" not in str(err.value)


def test_too_few_resamples_or_runs_are_refused():
    assert stats.minimum_samples(0.95) == 200
    assert stats.minimum_samples(0.99) == 1000
    with pytest.raises(ConfigError, match="at least 200"):
        stats.check_samples(199, 0.95)
    statistic = {"mean": stats.mean_of(np.array([1.0]))}
    with pytest.raises(ConfigError, match="at least 2 runs"):
        stats.bootstrap_intervals(statistic, 1)
    with pytest.raises(ConfigError, match="at least 2 runs"):
        stats.bootstrap_intervals(statistic, 0)


# -------------------------------------------------------------------------------------
# Rank tests

CASES = [
    ([0.1, 0.5, 0.3], [0.9, 0.7, 1.1, 0.8, 1.4]),  # exact: small, no ties
    (list(range(8)), [x + 3.5 for x in range(12)]),  # exact: one sample of 8
    (list(np.linspace(0, 1, 12)), list(np.linspace(0.3, 1.6, 15))),  # asymptotic
    ([1, 1, 2, 3, 3, 3], [2, 2, 3, 4, 4]),  # ties: asymptotic with tie correction
    ([1.0, np.inf, np.inf], [2.0, 3.0, np.inf, 5.0, 6.0]),  # infinities tie
    ([5.0] * 6, [5.0] * 7),  # all tied
]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_mann_whitney_matches_scipy(a, b):
    u, p = stats.mann_whitney_u(np.array(a, float), np.array(b, float))
    expected = scipy_stats.mannwhitneyu(a, b, alternative="two-sided")
    assert u == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue, rel=1e-10, abs=1e-15)


def test_hitting_time_ranks_put_unsolved_runs_after_solved_ones():
    # solved at 30, 10, 10; unsolved with final values 2.0, 0.5, NaN (NaN is worst)
    solved = np.array([True, True, True, False, False, False])
    time = np.array([30.0, 10.0, 10.0, -1, -1, -1])
    final = np.array([0.0, 0.0, 0.0, 2.0, 0.5, np.nan])
    keys = stats.censored_keys(solved, time, final)
    assert list(keys) == [1, 0, 0, 3, 2, 4]


def test_hitting_time_test_is_a_rank_test_on_those_keys():
    # a: solves twice quickly, once not (final 3); b: solves once slowly, twice not (1, 2)
    solved = np.array([True, True, False, True, False, False])
    time = np.array([5.0, 7.0, -1, 50.0, -1, -1])
    final = np.array([0, 0, 3.0, 0, 1.0, 2.0])
    keys = stats.censored_keys(solved, time, final)
    order_by_hand = np.array([0, 1, 5, 2, 3, 4])  # 5, 7, 50 solved; then 1.0, 2.0, 3.0
    np.testing.assert_array_equal(np.argsort(keys), np.argsort(order_by_hand))
    u, p = stats.mann_whitney_u(keys[:3], keys[3:])
    expected = scipy_stats.mannwhitneyu(order_by_hand[:3], order_by_hand[3:])
    assert (u, p) == pytest.approx((expected.statistic, expected.pvalue))


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> 0.06
    np.testing.assert_allclose(stats.holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    assert stats.holm([]).size == 0
