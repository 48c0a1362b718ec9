"""LAPACK calls mapped over many runs in blocks small enough to run on their own thread.

On a CPU, ``jnp.linalg`` and ``jax.scipy.linalg`` call LAPACK through jaxlib's custom
calls, one call for the whole batch that ``vmap`` makes. jaxlib 0.10.2 cuts a call whose
estimated work is at least 2e5 flops into tasks on XLA's intra-op thread pool and blocks
the pool thread that made the call until they finish. When every thread of that pool is
blocked so (two chunks of a job at once, or several devices' programs, each waiting in
such a call or at an all-reduce), nobody is left to run the tasks: the process hangs.

:func:`blocked` wraps a function of one run so that, mapped over runs, it calls LAPACK on
blocks of runs whose work stays under that limit, one block after the other: each call
runs on its calling thread. LAPACK treats every matrix of a batch alone, so the blocks
change no bit of any run. Derivatives (forward and reverse) go through the plain call.

Reference: ``GetLapackBatchChunkSize`` and ``ParallelBatchMap`` in jaxlib's
``jaxlib/cpu/lapack_kernels.cc`` (jax 0.10.2); later open-source builds no longer split.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

__all__ = ["blocked", "block_size"]

# jaxlib runs a call on its thread below this estimated work (flops) for the whole batch
PARALLEL_WORK = 200_000


def block_size(rows: int, cols: int) -> int:
    """Runs per LAPACK call for ``rows x cols`` matrices: the largest block whose work
    stays under :data:`PARALLEL_WORK` by every cost jaxlib estimates for a real matrix
    (at most ``10 m n min(m, n)`` flops, the SVD's; ``10 n^3`` for the eigensolvers)."""
    per_matrix = 10 * rows * cols * min(rows, cols)
    return max(1, (PARALLEL_WORK - 1) // max(per_matrix, 1))


def blocked(fn: Callable, rows: int, cols: int) -> Callable:
    """``fn`` (a function of one run's arrays that calls LAPACK on ``rows x cols``
    matrices); under ``vmap``, applied in blocks of :func:`block_size` runs.

    Example:
      >>> solve = blocked(lambda a, b: jnp.linalg.solve(a, b), 3, 3)
      >>> jax.vmap(solve)(jnp.ones((5, 3, 3)) + 2 * jnp.eye(3), jnp.ones((5, 3))).shape
      (5, 3)
    """
    size = block_size(rows, cols)

    @custom_vmap
    def one(*args):
        return fn(*args)

    @one.def_vmap
    def mapped(axis_size, in_batched, *args):
        args = tuple(
            a if batched else jnp.broadcast_to(a, (axis_size, *jnp.shape(a)))
            for a, batched in zip(args, in_batched, strict=True)
        )
        if axis_size <= size:
            out = jax.vmap(fn)(*args)
        else:
            out = jax.lax.map(lambda a: fn(*a), args, batch_size=size)
        return out, jax.tree.map(lambda _: True, out)

    @jax.custom_jvp
    def call(*args):
        return one(*args)

    @call.defjvp
    def call_jvp(primals, tangents):
        # derivatives through the plain call: the blocks are a way to run it, no more
        # (reverse mode cannot transpose a custom_vmap)
        _, tangent = jax.jvp(fn, primals, tangents)
        return call(*primals), tangent

    return functools.wraps(fn)(call)
