"""How a job's runs are laid out and cut: the sweep grid, per-run inputs, the memory
estimate and budget, chunks, the chunks run at once on a CPU, and padding to lane blocks."""

from __future__ import annotations

import math
import numbers
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import numpy as np

from jaxcalc.engine.options import check_cpu_threads
from jaxcalc.errors import ConfigError, ResourceError
from jaxcalc.optimizers import Optimizer, check_hyperparameters
from jaxcalc.optimizers.stacked import SLOT, slot_name, stack

__all__ = [
    "MAX_RUNS",
    "Chunks",
    "JobEstimate",
    "Layout",
    "check_job",
    "count_runs",
    "estimate_bytes",
    "estimate_job",
    "host_budget",
    "lay_out",
    "plan_chunks",
]

LANE_BLOCK = 32  # runs per device are padded to a multiple of this (see plan_chunks)
PARALLEL_MIN_RUN_STEPS = 4_000_000  # smaller jobs run as one chunk (a few ms at most)
MAX_RUNS = 100_000_000  # runs of one job: starts x sweep points, over every optimizer
_PER_RUN_SCALARS = 12  # per-run outputs besides the records: status, counts, final value
#: numbers per record and run besides the point: f, the gradient norm, the best f so far
#: (a line-search method's counts, three int32, take about one more float64)
_RECORD_NUMBERS = 3


def estimate_bytes(
    runs: int, steps: int, record_every: int, dim: int, itemsize: int, state_size: int
) -> int:
    """Memory of the outputs and working state of ``runs`` runs, in bytes."""
    records = steps // record_every + 1
    per_run = records * (dim + _RECORD_NUMBERS) + 4 * dim + state_size + 16
    return int(runs * per_run * itemsize)


def host_budget() -> int:
    """Bytes a whole job's results may take in host memory: 40% of the free memory, and
    at most a quarter of an address-space limit (``ulimit -v``; XLA reserves much of the
    rest, and past it the process aborts instead of raising)."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        available = 8 << 30
    budget = int(0.4 * available)
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # pragma: no cover - Windows
        soft = -1
    if soft > 0:
        budget = min(budget, soft // 4)
    return budget


@dataclass(frozen=True)
class JobEstimate:
    """What a whole job will hold before anything is allocated.

    Attributes:
      runs: starts x sweep points, summed over the optimizers.
      records: recorded rows per run (``steps // record_every + 1``).
      dim, itemsize, dtype: the point's coordinates and the working float type.
      state_size: numbers of optimizer state per run (largest over the optimizers).
      result_bytes: the trajectories and per-run outputs of every run, which the returned
        :class:`Trajectory` holds at once (chunks cut only the working memory).
      run_bytes: one run's records and working state (the unit of the chunks).
    """

    runs: int
    steps: int
    record_every: int
    dim: int
    itemsize: int
    dtype: str
    state_size: int

    @property
    def records(self) -> int:
        return self.steps // self.record_every + 1

    @property
    def result_bytes(self) -> int:
        per_run = self.records * (self.dim + _RECORD_NUMBERS) + 3 * self.dim + _PER_RUN_SCALARS
        return self.runs * per_run * self.itemsize

    @property
    def run_bytes(self) -> int:
        return estimate_bytes(
            1, self.steps, self.record_every, self.dim, self.itemsize, self.state_size
        )

    def summary(self) -> str:
        return (
            f"{self.runs} runs x {self.records} records x {self.dim + _RECORD_NUMBERS} numbers "
            f"({self.dtype}): ~{format_bytes(self.result_bytes)} of results"
        )


def format_bytes(n: float) -> str:
    """``n`` bytes in a short human form (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def estimate_job(
    runs: int, steps: int, record_every: int, dim: int, dtype: Any, state_size: int
) -> JobEstimate:
    """The :class:`JobEstimate` of a job (nothing is allocated)."""
    dt = np.dtype(dtype)
    return JobEstimate(
        int(runs), int(steps), int(record_every), int(dim), dt.itemsize, dt.name, int(state_size)
    )


def check_job(
    job: JobEstimate,
    limit: int | None = None,
    where: str = "optimize",
    limit_name: str = "40% of free memory, at most a quarter of ulimit -v",
) -> None:
    """Refuse a job whose runs exceed :data:`MAX_RUNS` or whose results exceed ``limit``
    bytes (default :func:`host_budget`), naming the estimate, the limit and what reduces it.
    """
    if job.runs > MAX_RUNS:
        raise ResourceError(
            f"{where}: {job.runs} runs (starts x sweep points); the limit is {MAX_RUNS}: "
            f"use fewer starts or fewer sweep values"
        )
    limit = host_budget() if limit is None else int(limit)
    if job.result_bytes <= limit:
        return
    per_record = job.runs * (job.dim + _RECORD_NUMBERS) * job.itemsize
    fixed = job.runs * (3 * job.dim + _PER_RUN_SCALARS) * job.itemsize
    fits_records = (limit - fixed) // per_record if per_record else 0
    if fits_records >= 2:
        every = max(job.record_every + 1, math.ceil(job.steps / (fits_records - 1)))
        hint = f"record_every={every}"
    else:
        least = JobEstimate(1, job.steps, job.steps, job.dim, job.itemsize, job.dtype, 0)
        one_run = max(1, least.result_bytes)
        hint = f"at most {max(1, limit // one_run)} runs (starts x sweep points)"
    raise ResourceError(
        f"{where}: the job needs {job.summary()}; the limit is {format_bytes(limit)} "
        f"({limit_name}); reduce starts or the sweep, or record less often "
        f"({hint} fits)"
    )


def memory_budget() -> int:
    """Bytes a job's outputs may take: half the free device memory on an accelerator, else
    40% of the free host memory."""
    device = jax.local_devices()[0]
    try:
        stats = device.memory_stats() or {}
    except Exception:  # pragma: no cover - backends without stats
        stats = {}
    if "bytes_limit" in stats:
        return int(0.5 * (stats["bytes_limit"] - stats.get("bytes_in_use", 0)))
    return host_budget()


def sweep_sizes(method: Optimizer, hyperparameters: Mapping[str, Any]) -> tuple[int, ...]:
    """The length of each swept hyperparameter (a list or array value), in order."""
    return tuple(
        len(v) for v in hyperparameters.values() if isinstance(v, list | tuple | np.ndarray)
    )


def count_runs(entries: Sequence[tuple[Optimizer, Mapping[str, Any]]], n_starts: int) -> int:
    """The runs of a job (starts x sweep points, summed over the optimizers), counted in
    Python integers before anything is laid out."""
    return sum(math.prod(sweep_sizes(m, h)) * int(n_starts) for m, h in entries)


def sweep_grid(
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
    if math.prod(shape) > MAX_RUNS:
        raise ResourceError(
            f"{method.name}: the sweep {' x '.join(map(str, shape))} has {math.prod(shape)} "
            f"points; the limit is {MAX_RUNS} runs: use fewer sweep values"
        )
    grids = np.meshgrid(*(np.asarray(resolved[k], np.float64) for k in sweep), indexing="ij")
    flat = {k: g.reshape(-1) for k, g in zip(sweep, grids, strict=True)}
    return resolved, sweep, shape, flat


def lane_ids(
    method: Optimizer, resolved: Mapping[str, Any], flat: Mapping[str, np.ndarray], n_sweep: int
) -> np.ndarray:
    """Each sweep point's identity (n_sweep,) uint32: the CRC-32 of the text
    ``"<method name>|<name>=<value>;..."``, every numeric hyperparameter in name order with
    its value at that point as ``repr(float(value))``.

    It depends on what a run is, never on where it sits in a job: the same method with the
    same hyperparameters has the same identity in a sweep, alone, stacked with other
    methods, in any shard. A minibatch objective's data order is drawn from it.
    """
    ids = np.empty((n_sweep,), np.uint32)
    for point in range(n_sweep):
        parts = []
        for name in sorted(resolved):
            value = flat[name][point] if name in flat else resolved[name]
            if isinstance(value, numbers.Real | np.number) and not isinstance(value, str):
                parts.append(f"{name}={float(value)!r}")
        ids[point] = zlib.crc32(f"{method.name}|{';'.join(parts)}".encode())
    return ids


@dataclass(frozen=True)
class Grid:
    """One optimizer's part of a job: its resolved and swept hyperparameters."""

    method: Optimizer
    resolved: dict[str, Any]
    sweep: tuple[str, ...]
    sweep_shape: tuple[int, ...]
    runs: int


@dataclass(frozen=True)
class Layout:
    """Every run of a job as program inputs.

    Attributes:
      method: the method the program runs (a :class:`Stacked` one for several optimizers).
      grids: each optimizer's part, in order; its runs are consecutive.
      run_x0: ``(runs, D)``, every start repeated for every sweep point.
      run_hyper: per-run inputs ``(runs,)``: swept values and the engine's ``_seed`` and
        ``_start`` (from which each run's PRNG key is derived) and ``_lane`` (the run's
        sweep point's identity, :func:`lane_ids`).
      shared_hyper: the hyperparameters shared by every run, as scalars.
      static_none: the hyperparameters that are not set.
    """

    method: Optimizer
    grids: tuple[Grid, ...]
    run_x0: np.ndarray
    run_hyper: dict[str, np.ndarray]
    shared_hyper: dict[str, np.ndarray]
    static_none: dict[str, None]

    @property
    def runs(self) -> int:
        return self.run_x0.shape[0]


def lay_out(
    entries: Sequence[tuple[Optimizer, Mapping[str, Any]]], starts: np.ndarray, seed: int
) -> Layout:
    """Per-run inputs: starts repeated for every sweep point, hyperparameters per run;
    swept values one per run, the others one scalar shared by every run."""
    n_starts = starts.shape[0]
    dtype = starts.dtype
    stacked = len(entries) > 1
    x0_parts, hyper_parts, start_parts, shared, nones, grids = [], [], [], {}, {}, []
    lane_parts = []
    for i, (method, hyperparameters) in enumerate(entries):
        resolved, sweep, sweep_shape, flat = sweep_grid(method, hyperparameters)
        n_sweep = int(np.prod(sweep_shape)) if sweep else 1
        grids.append(Grid(method, resolved, sweep, sweep_shape, n_sweep * n_starts))
        rename = partial(slot_name, i) if stacked else (lambda k: k)
        x0_parts.append(np.tile(starts, (n_sweep, 1)))
        hyper_parts.append({rename(k): np.repeat(flat[k], n_starts) for k in sweep})
        start_parts.append(np.tile(np.arange(n_starts), n_sweep))
        lane_parts.append(np.repeat(lane_ids(method, resolved, flat, n_sweep), n_starts))
        for k, v in resolved.items():
            if v is None:
                nones[rename(k)] = None
            elif k not in sweep:
                shared[rename(k)] = np.asarray(v, dtype)
    sizes = [g.runs for g in grids]
    runs = sum(sizes)
    if not stacked:
        method = entries[0][0]
        run_x0 = x0_parts[0]
        run_hyper = {k: v.astype(dtype) for k, v in hyper_parts[0].items()}
    else:
        method = stack([m for m, _ in entries])
        run_x0 = np.concatenate(x0_parts)
        # a slot's swept value on the other slots' runs is never read: any value serves
        run_hyper = {}
        for i, part in enumerate(hyper_parts):
            for k, v in part.items():
                column = np.full((runs,), v[0], dtype)
                column[sum(sizes[:i]) : sum(sizes[: i + 1])] = v
                run_hyper[k] = column
        run_hyper[SLOT] = np.repeat(np.arange(len(entries)), sizes).astype(dtype)
    # the engine's inputs of every run's key (Optimizer.init): the seed and the start's index
    run_hyper["_seed"] = np.full((runs,), int(seed), np.uint32)
    run_hyper["_start"] = np.concatenate(start_parts).astype(np.uint32)
    # and each run's identity, from which a minibatch objective's data order is drawn
    run_hyper["_lane"] = np.concatenate(lane_parts).astype(np.uint32)
    return Layout(method, tuple(grids), run_x0, run_hyper, shared, nones)


def cpu_workers(n_dev: int, runs: int, steps: int, threads: int | None = None) -> int:
    """How many chunks of a job run at once: one per core on a one-device CPU backend.

    XLA:CPU runs the engine's loop kernels on one thread, so a large job's runs are split
    into equal chunks executed concurrently from a thread pool (each run's numbers are the
    same in any chunk: see the padding in :func:`plan_chunks`). ``threads`` (the
    ``cpu_threads`` argument), else ``$JAXCALC_CPU_THREADS``, sets the number (1 turns this
    off); the default is the cores this process may use.
    """
    check_cpu_threads(threads)
    if n_dev != 1 or jax.default_backend() != "cpu" or runs * steps < PARALLEL_MIN_RUN_STEPS:
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
    return max(1, min(cores, runs // (4 * LANE_BLOCK)))


@dataclass(frozen=True)
class Chunks:
    """How a job's runs are cut: ``bounds`` of each chunk, every chunk padded to
    ``padded`` runs, ``workers`` chunks at once."""

    bounds: tuple[tuple[int, int], ...]
    padded: int
    workers: int


def plan_chunks(
    runs: int,
    per_run: int,
    budget: int,
    n_dev: int,
    steps: int,
    chunk_size: int | None,
    cpu_threads: int | None,
) -> Chunks:
    """Chunks that fit the memory budget, shared out between the CPU's cores.

    Every device gets a whole number of ``LANE_BLOCK`` lanes (the batch is padded with
    copies of its last run, dropped afterwards), whatever the memory budget. XLA
    vectorises the run axis; a lane computed in the vector body and one in a scalar
    remainder loop may round differently (its vector ``exp``, ``log`` and ``sin`` are
    other polynomials than the scalar ones), so without padding a run's last bits would
    depend on the batch size. Padded, and compiled with
    :data:`jaxcalc.engine.cache.DETERMINISTIC_CPU_OPTIONS`, a run gives the same bits
    alone, in any batch, in any chunk, on any number of devices or workers; and batches
    of 1 to 32 runs share one compiled program.
    """
    # On a one-device CPU backend, a large job's chunks run at once, one per core (XLA:CPU
    # runs this loop's kernels on one thread; see cpu_workers)
    workers = 1 if chunk_size is not None else cpu_workers(n_dev, runs, steps, cpu_threads)
    fits = max(1, budget // workers // per_run)
    chunk = chunk_size or min(runs, fits)
    quantum = LANE_BLOCK * n_dev
    if workers > 1 and fits * workers >= runs:  # equal shares, rounded up to whole blocks
        chunk = math.ceil(runs / workers / quantum) * quantum
    elif chunk >= runs:
        chunk = runs  # one chunk, padded below
    elif chunk_size is None or chunk > quantum:
        chunk = max(quantum, chunk - chunk % quantum)
    bounds = tuple((lo, min(lo + chunk, runs)) for lo in range(0, runs, chunk))
    padded = chunk if runs > chunk else runs
    padded = math.ceil(padded / quantum) * quantum  # every chunk has this many runs, padded
    return Chunks(bounds, padded, min(workers, len(bounds)))


def check_memory(
    per_run: int,
    budget: int,
    steps: int,
    record_every: int,
    dim: int,
    state_bytes: int = 0,
) -> None:
    """Refuse a job of which one run alone needs more than the budget; when the optimizer's
    state is most of it (BFGS's dim x dim matrix), say so."""
    if per_run > budget:
        fix = "use a larger record_every"
        if 2 * state_bytes > per_run:
            fix = (
                f"its optimizer state is ~{format_bytes(state_bytes)} per run: use a method "
                f"with less state (lbfgs instead of bfgs) or fewer dimensions"
            )
        raise ResourceError(
            f"one run needs ~{per_run / 2**20:.1f} MiB of trajectory (steps={steps}, "
            f"record_every={record_every}, dim={dim}); budget {budget / 2**20:.0f} MiB: {fix}"
        )


def chunk_inputs(layout: Layout, padded: int, lo: int, hi: int, sharding=None, replicated=None):
    """The program's inputs for runs ``lo:hi``, padded to ``padded`` runs with copies of
    the last one, and placed on the devices when ``sharding`` is given."""
    pad = padded - (hi - lo)
    x_part = layout.run_x0[lo:hi]
    h_part = {k: v[lo:hi] for k, v in layout.run_hyper.items()}
    s_part = layout.shared_hyper
    if pad:
        x_part = np.concatenate([x_part, np.repeat(x_part[-1:], pad, axis=0)])
        h_part = {k: np.concatenate([v, np.repeat(v[-1:], pad)]) for k, v in h_part.items()}
    if sharding is not None:
        x_part = jax.device_put(x_part, sharding)
        h_part = {k: jax.device_put(v, sharding) for k, v in h_part.items()}
        s_part = {k: jax.device_put(v, replicated) for k, v in s_part.items()}
    return x_part, h_part, s_part
