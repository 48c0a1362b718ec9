"""Optimizers: classical reference methods and every vector optax optimizer, one protocol.

Importing this package registers the built-in families, in the order
:func:`optimizer_names` lists them; :func:`register` adds more by name.
"""

# The families register themselves when imported, so this import order (not sorted) is
# the order of optimizer_names().
from jaxcalc.optimizers.protocol import (  # noqa: I001
    Evaluations,
    Optimizer,
    Requires,
    StepCost,
    StepResult,
    check_hyperparameters,
)
from jaxcalc.optimizers.registry import get_optimizer, optimizer_names, register
from jaxcalc.optimizers.classical import BFGS, GradientDescent, GradientDescentArmijo, Newton
from jaxcalc.optimizers.quasi_newton import DFP, SR1
from jaxcalc.optimizers.secant import Secant
from jaxcalc.optimizers.constrained import (
    CONSTRAINED_NAMES,
    AugmentedLagrangian,
    LagrangeNewton,
    ProjectedGradientDescent,
)
from jaxcalc.optimizers.least_squares import LEAST_SQUARES_NAMES, GaussNewton, LevenbergMarquardt
from jaxcalc.optimizers.population import (
    CMAES,
    POPULATION_NAMES,
    GeneticAlgorithm,
    ParticleSwarm,
    SimulatedAnnealing,
)
from jaxcalc.optimizers.optax_adapter import OPTAX_NAMES, OptaxOptimizer, optax_optimizer
from jaxcalc.optimizers.wrapped import Wrapped
from jaxcalc.optimizers.schedules import SCHEDULE_NAMES, Schedule, Scheduled, schedule
from jaxcalc.optimizers.transformations import (
    TransformationOptimizer,
    as_optimizer,
    chain_optimizer,
    from_optax,
)

#: the classical methods (gradient descent, Newton, quasi-Newton, secant)
CLASSICAL_NAMES = ("gd", "gd_armijo", "newton", "bfgs", "dfp", "sr1", "secant")

__all__ = [
    "BFGS",
    "CMAES",
    "AugmentedLagrangian",
    "CLASSICAL_NAMES",
    "CONSTRAINED_NAMES",
    "DFP",
    "LEAST_SQUARES_NAMES",
    "OPTAX_NAMES",
    "SCHEDULE_NAMES",
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
    "Requires",
    "Schedule",
    "Scheduled",
    "Secant",
    "SimulatedAnnealing",
    "StepCost",
    "StepResult",
    "TransformationOptimizer",
    "Wrapped",
    "as_optimizer",
    "chain_optimizer",
    "check_hyperparameters",
    "from_optax",
    "get_optimizer",
    "optax_optimizer",
    "optimizer_names",
    "register",
    "schedule",
]
