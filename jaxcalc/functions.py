"""Inputs of calculus and numerical: functions from callables or expression text, float arrays."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxcalc.errors import ConfigError, ExpressionError
from jaxcalc.expressions import Expression, parse

__all__ = ["as_function", "float_array"]


def as_function(f: Callable | str, *, dim: int | None = None) -> Callable:
    """A JAX-traceable function from a callable or an expression string.

    Args:
      f: a callable, an :class:`~jaxcalc.expressions.Expression`, or expression text.
      dim: when given, an expression must have exactly this many variables.

    Raises:
      ExpressionError: the text is refused, has the wrong number of variables, or ``f`` is
        neither a callable nor text.
    """
    if isinstance(f, str):
        f = _parse_cached(f)
    if isinstance(f, Expression) and dim is not None and f.dim != dim:
        raise ExpressionError(
            f"expression `{f.text}` has {f.dim} variables ({', '.join(f.variables)}); "
            f"expected {dim}"
        )
    if not callable(f):
        raise ExpressionError(
            f"expected a callable or an expression string, got {type(f).__name__}"
        )
    return f


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> Expression:
    # one Expression per text, so functions built from the same text share compilations
    return parse(text)


def float_array(x: Any) -> jax.Array:
    """``x`` as a JAX array of a float dtype (integers become JAX's default float).

    Raises:
      ConfigError: ``x`` is not numbers (a string, a ragged list, ...).
    """
    if isinstance(x, jax.Array) and x.dtype.kind == "f":
        return x  # the common case, without jnp.asarray's ~10 us per call
    try:
        x = jnp.asarray(x)
    except (TypeError, ValueError):
        raise ConfigError(f"expected numbers or an array of them, got {x!r:.60}") from None
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x
