"""Validation builds the objectives and optimizers once; the run uses those objects."""

from __future__ import annotations

import dataclasses

from jaxcalc.pipeline import ObjectiveConfig, OptimizerConfig, parse_config, run_experiment

CONFIG = """
seed = 4

[starts]
count = 3

[run]
steps = 20

[[objectives]]
name = "bbob_f1"
dim = 3
label = "sphere_three"

[[objectives]]
expression = "(x - 1)**2 + y**2"
constraints = ["x + y = 1"]

[[optimizers]]
name = "gd_armijo"
max_trials = 10
"""


def test_the_config_carries_the_resolved_objects():
    cfg = parse_config(CONFIG)
    bbob, expression = cfg.objectives
    assert bbob.objective.dim == 3 and bbob.family == "bbob"
    assert expression.objective.constraints and expression.family == "user"
    (armijo,) = cfg.optimizers
    assert armijo.optimizer.options["max_trials"] == 10
    assert bbob.build() is bbob.objective and armijo.build() is armijo.optimizer
    # the resolved objects take no part in equality, repr or the serialised config
    assert dataclasses.replace(bbob, objective=None) == bbob
    assert "objective=" not in repr(bbob) and "optimizer=" not in repr(armijo)
    assert "objective" not in bbob.to_dict() and "optimizer" not in armijo.to_dict()


def test_the_run_builds_nothing_again(tmp_path, monkeypatch):
    cfg = parse_config(CONFIG)

    def refuse(self):
        raise AssertionError(f"{self.label} built again")

    monkeypatch.setattr(ObjectiveConfig, "resolve", refuse)
    monkeypatch.setattr(OptimizerConfig, "resolve", refuse)
    out = run_experiment(cfg, tmp_path / "out", display="off", report=False)
    assert (out / "summary.csv").is_file()
