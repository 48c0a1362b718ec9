"""The one compiled program: ``lax.scan``-style loop over steps, ``vmap`` over runs.

:class:`Program` is the batch function ``(x0s (N, D), hyper, records) -> outputs`` that
:mod:`jaxcalc.engine.run` compiles once per objective, method and shape. ``hyper`` maps
each hyperparameter to one value per run ``(N,)`` (swept) or to one scalar shared by all
runs ``()``; shared values stay scalars in the program, so a method's arithmetic on them
(Adam's bias corrections) is done once per step, not once per run. Two per-run inputs are
the engine's own, not hyperparameters: ``_seed`` and ``_start``, from which every run's
PRNG key ``fold_in(key(seed), start)`` is derived (so every hyperparameter setting sees the
same random stream from the same start, and chunking never changes it).

Layout: inside the loop every array keeps the run axis *last* (structure of arrays: ``x``
is ``(D, N)``), so a step is a few fused elementwise passes over contiguous rows; the
per-run method is written for one run and mapped with ``vmap(..., axis -1)``, the objective
is mapped the same way and differentiated *after* mapping (``vjp`` of the mapped function
keeps the run axis last, where ``vmap`` of a gradient would transpose). Records are written
time-major into one preallocated buffer ``(R+1, D+3, N)`` holding the point, f, the
gradient norm and the best f so far; beside it, for a method whose per-step counts vary
(line searches), each run's cumulative f, gradient and Hessian evaluations at every record
(constant counts per step give them exactly from the step each run stopped at:
:meth:`jaxcalc.engine.result.Trajectory.evaluations_at_records`). A model on a pytree of
:data:`RUNS_FIRST_DIM` or more numbers (an MLP's weight matrices) keeps the runs axis
*first* inside the loop instead (``x`` is ``(N, D)``; the records stay runs-last): its
per-run matrix products want each run's matrices contiguous, and runs-last, every step
would transpose every run's weights in and its gradient out (a third of an MLP step's time).

Per step the engine carries only what it must: the point, f, the gradient, the state
leaves that differ between runs, and the status, event step and failure count. A method
whose per-step evaluation counts are constants (every optax method) has its counts computed
at the end from the step where each run stopped. A stopped run's point, f, gradient and
counts are frozen; its optimizer state is not (it is never read again) unless the method
sets ``final_state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Literal, jaxpr_as_fun

from jaxcalc.engine.options import Limits
from jaxcalc.engine.result import CODE, first_order, pack_stopped, unpack_codes
from jaxcalc.optimizers import Evaluations, Optimizer

__all__ = ["Program", "public_hyper"]

_UNROLL_ROWS = 16  # reductions over the coordinates are unrolled up to this dimension
RUNS_FIRST_DIM = 256  # pytree objectives of this many numbers keep the runs axis first
RUNNING = CODE["max_steps"]  # a run that has not stopped has this status until the end


def rows(op, a: jax.Array, axis: int = -1) -> jax.Array:
    """Reduce an array of points (D, N) over its coordinates with ``op`` (add, max, and);
    ``axis`` is the runs axis (-1, or 0 for points (N, D)).

    For small D the reduction is written as D-1 elementwise ops, which XLA fuses with their
    producers; a reduce over axis 0 would be a kernel (and a library call) of its own.
    Runs first, a max or an and is done in two stages, over rows of at most 32 coordinates
    and then over their results: XLA fuses the first with the values it reduces (the
    finiteness and runaway tests then read a point once, without writing ``|x|`` out).
    """
    if axis == 0:
        reducer = {jnp.add: jnp.sum, jnp.maximum: jnp.max, jnp.logical_and: jnp.all}[op]
        inner = _inner(a.shape[1])
        if op is not jnp.add and inner > 1:  # a max's or an and's order changes no bit
            a = reducer(a.reshape(a.shape[0], -1, inner), axis=2)
            a = jax.lax.optimization_barrier(a)  # two stages, not merged back into one
        return reducer(a, axis=1)
    if a.shape[0] <= _UNROLL_ROWS:
        out = a[0]
        for i in range(1, a.shape[0]):
            out = op(out, a[i])
        return out
    reducer = {jnp.add: jnp.sum, jnp.maximum: jnp.max, jnp.logical_and: jnp.all}[op]
    return reducer(a, axis=0)


def _inner(d: int) -> int:
    """The largest divisor of ``d`` of at most 32: the row length of a first stage of a
    reduction over ``d`` coordinates that XLA fuses with the values it reduces (a reduction
    over longer rows is split into windows that read their input from memory)."""
    return max(k for k in range(1, 33) if d % k == 0)


def public_hyper(hyper: Mapping[str, Any]) -> dict[str, Any]:
    """The optimizer's hyperparameters, without the engine's own per-run inputs."""
    return {k: v for k, v in hyper.items() if not k.startswith("_")}


# ----------------------------------------------------------------------------------------
# What a method's step does, from one trace of one run


def depends(jaxpr, varying: list[bool]) -> list[bool]:
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


def constant_outputs(closed, wanted: range) -> list[Any]:
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


class Program:
    """The compiled program for a batch: ``(x0s (N, D), hyper, records) -> outputs``.

    Built per (objective, method, limits, steps, record_every); see the module docstring.
    """

    def __init__(self, fun, method: Optimizer, limits: Limits, steps: int, record_every: int):
        self.fun = fun
        self.method = method
        self.limits = limits
        self.steps = steps
        self.record_every = record_every
        self.gradient_free = not method.requires.gradient
        self.records = steps // record_every
        self.remainder = steps - self.records * record_every
        # an objective from data with minibatches: each step's gradient is the minibatch
        # loss's, at that step's batch of the run's own data order; records hold the full
        # training loss and the objective's other recorded metrics (held-out loss, ...)
        self.minibatch = getattr(fun, "minibatch", None) is not None
        self.record_names = tuple(getattr(fun, "record_names", ()) or ())
        self.axis = -1  # the runs axis of points in the loop (see runs_axis)

    def runs_axis(self, d: int) -> int:
        """The runs axis of points inside the loop: 0 for a pytree objective of
        :data:`RUNS_FIRST_DIM` or more numbers, else -1 (see the module docstring)."""
        pytree = getattr(self.fun, "template", None) is not None
        return 0 if pytree and d >= RUNS_FIRST_DIM else -1

    def rows(self, op, a: jax.Array) -> jax.Array:
        """:func:`rows` over this program's points."""
        return rows(op, a, self.axis)

    def where(self, take: jax.Array, new: jax.Array, old: jax.Array) -> jax.Array:
        """``new`` where ``take`` (one flag per run), else ``old``, along the runs axis."""
        if self.axis == 0 and jnp.ndim(new) > 1:
            take = take.reshape((-1,) + (1,) * (jnp.ndim(new) - 1))
        return jnp.where(take, new, old)

    def runs_last(self, x: jax.Array) -> jax.Array:
        """Points (D, N), whatever the loop's layout."""
        return x.T if self.axis == 0 else x

    def record_buffer_shape(self, n: int, d: int) -> tuple[int, int, int]:
        return (self.records + 1, d + 3, n)

    def record_buffer(self, n: int, d: int, dtype) -> jax.Array:
        return jnp.zeros(self.record_buffer_shape(n, d), dtype)

    def __call__(self, x0s, hyper, records_buffer=None):
        n, d = x0s.shape
        if "_objective" in hyper:  # a family (jaxcalc.engine.family): the objective chosen
            self.fun = self.fun.select(hyper["_objective"])  # by this shared input, as data
        self.axis = self.runs_axis(d)
        x = x0s if self.axis == 0 else x0s.T  # (D, N): runs last, unless a large pytree
        model = self.model(x, hyper)
        carry = self.start(model, x, hyper)
        if records_buffer is None:
            records_buffer = jnp.zeros(self.record_buffer_shape(n, d), x.dtype)
        carry, buffer = self.record_loop(model, carry, records_buffer, hyper)
        return self.outputs(model, carry, buffer)

    # -- pieces ----------------------------------------------------------------------------

    def evaluate(self, x_rows, batch=None):
        """f (N,) and its gradient (D, N) at the points (D, N) (or (N, D), runs first).

        With a minibatch objective and ``batch``, the training rows of each run's minibatch
        (B, N), the minibatch loss there instead (see :meth:`batch_rows`).
        """
        if batch is not None:
            mapped = jax.vmap(self.fun.batch_loss, in_axes=(self.axis, -1))
            f_rows = lambda xr: mapped(xr, batch)  # noqa: E731
        else:
            f_rows = jax.vmap(self.fun, in_axes=self.axis)
        if self.gradient_free:
            return f_rows(x_rows), jnp.zeros_like(x_rows)
        value, pullback = jax.vjp(f_rows, x_rows)
        (grad,) = pullback(jnp.ones_like(value))
        return value, grad

    # -- minibatches: each run's data order, reshuffled at every epoch ----------------------

    def shuffled(self, hyper, n, epoch):
        """Every run's order of the training rows for ``epoch`` (n_train, N): a permutation
        drawn from the run's data key ``fold_in(fold_in(fold_in(key(seed), start), 1),
        lane)``, where ``lane`` is the identity of the run's method and hyperparameters
        (:func:`jaxcalc.engine.plan.lane_ids`): every run has its own order, the same
        wherever the run sits in a job (alone, in a sweep, in a chunk or a shard)."""
        seed = jnp.broadcast_to(jnp.asarray(hyper.get("_seed", 0)), (n,))
        start = jnp.broadcast_to(jnp.asarray(hyper.get("_start", 0)), (n,))
        lane = jnp.broadcast_to(jnp.asarray(hyper.get("_lane", 0)), (n,))

        def one(s, i, j):
            key = jax.random.fold_in(jax.random.fold_in(jax.random.key(s), i), 1)
            return self.fun.shuffle(jax.random.fold_in(key, j), epoch)

        return jax.vmap(one, out_axes=-1)(seed, start, lane)

    def next_order(self, order, k, hyper):
        """The order that batch ``k`` is read from: reshuffled when ``k`` starts an epoch
        (one sort per run and epoch, not per step)."""
        per_epoch = self.fun.minibatch.steps_per_epoch
        return jax.lax.cond(
            k % per_epoch == 0,
            lambda: self.shuffled(hyper, order.shape[1], k // per_epoch),
            lambda: order,
        )

    def batch_rows(self, order, k):
        """The training rows of batch ``k`` of every run (B, N), read from its order."""
        mb = self.fun.minibatch
        at = (k % mb.steps_per_epoch) * mb.batch_size
        return jax.lax.dynamic_slice_in_dim(order, at, mb.batch_size, axis=0)

    def init_one(self, x0, hyper):
        """One run's optimizer state, with its key ``fold_in(key(seed), start)``."""
        # a caller of the program without the engine's inputs gets the key of seed 0, start 0
        seed, start = hyper.get("_seed", 0), hyper.get("_start", 0)
        key = jax.random.fold_in(jax.random.key(seed), start)
        return self.method.init(self.fun, x0, public_hyper(hyper), key)

    def step_parts(self, x, f, g, state, hp, rows=None):
        """One run's step: the new state and what the engine reads of the result.

        With a minibatch objective, ``rows`` are the run's batch that ``f`` and ``g`` came
        from: the method sees the minibatch loss on them (a line search tries its points on
        the batch its gradient came from), and the engine's evaluation of the next batch
        at the new point is counted here (the method's value there is not used).
        """
        fun = self.fun
        if rows is not None:
            fun = lambda p: self.fun.batch_loss(p, rows)  # noqa: E731
        res = self.method.step(fun, x, f, g, state, hp)
        value, grad = res.value, res.grad
        extra = Evaluations.of()
        if rows is not None:  # every evaluation counts one minibatch
            extra = Evaluations.of(f=1, g=0 if self.gradient_free else 1)
            value = grad = None
        elif self.gradient_free:
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

    def model(self, x, hyper) -> StepModel:
        """Trace one run's init and step once and analyse them (see :class:`StepModel`).

        One trace of a single run's step serves every analysis here and the program itself
        (``method_one`` replays this jaxpr): tracing a method such as optax's L-BFGS with
        its zoom line search costs as much as XLA's compile of the whole program.
        """
        method = self.method
        d = self.runs_last(x).shape[0]
        hyper_axes = {k: (None if v is None or jnp.ndim(v) == 0 else -1) for k, v in hyper.items()}
        nones = {k: None for k, v in hyper.items() if v is None}  # "not set" (static)
        x_one = jnp.zeros((d,), x.dtype)
        names = sorted(k for k in hyper if k not in nones)
        hyper_one = [jnp.zeros((), jnp.asarray(hyper[k]).dtype) for k in names]

        def named(values) -> dict[str, Any]:
            return {**dict(zip(names, values, strict=True)), **nones}

        init_jaxpr, state_one = jax.make_jaxpr(
            lambda x0, *h: self.init_one(x0, named(h)), return_shape=True
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
            rows = rest[n_state + len(public)] if self.minibatch else None
            new_state, out, counts = self.step_parts(x, f, g, st, hp, rows)
            return jax.tree.leaves(new_state), out, counts

        zeros_state = [jnp.zeros(s.shape, s.dtype) for s in state_leaves]
        # a minibatch step also takes its batch's training rows (B,), per run
        batch_one = ()
        if self.minibatch:
            batch_one = (jnp.zeros((self.fun.minibatch.batch_size,), jnp.int32),)
        step_args = (x_one, jnp.zeros((), x.dtype), x_one, *zeros_state, *flat_p, *batch_one)
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
            state_axes=jax.tree.unflatten(state_tree, [None if s else self.axis for s in shared]),
            step_fun=jaxpr_as_fun(step_jaxpr),
            step_tree=jax.tree.structure(step_shape),
            static=static,
        )

    def start(self, model: StepModel, x, hyper) -> dict[str, Any]:
        """The loop's carry at the start: f and the gradient there, the state, the codes."""
        n = x.shape[self.axis]
        order = None
        if self.minibatch:
            order = self.shuffled(hyper, n, 0)
        f0, g0 = self.evaluate(x, None if order is None else self.batch_rows(order, 0))
        state0 = jax.vmap(
            self.init_one,
            in_axes=(self.axis, model.hyper_axes),
            out_axes=model.state_axes,
            axis_size=n,
        )(x, hyper)
        finite0 = jnp.isfinite(f0) & self.rows(jnp.logical_and, jnp.isfinite(g0) & jnp.isfinite(x))
        flat0 = finite0 & self.rows(jnp.logical_and, g0 == 0) & (not self.gradient_free)
        status0 = jnp.where(finite0, RUNNING, CODE["domain_error_at_start"])
        status0 = jnp.where(flat0, CODE["flat_start"], status0).astype(jnp.int32)
        code0 = jnp.where(status0 == RUNNING, 0, pack_stopped(status0, 0))
        carry = {"x": x, "f": f0, "g": g0, "state": state0, "code": code0.astype(jnp.int32)}
        if order is not None:
            carry["order"] = order
        else:  # the best f so far (a minibatch objective's is read from the records)
            carry["best"] = f0
        if "evals" not in model.static:
            carry["evals"] = Evaluations(*(jnp.full((n,), v, jnp.int32) for v in self.init_evals))
        if "resets" not in model.static:
            carry["resets"] = jnp.zeros((n,), jnp.int32)
        return carry

    @property
    def init_evals(self) -> tuple[int, int, int]:
        """The engine's evaluations at the start: f, and the gradient unless gradient-free."""
        return (1, 0 if self.gradient_free else 1, 0)

    # -- one step: the method mapped over runs, then the engine's checks on rows ----------

    def method_one(self, model: StepModel, x, f, g, state, hyper, *used):
        """One run's step, replayed from the traced jaxpr; constant counts left out.
        ``used``: with a minibatch objective, the run's rows that f and g came from."""
        hp = public_hyper(hyper)
        leaves = jax.tree.leaves(state)
        flat = model.step_fun(x, f, g, *leaves, *(hp[k] for k in model.public), *used)
        new_leaves, out, counts = jax.tree.unflatten(model.step_tree, flat)
        new_state = jax.tree.unflatten(model.state_tree, new_leaves)
        return new_state, {**out, **{k: v for k, v in counts.items() if k not in model.static}}

    def advance(self, model: StepModel, c, batch, hyper, used=None):
        """Every run's next step, and the engine's tests on it, before anything is kept.
        With a minibatch objective, ``used`` holds the rows (B, N) of every run's batch
        that f and g came from, ``batch`` those of the next one."""
        limits, static = self.limits, model.static
        used = () if used is None else (used,)
        state, res = jax.vmap(
            lambda *a: self.method_one(model, *a),
            in_axes=(
                self.axis,
                -1,
                self.axis,
                model.state_axes,
                model.hyper_axes,
                *(-1,) * len(used),
            ),
            out_axes=(model.state_axes, self.axis),
        )(c["x"], c["f"], c["g"], c["state"], hyper, *used)
        x_new = res["x"]
        if res["value"] is None or batch is not None:
            f_new, g_new = self.evaluate(x_new, batch)
        else:
            f_new = res["value"]
            g_new = jnp.zeros_like(x_new) if self.gradient_free else res["grad"]
        # a maximum propagates NaN and |inf| is inf, so the largest |x| and |g| are finite
        # exactly when every coordinate is: one read of x serves the finiteness and the
        # runaway tests, one of g its finiteness
        x_size = self.rows(jnp.maximum, jnp.abs(x_new))
        finite = jnp.isfinite(f_new) & jnp.isfinite(x_size)
        if not self.gradient_free:
            finite = finite & jnp.isfinite(self.rows(jnp.maximum, jnp.abs(g_new)))
        runaway = x_size > limits.x_limit
        if self.gradient_free or self.minibatch:  # a minibatch gradient is no test of f's
            converged = jnp.zeros(f_new.shape, bool)
            no_move = converged
        else:
            converged = first_order(self.rows(jnp.add, g_new * g_new), f_new, x_size, limits.gtol)
            no_move = self.rows(jnp.logical_and, x_new == c["x"])
        own = res.get("converged", static.get("converged"))
        if own is not None:
            converged = converged | jnp.asarray(own)
        failed = jnp.asarray(res.get("failed", static.get("failed")))
        return state, res, (x_new, f_new, g_new), (finite, runaway, converged, failed, no_move)

    def keep(self, take, new, old, model: StepModel):
        """The point, gradient and (when the method reads its final state) the state:
        ``new`` for the runs that ``take`` their step, ``old`` for the others.

        Runs last, a select per array, which fuses with the step's arithmetic. Runs first (a
        large pytree objective), a select would be a pass of its own over every run's
        point, gradient and state at every step; instead ``new`` is kept and the rows of
        the runs that do not take their step (stopped now or before; none at most steps)
        are written back from ``old`` one run at a time, in place.
        """
        x_new, g_new, state = new
        x_old, g_old, state_old = old
        final = self.method.final_state
        if self.axis != 0:
            x = self.where(take, x_new, x_old)
            g = self.where(take, g_new, g_old)
            if final:
                state = jax.tree.map(lambda a, b: self.where(take, a, b), state, state_old)
            return x, g, state
        arrays, olds = [x_new, g_new], [x_old, g_old]
        shared = []  # state leaves that are not per run keep the select
        if final:
            leaves = jax.tree.leaves(state)
            old_leaves = jax.tree.leaves(state_old)
            axes = jax.tree.leaves(model.state_axes, is_leaf=lambda a: a is None)
            for leaf, old_leaf, axis in zip(leaves, old_leaves, axes, strict=True):
                if axis is None:
                    shared.append(len(arrays))
                arrays.append(leaf)
                olds.append(old_leaf)
        for i in shared:
            arrays[i] = self.where(take, arrays[i], olds[i])
        per_run = [i for i in range(len(arrays)) if i not in shared]
        n = take.shape[0]
        count = jnp.sum(~take, dtype=jnp.int32)
        (back,) = jnp.nonzero(~take, size=n, fill_value=0)

        def restore(state):
            j, current = state
            run = back[j]
            current = list(current)
            for i in per_run:
                row = jax.lax.dynamic_index_in_dim(olds[i], run, 0, keepdims=True)
                current[i] = jax.lax.dynamic_update_index_in_dim(current[i], row, run, 0)
            return j + 1, tuple(current)

        _, arrays = jax.lax.while_loop(
            lambda state: state[0] < count, restore, (jnp.int32(0), tuple(arrays))
        )
        state = jax.tree.unflatten(jax.tree.structure(state), arrays[2:]) if final else state
        return arrays[0], arrays[1], state

    @staticmethod
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

    def step(self, model: StepModel, c, k, hyper):
        """One exact step: the method, then every run's status, event step and counts."""
        limits = self.limits
        order = batch = used = None
        if self.minibatch:  # the gradient at the new point is batch k's, for step k + 1
            used = self.batch_rows(c["order"], k - 1).astype(jnp.int32)  # f, g: batch k - 1
            order = self.next_order(c["order"], k, hyper)
            batch = self.batch_rows(order, k)
        state, res, (x_new, f_new, g_new), tests = self.advance(model, c, batch, hyper, used)
        finite, runaway, converged, failed, no_move = tests
        if limits.lower_bound is None:
            unbounded = finite & ((f_new < -limits.f_limit) | (runaway & (f_new < c["f"])))
            diverged = finite & runaway & ~unbounded
        else:  # f is bounded below: running away (or a value below -f_limit) is divergence
            unbounded = jnp.zeros(f_new.shape, bool)
            diverged = finite & (runaway | (f_new < -limits.f_limit))
        converged = finite & converged
        live = c["code"] >= 0  # a running run's code is its count of failures in a row
        fails = jnp.where(failed | no_move, c["code"] + 1, 0)
        stalled = finite & ~converged & (fails >= limits.patience)
        # the first test that holds names the status (nested wheres fuse; select reduces)
        status = jnp.int32(RUNNING)
        for test, name in (
            (stalled, "stalled"),
            (converged, "converged"),
            (diverged, "diverged"),
            (unbounded, "unbounded"),
            (~finite, "diverged_nonfinite"),
        ):
            status = jnp.where(test, CODE[name], status)
        stop = status != RUNNING
        # status, event step and failures in a row are one array (one kernel)
        code = jnp.where(live, jnp.where(stop, pack_stopped(status, k), fails), c["code"])
        code = code.astype(jnp.int32)
        # a non-finite step is not taken: keep the last finite point. (Read from the
        # code, which XLA computes once, rather than from the tests on x, f and g.)
        take = live & (code != pack_stopped(jnp.int32(CODE["diverged_nonfinite"]), k))
        kept = self.keep(take, (x_new, g_new, state), (c["x"], c["g"], c["state"]), model)
        out = {"x": kept[0], "f": jnp.where(take, f_new, c["f"]), "g": kept[1]}
        out.update(state=kept[2], code=code)
        if order is not None:
            out["order"] = order
        else:  # fmin: a start outside the domain (NaN) has its first finite value as best
            out["best"] = jnp.fmin(c["best"], out["f"])
        return self.counted(out, c, res, live)

    # -- the loop over records, and what it returns ----------------------------------------

    def write(self, buffer, c, i):
        """Record row ``i``: every run's point, f and gradient norm (with a minibatch
        objective: the full training loss and its gradient's norm, and the objective's
        recorded metrics into their own buffer), its best f so far and its counts.

        ``buffer`` maps "main" to the records, and "extra", "best", "counts" (when kept)
        to theirs."""
        f, g = c["f"], c["g"]
        if self.minibatch:
            f, g = self.evaluate(c["x"])
        # gradient-free: NaN (documented: no gradient was computed)
        norm = (
            jnp.full_like(f, jnp.nan) if self.gradient_free else jnp.sqrt(self.rows(jnp.add, g * g))
        )
        # a minibatch objective's best value is read from the records at the end
        best = c.get("best", f)
        point = self.runs_last(c["x"])
        rows_now = {"main": jnp.concatenate([point, f[None], norm[None], best[None]])}
        if self.record_names:
            metrics = jax.vmap(self.fun.record_metrics, in_axes=self.axis)(c["x"])
            rows_now["extra"] = jnp.stack(
                [metrics[name].astype(f.dtype) for name in self.record_names]
            )
        if "counts" in buffer:
            rows_now["counts"] = jnp.stack(list(c["evals"]))
        return {
            k: jax.lax.dynamic_update_index_in_dim(buffer[k], row, i, 0)
            for k, row in rows_now.items()
        }

    def record_loop(self, model: StepModel, carry, records_buffer, hyper):
        """Every step, recording every ``record_every`` steps (see below for the exit)."""
        records, record_every = self.records, self.record_every

        def steps_loop(c, first_step, count):
            return jax.lax.fori_loop(
                0, count, lambda i, c: self.step(model, c, first_step + i + 1, hyper), c
            )

        n = carry["f"].shape[0]
        buffers = {"main": records_buffer}
        if self.record_names:
            buffers["extra"] = jnp.zeros((records + 1, len(self.record_names), n), carry["f"].dtype)
        if "evals" in carry:  # counts that vary per step: one row of three per record
            buffers["counts"] = jnp.zeros((records + 1, 3, n), jnp.int32)

        # Pass i writes record row i, then takes block i's steps while any run is still
        # going (a quasi-Newton batch often converges in tens of steps; without the exit,
        # the stopped runs' line searches would spin until the last step). Once every run
        # has stopped, the rows repeat each run's frozen point, exactly what the remaining
        # steps would have recorded. One write in the program, not one per row kind.
        def row(i, state):
            c, buffer = state
            buffer = self.write(buffer, c, i)
            going = (i < records) & jnp.any(c["code"] >= 0)
            c = jax.lax.cond(
                going, lambda c: steps_loop(c, i * record_every, record_every), lambda c: c, c
            )
            return c, buffer

        carry, buffer = jax.lax.fori_loop(0, records + 1, row, (carry, buffers))
        if self.remainder:
            carry = steps_loop(carry, records * record_every, self.remainder)
        return carry, buffer

    def outputs(self, model: StepModel, carry, buffer) -> dict[str, Any]:
        """The program's outputs; constant counts per step from the steps each run took."""
        static = model.static
        status, event = unpack_codes(carry["code"], RUNNING)
        recorded = {}
        if self.record_names:
            extra = buffer["extra"]
            recorded = {f"record:{k}": extra[:, j].T for j, k in enumerate(self.record_names)}
        if "counts" in buffer:
            recorded["record_counts"] = buffer["counts"].transpose(2, 0, 1)
        buffer = buffer["main"]
        if "best" not in carry:  # a minibatch objective: the best full loss over the records
            d = self.runs_last(carry["x"]).shape[0]
            values = buffer[:, d]
            best = jax.lax.cummin(jnp.where(jnp.isnan(values), jnp.inf, values), axis=0)
            buffer = buffer.at[:, d + 2].set(jnp.where(jnp.isinf(best), values, best))
        final_values = carry["f"]
        if self.minibatch:  # statuses and the final value from the full training loss
            d = self.runs_last(carry["x"]).shape[0]
            if self.remainder == 0:  # the last record is at the final point: read it
                final_values, norm = buffer[-1, d], buffer[-1, d + 1]
            else:
                final_values, g_full = self.evaluate(carry["x"])
                norm = jnp.sqrt(self.rows(jnp.add, g_full * g_full))
            finite = jnp.isfinite(final_values) & jnp.isfinite(norm)
            running = status == RUNNING
            x_size = self.rows(jnp.maximum, jnp.abs(carry["x"]))
            flat = first_order(norm * norm, final_values, x_size, self.limits.gtol)
            status = jnp.where(running & finite & flat, CODE["converged"], status)
            status = jnp.where(running & ~finite, CODE["diverged_nonfinite"], status)
            event = jnp.where(running & (~finite | flat), self.steps, event)
        taken = jnp.where(event >= 0, event, self.steps)
        if "evals" in carry:
            evals = carry["evals"]
        else:
            evals = Evaluations(
                *(
                    (start + int(per_step) * taken).astype(jnp.int32)
                    for start, per_step in zip(self.init_evals, static["evals"], strict=True)
                )
            )
        if "resets" in carry:
            resets = carry["resets"]
        else:
            resets = (int(static["resets"]) * taken).astype(jnp.int32)
        metrics = jax.vmap(
            lambda x, st: self.method.final_metrics(self.fun, x, st),
            in_axes=(self.axis, model.state_axes),
        )(carry["x"], carry["state"])
        return {
            "records": buffer,
            "status": status,
            "event_step": event,
            "function_evaluations": evals.f,
            "gradient_evaluations": evals.g,
            "hessian_evaluations": evals.h,
            "resets": resets,
            "final_params": self.runs_last(carry["x"]).T,
            "final_values": final_values,
            **{f"metric:{k}": v for k, v in metrics.items()},
            **recorded,
        }
