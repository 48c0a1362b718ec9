"""The two tree walks over a checked AST: the JAX function and the sympy expression."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jaxcalc.expressions.vocabulary import ARITHMETIC, CONSTANTS, FUNCTIONS

if TYPE_CHECKING:
    import jax
    import sympy as sp


def to_sympy(node: ast.AST, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    import sympy as sp

    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return sp.Integer(node.value)
        return sp.Rational(repr(node.value))
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id].sympy if node.id in CONSTANTS else symbols[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = to_sympy(node.operand, symbols)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].sympy(*(to_sympy(a, symbols) for a in node.args))
    left, right = to_sympy(node.left, symbols), to_sympy(node.right, symbols)
    if isinstance(node.op, ast.Pow) and _exact_power_is_costly(left, right):
        left = left.evalf(30)  # 30 digits instead of millions
    return ARITHMETIC[type(node.op)](left, right)


def _exact_power_is_costly(base: sp.Expr, exponent: sp.Expr) -> bool:
    """Whether sympy would compute a constant power exactly at great cost: ``(1+1e-300)^9999``
    is a fraction of three million digits (sympy re-evaluates even an unevaluated power when
    it multiplies it). Powers of integers are bounded by the checker (the value fits the
    dtype, so a few hundred digits) and small integer powers stay exact."""
    import sympy as sp

    if not (base.is_number and exponent.is_number):
        return False
    if not any(r.q != 1 for r in base.atoms(sp.Rational)):
        return False
    return not (exponent.is_Integer and abs(int(exponent)) <= 64)


def to_jax(node: ast.AST, env: dict[str, jax.Array]) -> jax.Array:
    import jax.numpy as jnp

    if isinstance(node, ast.Constant):
        return jnp.asarray(float(node.value))  # weakly typed: follows the input's dtype
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return jnp.asarray(CONSTANTS[node.id].value)
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = to_jax(node.operand, env)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].jax(*(to_jax(a, env) for a in node.args))
    left = to_jax(node.left, env)
    op = type(node.op)
    if op is ast.Pow:
        exponent = integer_exponent(node.right)
        if exponent is not None:
            return left**exponent  # lax.integer_pow: clean gradients at x <= 0
        return jnp.power(left, to_jax(node.right, env))
    return ARITHMETIC[op](left, to_jax(node.right, env))


def integer_exponent(node: ast.AST) -> int | None:
    """The exponent as a Python int when it is an integer literal (optionally signed)."""
    sign = 1
    while isinstance(node, ast.UnaryOp):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


def first_nan(node: ast.AST, env: dict[str, jax.Array]) -> tuple[ast.AST, list[float]] | None:
    """The innermost part of the expression that is NaN although its arguments are not
    (``log(-1)``, ``sqrt(x - 2)`` at 1, ``0/0``), with its argument values; None when no
    part is (``env`` holds scalar values)."""
    import jax.numpy as jnp

    if isinstance(node, ast.Call):
        parts, args = node.args, node.args
    elif isinstance(node, ast.BinOp):
        parts, args = [node.left, node.right], [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        parts, args = [node.operand], [node.operand]
    else:
        return None
    for part in parts:
        found = first_nan(part, env)
        if found is not None:
            return found
    if not bool(jnp.isnan(to_jax(node, env))):
        return None
    values = [float(to_jax(a, env)) for a in args]
    return None if any(v != v for v in values) else (node, values)
