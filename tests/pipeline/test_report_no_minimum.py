"""report.md's table of objectives without a known minimum: the final training loss, the
held-out loss and the held-out accuracy as median [q25, q75] over the runs, checked against
numpy's quartiles of the saved per-run values and against sklearn's log loss and accuracy
of the saved final parameters on the held-out rows."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402

from jaxcalc.pipeline.config import parse_config  # noqa: E402
from jaxcalc.pipeline.report.markdown import report_text  # noqa: E402
from jaxcalc.pipeline.run import run_experiment  # noqa: E402

CONFIG = """
name = "mixed"
seed = 3
[starts]
count = 5
[run]
steps = 20
record_every = 10
[[objectives]]
name = "logistic_regression"
dataset = "breast_cancer"
batch_size = 64
l2 = 1e-4
[[objectives]]
name = "booth"
[[optimizers]]
name = "sgd"
learning_rate = [0.01, 0.1]
[[optimizers]]
name = "adam"
learning_rate = 0.01
"""
DATA = "logistic_regression_breast_cancer"
KNOWN_HEADER = (
    "| objective | optimizer | learning_rate | runs | success | median f - f_opt "
    "| median evals to target | ERT | diverged |"
)
NO_MINIMUM_HEADER = (
    "| objective | optimizer | learning_rate | runs | final training loss "
    "| final held-out loss | final held-out accuracy | diverged |"
)
_CELL = re.compile(r"(\S+) \[(\S+), (\S+)\]")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    config = parse_config(CONFIG)
    out = run_experiment(config, tmp_path_factory.mktemp("mixed") / "out", progress=lambda s: None)
    return config, out


def _tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables of a text, as rows of cells (header first, rule left out)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                current.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def _quartiles(cell: str) -> tuple[float, float, float]:
    """(median, q25, q75) of a "median [q25, q75]" cell."""
    match = _CELL.fullmatch(cell)
    assert match, cell
    return tuple(float(v) for v in match.groups())


def _setting(row: dict[str, str]) -> tuple[str, str, float]:
    return row["objective"], row["optimizer"], float(row["hp_learning_rate"])


def test_objectives_without_f_opt_get_a_table_of_their_own(mixed):
    _, out = mixed
    text = (out / "report.md").read_text()
    lines = text.splitlines()
    assert KNOWN_HEADER in lines and NO_MINIMUM_HEADER in lines
    known, unknown = _tables(text)[:2]
    assert [r[0] for r in known[1:]] == ["booth"] * 3  # f_opt rows only, as before
    assert [r[0] for r in unknown[1:]] == [DATA] * 3
    assert "**Objectives without a known minimum**" in text
    assert (out / "report.html").read_text().count('table class="sortable"') == 2


def test_the_cells_are_the_quartiles_of_the_saved_runs(mixed):
    _, out = mixed
    with open(out / "runs.csv") as fh:
        runs = [r for r in csv.DictReader(fh) if r["objective"] == DATA]
    by_setting: dict[tuple, dict[str, list[float]]] = {}
    for row in runs:
        columns = by_setting.setdefault(_setting(row), {})
        for name in ("final_value", "final_heldout_loss", "final_heldout_accuracy"):
            columns.setdefault(name, []).append(float(row[name]))
    table = _tables((out / "report.md").read_text())[1]
    header = table[0]
    assert len(table) - 1 == len(by_setting) == 3
    for cells in table[1:]:
        values = by_setting[(cells[0], cells[1], float(cells[2]))]
        assert int(cells[header.index("runs")]) == 5
        for name, title in (
            ("final_value", "final training loss"),
            ("final_heldout_loss", "final held-out loss"),
            ("final_heldout_accuracy", "final held-out accuracy"),
        ):
            q25, median, q75 = np.percentile(values[name], [25, 50, 75])
            shown = _quartiles(cells[header.index(title)])
            # 3 significant digits
            np.testing.assert_allclose(shown, (median, q25, q75), rtol=5e-3, err_msg=title)


def test_the_final_numbers_are_those_of_the_final_parameters(mixed):
    """runs.csv's final training loss, held-out loss and held-out accuracy (the numbers the
    table's quartiles are taken from) are sklearn's log loss (plus the penalty) and
    accuracy at each run's saved final parameters."""
    config, out = mixed
    f = next(o.objective for o in config.objectives if o.label == DATA)
    assert f.template.paths == ("x0['b']", "x0['w']")  # a flat point is [b, w]
    meta = json.loads((out / "metadata.json").read_text())
    with open(out / "runs.csv") as fh:
        runs = [r for r in csv.DictReader(fh) if r["objective"] == DATA]
    checked = 0
    for group in meta["groups"]:
        if group["objective"] != DATA:
            continue
        params = np.load(out / group["file"])["params"]
        params = params.reshape(-1, *params.shape[-3:])  # (settings, runs, records, dim)
        mine = [r for r in runs if r["optimizer"] == group["optimizer"]]
        for row, (s, start) in zip(mine, np.ndindex(params.shape[:2]), strict=True):
            assert int(row["start"]) == start
            b, w = np.float64(params[s, start, -1, 0]), params[s, start, -1, 1:].astype(float)
            train = log_loss(f.y_train, 1 / (1 + np.exp(-(f.x_train @ w + b))), labels=[0, 1])
            z = f.x_heldout @ w + b
            heldout = log_loss(f.y_heldout, 1 / (1 + np.exp(-z)), labels=[0, 1])
            accuracy = accuracy_score(f.y_heldout, (z > 0).astype(int))
            expected = train + 0.5e-4 * np.sum(w**2)
            assert float(row["final_value"]) == pytest.approx(expected, rel=1e-5)
            assert float(row["final_heldout_loss"]) == pytest.approx(heldout, rel=1e-5)
            assert float(row["final_heldout_accuracy"]) == pytest.approx(accuracy, abs=1e-6)
            checked += 1
    assert checked == 15


# a line search's steps cost more than its cheapest step, by which the budget sets the
# steps: the budget cuts its runs before their last record
BUDGET_CONFIG = """
seed = 3
[starts]
count = 3
[run]
budget = 40
record_every = 1
[[objectives]]
name = "logistic_regression"
dataset = "breast_cancer"
batch_size = 64
l2 = 1e-4
[[optimizers]]
name = "gd_armijo"
"""


def test_with_a_budget_the_held_out_numbers_are_at_the_final_value(tmp_path):
    """A budget cuts each run at its last record within it: the held-out loss and
    accuracy are read there too, as the final training loss is."""
    config = parse_config(BUDGET_CONFIG)
    out = run_experiment(config, tmp_path / "out", progress=lambda s: None, report=False)
    f = config.objectives[0].objective
    part = np.load(out / "group_000.npz")
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    assert len(runs) == 3
    for row, costs, params, values in zip(
        runs, part["record_evaluations"], part["params"], part["values"], strict=True
    ):
        last = np.flatnonzero(costs <= float(part["budget"]))[-1]
        assert last < len(costs) - 1  # the budget cut the run
        b, w = np.float64(params[last, 0]), params[last, 1:].astype(float)
        z = f.x_heldout @ w + b
        heldout = log_loss(f.y_heldout, 1 / (1 + np.exp(-z)), labels=[0, 1])
        assert float(row["final_value"]) == pytest.approx(float(values[last]), rel=1e-6)
        assert float(row["final_heldout_loss"]) == pytest.approx(heldout, rel=1e-5)
        accuracy = accuracy_score(f.y_heldout, (z > 0).astype(int))
        assert float(row["final_heldout_accuracy"]) == pytest.approx(accuracy, abs=1e-6)


def _row(objective: str, **columns) -> dict[str, str]:
    row = {"objective": objective, "optimizer": "sgd", "runs": "4", "status_max_steps": "4"}
    row.update({k: str(v) for k, v in columns.items()})
    return row


META = {
    "name": "t",
    "status": "complete",
    "config_hash": "0" * 12,
    "dtype": "float64",
    "started": "-",
    "versions": {"jaxcalc": "0", "jax": "0"},
    "platform": {"backend": "cpu"},
    "config": {"run": {"target": 1e-6}},
    "groups": [],
}
QUARTILES = {"final_value_q25": 1.0, "final_value_median": 2.0, "final_value_q75": 3.0}
HELDOUT = {
    "q25_final_heldout_loss": 0.25,
    "median_final_heldout_loss": 0.5,
    "q75_final_heldout_loss": 0.75,
}


def test_only_data_objectives_show_no_table_of_success_rates():
    text = report_text(META, [_row("lr", **QUARTILES, **HELDOUT)], [], [], 1e-6, (), {"lr"})
    assert "median f - f_opt" not in text and "No objective has a known minimum" in text
    (table,) = _tables(text)
    assert table[0] == ["objective", "optimizer", "runs", "final training loss",
                        "final held-out loss", "diverged"]  # fmt: skip
    assert table[1] == ["lr", "sgd", "4", "2 [1, 3]", "0.5 [0.25, 0.75]", "0"]


def test_a_test_function_without_f_opt_beside_data_says_which_f():
    rows = [
        _row("lr", **QUARTILES, **HELDOUT),
        _row("expr", **QUARTILES, status_diverged_nonfinite=1),
    ]
    text = report_text(META, rows, [], [], 1e-6, (), {"lr", "expr"})
    (table,) = _tables(text)
    assert table[0][3] == "final f (training loss on data)"
    assert table[2] == ["expr", "sgd", "4", "2 [1, 3]", "-", "1"]
    alone = report_text(META, [rows[1]], [], [], 1e-6, (), {"expr"})
    assert _tables(alone)[0][0][3] == "final f" and "held-out" not in alone


def test_objectives_with_f_opt_keep_their_table():
    row = _row("booth", success_rate=0.5, precision_median=1e-3, ert=12.0)
    text = report_text(META, [row], [], [], 1e-6)
    (table,) = _tables(text)
    assert "| " + " | ".join(table[0]) + " |" == KNOWN_HEADER.replace(" learning_rate |", "")
    assert "without a known minimum" not in text
