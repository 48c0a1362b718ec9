"""Objective functions: the course's, the classic test functions and COCO's BBOB suite.

>>> from jaxcalc import objectives
>>> rosen = objectives.get("rosenbrock", dim=5)
>>> float(rosen(rosen.x_opt))
0.0
"""

from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.constrained_problems import constrained
from jaxcalc.objectives.registry import (
    ObjectiveError,
    ObjectiveSpec,
    from_expression,
    get,
    names,
    register,
    spec,
)
from jaxcalc.objectives.residual import ResidualObjective, from_residuals

__all__ = [
    "Objective",
    "ObjectiveError",
    "ObjectiveSpec",
    "ResidualObjective",
    "constrained",
    "from_expression",
    "from_residuals",
    "get",
    "names",
    "register",
    "spec",
]
