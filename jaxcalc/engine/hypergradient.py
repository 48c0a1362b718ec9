"""Gradients of a whole run's loss with respect to its hyperparameters.

:func:`hypergradient` differentiates the loss after ``steps`` steps (the final value, or
the mean over the recorded points ``x_0 .. x_T``) with respect to the learning rate,
momentum, a schedule's parameters or any other float hyperparameter, through the
optimizer's own ``init`` and ``step``: reverse mode over a ``lax.scan``. The scan is cut
into blocks of about ``sqrt(steps)`` steps under :func:`jax.checkpoint`, so the backward
pass keeps one state per block and recomputes a block's steps when it gets there: memory
grows like ``sqrt(steps)``, not ``steps``, at the price of one more forward pass.

Every run (start x sweep point) gets its own loss and gradient, one ``vmap`` lane each.
Methods whose step has a data-dependent loop (a line search) cannot be differentiated in
reverse mode; they are refused with a :class:`ConfigError` before anything runs. The
jitted program is kept like the engine's (per objective, method, steps and the names of
the hyperparameters), so calls that change only values reuse it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.engine import cache, plan
from jaxcalc.engine.options import (
    check_run_arguments,
    resolve_methods,
    resolve_objective,
    resolve_tree_starts,
)
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import Optimizer
from jaxcalc.optimizers.schedules import callable_schedules

__all__ = ["HyperGradient", "hypergradient"]

LOSSES = ("final", "mean")
_CALLABLE_HINT = (
    'give it as jc.schedule("exponential_decay", init_value=..., ...) or a dict to '
    "differentiate its float parameters (learning_rate.init_value, ...)"
)


@dataclass(frozen=True)
class HyperGradient:
    """A run's loss and its gradient with respect to hyperparameters, per run.

    With ``B`` starts and sweep shape ``S`` (one axis per swept hyperparameter):

    Attributes:
      loss: ``S + (B,)``: f after the last step (``"final"``) or the mean of f over
        ``x_0 .. x_T`` (``"mean"``).
      gradient: per hyperparameter in ``wrt``, ``S + (B,)``: d loss / d hyperparameter.
      finite: ``S + (B,)``: False where the loss or a gradient is not finite (the run
        diverged); those entries are reported, never dropped.
      hyperparameters, sweep: as in :class:`~jaxcalc.engine.Trajectory`.
      wrt, loss_kind, steps, checkpoint_every: the arguments used.
    """

    loss: np.ndarray
    gradient: dict[str, np.ndarray]
    finite: np.ndarray
    hyperparameters: dict[str, Any]
    sweep: tuple[str, ...]
    wrt: tuple[str, ...]
    loss_kind: str
    steps: int
    checkpoint_every: int


def _block_size(steps: int, checkpoint_every: int | None) -> int:
    if checkpoint_every is None:
        return max(1, math.isqrt(steps))
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
        raise ConfigError(f"checkpoint_every must be a whole number >= 1; got {checkpoint_every!r}")
    if not 1 <= checkpoint_every <= steps:
        raise ConfigError(
            f"checkpoint_every must be from 1 to steps ({steps}); got {checkpoint_every}"
        )
    return checkpoint_every


def _run_loss(method: Optimizer, fun, steps: int, block: int, kind: str):
    """loss(x0, hyper, key) of one run: a scan of checkpointed blocks of steps."""

    # the hyperparameters are an argument of each block, never a value captured from an
    # earlier trace (jax.checkpoint may reuse a block's trace)
    @partial(jax.checkpoint, static_argnums=(2,))
    def run_block(carry, hyper, n: int):
        def one_step(carry, _):
            x, state, total = carry
            value, grad = jax.value_and_grad(fun)(x)
            res = method.step(fun, x, value, grad, state, hyper)
            return (res.x, res.state, total + value), None

        carry, _ = jax.lax.scan(one_step, carry, None, length=n)
        return carry

    def loss(x0, hyper, key):
        state = method.init(fun, x0, hyper, key)
        carry = (x0, state, jnp.zeros((), x0.dtype))
        blocks, rest = divmod(steps, block)
        if blocks:
            carry, _ = jax.lax.scan(
                lambda c, _: (run_block(c, hyper, block), None), carry, None, length=blocks
            )
        if rest:
            carry = run_block(carry, hyper, rest)
        x, _, total = carry
        final = fun(x)
        return final if kind == "final" else (total + final) / (steps + 1)

    return loss


def _program(method, fun, steps, block, loss, names, static_none):
    """The jitted batch function: per-run loss and gradient, ``vmap`` over runs."""
    run_loss = _run_loss(method, fun, steps, block, loss)

    def lane(x0_run, values, seed_run, start_run):
        key = jax.random.fold_in(jax.random.key(seed_run), start_run)

        def of(chosen):
            hyper = {**values, **chosen, **static_none}
            return run_loss(x0_run, hyper, key)

        return jax.value_and_grad(of)({k: values[k] for k in names})

    return jax.jit(jax.vmap(lane))


def _differentiable(method: Optimizer, grid, wrt) -> tuple[list[str], tuple[str, ...]]:
    """The hyperparameters with a value (``settable``) and those to differentiate by,
    refusing with a :class:`ConfigError` a ``wrt`` that names a callable schedule or a
    hyperparameter without a value, and a method left with nothing to differentiate by."""
    settable = [k for k, v in grid.resolved.items() if v is not None]
    names = tuple(settable if wrt is None else ([wrt] if isinstance(wrt, str) else list(wrt)))
    fixed = callable_schedules(method)
    for k in names:
        if k in fixed:
            raise ConfigError(
                f"hypergradient: {method.name}.{k} follows a callable schedule, whose numbers "
                f"are compiled in and cannot be differentiated; {_CALLABLE_HINT}; "
                f"differentiable: {', '.join(settable) or 'none'}"
            )
        if k not in settable:
            raise ConfigError(
                f"hypergradient: {method.name} has no float hyperparameter {k!r} with a "
                f"value; it has: {', '.join(settable) or 'none'}"
            )
    if not names:
        because = (
            f" ({', '.join(fixed)} follows a callable schedule, whose numbers are compiled in; "
            f"{_CALLABLE_HINT})"
            if fixed
            else ""
        )
        raise ConfigError(
            f"hypergradient: {method.name} has no float hyperparameter with a value to "
            f"differentiate by{because}"
        )
    return settable, names


def _call(program, method: Optimizer, *args):
    """Run the compiled program, refusing a method whose step loops until a test holds
    (reverse mode cannot go through a ``while_loop``) with a :class:`ConfigError`."""
    try:
        return program(*args)
    except (jax.errors.JAXTypeError, ValueError, TypeError) as err:
        if "while_loop" in str(err) or "Reverse-mode" in str(err) or "reverse-mode" in str(err):
            raise ConfigError(
                f"hypergradient: {method.name} cannot be differentiated in reverse mode (its "
                "step has a loop that runs until a test holds, such as a line search); use a "
                "method with a fixed step (gd, sgd, adam, ...)"
            ) from None
        raise


def hypergradient(
    objective: Any,
    optimizer: str | Optimizer | Any,
    x0: Any,
    steps: int,
    *,
    wrt: str | Sequence[str] | None = None,
    loss: str = "final",
    seed: int = 0,
    checkpoint_every: int | None = None,
    **hyperparameters: Any,
) -> HyperGradient:
    """d(loss of a whole run) / d(hyperparameters), per run, through the compiled steps.

    Args:
      objective, optimizer, x0, steps, seed, **hyperparameters: as :func:`optimize` takes
        them (a list sweeps; a schedule's float parameters are hyperparameters such as
        ``learning_rate.init_value``). Every run takes exactly ``steps`` steps: no
        stopping test applies. ``x0`` may be a pytree (a model's parameters; a batch of
        starts has the same leading axis on every leaf), so an objective from data
        (:func:`jaxcalc.objectives.data_objective`) can be differentiated through; one
        with minibatches is refused (the runs here see the full training loss).
      wrt: the hyperparameters to differentiate by (default: every one with a value). A
        hyperparameter given as a callable (an optax schedule function) has its numbers
        compiled in: it cannot be differentiated, and with nothing else to differentiate
        by a :class:`ConfigError` says so; give the schedule as :func:`jaxcalc.schedule`
        or a dict to differentiate its float parameters.
      loss: ``"final"`` (f after the last step) or ``"mean"`` (f averaged over
        ``x_0 .. x_T``).
      checkpoint_every: steps per checkpointed block (default ``isqrt(steps)``): the
        backward pass stores one optimizer state per block.

    Returns:
      A :class:`HyperGradient`.

    Example:
      >>> h = hypergradient(lambda x: (x**2).sum(), "gd", [1.0], 10, learning_rate=0.1)
      >>> round(float(h.gradient["learning_rate"]), 6)  # d/dlr (1 - 2 lr)^20 at lr = 0.1
      -0.576461
    """
    check_run_arguments(steps, 1, seed)
    if loss not in LOSSES:
        raise ConfigError(f"loss must be 'final' or 'mean'; got {loss!r}")
    block = _block_size(steps, checkpoint_every)
    [(method, given)] = resolve_methods([(optimizer, hyperparameters)])
    fun, name, dim = resolve_objective(objective)
    fun, starts, single, _ = resolve_tree_starts(fun, x0, name, dim)
    if getattr(fun, "minibatch", None) is not None:
        raise ConfigError(
            f"hypergradient: {name} reads minibatches; the hypergradient differentiates runs "
            "on the full training loss: build the objective without batch_size"
        )
    method.check_objective(fun, starts.shape[1])
    layout = plan.lay_out([(method, given)], starts, seed)
    grid = layout.grids[0]
    settable, names = _differentiable(method, grid, wrt)
    runs, dtype = layout.runs, layout.run_x0.dtype
    per_run = {
        k: np.asarray(
            layout.run_hyper[k]
            if k in layout.run_hyper
            else np.full((runs,), layout.shared_hyper[k]),
            dtype,
        )
        for k in settable
    }
    seeds, start_index = layout.run_hyper["_seed"], layout.run_hyper["_start"]
    key = (
        "hypergradient",
        objective if isinstance(objective, str) else fun,
        cache.method_key(method),
        int(steps),
        block,
        loss,
        names,
        tuple(sorted(per_run)),
        tuple(sorted(layout.static_none)),
    )
    program = cache.take(cache.COMPILED, key)
    if program is None:
        program = _program(method, fun, steps, block, loss, names, layout.static_none)
    cache.keep_compiled(key, program)
    value, grads = _call(program, method, layout.run_x0, per_run, seeds, start_index)
    value = np.asarray(value)
    grads = {k: np.asarray(v) for k, v in grads.items()}
    finite = np.isfinite(value)
    for v in grads.values():
        finite &= np.isfinite(v)
    lead = (*grid.sweep_shape, starts.shape[0]) if grid.sweep else (starts.shape[0],)

    def shaped(a: np.ndarray) -> np.ndarray:
        a = a.reshape(lead)
        return np.take(a, 0, axis=len(lead) - 1) if single else a

    return HyperGradient(
        loss=shaped(value),
        gradient={k: shaped(v) for k, v in grads.items()},
        finite=shaped(finite),
        hyperparameters={
            k: (np.asarray(v, np.float64) if k in grid.sweep else v)
            for k, v in grid.resolved.items()
        },
        sweep=grid.sweep,
        wrt=names,
        loss_kind=loss,
        steps=int(steps),
        checkpoint_every=block,
    )
