"""Gauss-Newton and Levenberg-Marquardt: methods for ``f(x) = ||r(x)||^2`` that use ``r``.

Both need a residual objective (:class:`jaxcalc.objectives.ResidualObjective`, or any
objective with a ``residuals(x) -> (M,)`` method and value ``fun(x) = ||residuals(x)||^2``):
the engine passes the objective itself as ``fun``, and each step differentiates
``fun.residuals`` with ``jax.jacfwd``. Both declare ``Requires(residuals=True)``, so an
objective without residuals is refused with a :class:`~jaxcalc.errors.ConfigError` before
anything is traced (``Optimizer.check_objective``).

With ``J`` the ``(M, D)`` Jacobian of ``r`` at ``x``, ``g = J^T r`` (so ``grad f = 2 g``) and
``A = J^T J``, the Gauss-Newton model of ``f`` near ``x`` is ``||r + J h||^2``.

Evaluation counts (as in :class:`~jaxcalc.optimizers.Evaluations`): a Jacobian of ``r``
counts as one *gradient* evaluation (``jacfwd`` costs about ``D`` forward passes, which
``jvp`` batches; the residuals come with it), and each evaluation of the residuals at a
trial point (line search or damping trial) counts as one *function* evaluation. The
state carries ``J`` and ``r`` of the current point, so each accepted step evaluates one
Jacobian, at the new point, and returns f and ``grad f = 2 J^T r`` there: the engine does
not evaluate again. The Jacobian at the start is computed by ``init``; it stands for the
gradient evaluation the engine counts at the start.

Stopping: besides the engine's gradient test (``|grad f| <= gtol``), both methods report
convergence from the Gauss-Newton step ``d`` (the least-squares solution of ``J d = -r``,
by the SVD) at the current point when

* ``d`` is small in every coordinate, ``|d_i| <= xtol (|x_i| + xtol)``: ``x`` minimises the
  Gauss-Newton model to ``xtol`` relative (Madsen, Nielsen & Tingleff's second stopping
  criterion, taken componentwise so that parameters of very different sizes, as in NIST's
  Thurber, are each resolved; and on the undamped step, so that a large damping cannot
  fake it); or
* the model predicts a decrease ``||J d||^2 <= 16 eps f``, within the rounding of ``f``:
  no step can show a decrease any more, ``x`` minimises ``f`` to working precision. (With
  a zero residual the model predicts about ``f`` itself, so this never fires early.)

and in both cases ``r`` is orthogonal to every column of ``J`` within ``eps^(1/4)`` (the
cosine test of MINPACK's ``gtol``, loosely: at a minimum the cosines are about
``eps cond(J)``). Without it Gauss-Newton stopped as converged on MGH's Gulf problem at
f = 0.49 with ``|grad f| = 2.5e3``, where its step had become small.

At a minimum with a non-zero residual the gradient test is often out of reach in floating
point (``grad f = 2 J^T r`` is a sum of products of size ``|J| |r|``); these tests are not.
``xtol`` defaults to 1e-10 in float64 and 1e-5 in float32.

References:
  K. Madsen, H. B. Nielsen and O. Tingleff, *Methods for Non-Linear Least Squares
  Problems*, 2nd ed., IMM, Technical University of Denmark, 2004 ("MNT"), sections 3.1
  (Gauss-Newton) and 3.2 (Levenberg-Marquardt, Algorithm 3.16 and eq. 3.14);
  J. J. More, "The Levenberg-Marquardt algorithm: implementation and theory", in
  *Numerical Analysis*, Lecture Notes in Mathematics 630, Springer, 1978, pp. 105-116
  (the scaling ``D``); D. W. Marquardt, J. SIAM 11(2), 431-441, 1963;
  J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer, 2006, ch. 10.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.classical import _full_step_search
from jaxcalc.optimizers.protocol import Evaluations, Fun, Optimizer, Requires, StepResult
from jaxcalc.optimizers.registry import register

__all__ = ["LEAST_SQUARES_NAMES", "GaussNewton", "LevenbergMarquardt"]

_MNT = (
    "K. Madsen, H. B. Nielsen and O. Tingleff, Methods for Non-Linear Least Squares "
    "Problems, 2nd ed., IMM DTU, 2004"
)
_MORE = (
    "J. J. More, The Levenberg-Marquardt algorithm: implementation and theory, "
    "Lecture Notes in Mathematics 630, 1978"
)
# Observations assumed by the memory estimate (the state holds J, M x D, and r): the
# optimizer does not see the objective when the engine asks for ``state_size``.
_ASSUMED_OBSERVATIONS = 100


def _jacobian(residuals, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(J, r)`` at ``x`` from one forward-mode pass (the residuals ride along as aux)."""
    jac, r = jax.jacfwd(lambda z: (residuals(z), residuals(z)), has_aux=True)(x)
    if r.ndim != 1:
        raise ConfigError(f"residuals(x) must return a vector (M,); got shape {r.shape}")
    return jac, r


def _xtol(hyper: Mapping[str, Any], x: jax.Array) -> jax.Array:
    value = hyper.get("xtol")
    if value is None:
        value = 1e-10 if x.dtype == jnp.float64 else 1e-5
    return jnp.asarray(value, x.dtype)


def _gauss_newton_step(
    jac: jax.Array, r: jax.Array, x: jax.Array, value: jax.Array, hyper: Mapping[str, Any]
) -> tuple[jax.Array, jax.Array]:
    """The Gauss-Newton step ``d`` (min-norm least-squares solution of ``J d = -r``) and
    the convergence test of the module docstring."""
    direction = jnp.linalg.lstsq(jac, -r)[0]
    xtol = _xtol(hyper, x)
    small = jnp.all(jnp.abs(direction) <= xtol * (jnp.abs(x) + xtol))
    # MINPACK's orthogonality test, loosely: r within eps^(1/4) of orthogonal to every
    # column of J (the cosines at a minimum are ~eps cond(J))
    column_norms = jnp.sqrt(jnp.sum(jac * jac, axis=0))
    cosines = jnp.abs(jac.T @ r) / jnp.maximum(column_norms * jnp.linalg.norm(r), 1e-300)
    orthogonal = jnp.all(cosines <= jnp.finfo(x.dtype).eps ** 0.25)
    predicted = jnp.sum(jnp.square(jac @ direction))
    at_floor = predicted <= 16 * jnp.finfo(x.dtype).eps * value
    return direction, (small | at_floor) & orthogonal


class LeastSquaresState(NamedTuple):
    """The Jacobian and residuals at the current point."""

    jacobian: jax.Array
    residuals: jax.Array


@dataclass(frozen=True)
class GaussNewton(Optimizer):
    """Gauss-Newton with a backtracking line search on ``f = ||r||^2``.

    Direction: the least-squares solution of ``J h = -r`` (by the SVD, ``jnp.linalg.lstsq``:
    the minimum-norm solution where ``J`` is rank deficient), the minimiser of the
    Gauss-Newton model ``||r + J h||^2``; it is a descent direction,
    ``grad f . h = -2 ||P r||^2 <= 0`` (``P`` the projector onto the range of ``J``). Step:
    backtracking from ``t = 1`` until ``f(x + t h) <= f(x) + c1 t grad f . h``, at most
    ``max_trials`` trials (a failed search leaves ``x`` and counts as a failure; repeated
    failures make the engine call the run "stalled"). Near a minimum with a small residual
    the full step is taken and convergence is fast (quadratic for a zero residual), but
    with a large residual or a nearly rank-deficient ``J`` it can be slow or stall:
    Levenberg-Marquardt is the robust choice.

    Hyperparameters: ``c1`` (sufficient decrease), ``shrink`` (backtracking factor),
    ``xtol`` (step test, see the module docstring; None: 1e-10 in float64, 1e-5 in
    float32). Option: ``max_trials`` (line-search cap, default 30).

    Reference: MNT (2004), section 3.1 (Gauss-Newton with line search, eq. 3.9-3.10);
    Nocedal & Wright (2006), section 10.3.
    """

    requires: ClassVar[Requires] = Requires(residuals=True)

    name: str = "gauss_newton"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"c1": 1e-4, "shrink": 0.5, "xtol": None}
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"max_trials": 30})
    reference: str = f"{_MNT}, section 3.1; Nocedal & Wright (2006), section 10.3"

    def init(self, fun: Fun, x: jax.Array, hyper, key) -> LeastSquaresState:
        return LeastSquaresState(*_jacobian(fun.residuals, x))

    def step(self, fun, x, value, grad, state: LeastSquaresState, hyper) -> StepResult:
        jac, r = state
        direction, converged = _gauss_newton_step(jac, r, x, value, hyper)
        search = _full_step_search(fun, x, value, grad, direction, hyper, self.options)
        h = search.step * direction
        x_new = x + h
        jac_new, r_new = _jacobian(fun.residuals, x_new)
        jac_new = jnp.where(search.success, jac_new, jac)
        r_new = jnp.where(search.success, r_new, r)
        return StepResult(
            x_new,
            LeastSquaresState(jac_new, r_new),
            Evaluations.of(f=search.evaluations, g=search.success.astype(jnp.int32)),
            value=search.value,
            grad=2.0 * (jac_new.T @ r_new),
            failed=~search.success & ~converged,
            converged=converged,
        )

    def state_size(self, dim: int) -> int:
        return (dim + 1) * _ASSUMED_OBSERVATIONS


class LevenbergMarquardtState(NamedTuple):
    """``J`` and ``r`` at the current point, the damping ``mu``, Nielsen's factor ``nu``
    and the scaling ``D`` (More's running maximum of the column norms of ``J``, squared)."""

    jacobian: jax.Array
    residuals: jax.Array
    damping: jax.Array
    factor: jax.Array
    scale: jax.Array


@dataclass(frozen=True)
class LevenbergMarquardt(Optimizer):
    """Levenberg-Marquardt with Nielsen's damping update and More's diagonal scaling.

    Each step solves the damped Gauss-Newton system

    .. math:: (J^\\top J + \\mu D)\\, h = -J^\\top r

    as the linear least-squares problem ``min ||[J; sqrt(mu D)] h + [r; 0]||`` by QR (never
    forming ``J^T J``, whose condition number is ``cond(J)^2``), and takes ``h`` when the
    gain ratio ``rho = (f(x) - f(x + h)) / (L(0) - L(h))`` is positive, where
    ``L(0) - L(h) = h^T (mu D h - J^T r)`` is the decrease the model ``||r + J h||^2``
    predicts. The damping follows Nielsen (MNT 2004, eq. 3.14 and Algorithm 3.16): on
    acceptance ``mu <- mu max(1/3, 1 - (2 rho - 1)^3)``, ``nu <- 2``; on rejection
    ``mu <- mu nu``, ``nu <- 2 nu``, and the step is retried, at most ``max_trials`` times
    per iteration (all rejected: ``x`` stays, the iteration counts as a failure). The
    first ``mu`` is ``damping * max_i A_ii / D_ii`` (``A = J^T J``).

    ``D`` (option ``scaled``, default True) is Marquardt's diagonal scaling as More (1978,
    eq. 6.3) keeps it: ``D_ii = max over iterations of A_ii`` (floored at a tiny positive
    value), which makes the method invariant to rescaling the parameters; NIST's Thurber,
    with parameters from 0.05 to 1300, needs it. ``scaled=False`` gives ``D = I``, the
    textbook method of MNT Algorithm 3.16.

    Hyperparameters: ``damping`` (``tau`` of MNT, default 1e-3), ``xtol`` (step test, see
    the module docstring). Options: ``max_trials`` (damping trials per iteration,
    default 10; ``mu`` grows by ``2^(k(k+1)/2)`` after ``k`` rejections), ``scaled``.

    References: MNT (2004), section 3.2, Algorithm 3.16; More (1978); Marquardt (1963);
    Nocedal & Wright (2006), section 10.3.
    """

    requires: ClassVar[Requires] = Requires(residuals=True)

    name: str = "levenberg_marquardt"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"damping": 1e-3, "xtol": None}
    )
    options: Mapping[str, Any] = field(default_factory=lambda: {"max_trials": 10, "scaled": True})
    reference: str = f"{_MNT}, Algorithm 3.16 (Nielsen's damping); {_MORE} (scaling)"

    def init(self, fun: Fun, x: jax.Array, hyper, key) -> LevenbergMarquardtState:
        jac, r = _jacobian(fun.residuals, x)
        scale = self._scale(jnp.zeros_like(x), jac)
        diagonal = jnp.sum(jac * jac, axis=0)
        damping = jnp.asarray(hyper["damping"], x.dtype) * jnp.max(diagonal / scale)
        tiny = jnp.finfo(x.dtype).tiny
        return LevenbergMarquardtState(
            jac, r, jnp.maximum(damping, tiny), jnp.asarray(2.0, x.dtype), scale
        )

    def _scale(self, previous: jax.Array, jac: jax.Array) -> jax.Array:
        if not self.options["scaled"]:
            return jnp.ones_like(previous)
        floor = jnp.finfo(jac.dtype).eps
        return jnp.maximum(previous, jnp.maximum(jnp.sum(jac * jac, axis=0), floor))

    def step(self, fun, x, value, grad, state: LevenbergMarquardtState, hyper) -> StepResult:
        jac, r, mu0, nu0, scale = state
        g = jac.T @ r  # grad f / 2
        d = x.shape[0]
        big = jnp.asarray(jnp.finfo(x.dtype).max, x.dtype) ** 0.5  # keeps mu * D finite

        def solve(mu):
            stacked = jnp.concatenate([jac, jnp.diag(jnp.sqrt(mu * scale))])
            rhs = jnp.concatenate([-r, jnp.zeros(d, x.dtype)])
            q, upper = jnp.linalg.qr(stacked, mode="reduced")
            return jsl.solve_triangular(upper, q.T @ rhs, lower=False)

        def trial(carry):
            k, mu, nu, *_ = carry
            h = solve(mu)
            f_try = fun(x + h)
            predicted = jnp.vdot(h, mu * scale * h - g)
            rho = (value - f_try) / predicted
            accepted = jnp.isfinite(f_try) & (predicted > 0) & (rho > 0)
            shrink = jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            mu_next = jnp.where(accepted, mu * shrink, jnp.minimum(mu * nu, big))
            nu_next = jnp.where(accepted, 2.0, 2.0 * nu)
            return k + 1, mu_next, nu_next, h, f_try, accepted

        def more(carry):
            k, *_, accepted = carry
            return (k < self.options["max_trials"]) & ~accepted

        _, converged = _gauss_newton_step(jac, r, x, value, hyper)
        start = (
            jnp.int32(0),
            mu0,
            nu0,
            jnp.zeros_like(x),
            value,
            jnp.asarray(False),
        )
        k, mu, nu, h, f_try, accepted = jax.lax.while_loop(more, trial, start)
        h = jnp.where(accepted, h, 0.0)
        x_new = x + h
        jac_new, r_new = _jacobian(fun.residuals, x_new)
        jac_new = jnp.where(accepted, jac_new, jac)
        r_new = jnp.where(accepted, r_new, r)
        tiny = jnp.finfo(x.dtype).tiny
        state_new = LevenbergMarquardtState(
            jac_new, r_new, jnp.maximum(mu, tiny), nu, self._scale(scale, jac_new)
        )
        return StepResult(
            x_new,
            state_new,
            Evaluations.of(f=k, g=accepted.astype(jnp.int32)),
            value=jnp.where(accepted, f_try, value),
            grad=2.0 * (jac_new.T @ r_new),
            failed=~accepted & ~converged,
            converged=converged,
        )

    def state_size(self, dim: int) -> int:
        return (dim + 1) * _ASSUMED_OBSERVATIONS + dim + 2


#: the least-squares methods, in the order optimizer_names() lists them
LEAST_SQUARES_NAMES = ("gauss_newton", "levenberg_marquardt")
register("gauss_newton", GaussNewton)
register("levenberg_marquardt", LevenbergMarquardt)
