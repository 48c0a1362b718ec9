"""Optimizers: classical reference methods and every vector optax optimizer, one interface."""

from jaxcalc.optimizers.base import Evaluations, Optimizer, StepResult, check_hyperparameters
from jaxcalc.optimizers.classical import BFGS, GradientDescent, GradientDescentArmijo, Newton
from jaxcalc.optimizers.optax_adapter import OPTAX_NAMES, OptaxOptimizer, optax_optimizer
from jaxcalc.optimizers.registry import CLASSICAL_NAMES, get_optimizer, optimizer_names

__all__ = [
    "BFGS",
    "CLASSICAL_NAMES",
    "OPTAX_NAMES",
    "Evaluations",
    "GradientDescent",
    "GradientDescentArmijo",
    "Newton",
    "OptaxOptimizer",
    "Optimizer",
    "StepResult",
    "check_hyperparameters",
    "get_optimizer",
    "optax_optimizer",
    "optimizer_names",
]
