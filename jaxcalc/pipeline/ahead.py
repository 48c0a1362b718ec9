"""Compiling batches' programs in background threads while a batch runs.

XLA compiles without holding the GIL, so compiling and running overlap, and two programs
compile at once on two cores (a program's XLA compile runs on one core). A batch's compile
seconds are those of its compile ahead; a compile that fails ahead is done again by the
batch's own engine call, which then fails (or not) exactly as it would have without the
threads.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Callable
from typing import Any

from jaxcalc.engine import run as engine
from jaxcalc.pipeline.plan import Batch

__all__ = ["COMPILE_THREADS", "RUN_AHEAD", "CompileAhead", "compile_batch"]

#: programs compiled at once, at most (and at most one per core the process may use)
COMPILE_THREADS = 2


# While the background thread compiles, a batch runs on one core: the engine's chunks on
# every core (its default on a CPU) would take the compile's core, and a grid is
# compile-bound (benchmarks/experiments.py times a grid's cold run).
# The compile and the run must agree on it: it decides the program's chunk shape.
RUN_AHEAD = {"cpu_threads": 1}


def compile_batch(batch: Batch) -> float:
    """Compile what the batch's engine call will run (in the background thread); returns
    the seconds it took, the batch's compile time."""
    t0 = time.perf_counter()
    batch.call(engine.precompile, engine.precompile_many, **RUN_AHEAD)
    return time.perf_counter() - t0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CompileAhead:
    """Compiles batches' programs in background threads (XLA compiles without holding the
    GIL), up to :data:`COMPILE_THREADS` at once, while the current batch runs and its
    results are written.

    The engine keeps what ``precompile`` compiled in its in-process cache, where the
    batch's ``optimize`` call finds it. A batch is never compiled ahead and by its own
    ``optimize`` at once: :meth:`wait` waits for its compile before the batch runs. A
    compile that fails ahead is forgotten: the batch's ``optimize`` then compiles again and
    raises the error itself, exactly as without compiling ahead.
    """

    def __init__(self, depth: int):
        self.depth = depth
        threads = max(1, min(COMPILE_THREADS, _cores()))
        self._executor = (
            concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="jaxcalc-compile")
            if depth > 0
            else None
        )
        self._groups: dict[int, Batch | None] = {}
        self._futures: dict[int, concurrent.futures.Future] = {}

    def submit(self, later: list[int], prepare: Callable[[int], Batch]) -> None:
        """Start compiling these batches (those not started yet), in order."""
        if self._executor is None:
            return
        for g in later:
            if g in self._groups:
                continue
            try:
                group = prepare(g)
            except Exception:  # noqa: BLE001 - raised again when the group runs
                self._groups[g] = None
                continue
            self._groups[g] = group
            self._futures[g] = self._executor.submit(compile_batch, group)

    def take(self, g: int) -> Batch | None:
        """The prepared arguments of batch ``g``, if it was compiled ahead."""
        return self._groups.pop(g, None)

    def wait(self, g: int) -> float | None:
        """Wait for batch ``g``'s compile: its seconds, or None when it was not compiled
        ahead or failed (``optimize`` compiles it then). A signal can interrupt the wait."""
        future = self._futures.pop(g, None)
        if future is None:
            return None
        concurrent.futures.wait([future])
        if future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    def run(self, batch: Batch) -> list[Any]:
        """Compute the batch (the engine's caches are safe to share between threads)."""
        extra = RUN_AHEAD if self.depth > 0 else {}
        return batch.call(engine.optimize, engine.optimize_many, **extra)

    def close(self, wait: bool) -> None:
        """Cancel the compiles not started; ``wait`` for those under way."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
        self._groups.clear()
        self._futures.clear()
