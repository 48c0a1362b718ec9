"""What the engine keeps between calls: compiled programs, donated record buffers, the
host array of multi-chunk records; and the compile step and JAX's persistent cache.

The caches are shared by threads (an experiment compiles its next group with
``precompile`` in a background thread): iteration and eviction happen under one lock.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any

import jax
import numpy as np

from jaxcalc.optimizers import Optimizer

__all__ = ["bit_reproducible", "enable_compilation_cache"]

COMPILED: dict[Any, Any] = {}  # compiled programs, least recently used first
COMPILED_KEEP = 64
CACHE_LOCK = threading.RLock()

# The record buffers of recent calls, donated to the next call of the same program. The
# arrays of a Trajectory are zero-copy views of them; while such a view is alive, XLA cannot
# reuse the buffer and allocates a fresh one, so a Trajectory is never overwritten.
BUFFERS: dict[Any, jax.Array] = {}
BUFFERS_KEEP_BYTES = 256 << 20

# The host array that received the last multi-chunk call's records, reused by the next
# call of the same shape once no Trajectory views it any more (its reference count says
# so): writing into pages already mapped is ~3x faster than into a fresh array.
HOST_RECORDS: dict[Any, np.ndarray] = {}


def enable_compilation_cache(directory: str | None = None) -> str:
    """Turn on JAX's persistent compilation cache, so a program compiled once (in any
    process) loads from disk instead of compiling again.

    This sets global JAX configuration, so the library never calls it by itself: call it
    from an application's edge (a CLI, a benchmark, a notebook's first cell). Every program,
    however quick to compile, is cached. Returns the directory used (default
    ``$JAXCALC_CACHE_DIR`` or ``~/.cache/jaxcalc/xla``).

    The engine's programs are then also kept, exported, in its ``jaxcalc-programs``
    subfolder, so that a rerun skips tracing them too (:func:`program_directory`). (jaxcalc
    keeps no serialised executables: with jaxlib 0.10.2 some CPU executables loaded with
    ``jax.experimental.serialize_executable`` crash when run.)
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


def program_directory() -> str | None:
    """Where the engine keeps its exported programs (:mod:`jaxcalc.engine.exported`): the
    ``jaxcalc-programs`` folder of JAX's persistent compilation cache when that cache is
    on, unless ``$JAXCALC_PROGRAM_CACHE`` is ``0``; else None (programs are traced)."""
    base = jax.config.jax_compilation_cache_dir
    if not base or not jax.config.jax_enable_compilation_cache:
        return None
    if os.environ.get("JAXCALC_PROGRAM_CACHE", "").strip() == "0":
        return None
    return os.path.join(base, "jaxcalc-programs")


def lower_program(fun, args: tuple, donate: int, parts: tuple):
    """``jax.jit(fun, donate_argnums=donate).lower(*args)``, through the program cache
    when it is on (:func:`program_directory`): there the program is exported once, under a key
    of ``parts`` (every object its trace reads besides the arguments' shapes and dtypes)
    and of the arguments' shapes and dtypes, and loaded on later calls instead of traced.
    A program whose parts cannot be described, or that cannot be exported, is lowered
    directly."""
    directory = program_directory()
    jitted = jax.jit(fun, donate_argnums=donate)
    if directory is None:
        return jitted.lower(*args)
    from jax import export as jax_export

    from jaxcalc.engine import exported

    def spec(a):
        aval = jax.typeof(a)
        return jax.ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=aval.weak_type)

    specs = jax.tree.map(spec, args)
    key = exported.program_key(parts, specs, donate)
    if key is None:
        return jitted.lower(*args)
    program = exported.load(directory, key, specs)
    if program is None:
        try:
            program = jax_export.export(jitted)(*specs)
        except Exception:  # noqa: BLE001 - what export does not take (host callbacks)
            return jitted.lower(*args)
        exported.store(directory, key, program)
    return jax.jit(program.call, donate_argnums=donate).lower(*specs)


# Two choices XLA:CPU makes by the size of an array would make a run's bits depend on the
# batch it is computed in (4,000 runs against the same 100 alone), so the engine turns
# both off:
# - it hands reductions and small dots to the YNNPACK library, which splits and orders a
#   sum by the shape of the whole array: one run's ``jnp.dot`` or ``jnp.sum`` inside a
#   method rounds differently in a batch of 32 runs and of 4,000 (an empty list of fusion
#   kinds keeps them in XLA's own emitters, which reduce each run in one fixed order);
# - it cuts a large loop into partitions for its thread pool, and the lanes at a
#   partition's edges run in scalar remainder code (other roundings) instead of the
#   vector body (one partition keeps every lane in the same code).
# With both off, a run's bits depend on its own inputs only (tests/test_reproducibility.py).
DETERMINISTIC_CPU_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "",
    "xla_cpu_parallel_codegen_split_count": 1,
}


@functools.cache
def _options_accepted() -> bool:
    """Whether this XLA knows :data:`DETERMINISTIC_CPU_OPTIONS` (checked once, on a
    one-line program)."""
    lowered = jax.jit(lambda x: x + 1).lower(np.zeros((), np.float32))
    try:
        lowered.compile(compiler_options=DETERMINISTIC_CPU_OPTIONS)
    except Exception:  # an XLA without these options
        return False
    return True


def bit_reproducible() -> bool:
    """Whether the engine's programs give every run the same bits however the runs are
    batched, chunked, threaded or sharded: on a CPU whose XLA takes
    :data:`DETERMINISTIC_CPU_OPTIONS`. Not on a GPU or TPU, whose reductions are split by
    the shape of the whole array (see docs/devices.md)."""
    return jax.default_backend() == "cpu" and _options_accepted()


def compile_program(lowered, quick: bool):
    """Compile; on a CPU with :data:`DETERMINISTIC_CPU_OPTIONS` (when this XLA has them),
    and ``quick`` asks XLA for its older CPU emitters (half the compile time; the same
    bits)."""
    if jax.default_backend() != "cpu":
        return lowered.compile()
    options = dict(DETERMINISTIC_CPU_OPTIONS) if _options_accepted() else {}
    if quick:
        options["xla_cpu_use_fusion_emitters"] = False
    try:
        return lowered.compile(compiler_options=options)
    except Exception:  # an XLA without the emitters option: compile as usual
        options.pop("xla_cpu_use_fusion_emitters", None)
        return lowered.compile(compiler_options=options)


def take(cache: dict[Any, Any], key: Any) -> Any:
    """Remove and return ``cache[key]`` (None when absent); put it back with ``keep_*``."""
    with CACHE_LOCK:
        return cache.pop(key, None)


def keep_compiled(key: Any, compiled: Any) -> None:
    with CACHE_LOCK:
        COMPILED.pop(key, None)
        COMPILED[key] = compiled  # most recently used last
        while len(COMPILED) > COMPILED_KEEP:
            COMPILED.pop(next(iter(COMPILED)))


def keep_buffer(shape_key: Any, buffer: jax.Array) -> None:
    with CACHE_LOCK:
        BUFFERS.pop(shape_key, None)
        BUFFERS[shape_key] = buffer  # most recently used last
        total = sum(b.nbytes for b in BUFFERS.values())
        while total > BUFFERS_KEEP_BYTES and len(BUFFERS) > 1:
            total -= BUFFERS.pop(next(iter(BUFFERS))).nbytes


def host_records(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An array for a multi-chunk call's records: the kept one when nothing else holds it."""
    key = (shape, np.dtype(dtype).str)
    with CACHE_LOCK:
        kept = HOST_RECORDS.get(key)
        if kept is not None and sys.getrefcount(kept) <= 3:  # the dict, `kept`, the call
            return kept
        fresh = np.empty(shape, dtype)
        HOST_RECORDS.clear()
        if fresh.nbytes <= BUFFERS_KEEP_BYTES:
            HOST_RECORDS[key] = fresh
        return fresh


def method_key(method: Optimizer) -> Any:
    """A hashable key of what a method compiles to: its class, name and static options."""

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
        tuple(method_key(m) for m in getattr(method, "slots", ())),  # a Stacked's methods
        hashable(getattr(method, "structure", None)),  # a wrapper's schedules, an optax object
    )
