"""Deprecated import path: :mod:`jaxcalc.pipeline.run` holds :func:`run_experiment`."""

from jaxcalc.pipeline.run import RunInterrupted, run_experiment

__all__ = ["RunInterrupted", "run_experiment"]
