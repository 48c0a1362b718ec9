"""Objective functions: the course's, the classic test functions and COCO's BBOB suite.

>>> from jaxcalc import objectives
>>> rosen = objectives.get("rosenbrock", dim=5)
>>> float(rosen(rosen.x_opt))
0.0
"""

from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.registry import (
    ObjectiveError,
    ObjectiveSpec,
    from_expression,
    get,
    names,
    register,
    spec,
)

__all__ = [
    "Objective",
    "ObjectiveError",
    "ObjectiveSpec",
    "from_expression",
    "get",
    "names",
    "register",
    "spec",
]
