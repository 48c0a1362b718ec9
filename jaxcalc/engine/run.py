"""The entry points: :func:`optimize`, :func:`optimize_many` and their ``precompile``.

Each is a short sequence: check and resolve the arguments (:mod:`~jaxcalc.engine.options`),
lay out and cut the runs (:mod:`~jaxcalc.engine.plan`), build or find the compiled
:class:`~jaxcalc.engine.program.Program` (:mod:`~jaxcalc.engine.cache`), run its chunks,
check the curvature where runs stopped (:mod:`~jaxcalc.engine.curvature`), and assemble
the :class:`~jaxcalc.engine.result.Trajectory` objects.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.engine import cache, curvature, distributed, plan
from jaxcalc.engine.options import (
    Limits,
    check_run_arguments,
    limits_for,
    resolve_methods,
    resolve_objective,
    resolve_tree_starts,
)
from jaxcalc.engine.program import Program
from jaxcalc.engine.result import (
    CODE,
    Trajectory,
    assemble,
    merge_chunks,
    runs_first,
    step_counts,
)
from jaxcalc.engine.start import overflow_at_start
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import Optimizer
from jaxcalc.optimizers.schedules import describe_schedules, schedule_history

__all__ = ["estimate", "optimize", "optimize_many", "precompile", "precompile_many"]

# XLA's newer CPU fusion emitters run an Adam step 1.6-1.7x faster but take about twice as
# long to compile (benchmarks/engine_internals.py measures both). The two emitters round
# some runs differently (newton, cma_es, augmented_lagrangian), so the choice depends on
# the steps per run, never on the number of runs: a run gives the same bits alone or among
# 100,000 (docs/devices.md). Runs of fewer steps get the older emitters, where the compile
# is most of the wall time, unless each run is long in numbers times steps: a minibatch MLP
# (4,810 numbers, 220 steps) runs 1.1x faster with the newer emitters
# (benchmarks/mlp_digits.py), and its run outlasts the compile at a thousand runs.
QUICK_COMPILE_STEPS = 1000
QUICK_COMPILE_WORK = 2**18  # numbers x steps of one run from which the newer emitters run


def quick_compile(steps: int, d: int) -> bool:
    """Whether a job's program gets XLA's older CPU emitters (quicker to compile): by the
    steps and the size of one run, never by the number of runs."""
    return steps < QUICK_COMPILE_STEPS and steps * d < QUICK_COMPILE_WORK


# The curvature check runs on blocks of this many runs (see _check_shape).
CHECK_ROWS = 1024


@dataclass
class _Job:
    """One call's compiled program, its inputs and how they are cut and placed."""

    fun: Any
    program: Program
    layout: plan.Layout
    chunks: plan.Chunks
    dim: int
    dtype: Any
    n_dev: int
    sharding: Any
    replicated: Any
    shape_key: Any  # the compiled program's key in cache.COMPILED
    check_key: Any  # the curvature program's key
    quick_compile: bool
    curvature: bool

    @property
    def donate(self) -> bool:
        # On one device the record buffer is an input, donated: the program writes the
        # records into the buffer of the last call of the same program and worker (when no
        # Trajectory holds it any more) instead of faulting in fresh pages, which costs
        # more than writing them (~0.1 s for the 160 MB of 10^4 runs x 1000 records).
        return self.n_dev == 1

    def inputs(self, lo: int, hi: int):
        return plan.chunk_inputs(
            self.layout, self.chunks.padded, lo, hi, self.sharding, self.replicated
        )

    def batch(self, x0s, hyper, shared, buffer=None):
        return self.program(x0s, {**hyper, **shared, **self.layout.static_none}, buffer)

    def take_buffer(self, worker: int) -> jax.Array | None:
        if not self.donate:
            return None
        buffer = cache.take(cache.BUFFERS, (self.shape_key, worker))
        if buffer is not None:
            return buffer
        return self.program.record_buffer(self.chunks.padded, self.dim, self.dtype)


def _job(
    objective: Any,
    fun: Any,
    layout: plan.Layout,
    limits: Limits,
    steps: int,
    record_every: int,
    check_curvature: bool,
    memory_budget: int | None,
    chunk_size: int | None,
    cpu_threads: int | None,
) -> _Job:
    """The plan of one call: chunks within the memory budget, devices, cache keys."""
    method = layout.method
    d, dtype = layout.run_x0.shape[1], layout.run_x0.dtype
    budget = memory_budget if memory_budget is not None else plan.memory_budget()
    itemsize = jnp.dtype(dtype).itemsize
    per_run = plan.estimate_bytes(1, steps, record_every, d, itemsize, method.state_size(d))
    state_bytes = method.state_size(d) * itemsize
    plan.check_memory(per_run, budget, steps, record_every, d, state_bytes)
    # every process's devices in a run of several processes (jaxcalc.engine.distributed)
    devices = jax.devices() if distributed.is_distributed() else jax.local_devices()
    n_dev = len(devices)
    runs = layout.runs
    chunks = plan.plan_chunks(runs, per_run, budget, n_dev, steps, chunk_size, cpu_threads)
    key = (
        objective if isinstance(objective, str) else fun,
        cache.method_key(method),
        limits,
        int(steps),
        int(record_every),
        check_curvature,
        tuple(sorted(layout.run_hyper)),
        tuple(sorted(layout.shared_hyper)),
        tuple(sorted(layout.static_none)),
    )
    sharding = replicated = None
    if n_dev > 1:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(devices), ("runs",))
        sharding = NamedSharding(mesh, PartitionSpec("runs"))
        replicated = NamedSharding(mesh, PartitionSpec())
    shape = (chunks.padded, d)
    return _Job(
        fun=fun,
        program=Program(fun, method, limits, int(steps), int(record_every)),
        layout=layout,
        chunks=chunks,
        dim=d,
        dtype=dtype,
        n_dev=n_dev,
        sharding=sharding,
        replicated=replicated,
        shape_key=(key, shape, str(dtype), n_dev),
        check_key=("curvature", key[0], _check_shape(chunks.padded, d, n_dev), str(dtype), n_dev),
        quick_compile=quick_compile(int(steps), d),
        curvature=check_curvature and method.curvature_check,
    )


def _compiled(job: _Job) -> tuple[Any, float]:
    """The job's compiled program (from the cache, else compiled now) and compile seconds."""
    compiled = cache.take(cache.COMPILED, job.shape_key)
    seconds = 0.0
    if compiled is None:
        t0 = time.perf_counter()
        x_part, h_part, s_part = job.inputs(*job.chunks.bounds[0])
        if job.donate:
            shape = jax.ShapeDtypeStruct(
                job.program.record_buffer_shape(job.chunks.padded, job.dim), job.dtype
            )
            parts = (_Job.batch, job.program, job.layout.static_none)  # what the trace reads
            lowered = cache.lower_program(job.batch, (x_part, h_part, s_part, shape), 3, parts)
        else:
            lowered = jax.jit(_per_device(job, x_part, h_part, s_part)).lower(
                x_part, h_part, s_part
            )
        compiled = cache.compile_program(lowered, job.quick_compile)
        seconds += time.perf_counter() - t0
    cache.keep_compiled(job.shape_key, compiled)
    return compiled, seconds


def _per_device(job: _Job, x_part, h_part, s_part):
    """The job's program on several devices: each device runs the one-device program on
    its own runs (``shard_map``), and the runs are gathered only at the end.

    Left to XLA's partitioner, the program asked "is any run still going?" of every
    device at each block of steps and at each pass of a method's inner loop (a line
    search, Levenberg-Marquardt's damping trials): an all-reduce inside the loop, where
    each device's thread waits for the slowest (on a CPU, on XLA's shared thread pool).
    Without collectives, each device stops when its own runs have.
    """
    from jax.sharding import PartitionSpec

    runs, shared = PartitionSpec("runs"), PartitionSpec()
    shapes = jax.eval_shape(job.batch, x_part, h_part, s_part)
    # every output has the runs first, except the records (R + 1, D + 2, N)
    out_specs = {k: PartitionSpec(None, None, "runs") if k == "records" else runs for k in shapes}
    return jax.shard_map(
        job.batch,
        mesh=job.sharding.mesh,
        in_specs=(runs, {k: runs for k in h_part}, {k: shared for k in s_part}),
        out_specs=out_specs,
        check_vma=False,
    )


def _prepare_rest(job: _Job) -> None:
    """What ``precompile`` leaves besides the program: the curvature check compiled, and
    the record buffers' pages faulted in now rather than when running."""
    if job.donate:
        for worker in range(job.chunks.workers):
            if (job.shape_key, worker) not in cache.BUFFERS:
                cache.keep_buffer((job.shape_key, worker), job.take_buffer(worker))
    if job.curvature and job.check_key not in cache.COMPILED:
        cache.keep_compiled(job.check_key, _curvature_program(job))


def _check_shape(padded: int, d: int, n_dev: int) -> tuple[int, int]:
    """The curvature program's shape: on one device, blocks of ``CHECK_ROWS`` runs, so
    one program per objective serves every job on it (a stacked job of 7,000 runs and its
    objective's L-BFGS job of 1,000 alike); above ``CURVATURE_CHECK_MAX_DIM``, where the
    rows are large, at most the job's chunk. On several devices, the chunk (sharded)."""
    if n_dev > 1:
        return (padded, d)
    rows = CHECK_ROWS if d <= curvature.CURVATURE_CHECK_MAX_DIM else min(CHECK_ROWS, padded)
    return (rows, d)


def _curvature_program(job: _Job):
    shape = job.check_key[2]
    return curvature.curvature_program(job.fun, shape, job.dtype, job.sharding)


def _check_runs(job: _Job, check, out: dict[str, Any], checkable) -> jax.Array | np.ndarray:
    """Every run's status after the curvature check: on one device, the checkable runs
    (converged or flat start) gathered into blocks of the program's rows (a block's
    unused rows repeat its first run and are dropped); on several, the sharded chunk."""
    if job.n_dev > 1:
        return check(out["final_params"], out["status"])
    status = np.array(out["status"])
    todo = np.flatnonzero(np.isin(status, checkable))
    params = np.asarray(out["final_params"])
    rows = job.check_key[2][0]
    for lo in range(0, todo.size, rows):
        index = todo[lo : lo + rows]
        block = np.concatenate([index, np.full(rows - index.size, index[0])])
        checked = check(params[block], status[block])
        status[index] = np.asarray(checked)[: index.size]
    return status


def _run_chunks(job: _Job, compiled) -> tuple[list[dict[str, Any]], np.ndarray | None, float]:
    """Every chunk's outputs, the host array of all runs' records (several chunks only),
    and the run seconds.

    With several chunks, each is copied into one host array of all runs' records as soon
    as it is done (in its worker thread, so the copies run in parallel too); its XLA
    buffer is then free for the next call. One chunk is handed out without a copy.
    """
    bounds, workers = job.chunks.bounds, job.chunks.workers
    records = None
    if len(bounds) > 1:
        shape = job.program.record_buffer_shape(job.layout.runs, job.dim)
        records = cache.host_records(shape, job.dtype)

    def execute(index: int) -> dict[str, Any]:
        worker = index % workers
        lo, hi = bounds[index]
        x_part, h_part, s_part = job.inputs(lo, hi)
        if job.donate:
            out = compiled(x_part, h_part, s_part, job.take_buffer(worker))
        else:
            out = compiled(x_part, h_part, s_part)
        out = jax.block_until_ready(out)
        if distributed.is_distributed():
            out = distributed.gather(out)
        if job.donate:
            cache.keep_buffer((job.shape_key, worker), out["records"])
        if records is not None:
            chunk_records = out.pop("records")
            np.copyto(records[..., lo:hi], np.asarray(chunk_records)[..., : hi - lo])
        return out

    t0 = time.perf_counter()
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="jaxcalc-run") as pool:
            outs = list(pool.map(execute, range(len(bounds))))
    else:
        outs = [execute(i) for i in range(len(bounds))]
    return outs, records, time.perf_counter() - t0


def _checked_pieces(job: _Job, outs: list[dict[str, Any]]) -> tuple[list[dict], float, float]:
    """Each chunk's host arrays, runs first, with the curvature check applied; and the
    check's compile and run seconds.

    One check program per objective and shape, shared by every optimizer; it can only
    change the status of runs that converged or started flat, so without any such run it
    is neither compiled nor run.
    """
    compile_seconds = run_seconds = 0.0
    pieces: list[dict[str, np.ndarray]] = []
    checkable = (CODE["converged"], CODE["flat_start"])
    for (lo, hi), out in zip(job.chunks.bounds, outs, strict=True):
        if job.curvature and np.isin(np.asarray(out["status"]), checkable).any():
            check = cache.take(cache.COMPILED, job.check_key)
            if check is None:
                t0 = time.perf_counter()
                check = _curvature_program(job)
                compile_seconds += time.perf_counter() - t0
            cache.keep_compiled(job.check_key, check)
            t0 = time.perf_counter()
            status = jax.block_until_ready(_check_runs(job, check, out, checkable))
            out["status"] = distributed.gather(status) if distributed.is_distributed() else status
            run_seconds += time.perf_counter() - t0
        piece = runs_first(out, hi - lo)
        piece["status"] = overflow_at_start(job.fun, job.layout.run_x0[lo:hi], piece["status"])
        pieces.append(piece)
    return pieces, compile_seconds, run_seconds


def _estimate(entries, n_starts, steps, record_every, dim, dtype) -> plan.JobEstimate:
    runs = plan.count_runs(entries, n_starts)
    state = max(method.state_size(dim) for method, _ in entries)
    return plan.estimate_job(runs, steps, record_every, dim, dtype, state)


def estimate(
    optimizers: Sequence[tuple[str | Optimizer, Mapping[str, Any]]],
    starts: int,
    steps: int,
    dim: int,
    *,
    record_every: int = 1,
    dtype: Any = None,
    check: bool = True,
    where: str = "optimize",
) -> plan.JobEstimate:
    """The memory a job of :func:`optimize_many` would take, before anything is allocated.

    Takes the optimizers as :func:`optimize_many` does, the number of ``starts``, ``steps``,
    the dimension and ``record_every``. With ``check``, a job over the limits (the runs
    cap, 40% of free memory for the results) raises a :class:`ResourceError` that names
    the estimate, the limit and the settings that reduce it; ``steps``, ``record_every``
    and ``starts`` out of range raise a :class:`ConfigError`.

    Example:
      >>> estimate([("adam", {})], 100, 1000, 2).runs
      100
    """
    check_run_arguments(steps, record_every, 0)
    if isinstance(starts, bool) or not isinstance(starts, int | np.integer) or starts < 1:
        raise ConfigError(f"starts must be a whole number >= 1; got {starts!r}")
    dtype = jnp.result_type(float) if dtype is None else dtype
    job = _estimate(resolve_methods(optimizers), int(starts), steps, record_every, dim, dtype)
    if check:
        plan.check_job(job, where=where)
    return job


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
      gtol: convergence when ``|grad f| <= gtol * max(1, |f| / max(1, max_i |x_i|))``
        (see :func:`~jaxcalc.engine.result.first_order`; default 1e-5 in float32, 1e-8 in
        float64).
      f_limit: ``f < -f_limit`` means unbounded below (default 1e30 in float64, 1e20 in float32).
      x_limit: ``max|x| > x_limit`` means the run ran away (default 1e15 / 1e10). On an
        objective with a lower bound (:attr:`Objective.floor`: its declared ``lower_bound``
        or its ``f_opt``) a run that ran away is ``diverged``, never ``unbounded``.
      patience: consecutive failed or zero steps before a run is "stalled".
      check_curvature: check where 'converged' runs stop: the Hessian for ``D <= 32``
        (a maximum or saddle becomes 'non_minimum'), and for every ``D`` f around the point
        (a plateau becomes 'stalled').
      memory_budget: bytes the outputs may take (default: 40% of free memory, or half of
        free device memory on an accelerator); above it, runs are computed in chunks.
      chunk_size: force chunks of this many runs.
      cpu_threads: on a one-device CPU backend, how many chunks of a job of >= 4e6
        run-steps run at once, one per thread (default: ``$JAXCALC_CPU_THREADS``, else the
        cores this process may use; 1 runs one chunk; see docs/devices.md). On a CPU,
        results are identical to the bit whatever the number, the chunk size and the
        memory budget (``extras["bit_reproducible"]``).
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
    if not optimizers:
        raise ConfigError("optimize_many: no optimizers given")
    check_run_arguments(steps, record_every, seed)
    entries = resolve_methods(optimizers)
    fun, name, dim = resolve_objective(objective)
    fun, starts, single, template = resolve_tree_starts(fun, x0, name, dim)
    for method, _ in entries:
        method.check_objective(fun, starts.shape[1])
    # the whole job is judged before any per-run array is laid out or allocated
    plan.check_job(
        _estimate(entries, starts.shape[0], steps, record_every, starts.shape[1], starts.dtype)
    )
    floor = getattr(fun, "floor", None)  # an Objective's declared lower bound
    limits = limits_for(starts.dtype, gtol, f_limit, x_limit, patience, floor)
    layout = plan.lay_out(entries, starts, seed)
    # every scheduled value of the run, checked (finite, in range) before compiling
    histories = [
        schedule_history(
            g.method, g.resolved, g.sweep, g.sweep_shape, steps, record_every, starts.dtype
        )
        for g in layout.grids
    ]
    job = _job(
        objective,
        fun,
        layout,
        limits,
        steps,
        record_every,
        check_curvature,
        memory_budget,
        chunk_size,
        cpu_threads,
    )
    compiled, compile_seconds = _compiled(job)
    if _compile_only:  # every chunk has this shape; compile the curvature check too
        _prepare_rest(job)
        return []
    outs, records, run_seconds = _run_chunks(job, compiled)
    pieces, check_compile, check_run = _checked_pieces(job, outs)
    del outs
    merged = pieces[0] if records is None else merge_chunks(pieces, records)
    trajectories = assemble(
        merged,
        layout.grids,
        starts.shape[0],
        single,
        objective=name,
        program=layout.method.name,
        steps=steps,
        record_every=record_every,
        extras={
            "seed": seed,
            "gtol": limits.gtol,
            "dtype": str(starts.dtype),
            "bit_reproducible": cache.bit_reproducible(),
        },
        compile_seconds=compile_seconds + check_compile,
        run_seconds=run_seconds + check_run,
        devices=job.n_dev,
        chunks=len(job.chunks.bounds),
    )
    trajectories = [
        dataclasses.replace(t, hyperparameter_history=h, schedules=describe_schedules(g.method))
        if h
        else t
        for t, h, g in zip(trajectories, histories, layout.grids, strict=True)
    ]
    if "record_counts" not in merged:  # constant counts per step: exact from the totals
        trajectories = [
            dataclasses.replace(t, step_counts=step_counts(t, job.program.init_evals))
            for t in trajectories
        ]
    if template is not None:
        trajectories = [dataclasses.replace(t, param_tree=template) for t in trajectories]
    return trajectories
