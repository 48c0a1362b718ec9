"""Convergence under a budget: against evaluations a line search's curve stops at the
budget, and what it shows at a cost is the median of the runs' values at that cost;
against steps, each record's median is over every run, a run the budget stopped counted
at its last record within the budget.

Oracle: each run's value at a cost (or a record) is read here from its saved values and
costs per record, and its median over the runs taken with numpy.
"""

from __future__ import annotations

import numpy as np
from jaxcalc_testing import run_cli

CONFIG = """
name = "budget-axis"
seed = 0
dtype = "float64"

[starts]
count = 12

[run]
budget = 300
record_every = 1
target = 1e-8

[[objectives]]
name = "rosenbrock"
dim = 2

[[optimizers]]
name = "gd_armijo"

[[optimizers]]
name = "adam"
learning_rate = 0.05
"""


def _value_at(values: np.ndarray, costs: np.ndarray, cost: float) -> np.ndarray:
    """Each run's value at its last record costing at most ``cost``."""
    out = []
    for run_values, run_costs in zip(values, costs, strict=True):
        within = np.flatnonzero(run_costs <= cost)
        out.append(run_values[within[-1]])
    return np.array(out)


def _value_at_record(values: np.ndarray, costs: np.ndarray, record: int) -> np.ndarray:
    """Each run's value at ``record``, or at its last record within the budget if the
    budget stopped it before."""
    out = []
    for run_values, run_costs in zip(values, costs, strict=True):
        within = [j for j in range(record + 1) if run_costs[j] <= BUDGET]
        out.append(run_values[within[-1]])
    return np.array(out)


BUDGET = 300


def test_a_line_search_curve_stops_at_the_budget(tmp_path, capsys, monkeypatch):
    import jaxcalc.plotting as plotting

    lines, by_step = {}, {}
    real = plotting.save_figure

    def spy(fig, path, **options):
        if str(path).endswith("convergence_rosenbrock.png"):
            steps_axis, evals_axis = fig.axes[:2]
            lines.update({line.get_label(): line.get_xydata() for line in evals_axis.lines})
            by_step.update({line.get_label(): line.get_xydata() for line in steps_axis.lines})
        return real(fig, path, **options)

    monkeypatch.setattr(plotting, "save_figure", spy)
    config = tmp_path / "budget.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "run", str(config), "--out", str(out))
    assert code == 0, err

    part = np.load(out / "group_000.npz")  # gd_armijo
    costs = part["record_evaluations"]
    last = costs[:, -1]
    # the case at hand: runs spend different amounts per step, and go past the budget
    assert np.unique(costs[:, 10]).size > 1 and (last > 300).any()
    assert set(lines) == {"gd_armijo", "adam"}
    for label, xy in lines.items():
        assert xy[:, 0].max() <= 300, label
    xy = lines["gd_armijo"]
    for cost, shown in xy[-3:]:
        expected = np.median(_value_at(part["values"], costs, cost) - part["f_opt"])
        np.testing.assert_allclose(shown, expected, rtol=1e-12)

    # against steps: the last records drawn are where the dearest runs are already stopped
    steps = part["recorded_steps"]
    drawn = by_step["gd_armijo"]
    drawn = drawn[np.isfinite(drawn[:, 1])]
    stopped = (costs[:, int(drawn[-1, 0])] > BUDGET).sum()
    assert stopped > 0  # the case at hand: some runs are past the budget there
    for step, shown in drawn[-3:]:
        record = int(np.flatnonzero(steps == step)[0])
        expected = np.median(_value_at_record(part["values"], costs, record) - part["f_opt"])
        np.testing.assert_allclose(shown, expected, rtol=1e-12)
