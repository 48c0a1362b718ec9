"""The 24 noiseless BBOB test functions, value-for-value equal to COCO's ``bbob`` suite.

``bbob(function_id, dimension, instance)`` builds one problem of COCO's single-objective,
noiseless ``bbob`` suite (Hansen et al., "Real-parameter black-box optimization benchmarking
2009: noiseless functions definitions", and the COCO platform, https://github.com/numbbo/coco)
and returns it as a :class:`BBOBInstance`: a pure ``jax.numpy`` function plus the instance's
optimum ``x_opt`` / ``f_opt`` and its region of interest ``[-5, 5]^D``.

Two parts, kept apart on purpose:

* **Instance generation** (host side, NumPy/``math`` in float64, cached): COCO derives every
  random quantity of an instance -- the optimum ``x_opt``, the offset ``f_opt``, the rotation
  matrices, the sign patterns of f20/f24 and the peaks of f21/f22 -- from the *legacy* BBOB-2009
  generators, all seeded by ``rseed = function_id + 10000 * instance`` (f4 uses the seed of f3,
  f18 that of f17). The generators are reimplemented here bit for bit in integer arithmetic:

  - :func:`legacy_uniform` -- a Park-Miller "minimal standard" LCG (multiplier 16807, modulus
    2^31 - 1, Schrage's factorisation) feeding a 32-slot Bays-Durham shuffle table, warmed up
    with 40 draws;
  - :func:`legacy_gauss` -- Box-Muller on ``2 n`` uniforms: ``sqrt(-2 ln u_i) cos(2 pi u_{n+i})``;
  - :func:`legacy_rotation` -- a ``D x D`` Gaussian matrix (filled column by column),
    orthonormalised column by column with modified Gram-Schmidt;
  - :func:`legacy_xopt` -- ``8 floor(1e4 u) / 1e4 - 4`` (a zero is replaced by ``-1e-5``);
  - :func:`legacy_fopt` -- ``clip(round(100 * 100 g1 / g2) / 100, -1000, 1000)`` with two
    Gaussians drawn from seeds ``s + 10000 * instance`` and that plus one.

  COCO's suite instance number *is* the instance passed to these generators: the suite's
  "years" (``1-15`` in 2010, ``1-5,51-60`` in 2016, ``1-5,71-80`` in 2018 -- cocoex 2.8's default
  --, ``1-5,91-100`` in 2021, ``1-5,101-110`` from 2023) only choose which instance numbers are
  run; there is no further remapping. Any instance number ``1 <= instance < 2**32`` is accepted.

* **Evaluation** (device side, pure ``jax.numpy``): each function is written once for inputs of
  shape ``(..., D)`` with reductions over the last axis, so it maps over any leading batch axes,
  is jittable, and is differentiable with ``jax.grad`` wherever the function is. The instance's
  random data enter as *arguments* of one jitted kernel per function id, so every instance of a
  function in a given dimension and batch shape reuses the same compiled code. The computation
  runs in the floating dtype of the input (float32 in, float32 out; float64 in, float64 out).
  The sines and cosines (Rastrigin's ``cos(2 pi z)``, Weierstrass, Schaffers, Schwefel,
  Griewank-Rosenbrock, Lunacek, ``T_osz``) and, in float64, ``T_osz``'s ``log``/``exp`` and the
  powers of ``T_asy`` and Schaffers use :mod:`jaxcalc.objectives._fastmath`, vectorisable
  versions (within 2 ulp over the arguments these functions see) that XLA:CPU runs in SIMD
  registers instead of calling a scalar library routine per element.

The package: :mod:`.generators` (instance generation), :mod:`.instances` (the builders),
:mod:`.transforms` and :mod:`.functions` (evaluation), :mod:`.suite` (validation, the
compiled kernels and :func:`bbob`).

The transformations follow COCO's definitions: ``T_osz`` (oscillation, applied to variables or
to the objective value), ``T_asy^beta`` (asymmetry), ``Lambda^alpha`` (diagonal conditioning
``alpha^(i / (2 (D - 1)))``) and the boundary penalty ``f_pen(x) = sum max(0, |x_i| - 5)^2``,
composed in exactly COCO's order per function (see the ``core_f*`` docstrings in
:mod:`.functions`).

Agreement with COCO: against cocoex 2.8.2, over all functions, dimensions and the tested
instances, ``|f - f_coco| <= 3e-12 max(1, |f_coco|)`` in float64, with a large share of values
bit-identical. The rotations, ``R Lambda Q`` products and Gallagher peaks are built in COCO's
exact floating-point order; on the device, matrix products are XLA dot products (last-bit
differences), except for f9, f19 and f23, whose sensitive affine maps are evaluated in COCO's
order with products rounded as in C (see :func:`.transforms.rounded`). f16 computes
``cos(2 pi 3^k t)`` for most ``k`` by the triple-angle recurrence (error ~5e-12 in its
sum). ``x_opt`` equals the optimum COCO reports (``best_parameter``); for f20 COCO reports
``+-4.2096874633 / 2`` although its construction uses ``4.2096874637 / 2``, and we report
COCO's value.
"""

from jaxcalc.objectives.bbob.generators import (
    legacy_fopt,
    legacy_gauss,
    legacy_rotation,
    legacy_uniform,
    legacy_xopt,
)
from jaxcalc.objectives.bbob.suite import (
    BBOB_DIMENSIONS,
    BBOB_MAX_INSTANCE,
    BBOB_NAMES,
    BBOBInstance,
    bbob,
)

__all__ = [
    "BBOB_DIMENSIONS",
    "BBOB_MAX_INSTANCE",
    "BBOB_NAMES",
    "BBOBInstance",
    "bbob",
    "legacy_fopt",
    "legacy_gauss",
    "legacy_rotation",
    "legacy_uniform",
    "legacy_xopt",
]
