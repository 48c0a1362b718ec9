"""The Moré, Garbow & Hillstrom unconstrained test set: 35 least-squares problems.

(Over 500 lines: one table of 35 problems, each written from the paper under its number.)

Every problem is a sum of squares ``f(x) = sum_i f_i(x)^2`` of ``m`` residuals in ``n``
variables, written here from J. J. Moré, B. S. Garbow and K. E. Hillstrom, "Testing
unconstrained optimization software", ACM Trans. Math. Software 7(1), 17-41, 1981
("MGH" below), section 3, problems (1) to (35), with the paper's standard starting point
``x0`` (its ``starts`` row). Each is a :class:`~jaxcalc.objectives.ResidualObjective`, so
``gauss_newton`` and ``levenberg_marquardt`` apply, and ``f = ||r||^2`` (MGH's ``f``; the
factor is 1, as everywhere in :mod:`jaxcalc.objectives.residual`).

Registered as ``mgh01_rosenbrock`` ... ``mgh35_chebyquad`` (family ``"mgh"``). The
variable-dimension problems (20-35) are registered at one ``n`` (and ``m``), the one whose
minimum MGH print where they print several: Watson ``n = 6``; Chebyquad ``n = m = 8``;
``n = 10`` for the others (linear functions 32-34: ``m = 20``); problem 11 (Gulf) uses
``m = 99`` (MGH: any ``3 <= m <= 100``; f* = 0 for all), problems 6, 12, 16, 18 the ``m``
MGH print their minimum for (10, 10, 20, 13).

``f_opt`` is the global minimum where it is known (0 for the zero-residual problems, the
closed forms of 32-34), else the least value known, recomputed to full float64 precision
with 50-digit arithmetic (:data:`jaxcalc.objectives.mgh_minima.MINIMA`, which also records
MGH's printed values, the local minima and which printed values are not minima).
``lower_bound`` is 0 for every problem (a sum of squares). ``bounds`` is a box around the
start and the minimiser on which f is finite (for sampling starts and plotting; the
problems are unconstrained).

The residuals are written once, on a small array namespace, so the same code runs in JAX
(float32/float64) and on NumPy object arrays of ``mpmath`` numbers (:func:`residuals_mp`)
for the high-precision minima.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import mpmath
import numpy as np

from jaxcalc.objectives.mgh_minima import MINIMA
from jaxcalc.objectives.registry import ObjectiveSpec
from jaxcalc.objectives.residual import ResidualObjective

__all__ = ["MGH", "MGH_CITATION", "PROBLEMS", "SPECS", "MGHProblem", "residuals_mp"]

MGH_CITATION = (
    "J. J. Moré, B. S. Garbow and K. E. Hillstrom, Testing unconstrained optimization "
    "software, ACM Trans. Math. Software 7(1), 17-41, 1981"
)
MGH = "MGH (1981)"


class _Jax:
    """The array operations of the residuals, in JAX, in the dtype of the point."""

    exp, sin, cos, log, sqrt, abs = jnp.exp, jnp.sin, jnp.cos, jnp.log, jnp.sqrt, jnp.abs
    atan, sum, prod, cumsum, where = jnp.arctan, jnp.sum, jnp.prod, jnp.cumsum, jnp.where
    pi = np.pi

    @staticmethod
    def const(values, x):
        return jnp.asarray(np.asarray(values, np.float64), x.dtype)

    @staticmethod
    def arange(start, stop, x):
        return jnp.arange(start, stop, dtype=x.dtype)

    @staticmethod
    def frac(p, q):
        return p / q

    @staticmethod
    def concat(parts, x):
        return jnp.concatenate([jnp.atleast_1d(jnp.asarray(p, x.dtype)) for p in parts])


def _ufunc(f):
    return np.frompyfunc(f, 1, 1)


class _Mp:
    """The same operations on NumPy object arrays of mpmath numbers (decimal data exact)."""

    exp, sin, cos, log = (
        _ufunc(mpmath.exp),
        _ufunc(mpmath.sin),
        _ufunc(mpmath.cos),
        _ufunc(mpmath.log),
    )
    sqrt, atan = _ufunc(mpmath.sqrt), _ufunc(mpmath.atan)
    abs, sum, prod, cumsum, where = np.abs, np.sum, np.prod, np.cumsum, np.where

    pi = mpmath.pi  # evaluated at the working precision where it is used

    @staticmethod
    def const(values, x):
        values = np.asarray(values, np.float64)
        flat = [mpmath.mpf(repr(float(v))) for v in values.reshape(-1)]
        return np.array(flat, dtype=object).reshape(values.shape)

    @staticmethod
    def arange(start, stop, x):
        return np.array([mpmath.mpf(i) for i in range(start, stop)], dtype=object)

    @staticmethod
    def frac(p, q):
        return mpmath.mpf(p) / q

    @staticmethod
    def concat(parts, x):
        return np.concatenate([np.atleast_1d(np.asarray(p, dtype=object)) for p in parts])


_JAX, _MP = _Jax, _Mp  # namespaces: the classes themselves, never instances


# -------------------------------------------------------------------------------------------
# The residuals, MGH section 3 (x is 0-based here, MGH's x_1 is x[0])


def _rosenbrock(x, m):  # (1)
    return m.concat([10 * (x[1] - x[0] ** 2), 1 - x[0]], x)


def _freudenstein_roth(x, m):  # (2)
    return m.concat(
        [
            -13 + x[0] + ((5 - x[1]) * x[1] - 2) * x[1],
            -29 + x[0] + ((x[1] + 1) * x[1] - 14) * x[1],
        ],
        x,
    )


def _powell_badly_scaled(x, m):  # (3)
    return m.concat([10**4 * x[0] * x[1] - 1, m.exp(-x[0]) + m.exp(-x[1]) - m.const(1.0001, x)], x)


def _brown_badly_scaled(x, m):  # (4)
    return m.concat([x[0] - 10**6, x[1] - m.const(2e-6, x), x[0] * x[1] - 2], x)


def _beale(x, m):  # (5)
    y = m.const([1.5, 2.25, 2.625], x)
    i = m.arange(1, 4, x)
    return y - x[0] * (1 - x[1] ** i)


def _jennrich_sampson(x, m):  # (6), m = 10
    i = m.arange(1, 11, x)
    return 2 + 2 * i - (m.exp(i * x[0]) + m.exp(i * x[1]))


def _helical_valley(x, m):  # (7)
    x1, x2, x3 = x[0], x[1], x[2]
    safe = m.where(x1 == 0, 1, x1)
    angle = m.atan(x2 / safe) / (2 * m.pi)
    # MGH: theta = arctan(x2/x1)/(2 pi) for x1 > 0, + 0.5 for x1 < 0 (x1 = 0: the limit
    # from x1 > 0, +-1/4)
    theta = m.where(
        x1 > 0, angle, m.where(x1 < 0, angle + m.frac(1, 2), m.where(x2 >= 0, 1, -1) * 0.25)
    )
    return m.concat([10 * (x3 - 10 * theta), 10 * (m.sqrt(x1**2 + x2**2) - 1), x3], x)


_BARD_Y = [0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10]
_BARD_Y += [4.39]


def _bard(x, m):  # (8)
    u = m.arange(1, 16, x)
    v = 16 - u
    w = m.where(u < v, u, v)
    return m.const(_BARD_Y, x) - (x[0] + u / (v * x[1] + w * x[2]))


_GAUSSIAN_Y = [0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989]
_GAUSSIAN_Y += _GAUSSIAN_Y[-2::-1]


def _gaussian(x, m):  # (9)
    t = (8 - m.arange(1, 16, x)) / 2
    return x[0] * m.exp(-x[1] * (t - x[2]) ** 2 / 2) - m.const(_GAUSSIAN_Y, x)


_MEYER_Y = [34780, 28610, 23650, 19630, 16370, 13720, 11540, 9744, 8261, 7030, 6005, 5147]
_MEYER_Y += [4427, 3820, 3307, 2872]


def _meyer(x, m):  # (10)
    t = 45 + 5 * m.arange(1, 17, x)
    return x[0] * m.exp(x[1] / (t + x[2])) - m.const(_MEYER_Y, x)


def _gulf(x, m):  # (11), m = 99
    t = m.arange(1, 100, x) / 100
    y = 25 + (-50 * m.log(t)) ** m.frac(2, 3)
    return m.exp(-(m.abs(y - x[1]) ** x[2]) / x[0]) - t


def _box_3d(x, m):  # (12), m = 10
    t = m.arange(1, 11, x) / 10
    return m.exp(-t * x[0]) - m.exp(-t * x[1]) - x[2] * (m.exp(-t) - m.exp(-10 * t))


def _powell_singular(x, m):  # (13)
    return m.concat(
        [
            x[0] + 10 * x[1],
            m.sqrt(m.const(5.0, x)) * (x[2] - x[3]),
            (x[1] - 2 * x[2]) ** 2,
            m.sqrt(m.const(10.0, x)) * (x[0] - x[3]) ** 2,
        ],
        x,
    )


def _wood(x, m):  # (14)
    return m.concat(
        [
            10 * (x[1] - x[0] ** 2),
            1 - x[0],
            m.sqrt(m.const(90.0, x)) * (x[3] - x[2] ** 2),
            1 - x[2],
            m.sqrt(m.const(10.0, x)) * (x[1] + x[3] - 2),
            (x[1] - x[3]) / m.sqrt(m.const(10.0, x)),
        ],
        x,
    )


_KOWALIK_Y = [0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235]
_KOWALIK_Y += [0.0246]
_KOWALIK_U = [4, 2, 1, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625]


def _kowalik_osborne(x, m):  # (15)
    u = m.const(_KOWALIK_U, x)
    return m.const(_KOWALIK_Y, x) - x[0] * (u**2 + u * x[1]) / (u**2 + u * x[2] + x[3])


def _brown_dennis(x, m):  # (16), m = 20
    t = m.arange(1, 21, x) / 5
    return (x[0] + t * x[1] - m.exp(t)) ** 2 + (x[2] + x[3] * m.sin(t) - m.cos(t)) ** 2


_OSBORNE1_Y = [0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751]
_OSBORNE1_Y += [0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490]
_OSBORNE1_Y += [0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406]


def _osborne1(x, m):  # (17)
    t = 10 * m.arange(0, 33, x)
    model = x[0] + x[1] * m.exp(-t * x[3]) + x[2] * m.exp(-t * x[4])
    return m.const(_OSBORNE1_Y, x) - model


def _biggs_exp6(x, m):  # (18), m = 13
    t = m.arange(1, 14, x) / 10
    y = m.exp(-t) - 5 * m.exp(-10 * t) + 3 * m.exp(-4 * t)
    return x[2] * m.exp(-t * x[0]) - x[3] * m.exp(-t * x[1]) + x[5] * m.exp(-t * x[4]) - y


_OSBORNE2_Y = [1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746]
_OSBORNE2_Y += [0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649]
_OSBORNE2_Y += [0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395]
_OSBORNE2_Y += [0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653]
_OSBORNE2_Y += [0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739]
_OSBORNE2_Y += [0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054]


def _osborne2(x, m):  # (19)
    t = m.arange(0, 65, x) / 10
    model = (
        x[0] * m.exp(-t * x[4])
        + x[1] * m.exp(-((t - x[8]) ** 2) * x[5])
        + x[2] * m.exp(-((t - x[9]) ** 2) * x[6])
        + x[3] * m.exp(-((t - x[10]) ** 2) * x[7])
    )
    return m.const(_OSBORNE2_Y, x) - model


def _watson(x, m):  # (20), m = 31
    n = x.shape[0]
    t = m.arange(1, 30, x) / 29
    j = m.arange(1, n, x)  # j - 1 for j = 2..n
    derivative = m.sum(j * x[1:] * t[:, None] ** (j - 1), axis=1)
    value = m.sum(x * t[:, None] ** m.arange(0, n, x), axis=1)
    return m.concat([derivative - value**2 - 1, x[0], x[1] - x[0] ** 2 - 1], x)


def _extended_rosenbrock(x, m):  # (21)
    odd, even = x[0::2], x[1::2]
    pairs = [10 * (even - odd**2), 1 - odd]
    return m.concat([p for pair in zip(*pairs, strict=True) for p in pair], x)


def _extended_powell(x, m):  # (22)
    a, b, c, d = x[0::4], x[1::4], x[2::4], x[3::4]
    five, ten = m.sqrt(m.const(5.0, x)), m.sqrt(m.const(10.0, x))
    blocks = [a + 10 * b, five * (c - d), (b - 2 * c) ** 2, ten * (a - d) ** 2]
    return m.concat([p for block in zip(*blocks, strict=True) for p in block], x)


def _penalty1(x, m):  # (23), m = n + 1
    a = m.sqrt(m.const(1e-5, x))
    return m.concat([a * (x - 1), m.sum(x**2) - m.frac(1, 4)], x)


def _penalty2(x, m):  # (24), m = 2n
    n = x.shape[0]
    a = m.sqrt(m.const(1e-5, x))
    i = m.arange(2, n + 1, x)
    y = m.exp(i / 10) + m.exp((i - 1) / 10)
    middle = a * (m.exp(x[1:] / 10) + m.exp(x[:-1] / 10) - y)
    tail = a * (m.exp(x[1:] / 10) - m.exp(m.const(-0.1, x)))
    weights = n - m.arange(0, n, x)
    return m.concat([x[0] - m.frac(1, 5), middle, tail, m.sum(weights * x**2) - 1], x)


def _variably_dimensioned(x, m):  # (25), m = n + 2
    s = m.sum(m.arange(1, x.shape[0] + 1, x) * (x - 1))
    return m.concat([x - 1, s, s**2], x)


def _trigonometric(x, m):  # (26), m = n
    n = x.shape[0]
    i = m.arange(1, n + 1, x)
    return n - m.sum(m.cos(x)) + i * (1 - m.cos(x)) - m.sin(x)


def _brown_almost_linear(x, m):  # (27), m = n
    n = x.shape[0]
    return m.concat([x[:-1] + m.sum(x) - (n + 1), m.prod(x) - 1], x)


def _boundary_grid(x, m):
    n = x.shape[0]
    h = m.frac(1, n + 1)
    return h, m.arange(1, n + 1, x) * h


def _discrete_boundary(x, m):  # (28), m = n
    h, t = _boundary_grid(x, m)
    zero = m.const([0.0], x)
    padded = m.concat([zero, x, zero], x)
    return 2 * x - padded[:-2] - padded[2:] + h**2 * (x + t + 1) ** 3 / 2


def _discrete_integral(x, m):  # (29), m = n
    h, t = _boundary_grid(x, m)
    cube = (x + t + 1) ** 3
    left = m.cumsum(t * cube)  # sum over j <= i
    right = m.cumsum(((1 - t) * cube)[::-1])[::-1]  # sum over j >= i
    right = m.concat([right[1:], m.const([0.0], x)], x)  # sum over j > i
    return x + h * ((1 - t) * left + t * right) / 2


def _broyden_tridiagonal(x, m):  # (30), m = n
    zero = m.const([0.0], x)
    padded = m.concat([zero, x, zero], x)
    return (3 - 2 * x) * x - padded[:-2] - 2 * padded[2:] + 1


def _banded_mask(n: int, lower: int = 5, upper: int = 1) -> np.ndarray:
    i, j = np.indices((n, n))
    return ((j != i) & (j >= i - lower) & (j <= i + upper)).astype(np.float64)


def _broyden_banded(x, m):  # (31), m = n, m_l = 5, m_u = 1
    mask = m.const(_banded_mask(x.shape[0]), x)
    return x * (2 + 5 * x**2) + 1 - mask @ (x * (1 + x))


_LINEAR_M = 20


def _linear_full_rank(x, m):  # (32), m = 20
    s = 2 * m.sum(x) / _LINEAR_M
    tail = -s - 1 + 0 * m.arange(x.shape[0], _LINEAR_M, x)
    return m.concat([x - s - 1, tail], x)


def _linear_rank1(x, m):  # (33), m = 20
    s = m.sum(m.arange(1, x.shape[0] + 1, x) * x)
    return m.arange(1, _LINEAR_M + 1, x) * s - 1


def _linear_rank1_zero(x, m):  # (34), m = 20
    n = x.shape[0]
    s = m.sum(m.arange(2, n, x) * x[1:-1])
    middle = m.arange(1, _LINEAR_M - 1, x) * s - 1  # (i - 1) s - 1 for i = 2..m-1
    minus_one = m.const([-1.0], x)
    return m.concat([minus_one, middle, minus_one], x)


def _chebyquad(x, m):  # (35), m = n
    n = x.shape[0]
    y = 2 * x - 1
    previous, current = 1 + 0 * x, y
    rows = [m.sum(current) / n]
    for _ in range(2, n + 1):
        previous, current = current, 2 * y * current - previous
        rows.append(m.sum(current) / n)
    # the integrals of the shifted Chebyshev polynomials over [0, 1]: -1/(i^2 - 1), i even
    integrals = [m.frac(-1, i * i - 1) if i % 2 == 0 else m.frac(0, 1) for i in range(1, n + 1)]
    return m.concat(rows, x) - m.concat(integrals, x)


# -------------------------------------------------------------------------------------------
# The table of problems


@dataclass(frozen=True)
class MGHProblem:
    """One MGH problem: its number, name, sizes, residuals, start and box.

    Attributes:
      number: MGH's problem number (1-35).
      name: registry name, ``mgh<NN>_<slug>``.
      title: MGH's name of the problem.
      n, m: variables and residuals.
      residuals: ``residuals(x, namespace) -> (m,)``.
      start: MGH's standard starting point ``x0``.
      bounds: ``(n, 2)`` box holding the start and the minimiser, f finite on it.
      x_opt: a global minimiser where MGH give one in closed form (else None).
    """

    number: int
    name: str
    title: str
    n: int
    m: int
    residuals: Callable[[Any, Any], Any]
    start: tuple[float, ...]
    bounds: Any
    x_opt: tuple[float, ...] | None = None


def _box(n: int, low: float, high: float) -> list[list[float]]:
    return [[low, high]] * n


_N = 10


def _p(number, slug, title, n, m, residuals, start, bounds, x_opt=None) -> MGHProblem:
    return MGHProblem(
        number,
        f"mgh{number:02d}_{slug}",
        title,
        n,
        m,
        residuals,
        tuple(float(v) for v in start),
        bounds,
        x_opt,
    )


_H = 1.0 / (_N + 1)
_T = [(i + 1) * _H for i in range(_N)]

PROBLEMS: tuple[MGHProblem, ...] = (
    _p(1, "rosenbrock", "Rosenbrock", 2, 2, _rosenbrock, (-1.2, 1), [[-2, 2], [-1, 3]], (1, 1)),
    _p(
        2,
        "freudenstein_roth",
        "Freudenstein and Roth",
        2,
        2,
        _freudenstein_roth,
        (0.5, -2),
        [[-20, 20], [-5, 6]],
        (5, 4),
    ),
    _p(
        3,
        "powell_badly_scaled",
        "Powell badly scaled",
        2,
        2,
        _powell_badly_scaled,
        (0, 1),
        [[-1, 1], [0, 10]],
    ),
    _p(
        4,
        "brown_badly_scaled",
        "Brown badly scaled",
        2,
        3,
        _brown_badly_scaled,
        (1, 1),
        [[0, 2e6], [-1, 2]],
        (1e6, 2e-6),
    ),
    _p(5, "beale", "Beale", 2, 3, _beale, (1, 1), [[-4.5, 4.5], [-4.5, 4.5]], (3, 0.5)),
    _p(
        6,
        "jennrich_sampson",
        "Jennrich and Sampson",
        2,
        10,
        _jennrich_sampson,
        (0.3, 0.4),
        [[-1, 1], [-1, 1]],
    ),
    _p(
        7,
        "helical_valley",
        "Helical valley",
        3,
        3,
        _helical_valley,
        (-1, 0, 0),
        _box(3, -2, 2),
        (1, 0, 0),
    ),
    _p(8, "bard", "Bard", 3, 15, _bard, (1, 1, 1), [[-1, 2], [0.5, 3], [0.5, 3]]),
    _p(9, "gaussian", "Gaussian", 3, 15, _gaussian, (0.4, 1, 0), [[0, 1], [0, 2], [-1, 1]]),
    _p(
        10,
        "meyer",
        "Meyer",
        3,
        16,
        _meyer,
        (0.02, 4000, 250),
        [[0.001, 0.03], [3000, 7000], [200, 400]],
    ),
    _p(
        11,
        "gulf",
        "Gulf research and development",
        3,
        99,
        _gulf,
        (5, 2.5, 0.15),
        [[1, 100], [0, 50], [0.1, 3]],
        (50, 25, 1.5),
    ),
    _p(
        12,
        "box_3d",
        "Box three-dimensional",
        3,
        10,
        _box_3d,
        (0, 10, 20),
        [[0, 20], [0, 20], [-1, 20]],
        (1, 10, 1),
    ),
    _p(
        13,
        "powell_singular",
        "Powell singular",
        4,
        4,
        _powell_singular,
        (3, -1, 0, 1),
        _box(4, -4, 4),
        (0, 0, 0, 0),
    ),
    _p(14, "wood", "Wood", 4, 6, _wood, (-3, -1, -3, -1), _box(4, -4, 4), (1, 1, 1, 1)),
    _p(
        15,
        "kowalik_osborne",
        "Kowalik and Osborne",
        4,
        11,
        _kowalik_osborne,
        (0.25, 0.39, 0.415, 0.39),
        _box(4, 0, 1),
    ),
    _p(
        16,
        "brown_dennis",
        "Brown and Dennis",
        4,
        20,
        _brown_dennis,
        (25, 5, -5, -1),
        [[-30, 30], [-10, 20], [-10, 10], [-5, 5]],
    ),
    _p(
        17,
        "osborne1",
        "Osborne 1",
        5,
        33,
        _osborne1,
        (0.5, 1.5, -1, 0.01, 0.02),
        [[0, 1], [0, 3], [-3, 0], [0.001, 0.1], [0.001, 0.1]],
    ),
    _p(
        18,
        "biggs_exp6",
        "Biggs EXP6",
        6,
        13,
        _biggs_exp6,
        (1, 2, 1, 1, 1, 1),
        _box(6, 0, 11),
        (1, 10, 1, 5, 4, 3),
    ),
    _p(
        19,
        "osborne2",
        "Osborne 2",
        11,
        65,
        _osborne2,
        (1.3, 0.65, 0.65, 0.7, 0.6, 3, 5, 7, 2, 4.5, 5.5),
        [[0, 2], [0, 1], [0, 1], [0, 1], [0.1, 1]] + [[0.1, 10]] * 3 + [[0, 7]] * 3,
    ),
    _p(20, "watson", "Watson", 6, 31, _watson, (0,) * 6, _box(6, -3, 3)),
    _p(
        21,
        "extended_rosenbrock",
        "Extended Rosenbrock",
        _N,
        _N,
        _extended_rosenbrock,
        (-1.2, 1) * (_N // 2),
        _box(_N, -2, 2),
        (1,) * _N,
    ),
    _p(
        22,
        "extended_powell",
        "Extended Powell singular",
        12,
        12,
        _extended_powell,
        (3, -1, 0, 1) * 3,
        _box(12, -4, 4),
        (0,) * 12,
    ),
    _p(23, "penalty1", "Penalty I", _N, _N + 1, _penalty1, range(1, _N + 1), _box(_N, -1, _N + 1)),
    _p(24, "penalty2", "Penalty II", _N, 2 * _N, _penalty2, (0.5,) * _N, _box(_N, -1, 1)),
    _p(
        25,
        "variably_dimensioned",
        "Variably dimensioned",
        _N,
        _N + 2,
        _variably_dimensioned,
        [1 - (j + 1) / _N for j in range(_N)],
        _box(_N, -1, 2),
        (1,) * _N,
    ),
    _p(
        26,
        "trigonometric",
        "Trigonometric",
        _N,
        _N,
        _trigonometric,
        (1 / _N,) * _N,
        _box(_N, -1, 1),
    ),
    _p(
        27,
        "brown_almost_linear",
        "Brown almost-linear",
        _N,
        _N,
        _brown_almost_linear,
        (0.5,) * _N,
        _box(_N, -1, 2),
    ),
    _p(
        28,
        "discrete_boundary",
        "Discrete boundary value",
        _N,
        _N,
        _discrete_boundary,
        [t * (t - 1) for t in _T],
        _box(_N, -1, 1),
    ),
    _p(
        29,
        "discrete_integral",
        "Discrete integral equation",
        _N,
        _N,
        _discrete_integral,
        [t * (t - 1) for t in _T],
        _box(_N, -1, 1),
    ),
    _p(
        30,
        "broyden_tridiagonal",
        "Broyden tridiagonal",
        _N,
        _N,
        _broyden_tridiagonal,
        (-1,) * _N,
        _box(_N, -2, 1),
    ),
    _p(
        31, "broyden_banded", "Broyden banded", _N, _N, _broyden_banded, (-1,) * _N, _box(_N, -2, 1)
    ),
    _p(
        32,
        "linear_full_rank",
        "Linear function - full rank",
        _N,
        _LINEAR_M,
        _linear_full_rank,
        (1,) * _N,
        _box(_N, -2, 2),
        (-1,) * _N,
    ),
    _p(
        33,
        "linear_rank1",
        "Linear function - rank 1",
        _N,
        _LINEAR_M,
        _linear_rank1,
        (1,) * _N,
        _box(_N, -2, 2),
    ),
    _p(
        34,
        "linear_rank1_zero",
        "Linear function - rank 1 with zero columns and rows",
        _N,
        _LINEAR_M,
        _linear_rank1_zero,
        (1,) * _N,
        _box(_N, -2, 2),
    ),
    _p(
        35,
        "chebyquad",
        "Chebyquad",
        8,
        8,
        _chebyquad,
        [(j + 1) / 9 for j in range(8)],
        _box(8, 0, 1),
    ),
)


def residuals_mp(problem: MGHProblem, x: Any) -> np.ndarray:
    """The residuals at ``x`` in mpmath arithmetic (at ``mpmath.mp.dps`` digits), the data
    taken as the exact decimals MGH print: an object array of ``mpf``."""
    point = np.array([mpmath.mpf(v) for v in x], dtype=object)
    return problem.residuals(point, _MP)


def _spec(problem: MGHProblem) -> ObjectiveSpec:
    known = MINIMA[problem.number]
    notes = known.note
    description = (
        f"MGH problem ({problem.number}), {problem.title}: n = {problem.n}, m = {problem.m}; "
        f"f = sum of the m squared residuals; start = MGH's x0. {notes}"
    ).strip()
    x_opt = problem.x_opt if problem.x_opt is not None else known.x_opt

    def residual_fn(x):
        return problem.residuals(x, _JAX)

    def factory(d: int) -> ResidualObjective:
        return ResidualObjective(
            name=problem.name,
            dim=d,
            fn=None,
            bounds=problem.bounds,
            x_opt=x_opt,
            f_opt=known.f_opt,
            citation=f"{MGH_CITATION}, problem ({problem.number}); f* in "
            "jaxcalc.objectives.mgh_minima",
            description=description,
            residual_fn=residual_fn,
            starts=[problem.start],
            lower_bound=0.0,
            params={"m": problem.m, "mgh_number": problem.number},
        )

    return ObjectiveSpec(
        problem.name, factory, default_dim=problem.n, dims=(problem.n,), family="mgh"
    )


SPECS: list[ObjectiveSpec] = [_spec(p) for p in PROBLEMS]
