"""The :class:`Expression`, and :func:`parse`: text through tokens, checker and builders."""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jaxcalc.errors import ConfigError, ExpressionError
from jaxcalc.expressions.builders import first_nan, to_jax, to_sympy
from jaxcalc.expressions.checker import Validator, syntax_message
from jaxcalc.expressions.tokens import (
    Token,
    check_literals,
    check_nesting,
    check_variables,
    float_limit,
    rewrite,
    tokenize,
)
from jaxcalc.expressions.vocabulary import MAX_LENGTH

if TYPE_CHECKING:
    import jax
    import sympy as sp

__all__ = ["Expression", "ExpressionWarning", "parse"]


class ExpressionWarning(UserWarning):
    """An expression was accepted but is probably not what was meant (e.g. a constant)."""


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, validated expression: callable like a JAX function, with a sympy twin.

    Attributes:
      text: the expression as typed.
      variables: the variable names, in the order of the input vector's last axis.
      sympy: the sympy expression (built from the validated tree, never from the text).
      symbols: the sympy symbols of ``variables``, in the same order.

    Calling it: with one variable, ``f(x)`` is elementwise over any shape; with ``n > 1``
    variables, ``f(v)`` takes ``v`` of shape ``(..., n)`` and returns shape ``(...)``.
    Integer inputs are cast to JAX's default float dtype.

    Parsing imports neither JAX nor sympy: the JAX function is built when the expression
    is first called, and the sympy twin when ``sympy`` or ``symbols`` is first read.
    """

    text: str
    variables: tuple[str, ...]
    _tree: ast.AST = field(repr=False)
    _constant: bool = field(repr=False, default=False)

    @functools.cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """The sympy symbols of ``variables``, in the same order (real)."""
        import sympy as sp

        return tuple(sp.Symbol(name, real=True) for name in self.variables)

    @functools.cached_property
    def sympy(self) -> sp.Expr:
        """The sympy expression, built from the validated tree (never from the text)."""
        return to_sympy(self._tree, dict(zip(self.variables, self.symbols, strict=True)))

    @property
    def dim(self) -> int:
        """Number of variables (the length of one point's vector)."""
        return len(self.variables)

    @property
    def is_constant(self) -> bool:
        """True when the expression does not depend on any variable."""
        return self._constant

    def __call__(self, x: Any) -> jax.Array:
        import jax.numpy as jnp

        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        if self.dim == 1:
            env = {self.variables[0]: x}
            batch_shape = x.shape
        else:
            if x.ndim == 0 or x.shape[-1] != self.dim:
                raise ConfigError(
                    f"expression `{self.text}` has variables ({', '.join(self.variables)}): "
                    f"expected points of shape (..., {self.dim}), got {x.shape}"
                )
            env = {name: x[..., i] for i, name in enumerate(self.variables)}
            batch_shape = x.shape[:-1]
        value = to_jax(self._tree, env)
        if value.shape != batch_shape:  # a constant expression still has one value per point
            value = jnp.broadcast_to(value, batch_shape) + jnp.zeros(batch_shape, x.dtype)
        return value.astype(jnp.result_type(value.dtype, x.dtype))

    def series(self, x0: jax.Array, order: int, scale: float = 1.0) -> jax.Array:
        """The Taylor coefficients ``f^(k)(x0) scale^k / k!``, ``k = 0 .. order``, of an
        expression of one variable at the scalar ``x0``, by truncated Taylor arithmetic
        (:mod:`jaxcalc.expressions.taylor`). Traceable: jit and vmap it."""
        import jax.numpy as jnp

        from jaxcalc.expressions.taylor import series

        if self.dim != 1:
            raise ConfigError(f"expression `{self.text}` has {self.dim} variables; series takes 1")
        x0 = jnp.asarray(x0)
        if not jnp.issubdtype(x0.dtype, jnp.inexact):
            x0 = x0.astype(jnp.result_type(float))
        return series(self._tree, self.variables[0], x0, order, scale)

    def undefined_part(self, x: Any) -> str | None:
        """Where the expression becomes NaN at the one point ``x``: the innermost part that
        is NaN although its arguments are not, e.g. ``"log(-1) (argument -1)"``; None when
        no part is."""
        import jax.numpy as jnp

        x = jnp.asarray(x, jnp.result_type(float))
        if self.dim == 1:
            env = {self.variables[0]: x.reshape(())}
        else:
            env = {name: x.reshape(-1)[i] for i, name in enumerate(self.variables)}
        found = first_nan(self._tree, env)
        if found is None:
            return None
        node, values = found
        text = ast.unparse(node).replace("**", "^")
        shown = ", ".join(f"{v:.6g}" for v in values)
        return f"{text} (argument{'s' if len(values) > 1 else ''} {shown})"

    @property
    def __wrapped__(self) -> Any:
        # What JAX (and inspect) read a traced function's name, source line and signature
        # from: the evaluation method. Without it JAX asks for str(self), which builds the
        # sympy form, and so imports sympy, in every program that traces an expression.
        return self.__call__

    def __str__(self) -> str:
        return str(self.sympy)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables})"


def parse(
    text: str,
    variables: Sequence[str] | str | None = None,
    *,
    dtype: Any = None,
    max_length: int = MAX_LENGTH,
) -> Expression:
    """Parse an expression string into a safe, differentiable :class:`Expression`.

    Args:
      text: the formula, e.g. ``"3x^2 + 1"`` or ``"(x - 2)**2 + 3*(y + 1)**2"``.
      variables: the variable names in order (a sequence, or one name). By default the
        free names in natural order (``x1, x2, ..., x10``). Reserved names (functions,
        ``pi``, ``e``) cannot be variables.
      dtype: the working float dtype, used to refuse literals that overflow it (default:
        JAX's default float dtype, float32 unless x64 is enabled).
      max_length: the longest accepted text, checked before anything else.

    Returns:
      An :class:`Expression`.

    Raises:
      ExpressionError: naming the problem and its column.

    Example:
      >>> f = parse("3x^2 + 1")
      >>> float(f(2.0))
      13.0
      >>> str(f.sympy)
      '3*x**2 + 1'
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(f"expression is {len(text)} characters; limit {max_length}")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("expression is empty", text)
    if isinstance(variables, str):
        variables = (variables,)
    if variables is not None:
        variables = check_variables(variables, text)

    tree, columns = _syntax_tree(text, stripped, dtype)
    validator = Validator(text, columns, variables, float_limit(dtype))
    try:
        validator.visit(tree)
    except RecursionError:
        raise ExpressionError("expression is too deeply nested", text) from None

    constant = not validator.used
    if variables is None:
        variables = tuple(sorted(validator.used, key=_natural_key)) or ("x",)
    if constant:
        warnings.warn(
            f"expression `{stripped}` does not depend on {', '.join(variables)}: "
            "its derivative is 0 and Newton's method is undefined",
            ExpressionWarning,
            stacklevel=2,
        )
    return Expression(stripped, tuple(variables), tree, constant)


def _syntax_tree(text: str, stripped: str, dtype: Any) -> tuple[ast.AST, list[int]]:
    """The Python AST of the text (not yet checked), and each source character's column."""
    lead = len(text) - len(text.lstrip())
    try:
        tokens = tokenize(stripped)
    except ExpressionError as err:  # report columns in the text as given
        raise ExpressionError(err.reason, text, (err.column or 0) + lead or None) from None
    tokens = [Token(t.kind, t.text, t.column + lead) for t in tokens]
    check_nesting(text, tokens)
    check_literals(text, tokens, dtype)
    source, columns = rewrite(tokens)

    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as err:
        offset = (err.offset or 1) - 1
        column = columns[min(offset, len(columns) - 1)] if columns else None
        raise ExpressionError(syntax_message(err, source, offset), text, column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested", text) from None
    return tree, columns
