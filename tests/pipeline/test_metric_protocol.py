"""A metric defined here, registered through the protocol, appears in a TOML experiment's
summary.csv without editing jaxcalc.

Oracle: the same number computed from runs.csv (statuses and event steps per run) by hand.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import (
    ConfigValidationError,
    SettingRuns,
    parse_config,
    register_metric,
    run_experiment,
)


def median_converged_steps(runs: SettingRuns) -> float:
    """The median number of steps of the runs that converged (NaN when none did)."""
    steps = runs.event_step[runs.status == "converged"]
    return float(np.median(steps)) if steps.size else float("nan")


register_metric("median_converged_steps", median_converged_steps)

CONFIG = """
name = "metric_protocol"
seed = 1

[starts]
count = 6

[run]
steps = 300
record_every = 10
gtol = 1e-3

[[objectives]]
expression = "x**2 + 3*y**2"

[[objectives]]
name = "booth"

[[optimizers]]
name = "sgd"
learning_rate = [0.02, 0.1]

[output]
metrics = ["median_converged_steps"]
"""


def read(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_registered_metric_is_a_summary_column(tmp_path):
    config = parse_config(CONFIG)
    out = run_experiment(config, tmp_path / "out", display="off", report=False)
    summary = read(out / "summary.csv")
    runs = read(out / "runs.csv")
    assert summary and all("median_converged_steps" in row for row in summary)
    # the extra column follows the built-in ones, before the status counts
    columns = list(summary[0])
    assert columns.index("median_converged_steps") > columns.index("ert")
    assert all(
        columns.index("median_converged_steps") < columns.index(c)
        for c in columns
        if c.startswith("status_")
    )
    converged_somewhere = False
    for row in summary:
        mine = [
            r
            for r in runs
            if (r["objective"], r["optimizer"], r["hp_learning_rate"])
            == (row["objective"], row["optimizer"], row["hp_learning_rate"])
        ]
        assert len(mine) == int(row["runs"]) == 6
        steps = [int(r["event_step"]) for r in mine if r["status"] == "converged"]
        got = float(row["median_converged_steps"])
        if steps:
            converged_somewhere = True
            assert got == pytest.approx(float(np.median(steps)))
        else:
            assert math.isnan(got)
    assert converged_somewhere  # the check above compared real numbers


def test_without_the_key_summary_has_no_extra_column(tmp_path):
    text = CONFIG.replace('metrics = ["median_converged_steps"]', "")
    out = run_experiment(parse_config(text), tmp_path / "out", display="off", report=False)
    assert "median_converged_steps" not in read(out / "summary.csv")[0]


def test_an_unknown_metric_is_a_config_problem_with_a_suggestion():
    text = CONFIG.replace('"median_converged_steps"', '"median_converged_step"')
    with pytest.raises(ConfigValidationError) as info:
        parse_config(text)
    (problem,) = info.value.problems
    assert problem.path == "output.metrics[0]"
    assert "did you mean 'median_converged_steps'?" in problem.message


def test_a_builtin_column_cannot_be_registered_again():
    with pytest.raises(ConfigError, match="built-in"):
        register_metric("ert", median_converged_steps)
