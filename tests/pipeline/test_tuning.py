"""``[tuning]``: search on tuning seeds and instances, then compare on fresh ones.

Oracles: gradient descent on ``x**2 + 10 y**2`` (curvatures mu = 2 and L = 20), whose
per-step contraction ``max(|1 - 2 lr|, |1 - 20 lr|)`` is smallest at ``lr = 2/(L + mu)``;
criterion values worked by hand on small arrays; heavy-ball iterates from a NumPy loop;
scipy's own Sobol points; and the start points read back from both stages' files.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import jax
import numpy as np
import pytest
from jaxcalc_testing import run_cli

import jaxcalc
from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import parse_config, run_experiment
from jaxcalc.pipeline.tuning import criterion_value, tuning_stage
from jaxcalc.pipeline.tuning_space import Tabulated, sample_settings

MU, L = 2.0, 20.0
BEST = 2.0 / (L + MU)
GRID = [0.02, 0.05, BEST, 0.098]

CONFIG = f"""
name = "tuned"
seed = 0
dtype = "float64"

[starts]
count = 3

[run]
steps = 60
record_every = 10
target = 1e-6

[[objectives]]
expression = "x**2 + 10*y**2"
label = "quad"
x_opt = [0.0, 0.0]
f_opt = 0.0

[[optimizers]]
name = "gd"

[tuning]
method = "grid"
budget = 10000
seeds = [101, 102]
criterion = "median_final_gap"

[tuning.space.gd]
learning_rate = {GRID}
"""


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned") / "out"
    previous = jax.config.jax_enable_x64
    try:
        config = parse_config(CONFIG)
        jaxcalc.pipeline.apply_dtype(config)
        run_experiment(config, out, display="off")
    finally:
        jax.config.update("jax_enable_x64", previous)
    return out


def test_grid_chooses_the_learning_rate_of_fastest_contraction(tuned):
    table = rows(tuned / "tuning.csv")
    assert [float(r["hp_learning_rate"]) for r in table] == pytest.approx(GRID)
    # worked by hand: the contraction per step of each learning rate
    contraction = [max(abs(1 - MU * lr), abs(1 - L * lr)) for lr in GRID]
    best = GRID[int(np.argmin(contraction))]
    chosen = [r for r in table if r["chosen"] == "True"]
    assert len(chosen) == 1 and float(chosen[0]["hp_learning_rate"]) == pytest.approx(best)
    assert best == pytest.approx(BEST)
    # the criterion orders the settings as their contractions do
    values = [float(r["value"]) for r in table]
    assert np.argsort(values).tolist() == np.argsort(contraction).tolist()
    # 2 seeds x 3 starts per setting; gd spends f and g at the start and at each step
    assert all(int(r["runs"]) == 6 for r in table)
    assert all(float(r["evaluations"]) == 6 * (2 + 2 * 60) for r in table)


def test_comparison_runs_the_chosen_setting_on_fresh_starts(tuned):
    meta = json.loads((tuned / "metadata.json").read_text())
    stage = json.loads((tuned / "tuning" / "metadata.json").read_text())
    assert stage["config"]["starts"]["seeds"] == [101, 102]
    assert meta["config"]["seed"] not in stage["config"]["starts"]["seeds"]
    assert meta["config"]["tuning"]["chosen"] == {"gd": {"learning_rate": BEST}}
    assert meta["config"]["optimizers"][0]["hyperparameters"] == {"learning_rate": BEST}
    summary = rows(tuned / "summary.csv")
    assert float(summary[0]["hp_learning_rate"]) == pytest.approx(BEST)
    # the start points of the two stages (first record of every path) share none
    compare = np.load(tuned / "group_000.npz")["params"][..., 0, :].reshape(-1, 2)
    tuning = np.load(tuned / "tuning" / "group_000.npz")["params"][..., 0, :].reshape(-1, 2)
    assert compare.shape == (3, 2) and tuning.shape == (len(GRID) * 6, 2)
    assert not any(np.any(np.all(np.isclose(tuning, p), axis=1)) for p in compare)


def test_report_has_a_tuning_section(tuned):
    text = (tuned / "report.md").read_text()
    section = text[text.index("## Tuning") : text.index("## Objectives")]
    assert "| gd | learning_rate in {0.02, 0.05, 0.0909, 0.098} | 4 | learning_rate=0.0909" in (
        section
    )
    assert (tuned / "figures" / "tuning.png").stat().st_size > 0


def test_criteria_by_hand():
    precision = np.array([3.0, np.nan, 1.0, 2.0])
    # a non-finite gap counts as infinite: median of [1, 2, 3, inf] is 2.5
    assert criterion_value("median_final_gap", precision, np.zeros(4), np.zeros(4)) == 2.5
    to_target = np.array([10.0, -1.0, 30.0])
    spent = np.array([10.0, 50.0, 30.0])
    assert criterion_value("success_rate", precision[:3], to_target, spent) == pytest.approx(2 / 3)
    # ERT: (10 + 50 + 30) evaluations over 2 successes
    assert criterion_value("ert", precision[:3], to_target, spent) == 45.0
    assert criterion_value("ert", precision[:1], np.array([-1.0]), np.array([7.0])) == math.inf


def test_sobol_and_random_points():
    from scipy.stats import qmc

    from jaxcalc.pipeline.config.schema import Range

    space = {"learning_rate": Range(1e-4, 1e-1, True), "momentum": Range(0.5, 0.9)}
    got = sample_settings("sobol", space, 8, seed=3)
    unit = qmc.Sobol(d=2, scramble=True, seed=3).random_base2(3)
    assert got["learning_rate"] == pytest.approx((1e-4 * 1000.0 ** unit[:, 0]).tolist())
    assert got["momentum"] == pytest.approx((0.5 + 0.4 * unit[:, 1]).tolist())
    drawn = sample_settings("random", space, 50, seed=3)
    assert min(drawn["learning_rate"]) >= 1e-4 and max(drawn["learning_rate"]) <= 1e-1
    assert np.median(np.log10(drawn["learning_rate"])) == pytest.approx(-2.5, abs=0.5)


def test_tabulated_settings_run_as_their_own_hyperparameters():
    """Two hyperparameters drawn together run through the table: each lane must follow
    heavy ball with its own row (x <- x - lr v, v <- g + m v on f = x**2)."""
    table = {"learning_rate": [0.1, 0.05, 0.2], "momentum": [0.5, 0.9, 0.0]}
    method = Tabulated.of(jaxcalc.optimizers.get_optimizer("sgd"), table)
    t = jaxcalc.optimize("x**2", method, [1.0], steps=5, setting=[0.0, 1.0, 2.0], gtol=1e-30)
    for i, (lr, m) in enumerate(zip(table["learning_rate"], table["momentum"], strict=True)):
        x, v, path = 1.0, 0.0, [1.0]
        for _ in range(5):
            v = 2 * x + m * v
            x = x - lr * v
            path.append(x)
        assert np.asarray(t.params)[i].reshape(-1) == pytest.approx(path, rel=1e-5)


def test_several_drawn_hyperparameters_share_one_sweep():
    config = parse_config(
        CONFIG.replace('method = "grid"', 'method = "random"\nsamples = 5').replace(
            f"learning_rate = {GRID}",
            "learning_rate = {low = 0.01, high = 0.1, log = true}\n"
            '[[optimizers]]\nname = "sgd"\n[tuning.space.sgd]\n'
            "learning_rate = {low = 0.01, high = 0.1}\nmomentum = {low = 0.0, high = 0.9}",
        )
    )
    stage = tuning_stage(config)
    gd, sgd = stage.optimizers
    assert len(gd.hyperparameters["learning_rate"]) == 5  # one drawn hyperparameter: a sweep
    assert sgd.hyperparameters["setting"] == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert isinstance(sgd.optimizer, Tabulated) and len(sgd.optimizer.table) == 5


BBOB = """
seed = 0
[starts]
count = 2
[run]
budget = 100
[[objectives]]
name = "bbob_f1"
params = {instance = 1}
[[objectives]]
name = "bbob_f2"
params = {instance = 2}
[[optimizers]]
name = "gd"
[tuning]
budget = 100000
seeds = [5]
[tuning.space.gd]
learning_rate = [0.01, 0.1]
"""


def test_bbob_tuning_instances_are_disjoint_from_the_comparison():
    config = parse_config(BBOB)
    assert config.tuning.instances == (3,)  # the smallest instance the comparison does not use
    stage = tuning_stage(config)
    assert [o.label for o in stage.objectives] == ["bbob_f1_i3", "bbob_f2_i3"]
    assert [o.build().params["instance"] for o in stage.objectives] == [3, 3]
    given = parse_config(BBOB.replace("seeds = [5]", "seeds = [5]\ninstances = [4, 5]"))
    labels = [o.label for o in tuning_stage(given).objectives]
    assert labels == ["bbob_f1_i4", "bbob_f1_i5", "bbob_f2_i4", "bbob_f2_i5"]
    with pytest.raises(ConfigError, match=r"tuning\.instances .*instance 2 is also a comparison"):
        parse_config(BBOB.replace("seeds = [5]", "seeds = [5]\ninstances = [2, 7]"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("budget = 10000", r"tuning\.budget +100 is smaller than one setting: one setting of "),
        ("[tuning.space.gd]\nlearning_rate", r"tuning\.space +is empty"),
        ("learning_rate = [", r"tuning\.space\.gd +is empty: name at least one hyperparameter"),
        ("seeds = [101, 102]", r"tuning\.seeds +lists seed 0, the comparison's seed"),
        ('method = "grid"', r"tuning\.space\.gd\.learning_rate +random and sobol sampling take"),
        ("[tuning.space.gd]", r"tuning\.space\.adam +no optimizer has the label 'adam'"),
        ("[starts]\ncount = 3", r"tuning +needs sampled starts"),
        ('criterion = "median_final_gap"', r"tuning\.criterion +unknown criterion 'best'"),
    ],
)
def test_bad_tuning_tables(change, message):
    bad = {
        "budget = 10000": "budget = 100",
        "[tuning.space.gd]\nlearning_rate": "[tuning.space]\n#",
        "learning_rate = [": "#",
        "seeds = [101, 102]": "seeds = [0, 101]",
        'method = "grid"': 'method = "sobol"',
        "[tuning.space.gd]": "[tuning.space.adam]",
        "[starts]\ncount = 3": "[starts]\npoints = [[1.0, 1.0]]",
        'criterion = "median_final_gap"': 'criterion = "best"',
    }[change]
    with pytest.raises(ConfigError, match=message):
        parse_config(CONFIG.replace(change, bad))


def test_cli_refusals_are_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "tuned.toml"
    path.write_text(CONFIG.replace("budget = 10000", "budget = 100"))
    code, _, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == 2 and "tuning.budget" in err and "smaller than one setting" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
    path.write_text(CONFIG)
    code, _, err = run_cli(capsys, "run", str(path), "--out", str(tmp_path / "o"), "--shard", "0/2")
    assert code == 2 and "cannot be sharded" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "plan", str(path), "--shards", "2")
    assert code == 2 and "cannot be sharded" in err


def test_a_run_over_several_processes_is_refused(tmp_path, monkeypatch):
    from jaxcalc.engine import distributed

    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    with pytest.raises(ConfigError, match=r"runs in one process"):
        run_experiment(parse_config(CONFIG), tmp_path / "out", display="off")
