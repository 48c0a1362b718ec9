"""LAPACK calls in blocks (jaxcalc.lapack): under jaxlib's threshold, the same bits, the
same values as NumPy, and derivatives through them."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcalc.lapack import PARALLEL_WORK, block_size, blocked


def lapack_batches(fn, *args) -> list[tuple[str, int, int, int]]:
    """(target, batch, rows, cols) of every LAPACK call in the program of ``fn``."""
    text = jax.jit(fn).lower(*args).as_text()
    calls = re.findall(r"custom_call @(lapack_\w+)\(.*: \(tensor<(\d+)x(\d+)x(\d+)x", text)
    return [(name, int(b), int(m), int(n)) for name, b, m, n in calls]


def test_block_sizes_are_the_largest_under_the_threshold():
    # jaxlib's costs (lapack_kernels.cc) are at most 10 m n min(m, n) flops a real
    # matrix: 560 for 14 x 2 (an SVD), 80 for 2 x 2
    assert block_size(14, 2) == 357 and 357 * 560 < PARALLEL_WORK <= 358 * 560
    assert block_size(2, 2) == 2499 and 2499 * 80 < PARALLEL_WORK <= 2500 * 80
    assert block_size(100, 100) == 1  # a matrix over the threshold alone: one at a time


def test_every_call_stays_under_the_threshold_and_changes_no_bit():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 14, 2)).astype(np.float32)  # blocks of 357 runs
    b = rng.normal(size=(1000, 14)).astype(np.float32)
    cov = rng.normal(size=(1000, 6, 6)).astype(np.float32)  # blocks of 92
    cov = cov @ cov.transpose(0, 2, 1) + np.eye(6, dtype=np.float32)

    def lstsq(a, b):
        return jnp.linalg.lstsq(a, b)[0]

    for plain, mine, args in (
        (lstsq, blocked(lstsq, 14, 2), (a, b)),
        (jnp.linalg.eigh, blocked(jnp.linalg.eigh, 6, 6), (cov,)),
    ):
        calls = lapack_batches(jax.vmap(mine), *args)
        assert calls, "no LAPACK call found"
        for _, batch, m, n in calls:
            assert batch <= block_size(m, n) and batch * 10 * m * n * min(m, n) < PARALLEL_WORK
        assert max(c[1] for c in lapack_batches(jax.vmap(plain), *args)) == 1000  # unblocked
        got, expected = jax.jit(jax.vmap(mine))(*args), jax.jit(jax.vmap(plain))(*args)
        for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True):
            np.testing.assert_array_equal(
                np.asarray(g).view(np.uint32), np.asarray(e).view(np.uint32)
            )
    # and the values are NumPy's
    x = np.asarray(jax.jit(jax.vmap(blocked(lstsq, 14, 2)))(a, b))
    for i in (0, 500, 999):
        np.testing.assert_allclose(x[i], np.linalg.lstsq(a[i], b[i], rcond=None)[0], rtol=2e-4)
    values = np.asarray(jax.jit(jax.vmap(blocked(jnp.linalg.eigh, 6, 6)))(cov)[0])
    np.testing.assert_allclose(values, np.linalg.eigvalsh(cov.astype(np.float64)), rtol=1e-4)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_derivatives_go_through_the_blocks(mode, x64):
    # d/db sum(A^-1 b) = A^-T 1, per run, for a batch larger than one block
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3000, 2, 2)) + 3 * np.eye(2)
    b = rng.normal(size=(3000, 2))
    solve = blocked(jnp.linalg.solve, 2, 2)

    def total(a, b):
        return jnp.sum(solve(a, b))

    diff = jax.grad if mode == "reverse" else jax.jacfwd
    got = np.asarray(jax.jit(jax.vmap(diff(total, argnums=1)))(a, b))
    expected = np.linalg.solve(a.transpose(0, 2, 1), np.ones((3000, 2, 1)))[..., 0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
