"""Least-squares objectives: ``f(x) = ||r(x)||^2`` with the residual vector ``r`` exposed.

A :class:`ResidualObjective` is an :class:`~jaxcalc.objectives.Objective` whose value is the
residual sum of squares

.. math:: f(x) = \\lVert r(x) \\rVert_2^2 = \\sum_{i=1}^{M} r_i(x)^2,
          \\qquad \\nabla f(x) = 2 J(x)^\\top r(x),

with ``J`` the ``(M, dim)`` Jacobian of ``r``. The factor is 1, not 1/2: NIST certifies the
residual sum of squares, so ``f_opt`` of the NIST problems is NIST's certified number. Any
optimizer can minimise it like every other objective; Gauss-Newton and Levenberg-Marquardt
(:mod:`jaxcalc.optimizers.least_squares`) also call :meth:`ResidualObjective.residuals`.

Registered problems (family ``"least_squares"``):

``misra1a``, ``thurber``
    NIST StRD nonlinear regression problems (lower and higher difficulty) with certified
    parameters (``x_opt``) and residual sum of squares (``f_opt``); ``starts`` holds NIST's
    Start 1 and Start 2. Data: :mod:`jaxcalc.nist_strd`.
``exp_decay_fit``, ``logistic_fit``
    curve fits to synthetic data: ``y = a exp(-b t) + c`` (40 points) and
    ``y = K / (1 + exp(-r (t - t0)))`` (31 points), each the noise-free curve plus a fixed,
    exactly reproducible perturbation (no random generator). Their minimisers were computed
    once, offline, by Gauss-Newton in 60-digit mpmath arithmetic on the float64 data, and
    rounded to float64; ``f_opt`` is the 60-digit sum of squares at that rounded point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.nist_strd import MISRA1A, NIST_STRD, THURBER, NonlinearDataset
from jaxcalc.objectives.base import Objective, ObjectiveError
from jaxcalc.objectives.registry import ObjectiveSpec

__all__ = ["SPECS", "ResidualObjective", "from_residuals"]

Residuals = Callable[[jax.Array], jax.Array]


@dataclass(frozen=True, eq=False)
class ResidualObjective(Objective):
    """An objective ``f(x) = ||r(x)||^2`` that also gives its residuals ``r(x)``.

    Build one with :func:`from_residuals` (or pass ``fn=None`` and ``residual_fn``: ``fn``
    is then the sum of squares of ``residual_fn``).

    Attributes:
      residual_fn: the residuals on one point, ``(dim,) -> (M,)``.
      starts: reference starting points ``(k, dim)`` (NIST's Start 1 and Start 2), or None.

    Example:
      >>> import jax.numpy as jnp
      >>> line = from_residuals(lambda x: x[0] + x[1] * jnp.arange(3.0) - jnp.array([1.0, 3, 5]),
      ...                       dim=2, bounds=[-10, 10], name="line")
      >>> float(line(jnp.array([1.0, 2.0])))
      0.0
      >>> line.residuals(jnp.zeros((4, 2))).shape
      (4, 3)
    """

    residual_fn: Residuals | None = field(default=None, repr=False)
    starts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.residual_fn is None:
            raise ObjectiveError(f"{self.name}: a ResidualObjective needs residual_fn")
        if self.batched:
            raise ObjectiveError(f"{self.name}: residual_fn maps one point; batched must be False")
        if self.fn is None:
            object.__setattr__(self, "fn", _sum_of_squares(self.residual_fn))
        if self.starts is not None:
            try:
                starts = np.atleast_2d(np.asarray(self.starts, dtype=np.float64))
            except (TypeError, ValueError):
                raise ObjectiveError(f"{self.name}: starts must be numbers") from None
            if starts.ndim != 2 or starts.shape[1] != self.dim:
                raise ObjectiveError(f"{self.name}: starts must have {self.dim} columns")
            object.__setattr__(self, "starts", starts)
        super().__post_init__()

    def residuals(self, x: Any) -> jax.Array:
        """The residuals at one point ``(dim,) -> (M,)`` or a batch ``(..., dim) -> (..., M)``."""
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ObjectiveError(
                f"objective {self.name} takes points of shape (..., {self.dim}); got {x.shape}"
            )
        if x.ndim == 1:
            return self.residual_fn(x)
        flat = x.reshape(-1, self.dim)
        out = jax.vmap(self.residual_fn)(flat)
        return out.reshape(x.shape[:-1] + out.shape[-1:])

    @property
    def observations(self) -> int:
        """``M``, the number of residuals (found by tracing ``residual_fn``, no evaluation)."""
        shape = jax.eval_shape(self.residual_fn, jax.ShapeDtypeStruct((self.dim,), jnp.float32))
        return int(shape.shape[0])

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out["observations"] = self.observations
        return out


def _sum_of_squares(residual_fn: Residuals) -> Callable[[jax.Array], jax.Array]:
    def fn(x):
        return jnp.sum(jnp.square(residual_fn(x)))

    return fn


def from_residuals(
    residuals: Residuals,
    dim: int,
    bounds: Any,
    *,
    name: str = "residuals",
    x_opt: Any = None,
    f_opt: float | None = None,
    starts: Any = None,
    citation: str = "user residuals",
    description: str = "",
) -> ResidualObjective:
    """The least-squares objective ``f(x) = ||residuals(x)||^2``.

    Args:
      residuals: a JAX function on one point, ``(dim,) -> (M,)``.
      dim: number of parameters.
      bounds: ``(dim, 2)`` box for sampling starts (or one ``[low, high]`` for every
        coordinate).
      name, x_opt, f_opt, starts, citation, description: metadata, as for
        :class:`~jaxcalc.objectives.Objective`; when only ``x_opt`` is given, ``f_opt`` is
        f(x_opt), computed by JAX in the current precision.

    Returns:
      A :class:`ResidualObjective`.
    """
    obj = ResidualObjective(
        name=name,
        dim=dim,
        fn=None,
        bounds=bounds,
        x_opt=x_opt,
        citation=citation,
        description=description,
        residual_fn=residuals,
        starts=starts,
    )
    if x_opt is not None and f_opt is None:
        f_opt = float(obj(jnp.asarray(obj.x_opt)))
    if f_opt is not None:
        object.__setattr__(obj, "f_opt", float(f_opt))
    return obj


# -------------------------------------------------------------------------------------------
# NIST StRD nonlinear regression


def _data(values: np.ndarray, x: jax.Array) -> jax.Array:
    return jnp.asarray(values, x.dtype)


def _misra1a_residuals(b: jax.Array) -> jax.Array:
    t, y = _data(MISRA1A.x, b), _data(MISRA1A.y, b)
    return y - b[0] * (1.0 - jnp.exp(-b[1] * t))


def _thurber_residuals(b: jax.Array) -> jax.Array:
    t, y = _data(THURBER.x, b), _data(THURBER.y, b)
    numerator = b[0] + t * (b[1] + t * (b[2] + t * b[3]))
    denominator = 1.0 + t * (b[4] + t * (b[5] + t * b[6]))
    return y - numerator / denominator


def _nist_spec(
    name: str, data: NonlinearDataset, residual_fn: Residuals, bounds, note: str
) -> ObjectiveSpec:
    dim = data.certified.shape[0]
    citation = f"{NIST_STRD}: {data.name} ({data.url})"
    description = (
        f"NIST StRD {data.name} ({data.difficulty} difficulty, {data.x.shape[0]} observations): "
        f"{data.model}. f = residual sum of squares; x_opt and f_opt are NIST's certified "
        f"values (11 digits); starts = NIST Start 1 and Start 2. {note}"
    )

    def factory(d: int) -> ResidualObjective:
        return ResidualObjective(
            name=name,
            dim=d,
            fn=None,
            bounds=bounds,
            x_opt=data.certified,
            f_opt=data.residual_sum_of_squares,
            citation=citation,
            description=description,
            residual_fn=residual_fn,
            starts=data.starts,
        )

    return ObjectiveSpec(name, factory, default_dim=dim, dims=(dim,), family="least_squares")


# -------------------------------------------------------------------------------------------
# Curve fits to synthetic data

_EXP_INDEX = np.arange(40)
EXP_DECAY_T = 0.25 * _EXP_INDEX
# a fixed perturbation in [-0.05, 0.05], exact in binary: 0.05 * ((37 i mod 17) - 8) / 8
EXP_DECAY_Y = 5.0 * np.exp(-0.7 * EXP_DECAY_T) + 1.0 + 0.05 * ((37 * _EXP_INDEX % 17) - 8) / 8
# minimiser of the sum of squares (60-digit mpmath Gauss-Newton, rounded to float64)
_EXP_DECAY_OPT = np.array([4.964503721552764, 0.693922418698731, 0.998908095817633])
_EXP_DECAY_F = 0.035475592741945715

_LOGISTIC_INDEX = np.arange(31)
LOGISTIC_T = 0.5 * _LOGISTIC_INDEX
LOGISTIC_Y = (
    10.0 / (1.0 + np.exp(-1.2 * (LOGISTIC_T - 6.0))) + 0.1 * ((29 * _LOGISTIC_INDEX % 13) - 6) / 6
)
_LOGISTIC_OPT = np.array([10.0090468925219, 1.1967869838358902, 6.006235951847484])
_LOGISTIC_F = 0.12445152309293242


def _exp_decay_residuals(p: jax.Array) -> jax.Array:
    t, y = _data(EXP_DECAY_T, p), _data(EXP_DECAY_Y, p)
    return y - (p[0] * jnp.exp(-p[1] * t) + p[2])


def _logistic_residuals(p: jax.Array) -> jax.Array:
    t, y = _data(LOGISTIC_T, p), _data(LOGISTIC_Y, p)
    return y - p[0] / (1.0 + jnp.exp(-p[1] * (t - p[2])))


def _fit_spec(
    name: str, residual_fn: Residuals, bounds, x_opt, f_opt, starts, description: str
) -> ObjectiveSpec:
    def factory(d: int) -> ResidualObjective:
        return ResidualObjective(
            name=name,
            dim=d,
            fn=None,
            bounds=bounds,
            x_opt=x_opt,
            f_opt=f_opt,
            citation="jaxcalc's synthetic curve-fitting example (closed-form data and "
            "perturbation, jaxcalc.objectives.residual); the data-fitting setting of Madsen, "
            "Nielsen & Tingleff (2004), Methods for non-linear least squares problems, sec. 1",
            description=description,
            residual_fn=residual_fn,
            starts=starts,
        )

    return ObjectiveSpec(name, factory, default_dim=3, dims=(3,), family="least_squares")


SPECS: list[ObjectiveSpec] = [
    _nist_spec(
        "misra1a",
        MISRA1A,
        _misra1a_residuals,
        [[100.0, 600.0], [5e-5, 1e-3]],
        "Bounds: the box around both starts and the certified values.",
    ),
    _nist_spec(
        "thurber",
        THURBER,
        _thurber_residuals,
        [
            [900.0, 1400.0],
            [900.0, 1600.0],
            [350.0, 650.0],
            [30.0, 90.0],
            [0.6, 1.1],
            [0.25, 0.45],
            [0.02, 0.06],
        ],
        "Bounds: the box around both starts and the certified values; for some parameters "
        "in it the denominator vanishes at a data point (a pole of f), so f is finite almost "
        "everywhere in the box, not everywhere.",
    ),
    _fit_spec(
        "exp_decay_fit",
        _exp_decay_residuals,
        [[0.5, 10.0], [0.05, 3.0], [-2.0, 4.0]],
        _EXP_DECAY_OPT,
        _EXP_DECAY_F,
        [[1.0, 1.0, 0.0], [8.0, 0.2, 2.0]],
        "Exponential decay fit y = a exp(-b t) + c to 40 points t = 0, 0.25, ..., 9.75 of "
        "5 exp(-0.7 t) + 1 plus the perturbation 0.05 ((37 i mod 17) - 8) / 8; "
        "parameters (a, b, c).",
    ),
    _fit_spec(
        "logistic_fit",
        _logistic_residuals,
        [[2.0, 20.0], [0.2, 4.0], [0.0, 12.0]],
        _LOGISTIC_OPT,
        _LOGISTIC_F,
        [[5.0, 0.5, 3.0], [15.0, 2.0, 8.0]],
        "Logistic fit y = K / (1 + exp(-r (t - t0))) to 31 points t = 0, 0.5, ..., 15 of "
        "10 / (1 + exp(-1.2 (t - 6))) plus the perturbation 0.1 ((29 i mod 13) - 6) / 6; "
        "parameters (K, r, t0).",
    ),
]
