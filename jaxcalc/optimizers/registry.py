"""Optimizer names -> optimizer objects."""

from __future__ import annotations

import difflib

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.base import Optimizer
from jaxcalc.optimizers.classical import BFGS, GradientDescent, GradientDescentArmijo, Newton
from jaxcalc.optimizers.optax_adapter import OPTAX_NAMES, optax_optimizer

__all__ = ["CLASSICAL_NAMES", "get_optimizer", "optimizer_names"]

_CLASSICAL = {
    "gd": GradientDescent,
    "gd_armijo": GradientDescentArmijo,
    "newton": Newton,
    "bfgs": BFGS,
}
CLASSICAL_NAMES = tuple(_CLASSICAL)


def optimizer_names() -> list[str]:
    """Every optimizer name ``optimize`` accepts: the classical ones, then optax's."""
    return [*CLASSICAL_NAMES, *OPTAX_NAMES]


def get_optimizer(name: str | Optimizer) -> Optimizer:
    """The optimizer called ``name`` (an :class:`Optimizer` is returned as it is)."""
    if isinstance(name, Optimizer):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"an optimizer is a name or an Optimizer; got {name!r}")
    if name in _CLASSICAL:
        return _CLASSICAL[name]()
    if name in OPTAX_NAMES:
        return optax_optimizer(name)
    close = difflib.get_close_matches(name, optimizer_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown optimizer {name!r}{hint} (known: {', '.join(optimizer_names())})")
