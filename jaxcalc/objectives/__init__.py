"""Objective functions: the course's, the classic test functions and COCO's BBOB suite.

Importing this package registers the built-in families, in this order: the course's
functions, the classic test functions, BBOB, the constrained problems and the
least-squares problems and the Moré-Garbow-Hillstrom set (:func:`names` lists them in
that order).

>>> from jaxcalc import objectives
>>> rosen = objectives.get("rosenbrock", dim=5)
>>> float(rosen(rosen.x_opt))
0.0
"""

from jaxcalc.objectives import bbob_registry, classic, constrained_problems, course, mgh, residual
from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.constrained_problems import constrained
from jaxcalc.objectives.data import DataObjective, data_objective, load_dataset
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
    "DataObjective",
    "Objective",
    "ObjectiveError",
    "ObjectiveSpec",
    "ResidualObjective",
    "constrained",
    "data_objective",
    "from_expression",
    "from_residuals",
    "get",
    "load_dataset",
    "names",
    "register",
    "spec",
]

for _family in (course, classic, bbob_registry, constrained_problems, residual, mgh):
    for _spec in _family.SPECS:
        register(_spec)
del _family, _spec
