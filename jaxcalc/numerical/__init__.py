"""Finite differences, their error estimates, D2L's limit table, and derivative checks.

:func:`numeric_derivative` is the working home of the removed ``scipy.misc.derivative``:
vectorised over arrays, jittable, with a default step chosen from the dtype and an
optional error estimate by Richardson extrapolation. :func:`check_derivative` puts the
symbolic, automatic and finite-difference derivatives side by side and diagnoses the
points where they disagree or where the function is not differentiable.
"""

from jaxcalc.numerical.checks import DerivativeCheck, check_derivative
from jaxcalc.numerical.differences import (
    LimitTable,
    NumericDerivative,
    limit_table,
    numeric_derivative,
)
from jaxcalc.slopes import SlopeDiagnosis, diagnose_slope, one_sided_slopes

__all__ = [
    "DerivativeCheck",
    "LimitTable",
    "NumericDerivative",
    "check_derivative",
    "limit_table",
    "numeric_derivative",
    "SlopeDiagnosis",
    "diagnose_slope",
    "one_sided_slopes",
]
