"""Quasi-Newton methods beside BFGS: DFP and SR1, each with a dense inverse-Hessian estimate.

Both follow BFGS's recipe (``classical.py``): the direction ``d = -H g`` from the current
estimate ``H`` of the inverse Hessian, a backtracking line search from the full step, then
an update of ``H`` from the step ``s = x_new - x`` and the change of gradient
``y = g_new - g`` so that the new estimate satisfies the secant equation ``H y = s``. They
differ only in the update, written as the pure functions :func:`dfp_update` and
:func:`sr1_update`.

Reference: J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006,
chapter 6.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxcalc.optimizers.classical import _full_step_search, first_step
from jaxcalc.optimizers.line_search import LineSearchResult
from jaxcalc.optimizers.protocol import Evaluations, Fun, Optimizer, StepResult
from jaxcalc.optimizers.registry import register

__all__ = ["DFP", "SR1", "dfp_update", "sr1_update"]

_NW = "J. Nocedal and S. J. Wright, Numerical Optimization, 2nd ed., Springer, 2006"
# y.s must exceed this times |y| |s| for a curvature update (the same test as BFGS's).
_MIN_CURVATURE = 1e-10


def dfp_update(inverse_hessian: jax.Array, s: jax.Array, y: jax.Array) -> jax.Array:
    """The Davidon-Fletcher-Powell update of an inverse-Hessian estimate.

    .. math::

        H_+ = H - \\frac{H y y^T H}{y^T H y} + \\frac{s s^T}{y^T s}

    Requires ``y.s > 0`` and ``y.H.y > 0`` (then ``H_+`` is positive definite when ``H``
    is, and ``H_+ y = s``). It is the BFGS update of the Hessian ``B`` with the roles of
    ``s`` and ``y`` exchanged (the two are dual).

    Args:
      inverse_hessian: ``H``, shape ``(D, D)``, symmetric.
      s: the step ``x_new - x``, shape ``(D,)``.
      y: the change of gradient ``g_new - g``, shape ``(D,)``.

    Returns:
      ``H_+``, shape ``(D, D)``.

    Example:
      >>> dfp_update(jnp.eye(2), jnp.array([1.0, 0.0]), jnp.array([2.0, 0.0]))[0, 0]
      Array(0.5, dtype=float32)

    Reference: Nocedal & Wright (2006), eq. (6.15); W. C. Davidon (1959, published 1991,
    SIAM J. Optim. 1(1)); R. Fletcher and M. J. D. Powell, Comput. J. 6(2), 1963.
    """
    hy = inverse_hessian @ y
    return inverse_hessian - jnp.outer(hy, hy) / jnp.vdot(y, hy) + jnp.outer(s, s) / jnp.vdot(y, s)


def sr1_update(
    inverse_hessian: jax.Array, s: jax.Array, y: jax.Array, skip_threshold: Any = 1e-8
) -> tuple[jax.Array, jax.Array]:
    """The symmetric rank-one update of an inverse-Hessian estimate, with the skip rule.

    .. math::

        v = s - H y, \\qquad H_+ = H + \\frac{v v^T}{v^T y}

    skipped (``H_+ = H``) when ``|v^T y| < r |y| |v|`` with ``r = skip_threshold``, or
    when ``v^T y = 0``. This is N&W's safeguard (6.26), ``|s^T (y - B s)| < r |s| |y - B s|``,
    written for the inverse ``H`` (``s`` and ``y``, ``B`` and ``H`` exchanged), as in
    ``scipy.optimize.SR1(approx_type="inv_hess")``. ``H_+`` satisfies ``H_+ y = s`` and need
    not be positive definite.

    Args:
      inverse_hessian: ``H``, shape ``(D, D)``, symmetric.
      s: the step, shape ``(D,)``.
      y: the change of gradient, shape ``(D,)``.
      skip_threshold: ``r`` (N&W suggest 1e-8).

    Returns:
      ``(H_+, updated)``: the new estimate and whether the update was made (a bool).

    Example:
      >>> h, updated = sr1_update(jnp.eye(2), jnp.array([1.0, 0.0]), jnp.array([2.0, 0.0]))
      >>> h[0, 0], updated
      (Array(0.5, dtype=float32), Array(True, dtype=bool))

    Reference: Nocedal & Wright (2006), eqs. (6.25)-(6.26) and Algorithm 6.2;
    C. G. Broyden, Math. Comp. 21, 1967.
    """
    v = s - inverse_hessian @ y
    denominator = jnp.vdot(v, y)
    updated = (denominator != 0) & (
        jnp.abs(denominator) >= skip_threshold * jnp.linalg.norm(y) * jnp.linalg.norm(v)
    )
    safe = jnp.where(updated, denominator, 1.0)
    return jnp.where(updated, inverse_hessian + jnp.outer(v, v) / safe, inverse_hessian), updated


class _Move(NamedTuple):
    """One quasi-Newton move: the estimate used, the search, the step and new gradient."""

    inverse_hessian: jax.Array  # H after a possible reset to the identity
    descent: jax.Array  # whether -H g was a descent direction (else it was reset)
    search: LineSearchResult
    x: jax.Array
    value: jax.Array
    grad: jax.Array
    s: jax.Array
    y: jax.Array


def _move(fun, x, value, grad, inverse_hessian, hyper, options) -> _Move:
    """``d = -H g`` (``H`` reset to the identity when that is not a descent direction),
    a backtracking line search from the full step along ``d`` (from ``min(1, 1/|g|)``
    while ``H`` is the identity, as BFGS), and ``s``, ``y``."""
    identity = jnp.eye(x.shape[0], dtype=x.dtype)
    direction = -inverse_hessian @ grad
    descent = jnp.vdot(direction, grad) < 0
    h = jnp.where(descent, inverse_hessian, identity)
    direction = jnp.where(descent, direction, -grad)
    initial = jnp.where(jnp.all(h == identity), first_step(grad), 1.0)
    search = _full_step_search(fun, x, value, grad, direction, hyper, options, initial)
    s = search.step * direction
    x_new = x + s
    value_new, grad_new = jax.value_and_grad(fun)(x_new)
    return _Move(h, descent, search, x_new, value_new, grad_new, s, grad_new - grad)


def _scale_identity(h, s, y):
    """``H = (y.s / y.y) I`` in place of ``H = I`` before the first update (N&W eq. 6.20),
    when ``y.s > 0``; also after a reset or a skipped first update, where ``H`` is still
    the identity."""
    identity = jnp.eye(h.shape[0], dtype=h.dtype)
    ys = jnp.vdot(y, s)
    scale = ys / jnp.maximum(jnp.vdot(y, y), 1e-300)
    return jnp.where(jnp.all(h == identity) & (ys > 0), scale * identity, h)


class InverseHessianState(NamedTuple):
    inverse_hessian: jax.Array


def _result(m: _Move, inverse_hessian: jax.Array, reset: jax.Array) -> StepResult:
    """The step a quasi-Newton move makes: one gradient, the line search's f-evaluations,
    the new estimate, and a failed search reported as such."""
    return StepResult(
        m.x,
        InverseHessianState(inverse_hessian),
        Evaluations.of(f=m.search.evaluations, g=1),
        value=m.value,
        grad=m.grad,
        failed=~m.search.success,
        resets=reset.astype(jnp.int32),
    )


@dataclass(frozen=True)
class DFP(Optimizer):
    """Davidon-Fletcher-Powell: a dense inverse-Hessian estimate with the DFP update.

    Direction ``d = -H g``; step from a backtracking line search (full step first, as BFGS);
    update :func:`dfp_update`,
    ``H <- H - H y y^T H / (y^T H y) + s s^T / (y^T s)``, from ``H = I``. When ``d`` is not
    a descent direction, or ``y.s <= 1e-10 |y| |s|`` (the update would lose positive
    definiteness), ``H`` is reset to the identity for that run only, and the reset is
    counted. With exact line searches on a strictly convex quadratic in ``n`` dimensions
    DFP generates conjugate directions and ends at the minimiser with ``H = A^{-1}`` after
    ``n`` steps; with inexact searches it corrects a poor ``H`` more slowly than BFGS.

    Unlike BFGS and SR1 here, ``H = I`` is not first scaled by ``y.s / y.y`` (N&W eq.
    6.20): that makes ``H`` as small as the inverse of the steepest curvature met on the
    first step, and DFP is slow to enlarge too-small eigenvalues of ``H`` (its
    self-correction is weaker than BFGS's, N&W section 6.1). Measured on Rosenbrock from
    the classic start and 15 random ones in [-3, 3]^2 (float64, gtol 1e-8): median 47
    steps (at most 538) from ``H = I``, median 178 (at most 2653) with the scaling.

    Example:
      >>> import jaxcalc
      >>> t = jaxcalc.optimize("booth", "dfp", [0.0, 0.0], 50)
      >>> str(t.status)
      'converged'

    Reference: Nocedal & Wright (2006), section 6.1, eq. (6.15) (its dual, the BFGS
    update, is (6.17)); W. C. Davidon, SIAM J. Optim. 1(1), 1991 (report of 1959); R. Fletcher
    and M. J. D. Powell, "A rapidly convergent descent method for minimization",
    Comput. J. 6(2), 163-168, 1963.
    """

    name: str = "dfp"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"c1": 1e-4, "shrink": 0.5}
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"max_trials": 30})
    reference: str = f"Fletcher & Powell, Comput. J. 6(2), 1963; {_NW}, eq. (6.15)"

    def init(self, fun: Fun, x: jax.Array, hyper, key) -> InverseHessianState:
        return InverseHessianState(jnp.eye(x.shape[0], dtype=x.dtype))

    def step(self, fun, x, value, grad, state: InverseHessianState, hyper) -> StepResult:
        m = _move(fun, x, value, grad, state.inverse_hessian, hyper, self.options)
        identity = jnp.eye(x.shape[0], dtype=x.dtype)
        h = m.inverse_hessian
        ys = jnp.vdot(m.y, m.s)
        curvature_ok = (
            (ys > _MIN_CURVATURE * jnp.linalg.norm(m.y) * jnp.linalg.norm(m.s))
            & (jnp.vdot(m.y, h @ m.y) > 0)
            & m.search.success
        )
        h_new = jnp.where(curvature_ok, dfp_update(h, m.s, m.y), identity)
        return _result(m, h_new, reset=(~m.descent | ~curvature_ok) & m.search.success)

    def state_size(self, dim: int) -> int:
        return dim * dim


@dataclass(frozen=True)
class SR1(Optimizer):
    """Symmetric rank-one quasi-Newton method, on a dense inverse-Hessian estimate ``H``.

    Direction ``d = -H g``; step from a backtracking line search (full step first);
    update :func:`sr1_update` of ``H`` (not of ``B``: no linear solve),
    ``H <- H + v v^T / (v^T y)`` with ``v = s - H y``, skipped when
    ``|v^T y| < skip_threshold |y| |v|`` (N&W's safeguard 6.26 in its inverse form). Before
    the first update ``H = I`` is scaled by ``y.s / y.y`` when ``y.s > 0`` (N&W eq. 6.20;
    on the Rosenbrock starts of :class:`DFP`'s note, at most 70 steps with it, 172 without).

    SR1 does not keep ``H`` positive definite, so ``-H g`` may point uphill: then ``H`` is
    reset to the identity for that run (this step goes along ``-g``) and the reset is
    counted. A skipped update is not a reset. After a failed line search ``H`` returns to
    the identity (as in BFGS). On a quadratic, ``n`` linearly independent steps with
    updates make ``H = A^{-1}`` whatever the line search (N&W Theorem 6.2).

    Example:
      >>> import jaxcalc
      >>> t = jaxcalc.optimize("booth", "sr1", [0.0, 0.0], 50)
      >>> str(t.status)
      'converged'

    Reference: Nocedal & Wright (2006), section 6.2, eqs. (6.25)-(6.26); C. G. Broyden,
    "Quasi-Newton methods and their application to function minimisation", Math. Comp. 21,
    368-381, 1967; A. R. Conn, N. I. M. Gould and P. L. Toint, Math. Prog. 50, 1991.
    """

    name: str = "sr1"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"c1": 1e-4, "shrink": 0.5, "skip_threshold": 1e-8}
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"max_trials": 30})
    reference: str = f"Broyden, Math. Comp. 21, 1967; {_NW}, eqs. (6.25)-(6.26)"

    def init(self, fun: Fun, x: jax.Array, hyper, key) -> InverseHessianState:
        return InverseHessianState(jnp.eye(x.shape[0], dtype=x.dtype))

    def step(self, fun, x, value, grad, state: InverseHessianState, hyper) -> StepResult:
        m = _move(fun, x, value, grad, state.inverse_hessian, hyper, self.options)
        identity = jnp.eye(x.shape[0], dtype=x.dtype)
        h = _scale_identity(m.inverse_hessian, m.s, m.y)
        h_updated, _ = sr1_update(h, m.s, m.y, hyper["skip_threshold"])
        h_new = jnp.where(m.search.success, h_updated, identity)
        return _result(m, h_new, reset=~m.descent & m.search.success)

    def state_size(self, dim: int) -> int:
        return dim * dim


register("dfp", DFP)
register("sr1", SR1)
