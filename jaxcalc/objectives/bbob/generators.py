"""COCO's legacy BBOB-2009 random generators, bit for bit, and the host-side matrix helpers.

Host side: NumPy and ``math`` in float64 (integer arithmetic for the generator), evaluated
once per instance and cached by :func:`jaxcalc.objectives.bbob.bbob`.
"""

from __future__ import annotations

import math

import numpy as np

TWO_PI = 2.0 * math.pi

_LCG_A = 16807
_LCG_M = 2147483647  # 2^31 - 1
_LCG_Q = 127773  # M // A  (Schrage)
_LCG_R = 2836  # M % A
_SHUFFLE_DIV = 67108865  # maps a value in [0, 2^31) to a table slot in 0..31


def _lcg_step(state: int) -> int:
    """One step of the Park-Miller generator, in Schrage's overflow-free form."""
    hi = state // _LCG_Q
    state = _LCG_A * (state - hi * _LCG_Q) - _LCG_R * hi
    if state < 0:
        state += _LCG_M
    return state


def legacy_uniform(n: int, seed: int) -> np.ndarray:
    """``n`` uniform numbers in (0, 1) from BBOB's legacy generator (COCO's ``bbob2009_unif``).

    A Park-Miller LCG (``16807 * s mod (2^31 - 1)``) seeded with ``|seed|`` (at least 1), warmed
    up by 40 steps whose last 32 fill a shuffle table; each output then swaps a fresh LCG value
    into the slot chosen by the previous output (Bays-Durham shuffle) and returns the slot's
    old value divided by ``2.147483647e9``. An exact zero is replaced by ``1e-99``.
    """
    state = abs(int(seed))
    if state < 1:
        state = 1
    table = [0] * 32
    for i in range(39, -1, -1):
        state = _lcg_step(state)
        if i < 32:
            table[i] = state
    last = table[0]
    out = np.empty(n, dtype=np.float64)
    for k in range(n):
        state = _lcg_step(state)
        slot = last // _SHUFFLE_DIV
        last = table[slot]
        table[slot] = state
        value = last / 2.147483647e9
        out[k] = value if value != 0.0 else 1e-99
    return out


def legacy_gauss(n: int, seed: int) -> np.ndarray:
    """``n`` standard normal numbers (COCO's ``bbob2009_gauss``).

    Box-Muller on ``2 n`` legacy uniforms ``u``: ``g_i = sqrt(-2 ln u_i) cos(2 pi u_{n+i})``;
    an exact zero is replaced by ``1e-99``. Computed with ``math`` (the C library's ``log``,
    ``cos`` and ``sqrt``) to reproduce the reference values as closely as possible.
    """
    u = legacy_uniform(2 * n, seed)
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        g = math.sqrt(-2.0 * math.log(u[i])) * math.cos(TWO_PI * u[n + i])
        out[i] = g if g != 0.0 else 1e-99
    return out


def _sequential_sum(v: np.ndarray) -> float:
    """``((v_0 + v_1) + v_2) + ...``: a left-to-right sum, as a plain C loop computes it."""
    return float(np.add.accumulate(v)[-1])


def legacy_rotation(seed: int, dimension: int) -> np.ndarray:
    """A random ``D x D`` orthogonal matrix (COCO's ``bbob2009_compute_rotation``).

    ``D^2`` legacy Gaussians fill the matrix column by column (entry ``[i, j]`` is draw
    ``j * D + i``); its columns are then orthonormalised in order with modified Gram-Schmidt.
    The result ``R`` acts on column vectors, ``z = R x``. Inner products are summed left to
    right, so the matrix equals COCO's bit for bit.
    """
    d = dimension
    b = legacy_gauss(d * d, seed).reshape(d, d).T.copy()
    for i in range(d):
        for j in range(i):
            b[:, i] = b[:, i] - _sequential_sum(b[:, i] * b[:, j]) * b[:, j]
        b[:, i] = b[:, i] / math.sqrt(_sequential_sum(b[:, i] * b[:, i]))
    return b


def legacy_xopt(seed: int, dimension: int) -> np.ndarray:
    """The generic optimum location (COCO's ``bbob2009_compute_xopt``).

    ``8 floor(1e4 u) / 1e4 - 4`` for legacy uniforms ``u`` -- a point of ``[-4, 4)^D`` on a
    ``8e-4`` grid; an exact zero coordinate is moved to ``-1e-5``.
    """
    u = legacy_uniform(dimension, seed)
    x = np.array([8.0 * math.floor(1e4 * v) / 1e4 - 4.0 for v in u], dtype=np.float64)
    x[x == 0.0] = -1e-5
    return x


def _round_half_up(v: float) -> float:
    """COCO's rounding: ``floor(v + 0.5)``."""
    return math.floor(v + 0.5)


def legacy_fopt(function_id: int, instance: int) -> float:
    """The optimal value ``f_opt`` of an instance (COCO's ``bbob2009_compute_fopt``).

    With ``s = function_id`` (3 for f4, 17 for f18) and ``r = s + 10000 * instance``, one legacy
    Gaussian ``g1`` from seed ``r`` and one ``g2`` from seed ``r + 1`` give
    ``clip(round(100 * 100 * g1 / g2) / 100, -1000, 1000)`` -- a multiple of 0.01.
    """
    base = {4: 3, 18: 17}.get(function_id, function_id)
    rseed = base + 10000 * instance
    g1 = legacy_gauss(1, rseed)[0]
    g2 = legacy_gauss(1, rseed + 1)[0]
    return min(1000.0, max(-1000.0, _round_half_up(100.0 * 100.0 * g1 / g2) / 100.0))


def ramp(dimension: int) -> list[float]:
    """``i / (D - 1)`` for ``i = 0 .. D-1``, as COCO computes it."""
    return [float(i) / (float(dimension) - 1.0) for i in range(dimension)]


def powers(base: float, dimension: int) -> np.ndarray:
    """``base ** (i / (D - 1))`` for ``i = 0 .. D-1`` (computed with the C library's ``pow``)."""
    return np.array([math.pow(base, e) for e in ramp(dimension)], dtype=np.float64)


def sequential_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with every entry summed left to right over the inner index (C loop order)."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        out = out + np.outer(a[:, k], b[k, :])
    return out


def conditioned_rotation(rot1: np.ndarray, scales: np.ndarray, rot2: np.ndarray) -> np.ndarray:
    """``R1 diag(scales) R2``, the usual BBOB ``R Lambda Q`` linear map (COCO's rounding)."""
    return sequential_matmul(rot1 * scales[None, :], rot2)
