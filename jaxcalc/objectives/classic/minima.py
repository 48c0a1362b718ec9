"""Minimisers and minima of the classic functions that are not plain closed forms, refined."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from jaxcalc.objectives.classic.functions import (
    BRANIN_B,
    BRANIN_C,
    BRANIN_T,
    PI,
)


def _signs(points: np.ndarray) -> np.ndarray:
    """Every sign pattern of a 2-D point: ``(a, b) -> (±a, ±b)``."""
    a, b = points
    return np.array([[sa * a, sb * b] for sa in (1.0, -1.0) for sb in (1.0, -1.0)])


# Styblinski-Tang: the root of 4x^3 - 32x + 5 = 0 near -2.9035 (SB prints x* = -2.903534 and
# f* = -39.16599 d; the exact minimum per coordinate is -39.16616570377142: SB's last digits
# are off by 1.7e-4).
ST_X = -2.903534027771177
ST_F = -39.16616570377142

# Schwefel: the maximiser of x sin(sqrt(x)) on [0, 500], i.e. t = sqrt(x) solving
# sin t + (t/2) cos t = 0 in (6.5 pi, 7 pi) (SB prints 420.9687). Its maximum is
# c* = 418.98288727243370627..., so with SB's rounded constant 418.9829 the minimum is
# d * (418.9829 - c*) = 1.2727566293725e-5 d, not 0 (SB prints f* = 0).
SCHWEFEL_X = 420.96874635998205
_SCHWEFEL_C = 418.98288727243370627
SCHWEFEL_F1 = 1.2727566293725213565e-05  # 418.9829 - c*, to 20 digits

# Six-hump camel (SB: (0.0898, -0.7126) and (-0.0898, 0.7126), f* = -1.0316).
CAMEL6 = np.array([[0.08984201310031806, -0.7126564030207396]])
CAMEL6 = np.concatenate([CAMEL6, -CAMEL6])
CAMEL6_F = -1.0316284534898774

# Himmelblau (Himmelblau 1972: (3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186),
# (3.584428, -1.848126)); the polynomial roots refined to float64.
HIMMELBLAU = np.array(
    [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.2831859912861696],
        [3.5844283403304917, -1.8481265269644036],
    ]
)

# Holder table (SB: (±8.05502, ±9.66459), f* = -19.2085).
HOLDER = _signs(np.array([8.055023475736563, 9.664590019241272]))
HOLDER_F = -19.208502567886732

# Cross-in-tray (SB: (±1.3491, ±1.3491), f* = -2.06261; SB's rounded 1.3491 is 3e-4 off).
CROSS = _signs(np.array([1.3494066171539107, 1.3494066171539107]))
CROSS_F = -2.062611870822737

# Eggholder (SB: (512, 404.2319), f* = -959.6407). The minimum over the box is on the face
# x1 = 512 (df/dx1 = -3.39 there: the unconstrained stationary point is at x1 = 512.02);
# x2 is the minimiser along that face.
EGG = np.array([512.0, 404.2318051137578])
EGG_F = -959.6406627208509

# McCormick: f = sin u + u/2 + (v - 1)^2 with u = x1 + x2, v = x1 - x2, so the minimum over
# the box is at u = -2 pi/3, v = 1: x* = (1/2 - pi/3, -1/2 - pi/3), f* = -sqrt(3)/2 - pi/3
# (SB: (-0.54719, -1.54719), f* = -1.9133).
MCCORMICK = np.array([0.5 - PI / 3.0, -0.5 - PI / 3.0])
MCCORMICK_F = -math.sqrt(3.0) / 2.0 - PI / 3.0

# Branin: the three minimisers are exact, x1 = -pi, pi, 3pi, x2 = b x1^2 - c x1 + 6, and
# f* = 10 t = 5 / (4 pi) = 0.397887...
BRANIN = np.array([[-PI, 0.0], [PI, 0.0], [3.0 * PI, 0.0]])
BRANIN[:, 1] = BRANIN_B * BRANIN[:, 0] ** 2 - BRANIN_C * BRANIN[:, 0] + 6.0
BRANIN_F = 10.0 * BRANIN_T


@lru_cache(maxsize=4096)
def michalewicz_coordinate(i: int, m: int) -> tuple[float, float]:
    """The minimiser and minimum of ``-sin(x) sin(i x^2/pi)^(2m)`` on ``[0, pi]``.

    Michalewicz is separable, so its global minimum is the sum of these. Between two zeros
    of ``sin(i x^2/pi)`` the term is log-concave (where it matters), hence unimodal: each
    such bracket is searched by bisection on the sign of the derivative (to float64
    resolution) and the best bracket wins.
    """
    k = np.arange(0, i + 1, dtype=np.float64)  # u = i x^2 / pi runs over [0, i pi]
    lo = np.sqrt(PI * k * PI / i)
    hi = np.minimum(np.sqrt(PI * (k + 1.0) * PI / i), PI)
    keep = lo < hi
    lo, hi = lo[keep], hi[keep]

    def slope(x):
        u = i * x * x / PI
        s = np.sin(u)
        return np.cos(x) * s ** (2 * m) + np.sin(x) * 2 * m * s ** (2 * m - 1) * np.cos(u) * (
            2.0 * i * x / PI
        )

    for _ in range(200):
        mid = 0.5 * (lo + hi)
        up = slope(mid) > 0.0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    x = 0.5 * (lo + hi)
    values = -np.sin(x) * np.sin(i * x * x / PI) ** (2 * m)
    best = int(np.argmin(values))
    return float(x[best]), float(values[best])


# Published Michalewicz minima for m = 10 (SB): the computed ones agree to every printed digit.
MICHALEWICZ_PUBLISHED = {2: -1.8013, 5: -4.687658, 10: -9.66015}
