"""The suite: function ids -> (builder, compiled kernel), validation, and :func:`bbob` itself."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.objectives.base import ObjectiveError
from jaxcalc.objectives.bbob import functions, instances
from jaxcalc.objectives.bbob.instances import Params

__all__ = ["BBOB_DIMENSIONS", "BBOB_MAX_INSTANCE", "BBOB_NAMES", "BBOBInstance", "bbob"]

#: COCO's problem names of the 24 functions, by function id.
BBOB_NAMES: dict[int, str] = {
    1: "sphere",
    2: "ellipsoid",
    3: "rastrigin",
    4: "bueche_rastrigin",
    5: "linear_slope",
    6: "attractive_sector",
    7: "step_ellipsoid",
    8: "rosenbrock",
    9: "rosenbrock_rotated",
    10: "ellipsoid_rotated",
    11: "discus",
    12: "bent_cigar",
    13: "sharp_ridge",
    14: "different_powers",
    15: "rastrigin_rotated",
    16: "weierstrass",
    17: "schaffers_f7",
    18: "schaffers_f7_ill_conditioned",
    19: "griewank_rosenbrock",
    20: "schwefel",
    21: "gallagher_101_peaks",
    22: "gallagher_21_peaks",
    23: "katsuura",
    24: "lunacek_bi_rastrigin",
}

#: The dimensions of COCO's ``bbob`` suite (the only ones cocoex accepts for it).
BBOB_DIMENSIONS: tuple[int, ...] = (2, 3, 5, 10, 20, 40)

#: Largest instance number accepted (COCO parses instance numbers as unsigned 32-bit values;
#: every seed derived from it stays within the range where the legacy generator is exact).
BBOB_MAX_INSTANCE: int = 2**32 - 1

#: Functions whose ``jax.grad`` is not a meaningful gradient: piecewise constant (f7, the
#: gradient is zero almost everywhere) or nowhere smooth at fine scales (f23, built from
#: ``|2^j z - round(2^j z)|`` for j up to 32). Every other function is differentiable almost
#: everywhere (kinks and the optimum of some transforms lie on sets of measure zero).
_NOT_DIFFERENTIABLE = frozenset({7, 23})


_Core = Callable[[jax.Array, Mapping[str, jax.Array]], jax.Array]
_Builder = Callable[[int, int], tuple[Params, np.ndarray, float]]

_REGISTRY: dict[int, tuple[_Builder, _Core]] = {
    1: (instances.build_f1, functions.core_f1),
    2: (instances.build_f2, functions.core_f2),
    3: (instances.build_f3, functions.core_f3),
    4: (instances.build_f4, functions.core_f4),
    5: (instances.build_f5, functions.core_f5),
    6: (instances.build_f6, functions.core_f6),
    7: (instances.build_f7, functions.core_f7),
    8: (instances.build_f8, functions.core_f8),
    9: (instances.build_f9, functions.core_f9),
    10: (instances.build_f10, functions.core_f10),
    11: (instances.build_f11, functions.core_f11),
    12: (instances.build_f12, functions.core_f12),
    13: (instances.build_f13, functions.core_f13),
    14: (instances.build_f14, functions.core_f14),
    15: (instances.build_f15, functions.core_f15),
    16: (instances.build_f16, functions.core_f16),
    17: (instances.build_f17, functions.core_f17),
    18: (instances.build_f18, functions.core_f17),
    19: (instances.build_f19, functions.core_f19),
    20: (instances.build_f20, functions.core_f20),
    21: (instances.build_f21, functions.core_gallagher),
    22: (instances.build_f22, functions.core_gallagher),
    23: (instances.build_f23, functions.core_f23),
    24: (instances.build_f24, functions.core_f24),
}


def _in_dtype(core: _Core) -> _Core:
    """Cast the instance data to the input's dtype, so float32 stays float32."""

    def run(x, params):
        return core(x, {k: v.astype(x.dtype) for k, v in params.items()})

    run.__doc__ = core.__doc__
    return run


# One compiled kernel per function id; instances differ only in their (traced) data, so a
# kernel compiled for one instance is reused for every other instance of the same shape.
_KERNELS: dict[int, _Core] = {fid: jax.jit(_in_dtype(core)) for fid, (_, core) in _REGISTRY.items()}


@dataclasses.dataclass(frozen=True, eq=False)
class BBOBInstance:
    """One problem of COCO's ``bbob`` suite: function ``f{function_id}``, instance, dimension.

    Attributes:
      function_id: 1..24.
      dimension: D, one of :data:`BBOB_DIMENSIONS`.
      instance: COCO's instance number (the same number as in cocoex problem ids).
      name: e.g. ``"bbob_f3_rastrigin"``.
      x_opt: the optimum COCO reports (``best_parameter``), shape ``(D,)``, read-only. For f5
        it is a corner of the box; for f20 it carries COCO's digits ``4.2096874633 / 2``.
      f_opt: the instance's optimal value (COCO's ``f_opt`` offset; a multiple of 0.01).
      fn: the function, ``(..., D) -> (...)``, pure JAX, jittable, batched over leading axes,
        computed in the input's floating dtype. Equivalent to calling the instance itself.
      lower_bound, upper_bound: the region of interest ``[-5, 5]^D`` (COCO's bounds).
      differentiable: False for f7 (step ellipsoid, piecewise constant) and f23 (Katsuura);
        for every other function ``jax.grad(fn)`` is the true gradient almost everywhere.
      params: the instance's random data as float64 NumPy arrays (what ``fn`` closes over).
    """

    function_id: int
    dimension: int
    instance: int
    name: str
    x_opt: np.ndarray
    f_opt: float
    fn: Callable[[jax.Array], jax.Array]
    differentiable: bool
    params: Mapping[str, np.ndarray] = dataclasses.field(repr=False)
    lower_bound: float = -5.0
    upper_bound: float = 5.0

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` arrays of shape ``(D,)``: the box ``[-5, 5]^D``."""
        d = self.dimension
        return np.full(d, self.lower_bound), np.full(d, self.upper_bound)

    def __call__(self, x) -> jax.Array:
        return self.fn(x)


def _validate(function_id, dimension, instance) -> tuple[int, int, int]:
    def as_int(value, what):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ObjectiveError(f"BBOB {what} must be an integer, got {value!r}")
        return int(value)

    fid = as_int(function_id, "function_id")
    dim = as_int(dimension, "dimension")
    inst = as_int(instance, "instance")
    if fid not in _REGISTRY:
        raise ObjectiveError(f"BBOB function_id must be in 1..24, got {fid}")
    if dim not in BBOB_DIMENSIONS:
        dims = ", ".join(map(str, BBOB_DIMENSIONS))
        raise ObjectiveError(f"BBOB dimension must be one of {dims} (COCO's bbob suite), got {dim}")
    if not 1 <= inst <= BBOB_MAX_INSTANCE:
        raise ObjectiveError(f"BBOB instance must be in 1..{BBOB_MAX_INSTANCE}, got {inst}")
    return fid, dim, inst


def _make_fn(fid: int, dim: int, params: Params, name: str) -> Callable[[jax.Array], jax.Array]:
    kernel = _KERNELS[fid]

    def fn(x):
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            if jnp.issubdtype(x.dtype, jnp.complexfloating):
                raise ObjectiveError(f"{name}: complex input is not supported")
            x = x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))
        if x.ndim == 0 or x.shape[-1] != dim:
            raise ObjectiveError(f"{name}: expected an array of shape (..., {dim}), got {x.shape}")
        return kernel(x, params)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"{name} (COCO bbob f{fid}, D={dim}): (..., {dim}) -> (...).\n\n" + (
        _REGISTRY[fid][1].__doc__ or ""
    )
    return fn


@functools.lru_cache(maxsize=512)
def _cached(fid: int, dim: int, inst: int) -> BBOBInstance:
    builder, _ = _REGISTRY[fid]
    params, x_opt, f_opt = builder(dim, inst)
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    for v in params.values():
        v.setflags(write=False)
    x_opt = np.array(x_opt, dtype=np.float64)
    x_opt.setflags(write=False)
    name = f"bbob_f{fid}_{BBOB_NAMES[fid]}"
    return BBOBInstance(
        function_id=fid,
        dimension=dim,
        instance=inst,
        name=name,
        x_opt=x_opt,
        f_opt=float(f_opt),
        fn=_make_fn(fid, dim, params, name),
        differentiable=fid not in _NOT_DIFFERENTIABLE,
        params=params,
    )


def bbob(function_id: int, dimension: int, instance: int = 1) -> BBOBInstance:
    """The BBOB function ``f{function_id}`` in ``dimension`` D, COCO instance ``instance``.

    Values equal those of ``cocoex.Suite("bbob", "", "")``'s problem ``(function_id,
    dimension, instance)`` (to ~3e-12 relative or better in float64, see the module
    docstring), and so do ``x_opt`` and ``f_opt``. Construction is cached.

    Raises:
      ObjectiveError: ``function_id`` not in 1..24, ``dimension`` not in :data:`BBOB_DIMENSIONS`,
        or ``instance`` not in ``1..2**32 - 1``.
    """
    return _cached(*_validate(function_id, dimension, instance))
