"""Optimizer names -> optimizer objects."""

from __future__ import annotations

import difflib

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.base import Optimizer
from jaxcalc.optimizers.classical import BFGS, GradientDescent, GradientDescentArmijo, Newton
from jaxcalc.optimizers.constrained import (
    AugmentedLagrangian,
    LagrangeNewton,
    ProjectedGradientDescent,
)
from jaxcalc.optimizers.least_squares import GaussNewton, LevenbergMarquardt
from jaxcalc.optimizers.optax_adapter import OPTAX_NAMES, optax_optimizer
from jaxcalc.optimizers.population import (
    CMAES,
    GeneticAlgorithm,
    ParticleSwarm,
    SimulatedAnnealing,
)
from jaxcalc.optimizers.quasi_newton import DFP, SR1
from jaxcalc.optimizers.secant import Secant

__all__ = [
    "CLASSICAL_NAMES",
    "CONSTRAINED_NAMES",
    "LEAST_SQUARES_NAMES",
    "POPULATION_NAMES",
    "get_optimizer",
    "optimizer_names",
]

_CLASSICAL = {
    "gd": GradientDescent,
    "gd_armijo": GradientDescentArmijo,
    "newton": Newton,
    "bfgs": BFGS,
    "dfp": DFP,
    "sr1": SR1,
    "secant": Secant,
}
CLASSICAL_NAMES = tuple(_CLASSICAL)
# Constrained methods (jaxcalc.optimizers.constrained): lagrange_newton and
# augmented_lagrangian need constraints; projected_gd needs one set to project onto.
_CONSTRAINED = {
    "projected_gd": ProjectedGradientDescent,
    "lagrange_newton": LagrangeNewton,
    "augmented_lagrangian": AugmentedLagrangian,
}
CONSTRAINED_NAMES = tuple(_CONSTRAINED)
# Least-squares methods (jaxcalc.optimizers.least_squares): they need a residual objective
# (one with residuals(x)), so they set `needs_residuals`.
_LEAST_SQUARES = {
    "gauss_newton": GaussNewton,
    "levenberg_marquardt": LevenbergMarquardt,
}
LEAST_SQUARES_NAMES = tuple(_LEAST_SQUARES)
# Population methods and annealing (jaxcalc.optimizers.population): gradient-free and
# stochastic (they take optimize's seed).
_POPULATION = {
    "pso": ParticleSwarm,
    "ga": GeneticAlgorithm,
    "cma_es": CMAES,
    "simulated_annealing": SimulatedAnnealing,
}
POPULATION_NAMES = tuple(_POPULATION)


def optimizer_names() -> list[str]:
    """Every optimizer name ``optimize`` accepts: the classical ones, then optax's."""
    return [
        *CLASSICAL_NAMES,
        *CONSTRAINED_NAMES,
        *LEAST_SQUARES_NAMES,
        *POPULATION_NAMES,
        *OPTAX_NAMES,
    ]


def get_optimizer(name: str | Optimizer) -> Optimizer:
    """The optimizer called ``name`` (an :class:`Optimizer` is returned as it is)."""
    if isinstance(name, Optimizer):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"an optimizer is a name or an Optimizer; got {name!r}")
    if name in _CLASSICAL:
        return _CLASSICAL[name]()
    if name in _CONSTRAINED:
        return _CONSTRAINED[name]()
    if name in _LEAST_SQUARES:
        return _LEAST_SQUARES[name]()
    if name in _POPULATION:
        return _POPULATION[name]()
    if name in OPTAX_NAMES:
        return optax_optimizer(name)
    close = difflib.get_close_matches(name, optimizer_names(), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown optimizer {name!r}{hint} (known: {', '.join(optimizer_names())})")
