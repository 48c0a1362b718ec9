"""Experiment configs: TOML text in, a typed, validated, frozen :class:`ExperimentConfig` out.

The stages, one module each: :mod:`~.toml` reads the text (line numbers, duplicate keys,
decode errors with hints), :mod:`~.overrides` applies ``--set key=value``, :mod:`~.validate`
checks every section and builds the objectives and optimizers once, :mod:`~.schema` holds
the frozen result. Validation reports *every* problem at once, each with its key path and
line, sorted by line, in one :class:`ConfigValidationError`::

    config error: 2 problems in configs/quad.toml
      line 2  starts.count  must be >= 1 (got 0)
      line 7  run.stesp     unknown key; did you mean 'steps'?

Past this package nothing is string-typed: the config carries the resolved objects
(``ObjectiveConfig.objective``, ``OptimizerConfig.optimizer``,
``OutputConfig.resolved_metrics``). The keys are documented in ``docs/configs.md``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from jaxcalc.pipeline.config.overrides import apply_overrides
from jaxcalc.pipeline.config.problems import ConfigProblem, ConfigValidationError, fail
from jaxcalc.pipeline.config.reader import Reader
from jaxcalc.pipeline.config.schema import (
    MAX_COUNT,
    MAX_STEPS,
    ExperimentConfig,
    ObjectiveConfig,
    OptimizerConfig,
    OutputConfig,
    RunConfig,
    StartsConfig,
    apply_dtype,
)
from jaxcalc.pipeline.config.toml import read_file, read_toml
from jaxcalc.pipeline.config.validate import read_experiment

__all__ = [
    "MAX_COUNT",
    "MAX_STEPS",
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


def load_config(path: str | os.PathLike, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read, parse and validate a TOML experiment config.

    Args:
      path: the config file (TOML; ``.yaml``/``.yml``/``.json`` are refused).
      overrides: ``"key=value"`` strings (``--set``), applied before validation.

    Raises:
      ConfigError: the file cannot be read or is not UTF-8 TOML, or validation failed
        (a :class:`ConfigValidationError` with every problem).
    """
    text, source_path = read_file(path)
    return _parse(text, str(path), overrides, source_path)


def parse_config(
    text: str,
    source: str = "<string>",
    overrides: Sequence[str] = (),
    *,
    base_dir: str | os.PathLike | None = None,
) -> ExperimentConfig:
    """Parse and validate TOML text (``source`` names it in messages; relative paths
    resolve against ``base_dir``, default the current directory)."""
    if not isinstance(text, str):
        raise fail(f"{source}: expected text, got {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return _parse(text, source, overrides, None, base_dir)


def _parse(
    text: str,
    source: str,
    overrides: Sequence[str],
    source_path: Path | None,
    base_dir: str | os.PathLike | None = None,
) -> ExperimentConfig:
    if isinstance(overrides, str):
        overrides = (overrides,)
    raw, lines = read_toml(text, source)
    if source_path is not None:
        base = source_path.parent
        default_name = source_path.stem
    else:
        base = Path(os.path.abspath(base_dir if base_dir is not None else Path.cwd()))
        default_name = "experiment"
    reader = Reader(source, lines)
    applied, notes = apply_overrides(reader, raw, overrides)
    config = read_experiment(reader, raw, default_name, base)
    if reader.problems:
        raise reader.error()
    return dataclasses.replace(
        config,
        source_path=source_path,
        source_text=text,
        base_dir=base,
        overrides=tuple(applied),
        notes=tuple(notes),
    )
