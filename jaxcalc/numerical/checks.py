"""Derivative checks: symbolic, automatic and finite-difference derivatives side by side.

:func:`check_derivative` compares them at a point and diagnoses where they disagree or
where the function is not differentiable (a kink, an infinite slope, a non-finite value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.calculus import derivative, gradient
from jaxcalc.errors import ConfigError, ExpressionError
from jaxcalc.expressions import Expression
from jaxcalc.expressions.symbolic import gradient_at
from jaxcalc.formatting import format_number
from jaxcalc.functions import as_function, float_array
from jaxcalc.numerical.differences import adaptive_derivative
from jaxcalc.slopes import (
    SLOPE_KINK,
    SLOPE_NONFINITE_VALUE,
    SLOPE_OK,
    SLOPE_UNDEFINED,
    SLOPE_VERTICAL,
    diagnose_slope,
)

__all__ = ["DerivativeCheck", "check_derivative"]


@dataclass(frozen=True)
class DerivativeCheck:
    """Symbolic, automatic and finite-difference derivatives at one point, side by side.

    Attributes:
      x: the point (float, or a list for a function of a vector).
      value: f(x).
      autodiff: the derivative (gradient) by automatic differentiation.
      finite_difference: central differences.
      left, right: one-sided difference quotients (per coordinate in n-D).
      symbolic: sympy's derivative at x, when f is an expression (else None).
      differentiable: False when the diagnosis found a kink, an infinite slope or a
        non-finite value.
      issues: readable findings; empty when all agree.
    """

    x: Any
    value: float
    autodiff: Any
    finite_difference: Any
    left: Any
    right: Any
    symbolic: Any
    differentiable: bool
    issues: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.differentiable and not self.issues

    def as_dict(self) -> dict[str, Any]:
        def clean(v):
            if v is None:
                return None
            arr = np.asarray(v, dtype=np.float64)
            out = [None if not np.isfinite(a) else float(a) for a in arr.ravel()]
            return out[0] if arr.ndim == 0 else out

        return {
            "x": clean(self.x),
            "value": clean(self.value),
            "autodiff": clean(self.autodiff),
            "finite_difference": clean(self.finite_difference),
            "left": clean(self.left),
            "right": clean(self.right),
            "symbolic": clean(self.symbolic),
            "differentiable": self.differentiable,
            "issues": list(self.issues),
        }


def _along(fn: Callable, point: jax.Array, i: int) -> Callable:
    """f as a function of coordinate ``i`` alone, the others held at ``point``: elementwise
    over an array of values of that coordinate."""
    return jnp.vectorize(lambda s: fn(point.at[i].set(s)))


def _partial_issues(
    name: str, where: str, columns: tuple, symbolic: float | None, rtol: float
) -> list[str]:
    """The findings for one partial derivative (``columns``: autodiff, finite difference,
    its error, left and right slopes, slope code), against sympy's value when given."""
    a, d, d_err, lo, hi, code = columns
    issues: list[str] = []
    shown = format_number(a, 6) if np.isfinite(a) else str(a)
    slopes = f"left slope {format_number(lo, 4)}, right slope {format_number(hi, 4)}"
    if code == SLOPE_NONFINITE_VALUE:
        return issues
    if code == SLOPE_VERTICAL:
        issues.append(
            f"{name}infinite slope at {where} (a vertical tangent): the difference "
            f"quotients grow as the step shrinks; autodiff gives {shown}"
        )
    elif code == SLOPE_KINK:
        if np.isfinite(a):
            issues.append(
                f"{name}not differentiable at {where}: {slopes}; autodiff gives {shown} "
                "(a convention)"
            )
        else:
            issues.append(
                f"{name}autodiff gives {shown} at {where}: f is not differentiable there "
                f"(a corner: {slopes}), as a norm or abs has at 0"
            )
    elif code == SLOPE_UNDEFINED:
        issues.append(
            f"{name}autodiff gives {shown} at {where} although f looks smooth there "
            f"({slopes}): a 0/0 or inf-inf inside the formula (rewrite it, or use float64)"
        )
    elif abs(a - d) > 3 * d_err + rtol * (1 + abs(a)):
        issues.append(
            f"{name}autodiff {format_number(a, 8)} and finite differences "
            f"{format_number(d, 8)} (+- {d_err:.1e}) disagree at {where}"
        )
    checked = symbolic is not None and code == SLOPE_OK and np.isfinite(symbolic)
    if checked and abs(symbolic - a) > rtol * (1 + abs(symbolic)):
        issues.append(
            f"{name}autodiff {format_number(a, 8)} and sympy {format_number(symbolic, 8)} "
            f"disagree at {where}"
        )
    return issues


def _value_issues(fn: Callable, x: jax.Array, value: float, where: str) -> list[str]:
    """What is wrong with f itself at ``x``: not finite (an overflow of the working dtype, a
    point outside f's real domain), or a point where the dtype's spacing hides f's shape."""
    dt = jnp.dtype(x.dtype)
    issues = []
    wide = _value_in_float64(fn, x) if math.isinf(value) and dt != jnp.float64 else None
    if wide is not None and math.isfinite(wide):
        issues.append(
            f"f overflows {dt.name} at {where} (f = {value}; in float64 f = "
            f"{wide:.4g}): compute in float64 (--dtype float64)"
        )
    elif not math.isfinite(value):
        reason = " (outside f's real domain: f is complex there)" if _complex_at(fn, x) else ""
        part = fn.undefined_part(x) if math.isnan(value) and isinstance(fn, Expression) else None
        if part is not None:
            reason += f": {part} is undefined"
        if math.isnan(value):
            reason += "; so is every derivative there (NaN)"
        issues.append(f"f is not finite at {where} (f = {value}){reason}")
    spacing = float(np.max(np.spacing(np.abs(np.asarray(x, dt)))))
    if spacing >= 1.0:
        issues.append(
            f"at {where} adjacent {dt.name} values are {format_number(spacing)} apart: no "
            "resolution below that (more than a period of sin), so f and f' say little about "
            "f near x; compute in float64"
        )
    return issues


def _value_in_float64(fn: Callable, x: jax.Array) -> float | None:
    """f at ``x`` computed in float64 (None when f cannot be evaluated so)."""
    try:
        with jax.enable_x64(True):
            return float(np.asarray(fn(jnp.asarray(np.asarray(x, np.float64)))).reshape(-1)[0])
    except Exception:  # noqa: BLE001 - a callable that insists on its own dtype
        return None


def _complex_at(fn: Callable, x: jax.Array) -> bool:
    """True when f, evaluated on complex numbers, has a finite non-real value at ``x``."""
    try:
        z = fn(jnp.asarray(x).astype(jnp.result_type(x.dtype, jnp.complex64)))
    except Exception:  # noqa: BLE001 - functions that refuse complex input (relu, max, ...)
        return False
    z = complex(np.asarray(z).reshape(-1)[0]) if np.size(z) == 1 else None
    return z is not None and math.isfinite(abs(z)) and abs(z.imag) > 0


def _check_numbers(fn: Callable, vector: bool, x: jax.Array) -> tuple:
    """The numbers :func:`check_derivative` compares at a point: f, autodiff, and per
    coordinate the finite difference with its error estimate and the slope diagnosis
    (left, right, code). Compiled as one program (:data:`_check_program`): called op by op
    they would compile a dozen small programs each."""
    point = jnp.atleast_1d(x)
    autodiff = gradient(fn)(point) if vector else jnp.atleast_1d(derivative(fn)(x))
    rows = []
    for i in range(point.shape[0]):
        line = _along(fn, point, i) if vector else fn
        diag = diagnose_slope(line, point[i], autodiff[i])
        estimate = adaptive_derivative(line, point[i], "central")
        rows.append((estimate.value, estimate.error, diag.left, diag.right, diag.code))
    columns = [jnp.stack(c) for c in zip(*rows, strict=True)]
    return (jnp.reshape(fn(x), ()), autodiff, *columns)


# keyed by the function (by identity) and the shape: further points reuse the program
_check_program = jax.jit(_check_numbers, static_argnums=(0, 1))


def _checked_numbers(fn: Callable, vector: bool, x: jax.Array) -> tuple:
    try:
        hash(fn)
    except TypeError:  # an unhashable callable: compiled for this call alone
        return jax.jit(lambda x: _check_numbers(fn, vector, x))(x)
    return _check_program(fn, vector, x)


def check_derivative(
    f: Callable | str, x: Any, *, rtol: float | None = None, reference: Any = "sympy"
) -> DerivativeCheck:
    """Compare symbolic, automatic and finite-difference derivatives at ``x``, and diagnose.

    Works for scalar functions of one variable (``x`` a number) and of a vector (``x`` of
    shape ``(n,)``, compared per partial derivative). It reports non-finite values, kinks
    (one-sided quotients that disagree: ``abs`` at 0 gives left -1, right 1, while autodiff
    returns its convention 1.0), infinite slopes (``sqrt`` at 0), NaN gradients (the
    2-norm at 0) and disagreements beyond ``rtol`` (default ``sqrt(eps)``-based).

    For an expression, sympy's derivative at ``x`` is the reference
    (:func:`jaxcalc.expressions.symbolic.gradient_at`); ``reference`` may give it instead,
    already computed (one value per coordinate, or None for no reference).

    Example:
      >>> c = check_derivative("abs(x)", 0.0)
      >>> c.differentiable
      False
      >>> c.issues[0][:55]
      'not differentiable at x = 0: left slope -1, right slope'

    """
    fn = as_function(f)
    x = float_array(x)
    vector = x.ndim == 1
    if x.ndim > 1:
        raise ConfigError(f"check_derivative takes one point; got shape {x.shape}")
    if isinstance(fn, Expression):
        expected = 1 if not vector else x.shape[0]
        if fn.dim != expected:
            raise ExpressionError(
                f"expression `{fn.text}` has {fn.dim} variables; the point has {expected}"
            )
    dt = x.dtype
    rtol = rtol if rtol is not None else (1e-3 if dt == jnp.float32 else 1e-6)
    value, ad, fd, fd_err, left, right, codes = (
        np.asarray(a, np.float64) if a.ndim else float(a)
        for a in jax.device_get(_checked_numbers(fn, vector, x))
    )
    codes = [int(c) for c in codes]
    point = jnp.atleast_1d(x)
    if not isinstance(fn, Expression):
        symbolic = None
    elif isinstance(reference, str) and reference == "sympy":
        symbolic = gradient_at(fn, np.asarray(point, np.float64))
    else:
        symbolic = None if reference is None else np.asarray(reference, np.float64).reshape(-1)

    where = f"x = {format_number(float(x))}" if not vector else f"x = {np.asarray(x).tolist()}"
    issues = _value_issues(fn, x, value, where)
    names = [""] if not vector else [f"d/dx{i + 1}: " for i in range(point.shape[0])]
    for i, name in enumerate(names):
        columns = (ad[i], fd[i], fd_err[i], left[i], right[i], codes[i])
        sym_i = None if symbolic is None else symbolic[i]
        issues += _partial_issues(name, where, columns, sym_i, rtol)
    differentiable = math.isfinite(value) and all(c == SLOPE_OK for c in codes)
    if symbolic is not None and not vector:
        symbolic = symbolic[0]
    return DerivativeCheck(
        x=float(x) if not vector else np.asarray(x).tolist(),
        value=value,
        autodiff=float(ad[0]) if not vector else ad,
        finite_difference=float(fd[0]) if not vector else fd,
        left=float(left[0]) if not vector else left,
        right=float(right[0]) if not vector else right,
        symbolic=None if symbolic is None else (float(symbolic) if not vector else symbolic),
        differentiable=differentiable,
        issues=issues,
    )
