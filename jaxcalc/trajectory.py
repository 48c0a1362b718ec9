"""Whole optimizer trajectories for many starts and hyperparameters, as one XLA program.

:func:`optimize` runs one optimizer on one objective from a batch of starts, for every
combination of swept hyperparameters, and records the path. The runs are independent
lanes of one compiled program (``lax.scan`` over steps, ``vmap`` over runs): a run that
converges freezes with its counts intact, and a run that goes non-finite stops at its last
finite point with the step where it failed; no run can change another run's numbers.

Statuses (``Trajectory.status``):

``converged``
    ``|grad f| <= gtol`` at a point where the Hessian (checked when ``dim <= 32``) has no
    negative eigenvalue.
``max_steps``
    ran all ``steps`` without meeting a stopping test.
``diverged_nonfinite``
    f, its gradient or the point became inf/NaN; ``event_step`` is the first bad step and
    the recorded point is the last finite one.
``diverged``
    the point ran away (``max|x| > x_limit``) while f did not decrease.
``unbounded``
    f fell below ``-f_limit``, or the point ran away while f decreased: f looks unbounded
    below.
``stalled``
    the method could make no progress (its line search found no acceptable step, or the
    point did not move) for ``patience`` consecutive steps.
``domain_error_at_start``
    f or its gradient is not finite at the start.
``non_minimum``
    stopped at a stationary point whose Hessian has a negative eigenvalue (a maximum or
    saddle), including a start exactly on one.
``flat_start``
    the gradient is exactly zero at the start but the point is not a verified minimum.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Literal, jaxpr_as_fun

from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.optimizers import Evaluations, Optimizer, check_hyperparameters, get_optimizer

__all__ = [
    "STATUSES",
    "Trajectory",
    "enable_compilation_cache",
    "estimate_bytes",
    "optimize",
    "optimize_many",
    "precompile",
    "precompile_many",
]

STATUSES = (
    "max_steps",
    "converged",
    "diverged_nonfinite",
    "diverged",
    "unbounded",
    "stalled",
    "domain_error_at_start",
    "non_minimum",
    "flat_start",
)
_CODE = {name: i for i, name in enumerate(STATUSES)}
_CURVATURE_CHECK_MAX_DIM = 32
_MAX_STEPS = 10_000_000


@dataclass(frozen=True)
class Trajectory:
    """The recorded paths of a batch of runs, as NumPy arrays.

    With ``B`` starts, sweep shape ``S`` (one axis per swept hyperparameter, in the order
    given) and ``R = steps // record_every`` records after the start:

    Attributes:
      params: ``S + (B, R+1, D)``; ``params[..., 0, :]`` is the start.
      values: ``S + (B, R+1)``, f at the recorded points.
      grad_norms: ``S + (B, R+1)``, Euclidean norm of the gradient there.
      status: ``S + (B,)`` strings (see the module docstring).
      event_step: ``S + (B,)``: the step where the run converged, first went non-finite,
        diverged, stalled or proved unbounded; -1 for ``max_steps``.
      function_evaluations, gradient_evaluations, hessian_evaluations: ``S + (B,)``.
      resets: ``S + (B,)``, curvature-model resets (BFGS).
      final_params: ``S + (B, D)`` after the last step; final_values: ``S + (B,)``.
      hyperparameters: every hyperparameter; swept ones as arrays of their sweep values.
      sweep: the names of the swept hyperparameters, one per leading axis.
      compile_seconds, run_seconds: XLA compilation and execution wall time.
      metrics: the optimizer's extra per-run numbers at the final point, ``S + (B,)`` each
        (e.g. ``constraint_violation``; see ``Optimizer.final_metrics``).

    A single start (D,) gives the same fields without the ``B`` axis.
    """

    objective: str
    optimizer: str
    steps: int
    record_every: int
    params: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    status: np.ndarray
    event_step: np.ndarray
    function_evaluations: np.ndarray
    gradient_evaluations: np.ndarray
    hessian_evaluations: np.ndarray
    resets: np.ndarray
    final_params: np.ndarray
    final_values: np.ndarray
    hyperparameters: dict[str, Any]
    sweep: tuple[str, ...] = ()
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    devices: int = 1
    chunks: int = 1
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def recorded_steps(self) -> np.ndarray:
        """The step number of each record: ``0, record_every, 2*record_every, ...``."""
        return np.arange(self.values.shape[-1]) * self.record_every

    def status_counts(self) -> dict[str, int]:
        names, counts = np.unique(self.status, return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts, strict=True)}

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every array field, by name."""
        return {
            name: getattr(self, name)
            for name in (
                "params",
                "values",
                "grad_norms",
                "status",
                "event_step",
                "function_evaluations",
                "gradient_evaluations",
                "hessian_evaluations",
                "resets",
                "final_params",
                "final_values",
            )
        }

    def to_table(self) -> list[dict[str, Any]]:
        """A tidy table: one row per run, with its hyperparameters, status and counts."""
        sweep_shape = self.status.shape[: len(self.sweep)]
        starts = self.status.shape[len(self.sweep) :]
        rows = []
        for index in itertools.product(*(range(n) for n in sweep_shape)):
            hyper = {
                k: (float(v[index[self.sweep.index(k)]]) if k in self.sweep else v)
                for k, v in self.hyperparameters.items()
            }
            for start in itertools.product(*(range(n) for n in starts)):
                i = index + start
                rows.append(
                    {
                        "objective": self.objective,
                        "optimizer": self.optimizer,
                        **hyper,
                        "start": int(start[0]) if start else 0,
                        "status": str(self.status[i]),
                        "final_value": float(self.final_values[i]),
                        "event_step": int(self.event_step[i]),
                        "function_evaluations": int(self.function_evaluations[i]),
                        "gradient_evaluations": int(self.gradient_evaluations[i]),
                        "hessian_evaluations": int(self.hessian_evaluations[i]),
                    }
                )
        return rows


# ----------------------------------------------------------------------------------------
# One run


@dataclass(frozen=True)
class _Limits:
    gtol: float
    f_limit: float
    x_limit: float
    patience: int


_UNROLL_ROWS = 16  # reductions over the coordinates are unrolled up to this dimension


def _rows(op, a: jax.Array) -> jax.Array:
    """Reduce a runs-last array (D, N) over its coordinates with ``op`` (add, max, and).

    For small D the reduction is written as D-1 elementwise ops, which XLA fuses with their
    producers; a reduce over axis 0 would be a kernel (and a library call) of its own.
    """
    if a.shape[0] <= _UNROLL_ROWS:
        out = a[0]
        for i in range(1, a.shape[0]):
            out = op(out, a[i])
        return out
    reducer = {jnp.add: jnp.sum, jnp.maximum: jnp.max, jnp.logical_and: jnp.all}[op]
    return reducer(a, axis=0)


def _depends(jaxpr, varying: list[bool]) -> list[bool]:
    """Which outputs of ``jaxpr`` depend on the inputs marked ``varying``.

    A conservative dependence analysis (an equation with any varying input makes all its
    outputs varying). The engine uses it to keep optimizer state that is the same for every
    run (optax's step counter when the hyperparameters are shared) as one scalar instead of
    one per run, and to find the per-step counts that are constants.
    """
    vary = {v for v, m in zip(jaxpr.invars, varying, strict=True) if m}
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, Literal) and v in vary for v in eqn.invars):
            vary.update(eqn.outvars)
    return [not isinstance(v, Literal) and v in vary for v in jaxpr.outvars]


def _constant_outputs(closed, wanted: range) -> list[Any]:
    """The values of the outputs ``wanted`` of ``closed`` (a ClosedJaxpr) that depend on no input.

    Only the equations that these outputs need and that depend on no input are evaluated
    (eagerly, as JAX's own jaxpr interpreter does), so finding that a method spends one
    gradient per step neither runs the method's step nor compiles its constant parts.
    Outputs that depend on an input are None.
    """
    jaxpr = closed.jaxpr
    env = dict(zip(jaxpr.constvars, closed.consts, strict=True))
    vary = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, Literal) and v in vary for v in eqn.invars):
            vary.update(eqn.outvars)
    outs = [jaxpr.outvars[i] for i in wanted]
    need = {v for v in outs if not isinstance(v, Literal) and v not in vary}
    todo = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in need for v in eqn.outvars):
            todo.append(eqn)
            need.update(v for v in eqn.invars if not isinstance(v, Literal))

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    with jax.ensure_compile_time_eval():
        for eqn in reversed(todo):
            params = eqn.primitive.get_bind_params(eqn.params)
            subfuns = ()
            if isinstance(params, tuple):  # JAX before 0.7 returned (subfuns, params)
                subfuns, params = params
            out = eqn.primitive.bind(*subfuns, *map(read, eqn.invars), **params)
            results = out if eqn.primitive.multiple_results else [out]
            env.update(zip(eqn.outvars, results, strict=True))
    return [None if not isinstance(v, Literal) and v in vary else np.asarray(read(v)) for v in outs]


def _program(fun, method: Optimizer, limits: _Limits, steps: int, record_every: int):
    """The compiled program for a batch: (x0s (N, D), hyper, records) -> outputs.

    ``hyper`` maps each hyperparameter to one value per run ``(N,)`` (swept) or to one
    scalar shared by all runs ``()``; shared values stay scalars in the program, so a
    method's arithmetic on them (Adam's bias corrections) is done once per step, not once
    per run.

    Layout: inside the loop every array keeps the run axis *last* (structure of arrays:
    ``x`` is ``(D, N)``), so a step is a few fused elementwise passes over contiguous rows;
    the per-run method is written for one run and mapped with ``vmap(..., axis -1)``, the
    objective is mapped the same way and differentiated *after* mapping (``vjp`` of the
    mapped function keeps the run axis last, where ``vmap`` of a gradient would transpose).
    Records are written time-major into one preallocated buffer ``(R+1, D+2, N)`` holding
    the point, f and the gradient norm.

    Per step the engine carries only what it must: the point, f, the gradient, the state
    leaves that differ between runs, and the status, event step and failure count. A
    method whose per-step evaluation counts are constants (every optax method) has its
    counts computed at the end from the step where each run stopped. A stopped run's point,
    f, gradient and counts are frozen; its optimizer state is not (it is never read again).
    """
    gradient_free = method.gradient_free
    records = steps // record_every
    remainder = steps - records * record_every
    running = _CODE["max_steps"]  # a run that has not stopped has this status until the end

    def evaluate(x_rows):
        """f (N,) and its gradient (D, N) at the runs-last points (D, N)."""
        f_rows = jax.vmap(fun, in_axes=-1)
        if gradient_free:
            return f_rows(x_rows), jnp.zeros_like(x_rows)
        value, pullback = jax.vjp(f_rows, x_rows)
        (grad,) = pullback(jnp.ones_like(value))
        return value, grad

    def program(x0s, hyper, records_buffer=None):
        x = x0s.T  # (D, N): runs last
        d, n = x.shape
        hyper_axes = {k: (None if v is None or jnp.ndim(v) == 0 else -1) for k, v in hyper.items()}
        nones = {k: None for k, v in hyper.items() if v is None}  # "not set" (static)

        # -- init ------------------------------------------------------------------------
        def init_one(x0, hyper):
            if method.stochastic:
                key = jax.random.fold_in(jax.random.key(hyper["_seed"]), hyper["_start"])
                return method.init(fun, x0, _public(hyper), key)
            return method.init(fun, x0, hyper)

        x_one = jnp.zeros((d,), x.dtype)
        names = sorted(k for k in hyper if k not in nones)
        hyper_one = [jnp.zeros((), jnp.asarray(hyper[k]).dtype) for k in names]

        def named(values) -> dict[str, Any]:
            return {**dict(zip(names, values, strict=True)), **nones}

        init_jaxpr, state_one = jax.make_jaxpr(
            lambda x0, *h: init_one(x0, named(h)), return_shape=True
        )(x_one, *hyper_one)
        vary_init = _depends(init_jaxpr.jaxpr, [True, *(hyper_axes[k] is not None for k in names)])
        state_leaves, state_tree = jax.tree.flatten(state_one)
        # shared state: not varying at init and only fed by shared inputs in a step (all
        # state is per run when it is frozen at each run's stop, for final_metrics)
        shared = [not v and not method.final_state for v in vary_init]
        public = [k for k in names if not k.startswith("_")]
        flat_p = [jnp.zeros((), jnp.asarray(hyper[k]).dtype) for k in public]
        p_vary = [hyper_axes[k] is not None for k in public]

        def step_parts(x, f, g, state, hp):
            """One run's step: the new state and what the engine reads of the result."""
            res = method.step(fun, x, f, g, state, hp)
            value, grad = res.value, res.grad
            extra = Evaluations.of()
            if gradient_free:
                grad = None
                if value is None:
                    extra = Evaluations.of(f=1)
            elif value is None or grad is None:
                extra = Evaluations.of(f=0 if value is not None else 1, g=1)
                value = grad = None
            counts = {
                "evals": res.evaluations + extra,
                "failed": jnp.asarray(res.failed),
                "resets": jnp.asarray(res.resets, jnp.int32),
            }
            if res.converged is not None:
                counts["converged"] = jnp.asarray(res.converged)
            return res.state, {"x": res.x, "value": value, "grad": grad}, counts

        def flat_step(x, f, g, *rest):
            st = jax.tree.unflatten(state_tree, rest[: len(state_leaves)])
            hp = {**dict(zip(public, rest[len(state_leaves) :], strict=True)), **nones}
            new_state, out, counts = step_parts(x, f, g, st, hp)
            return jax.tree.leaves(new_state), out, counts

        # One trace of a single run's step serves every analysis below and the program
        # itself (method_one replays this jaxpr): tracing a method such as optax's L-BFGS
        # with its zoom line search costs as much as XLA's compile of the whole program.
        zeros_state = [jnp.zeros(s.shape, s.dtype) for s in state_leaves]
        step_args = (x_one, jnp.zeros((), x.dtype), x_one, *zeros_state, *flat_p)
        step_jaxpr, step_shape = jax.make_jaxpr(flat_step, return_shape=True)(*step_args)
        _, out_shape, counts_shape = step_shape
        step_tree = jax.tree.structure(step_shape)
        step_fun = jaxpr_as_fun(step_jaxpr)
        n_counts = len(jax.tree.leaves(counts_shape))
        n_outputs = len(step_jaxpr.jaxpr.outvars)
        while True:
            vary_step = _depends(
                step_jaxpr.jaxpr, [True, True, True, *(not s for s in shared), *p_vary]
            )[: len(state_leaves)]
            now = [s and not v for s, v in zip(shared, vary_step, strict=True)]
            if now == shared:
                break
            shared = now
        # counts that are the same constants at every step (every optax method's): not
        # carried per run, but computed at the end from the steps each run took
        constant = jax.tree.unflatten(
            jax.tree.structure(counts_shape),
            _constant_outputs(step_jaxpr, range(n_outputs - n_counts, n_outputs)),
        )
        static = {
            name: value
            for name, value in constant.items()
            if all(leaf is not None for leaf in jax.tree.leaves(value, is_leaf=lambda v: v is None))
        }
        state_axes = jax.tree.unflatten(state_tree, [None if s else -1 for s in shared])

        f0, g0 = evaluate(x)
        state0 = jax.vmap(init_one, in_axes=(-1, hyper_axes), out_axes=state_axes, axis_size=n)(
            x, hyper
        )
        finite0 = jnp.isfinite(f0) & _rows(jnp.logical_and, jnp.isfinite(g0) & jnp.isfinite(x))
        flat0 = finite0 & _rows(jnp.logical_and, g0 == 0) & (not gradient_free)
        status0 = jnp.where(finite0, running, _CODE["domain_error_at_start"])
        status0 = jnp.where(flat0, _CODE["flat_start"], status0).astype(jnp.int32)
        code0 = jnp.where(status0 == running, 0, _stopped(status0, 0))
        init_evals = (1, 0 if gradient_free else 1, 0)

        # -- one step: the method mapped over runs, then the engine's checks on rows -----
        def method_one(x, f, g, state, hyper):
            hp = _public(hyper)
            flat = step_fun(x, f, g, *jax.tree.leaves(state), *(hp[k] for k in public))
            new_leaves, out, counts = jax.tree.unflatten(step_tree, flat)
            new_state = jax.tree.unflatten(state_tree, new_leaves)
            return new_state, {**out, **{k: v for k, v in counts.items() if k not in static}}

        def advance(c, hyper):
            """Every run's next step, and the engine's tests on it, before anything is kept."""
            state, res = jax.vmap(
                method_one,
                in_axes=(-1, -1, -1, state_axes, hyper_axes),
                out_axes=(state_axes, -1),
            )(c["x"], c["f"], c["g"], c["state"], hyper)
            x_new = res["x"]
            if res["value"] is None:
                f_new, g_new = evaluate(x_new)
            else:
                f_new = res["value"]
                g_new = jnp.zeros_like(x_new) if gradient_free else res["grad"]
            finite = jnp.isfinite(f_new) & _rows(
                jnp.logical_and, jnp.isfinite(g_new) & jnp.isfinite(x_new)
            )
            runaway = _rows(jnp.maximum, jnp.abs(x_new)) > limits.x_limit
            if gradient_free:
                converged = jnp.zeros(f_new.shape, bool)
                no_move = converged
            else:
                converged = _rows(jnp.add, g_new * g_new) <= limits.gtol**2
                no_move = _rows(jnp.logical_and, x_new == c["x"])
            own = res.get("converged", static.get("converged"))
            if own is not None:
                converged = converged | jnp.asarray(own)
            failed = jnp.asarray(res.get("failed", static.get("failed")))
            return state, res, (x_new, f_new, g_new), (finite, runaway, converged, failed, no_move)

        def counted(out, c, res, live):
            """The per-step counts of methods whose counts vary (line searches)."""
            if "evals" in res:
                out["evals"] = jax.tree.map(
                    lambda a, b: jnp.where(live, a + b, a), c["evals"], res["evals"]
                )
            if "resets" in res:
                resets = jnp.where(live, jnp.asarray(res["resets"], jnp.int32), 0)
                out["resets"] = c["resets"] + resets
            return out

        def step(c, k, hyper=hyper):
            """One exact step: the method, then every run's status, event step and counts."""
            state, res, (x_new, f_new, g_new), tests = advance(c, hyper)
            finite, runaway, converged, failed, no_move = tests
            unbounded = finite & ((f_new < -limits.f_limit) | (runaway & (f_new < c["f"])))
            diverged = finite & runaway & ~unbounded
            converged = finite & converged
            live = c["code"] >= 0  # a running run's code is its count of failures in a row
            fails = jnp.where(failed | no_move, c["code"] + 1, 0)
            stalled = finite & ~converged & (fails >= limits.patience)
            # the first test that holds names the status (nested wheres fuse; select reduces)
            status = jnp.int32(running)
            for test, name in (
                (stalled, "stalled"),
                (converged, "converged"),
                (diverged, "diverged"),
                (unbounded, "unbounded"),
                (~finite, "diverged_nonfinite"),
            ):
                status = jnp.where(test, _CODE[name], status)
            stop = status != running
            # status, event step and failures in a row are one array (one kernel)
            code = jnp.where(live, jnp.where(stop, _stopped(status, k), fails), c["code"])
            code = code.astype(jnp.int32)
            # a non-finite step is not taken: keep the last finite point. (Read from the
            # code, which XLA computes once, rather than from the tests on x, f and g.)
            take = live & (code != _stopped(jnp.int32(_CODE["diverged_nonfinite"]), k))
            out = {
                "x": jnp.where(take, x_new, c["x"]),
                "f": jnp.where(take, f_new, c["f"]),
                "g": jnp.where(take, g_new, c["g"]),
                "state": jax.tree.map(lambda new, old: jnp.where(take, new, old), state, c["state"])
                if method.final_state
                else state,
                "code": code,
            }
            return counted(out, c, res, live)

        carry = {
            "x": x,
            "f": f0,
            "g": g0,
            "state": state0,
            "code": code0.astype(jnp.int32),
        }
        if "evals" not in static:
            carry["evals"] = Evaluations(*(jnp.full((n,), v, jnp.int32) for v in init_evals))
        if "resets" not in static:
            carry["resets"] = jnp.zeros((n,), jnp.int32)

        if records_buffer is None:
            records_buffer = jnp.zeros((records + 1, d + 2, n), x.dtype)

        def write(buffer, c, i):
            if gradient_free:
                norm = jnp.full_like(c["f"], jnp.nan)  # documented: no gradient was computed
            else:
                norm = jnp.sqrt(_rows(jnp.add, c["g"] * c["g"]))
            row = jnp.concatenate([c["x"], c["f"][None], norm[None]])
            return jax.lax.dynamic_update_index_in_dim(buffer, row, i, 0)

        def steps_loop(c, first_step, count):
            return jax.lax.fori_loop(0, count, lambda i, c: step(c, first_step + i + 1), c)

        def block(i, state):
            c, buffer = state
            c = steps_loop(c, i * record_every, record_every)
            return c, write(buffer, c, i + 1)

        buffer = write(records_buffer, carry, 0)

        # Record blocks until every run has stopped (a quasi-Newton batch often converges
        # in tens of steps; without the exit, the stopped runs' line searches would spin
        # until the last step). The rows after the exit repeat each run's frozen point,
        # exactly what the remaining steps would have recorded.
        def unfinished(state):
            i, c, _ = state
            return (i < records) & jnp.any(c["code"] >= 0)

        def next_block(state):
            i, c, buffer = state
            return (i + 1, *block(i, (c, buffer)))

        done, carry, buffer = jax.lax.while_loop(
            unfinished, next_block, (jnp.int32(0), carry, buffer)
        )
        buffer = jax.lax.fori_loop(done, records, lambda j, b: write(b, carry, j + 1), buffer)
        if remainder:
            carry = steps_loop(carry, records * record_every, remainder)

        # constant counts per step: from the number of steps each run took
        status, event = _unpack(carry["code"], running)
        taken = jnp.where(event >= 0, event, steps)
        if "evals" in carry:
            evals = carry["evals"]
        else:
            evals = Evaluations(
                *(
                    (start + int(per_step) * taken).astype(jnp.int32)
                    for start, per_step in zip(init_evals, static["evals"], strict=True)
                )
            )
        if "resets" in carry:
            resets = carry["resets"]
        else:
            resets = (int(static["resets"]) * taken).astype(jnp.int32)
        return {
            "records": buffer,
            "status": status,
            "event_step": event,
            "function_evaluations": evals.f,
            "gradient_evaluations": evals.g,
            "hessian_evaluations": evals.h,
            "resets": resets,
            "final_params": carry["x"].T,
            "final_values": carry["f"],
            **{
                f"metric:{k}": v
                for k, v in jax.vmap(
                    lambda x, st: method.final_metrics(fun, x, st), in_axes=(-1, state_axes)
                )(carry["x"], carry["state"]).items()
            },
        }

    def record_buffer_shape(n: int, d: int) -> tuple[int, int, int]:
        return (records + 1, d + 2, n)

    def record_buffer(n: int, d: int, dtype) -> jax.Array:
        return jnp.zeros(record_buffer_shape(n, d), dtype)

    program.record_buffer_shape = record_buffer_shape
    program.record_buffer = record_buffer
    return program


_EVENT_BITS = 24  # steps <= _MAX_STEPS < 2**24


def _stopped(status: jax.Array, step: Any) -> jax.Array:
    """The engine's per-run code of a run that stopped with ``status`` at ``step``.

    A running run's code is its number of failed steps in a row (>= 0); a stopped run's is
    negative and holds its status and event step, so the loop carries one int32 per run.
    """
    return -((status.astype(jnp.int32) << _EVENT_BITS) | step) - 1


def _unpack(code: jax.Array, running: int) -> tuple[jax.Array, jax.Array]:
    """Status and event step (-1 for a run that never stopped) from the codes."""
    packed = -code - 1
    status = jnp.where(code >= 0, running, packed >> _EVENT_BITS).astype(jnp.int32)
    event = jnp.where(code >= 0, -1, packed & ((1 << _EVENT_BITS) - 1)).astype(jnp.int32)
    return status, event


def _public(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer's hyperparameters, without the engine's own per-run inputs."""
    return {k: v for k, v in hyper.items() if not k.startswith("_")}


def _lowest_eigenpair(h: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The smallest eigenvalue of a symmetric matrix, its unit eigenvector, and the largest
    eigenvalue magnitude: closed forms for 1x1 and 2x2, else LAPACK.

    The closed forms keep the common 1-D and 2-D programs free of an eigendecomposition,
    which takes XLA longer to compile (~0.3 s) than the rest of the check.
    """
    if h.shape[0] == 1:
        return h[0, 0], jnp.ones((1,), h.dtype), jnp.abs(h[0, 0])
    if h.shape[0] == 2:
        a, c, b = h[0, 0], h[1, 1], 0.5 * (h[0, 1] + h[1, 0])
        mean = 0.5 * (a + c)
        radius = jnp.hypot(0.5 * (a - c), b)
        low = mean - radius
        # (b, low - a) and (low - c, b) both solve (H - low) v = 0; take the longer one
        u = jnp.stack([b, low - a])
        w = jnp.stack([low - c, b])
        v = jnp.where(jnp.sum(u * u) >= jnp.sum(w * w), u, w)
        norm = jnp.sqrt(jnp.sum(v * v))
        axis = jnp.where(a <= c, jnp.array([1.0, 0.0], h.dtype), jnp.array([0.0, 1.0], h.dtype))
        v = jnp.where(norm > 0, v / jnp.where(norm > 0, norm, 1), axis)  # H = lambda I: any
        return low, v, jnp.abs(mean) + radius
    eig, vectors = jnp.linalg.eigh(h)
    return eig[0], vectors[:, 0], jnp.max(jnp.abs(eig))


def _curvature_check(fun, final_params: jax.Array, status: jax.Array) -> jax.Array:
    """Turn 'converged' (and 'flat_start') into 'non_minimum' / 'converged' by the Hessian.

    A point is a maximum or saddle when the Hessian has an eigenvalue below ``-tol`` *and* f
    confirms it: f decreases along that eigenvector, a step ``h`` to either side (``h``
    large enough that the predicted decrease ``|lambda| h^2 / 2`` stands above f's rounding).
    The second test keeps functions whose Hessian is not continuous at their minimum (BBOB's
    oscillating T_osz transform: eigenvalues of -2e6 within 3e-12 of the optimum) from having
    their minima called saddles.
    """

    def one(x, status):
        f0 = fun(x)
        low, v, top = _lowest_eigenpair(jax.hessian(fun)(x))
        eps = jnp.finfo(x.dtype).eps
        tol = 1e3 * eps * jnp.maximum(1.0, top)
        checkable = jnp.isfinite(low) & jnp.isfinite(top) & jnp.all(jnp.isfinite(v))
        h = jnp.maximum(
            jnp.sqrt(eps) * jnp.maximum(1.0, jnp.max(jnp.abs(x))),
            jnp.sqrt(100 * eps * jnp.abs(f0) / jnp.maximum(jnp.abs(low), eps)),
        )
        descends = jnp.minimum(fun(x + h * v), fun(x - h * v)) < f0
        negative = checkable & (low < -tol) & descends
        positive = checkable & (low > tol)
        status = jnp.where((status == _CODE["converged"]) & negative, _CODE["non_minimum"], status)
        status = jnp.where(
            status == _CODE["flat_start"],
            jnp.where(
                positive, _CODE["converged"], jnp.where(negative, _CODE["non_minimum"], status)
            ),
            status,
        )
        return status.astype(jnp.int32)

    return jax.vmap(one)(final_params, status)


# ----------------------------------------------------------------------------------------
# Compilation cache


def enable_compilation_cache(directory: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache, so a program compiled once (in any
    process) loads from disk instead of compiling again.

    This sets global JAX configuration, so the library never calls it by itself: call it
    from an application's edge (a CLI, a benchmark, a notebook's first cell). Every program,
    however quick to compile, is cached. Returns the directory used (default
    ``$JAXCALC_CACHE_DIR`` or ``~/.cache/jaxcalc/xla``).

    (jaxcalc does not keep its own cache of serialised executables, which would skip
    tracing too: on jaxlib 0.10.2 some CPU executables loaded with
    ``jax.experimental.serialize_executable`` crash when run. Measured in session 3.)
    """

    path = (
        directory
        or os.environ.get("JAXCALC_CACHE_DIR")
        or os.path.join(os.path.expanduser("~"), ".cache", "jaxcalc", "xla")
    )
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return path


# ----------------------------------------------------------------------------------------
# Many runs


def estimate_bytes(
    runs: int, steps: int, record_every: int, dim: int, itemsize: int, state_size: int
) -> int:
    """Memory of the outputs and working state of ``runs`` runs, in bytes."""
    records = steps // record_every + 1
    per_run = records * (dim + 2) + 4 * dim + state_size + 16
    return int(runs * per_run * itemsize)


def _memory_budget() -> int:
    device = jax.local_devices()[0]
    try:
        stats = device.memory_stats() or {}
    except Exception:  # pragma: no cover - backends without stats
        stats = {}
    if "bytes_limit" in stats:
        return int(0.5 * (stats["bytes_limit"] - stats.get("bytes_in_use", 0)))
    try:
        import os

        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        available = 8 << 30
    return int(0.4 * available)


def _sweep_grid(
    method: Optimizer, hyperparameters: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...], tuple[int, ...], dict[str, np.ndarray]]:
    """Resolved hyperparameters, the swept names, the sweep shape, and flat per-run values."""
    check_hyperparameters(
        method.name, {k: v for k, v in hyperparameters.items() if k in method.defaults}
    )
    resolved = method.resolve(hyperparameters)
    # sweep axes in the order the caller gave them (not the optimizer's defaults order)
    sweep = tuple(
        k
        for k in hyperparameters
        if k in resolved and isinstance(resolved[k], list | tuple | np.ndarray)
    )
    for name in sweep:
        if len(resolved[name]) == 0:
            raise ConfigError(f"{method.name}.{name}: a sweep needs at least one value")
    shape = tuple(len(resolved[k]) for k in sweep)
    grids = np.meshgrid(*(np.asarray(resolved[k], np.float64) for k in sweep), indexing="ij")
    flat = {k: g.reshape(-1) for k, g in zip(sweep, grids, strict=True)}
    return resolved, sweep, shape, flat


_COMPILED: dict[Any, Any] = {}  # compiled programs, least recently used first
_LANE_BLOCK = 16  # runs per device are padded to a multiple of this (see optimize)
_QUICK_COMPILE_RUN_STEPS = 4_000_000  # below this many run-steps, compile time matters most


_PARALLEL_MIN_RUN_STEPS = 4_000_000  # smaller jobs run as one chunk (a few ms at most)


def _cpu_workers(n_dev: int, runs: int, steps: int, threads: int | None = None) -> int:
    """How many chunks of a job run at once: one per core on a one-device CPU backend.

    XLA:CPU runs the engine's loop kernels on one thread, so a large job's runs are split
    into equal chunks executed concurrently from a thread pool (each run's numbers are the
    same in any chunk: see the padding in optimize_many). ``threads`` (the ``cpu_threads``
    argument), else ``$JAXCALC_CPU_THREADS``, sets the number (1 turns this off); the
    default is the cores this process may use.
    """
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1
    ):
        raise ConfigError(f"cpu_threads must be a whole number >= 1; got {threads!r}")
    if n_dev != 1 or jax.default_backend() != "cpu" or runs * steps < _PARALLEL_MIN_RUN_STEPS:
        return 1
    given = os.environ.get("JAXCALC_CPU_THREADS", "").strip()
    if threads is not None:
        cores = int(threads)
    elif given:
        if not given.isdigit() or int(given) < 1:
            raise ConfigError(f"JAXCALC_CPU_THREADS must be a whole number >= 1; got {given!r}")
        cores = int(given)
    elif hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, runs // (4 * _LANE_BLOCK)))


def _compile(lowered, quick: bool):
    """Compile; ``quick`` asks XLA for its older CPU emitters (half the compile time)."""
    if quick and jax.default_backend() == "cpu":
        try:
            return lowered.compile(compiler_options={"xla_cpu_use_fusion_emitters": False})
        except Exception:  # an XLA without this option: compile as usual
            pass
    return lowered.compile()


_COMPILED_KEEP = 64
# The caches are shared by threads (an experiment compiles its next group with
# precompile in a background thread): iteration and eviction happen under this lock.
_CACHE_LOCK = threading.RLock()


def _cache_take(cache: dict[Any, Any], key: Any) -> Any:
    with _CACHE_LOCK:
        return cache.pop(key, None)


def _keep_compiled(key: Any, compiled: Any) -> None:
    with _CACHE_LOCK:
        _COMPILED.pop(key, None)
        _COMPILED[key] = compiled  # most recently used last
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.pop(next(iter(_COMPILED)))


# The record buffers of recent calls, donated to the next call of the same program. The
# arrays of a Trajectory are zero-copy views of them; while such a view is alive, XLA cannot
# reuse the buffer and allocates a fresh one, so a Trajectory is never overwritten.
_BUFFERS: dict[Any, jax.Array] = {}
_BUFFERS_KEEP_BYTES = 256 << 20


def _keep_buffer(shape_key: Any, buffer: jax.Array) -> None:
    with _CACHE_LOCK:
        _BUFFERS.pop(shape_key, None)
        _BUFFERS[shape_key] = buffer  # most recently used last
        total = sum(b.nbytes for b in _BUFFERS.values())
        while total > _BUFFERS_KEEP_BYTES and len(_BUFFERS) > 1:
            total -= _BUFFERS.pop(next(iter(_BUFFERS))).nbytes


# The host array that received the last multi-chunk call's records, reused by the next
# call of the same shape once no Trajectory views it any more (its reference count says
# so): writing into pages already mapped is ~3x faster than into a fresh array.
_HOST_RECORDS: dict[Any, np.ndarray] = {}


def _host_records(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An array for a multi-chunk call's records: the kept one when nothing else holds it."""
    key = (shape, np.dtype(dtype).str)
    with _CACHE_LOCK:
        kept = _HOST_RECORDS.get(key)
        if kept is not None and sys.getrefcount(kept) <= 3:  # the dict, `kept`, the call
            return kept
        fresh = np.empty(shape, dtype)
        _HOST_RECORDS.clear()
        if fresh.nbytes <= _BUFFERS_KEEP_BYTES:
            _HOST_RECORDS[key] = fresh
        return fresh


def _curvature_program(fun, shape, dtype, sharding):
    """The compiled curvature check for runs of this shape (one per objective)."""
    shapes = [
        jax.ShapeDtypeStruct(shape, dtype, sharding=sharding),
        jax.ShapeDtypeStruct(shape[:1], jnp.int32, sharding=sharding),
    ]
    return _compile(jax.jit(partial(_curvature_check, fun)).lower(*shapes), True)


def _runs_first(out: dict[str, Any], keep: int) -> dict[str, np.ndarray]:
    """Host arrays with the run axis first (the time-major records become views)."""
    host = {}
    for name, value in out.items():
        a = np.asarray(value)
        if name == "records":  # (R+1, D+2, N): the point, f, |grad f|
            d = a.shape[1] - 2
            host["params"] = a[:, :d].transpose(2, 0, 1)[:keep]  # (N, R+1, D)
            host["values"] = a[:, d].T[:keep]  # (N, R+1)
            host["grad_norms"] = a[:, d + 1].T[:keep]
        else:
            host[name] = a[:keep]
    return host


def _merge_chunks(pieces: list[dict[str, np.ndarray]], records: np.ndarray) -> dict:
    """The chunks' arrays as one job's: the small ones concatenated; the records are
    already one host array of all runs (each chunk copied its own in)."""
    merged = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    merged.update(_runs_first({"records": records}, records.shape[-1]))
    return merged


def _method_key(method: Optimizer) -> Any:
    def hashable(v):
        try:
            hash(v)
            return v
        except TypeError:
            return repr(v)

    return (
        type(method),
        method.name,
        tuple(sorted((k, hashable(v)) for k, v in method.options.items())),
        tuple(_method_key(m) for m in getattr(method, "slots", ())),  # a Stacked's methods
    )


def _as_function(objective: Any) -> tuple[Callable, str, int | None]:
    from jaxcalc.expressions import Expression
    from jaxcalc.objectives import Objective, get

    if isinstance(objective, str):
        objective = get(objective)
    if isinstance(objective, Objective):
        return objective, objective.name, objective.dim
    if isinstance(objective, Expression):
        if objective.dim == 1:
            return (lambda x: objective(x[0])), objective.text, 1
        return objective, objective.text, objective.dim
    if callable(objective):
        return objective, getattr(objective, "__name__", "callable"), None
    raise ConfigError(
        f"objective must be a name, expression, Objective or callable; got {objective!r}"
    )


def precompile(objective: Any, optimizer: str | Optimizer, x0: Any, steps: int, **kwargs):
    """Compile what :func:`optimize` with these arguments would run, without running it.

    Takes exactly :func:`optimize`'s arguments (only the shapes and dtype of ``x0`` and
    which hyperparameters are swept matter, not their values) and leaves the compiled
    programs in this process's cache, where the matching ``optimize`` call finds them.
    XLA compiles without holding Python's GIL, so an experiment compiles its next group
    in a background thread while the current one runs. The objective must be the same
    object (or registered name) in both calls.
    """
    optimize(objective, optimizer, x0, steps, _compile_only=True, **kwargs)


def precompile_many(objective: Any, optimizers: Any, x0: Any, steps: int, **kwargs):
    """:func:`precompile` for :func:`optimize_many` (same arguments)."""
    optimize_many(objective, optimizers, x0, steps, _compile_only=True, **kwargs)


def optimize(
    objective: Any,
    optimizer: str | Optimizer,
    x0: Any,
    steps: int,
    *,
    record_every: int = 1,
    seed: int = 0,
    gtol: float | None = None,
    f_limit: float | None = None,
    x_limit: float | None = None,
    patience: int = 5,
    check_curvature: bool = True,
    memory_budget: int | None = None,
    chunk_size: int | None = None,
    cpu_threads: int | None = None,
    _compile_only: bool = False,
    **hyperparameters: Any,
) -> Trajectory:
    """Run ``optimizer`` on ``objective`` from every start, for every swept hyperparameter.

    Args:
      objective: an :class:`~jaxcalc.objectives.Objective`, a registered name, an
        expression string, or a callable on one point ``(D,)`` returning a scalar.
      optimizer: a name (``"adam"``, ``"bfgs"``, ``"newton"``, ...; see
        :func:`jaxcalc.optimizers.optimizer_names`) or an Optimizer object.
      x0: one start ``(D,)`` or a batch ``(B, D)``; integers are cast to the default float
        dtype (float64 when x64 is enabled, else float32).
      steps: iterations per run (1 to 10^7).
      record_every: record the point, value and gradient norm every this many steps.
      seed: the seed of stochastic optimizers (population methods, annealing): start ``i``
        draws from ``fold_in(key(seed), i)`` under every hyperparameter setting.
      gtol: convergence when ``|grad f| <= gtol`` (default 1e-5 in float32, 1e-8 in float64).
      f_limit: ``f < -f_limit`` means unbounded below (default 1e30 in float64, 1e20 in float32).
      x_limit: ``max|x| > x_limit`` means the run ran away (default 1e15 / 1e10).
      patience: consecutive failed or zero steps before a run is "stalled".
      check_curvature: check the Hessian where runs stop (only for ``D <= 32``).
      memory_budget: bytes the outputs may take (default: 40% of free memory, or half of
        free device memory on an accelerator); above it, runs are computed in chunks.
      chunk_size: force chunks of this many runs.
      cpu_threads: on a one-device CPU backend, how many chunks of a job of >= 4e6
        run-steps run at once, one per thread (default: ``$JAXCALC_CPU_THREADS``, else the
        cores this process may use; 1 runs one chunk; see docs/devices.md). Results are
        identical to the bit whatever the number.
      **hyperparameters: the optimizer's hyperparameters by name. A list sweeps that
        hyperparameter: each list adds a leading axis, in the order given, and all values
        run in the same compiled program (changing values never recompiles).

    Returns:
      A :class:`Trajectory`.

    Example:
      >>> t = optimize("booth", "adam", [[0.0, 0.0], [5.0, 5.0]], 500, learning_rate=[0.1, 0.5])
      >>> t.values.shape
      (2, 2, 501)
    """
    trajectories = optimize_many(
        objective,
        [(optimizer, hyperparameters)],
        x0,
        steps,
        record_every=record_every,
        seed=seed,
        gtol=gtol,
        f_limit=f_limit,
        x_limit=x_limit,
        patience=patience,
        check_curvature=check_curvature,
        memory_budget=memory_budget,
        chunk_size=chunk_size,
        cpu_threads=cpu_threads,
        _compile_only=_compile_only,
    )
    return trajectories[0] if trajectories else None  # type: ignore[return-value]


def optimize_many(
    objective: Any,
    optimizers: Sequence[tuple[str | Optimizer, Mapping[str, Any]]],
    x0: Any,
    steps: int,
    *,
    record_every: int = 1,
    seed: int = 0,
    gtol: float | None = None,
    f_limit: float | None = None,
    x_limit: float | None = None,
    patience: int = 5,
    check_curvature: bool = True,
    memory_budget: int | None = None,
    chunk_size: int | None = None,
    cpu_threads: int | None = None,
    _compile_only: bool = False,
) -> list[Trajectory]:
    """:func:`optimize` for several optimizers on one objective, in one compiled program.

    ``optimizers`` lists ``(optimizer, hyperparameters)`` pairs (hyperparameters as
    :func:`optimize` takes them: a list sweeps). Returns one :class:`Trajectory` per pair,
    as ``optimize(objective, optimizer, x0, steps, **hyperparameters)`` with the other
    arguments returns it. With more than one pair, every optimizer must be *stackable*
    (``Optimizer.stackable``: every optax optimizer but ``lbfgs``); they then share one
    program (:class:`jaxcalc.optimizers.stacked.Stacked`), so the engine's loop is compiled
    once instead of once per optimizer, and the trajectories equal their own programs' up
    to rounding (XLA fuses the larger program differently). The program's compile and run
    seconds are shared out between the trajectories in proportion to their runs.
    """
    from jaxcalc.optimizers.stacked import SLOT, slot_name, stack

    if not optimizers:
        raise ConfigError("optimize_many: no optimizers given")
    if (
        isinstance(steps, bool)
        or not isinstance(steps, int | np.integer)
        or not 1 <= steps <= _MAX_STEPS
    ):
        raise ConfigError(f"steps must be an integer from 1 to {_MAX_STEPS}; got {steps!r}")
    if (
        isinstance(record_every, bool)
        or not isinstance(record_every, int | np.integer)
        or not (1 <= record_every <= steps)
    ):
        raise ConfigError(
            f"record_every must be an integer from 1 to steps ({steps}); got {record_every!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed must be an integer from 0 to 2**32 - 1; got {seed!r}")
    entries = []
    for optimizer, given in optimizers:
        method = get_optimizer(optimizer)
        hyperparameters = dict(given)
        options = {k: hyperparameters.pop(k) for k in list(hyperparameters) if k in method.options}
        if options:
            method = method.with_options(**options)
        entries.append((method, hyperparameters))
    fun, name, dim = _as_function(objective)

    # the inputs are prepared with NumPy on the host: every jnp operation here would be a
    # small XLA program compiled on first use (~0.05 s each)
    start = np.asarray(x0)
    if start.dtype.kind not in "biufc":
        raise ConfigError(f"x0 must be numbers; got an array of {start.dtype}")
    if not np.issubdtype(start.dtype, np.inexact):
        start = start.astype(jnp.result_type(float))
    start = start.astype(jax.dtypes.canonicalize_dtype(start.dtype), copy=False)
    single = start.ndim == 1
    if start.ndim not in (1, 2):
        raise ConfigError(f"x0 must be one start (D,) or a batch (B, D); got shape {start.shape}")
    starts = start[None] if single else start
    if dim is not None and starts.shape[1] != dim:
        raise ConfigError(f"objective {name} has dim {dim}; x0 has {starts.shape[1]} coordinates")
    if starts.shape[0] == 0:
        raise ConfigError("x0 holds no starts")
    dtype = starts.dtype
    is64 = dtype == jnp.float64
    limits = _Limits(
        gtol=float(gtol if gtol is not None else (1e-8 if is64 else 1e-5)),
        f_limit=float(f_limit if f_limit is not None else (1e30 if is64 else 1e20)),
        x_limit=float(x_limit if x_limit is not None else (1e15 if is64 else 1e10)),
        patience=int(patience),
    )
    n_starts, d = starts.shape
    # per-run inputs: starts repeated for every sweep point, hyperparameters per run;
    # swept values: one per run; the others: one scalar shared by every run
    run_x0_parts, run_hyper_parts, shared_hyper, static_none = [], [], {}, {}
    grids, sizes = [], []
    for i, (method, hyperparameters) in enumerate(entries):
        resolved, sweep, sweep_shape, flat = _sweep_grid(method, hyperparameters)
        n_sweep = int(np.prod(sweep_shape)) if sweep else 1
        grids.append((method, resolved, sweep, sweep_shape))
        sizes.append(n_sweep * n_starts)
        rename = (lambda k: k) if len(entries) == 1 else partial(slot_name, i)  # noqa: B023
        run_x0_parts.append(np.tile(starts, (n_sweep, 1)))
        run_hyper_parts.append({rename(k): np.repeat(flat[k], n_starts) for k in sweep})
        for k, v in resolved.items():
            if v is None:
                static_none[rename(k)] = None
            elif k not in sweep:
                shared_hyper[rename(k)] = np.asarray(v, dtype)
    runs = sum(sizes)
    run_x0 = np.concatenate(run_x0_parts) if len(entries) > 1 else run_x0_parts[0]
    if len(entries) == 1:
        method = entries[0][0]
        run_hyper = {k: v.astype(dtype) for k, v in run_hyper_parts[0].items()}
        if method.stochastic:  # engine inputs, not hyperparameters (Optimizer.stochastic)
            n_sweep = sizes[0] // n_starts
            run_hyper["_seed"] = np.full((runs,), int(seed), np.uint32)
            run_hyper["_start"] = np.tile(np.arange(n_starts), n_sweep).astype(np.uint32)
    else:
        method = stack([m for m, _ in entries])
        # a slot's swept value on the other slots' runs is never read: any value serves
        run_hyper = {}
        for i, part in enumerate(run_hyper_parts):
            for k, v in part.items():
                column = np.full((runs,), v[0], dtype)
                column[sum(sizes[:i]) : sum(sizes[: i + 1])] = v
                run_hyper[k] = column
        run_hyper[SLOT] = np.repeat(np.arange(len(entries)), sizes).astype(dtype)

    itemsize = jnp.dtype(dtype).itemsize
    budget = memory_budget if memory_budget is not None else _memory_budget()
    per_run = estimate_bytes(1, steps, record_every, d, itemsize, method.state_size(d))
    if per_run > budget:
        raise ResourceError(
            f"one run needs ~{per_run / 2**20:.1f} MiB of trajectory (steps={steps}, "
            f"record_every={record_every}, dim={d}); budget {budget / 2**20:.0f} MiB: "
            f"use a larger record_every"
        )
    devices = jax.local_devices()  # this process's; see docs/devices.md for several hosts
    n_dev = len(devices)
    # On a one-device CPU backend, a large job's chunks run at once, one per core (XLA:CPU
    # runs this loop's kernels on one thread; see _cpu_workers)
    workers = 1 if chunk_size is not None else _cpu_workers(n_dev, runs, steps, cpu_threads)
    fits = max(1, budget // workers // per_run)
    chunk = chunk_size or min(runs, fits)
    # Every device gets a whole number of _LANE_BLOCK lanes (the batch is padded with
    # copies of its last run, dropped afterwards). XLA vectorises the run axis; a lane
    # computed in the vector body and one in a scalar remainder loop may round differently
    # (fused multiply-adds), so without padding a run's last bits would depend on the
    # batch size. Padded, a run gives the same bits alone, in any batch, on any number of
    # devices or workers; and batches of 1 to 16 runs share one compiled program.
    # (A memory budget too small for 16 runs per device keeps its chunks unpadded.)
    quantum = _LANE_BLOCK * n_dev
    if chunk_size is None and fits < quantum:
        quantum = n_dev
    if workers > 1 and fits * workers >= runs:  # equal shares, rounded up to whole blocks
        chunk = math.ceil(runs / workers / quantum) * quantum
    elif chunk >= runs:
        chunk = runs  # one chunk, padded below
    elif chunk_size is None or chunk > quantum:
        chunk = max(quantum, chunk - chunk % quantum)
    bounds = [(lo, min(lo + chunk, runs)) for lo in range(0, runs, chunk)]
    workers = min(workers, len(bounds))

    program = _program(fun, method, limits, int(steps), int(record_every))

    def batch(x0s, hyper, shared, buffer=None):
        return program(x0s, {**hyper, **shared, **static_none}, buffer)

    # XLA's newer CPU fusion emitters run an Adam step 1.6-1.7x faster but take twice as
    # long to compile (0.8 s against 0.4 s on this 2-core VM; benchmarks/engine_internals.py).
    # Break-even is near 2e7 run-steps; jobs up to 4e6 get the older emitters, where the
    # compile is most of the wall time. A stacked program's compile grows with its methods
    # while its run time barely does, so it is judged by the run-steps per method.
    quick_compile = runs * steps <= _QUICK_COMPILE_RUN_STEPS * len(entries)
    curvature = check_curvature and method.curvature_check and d <= _CURVATURE_CHECK_MAX_DIM

    key = (
        objective if isinstance(objective, str) else fun,
        _method_key(method),
        limits,
        int(steps),
        int(record_every),
        check_curvature,
        tuple(sorted(run_hyper)),
        tuple(sorted(shared_hyper)),
        tuple(sorted(static_none)),
    )
    sharding = replicated = None
    if n_dev > 1:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(devices), ("runs",))
        sharding = NamedSharding(mesh, PartitionSpec("runs"))
        replicated = NamedSharding(mesh, PartitionSpec())
    padded = chunk if runs > chunk else runs
    padded = math.ceil(padded / quantum) * quantum  # every chunk has this many runs, padded

    def chunk_inputs(lo: int, hi: int) -> tuple[Any, dict[str, Any], dict[str, Any]]:
        pad = padded - (hi - lo)
        x_part = run_x0[lo:hi]
        h_part = {k: v[lo:hi] for k, v in run_hyper.items()}
        s_part = shared_hyper
        if pad:
            x_part = np.concatenate([x_part, np.repeat(x_part[-1:], pad, axis=0)])
            h_part = {k: np.concatenate([v, np.repeat(v[-1:], pad)]) for k, v in h_part.items()}
        if sharding is not None:
            x_part = jax.device_put(x_part, sharding)
            h_part = {k: jax.device_put(v, sharding) for k, v in h_part.items()}
            s_part = {k: jax.device_put(v, replicated) for k, v in s_part.items()}
        return x_part, h_part, s_part

    shape_key = (key, (padded, d), str(dtype), n_dev)
    # On one device the record buffer is an input, donated: the program writes the records
    # into the buffer of the last call of the same program and worker (when no Trajectory
    # holds it any more) instead of faulting in fresh pages, which costs more than writing
    # them (~0.1 s for the 160 MB of 10^4 runs x 1000 records on a small VM).
    donate = n_dev == 1

    def take_buffer(worker: int) -> jax.Array | None:
        if not donate:
            return None
        buffer = _cache_take(_BUFFERS, (shape_key, worker))
        return buffer if buffer is not None else program.record_buffer(padded, d, dtype)

    compile_seconds = run_seconds = 0.0
    compiled = _cache_take(_COMPILED, shape_key)
    if compiled is None:
        t0 = time.perf_counter()
        x_part, h_part, s_part = chunk_inputs(*bounds[0])
        if donate:
            shape = jax.ShapeDtypeStruct(program.record_buffer_shape(padded, d), dtype)
            lowered = jax.jit(batch, donate_argnums=3).lower(x_part, h_part, s_part, shape)
        else:
            lowered = jax.jit(batch).lower(x_part, h_part, s_part)
        compiled = _compile(lowered, quick_compile)
        compile_seconds += time.perf_counter() - t0
    _keep_compiled(shape_key, compiled)
    check_key = ("curvature", key[0], (padded, d), str(dtype), n_dev)
    if _compile_only:  # every chunk has this shape; compile the curvature check too
        if donate:  # and fault in the record buffers' pages now, not when running
            for worker in range(workers):
                if (shape_key, worker) not in _BUFFERS:
                    _keep_buffer((shape_key, worker), take_buffer(worker))
        if curvature and check_key not in _COMPILED:
            _keep_compiled(check_key, _curvature_program(fun, (padded, d), dtype, sharding))
        return []

    # With several chunks, each is copied into one host array of all runs' records as soon
    # as it is done (in its worker thread, so the copies run in parallel too); its XLA
    # buffer is then free for the next call. One chunk is handed out without a copy.
    host_records = None
    if len(bounds) > 1:
        host_records = _host_records(program.record_buffer_shape(runs, d), dtype)

    def execute(index: int) -> dict[str, Any]:
        worker = index % workers
        lo, hi = bounds[index]
        x_part, h_part, s_part = chunk_inputs(lo, hi)
        if donate:
            out = compiled(x_part, h_part, s_part, take_buffer(worker))
        else:
            out = compiled(x_part, h_part, s_part)
        out = jax.block_until_ready(out)
        if donate:
            _keep_buffer((shape_key, worker), out["records"])
        if host_records is not None:
            records = out.pop("records")
            np.copyto(host_records[..., lo:hi], np.asarray(records)[..., : hi - lo])
        return out

    t0 = time.perf_counter()
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="jaxcalc-run") as pool:
            outs = list(pool.map(execute, range(len(bounds))))
    else:
        outs = [execute(i) for i in range(len(bounds))]
    run_seconds += time.perf_counter() - t0

    pieces: list[dict[str, np.ndarray]] = []
    for (lo, hi), out in zip(bounds, outs, strict=True):
        # one program per objective and shape, shared by every optimizer; it can only
        # change the status of runs that converged or started flat, so without any such
        # run it is neither compiled nor run
        checkable = (_CODE["converged"], _CODE["flat_start"])
        if curvature and np.isin(np.asarray(out["status"]), checkable).any():
            check = _cache_take(_COMPILED, check_key)
            if check is None:
                t0 = time.perf_counter()
                check = _curvature_program(fun, (padded, d), dtype, sharding)
                compile_seconds += time.perf_counter() - t0
            _keep_compiled(check_key, check)
            t0 = time.perf_counter()
            out["status"] = jax.block_until_ready(check(out["final_params"], out["status"]))
            run_seconds += time.perf_counter() - t0
        pieces.append(_runs_first(out, hi - lo))
    del outs
    merged = pieces[0] if host_records is None else _merge_chunks(pieces, host_records)

    trajectories = []
    offset = 0
    for (method_i, resolved, sweep, sweep_shape), size in zip(grids, sizes, strict=True):
        lead = (*sweep_shape, n_starts) if sweep else (n_starts,)

        def shaped(a: np.ndarray, lead=lead, lo=offset, hi=offset + size) -> np.ndarray:
            a = a[lo:hi].reshape(lead + a.shape[1:])
            return np.take(a, 0, axis=len(lead) - 1) if single else a

        offset += size
        arrays = {k: shaped(v) for k, v in merged.items()}
        metrics = {
            k.split(":", 1)[1]: arrays.pop(k) for k in list(arrays) if k.startswith("metric:")
        }
        arrays["status"] = np.asarray(np.asarray(STATUSES)[arrays["status"]])
        hyper_record = {
            k: (np.asarray(v, np.float64) if k in sweep else v) for k, v in resolved.items()
        }
        extras = {"seed": seed, "gtol": limits.gtol, "dtype": str(dtype)}
        if len(entries) > 1:  # who shared the program (its seconds are shared out by runs)
            extras["program"] = method.name
        trajectories.append(
            Trajectory(
                objective=name,
                optimizer=method_i.name,
                steps=int(steps),
                record_every=int(record_every),
                hyperparameters=hyper_record,
                sweep=sweep,
                compile_seconds=compile_seconds * size / runs,
                run_seconds=run_seconds * size / runs,
                devices=n_dev,
                chunks=len(bounds),
                extras=extras,
                metrics=metrics,
                **arrays,
            )
        )
    return trajectories
