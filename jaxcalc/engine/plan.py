"""How a job's runs are laid out and cut: the sweep grid, per-run inputs, the memory
estimate and budget, chunks, the chunks run at once on a CPU, and padding to lane blocks."""

from __future__ import annotations

import math
import os
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

__all__ = ["Chunks", "Layout", "estimate_bytes", "lay_out", "plan_chunks"]

LANE_BLOCK = 16  # runs per device are padded to a multiple of this (see plan_chunks)
PARALLEL_MIN_RUN_STEPS = 4_000_000  # smaller jobs run as one chunk (a few ms at most)


def estimate_bytes(
    runs: int, steps: int, record_every: int, dim: int, itemsize: int, state_size: int
) -> int:
    """Memory of the outputs and working state of ``runs`` runs, in bytes."""
    records = steps // record_every + 1
    per_run = records * (dim + 2) + 4 * dim + state_size + 16
    return int(runs * per_run * itemsize)


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
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        available = 8 << 30
    return int(0.4 * available)


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
    grids = np.meshgrid(*(np.asarray(resolved[k], np.float64) for k in sweep), indexing="ij")
    flat = {k: g.reshape(-1) for k, g in zip(sweep, grids, strict=True)}
    return resolved, sweep, shape, flat


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
        ``_start`` (from which each run's PRNG key is derived).
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
    for i, (method, hyperparameters) in enumerate(entries):
        resolved, sweep, sweep_shape, flat = sweep_grid(method, hyperparameters)
        n_sweep = int(np.prod(sweep_shape)) if sweep else 1
        grids.append(Grid(method, resolved, sweep, sweep_shape, n_sweep * n_starts))
        rename = partial(slot_name, i) if stacked else (lambda k: k)
        x0_parts.append(np.tile(starts, (n_sweep, 1)))
        hyper_parts.append({rename(k): np.repeat(flat[k], n_starts) for k in sweep})
        start_parts.append(np.tile(np.arange(n_starts), n_sweep))
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
    copies of its last run, dropped afterwards). XLA vectorises the run axis; a lane
    computed in the vector body and one in a scalar remainder loop may round differently
    (fused multiply-adds), so without padding a run's last bits would depend on the batch
    size. Padded, a run gives the same bits alone, in any batch, on any number of devices
    or workers; and batches of 1 to 16 runs share one compiled program. (A memory budget
    too small for 16 runs per device keeps its chunks unpadded.)
    """
    # On a one-device CPU backend, a large job's chunks run at once, one per core (XLA:CPU
    # runs this loop's kernels on one thread; see cpu_workers)
    workers = 1 if chunk_size is not None else cpu_workers(n_dev, runs, steps, cpu_threads)
    fits = max(1, budget // workers // per_run)
    chunk = chunk_size or min(runs, fits)
    quantum = LANE_BLOCK * n_dev
    if chunk_size is None and fits < quantum:
        quantum = n_dev
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


def check_memory(per_run: int, budget: int, steps: int, record_every: int, dim: int) -> None:
    """Refuse a job of which one run alone needs more than the budget."""
    if per_run > budget:
        raise ResourceError(
            f"one run needs ~{per_run / 2**20:.1f} MiB of trajectory (steps={steps}, "
            f"record_every={record_every}, dim={dim}); budget {budget / 2**20:.0f} MiB: "
            f"use a larger record_every"
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
