"""What the program knows of a method's init and step: :class:`StepModel`, from one trace
of one run (:func:`step_model`).

:class:`jaxcalc.engine.program.Program` replays the traced step for every run; the
analyses of the trace (:mod:`jaxcalc.engine.traces`) tell it which state is shared by all
runs, which per-step counts are constants, and whether the step can run on each leaf of a
pytree point on its own (:attr:`StepModel.coordinatewise`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend.core import jaxpr_as_fun

from jaxcalc.engine.traces import VECTOR, constant_outputs, coordinatewise, depends, primitives

__all__ = ["StepModel", "leafwise", "step_model"]


@dataclass
class StepModel:
    """What the program needs to know of a method's init and step (from their traces).

    Attributes:
      hyper_axes: per hyperparameter, -1 (one value per run) or None (shared, or unset).
      nones: the hyperparameters that are not set (static None).
      public: the method's set hyperparameters, in the order ``step_fun`` takes them.
      state_tree, n_leaves: the structure of one run's state and its number of leaves.
      state_axes: per state leaf, -1 (per run) or None (one value shared by every run).
      step_fun, step_tree: the traced step of one run and the structure of its outputs.
      static: the per-step counts that are the same constants at every step.
      coordinatewise: whether init and step treat every coordinate of the point on its own
        (:func:`jaxcalc.engine.traces.coordinatewise`); only asked of pytree objectives
        that keep the runs axis first.
      signature: the primitives of the init and step traces, in order.
    """

    hyper_axes: dict[str, int | None]
    nones: dict[str, None]
    public: list[str]
    state_tree: Any
    n_leaves: int
    state_axes: Any
    step_fun: Callable
    step_tree: Any
    static: dict[str, Any]
    coordinatewise: bool = False
    signature: tuple = ()


def step_model(program, d: int, dtype, hyper) -> StepModel:
    """Trace one run's init and step once and analyse them (see :class:`StepModel`).

    One trace of a single run's step serves every analysis here and the program itself
    (``method_one`` replays this jaxpr): tracing a method such as optax's L-BFGS with
    its zoom line search costs as much as XLA's compile of the whole program. ``program``:
    the :class:`~jaxcalc.engine.program.Program` whose method and objective are traced; ``d``
    and ``dtype``: one run's point (a whole point, or one leaf of a pytree point).
    """
    method = program.method
    hyper_axes = {k: (None if v is None or jnp.ndim(v) == 0 else -1) for k, v in hyper.items()}
    nones = {k: None for k, v in hyper.items() if v is None}  # "not set" (static)
    x_one = jnp.zeros((d,), dtype)
    names = sorted(k for k in hyper if k not in nones)
    hyper_one = [jnp.zeros((), jnp.asarray(hyper[k]).dtype) for k in names]

    def named(values) -> dict[str, Any]:
        return {**dict(zip(names, values, strict=True)), **nones}

    init_jaxpr, state_one = jax.make_jaxpr(
        lambda x0, *h: program.init_one(x0, named(h)), return_shape=True
    )(x_one, *hyper_one)
    vary_init = depends(init_jaxpr.jaxpr, [True, *(hyper_axes[k] is not None for k in names)])
    state_leaves, state_tree = jax.tree.flatten(state_one)
    # shared state: not varying at init and only fed by shared inputs in a step (all
    # state is per run when it is frozen at each run's stop, for final_metrics)
    shared = [not v and not method.final_state for v in vary_init]
    public = [k for k in names if not k.startswith("_")]
    flat_p = [jnp.zeros((), jnp.asarray(hyper[k]).dtype) for k in public]
    p_vary = [hyper_axes[k] is not None for k in public]

    n_state = len(state_leaves)

    def flat_step(x, f, g, *rest):
        st = jax.tree.unflatten(state_tree, rest[:n_state])
        values = rest[n_state : n_state + len(public)]
        hp = {**dict(zip(public, values, strict=True)), **nones}
        rows = rest[n_state + len(public)] if program.minibatch else None
        new_state, out, counts = program.step_parts(x, f, g, st, hp, rows)
        return jax.tree.leaves(new_state), out, counts

    zeros_state = [jnp.zeros(s.shape, s.dtype) for s in state_leaves]
    # a minibatch step also takes its batch's training rows (B,), per run
    batch_one = ()
    if program.minibatch:
        batch_one = (jnp.zeros((program.fun.minibatch.batch_size,), jnp.int32),)
    step_args = (x_one, jnp.zeros((), dtype), x_one, *zeros_state, *flat_p, *batch_one)
    step_jaxpr, step_shape = jax.make_jaxpr(flat_step, return_shape=True)(*step_args)
    _, _, counts_shape = step_shape
    n_counts = len(jax.tree.leaves(counts_shape))
    n_outputs = len(step_jaxpr.jaxpr.outvars)
    while True:
        vary_step = depends(
            step_jaxpr.jaxpr,
            [True, True, True, *(not s for s in shared), *p_vary, *(True for _ in batch_one)],
        )[: len(state_leaves)]
        now = [s and not v for s, v in zip(shared, vary_step, strict=True)]
        if now == shared:
            break
        shared = now
    # counts that are the same constants at every step (every optax method's): not
    # carried per run, but computed at the end from the steps each run took
    constant = jax.tree.unflatten(
        jax.tree.structure(counts_shape),
        constant_outputs(step_jaxpr, range(n_outputs - n_counts, n_outputs)),
    )
    static = {
        name: value
        for name, value in constant.items()
        if all(leaf is not None for leaf in jax.tree.leaves(value, is_leaf=lambda v: v is None))
    }
    return StepModel(
        hyper_axes=hyper_axes,
        nones=nones,
        public=public,
        state_tree=state_tree,
        n_leaves=len(state_leaves),
        state_axes=jax.tree.unflatten(state_tree, [None if s else program.axis for s in shared]),
        step_fun=jaxpr_as_fun(step_jaxpr),
        step_tree=jax.tree.structure(step_shape),
        static=static,
        coordinatewise=program.axis == 0
        and leafwise(d, init_jaxpr, step_jaxpr, state_leaves, step_shape),
        signature=(primitives(init_jaxpr.jaxpr), primitives(step_jaxpr.jaxpr)),
    )


def leafwise(d, init_jaxpr, step_jaxpr, state_leaves, step_shape) -> bool:
    """Whether the traced init and step treat every coordinate of the point on its own,
    with state leaves that are scalars or one number per coordinate, and a step that
    leaves f and the gradient at the new point to the engine."""
    shapes = [tuple(leaf.shape) for leaf in state_leaves]
    if any(s not in ((), (d,)) for s in shapes):
        return False
    _, out, _ = step_shape
    if out["value"] is not None or out["grad"] is not None:
        return False
    n_in = len(init_jaxpr.jaxpr.invars)
    init = coordinatewise(init_jaxpr.jaxpr, [True] + [False] * (n_in - 1), d)
    n_step = len(step_jaxpr.jaxpr.invars)
    points = [True, False, True, *(s == (d,) for s in shapes)]
    step = coordinatewise(step_jaxpr.jaxpr, points + [False] * (n_step - len(points)), d)
    if init is None or step is None:
        return False
    # the state leaves (init's outputs, the step's first), then the new point
    vectors = [s == (d,) for s in shapes]
    for kinds in (init[: len(shapes)], step[: len(shapes) + 1]):
        for kind, vector in zip(kinds, [*vectors, True], strict=False):
            if kind is None or (kind == VECTOR) > vector:
                return False
    return all(k is not None and k != VECTOR for k in step[len(shapes) + 1 :])
