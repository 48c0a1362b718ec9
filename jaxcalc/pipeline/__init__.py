"""Experiments: a TOML config in, compiled runs, results and a report out.

The stages, each a module: ``config`` (TOML text -> a validated config carrying the
resolved objectives and optimizers) -> ``plan`` (groups sharing one compiled program) ->
``run`` (engine calls; ``budget`` holds the evaluation budgets) -> ``results`` (the files)
-> ``tables`` (summaries and metrics) -> ``report`` (figures and report.md).
"""

from jaxcalc.pipeline.config import (
    ConfigProblem,
    ConfigValidationError,
    ExperimentConfig,
    ObjectiveConfig,
    OptimizerConfig,
    OutputConfig,
    RunConfig,
    StartsConfig,
    apply_dtype,
    load_config,
    parse_config,
)
from jaxcalc.pipeline.report import build_report
from jaxcalc.pipeline.run import run_experiment
from jaxcalc.pipeline.tables import Metric, SettingRuns, register_metric

__all__ = [
    "ConfigProblem",
    "ConfigValidationError",
    "ExperimentConfig",
    "Metric",
    "ObjectiveConfig",
    "OptimizerConfig",
    "OutputConfig",
    "RunConfig",
    "SettingRuns",
    "StartsConfig",
    "apply_dtype",
    "build_report",
    "load_config",
    "parse_config",
    "register_metric",
    "run_experiment",
]
