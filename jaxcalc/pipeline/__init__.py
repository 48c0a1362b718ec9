"""Experiments: a TOML config in, compiled runs, results and a report out."""

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

__all__ = [
    "ConfigProblem",
    "ConfigValidationError",
    "ExperimentConfig",
    "ObjectiveConfig",
    "OptimizerConfig",
    "OutputConfig",
    "RunConfig",
    "StartsConfig",
    "apply_dtype",
    "load_config",
    "parse_config",
]
