"""jaxcalc: derivatives, gradients and optimizer trajectories over millions of points, in JAX.

The public face: everything a user needs is importable from ``jaxcalc`` directly, and the
two namespaces ``jaxcalc.objectives`` and ``jaxcalc.optimizers`` come with ``import jaxcalc``.
"""

from jaxcalc import objectives, optimizers
from jaxcalc.calculus import (
    TangentLine,
    Taylor,
    derivative,
    directional_derivative,
    gradient,
    hessian,
    hvp,
    jacobian,
    tangent_line,
    taylor,
)
from jaxcalc.critical import CriticalPoint, critical_points
from jaxcalc.errors import (
    ConfigError,
    ExpressionError,
    JaxcalcError,
    OutputError,
    ResourceError,
)
from jaxcalc.expressions import Expression, ExpressionWarning, parse
from jaxcalc.numerical import (
    DerivativeCheck,
    LimitTable,
    NumericDerivative,
    check_derivative,
    limit_table,
    numeric_derivative,
)
from jaxcalc.trajectory import STATUSES, Trajectory, optimize, optimize_many

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "CriticalPoint",
    "DerivativeCheck",
    "Expression",
    "ExpressionError",
    "ExpressionWarning",
    "JaxcalcError",
    "LimitTable",
    "NumericDerivative",
    "OutputError",
    "ResourceError",
    "STATUSES",
    "TangentLine",
    "Taylor",
    "Trajectory",
    "__version__",
    "check_derivative",
    "critical_points",
    "derivative",
    "directional_derivative",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "limit_table",
    "numeric_derivative",
    "objectives",
    "optimize",
    "optimize_many",
    "optimizers",
    "parse",
    "tangent_line",
    "taylor",
]
