"""Optimizers: classical reference methods and every vector optax optimizer, one interface."""

from jaxcalc.optimizers.base import Evaluations, Optimizer, StepResult, check_hyperparameters
from jaxcalc.optimizers.classical import BFGS, GradientDescent, GradientDescentArmijo, Newton
from jaxcalc.optimizers.constrained import (
    AugmentedLagrangian,
    LagrangeNewton,
    ProjectedGradientDescent,
)
from jaxcalc.optimizers.least_squares import GaussNewton, LevenbergMarquardt
from jaxcalc.optimizers.optax_adapter import OPTAX_NAMES, OptaxOptimizer, optax_optimizer
from jaxcalc.optimizers.population import (
    CMAES,
    GeneticAlgorithm,
    ParticleSwarm,
    SimulatedAnnealing,
)
from jaxcalc.optimizers.quasi_newton import DFP, SR1
from jaxcalc.optimizers.registry import (
    CLASSICAL_NAMES,
    CONSTRAINED_NAMES,
    LEAST_SQUARES_NAMES,
    POPULATION_NAMES,
    get_optimizer,
    optimizer_names,
)
from jaxcalc.optimizers.secant import Secant

__all__ = [
    "BFGS",
    "CMAES",
    "AugmentedLagrangian",
    "CLASSICAL_NAMES",
    "CONSTRAINED_NAMES",
    "DFP",
    "LEAST_SQUARES_NAMES",
    "OPTAX_NAMES",
    "SR1",
    "Evaluations",
    "GaussNewton",
    "GeneticAlgorithm",
    "GradientDescent",
    "GradientDescentArmijo",
    "LagrangeNewton",
    "LevenbergMarquardt",
    "Newton",
    "OptaxOptimizer",
    "Optimizer",
    "POPULATION_NAMES",
    "ParticleSwarm",
    "ProjectedGradientDescent",
    "Secant",
    "SimulatedAnnealing",
    "StepResult",
    "check_hyperparameters",
    "get_optimizer",
    "optax_optimizer",
    "optimizer_names",
]
