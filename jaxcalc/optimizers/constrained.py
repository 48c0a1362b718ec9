"""Constrained optimization in the one engine: projection, Newton-KKT and multipliers.

(Over 500 lines: three methods that share the constraints option, its checks before
tracing and the search along a projection arc.)

Three methods, each for one run, mapped over runs by the engine like every optimizer:

* :class:`ProjectedGradientDescent` (``projected_gd``): ``x <- P_C(x - t grad f(x))`` onto
  one set ``C`` (:class:`~jaxcalc.constraints.Box`, ``Ball``, ``Simplex``), with a fixed
  step or backtracking along the projection arc;
* :class:`LagrangeNewton` (``lagrange_newton``): equality constraints ``h(x) = 0``, Newton's
  method on the KKT system with the multipliers in the state, globalised by an l1 merit
  function;
* :class:`AugmentedLagrangian` (``augmented_lagrangian``): equalities and inequalities
  ``g(x) <= 0``, the method of multipliers with a bound-constrained BFGS inner solve per
  outer step (a box stays in the subproblem) and a penalty update.

The constraints come from the objective when ``fun`` is a constrained
:class:`~jaxcalc.objectives.Objective`, or from the option ``constraints`` (a tuple of
constraint objects or relation strings such as ``"x + y = 1"``, read in the variables
``x, y, z`` or ``x1..xn``). A method that finds none, or constraints of a kind it cannot
handle, raises :class:`ConfigError` from ``check_objective``, before anything is traced.
Each reports ``constraint_violation`` per run (``Trajectory.metrics``).

Multiplier convention: ``L(x, lambda, mu) = f(x) + lambda.h(x) + mu.g(x)``, ``mu >= 0``.

Stopping: besides the engine's gradient test (right where no constraint is active),
each method reports its own first-order (KKT) test with the hyperparameter ``tol``
(default 1e-8; never below 100 machine epsilons, so 1.2e-5 in float32). The engine's
curvature check looks at the Hessian of f alone: where f's Hessian is indefinite at a
constrained minimiser (hs071), pass ``check_curvature=False``.

Evaluation counts are those of f (function, gradient, Hessian); evaluations of the
constraint functions are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxcalc.constraints import (
    Box,
    Constraint,
    bind_variables,
    default_variables,
    equality_values,
    inequality_values,
    total_violation,
)
from jaxcalc.errors import ConfigError
from jaxcalc.lapack import blocked
from jaxcalc.optimizers.protocol import Evaluations, Fun, Optimizer, Requires, StepResult
from jaxcalc.optimizers.registry import register

__all__ = ["CONSTRAINED_NAMES", "AugmentedLagrangian", "LagrangeNewton", "ProjectedGradientDescent"]

_NW = "J. Nocedal and S. J. Wright, Numerical Optimization, 2nd ed., Springer, 2006"
_MULTIPLIER_LIMIT = 1e20  # safeguard of Birgin and Martinez (2014), Algorithm 4.1


def _tolerance(hyper: Mapping[str, Any], x: jax.Array) -> Any:
    """``tol``, raised to 100 machine epsilons of x's dtype (1.2e-5 in float32)."""
    return jnp.maximum(hyper["tol"], 100 * jnp.finfo(x.dtype).eps)


def _normalised_constraints(method: str, given: Any) -> tuple[Constraint | str, ...] | None:
    """The ``constraints`` option as a tuple (hashable: it keys compiled programs)."""
    if given is None:
        return None
    if isinstance(given, Constraint | str):
        given = (given,)
    if not isinstance(given, list | tuple) or not given:
        raise ConfigError(
            f"{method}.constraints: expected constraints (Box, Ball, Simplex, Equality, "
            f"Inequality or relation strings), got {given!r}"
        )
    for c in given:
        if not isinstance(c, Constraint | str):
            raise ConfigError(f"{method}.constraints: not a constraint: {c!r}")
    return tuple(given)


def _lstsq(a: jax.Array, b: jax.Array) -> jax.Array:
    """The minimum-norm least-squares solution of ``a x = b`` (by the SVD; mapped over
    runs, in blocks that LAPACK runs on the calling thread: :mod:`jaxcalc.lapack`)."""
    return blocked(lambda a, b: jnp.linalg.lstsq(a, b)[0], *a.shape)(a, b)


@dataclass(frozen=True)
class _Constrained(Optimizer):
    """Common ground: the ``constraints`` option, normalised when it is set, and the check
    of an objective's constraints before tracing."""

    requires: ClassVar[Requires] = Requires(constraints=True)
    curvature_check: ClassVar[bool] = False  # f alone need not be convex at a KKT point

    def __post_init__(self) -> None:
        given = self.options.get("constraints")
        if given is not None and _normalised_constraints(self.name, given) != given:
            raise ConfigError(
                f"{self.name}.constraints: give a tuple of constraints, or set them with "
                "with_options(constraints=...)"
            )

    def with_options(self, **options: Any) -> Optimizer:
        if "constraints" in options and "constraints" in self.options:
            options["constraints"] = _normalised_constraints(self.name, options["constraints"])
        return super().with_options(**options)

    def check_objective(self, objective: Any, dim: int) -> None:
        super().check_objective(objective, dim)
        self._checked(_constraints(self, objective, dim))

    def _checked(self, found: tuple[Constraint, ...]) -> tuple[Constraint, ...]:
        """``found`` when this method handles constraints of these kinds (else refused)."""
        return found


def _constraints(method: Optimizer, fun: Fun, dim: int) -> tuple[Constraint, ...]:
    """The constraints of this run: the objective's or the option's (not both)."""
    own = tuple(getattr(fun, "constraints", ()) or ())
    option = method.options.get("constraints")
    if option is not None and own:
        raise ConfigError(
            f"{method.name}: constraints given twice (the objective has {len(own)}; the "
            "option constraints has more): give them in one place"
        )
    if option is not None:
        return bind_variables(option, default_variables(dim))
    if not own:
        raise ConfigError(
            f"{method.name} needs constraints: use a constrained objective "
            "(objectives.constrained, e.g. 'rosenbrock_disk') or the option constraints=..."
        )
    return own


def _multipliers_metrics(prefix: str, values: jax.Array) -> dict[str, jax.Array]:
    return {f"{prefix}_{i}": values[i] for i in range(values.shape[0])}


class _ArcSearch(NamedTuple):
    point: jax.Array  # the accepted point (x when none was found)
    value: jax.Array
    evaluations: jax.Array
    success: jax.Array


def _arc_search(fun, x, value, grad, arc, first_step, hyper, max_trials) -> _ArcSearch:
    """Backtracking along a projection arc ``t -> arc(t)``: the largest
    ``t = first_step * shrink^k`` (k < max_trials) with a finite
    ``f(arc(t)) <= f(x) + c1 grad.(arc(t) - x)`` (Bertsekas 1999, eq. 2.42)."""

    def accepted(x_t, f_t):
        return jnp.isfinite(f_t) & (f_t <= value + hyper["c1"] * jnp.vdot(grad, x_t - x))

    def cond(c):
        k, _, _, _, ok = c
        return (k < max_trials) & ~ok

    def body(c):
        k, t, _, _, _ = c
        t = t * hyper["shrink"]
        x_t = arc(t)
        f_t = fun(x_t)
        return k + 1, t, x_t, f_t, accepted(x_t, f_t)

    x0 = arc(first_step)
    f0 = fun(x0)
    k, _, x_t, f_t, ok = jax.lax.while_loop(
        cond, body, (jnp.int32(1), first_step, x0, f0, accepted(x0, f0))
    )
    return _ArcSearch(jnp.where(ok, x_t, x), jnp.where(ok, f_t, value), k, ok)


# ----------------------------------------------------------------------------------------
# Projected gradient descent


@dataclass(frozen=True)
class ProjectedGradientDescent(_Constrained):
    """Projected gradient descent: ``x <- P_C(x - t grad f(x))`` onto one convex set ``C``.

    With ``backtracking=False`` the step ``t`` is ``learning_rate``. With
    ``backtracking=True`` it is the largest ``t = learning_rate * shrink^k`` on the
    *projection arc* ``x(t) = P_C(x - t g)`` with sufficient decrease

    .. math:: f(x(t)) \\le f(x) + c_1\\, g^\\top (x(t) - x),

    Bertsekas' Armijo rule along the projection arc (at most ``max_trials`` trials). The run
    converges when the projected-gradient residual ``|x - P_C(x - grad f(x))|_inf <= tol``,
    the first-order condition for a minimum over ``C``.

    Hyperparameters: ``learning_rate`` (0.1), ``c1`` (1e-4), ``shrink`` (0.5), ``tol``.
    Options: ``constraints`` (one Box, Ball or Simplex, when the objective has none),
    ``backtracking`` (False), ``max_trials`` (30).

    Reference: D. P. Bertsekas, Nonlinear Programming, 2nd ed., Athena Scientific 1999,
    section 2.3 (eq. 2.42, Armijo rule along the projection arc); A. Beck, First-Order
    Methods in Optimization, SIAM 2017, chapter 10 (the projected gradient method).

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("quadratic_on_simplex", "projected_gd", [1/3, 1/3, 1/3], 200)
      >>> t.final_params.round(6).tolist(), t.status
      ([0.6, 0.4, 0.0], 'converged')
    """

    name: str = "projected_gd"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"learning_rate": 0.1, "c1": 1e-4, "shrink": 0.5, "tol": 1e-8}
    )
    options: Mapping[str, Any] = field(
        default_factory=lambda: {"constraints": None, "backtracking": False, "max_trials": 30}
    )
    reference: str = "Bertsekas (1999), section 2.3; Beck (2017), chapter 10"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.options.get("backtracking"), bool):
            raise ConfigError(f"{self.name}.backtracking: must be true or false")

    def _checked(self, found: tuple[Constraint, ...]) -> tuple[Constraint, ...]:
        if len(found) != 1 or found[0].kind != "set":
            shown = ", ".join(repr(c) for c in found)
            raise ConfigError(
                f"{self.name} projects onto one set (Box, Ball or Simplex); got {shown}: "
                "use augmented_lagrangian for functional constraints"
            )
        return found

    def _set(self, fun: Fun, x: jax.Array):
        return self._checked(_constraints(self, fun, x.shape[0]))[0]

    def init(self, fun, x, hyper, key) -> Any:
        return ()

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        s = self._set(fun, x)

        def arc(t):
            return s.project(x - t * grad)

        lr = hyper["learning_rate"]
        if not self.options["backtracking"]:
            x_new = arc(lr)
            value_new, grad_new = jax.value_and_grad(fun)(x_new)
            evaluations, failed = Evaluations.of(f=1, g=1), False
        else:
            search = _arc_search(
                fun,
                x,
                value,
                grad,
                arc,
                jnp.asarray(lr, x.dtype),
                hyper,
                self.options["max_trials"],
            )
            x_new, value_new, ok = search.point, search.value, search.success
            grad_new = jnp.where(ok, jax.grad(fun)(x_new), grad)
            evaluations, failed = Evaluations.of(f=search.evaluations, g=1), ~ok
        residual = jnp.max(jnp.abs(x_new - s.project(x_new - grad_new)))
        return StepResult(
            x_new,
            state,
            evaluations,
            value=value_new,
            grad=grad_new,
            failed=failed,
            converged=residual <= _tolerance(hyper, x),
        )

    def final_metrics(self, fun, x, state) -> dict[str, jax.Array]:
        return {"constraint_violation": self._set(fun, x).violation(x)}

    def state_size(self, dim: int) -> int:
        return 0


# ----------------------------------------------------------------------------------------
# Newton on the KKT system (equality constraints)


class LagrangeNewtonState(NamedTuple):
    multipliers: jax.Array  # (m,): lambda of L = f + lambda.h
    started: jax.Array  # False before the first step (the multipliers are then estimated)


@dataclass(frozen=True)
class LagrangeNewton(_Constrained):
    """Newton's method on the KKT system of ``min f(x)`` subject to ``h(x) = 0``.

    With ``W = hess f(x) + sum_i lambda_i hess h_i(x)`` and ``A = h'(x)`` (``m x n``), each
    step solves

    .. math::
        \\begin{pmatrix} W & A^\\top \\\\ A & 0 \\end{pmatrix}
        \\begin{pmatrix} p \\\\ \\lambda^+ \\end{pmatrix}
        = -\\begin{pmatrix} \\nabla f(x) \\\\ h(x) \\end{pmatrix},

    (Nocedal & Wright eq. 18.9), then backtracks from ``t = 1`` on the l1 merit function
    ``phi(x) = f(x) + nu |h(x)|_1`` with ``nu = penalty + |lambda^+|_inf``, whose directional
    derivative is ``grad f.p - nu |h|_1`` (eq. 18.29); where that is not negative the full
    step is taken (the local method). ``x <- x + t p``, ``lambda <- lambda + t (lambda^+ -
    lambda)``. On a quadratic with linear constraints the first full step is the solution.
    Converges when ``|grad f + A^T lambda|_inf <= tol`` and ``|h|_inf <= tol``.

    The first step uses the least-squares multipliers ``argmin |grad f(x0) + A(x0)^T
    lambda|`` (from the gradient the engine already has; exact at a KKT point), later steps
    the state's. A singular KKT matrix (dependent constraint gradients, or ``W`` singular
    on their null space) gives a non-finite step: the run ends ``diverged_nonfinite``.

    Hyperparameters: ``penalty`` (1.0), ``c1`` (1e-4), ``shrink`` (0.5), ``tol``.
    Options: ``constraints`` (equalities, when the objective has none), ``max_trials`` (30).

    Reference: Nocedal & Wright (2006), section 18.1 (Newton-KKT, Algorithm 18.1) and
    Algorithm 18.3 (line search with a merit function).

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("quadratic_on_line", "lagrange_newton", [2.0, -3.0], 10)
      >>> t.final_params.tolist(), t.event_step
      ([0.5, 0.5], 1)
    """

    requires: ClassVar[Requires] = Requires(hessian=True, constraints=True)

    name: str = "lagrange_newton"
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {"penalty": 1.0, "c1": 1e-4, "shrink": 0.5, "tol": 1e-8}
    )
    options: Mapping[str, Any] = field(
        default_factory=lambda: {"constraints": None, "max_trials": 30}
    )
    reference: str = f"{_NW}, section 18.1 and Algorithm 18.3"

    def _checked(self, found: tuple[Constraint, ...]) -> tuple[Constraint, ...]:
        others = [c for c in found if c.kind != "equality"]
        if others:
            raise ConfigError(
                f"{self.name} takes equality constraints only; got {others[0]!r}: use "
                "augmented_lagrangian for inequalities and sets"
            )
        return found

    def _equalities(self, fun: Fun, x: jax.Array) -> tuple[Constraint, ...]:
        return self._checked(_constraints(self, fun, x.shape[0]))

    def init(self, fun, x, hyper, key) -> LagrangeNewtonState:
        found = self._equalities(fun, x)
        m = equality_values(found, x).shape[0]
        return LagrangeNewtonState(jnp.zeros((m,), x.dtype), jnp.asarray(False))

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        found = self._equalities(fun, x)

        def h_of(z):
            return equality_values(found, z)

        a = jax.jacfwd(h_of)(x)
        estimate = _lstsq(a.T, -grad)  # argmin |grad f + A^T lambda|
        lam = jnp.where(state.started, state.multipliers, estimate)
        n, m = x.shape[0], lam.shape[0]
        w = jax.hessian(fun)(x) + jax.hessian(lambda z: jnp.vdot(lam, h_of(z)))(x)
        w = 0.5 * (w + w.T)
        h = h_of(x)
        kkt = jnp.block([[w, a.T], [a, jnp.zeros((m, m), x.dtype)]])
        solution = blocked(jnp.linalg.solve, *kkt.shape)(kkt, -jnp.concatenate([grad, h]))
        p, lam_plus = solution[:n], solution[n:]

        nu = hyper["penalty"] + jnp.max(jnp.abs(lam_plus), initial=0.0)
        slope = jnp.vdot(grad, p) - nu * jnp.sum(jnp.abs(h))
        merit0 = value + nu * jnp.sum(jnp.abs(h))

        def accepted(t, phi_t):
            return jnp.isfinite(phi_t) & (
                (phi_t <= merit0 + hyper["c1"] * t * slope) | (slope >= 0)
            )

        def trial(t):
            f_t = fun(x + t * p)
            return f_t, f_t + nu * jnp.sum(jnp.abs(h_of(x + t * p)))

        def cond(c):
            k, _, _, _, ok = c
            return (k < self.options["max_trials"]) & ~ok

        def body(c):
            k, t, _, _, _ = c
            t = t * hyper["shrink"]
            f_t, phi_t = trial(t)
            return k + 1, t, f_t, phi_t, accepted(t, phi_t)

        one = jnp.ones((), x.dtype)
        f1, phi1 = trial(one)
        k, t, _, _, ok = jax.lax.while_loop(
            cond, body, (jnp.int32(1), one, f1, phi1, accepted(one, phi1))
        )
        t = jnp.where(ok, t, 0.0)
        x_new = x + t * p
        lam_new = lam + t * (lam_plus - lam)
        value_new, grad_new = jax.value_and_grad(fun)(x_new)
        stationarity = jnp.max(jnp.abs(grad_new + jax.jacfwd(h_of)(x_new).T @ lam_new))
        feasibility = jnp.max(jnp.abs(h_of(x_new)), initial=0.0)
        tol = _tolerance(hyper, x)
        return StepResult(
            x_new,
            LagrangeNewtonState(lam_new, jnp.asarray(True)),
            Evaluations.of(f=k + 1, g=1, h=1),
            value=value_new,
            grad=grad_new,
            failed=~ok,
            converged=(stationarity <= tol) & (feasibility <= tol),
        )

    def final_metrics(self, fun, x, state) -> dict[str, jax.Array]:
        """The violation, and the least-squares multipliers ``argmin |grad f + A^T lambda|``
        at the final point (exact at a KKT point), as ``multiplier_0``, ``multiplier_1``..."""
        found = self._equalities(fun, x)
        a = jax.jacfwd(lambda z: equality_values(found, z))(x)
        lam = _lstsq(a.T, -jax.grad(fun)(x))
        return {
            "constraint_violation": total_violation(found, x),
            **_multipliers_metrics("multiplier", lam),
        }

    def state_size(self, dim: int) -> int:
        return dim * dim


# ----------------------------------------------------------------------------------------
# Augmented Lagrangian (method of multipliers)


@dataclass(frozen=True)
class _Subproblem:
    """One outer step's subproblem: minimise the augmented Lagrangian ``L_rho`` over the
    bounds from the current point, by at most ``inner_steps`` two-metric BFGS steps."""

    fun: Fun
    found: tuple[Constraint, ...]  # the constraints other than boxes
    lam: jax.Array
    mu: jax.Array
    rho: jax.Array
    lower: jax.Array
    upper: jax.Array
    tol: jax.Array
    hyper: Mapping[str, Any]
    options: Mapping[str, Any]

    def penalty_terms(self, z):
        lam, mu, rho = self.lam, self.mu, self.rho
        h, g = equality_values(self.found, z), inequality_values(self.found, z)
        shifted = jnp.maximum(0.0, mu + rho * g)
        return (
            jnp.vdot(lam, h)
            + 0.5 * rho * jnp.vdot(h, h)
            + (jnp.vdot(shifted, shifted) - jnp.vdot(mu, mu)) / (2.0 * rho)
        )

    def lagrangian(self, z):
        return self.fun(z) + self.penalty_terms(z)

    def residual(self, y, g_l):
        """The projected gradient: 0 at a minimum over the bounds."""
        return jnp.max(jnp.abs(y - jnp.clip(y - g_l, self.lower, self.upper)))

    def solve(self, x, value, grad) -> dict[str, jax.Array]:
        """The inner loop's last carry: point ``y``, f and its gradient, ``L_rho`` and its
        gradient, the evaluations spent, and whether the last line search succeeded."""
        identity = jnp.eye(x.shape[0], dtype=x.dtype)
        p0, dp0 = jax.value_and_grad(self.penalty_terms)(x)
        start = {
            "k": jnp.int32(0),
            "y": x,
            "f": value,
            "gf": grad,
            "L": value + p0,
            "gL": grad + dp0,
            "H": identity,
            "fevals": jnp.int32(0),
            "done": self.residual(x, grad + dp0) <= self.tol,
            "ok": jnp.asarray(True),
        }

        def cond(c):
            return (c["k"] < self.options["inner_steps"]) & ~c["done"]

        return jax.lax.while_loop(cond, lambda c: self.inner_step(c, identity), start)

    def inner_step(self, c, identity):
        """One two-metric projection BFGS step on ``L_rho``: the BFGS metric on the free
        variables, the gradient on the variables held at a bound (Bertsekas 1982)."""
        lower, upper, dtype = self.lower, self.upper, identity.dtype
        y, g_l = c["y"], c["gL"]
        active = ((y <= lower) & (g_l > 0)) | ((y >= upper) & (g_l < 0))
        free = (~active).astype(dtype)
        metric = c["H"] * jnp.outer(free, free) + jnp.diag(1.0 - free)
        direction = -metric @ g_l
        descent = jnp.vdot(direction, g_l) < 0
        h_inv = jnp.where(descent, c["H"], identity)
        direction = jnp.where(descent, direction, -g_l)
        search = _arc_search(
            self.lagrangian,
            y,
            c["L"],
            g_l,
            lambda t: jnp.clip(y + t * direction, lower, upper),
            jnp.ones((), dtype),
            self.hyper,
            self.options["max_trials"],
        )
        y_new = search.point
        s = y_new - y
        f_y, gf_y = jax.value_and_grad(self.fun)(y_new)
        p_y, dp_y = jax.value_and_grad(self.penalty_terms)(y_new)
        g_new = gf_y + dp_y
        v = g_new - g_l
        vs = jnp.vdot(v, s)
        first = c["k"] == 0
        scaled = identity * vs / jnp.maximum(jnp.vdot(v, v), 1e-300)
        h_inv = jnp.where(first & (vs > 0), scaled, h_inv)
        rho_bfgs = 1.0 / jnp.where(vs > 0, vs, 1.0)
        left = identity - rho_bfgs * jnp.outer(s, v)
        updated = left @ h_inv @ left.T + rho_bfgs * jnp.outer(s, s)
        curvature = (vs > 1e-10 * jnp.linalg.norm(v) * jnp.linalg.norm(s)) & search.success
        return {
            "k": c["k"] + 1,
            "y": y_new,
            "f": f_y,
            "gf": gf_y,
            "L": f_y + p_y,
            "gL": g_new,
            "H": jnp.where(curvature, updated, identity),
            "fevals": c["fevals"] + search.evaluations + 1,
            "done": (self.residual(y_new, g_new) <= self.tol) | ~search.success,
            "ok": search.success,
        }


class AugmentedLagrangianState(NamedTuple):
    equality_multipliers: jax.Array  # (m,): lambda
    inequality_multipliers: jax.Array  # (p,): mu >= 0
    penalty: jax.Array  # rho
    infeasibility: jax.Array  # the last outer step's |V|_inf, for the penalty update


@dataclass(frozen=True)
class AugmentedLagrangian(_Constrained):
    """The augmented Lagrangian method (method of multipliers, PHR form) for
    ``min f(x)`` subject to ``h(x) = 0`` and ``g(x) <= 0``.

    One engine step is one outer iteration. It minimises, from the current point, the
    augmented Lagrangian

    .. math::
        L_\\rho(x) = f(x) + \\lambda^\\top h(x) + \\frac{\\rho}{2} |h(x)|^2
        + \\frac{1}{2\\rho} \\sum_i \\left( \\max(0, \\mu_i + \\rho g_i(x))^2 - \\mu_i^2 \\right)

    with at most ``inner_steps`` BFGS iterations (backtracking from the full step; stop when
    ``|grad L_rho|_inf <= tol``), then updates the multipliers,
    ``lambda <- lambda + rho h(x)``, ``mu <- max(0, mu + rho g(x))`` (clipped to
    ``[-1e20, 1e20]``), and the penalty: with ``V = max(|h|_inf, |max(g, -mu/rho)|_inf)``
    (``mu`` before the update), ``rho <- min(penalty_growth * rho, max_penalty)`` unless
    ``V <= decrease_ratio * V_previous``. A :class:`~jaxcalc.constraints.Box` stays in the
    subproblem as bounds (as in N&W Algorithm 17.4 and ALGENCAN): the inner BFGS is a
    two-metric projection method (BFGS on the free variables, the gradient on those held
    at a bound, backtracking along the projection arc), and ``tol`` applies to the
    projected gradient ``|x - clip(x - grad L_rho, lower, upper)|_inf``. Other sets become
    functions (a ball ``|x - c|^2 - r^2 <= 0``, a simplex ``sum x = s``, ``-x <= 0``).

    Since ``grad L_rho(x) = grad f + h'^T lambda^+ + g'^T mu^+`` with the updated
    multipliers, the run converges when the inner solve reached ``tol`` and
    ``|h|_inf``, ``max(g, 0)`` and ``max_i |mu_i g_i|`` are all ``<= tol`` (the KKT
    conditions). The engine's counts are those of f: every inner function evaluation and
    gradient evaluates f once.

    Hyperparameters: ``penalty`` (10, the first rho), ``penalty_growth`` (10),
    ``decrease_ratio`` (0.5), ``max_penalty`` (1e8), ``c1`` (1e-4), ``shrink`` (0.5), ``tol``.
    Options: ``constraints``, ``inner_steps`` (50), ``max_trials`` (30).

    Reference: Nocedal & Wright (2006), section 17.4 and Algorithm 17.4 (bound-constrained
    Lagrangian); E. G. Birgin and J. M. Martinez, Practical Augmented Lagrangian Methods
    for Constrained Optimization, SIAM 2014, Algorithm 4.1 (the PHR function, safeguarded
    multipliers and the penalty update used here).

    Example:
      >>> from jaxcalc import optimize
      >>> t = optimize("rosenbrock_disk", "augmented_lagrangian", [0.0, 0.0], 30)
      >>> t.final_params.round(6).tolist()
      [0.786415, 0.617698]
    """

    name: str = "augmented_lagrangian"
    final_state: ClassVar[bool] = True  # final_metrics reports the multipliers
    defaults: Mapping[str, float | None] = field(
        default_factory=lambda: {
            "penalty": 10.0,
            "penalty_growth": 10.0,
            "decrease_ratio": 0.5,
            "max_penalty": 1e8,
            "c1": 1e-4,
            "shrink": 0.5,
            "tol": 1e-8,
        }
    )
    options: Mapping[str, Any] = field(
        default_factory=lambda: {"constraints": None, "inner_steps": 50, "max_trials": 30}
    )
    reference: str = f"{_NW}, Algorithm 17.4; Birgin and Martinez (2014), Algorithm 4.1"

    def __post_init__(self) -> None:
        super().__post_init__()
        steps = self.options.get("inner_steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ConfigError(f"{self.name}.inner_steps: must be an integer >= 1; got {steps!r}")

    def _split(self, fun: Fun, x: jax.Array):
        """(bounds (lower, upper) of the subproblem, the other constraints)."""
        found = _constraints(self, fun, x.shape[0])
        boxes = [c for c in found if isinstance(c, Box)]
        others = tuple(c for c in found if not isinstance(c, Box))
        n = x.shape[0]
        lower = jnp.full((n,), -jnp.inf, x.dtype)
        upper = jnp.full((n,), jnp.inf, x.dtype)
        for box in boxes:  # the intersection of boxes is a box
            lower = jnp.maximum(lower, jnp.broadcast_to(jnp.asarray(box.lower, x.dtype), (n,)))
            upper = jnp.minimum(upper, jnp.broadcast_to(jnp.asarray(box.upper, x.dtype), (n,)))
        return lower, upper, others

    def init(self, fun, x, hyper, key) -> AugmentedLagrangianState:
        _, _, found = self._split(fun, x)
        m = equality_values(found, x).shape[0]
        p = inequality_values(found, x).shape[0]
        return AugmentedLagrangianState(
            jnp.zeros((m,), x.dtype),
            jnp.zeros((p,), x.dtype),
            jnp.asarray(hyper["penalty"], x.dtype),
            jnp.asarray(jnp.inf, x.dtype),
        )

    def step(self, fun, x, value, grad, state: AugmentedLagrangianState, hyper) -> StepResult:
        lower, upper, found = self._split(fun, x)
        lam, mu, rho = state.equality_multipliers, state.inequality_multipliers, state.penalty
        tol = _tolerance(hyper, x)
        sub = _Subproblem(fun, found, lam, mu, rho, lower, upper, tol, hyper, self.options)
        inner = sub.solve(x, value, grad)
        x_new = inner["y"]
        h, g = equality_values(found, x_new), inequality_values(found, x_new)
        infeasibility = jnp.maximum(
            jnp.max(jnp.abs(h), initial=0.0),
            jnp.max(jnp.abs(jnp.maximum(g, -mu / rho)), initial=0.0),
        )
        lam_new = jnp.clip(lam + rho * h, -_MULTIPLIER_LIMIT, _MULTIPLIER_LIMIT)
        mu_new = jnp.clip(jnp.maximum(0.0, mu + rho * g), 0.0, _MULTIPLIER_LIMIT)
        grow = infeasibility > hyper["decrease_ratio"] * state.infeasibility
        rho_new = jnp.where(
            grow & (infeasibility > tol),
            jnp.minimum(hyper["penalty_growth"] * rho, hyper["max_penalty"]),
            rho,
        )
        stationary = sub.residual(x_new, inner["gL"]) <= tol
        feasible = (jnp.max(jnp.abs(h), initial=0.0) <= tol) & (jnp.max(g, initial=0.0) <= tol)
        complementary = jnp.max(jnp.abs(mu_new * g), initial=0.0) <= tol
        return StepResult(
            x_new,
            AugmentedLagrangianState(lam_new, mu_new, rho_new.astype(x.dtype), infeasibility),
            Evaluations.of(f=inner["fevals"], g=inner["k"]),
            value=inner["f"],
            grad=inner["gf"],
            failed=~inner["ok"] & (inner["k"] <= 1),
            converged=stationary & feasible & complementary,
        )

    def final_metrics(self, fun, x, state) -> dict[str, jax.Array]:
        """The violation at the final point and the multipliers the run ended with, as
        ``equality_multiplier_i`` and ``inequality_multiplier_i``."""
        out = {"constraint_violation": total_violation(_constraints(self, fun, x.shape[0]), x)}
        for i in range(state.equality_multipliers.shape[0]):
            out[f"equality_multiplier_{i}"] = state.equality_multipliers[i]
        for i in range(state.inequality_multipliers.shape[0]):
            out[f"inequality_multiplier_{i}"] = state.inequality_multipliers[i]
        return out

    def state_size(self, dim: int) -> int:
        return dim * dim + 2 * dim + 2


#: the constrained methods, in the order optimizer_names() lists them
CONSTRAINED_NAMES = ("projected_gd", "lagrange_newton", "augmented_lagrangian")
for _name, _factory in zip(
    CONSTRAINED_NAMES,
    (ProjectedGradientDescent, LagrangeNewton, AugmentedLagrangian),
    strict=True,
):
    register(_name, _factory)
