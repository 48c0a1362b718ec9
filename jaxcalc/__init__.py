"""jaxcalc: derivatives, gradients and optimizer trajectories over millions of points, in JAX.

The public face: everything a user needs is importable from ``jaxcalc`` directly, and the
two namespaces ``jaxcalc.objectives`` and ``jaxcalc.optimizers`` come with ``import jaxcalc``
(imported on first use, so ``import jaxcalc`` alone does not pay for them).
"""

import importlib

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
from jaxcalc.engine import (
    STATUSES,
    HyperGradient,
    Trajectory,
    hypergradient,
    optimize,
    optimize_many,
)
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
from jaxcalc.trees import sample_starts, with_template

__version__ = "0.1.0"

_NAMESPACES = ("objectives", "optimizers")


def __getattr__(name: str):
    if name == "schedule":  # an optax schedule as data (jaxcalc.optimizers.schedules)
        from jaxcalc.optimizers.schedules import schedule

        return schedule
    if name in _NAMESPACES:
        return importlib.import_module(f"jaxcalc.{name}")
    raise AttributeError(f"module 'jaxcalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMESPACES) | {"schedule"})


__all__ = [
    "ConfigError",
    "CriticalPoint",
    "DerivativeCheck",
    "Expression",
    "ExpressionError",
    "ExpressionWarning",
    "HyperGradient",
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
    "hypergradient",
    "jacobian",
    "limit_table",
    "numeric_derivative",
    "objectives",
    "optimize",
    "optimize_many",
    "optimizers",
    "parse",
    "sample_starts",
    "schedule",
    "tangent_line",
    "taylor",
    "with_template",
]
