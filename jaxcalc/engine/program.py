"""The one compiled program: ``lax.scan``-style loop over steps, ``vmap`` over runs.

(Over 500 lines: the start, the step, the engine's tests, the records and the outputs are
one loop whose carry they share, in three layouts (runs last, runs first, leaves); the
traced step of one run and the analyses of traces are in :mod:`~jaxcalc.engine.stepmodel`
and :mod:`~jaxcalc.engine.traces`.)

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
When, besides, the method's init and step treat every coordinate on its own (Adam, SGD,
RMSprop, ...: :attr:`jaxcalc.engine.stepmodel.StepModel.coordinatewise`), the point is
carried as the objective's leaves, each ``(N, *leaf_shape)``, with the gradient and one
optimizer state per leaf (:meth:`Program.use_leaves`): the objective reads its matrices as
they are and its gradient comes out as leaves, where a flat point would be cut into them
and the gradient joined back at every step. The leaves are joined into flat points only
where records are written and at the end. Methods that need the whole vector (BFGS, line
searches, a clip by the global norm) keep the flat point.

Per step the engine carries only what it must: the point, f, the gradient, the state
leaves that differ between runs, and the status, event step and failure count. A method
whose per-step evaluation counts are constants (every optax method) has its counts computed
at the end from the step where each run stopped. A stopped run's point, f, gradient and
counts are frozen; its optimizer state is not (it is never read again) unless the method
sets ``final_state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxcalc.engine.options import Limits
from jaxcalc.engine.result import CODE, first_order, pack_stopped, unpack_codes
from jaxcalc.engine.stepmodel import StepModel, step_model
from jaxcalc.optimizers import Evaluations, Optimizer
from jaxcalc.trees import FlatObjective

__all__ = ["Program", "public_hyper"]

_UNROLL_ROWS = 16  # reductions over the coordinates are unrolled up to this dimension
RUNS_FIRST_DIM = 256  # pytree objectives of this many numbers keep the runs axis first
# points carried as leaves run two steps per loop iteration from this many numbers over all
# runs (4 MiB of float32: past a core's cache, where the copies it saves cost)
UNROLL_NUMBERS = 2**20
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
        self.tree = None  # the template of points carried as leaves (see use_leaves)
        self.leaf_models: list[StepModel] = []

    def runs_axis(self, d: int) -> int:
        """The runs axis of points inside the loop: 0 for a pytree objective of
        :data:`RUNS_FIRST_DIM` or more numbers, else -1 (see the module docstring)."""
        pytree = getattr(self.fun, "template", None) is not None
        return 0 if pytree and d >= RUNS_FIRST_DIM else -1

    def rows(self, op, a) -> jax.Array:
        """:func:`rows` over this program's points (arrays, or leaves runs first).

        Over leaves, a max or an and is taken per leaf and then across the leaves (their
        order changes no bit); a sum over leaves is :meth:`squares`'s."""
        if isinstance(a, tuple):
            parts = [rows(op, leaf.reshape(leaf.shape[0], -1), 0) for leaf in a]
            out = parts[0]
            for part in parts[1:]:
                out = op(out, part)
            return out
        return rows(op, a, self.axis)

    def squares(self, g) -> jax.Array:
        """Every run's sum of squares of ``g`` (points, or leaves runs first).

        Over leaves, the sum is taken over the leaves joined into one flat array first,
        so that its order is a flat point's, bit for bit (a sum over a join that XLA fuses
        into the reduction adds in another order)."""
        if isinstance(g, tuple):
            flat = jax.lax.optimization_barrier(self.joined(g))
            return rows(jnp.add, flat * flat, 0)
        return self.rows(jnp.add, g * g)

    def joined(self, leaves: tuple) -> jax.Array:
        """Leaves ``(N, *shape)`` as flat points ``(N, D)``."""
        return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)

    def split(self, x: jax.Array) -> tuple:
        """Flat points ``(N, D)`` as the template's leaves ``(N, *shape)``."""
        out, at = [], 0
        for shape, size in zip(self.tree.shapes, self.tree.sizes, strict=True):
            out.append(x[:, at : at + size].reshape((x.shape[0], *shape)))
            at += size
        return tuple(out)

    def use_leaves(self, model: StepModel, hyper) -> bool:
        """Whether points are carried as the objective's leaves, runs first: for a pytree
        objective of :data:`RUNS_FIRST_DIM` or more numbers and a method whose init and
        step treat every coordinate on its own (Adam, SGD, RMSprop, ... :
        :attr:`StepModel.coordinatewise`) and that reads no state or point at the end.

        The method then runs on each leaf (flattened) separately, its trace on a leaf doing
        the arithmetic of its trace on the whole point; the objective reads its leaves as
        they are, and its gradient comes out as leaves. A flat point would be cut into the
        leaves for every evaluation and the gradient joined back: two passes over every
        run's parameters per step. Methods that need the whole vector (BFGS, L-BFGS,
        Newton, line searches, a clip by the global norm) keep the flat point.
        """
        method = self.method
        if not (model.coordinatewise and isinstance(self.fun, FlatObjective)):
            return False
        if method.final_state or type(method).final_metrics is not Optimizer.final_metrics:
            return False
        template = self.fun.template
        models = [self.model(size, template.dtype, hyper) for size in template.sizes]
        if any(not m.coordinatewise or m.signature != model.signature for m in models):
            return False
        self.tree, self.leaf_models = template, models
        return True

    def where(self, take: jax.Array, new: jax.Array, old: jax.Array) -> jax.Array:
        """``new`` where ``take`` (one flag per run), else ``old``, along the runs axis."""
        if self.axis == 0 and jnp.ndim(new) > 1:
            take = take.reshape((-1,) + (1,) * (jnp.ndim(new) - 1))
        return jnp.where(take, new, old)

    def runs_last(self, x) -> jax.Array:
        """Points (D, N), whatever the loop's layout."""
        if isinstance(x, tuple):
            return self.joined(x).T
        return x.T if self.axis == 0 else x

    def record_buffer_shape(self, n: int, d: int) -> tuple[int, int, int]:
        return (self.records + 1, d + 3, n)

    def record_buffer(self, n: int, d: int, dtype) -> jax.Array:
        return jnp.zeros(self.record_buffer_shape(n, d), dtype)

    def __call__(self, x0s, hyper, records_buffer=None):
        n, d = x0s.shape
        fun = self.fun
        if "_objective" in hyper:  # a family (jaxcalc.engine.family): the objective chosen
            self.fun = fun.select(hyper["_objective"])  # by this shared input, as data
        self.axis = self.runs_axis(d)
        self.tree, self.leaf_models = None, []
        x = x0s if self.axis == 0 else x0s.T  # (D, N): runs last, unless a large pytree
        model = self.model(d, x0s.dtype, hyper)
        try:
            if self.axis == 0 and self.use_leaves(model, hyper):
                x = self.split(x)  # the leaves (N, *shape), runs first
            carry = self.start(model, x, hyper)
            if records_buffer is None:
                records_buffer = jnp.zeros(self.record_buffer_shape(n, d), x0s.dtype)
            carry, buffer = self.record_loop(model, carry, records_buffer, hyper)
            return self.outputs(model, carry, buffer)
        finally:  # the traces of the leaves and the chosen objective are this call's only
            self.tree, self.leaf_models, self.fun = None, [], fun  # (a program is data)

    # -- pieces ----------------------------------------------------------------------------

    def evaluate(self, x_rows, batch=None):
        """f (N,) and its gradient (D, N) at the points (D, N) (or (N, D), runs first).

        With a minibatch objective and ``batch``, the training rows of each run's minibatch
        (B, N), the minibatch loss there instead (see :meth:`batch_rows`).
        """
        if self.tree is not None:  # leaves: the objective's own function of its pytree
            tree_fun, treedef = self.fun.fun, self.tree.treedef
            if batch is not None:
                mapped = jax.vmap(tree_fun.batch_loss, in_axes=(0, -1))
                f_rows = lambda xr: mapped(jax.tree.unflatten(treedef, xr), batch)  # noqa: E731
            else:
                f_rows = lambda xr: jax.vmap(tree_fun)(jax.tree.unflatten(treedef, xr))  # noqa: E731
        elif batch is not None:
            mapped = jax.vmap(self.fun.batch_loss, in_axes=(self.axis, -1))
            f_rows = lambda xr: mapped(xr, batch)  # noqa: E731
        else:
            f_rows = jax.vmap(self.fun, in_axes=self.axis)
        if self.gradient_free:
            return f_rows(x_rows), jax.tree.map(jnp.zeros_like, x_rows)
        value, pullback = jax.vjp(f_rows, x_rows)
        (grad,) = pullback(jnp.ones_like(value))
        return value, grad

    def metrics_of(self, x) -> dict[str, jax.Array]:
        """The objective's recorded metrics at every run's point."""
        if self.tree is not None:
            tree = jax.tree.unflatten(self.tree.treedef, x)
            return jax.vmap(self.fun.fun.record_metrics)(tree)
        return jax.vmap(self.fun.record_metrics, in_axes=self.axis)(x)

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

    def model(self, d: int, dtype, hyper) -> StepModel:
        """One trace of one run's init and step, analysed (:func:`step_model`)."""
        return step_model(self, d, dtype, hyper)

    def start(self, model: StepModel, x, hyper) -> dict[str, Any]:
        """The loop's carry at the start: f and the gradient there, the state, the codes."""
        n = jax.tree.leaves(x)[0].shape[self.axis]
        order = None
        if self.minibatch:
            order = self.shuffled(hyper, n, 0)
        f0, g0 = self.evaluate(x, None if order is None else self.batch_rows(order, 0))
        if self.tree is not None:  # one state per leaf, from the leaf's own model
            state0 = tuple(
                jax.vmap(self.init_one, in_axes=(0, m.hyper_axes), out_axes=m.state_axes)(
                    leaf.reshape(n, -1), hyper
                )
                for leaf, m in zip(x, self.leaf_models, strict=True)
            )
        else:
            state0 = jax.vmap(
                self.init_one,
                in_axes=(self.axis, model.hyper_axes),
                out_axes=model.state_axes,
                axis_size=n,
            )(x, hyper)
        finite_xg = jax.tree.map(lambda a, b: jnp.isfinite(a) & jnp.isfinite(b), g0, x)
        finite0 = jnp.isfinite(f0) & self.rows(jnp.logical_and, finite_xg)
        zero_g = jax.tree.map(lambda a: a == 0, g0)
        flat0 = finite0 & self.rows(jnp.logical_and, zero_g) & (not self.gradient_free)
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
        if self.tree is not None:
            state, res = self.advance_leaves(c, hyper, used)
        else:
            state, res = self.advance_flat(model, c, hyper, used)
        x_new = res["x"]
        if res["value"] is None or batch is not None:
            f_new, g_new = self.evaluate(x_new, batch)
        else:
            f_new = res["value"]
            g_new = jnp.zeros_like(x_new) if self.gradient_free else res["grad"]

        # a maximum propagates NaN and |inf| is inf, so the largest |x| and |g| are finite
        # exactly when every coordinate is: one read of x serves the finiteness and the
        # runaway tests, one of g its finiteness
        def largest(x):
            return self.rows(jnp.maximum, jax.tree.map(jnp.abs, x))

        if self.tree is not None:
            # Points carried as leaves: XLA would fuse the test with the new point
            # recomputed from the method's update, so the update would be written out and
            # read twice (three passes over every run's parameters more than one read of
            # the new point). A conditional's operands are materialised, so inside one the
            # test reads the new point, and the update fuses into it. Both branches are the
            # same; the predicate only has to be unknown to the compiler.
            x_size = jax.lax.cond(c["code"][0] == 0, largest, largest, x_new)
        else:
            x_size = largest(x_new)
        finite = jnp.isfinite(f_new) & jnp.isfinite(x_size)
        if not self.gradient_free:
            finite = finite & jnp.isfinite(self.rows(jnp.maximum, jax.tree.map(jnp.abs, g_new)))
        runaway = x_size > limits.x_limit
        if self.gradient_free or self.minibatch:  # a minibatch gradient is no test of f's
            converged = jnp.zeros(f_new.shape, bool)
            no_move = converged
        else:
            converged = first_order(self.squares(g_new), f_new, x_size, limits.gtol)
            moved = jax.tree.map(lambda a, b: a == b, x_new, c["x"])
            no_move = self.rows(jnp.logical_and, moved)
        own = res.get("converged", static.get("converged"))
        if own is not None:
            converged = converged | jnp.asarray(own)
        failed = jnp.asarray(res.get("failed", static.get("failed")))
        return state, res, (x_new, f_new, g_new), (finite, runaway, converged, failed, no_move)

    def advance_flat(self, model: StepModel, c, hyper, used):
        """Every run's step on its whole point."""
        return jax.vmap(
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

    def advance_leaves(self, c, hyper, used):
        """Every run's step, leaf by leaf: the method on each flattened leaf, with that
        leaf's state; the counts are the first leaf's (they read no coordinate, so every
        leaf's are the same)."""
        states, points, first = [], [], None
        for leaf, g, state, m in zip(c["x"], c["g"], c["state"], self.leaf_models, strict=True):
            n = leaf.shape[0]
            new_state, res = jax.vmap(
                lambda *a, m=m: self.method_one(m, *a),
                in_axes=(0, -1, 0, m.state_axes, m.hyper_axes, *(-1,) * len(used)),
                out_axes=(m.state_axes, 0),
            )(leaf.reshape(n, -1), c["f"], g.reshape(n, -1), state, hyper, *used)
            states.append(new_state)
            points.append(res["x"].reshape(leaf.shape))
            first = res if first is None else first
        return tuple(states), {**first, "x": tuple(points)}

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
        # the point and gradient: one array each, or their leaves
        points = jax.tree.structure((x_new, g_new))
        arrays, olds = jax.tree.leaves((x_new, g_new)), jax.tree.leaves((x_old, g_old))
        n_points = len(arrays)
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

        def restore(state):
            left, current = state
            run = jnp.argmax(left)  # the first run still to write back
            current = list(current)
            for i in per_run:
                row = jax.lax.dynamic_index_in_dim(olds[i], run, 0, keepdims=True)
                current[i] = jax.lax.dynamic_update_index_in_dim(current[i], row, run, 0)
            return left.at[run].set(False), tuple(current)

        # the loop's test is one reduction over the runs; at most steps no run is left, and
        # the body (a search for the next run) does not run at all
        _, arrays = jax.lax.while_loop(
            lambda state: jnp.any(state[0]), restore, (~take, tuple(arrays))
        )
        if final:
            state = jax.tree.unflatten(jax.tree.structure(state), arrays[n_points:])
        x, g = jax.tree.unflatten(points, arrays[:n_points])
        return x, g, state

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
        norm = jnp.full_like(f, jnp.nan) if self.gradient_free else jnp.sqrt(self.squares(g))
        # a minibatch objective's best value is read from the records at the end
        best = c.get("best", f)
        point = self.runs_last(c["x"])
        rows_now = {"main": jnp.concatenate([point, f[None], norm[None], best[None]])}
        if self.record_names:
            metrics = self.metrics_of(c["x"])
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

        # Points carried as leaves: two steps per iteration. Within one step the old point
        # and gradient stay live to the end (``keep`` writes back the runs that do not take
        # their step), so the new ones are computed into other buffers, and a loop of one
        # step per iteration copies them back into the carry's (two passes over every run's
        # parameters per step); over two steps each step's output goes to the buffers the
        # step before read, and the carry ends in its own buffers. Same arithmetic, in the
        # same order; the compile takes longer (the step is compiled twice), so only when
        # the runs' parameters are too many for the copies to stay in cache.
        n = carry["f"].shape[0]
        numbers = n * sum(leaf[0].size for leaf in carry["x"]) if self.tree is not None else 0
        unroll = 2 if numbers >= UNROLL_NUMBERS else 1

        def steps_loop(c, first_step, count):
            return jax.lax.fori_loop(
                0,
                count,
                lambda i, c: self.step(model, c, first_step + i + 1, hyper),
                c,
                unroll=min(unroll, max(count, 1)),
            )

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
                norm = jnp.sqrt(self.squares(g_full))
            finite = jnp.isfinite(final_values) & jnp.isfinite(norm)
            running = status == RUNNING
            x_size = self.rows(jnp.maximum, jax.tree.map(jnp.abs, carry["x"]))
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
        metrics = {}  # a method carried on leaves reads nothing at the end (use_leaves)
        if self.tree is None:
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
