"""The :class:`Objective`: a test function with what a comparison needs to know about it."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.errors import JaxcalcError

__all__ = ["Objective", "ObjectiveError"]


class ObjectiveError(JaxcalcError, ValueError):
    """An unknown objective name, a dimension it does not support, or a bad parameter."""


@dataclass(frozen=True, eq=False)
class Objective:
    """An objective function ``R^dim -> R`` with its bounds, known minimum and reference.

    Calling it on one point of shape ``(dim,)`` gives a scalar; on a batch ``(..., dim)`` it
    maps over the leading axes (shape ``(11, 3)`` in, ``(11,)`` out). It is jittable and
    differentiable with ``jax.grad`` wherever the function is, in float32 and float64
    (integer inputs are cast to JAX's default float dtype).

    Attributes:
      name: registry name, e.g. ``"rosenbrock"``.
      dim: number of variables.
      fn: the function on one point ``(dim,) -> ()``, or on a batch when ``batched``.
      bounds: ``(dim, 2)`` array of ``[low, high]`` per coordinate: the box for sampling
        starts and plotting (the search domain of the reference).
      x_opt: a global minimiser ``(dim,)`` within ``bounds``, or None where unknown or where
        none exists.
      f_opt: the minimum over the ``bounds`` box, the search domain of the reference (for
        schwefel, eggholder, holder_table, cross_in_tray and mccormick this is a minimum on
        the box only: they are unbounded below on R^dim); None where unknown or where the
        function has no minimum (``unbounded``).
      minimizers: every known global minimiser, shape ``(k, dim)`` (``x_opt`` is the first).
      citation: where the definition, domain and minimum come from.
      differentiable: False when the function has kinks or steps somewhere (abs, sqrt of
        0, rounding); gradients are then only defined almost everywhere.
      unbounded: True when the function has no minimum in its intended domain (the course's
        x^3, x cos(cx), 2x - 1/x, ... are unbounded below on R); ``f_opt`` is then None.
      batched: ``fn`` already maps over leading axes (no ``vmap`` needed).
      params: extra parameters the function was built with (e.g. ``{"c": 0.15*pi}``).
      constraints: the feasible region, a tuple of :mod:`jaxcalc.constraints` objects
        (empty: unconstrained); ``x_opt`` and ``f_opt`` are then the constrained minimum.
        Build one with :func:`jaxcalc.objectives.constrained`.
      lower_bound: a number f never falls below on all of R^dim. None (the default): the
        unconstrained ``f_opt``, where there is one; ``-inf``: no bound is known (``f_opt``
        holds on the box only). See :attr:`floor`.
    """

    name: str
    dim: int
    fn: Callable[[jax.Array], jax.Array] = field(repr=False)
    bounds: np.ndarray = field(repr=False)
    x_opt: np.ndarray | None = field(default=None, repr=False)
    f_opt: float | None = None
    citation: str = ""
    differentiable: bool = True
    unbounded: bool = False
    batched: bool = False
    minimizers: np.ndarray | None = field(default=None, repr=False)
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    constraints: tuple[Any, ...] = ()
    lower_bound: float | None = None

    @property
    def floor(self) -> float | None:
        """The bound below which f never falls on R^dim, or None where none is known: the
        declared ``lower_bound``, else ``f_opt`` of an unconstrained objective. The engine
        reports a run that ran away on such an objective ``diverged``, never ``unbounded``.
        """
        if self.lower_bound is not None:
            return None if math.isinf(self.lower_bound) else float(self.lower_bound)
        if self.f_opt is None or self.unbounded or self.constraints:
            return None
        return float(self.f_opt)

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int | np.integer) or self.dim < 1:
            raise ObjectiveError(f"{self.name}: dim must be a positive integer, got {self.dim!r}")
        bounds = _floats(self.bounds, f"{self.name}: bounds")
        if bounds.shape == (2,):
            bounds = np.tile(bounds, (self.dim, 1))
        if bounds.shape != (self.dim, 2) or np.any(bounds[:, 0] >= bounds[:, 1]):
            raise ObjectiveError(f"{self.name}: bounds must be (dim, 2) with low < high")
        object.__setattr__(self, "bounds", bounds)
        minimizers, what = self.minimizers, "minimizers"
        if minimizers is None and self.x_opt is not None:
            minimizers, what = self.x_opt, "x_opt"
        if minimizers is not None:
            minimizers = np.atleast_2d(_floats(minimizers, f"{self.name}: {what}"))
            if minimizers.ndim != 2 or minimizers.shape[1] != self.dim:
                raise ObjectiveError(f"{self.name}: {what} must have {self.dim} columns")
            object.__setattr__(self, "minimizers", minimizers)
            object.__setattr__(self, "x_opt", minimizers[0].copy())
        if self.f_opt is not None:
            object.__setattr__(self, "f_opt", float(self.f_opt))

    def __call__(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ObjectiveError(
                f"objective {self.name} takes points of shape (..., {self.dim}); got {x.shape}"
            )
        if self.batched or x.ndim == 1:
            return self.fn(x)
        flat = x.reshape(-1, self.dim)
        return jax.vmap(self.fn)(flat).reshape(x.shape[:-1])

    @property
    def lower(self) -> np.ndarray:
        return self.bounds[:, 0]

    @property
    def upper(self) -> np.ndarray:
        return self.bounds[:, 1]

    def sample(self, key: jax.Array, count: int, dtype: Any = None) -> jax.Array | np.ndarray:
        """``count`` points drawn uniformly in the bounds box, shape ``(count, dim)``:
        ``lower + u * (upper - lower)`` for ``u = jax.random.uniform(key, ...)``.

        Outside a trace the affine map is done by NumPy, rounded as JAX rounds it (one
        product, then one sum) without compiling a program for each operation, and the
        result is a NumPy array."""
        dtype = dtype or jnp.result_type(float)
        shape = (count, self.dim)
        if isinstance(key, jax.core.Tracer):
            u = jax.random.uniform(key, shape, dtype=dtype)
            return jnp.asarray(self.lower, dtype) + u * jnp.asarray(self.upper - self.lower, dtype)
        u = np.asarray(_uniform_program(shape, np.dtype(dtype), key.shape, key.dtype)(key))
        return np.asarray(self.lower, dtype) + u * np.asarray(self.upper - self.lower, dtype)

    def summary(self) -> dict[str, Any]:
        """The metadata as plain Python values (for tables and JSON)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "bounds": self.bounds.tolist(),
            "x_opt": None if self.x_opt is None else self.x_opt.tolist(),
            "f_opt": self.f_opt,
            "differentiable": self.differentiable,
            "unbounded": self.unbounded,
            "citation": self.citation,
            "params": {
                k: float(v) if isinstance(v, int | float) else v for k, v in self.params.items()
            },
        }


@functools.lru_cache(maxsize=16)
def _uniform_program(shape: tuple[int, ...], dtype: np.dtype, key_shape, key_dtype):
    """``jax.random.uniform`` of this shape and dtype, compiled once, with XLA's older CPU
    emitters where it has them (about half the compile time; the draw is integer and
    bit arithmetic, which every emitter computes exactly)."""
    lowered = jax.jit(functools.partial(jax.random.uniform, shape=shape, dtype=dtype)).lower(
        jax.ShapeDtypeStruct(key_shape, key_dtype)
    )
    if jax.default_backend() == "cpu":
        with contextlib.suppress(Exception):  # an XLA without the option compiles as usual
            return lowered.compile(compiler_options={"xla_cpu_use_fusion_emitters": False})
    return lowered.compile()


def _floats(values: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ObjectiveError(f"{what} must be numbers; got {values!r}") from None
