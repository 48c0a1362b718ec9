"""jaxcalc: derivatives, gradients and optimizer trajectories over millions of points, in JAX.

The public face: everything a user needs is importable from ``jaxcalc`` directly, and the
two namespaces ``jaxcalc.objectives`` and ``jaxcalc.optimizers`` come with ``import jaxcalc``.
Every name is imported on first use, so ``import jaxcalc`` alone imports neither JAX nor
sympy; ``from jaxcalc import derivative`` imports what ``derivative`` needs.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and editors see; at run time, __getattr__ below
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
    from jaxcalc.optimizers.schedules import schedule
    from jaxcalc.trees import sample_starts, with_template

__version__ = "0.1.0"

# Where each public name lives. Nothing is imported until a name is first used, so
# ``import jaxcalc`` (and ``jaxcalc --help``, ``--version``) does not pay for JAX.
_PUBLIC = {
    "jaxcalc.calculus": (
        "TangentLine",
        "Taylor",
        "derivative",
        "directional_derivative",
        "gradient",
        "hessian",
        "hvp",
        "jacobian",
        "tangent_line",
        "taylor",
    ),
    "jaxcalc.critical": ("CriticalPoint", "critical_points"),
    "jaxcalc.engine": (
        "STATUSES",
        "HyperGradient",
        "Trajectory",
        "hypergradient",
        "optimize",
        "optimize_many",
    ),
    "jaxcalc.errors": (
        "ConfigError",
        "ExpressionError",
        "JaxcalcError",
        "OutputError",
        "ResourceError",
    ),
    "jaxcalc.expressions": ("Expression", "ExpressionWarning", "parse"),
    "jaxcalc.numerical": (
        "DerivativeCheck",
        "LimitTable",
        "NumericDerivative",
        "check_derivative",
        "limit_table",
        "numeric_derivative",
    ),
    "jaxcalc.optimizers.schedules": ("schedule",),
    "jaxcalc.trees": ("sample_starts", "with_template"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
_NAMESPACES = ("objectives", "optimizers")


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value  # looked up once
        return value
    if name in _NAMESPACES:
        return importlib.import_module(f"jaxcalc.{name}")
    raise AttributeError(f"module 'jaxcalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | set(_NAMESPACES))


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
