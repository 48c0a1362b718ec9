"""What expressions may use: functions (JAX, sympy, float forms), constants, and size limits."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

__all__ = [
    "ARITHMETIC",
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NODES",
]

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 100
MAX_EXPONENT = 10_000


@dataclass(frozen=True)
class Function:
    arity: int
    jax: Callable[..., Any]
    sympy: Callable[..., sp.Expr]
    number: Callable[..., float]  # plain-float evaluation, used only to bound constants


def _sympy_cbrt(x):
    # Real cube root, the convention jnp.cbrt follows (sympy's cbrt is the principal root).
    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


def _float_guard(fn: Callable[..., float]) -> Callable[..., float]:
    def safe(*args: float) -> float:
        try:
            return float(fn(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError):
            return math.nan

    return safe


FUNCTIONS: dict[str, Function] = {
    name: Function(arity, jfn, sfn, _float_guard(nfn))
    for name, arity, jfn, sfn, nfn in [
        ("sin", 1, jnp.sin, sp.sin, math.sin),
        ("cos", 1, jnp.cos, sp.cos, math.cos),
        ("tan", 1, jnp.tan, sp.tan, math.tan),
        ("asin", 1, jnp.arcsin, sp.asin, math.asin),
        ("acos", 1, jnp.arccos, sp.acos, math.acos),
        ("atan", 1, jnp.arctan, sp.atan, math.atan),
        ("sinh", 1, jnp.sinh, sp.sinh, math.sinh),
        ("cosh", 1, jnp.cosh, sp.cosh, math.cosh),
        ("tanh", 1, jnp.tanh, sp.tanh, math.tanh),
        ("asinh", 1, jnp.arcsinh, sp.asinh, math.asinh),
        ("acosh", 1, jnp.arccosh, sp.acosh, math.acosh),
        ("atanh", 1, jnp.arctanh, sp.atanh, math.atanh),
        ("exp", 1, jnp.exp, sp.exp, math.exp),
        ("log", 1, jnp.log, sp.log, math.log),
        ("log2", 1, jnp.log2, lambda x: sp.log(x, 2), math.log2),
        ("log10", 1, jnp.log10, lambda x: sp.log(x, 10), math.log10),
        ("sqrt", 1, jnp.sqrt, sp.sqrt, math.sqrt),
        ("cbrt", 1, jnp.cbrt, _sympy_cbrt, lambda x: math.copysign(abs(x) ** (1 / 3), x)),
        ("abs", 1, jnp.abs, sp.Abs, abs),
        ("sign", 1, jnp.sign, sp.sign, lambda x: float(np.sign(x))),
        ("erf", 1, jax.scipy.special.erf, sp.erf, math.erf),
        (
            "sigmoid",
            1,
            jax.nn.sigmoid,
            lambda x: 1 / (1 + sp.exp(-x)),
            lambda x: 1 / (1 + math.exp(-x)),
        ),
        ("relu", 1, jax.nn.relu, lambda x: sp.Max(x, 0), lambda x: max(x, 0.0)),
        (
            "softplus",
            1,
            jax.nn.softplus,
            lambda x: sp.log(1 + sp.exp(x)),
            lambda x: math.log1p(math.exp(x)),
        ),
        ("min", 2, jnp.minimum, sp.Min, min),
        ("max", 2, jnp.maximum, sp.Max, max),
    ]
}

CONSTANTS: dict[str, tuple[float, sp.Expr]] = {"pi": (math.pi, sp.pi), "e": (math.e, sp.E)}

RESERVED = set(FUNCTIONS) | set(CONSTANTS)

# The binary operators, as the functions that apply them (to floats, JAX or sympy values).
ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
