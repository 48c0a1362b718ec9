"""Evaluation budgets: `[run] budget`, `budget_per_dim` and `gradient_cost`.

Oracles: the cost convention written out by hand (f + c g + c D h), the population sizes of
the methods' references (CMA-ES: 4 + floor(3 ln D), Hansen 2016; PSO 20, GA 40 by default),
and the engine's own evaluation counts, which the budget-cut results must never exceed.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxcalc.optimizers import get_optimizer
from jaxcalc.pipeline import ConfigValidationError, metrics, parse_config
from jaxcalc.pipeline.results import read_npz

BASE = """
dtype = "float64"
[starts]
count = 4
[run]
{run}
[[objectives]]
name = "sphere"
dim = 2
[[optimizers]]
name = "adam"
"""


def config(run: str):
    return parse_config(BASE.format(run=run))


def problems(run: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigValidationError) as info:
        config(run)
    return [(p.path, p.message) for p in info.value.problems]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# -- config -----------------------------------------------------------------------------


def test_budget_keys_parse():
    run = config('budget = 300\ngradient_cost = "dim"').run
    assert run.budget == 300 and run.budget_per_dim is None and run.has_budget
    assert run.budget_for(5) == 300
    assert run.gradient_cost == "dim" and run.gradient_cost_for(5) == 5.0
    run = config("budget_per_dim = 100").run
    assert run.budget_for(2) == 200 and run.budget_for(5) == 500
    assert run.gradient_cost_for(5) == 1.0


def test_no_budget_keeps_the_old_normalised_config():
    c = config("steps = 10")
    assert not c.run.has_budget
    assert not {"budget", "budget_per_dim", "gradient_cost"} & set(c.to_dict()["run"])
    b = config("budget = 10").to_dict()["run"]
    assert b["budget"] == 10 and b["gradient_cost"] == 1.0 and b["budget_per_dim"] is None


def test_budget_changes_the_hash():
    assert config("budget = 10").hash() != config("budget = 11").hash()
    assert config("budget = 10").hash() != config("budget = 10\ngradient_cost = 0").hash()
    assert config("budget = 10\ngradient_cost = 1").hash() == config("budget = 10").hash()


@pytest.mark.parametrize(
    ("run", "path", "fragment"),
    [
        ("steps = 10\nbudget = 100", "run.budget", "give one of steps, budget"),
        ("budget = 100\nbudget_per_dim = 10", "run.budget_per_dim", "give one of steps"),
        ("budget = 0", "run.budget", "must be >= 1"),
        ("budget = 1.5", "run.budget", "must be an integer"),
        ('budget = "100"', "run.budget", "remove the quotes"),
        ("budget_per_dim = -1", "run.budget_per_dim", "must be >= 1"),
        ("gradient_cost = 1", "run.gradient_cost", "only with a budget"),
        ("budget = 9\ngradient_cost = -1", "run.gradient_cost", "must be >= 0"),
        ('budget = 9\ngradient_cost = "D"', "run.gradient_cost", 'or "dim"'),
        ("budget = 9\ngradient_cost = nan", "run.gradient_cost", "finite"),
        ("budget = 9\ngradient_cost = true", "run.gradient_cost", "must be a number"),
        ("budgte = 9", "run.budgte", "did you mean 'budget'"),
    ],
)
def test_budget_errors_name_the_key(run, path, fragment):
    found = problems(run)
    assert any(p == path and fragment in m for p, m in found), found


def test_budget_override_from_the_command_line_syntax():
    c = parse_config(BASE.format(run=""), overrides=["run.budget_per_dim=50"])
    assert c.run.budget_per_dim == 50


def test_record_every_may_exceed_a_budgets_steps():
    assert config("budget = 10\nrecord_every = 50").run.record_every == 50


# -- the cost convention ------------------------------------------------------------------


def test_evaluation_cost_by_hand():
    assert metrics.evaluation_cost(10, 3, 2, 5, 1.0) == 10 + 3 + 10
    assert metrics.evaluation_cost(10, 3, 2, 5, 5.0) == 10 + 15 + 50
    assert metrics.evaluation_cost(10, 3, 2, 5, 0.0) == 10


@pytest.mark.parametrize(
    ("name", "dim", "c", "start", "step"),
    [
        ("cma_es", 2, 1.0, 1.0, 4 + math.floor(3 * math.log(2))),
        ("cma_es", 5, 1.0, 1.0, 4 + math.floor(3 * math.log(5))),
        ("pso", 5, 5.0, 1.0, 20.0),
        ("ga", 2, 1.0, 1.0, 40.0),
        ("simulated_annealing", 3, 1.0, 1.0, 1.0),
        ("adam", 5, 1.0, 2.0, 2.0),
        ("adam", 5, 5.0, 6.0, 6.0),
        ("bfgs", 2, 0.0, 1.0, 1.0),
        ("newton", 4, 1.0, 2.0, 1 + 1 + 4),
        ("newton", 4, 4.0, 5.0, 1 + 4 + 16),
    ],
)
def test_start_and_minimum_step_costs(name, dim, c, start, step):
    opt = get_optimizer(name)
    assert metrics.start_cost(opt, c) == start
    assert metrics.minimum_step_cost(opt, dim, c) == step


def test_population_size_option_sets_the_step_cost():
    assert (
        metrics.minimum_step_cost(get_optimizer("pso").with_options(population_size=7), 2, 1) == 7
    )
    cma = get_optimizer("cma_es").with_options(population_size=12)
    assert metrics.minimum_step_cost(cma, 2, 1) == 12


def test_steps_for_spend_the_budget_at_the_cheapest_step():
    run = config("budget_per_dim = 50").run  # 100 evaluations in 2-D
    assert run.steps_for(get_optimizer("cma_es"), 2) == (100 - 1) // 6
    assert run.steps_for(get_optimizer("adam"), 2) == (100 - 2) // 2
    assert run.steps_for(get_optimizer("newton"), 2) == (100 - 2) // 4
    assert run.steps_for(get_optimizer("ga"), 2) == 2
    assert config("budget = 3").run.steps_for(get_optimizer("ga"), 2) == 1  # at least one
    assert config("steps = 17").run.steps_for(get_optimizer("ga"), 2) == 17


def test_record_costs_apportion_linearly_and_stop_with_the_run():
    costs = metrics.record_costs(
        np.array([1.0, 2.0]), np.array([13.0, 8.0]), np.array([4, 2]), np.arange(0, 5)
    )
    np.testing.assert_allclose(costs, [[1, 4, 7, 10, 13], [2, 5, 8, 8, 8]])


# -- end to end ---------------------------------------------------------------------------

RUN = """
name = "budget-e2e"
dtype = "float64"
[starts]
count = 4
[run]
budget_per_dim = 40
target = 1e-8
[[objectives]]
name = "sphere"
dim = 2
[[objectives]]
name = "sphere"
dim = 3
[[optimizers]]
name = "cma_es"
[[optimizers]]
name = "gd_armijo"
"""


@pytest.fixture(scope="module")
def budget_run(tmp_path_factory):
    from jaxcalc.pipeline import run_experiment

    saved = jax.config.jax_enable_x64
    out = tmp_path_factory.mktemp("budget") / "run"
    try:
        jax.config.update("jax_enable_x64", True)
        run_experiment(parse_config(RUN), out, display="off")
    finally:
        jax.config.update("jax_enable_x64", saved)
    return out


def test_runs_stay_within_the_budget(budget_run):
    summary = rows(budget_run / "summary.csv")
    assert [r["objective"] for r in summary] == ["sphere_d2"] * 2 + ["sphere_d3"] * 2
    for row in summary:
        dim = 2 if row["objective"].endswith("d2") else 3
        assert int(row["budget"]) == 40 * dim
        if row["optimizer"] == "cma_es":
            assert int(row["steps"]) == (40 * dim - 1) // (4 + math.floor(3 * math.log(dim)))
            assert float(row["evaluations_per_step"]) == 4 + math.floor(3 * math.log(dim))
    for run in rows(budget_run / "runs.csv"):
        budget = 80 if run["objective"] == "sphere_d2" else 120
        assert float(run["evaluations"]) <= budget
        assert int(run["evaluations_to_target"]) <= budget
        cost = int(run["function_evaluations"]) + int(run["gradient_evaluations"])
        assert float(run["evaluations"]) == min(cost, budget)
        if cost > budget:
            assert run["status"] == "budget_exhausted"


def test_a_cut_run_reports_its_value_at_the_budget(budget_run):
    meta = json.loads((budget_run / "metadata.json").read_text())
    for group in meta["groups"]:
        arrays = read_npz(budget_run / group["file"])
        costs = arrays["record_evaluations"]
        assert costs.shape == arrays["values"].shape
        assert np.all(np.diff(costs, axis=-1) >= 0)
        assert float(arrays["budget"]) == group["budget"]
        assert set(group["status_counts"]) <= {"budget_exhausted", "converged", "stalled"}
        assert group["family"] == "classic"


def test_ert_counts_unsuccessful_runs_at_the_budget(budget_run):
    per_run = rows(budget_run / "runs.csv")
    for row in rows(budget_run / "summary.csv"):
        mine = [r for r in per_run if (r["objective"], r["optimizer"]) == (
            row["objective"], row["optimizer"])]  # fmt: skip
        hits = [int(r["evaluations_to_target"]) for r in mine]
        spent = sum(
            h if h >= 0 else float(r["evaluations"]) for h, r in zip(hits, mine, strict=True)
        )
        successes = sum(h >= 0 for h in hits)
        expected = spent / successes if successes else math.inf
        assert float(row["ert"]) == pytest.approx(expected)


def test_report_draws_ecdfs_against_evaluations(budget_run):
    figures = {p.name for p in (budget_run / "figures").iterdir()}
    assert {"ecdf.png", "ecdf_gradient_cost.png", "success_rates.png"} <= figures
    report = (budget_run / "report.md").read_text()
    assert "Evaluation budget: 40 x dimension per run" in report
    assert "figures/ecdf_gradient_cost.png" in report
