"""The secant method for one-dimensional minimization: secant steps on the root of f'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.protocol import Evaluations, Fun, Optimizer, StepResult
from jaxcalc.optimizers.registry import register

__all__ = ["Secant", "secant_second_point"]

# scipy.optimize.newton's relative and absolute offset of its second point (no fprime, no x1)
_OFFSET = 1e-4


def secant_second_point(x0: jax.Array) -> jax.Array:
    """The second starting point, as ``scipy.optimize.newton`` chooses it (no ``x1``):
    ``x1 = x0 (1 + 1e-4) + (1e-4 if x0 >= 0 else -1e-4)``."""
    x1 = x0 * (1 + _OFFSET)
    return x1 + jnp.where(x1 >= 0, _OFFSET, -_OFFSET)


class SecantState(NamedTuple):
    previous: jax.Array  # x_{k-1}, shape (1,)
    previous_grad: jax.Array  # f'(x_{k-1}), shape (1,)
    first: jax.Array  # True until the first step succeeds (previous is then x1)
    uncounted: jax.Array  # gradient evaluations made in init, not yet reported (int32)


@dataclass(frozen=True)
class Secant(Optimizer):
    """The secant method on ``f'``: Newton's method with ``f''`` replaced by a difference
    quotient of the last two derivatives. One-dimensional only.

    .. math::

        x_{k+1} = x_k - f'(x_k) \\frac{x_k - x_{k-1}}{f'(x_k) - f'(x_{k-1})}

    It seeks a stationary point (a root of ``f'``), with no line search and no descent
    safeguard, so it may end at a maximum (the engine's curvature check then says
    "non_minimum"). Near a root with ``f'' != 0`` it converges with order
    ``(1 + sqrt 5) / 2``; on a quadratic ``f'`` is linear and one step lands on the
    stationary point.

    Starting points, as ``scipy.optimize.newton(fprime_of_f, x0)`` (its secant method,
    no ``fprime`` and no ``x1``), so that scipy is an exact oracle:

    * the second point is ``x1 = x0 (1 + 1e-4) + (1e-4 if x0 >= 0 else -1e-4)``
      (:func:`secant_second_point`); ``f'(x1)`` is evaluated in :meth:`init` and counted in
      the first step's evaluations;
    * the first step uses ``x0`` and ``x1``; of the two, the one where ``|f'|`` is larger
      (``x1`` on a tie) plays ``x_k`` and is kept for the second step, the other plays
      ``x_{k-1}`` (scipy orders its pair so before its loop; textbooks leave the order open).

    When ``f'(x_k) == f'(x_{k-1})`` the step is undefined: the point stays and the step is
    reported as failed (the engine calls a run "stalled" after ``patience`` such steps).
    Each later step costs one evaluation of ``f`` and ``f'`` (the engine's, at the new
    point). It has no hyperparameters.

    Example:
      >>> import jaxcalc
      >>> t = jaxcalc.optimize("course_x2_minus_6x_plus_1", "secant", [0.0], 10)
      >>> float(t.final_params[0]), str(t.status)  # f' = 2x - 6 is linear: one step
      (3.0, 'converged')

    Reference: R. L. Burden and J. D. Faires, Numerical Analysis (section 2.3, Newton's
    method and its extensions: the secant method), or any numerical-analysis text;
    J. Nocedal and S. J. Wright, Numerical Optimization, 2nd ed. (2006), chapter 6 (the
    secant condition behind quasi-Newton methods) and chapter 11 (nonlinear equations);
    J. Dawani, Hands-On Mathematics for Deep Learning (Packt, 2020), the optimization
    chapter. Starting points: ``scipy.optimize.newton`` (SciPy 1.17).
    """

    dims: ClassVar[tuple[int, ...]] = (1,)  # the dimensions it runs in

    name: str = "secant"
    reference: str = (
        "Burden & Faires, Numerical Analysis, section 2.3; starting points as scipy.optimize.newton"
    )

    def check_objective(self, objective, dim: int) -> None:
        if dim != 1:
            raise ConfigError(
                f"secant: the secant method is one-dimensional; got {dim} coordinates"
            )
        super().check_objective(objective, dim)

    def init(self, fun: Fun, x: jax.Array, hyper, key) -> SecantState:
        x1 = secant_second_point(x)
        return SecantState(x1, jax.grad(fun)(x1), jnp.asarray(True), jnp.int32(1))

    def step(self, fun, x, value, grad, state: SecantState, hyper) -> StepResult:
        # x_k is x itself, except at the first step: there x_k is the one of x0 (= x) and
        # x1 (in the state) where |f'| is larger, x1 on a tie (scipy's order; see above).
        x_is_current = ~state.first | (jnp.abs(state.previous_grad) < jnp.abs(grad))
        current = jnp.where(x_is_current, x, state.previous)
        current_grad = jnp.where(x_is_current, grad, state.previous_grad)
        previous = jnp.where(x_is_current, state.previous, x)
        previous_grad = jnp.where(x_is_current, state.previous_grad, grad)

        difference = current_grad - previous_grad
        defined = jnp.all(difference != 0)
        safe = jnp.where(defined, difference, 1.0)
        x_new = jnp.where(defined, current - current_grad * (current - previous) / safe, x)
        moved = SecantState(current, current_grad, jnp.asarray(False), jnp.int32(0))
        stayed = state._replace(uncounted=jnp.int32(0))
        return StepResult(
            x_new,
            jax.tree.map(lambda new, old: jnp.where(defined, new, old), moved, stayed),
            Evaluations.of(g=state.uncounted),
            failed=~defined,
        )

    def state_size(self, dim: int) -> int:
        return 2 * dim + 2


register("secant", Secant)
