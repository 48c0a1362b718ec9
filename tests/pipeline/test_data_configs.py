"""Objectives from data in TOML configs: the keys, the batch-size sweep, the held-out
columns of the runs table, and every problem named with its key."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.metrics import log_loss  # noqa: E402

from jaxcalc.objectives import data  # noqa: E402
from jaxcalc.pipeline.config import ConfigValidationError, parse_config  # noqa: E402
from jaxcalc.pipeline.config.validate_objectives import DATA_MODELS  # noqa: E402
from jaxcalc.pipeline.run import run_experiment  # noqa: E402

CONFIG = """
seed = 3
[starts]
count = 4
[run]
steps = 20
record_every = 10
[[objectives]]
name = "logistic_regression"
dataset = "breast_cancer"
batch_size = [32, 128]
l2 = 1e-4
[[optimizers]]
name = "sgd"
learning_rate = 0.1
"""


def test_the_config_knows_every_model():
    assert set(DATA_MODELS) == set(data.MODELS)


def test_a_batch_size_list_is_one_objective_per_size_split_by_the_seed():
    config = parse_config(CONFIG)
    labels = [o.label for o in config.objectives]
    assert labels == [
        "logistic_regression_breast_cancer_b32",
        "logistic_regression_breast_cancer_b128",
    ]
    first = config.objectives[0].objective
    assert first.minibatch.batch_size == 32 and first.l2 == 1e-4 and first.dim == 31
    again = data.data_objective("logistic_regression", "breast_cancer", split_seed=3)
    np.testing.assert_array_equal(first.x_train, again.x_train)


def test_held_out_metrics_reach_the_runs_table(tmp_path):
    config = parse_config(CONFIG.replace("[32, 128]", "64"))
    out = run_experiment(config, tmp_path / "out", progress=lambda s: None, report=False)
    with open(out / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    f = config.objectives[0].objective
    for row in rows:
        assert 0.8 < float(row["final_heldout_accuracy"]) <= 1.0
        assert float(row["final_heldout_loss"]) > 0
        assert float(row["final_train_accuracy"]) > 0.8
    # the recorded value is the full training loss: at the last record of run 0 (from the
    # saved parameters, flattened in key order: the bias "b" then the weights "w") it is
    # sklearn's log loss on the training rows plus the penalty on the weights only
    saved = np.load(out / "group_000.npz")
    flat = saved["params"][0, -1]
    b, w = flat[0], flat[1:]
    assert np.abs(w).max() > 1e-3  # trained away from the zero start
    z = f.x_train @ w + b
    expected = log_loss(f.y_train, 1 / (1 + np.exp(-z)), labels=[0, 1])
    expected += 0.5e-4 * np.sum(w**2)
    assert saved["values"][0, -1] == pytest.approx(expected, rel=1e-5)
    assert saved["recorded_heldout_accuracy"].shape == (4, 3)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('dataset = "breast_cancer"', 'dataset = "mnist"', "dataset: unknown dataset 'mnist'"),
        ("batch_size = [32, 128]", "batch_size = 1000", "batch_size: 1000 is larger"),
        ("batch_size = [32, 128]", "batch_size = [32, 0]", "batch_size: must be a whole"),
        ('dataset = "breast_cancer"', 'dataset = "diabetes"', "needs binary labels"),
        ("l2 = 1e-4", 'l2 = 1e-4\ninit = "xavier"', "init: must be one of"),
    ],
)
def test_bad_keys_are_named(old, new, message):
    with pytest.raises(ConfigValidationError) as err:
        parse_config(CONFIG.replace(old, new))
    key, _, text = message.partition(": ")
    assert text in str(err.value) or message in str(err.value)
    if text:
        assert key in str(err.value)


def test_epochs_set_each_objectives_steps_from_its_batch_size():
    from jaxcalc.optimizers import get_optimizer
    from jaxcalc.pipeline import budget

    text = CONFIG.replace("steps = 20\n", "").replace("l2 = 1e-4", "l2 = 1e-4\nepochs = 2")
    config = parse_config(text)
    # 455 training rows: 14 batches of 32 and 3 of 128 per epoch, by hand
    assert [o.fixed_steps() for o in config.objectives] == [28, 6]
    assert config.to_dict()["objectives"][0]["epochs"] == 2
    assert "epochs" not in parse_config(CONFIG).to_dict()["objectives"][0]  # hash kept
    # a group's arguments: the objective's steps, record_every 10 clipped to them
    kwargs = budget.optimize_kwargs(config.run, get_optimizer("sgd"), 31, steps=6)
    assert (kwargs["steps"], kwargs["record_every"]) == (6, 6)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("l2 = 1e-4", "l2 = 1e-4\nepochs = 2", "objectives[0].epochs: give either epochs"),
        ("l2 = 1e-4", "l2 = 1e-4\nepochs = 0", "objectives[0].epochs: must be >= 1"),
        ("steps = 20", "budget = 100", "objectives[0].epochs: give either epochs here or run.b"),
    ],
)
def test_epochs_beside_steps_or_a_budget_is_refused(old, new, message):
    text = CONFIG.replace(old, new)
    if "epochs" not in text:
        text = text.replace("l2 = 1e-4", "l2 = 1e-4\nepochs = 3")
    key, _, says = message.partition(": ")
    with pytest.raises(ConfigValidationError) as err:
        parse_config(text)
    assert key in str(err.value) and says in str(err.value)


def test_epochs_on_an_objective_not_from_data_is_refused():
    text = CONFIG + '[[objectives]]\nname = "rosenbrock"\nepochs = 5\n'
    with pytest.raises(ConfigValidationError) as err:
        parse_config(text.replace("steps = 20\n", ""))
    assert "objectives[1].epochs  only for an objective from data" in str(err.value)


SCHEDULED = """
seed = 1
[starts]
count = 3
[run]
record_every = 4
[[objectives]]
name = "softmax_regression"
dataset = "iris"
batch_size = 30
epochs = 3
[[optimizers]]
name = "sgd"
learning_rate = {schedule = "cosine_decay", init_value = [0.5, 0.1], decay_steps = 12}
[[optimizers]]
name = "adam"
learning_rate = 0.05
"""


@pytest.fixture(scope="module")
def scheduled_run(tmp_path_factory):
    """One small run of a data objective with a scheduled optimizer and a constant one,
    its report drawn."""
    config = parse_config(SCHEDULED)
    out = tmp_path_factory.mktemp("scheduled") / "out"
    return config, run_experiment(config, out, progress=lambda s: None)


def test_schedule_values_are_saved_per_setting_and_record_as_optax_gives_them(scheduled_run):
    import optax

    config, out = scheduled_run
    steps = config.objectives[0].fixed_steps()
    assert steps == 12  # 120 training rows of iris, 4 batches of 30, 3 epochs
    with open(out / "schedules.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["optimizer"] for r in rows} == {"sgd"}  # adam's rate is a constant
    assert len(rows) == 2 * 3  # 2 settings x records at steps 4, 8, 12
    for row in rows:
        init = float(row["hp_learning_rate.init_value"])
        step = int(row["step"])
        # the value used by the last step before the record: optax's count step - 1
        expected = float(optax.cosine_decay_schedule(init, 12)(step - 1))
        assert row["hyperparameter"] == "learning_rate"
        assert float(row["value"]) == pytest.approx(expected, rel=1e-6)
    part = np.load(out / "group_000.npz")
    assert part["schedule_learning_rate"].shape == (2, 4)
    assert np.isnan(part["schedule_learning_rate"][:, 0]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["groups"][0]["schedules"] == ["learning_rate"]
    # what one evaluation is: a minibatch of 30 of iris's 120 training rows
    assert manifest["groups"][1]["evaluation_unit"] == "minibatch"
    adam = manifest["groups"][1]
    assert (adam["minibatch_rows"], adam["training_rows"]) == (30, 120)
    with open(out / "runs.csv") as fh:
        runs = list(csv.DictReader(fh))
    # adam: one minibatch for the start, one per step
    assert {r["function_evaluations"] for r in runs if r["optimizer"] == "adam"} == {"13"}


def test_the_report_draws_the_schedules_and_the_held_out_metrics(scheduled_run):
    _, out = scheduled_run
    report = (out / "report.md").read_text()
    label = "softmax_regression_iris"
    assert f"figures/heldout_{label}.png" in report
    assert "figures/schedules.png" in report
    assert (out / "figures" / f"heldout_{label}.png").stat().st_size > 10_000
    assert (out / "figures" / "schedules.png").stat().st_size > 10_000
