"""Finite differences, their error estimates, D2L's limit table, and derivative checks.

:func:`numeric_derivative` is the working home of the removed ``scipy.misc.derivative``:
vectorised over arrays, jittable, with a default step chosen from the dtype and an
optional error estimate by Richardson extrapolation. :func:`check_derivative` puts the
symbolic, automatic and finite-difference derivatives side by side and diagnoses the
points where they disagree or where the function is not differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.calculus import derivative, gradient
from jaxcalc.errors import ConfigError, ExpressionError
from jaxcalc.expressions import Expression
from jaxcalc.expressions.symbolic import gradient_at
from jaxcalc.formatting import format_number
from jaxcalc.functions import as_function, float_array
from jaxcalc.slopes import (
    SLOPE_KINK,
    SLOPE_NONFINITE_VALUE,
    SLOPE_OK,
    SLOPE_UNDEFINED,
    SLOPE_VERTICAL,
    SlopeDiagnosis,
    diagnose_slope,
    one_sided_slopes,
)

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

_METHODS = ("central", "forward", "backward")


class NumericDerivative(NamedTuple):
    """A finite-difference derivative with its estimated absolute error."""

    value: jax.Array
    error: jax.Array


def default_step(x: jax.Array, method: str = "central") -> jax.Array:
    """The step balancing truncation and round-off error for ``x``'s dtype.

    ``eps**(1/3) * max(1, |x|)`` for central differences (error O(h^2)) and
    ``eps**(1/2) * max(1, |x|)`` for one-sided ones (error O(h)).
    """
    eps = jnp.finfo(x.dtype).eps
    power = 1 / 3 if method == "central" else 1 / 2
    return eps**power * jnp.maximum(1.0, jnp.abs(x))


def _difference(f: Callable, x: jax.Array, h: jax.Array, method: str) -> jax.Array:
    above, below = x + h, x - h  # rounded: divide by the steps actually taken
    if method == "central":
        return (f(above) - f(below)) / (above - below)
    if method == "forward":
        return (f(above) - f(x)) / (above - x)
    return (f(x) - f(below)) / (x - below)


def numeric_derivative(
    f: Callable | str,
    x: Any,
    h: Any = None,
    method: str = "central",
    *,
    estimate_error: bool = False,
) -> jax.Array | NumericDerivative:
    """The first derivative of a vectorised scalar function by finite differences.

    Args:
      f: a function applied elementwise to arrays (callable or expression text).
      x: the points, any shape; integers are cast to floats.
      h: the step (scalar or broadcastable to ``x``). By default the step is chosen per
        point (:func:`adaptive_derivative`): from ``|x| / 2`` down, halving, with
        Richardson extrapolation, keeping the step whose estimated error is smallest. No
        step reaches past 0 (where ``log``, ``sqrt`` or ``1/x`` end), and a step at which
        ``f`` is not finite (past the end of its domain) is never used.
      method: "central" (error O(h^2)), "forward" or "backward" (error O(h)).
      estimate_error: also return an error estimate. With a given ``h``, the value is then
        Richardson's extrapolation of the quotients at ``h`` and ``2h`` (one order more
        accurate), and the error is the size of that correction plus the round-off bound
        ``eps * |f(x)| / h``. By default the estimate comes with the chosen step; it bounds
        the actual error in over 95% of the cases measured (docs/derivatives.md).

    Returns:
      An array shaped like ``x``, or a :class:`NumericDerivative` (value, error). Where
      ``f(x)`` is NaN (outside f's domain), or no step keeps ``f`` finite, the value is NaN
      and its error infinite.

    Example (the course's ``scipy.misc.derivative(f, 2.0)``):
      >>> round(float(numeric_derivative(lambda x: 3 * x**2 + 1, 2.0)), 3)
      12.0
    """
    if method not in _METHODS:
        raise ConfigError(f"method must be one of {', '.join(_METHODS)}; got {method!r}")
    fn = as_function(f, dim=1)
    x = float_array(x)
    if h is None:
        result = adaptive_derivative(fn, x, method)
        return result if estimate_error else result.value
    step = jnp.asarray(h, x.dtype)
    if not estimate_error:
        return _difference(fn, x, step, method)
    d1 = _difference(fn, x, step, method)
    d2 = _difference(fn, x, 2 * step, method)
    p = 2 if method == "central" else 1
    correction = (d1 - d2) / (2**p - 1)
    # round-off: each f value carries ~eps|f|, divided by the step and amplified by the
    # extrapolation weights (2^p + 1) / (2^p - 1) <= 3; doubled for safety
    size = jnp.maximum(jnp.abs(fn(x)), jnp.maximum(jnp.abs(fn(x + step)), jnp.abs(fn(x - step))))
    roundoff = 6 * jnp.finfo(x.dtype).eps * size / step
    return NumericDerivative(d1 + correction, 2 * jnp.abs(correction) + roundoff)


# The adaptive rule. Steps h_j = s 2^-(j+1), s = |x| (1 at x = 0), down to about
# s eps^0.6; the error terms removed by Richardson extrapolation (powers of h), and the
# factor by which the chosen estimate is widened: the estimate is the difference of two
# neighbouring extrapolations (plus round-off), and picking the smallest of many such
# differences favours ones that are small by chance.
_SMALLEST_STEP_POWER = 0.6
_REMOVED_POWERS = {"central": (2, 4), "forward": (1, 2, 3), "backward": (1, 2, 3)}
_ESTIMATE_SAFETY = 1.0
_ROUNDOFF_ULPS = 2.0


def adaptive_derivative(fn: Callable, x: jax.Array, method: str = "central") -> NumericDerivative:
    """The derivative at each point of ``x`` with the step chosen for that point.

    Difference quotients at steps ``h_j = s 2^-(j+1)`` (``s = |x|``, or 1 at 0) are
    extrapolated (Richardson, removing the ``h^2`` and ``h^4`` terms of central
    differences, ``h .. h^3`` of one-sided ones). The error of each extrapolation is
    estimated by its difference to the next one (smaller steps) plus the round-off
    ``eps |f| / h`` amplified by the extrapolation weights; the value with the smallest
    estimate wins. Steps at which ``f`` is not finite are left out, so no quotient spans a
    point where ``f`` leaves its domain; a pole (``1/(x-1)`` seen from near 1) shows up as
    disagreeing extrapolations and is passed over in the same way.
    """
    dt = x.dtype
    eps = float(jnp.finfo(dt).eps)
    count = math.ceil(math.log2(0.5 / eps**_SMALLEST_STEP_POWER)) + 1
    scale = jnp.where(x == 0, 1.0, jnp.abs(x)).astype(dt)
    factors = jnp.asarray(2.0 ** -np.arange(1, count + 1), dt).reshape((count,) + (1,) * x.ndim)
    steps = factors * scale  # (count, *x.shape)
    center = fn(x)
    if method == "central":
        above, below = x + steps, x - steps
    elif method == "forward":
        above, below = x + steps, jnp.broadcast_to(x, steps.shape)
    else:
        above, below = jnp.broadcast_to(x, steps.shape), x - steps
    f_above = fn(above) if method != "backward" else jnp.broadcast_to(center, steps.shape)
    f_below = fn(below) if method != "forward" else jnp.broadcast_to(center, steps.shape)
    quotients = (f_above - f_below) / (above - below)
    finite = jnp.isfinite(f_above) & jnp.isfinite(f_below)
    size = jnp.maximum(jnp.abs(f_above), jnp.abs(f_below))
    size = jnp.maximum(size, jnp.abs(center))
    # round-off of one quotient: each f value carries ~ULPS eps |f|
    roundoff = _ROUNDOFF_ULPS * eps * size / (above - below) * 2
    values, rounds, oks = quotients, roundoff, finite
    for p in _REMOVED_POWERS[method]:
        w = 2.0**p - 1
        values = values[1:] + (values[1:] - values[:-1]) / w
        rounds = rounds[1:] * (w + 2) / w  # the finer quotient's round-off, amplified
        oks = oks[1:] & oks[:-1]
    estimate = jnp.abs(values[:-1] - values[1:]) + rounds[1:]
    valid = oks[:-1] & oks[1:] & jnp.isfinite(estimate)
    estimate = jnp.where(valid, estimate, jnp.inf)
    best = jnp.argmin(estimate, axis=0)
    value = jnp.take_along_axis(values[:-1], best[None], axis=0)[0]
    error = _ESTIMATE_SAFETY * jnp.take_along_axis(estimate, best[None], axis=0)[0]
    defined = jnp.isfinite(error) & ~jnp.isnan(center)
    return NumericDerivative(
        jnp.where(defined, value, jnp.nan).astype(dt), jnp.where(defined, error, jnp.inf).astype(dt)
    )


@dataclass(frozen=True)
class LimitTable:
    """Difference quotients ``(f(x+h) - f(x)) / h`` as ``h -> 0`` (D2L, section 2.4).

    Attributes:
      x: the point; exact: the derivative by automatic differentiation.
      steps, quotients, errors: one row per step (``errors = |quotient - exact|``).
      best: index of the most accurate row; below it round-off error wins over the
        truncation error.
    """

    x: float
    exact: float
    steps: np.ndarray
    quotients: np.ndarray
    errors: np.ndarray
    best: int
    dtype: str

    def rows(self) -> list[dict[str, float | str]]:
        marks = ["" for _ in self.steps]
        marks[self.best] = "best"
        for i in range(self.best + 1, len(self.steps)):
            marks[i] = "round-off wins"
        return [
            {"h": float(h), "quotient": float(q), "error": float(e), "note": m}
            for h, q, e, m in zip(self.steps, self.quotients, self.errors, marks, strict=True)
        ]

    def __str__(self) -> str:
        lines = [
            f"difference quotients at x = {format_number(self.x)} ({self.dtype}); "
            f"derivative {format_number(self.exact, 10)}",
            f"{'h':>10}  {'(f(x+h)-f(x))/h':>20}  {'error':>10}",
        ]
        for row in self.rows():
            lines.append(
                f"{row['h']:>10.0e}  {row['quotient']:>20.12g}  {row['error']:>10.2e}  "
                f"{row['note']}"
            )
        return "\n".join(lines)


def limit_table(f: Callable | str, x: float, steps: Any = None, *, dtype: Any = None) -> LimitTable:
    """D2L's table of forward difference quotients of ``f`` at ``x`` as ``h -> 0``.

    Args:
      f: scalar function of one variable.
      x: the point.
      steps: the steps ``h``; by default ``10^-1 .. 10^-k`` down to just past ``eps``.
      dtype: the float dtype to compute in (default JAX's default float dtype).
    """
    fn = as_function(f, dim=1)
    dt = _float_dtype(dtype)
    if jnp.zeros((), dt).dtype != dt:
        raise ConfigError(
            f"{dt.name} was asked for but JAX computes in {jnp.zeros((), dt).dtype.name}: "
            'enable it first with jax.config.update("jax_enable_x64", True)'
        )
    if steps is None:
        digits = int(-math.log10(float(jnp.finfo(dt).eps)))
        steps = [10.0**-k for k in range(1, digits + 2)]
    try:
        steps_arr = np.asarray(steps, dtype=np.float64)
    except (TypeError, ValueError):
        steps_arr = np.zeros(0)
    if steps_arr.ndim != 1 or steps_arr.size == 0 or not np.all(steps_arr > 0):
        raise ConfigError(f"steps must be a non-empty list of positive numbers; got {steps!r}")
    xj = jnp.asarray(x, dt)
    hs = jnp.asarray(steps_arr, dt)
    quotients = np.asarray((fn(xj + hs) - fn(xj)) / hs, dtype=np.float64)
    exact = float(derivative(fn)(xj))
    errors = np.abs(quotients - exact)
    best = int(np.nanargmin(np.where(np.isfinite(errors), errors, np.inf)))
    return LimitTable(
        float(xj), exact, np.asarray(hs, np.float64), quotients, errors, best, dt.name
    )


def _float_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a float dtype (None: JAX's default float dtype)."""
    if dtype is None:
        return jnp.dtype(jnp.result_type(float))
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or not jnp.issubdtype(dt, jnp.floating):
        raise ConfigError(f"dtype {dtype!r} is not a float dtype; use float32 or float64")
    return dt


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
