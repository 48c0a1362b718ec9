"""What expressions may use: functions (JAX, sympy, float forms), constants, and size limits.

JAX and sympy are imported when a function's JAX or sympy form is first asked for, so that
parsing and checking an expression import neither (the command line computes the sympy
side in a second process while the first imports JAX).
"""

from __future__ import annotations

import ast
import functools
import importlib
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

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


@functools.cache
def _attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Function:
    """One function of the language: its arity, where its JAX form lives (module and name),
    its sympy form (built from the sympy module), and a plain-float form."""

    arity: int
    jax_source: tuple[str, str]
    sympy_form: Callable[[Any], Callable[..., Any]]
    number: Callable[..., float]  # plain-float evaluation, used only to bound constants

    @property
    def jax(self) -> Callable[..., Any]:
        return _attribute(*self.jax_source)

    @property
    def sympy(self) -> Callable[..., Any]:
        return self.sympy_form(importlib.import_module("sympy"))


@dataclass(frozen=True)
class Constant:
    """A named constant: its float value and the name of its sympy form."""

    value: float
    sympy_name: str

    @property
    def sympy(self) -> Any:
        return _attribute("sympy", self.sympy_name)


def _sympy_cbrt(sp):
    # Real cube root, the convention jnp.cbrt follows (sympy's cbrt is the principal root).
    return lambda x: sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


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
    for name, arity, jfn, sfn, nfn in [  # jfn: (module, name); sfn: sympy -> its function
        ("sin", 1, ("jax.numpy", "sin"), lambda sp: sp.sin, math.sin),
        ("cos", 1, ("jax.numpy", "cos"), lambda sp: sp.cos, math.cos),
        ("tan", 1, ("jax.numpy", "tan"), lambda sp: sp.tan, math.tan),
        ("asin", 1, ("jax.numpy", "arcsin"), lambda sp: sp.asin, math.asin),
        ("acos", 1, ("jax.numpy", "arccos"), lambda sp: sp.acos, math.acos),
        ("atan", 1, ("jax.numpy", "arctan"), lambda sp: sp.atan, math.atan),
        ("sinh", 1, ("jax.numpy", "sinh"), lambda sp: sp.sinh, math.sinh),
        ("cosh", 1, ("jax.numpy", "cosh"), lambda sp: sp.cosh, math.cosh),
        ("tanh", 1, ("jax.numpy", "tanh"), lambda sp: sp.tanh, math.tanh),
        ("asinh", 1, ("jax.numpy", "arcsinh"), lambda sp: sp.asinh, math.asinh),
        ("acosh", 1, ("jax.numpy", "arccosh"), lambda sp: sp.acosh, math.acosh),
        ("atanh", 1, ("jax.numpy", "arctanh"), lambda sp: sp.atanh, math.atanh),
        ("exp", 1, ("jax.numpy", "exp"), lambda sp: sp.exp, math.exp),
        ("log", 1, ("jax.numpy", "log"), lambda sp: sp.log, math.log),
        ("log2", 1, ("jax.numpy", "log2"), lambda sp: lambda x: sp.log(x, 2), math.log2),
        ("log10", 1, ("jax.numpy", "log10"), lambda sp: lambda x: sp.log(x, 10), math.log10),
        ("sqrt", 1, ("jax.numpy", "sqrt"), lambda sp: sp.sqrt, math.sqrt),
        (
            "cbrt",
            1,
            ("jax.numpy", "cbrt"),
            _sympy_cbrt,
            lambda x: math.copysign(abs(x) ** (1 / 3), x),
        ),
        ("abs", 1, ("jax.numpy", "abs"), lambda sp: sp.Abs, abs),
        ("sign", 1, ("jax.numpy", "sign"), lambda sp: sp.sign, lambda x: float(np.sign(x))),
        ("erf", 1, ("jax.scipy.special", "erf"), lambda sp: sp.erf, math.erf),
        (
            "sigmoid",
            1,
            ("jax.nn", "sigmoid"),
            lambda sp: lambda x: 1 / (1 + sp.exp(-x)),
            lambda x: 1 / (1 + math.exp(-x)),
        ),
        ("relu", 1, ("jax.nn", "relu"), lambda sp: lambda x: sp.Max(x, 0), lambda x: max(x, 0.0)),
        (
            "softplus",
            1,
            ("jax.nn", "softplus"),
            lambda sp: lambda x: sp.log(1 + sp.exp(x)),
            lambda x: math.log1p(math.exp(x)),
        ),
        ("min", 2, ("jax.numpy", "minimum"), lambda sp: sp.Min, min),
        ("max", 2, ("jax.numpy", "maximum"), lambda sp: sp.Max, max),
    ]
}

CONSTANTS: dict[str, Constant] = {"pi": Constant(math.pi, "pi"), "e": Constant(math.e, "E")}

RESERVED = set(FUNCTIONS) | set(CONSTANTS)

# The binary operators, as the functions that apply them (to floats, JAX or sympy values).
ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
