"""An experiment's confidence intervals, tests.csv and fixed_budget.csv, recomputed from its
runs.csv with SciPy (``bootstrap``, ``mannwhitneyu``), Holm's adjustment by hand and NumPy
quantiles; and the [output] keys that set them, refused with a line naming the key."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from jaxcalc.pipeline import ConfigValidationError, comparisons, parse_config, run_experiment
from jaxcalc.pipeline.stats import row_seed

scipy_stats = pytest.importorskip("scipy.stats")

CONFIG = """
name = "comparisons"
seed = 4

[starts]
count = 10

[run]
steps = 60
record_every = 3

[[objectives]]
name = "sphere"
dim = 2

[[objectives]]
expression = "x**2 + 3*y**2 + 1"

[[optimizers]]
name = "adam"
learning_rate = [0.05, 0.3]

[[optimizers]]
name = "sgd"
learning_rate = 0.05

[output]
confidence = 0.9
bootstrap_samples = 400
fixed_budgets = [5, 30, 1000]
"""


def read(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("comparisons") / "out"
    run_experiment(parse_config(CONFIG), out, display="off", report=False)
    return out


def row_runs(runs, row):
    hp = [k for k in row if k.startswith("hp_")]
    mine = [
        r
        for r in runs
        if (r["objective"], r["optimizer"]) == (row["objective"], row["optimizer"])
        and all(r.get(k, "") == row[k] for k in hp)
    ]
    key = {
        "objective": row["objective"],
        "optimizer": row["optimizer"],
        "setting": {k[3:]: float(row[k]) for k in hp if row[k] != ""},
    }
    return mine, key


def column(rows, name):
    return np.array([float(r[name]) for r in rows])


def scipy_ci(data, statistic, method, seed, paired=False):
    ci = scipy_stats.bootstrap(
        data, statistic, n_resamples=400, confidence_level=0.9, method=method,
        paired=paired, vectorized=True, rng=np.random.default_rng(seed),
    ).confidence_interval  # fmt: skip
    return [ci.low, ci.high]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # SciPy's standard error of an inf ERT
def test_each_row_interval_is_scipy_bootstrap_of_that_row_alone(folder):
    """Computed from the row's own runs (as a shard or a merged table would hold them) and
    its key: the same numbers whatever the other rows are."""
    runs = read(folder / "runs.csv")
    checked = 0
    for row in read(folder / "summary.csv"):
        mine, key = row_runs(runs, row)
        assert len(mine) == int(row["runs"]) == 10
        if row["success_rate"] == "nan":  # no f_opt: no intervals either
            assert row["precision_median_ci_low"] == "nan"
            continue
        seed = row_seed(4, key)
        precision = column(mine, "precision")
        hit = column(mine, "evaluations_to_target")
        spent = column(mine, "function_evaluations")

        def ert(h, s, axis=-1):
            success = h >= 0
            with np.errstate(divide="ignore"):
                return np.where(success, h, s).sum(axis=axis) / success.sum(axis=axis)

        expected = {
            "precision_median": scipy_ci((precision,), np.median, "BCa", seed),
            "success_rate": scipy_ci(((hit >= 0).astype(float),), np.mean, "percentile", seed),
            "ert": scipy_ci((hit, spent), ert, "percentile", seed, paired=True),
            "ecdf_area": scipy_ci((column(mine, "ecdf_area"),), np.mean, "BCa", seed),
            "aocc": scipy_ci((column(mine, "aocc"),), np.mean, "BCa", seed),
        }
        for name, (low, high) in expected.items():
            got = [float(row[f"{name}_ci_low"]), float(row[f"{name}_ci_high"])]
            if not np.isfinite([low, high]).all() or low == high:  # degenerate or inf
                assert got[0] <= float(row[name]) <= got[1] or name == "ert", (name, row)
                continue
            np.testing.assert_allclose(got, [low, high], rtol=1e-9, err_msg=name)
        checked += 1
    assert checked == 3  # the sphere's three settings


def test_tests_csv_is_mann_whitney_with_holm_per_objective(folder):
    runs = read(folder / "runs.csv")
    tests = read(folder / "tests.csv")
    assert list(tests[0])[:6] == ["objective", "optimizer_a", "optimizer_b", "metric",
                                  "p_value", "p_holm"]  # fmt: skip
    labels = {"adam (learning_rate=0.05)", "adam (learning_rate=0.3)", "sgd"}
    assert {t["optimizer_a"] for t in tests} | {t["optimizer_b"] for t in tests} == labels
    # the sphere has f_opt: both metrics; the expression has none: final values only
    metrics = {(t["objective"], t["metric"]) for t in tests}
    assert ("sphere", "hitting_time") in metrics
    assert {m for o, m in metrics if o != "sphere"} == {"final_value"}

    def finals(objective, label):
        optimizer, _, rest = label.partition(" (")
        lr = rest.rstrip(")").partition("=")[2]
        return [
            float(r["final_value"])
            for r in runs
            if r["objective"] == objective
            and r["optimizer"] == optimizer
            and (not lr or float(r["hp_learning_rate"]) == float(lr))
        ]

    for objective in {t["objective"] for t in tests}:
        family = [t for t in tests if t["objective"] == objective]
        for t in family:
            if t["metric"] == "final_value":
                a, b = finals(objective, t["optimizer_a"]), finals(objective, t["optimizer_b"])
                expected = scipy_stats.mannwhitneyu(a, b, alternative="two-sided")
                assert float(t["p_value"]) == pytest.approx(expected.pvalue, rel=1e-10)
                assert float(t["u_statistic"]) == pytest.approx(expected.statistic)
        # Holm by hand: i-th smallest (from 0) of m times (m - i), running maximum, cap 1
        p = sorted(float(t["p_value"]) for t in family)
        m = len(p)
        adjusted = np.minimum(1, np.maximum.accumulate([(m - i) * v for i, v in enumerate(p)]))
        got = sorted(float(t["p_holm"]) for t in family)
        np.testing.assert_allclose(got, sorted(adjusted))


def test_tables_do_not_depend_on_the_order_of_the_runs(folder):
    with open(folder / "runs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]

    def as_columns(rows):
        return {k: [r[k] for r in rows] for k in rows[0]}

    def canonical(table):
        return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in table)

    for make in (comparisons.test_rows, comparisons.fixed_budget_rows):
        assert canonical(make(as_columns(rows))) == canonical(make(as_columns(shuffled)))


def test_fixed_budget_quantiles(folder):
    runs = read(folder / "runs.csv")
    table = read(folder / "fixed_budget.csv")
    assert {int(r["budget"]) for r in table} == {5, 30, 1000}
    assert {r["measure"] for r in table} == {"f - f_opt", "f"}
    for row in table:
        mine, _ = row_runs(runs, {k: row[k] for k in row if k.startswith("hp_")} | row)
        name = f"best_{'gap' if row['measure'] == 'f - f_opt' else 'f'}_at_{row['budget']}"
        values = column(mine, name)
        assert int(row["runs_with_value"]) == np.isfinite(values).sum()
        assert float(row["q50"]) == pytest.approx(np.median(values[np.isfinite(values)]))
        assert float(row["q10"]) <= float(row["q50"]) <= float(row["q90"])
    # more budget, never worse
    for r in runs:
        for kind in ("gap", "f"):
            if f"best_{kind}_at_5" in r and r[f"best_{kind}_at_5"] != "":
                best = [float(r[f"best_{kind}_at_{b}"]) for b in (5, 30, 1000)]
                assert best == sorted(best, reverse=True)


def test_areas_are_fractions(folder):
    for r in read(folder / "runs.csv"):
        if r["precision"] == "nan":
            assert r["ecdf_area"] == "nan" and r["aocc"] == "nan"
        else:
            assert 0 <= float(r["ecdf_area"]) <= 1 and 0 <= float(r["aocc"]) <= 1


# -------------------------------------------------------------------------------------
# Bad [output] keys: one line naming the key

BASE = """
[starts]
count = {count}
[run]
{budget}
[[objectives]]
name = "sphere"
[[optimizers]]
name = "sgd"
[output]
{output}
"""


@pytest.mark.parametrize(
    ("output", "count", "budget", "key", "message"),
    [
        ("confidence = 95", 5, "", "output.confidence", "did you mean 0.95"),
        ("confidence = 1.0", 5, "", "output.confidence", "between 0 and 1"),
        ("confidence = 0", 5, "", "output.confidence", "between 0 and 1"),
        ('confidence = "0.9"', 5, "", "output.confidence", "must be a number"),
        ("bootstrap_samples = 50", 5, "", "output.bootstrap_samples", "at least 200"),
        ("confidence = 0.99\nbootstrap_samples = 500", 5, "", "output.bootstrap_samples",
         "at least 1000"),
        ("bootstrap_samples = 2.5", 5, "", "output.bootstrap_samples", "must be an integer"),
        ("confidence = 0.9", 1, "", "output.confidence", "at least 2 runs per setting"),
        ("fixed_budgets = []", 5, "", "output.fixed_budgets", "is empty"),
        ("fixed_budgets = [0]", 5, "", "output.fixed_budgets[0]", "whole number"),
        ("fixed_budgets = [10, 2.5]", 5, "", "output.fixed_budgets[1]", "whole number"),
        ("fixed_budgets = [100, 10]", 5, "", "output.fixed_budgets[1]", "larger than"),
        ('fixed_budgets = "100"', 5, "", "output.fixed_budgets", "list of evaluation"),
        ("fixed_budgets = [10, 500]", 5, "budget = 200", "output.fixed_budgets[1]",
         "past run.budget"),
    ],
)  # fmt: skip
def test_bad_output_keys_name_the_key(output, count, budget, key, message):
    text = BASE.format(count=count, budget=budget or "steps = 10", output=output)
    with pytest.raises(ConfigValidationError) as err:
        parse_config(text)
    problems = err.value.problems
    assert len(problems) == 1, str(err.value)
    assert problems[0].path == key
    assert message in problems[0].message
    assert "\n" not in problems[0].message


def test_good_output_keys_are_read():
    config = parse_config(
        BASE.format(count=5, budget="budget = 200",
                    output="confidence = 0.8\nbootstrap_samples = 100\nfixed_budgets = [10, 200]")
    )  # fmt: skip
    assert config.output.confidence == 0.8
    assert config.output.bootstrap_samples == 100
    assert config.output.fixed_budgets == (10, 200)
    assert not math.isnan(config.output.confidence)


def test_report_shows_the_tests_fixed_budgets_and_profiles(folder):
    from jaxcalc.pipeline import build_report

    text = build_report(folder).read_text()
    for name in ("tests_matrix.png", "fixed_budget.png", "more_wild_profiles.png"):
        assert (folder / "figures" / name).stat().st_size > 10_000
        assert f"figures/{name}" in text
    # the summary line of each pair that differs, as tests.csv says
    tests = read(folder / "tests.csv")
    won = comparisons.wins(tests, "final_value", 0.1)
    for (a, b), (k, n) in won.items():
        assert (f"- {a} beats {b} on {k} of {n} objectives" in text) == (k > 0)
