"""Classic test functions for global optimisation, with their published minima.

Definitions, search domains and minima follow the Surjanovic & Bingham *Virtual Library of
Simulation Experiments* (https://www.sfu.ca/~ssurjano/, "SB" below) and Jamil & Yang (2013),
"A literature survey of benchmark functions for global optimisation problems",
Int. J. Mathematical Modelling and Numerical Optimisation 4(2), 150-194 ("J&Y" below, with the
paper's function number, 1-175; the numbers were checked against its alphabetical order
and against third-party lists that quote them, not against the PDF itself).

Minimisers are exact in float64 where a closed form exists. Where the references only print
rounded values, the minimiser was refined once, offline, by solving grad f = 0 with mpmath at
40 digits from the published point and rounding to float64 (the published rounded value is
kept next to it in a comment); the minimum is then f at that point. The search domain is part
of these benchmark problems: several of them (schwefel, eggholder, holder_table,
cross_in_tray, mccormick) are unbounded below on R^d, and their published minimum, like the
``f_opt`` here, is the minimum over the search box (``unbounded`` stays False; the
description says so).

Every function is pure ``jax.numpy`` on one point of shape ``(dim,)``, follows the dtype of
its input (float32 or float64) and is differentiable with ``jax.grad`` wherever it is smooth;
``differentiable=False`` marks the functions with kinks (``abs``, the norm in Ackley).
"""

from __future__ import annotations

import math
from functools import lru_cache

import jax.numpy as jnp
import numpy as np

from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.registry import ObjectiveError, ObjectiveSpec

__all__ = ["SPECS"]

PI = math.pi
SB = "Surjanovic & Bingham, Virtual Library of Simulation Experiments"


def _sb(page: str) -> str:
    return f"{SB}, https://www.sfu.ca/~ssurjano/{page}"


def _jy(number: int | str, name: str) -> str:
    return f"Jamil & Yang (2013) No. {number} ({name})"


def _index(x):
    """The 1-based coordinate index ``1, 2, ..., d`` in the dtype of ``x``."""
    return jnp.arange(1, x.shape[-1] + 1, dtype=x.dtype)


def _signs(points: np.ndarray) -> np.ndarray:
    """Every sign pattern of a 2-D point: ``(a, b) -> (±a, ±b)``."""
    a, b = points
    return np.array([[sa * a, sb * b] for sa in (1.0, -1.0) for sb in (1.0, -1.0)])


# -------------------------------------------------------------------------------------------
# the functions, on one point x of shape (d,)


def sphere(x):
    return jnp.sum(x**2)


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def himmelblau(x):
    x1, x2 = x[0], x[1]
    return (x1**2 + x2 - 11.0) ** 2 + (x1 + x2**2 - 7.0) ** 2


def beale(x):
    x1, x2 = x[0], x[1]
    return (
        (1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2**2) ** 2 + (2.625 - x1 + x1 * x2**3) ** 2
    )


def booth(x):
    x1, x2 = x[0], x[1]
    return (x1 + 2.0 * x2 - 7.0) ** 2 + (2.0 * x1 + x2 - 5.0) ** 2


def matyas(x):
    x1, x2 = x[0], x[1]
    return 0.26 * (x1**2 + x2**2) - 0.48 * x1 * x2


def three_hump_camel(x):
    x1, x2 = x[0], x[1]
    return 2.0 * x1**2 - 1.05 * x1**4 + x1**6 / 6.0 + x1 * x2 + x2**2


def six_hump_camel(x):
    x1, x2 = x[0], x[1]
    return (4.0 - 2.1 * x1**2 + x1**4 / 3.0) * x1**2 + x1 * x2 + (-4.0 + 4.0 * x2**2) * x2**2


def goldstein_price(x):
    x1, x2 = x[0], x[1]
    a = 1.0 + (x1 + x2 + 1.0) ** 2 * (
        19.0 - 14.0 * x1 + 3.0 * x1**2 - 14.0 * x2 + 6.0 * x1 * x2 + 3.0 * x2**2
    )
    b = 30.0 + (2.0 * x1 - 3.0 * x2) ** 2 * (
        18.0 - 32.0 * x1 + 12.0 * x1**2 + 48.0 * x2 - 36.0 * x1 * x2 + 27.0 * x2**2
    )
    return a * b


def rastrigin(x):
    return 10.0 * x.shape[-1] + jnp.sum(x**2 - 10.0 * jnp.cos(2.0 * PI * x))


def _ackley(a: float, b: float, c: float):
    def ackley(x):
        d = x.shape[-1]
        return (
            -a * jnp.exp(-b * jnp.sqrt(jnp.sum(x**2) / d))
            - jnp.exp(jnp.sum(jnp.cos(c * x)) / d)
            + a
            + math.e
        )

    return ackley


def griewank(x):
    return 1.0 + jnp.sum(x**2) / 4000.0 - jnp.prod(jnp.cos(x / jnp.sqrt(_index(x))))


def levy(x):
    w = 1.0 + (x - 1.0) / 4.0
    head = jnp.sin(PI * w[0]) ** 2
    body = jnp.sum((w[:-1] - 1.0) ** 2 * (1.0 + 10.0 * jnp.sin(PI * w[:-1] + 1.0) ** 2))
    tail = (w[-1] - 1.0) ** 2 * (1.0 + jnp.sin(2.0 * PI * w[-1]) ** 2)
    return head + body + tail


def styblinski_tang(x):
    return 0.5 * jnp.sum(x**4 - 16.0 * x**2 + 5.0 * x)


def schwefel(x):
    return 418.9829 * x.shape[-1] - jnp.sum(x * jnp.sin(jnp.sqrt(jnp.abs(x))))


def zakharov(x):
    s = jnp.sum(0.5 * _index(x) * x)
    return jnp.sum(x**2) + s**2 + s**4


def dixon_price(x):
    i = _index(x)
    return (x[0] - 1.0) ** 2 + jnp.sum(i[1:] * (2.0 * x[1:] ** 2 - x[:-1]) ** 2)


def trid(x):
    return jnp.sum((x - 1.0) ** 2) - jnp.sum(x[1:] * x[:-1])


def easom(x):
    x1, x2 = x[0], x[1]
    return -jnp.cos(x1) * jnp.cos(x2) * jnp.exp(-((x1 - PI) ** 2) - (x2 - PI) ** 2)


def mccormick(x):
    x1, x2 = x[0], x[1]
    return jnp.sin(x1 + x2) + (x1 - x2) ** 2 - 1.5 * x1 + 2.5 * x2 + 1.0


def bukin6(x):
    x1, x2 = x[0], x[1]
    # SB: 100 sqrt(|x2 - 0.01 x1^2|) + 0.01 |x1 + 10|, written so that the ridge term is
    # exactly 0 at (-10, 1) even when XLA fuses it into an FMA (0.01 is not a binary number)
    return 10.0 * jnp.sqrt(jnp.abs(100.0 * x2 - x1**2)) + 0.01 * jnp.abs(x1 + 10.0)


def eggholder(x):
    x1, x2 = x[0], x[1]
    return -(x2 + 47.0) * jnp.sin(jnp.sqrt(jnp.abs(x2 + x1 / 2.0 + 47.0))) - x1 * jnp.sin(
        jnp.sqrt(jnp.abs(x1 - (x2 + 47.0)))
    )


def holder_table(x):
    x1, x2 = x[0], x[1]
    r = jnp.sqrt(x1**2 + x2**2)
    return -jnp.abs(jnp.sin(x1) * jnp.cos(x2) * jnp.exp(jnp.abs(1.0 - r / PI)))


def cross_in_tray(x):
    # SB: -0.0001 (|sin x1 sin x2 exp(|100 - r/pi|)| + 1)^0.1. exp(|100 - r/pi|) reaches
    # e^100 > float32's largest value, so the same number is computed in log space:
    # (|s| e^a + 1)^0.1 = exp(0.1 log(e^(log|s| + a) + 1)).
    x1, x2 = x[0], x[1]
    a = jnp.abs(100.0 - jnp.sqrt(x1**2 + x2**2) / PI)
    log_inner = jnp.logaddexp(jnp.log(jnp.abs(jnp.sin(x1) * jnp.sin(x2))) + a, 0.0)
    return -0.0001 * jnp.exp(0.1 * log_inner)


def _michalewicz(m: int):
    def michalewicz(x):
        return -jnp.sum(jnp.sin(x) * jnp.sin(_index(x) * x**2 / PI) ** (2 * m))

    return michalewicz


def schaffer2(x):
    x1, x2 = x[0], x[1]
    return 0.5 + (jnp.sin(x1**2 - x2**2) ** 2 - 0.5) / (1.0 + 0.001 * (x1**2 + x2**2)) ** 2


def bohachevsky1(x):
    x1, x2 = x[0], x[1]
    return x1**2 + 2.0 * x2**2 - 0.3 * jnp.cos(3.0 * PI * x1) - 0.4 * jnp.cos(4.0 * PI * x2) + 0.7


def sum_squares(x):
    return jnp.sum(_index(x) * x**2)


def rotated_hyper_ellipsoid(x):
    return jnp.sum(jnp.cumsum(x**2))


def drop_wave(x):
    # cos(12 r) is an even, entire function of r, so drop-wave is smooth at 0 even though
    # r = sqrt(s) is not; the double `where` keeps jax.grad finite (and exact: 0) there.
    s = x[0] ** 2 + x[1] ** 2
    positive = s > 0.0
    r = jnp.sqrt(jnp.where(positive, s, 1.0))
    c = jnp.where(positive, jnp.cos(12.0 * r), 1.0)
    return -(1.0 + c) / (0.5 * s + 2.0)


_BRANIN_B = 5.1 / (4.0 * PI**2)
_BRANIN_C = 5.0 / PI
_BRANIN_T = 1.0 / (8.0 * PI)


def branin(x):
    x1, x2 = x[0], x[1]
    return (
        (x2 - _BRANIN_B * x1**2 + _BRANIN_C * x1 - 6.0) ** 2
        + 10.0 * (1.0 - _BRANIN_T) * jnp.cos(x1)
        + 10.0
    )


# -------------------------------------------------------------------------------------------
# minima that are not plain closed forms

# Styblinski-Tang: the root of 4x^3 - 32x + 5 = 0 near -2.9035 (SB prints x* = -2.903534 and
# f* = -39.16599 d; the exact minimum per coordinate is -39.16616570377142: SB's last digits
# are off by 1.7e-4).
_ST_X = -2.903534027771177
_ST_F = -39.16616570377142

# Schwefel: the maximiser of x sin(sqrt(x)) on [0, 500], i.e. t = sqrt(x) solving
# sin t + (t/2) cos t = 0 in (6.5 pi, 7 pi) (SB prints 420.9687). Its maximum is
# c* = 418.98288727243370627..., so with SB's rounded constant 418.9829 the minimum is
# d * (418.9829 - c*) = 1.2727566293725e-5 d, not 0 (SB prints f* = 0).
_SCHWEFEL_X = 420.96874635998205
_SCHWEFEL_C = 418.98288727243370627
_SCHWEFEL_F1 = 1.2727566293725213565e-05  # 418.9829 - c*, to 20 digits

# Six-hump camel (SB: (0.0898, -0.7126) and (-0.0898, 0.7126), f* = -1.0316).
_CAMEL6 = np.array([[0.08984201310031806, -0.7126564030207396]])
_CAMEL6 = np.concatenate([_CAMEL6, -_CAMEL6])
_CAMEL6_F = -1.0316284534898774

# Himmelblau (Himmelblau 1972: (3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186),
# (3.584428, -1.848126)); the polynomial roots refined to float64.
_HIMMELBLAU = np.array(
    [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.2831859912861696],
        [3.5844283403304917, -1.8481265269644036],
    ]
)

# Holder table (SB: (±8.05502, ±9.66459), f* = -19.2085).
_HOLDER = _signs(np.array([8.055023475736563, 9.664590019241272]))
_HOLDER_F = -19.208502567886732

# Cross-in-tray (SB: (±1.3491, ±1.3491), f* = -2.06261; SB's rounded 1.3491 is 3e-4 off).
_CROSS = _signs(np.array([1.3494066171539107, 1.3494066171539107]))
_CROSS_F = -2.062611870822737

# Eggholder (SB: (512, 404.2319), f* = -959.6407). The minimum over the box is on the face
# x1 = 512 (df/dx1 = -3.39 there: the unconstrained stationary point is at x1 = 512.02);
# x2 is the minimiser along that face.
_EGG = np.array([512.0, 404.2318051137578])
_EGG_F = -959.6406627208509

# McCormick: f = sin u + u/2 + (v - 1)^2 with u = x1 + x2, v = x1 - x2, so the minimum over
# the box is at u = -2 pi/3, v = 1: x* = (1/2 - pi/3, -1/2 - pi/3), f* = -sqrt(3)/2 - pi/3
# (SB: (-0.54719, -1.54719), f* = -1.9133).
_MCCORMICK = np.array([0.5 - PI / 3.0, -0.5 - PI / 3.0])
_MCCORMICK_F = -math.sqrt(3.0) / 2.0 - PI / 3.0

# Branin: the three minimisers are exact, x1 = -pi, pi, 3pi, x2 = b x1^2 - c x1 + 6, and
# f* = 10 t = 5 / (4 pi) = 0.397887...
_BRANIN = np.array([[-PI, 0.0], [PI, 0.0], [3.0 * PI, 0.0]])
_BRANIN[:, 1] = _BRANIN_B * _BRANIN[:, 0] ** 2 - _BRANIN_C * _BRANIN[:, 0] + 6.0
_BRANIN_F = 10.0 * _BRANIN_T


@lru_cache(maxsize=4096)
def _michalewicz_coordinate(i: int, m: int) -> tuple[float, float]:
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


# -------------------------------------------------------------------------------------------
# the registry entries


def _fixed2(
    name: str,
    fn,
    bounds,
    minimizers,
    f_opt: float,
    citation: str,
    *,
    differentiable: bool = True,
    description: str = "",
) -> ObjectiveSpec:
    def factory(dim: int) -> Objective:
        return Objective(
            name=name,
            dim=dim,
            fn=fn,
            bounds=bounds,
            minimizers=np.atleast_2d(np.asarray(minimizers, dtype=np.float64)),
            f_opt=f_opt,
            citation=citation,
            differentiable=differentiable,
            description=description,
        )

    return ObjectiveSpec(name, factory, default_dim=2, dims=(2,), family="classic")


def _scalable(
    name: str,
    fn,
    bounds,
    x_opt,
    f_opt,
    citation: str,
    *,
    min_dim: int = 1,
    differentiable: bool = True,
    description: str = "",
    minimizers=None,
) -> ObjectiveSpec:
    """``bounds(d)``, ``x_opt(d)``, ``f_opt(d)`` and ``minimizers(d)`` may be callables."""

    def value(v, d):
        return v(d) if callable(v) else v

    def factory(dim: int) -> Objective:
        box = np.asarray(value(bounds, dim), dtype=np.float64)
        mins = value(minimizers, dim) if minimizers is not None else None
        if mins is None:
            mins = np.broadcast_to(np.asarray(value(x_opt, dim), dtype=np.float64), (dim,))
        return Objective(
            name=name,
            dim=dim,
            fn=fn,
            bounds=box,
            minimizers=np.atleast_2d(np.array(mins, dtype=np.float64)),
            f_opt=value(f_opt, dim),
            citation=citation,
            differentiable=differentiable,
            description=description,
        )

    return ObjectiveSpec(name, factory, default_dim=2, min_dim=min_dim, family="classic")


def _dixon_price_minimizers(d: int) -> np.ndarray:
    # x_i = 2^(-(2^i - 2)/2^i) solves x_1 = 1, 2 x_i^2 = x_(i-1). Each x_(i-1), i <= d, must
    # be positive for x_i to exist, so only x_d may take either sign: two global minimisers.
    i = np.arange(1, d + 1, dtype=np.float64)
    base = 2.0 ** (-(2.0**i - 2.0) / 2.0**i)
    if d == 1:
        return base[None, :]
    other = base.copy()
    other[-1] = -other[-1]
    return np.stack([base, other])


def _trid_x(d: int) -> np.ndarray:
    i = np.arange(1, d + 1, dtype=np.float64)
    return i * (d + 1.0 - i)


def _ackley_factory(dim: int, a: float = 20.0, b: float = 0.2, c: float = 2.0 * PI) -> Objective:
    return Objective(
        name="ackley",
        dim=dim,
        fn=_ackley(float(a), float(b), float(c)),
        bounds=(-32.768, 32.768),
        x_opt=np.zeros(dim),
        f_opt=0.0,
        citation=f"{_sb('ackley.html')}; {_jy(1, 'Ackley 1')}",
        differentiable=False,
        params={"a": a, "b": b, "c": c},
        description="Ackley: nearly flat outer region, deep hole at 0; the norm has a kink at 0.",
    )


def _michalewicz_factory(dim: int, m: int = 10) -> Objective:
    if isinstance(m, bool) or int(m) != m or m < 1:
        raise ObjectiveError(f"michalewicz: m must be a positive integer; got {m!r}")
    m = int(m)
    coords = [_michalewicz_coordinate(i, m) for i in range(1, dim + 1)]
    x_opt = np.array([c[0] for c in coords])
    f_opt = math.fsum(c[1] for c in coords)
    return Objective(
        name="michalewicz",
        dim=dim,
        fn=_michalewicz(m),
        bounds=(0.0, PI),
        x_opt=x_opt,
        f_opt=f_opt,
        citation=f"{_sb('michal.html')} (f* = -1.8013 for d=2, -4.687658 for d=5, "
        "-9.66015 for d=10, m=10)",
        params={"m": m},
        description=(
            "Michalewicz, steepness m (10 by default). Separable, so x_opt/f_opt for any d are "
            "computed coordinate by coordinate (bisection on the derivative between the "
            "zeros of sin(i x^2/pi)); they reproduce SB's published minima for d = 2, 5, 10."
        ),
    )


SPECS: list[ObjectiveSpec] = [
    _scalable(
        "sphere",
        sphere,
        (-5.12, 5.12),
        0.0,
        0.0,
        f"{_sb('spheref.html')}; {_jy(137, 'Sphere')}",
        description="Sphere: sum x_i^2.",
    ),
    _scalable(
        "rosenbrock",
        rosenbrock,
        (-5.0, 10.0),
        1.0,
        0.0,
        f"{_sb('rosen.html')}; {_jy(105, 'Rosenbrock')}",
        min_dim=2,
        description="Rosenbrock: a curved valley; global minimum 0 at (1, ..., 1).",
    ),
    _fixed2(
        "himmelblau",
        himmelblau,
        (-5.0, 5.0),
        _HIMMELBLAU,
        0.0,
        "Himmelblau (1972), Applied Nonlinear Programming, McGraw-Hill; "
        f"{_jy(65, 'Himmelblau')} (not in SB)",
        description="Himmelblau: four global minima with f = 0.",
    ),
    _fixed2(
        "beale",
        beale,
        (-4.5, 4.5),
        [3.0, 0.5],
        0.0,
        f"{_sb('beale.html')}; {_jy(10, 'Beale')}",
        description="Beale: sharp peaks at the corners; minimum 0 at (3, 0.5).",
    ),
    _fixed2(
        "booth",
        booth,
        (-10.0, 10.0),
        [1.0, 3.0],
        0.0,
        f"{_sb('booth.html')}; {_jy(20, 'Booth')}",
        description="Booth: a quadratic; minimum 0 at (1, 3).",
    ),
    _fixed2(
        "matyas",
        matyas,
        (-10.0, 10.0),
        [0.0, 0.0],
        0.0,
        f"{_sb('matya.html')}; {_jy(71, 'Matyas')}",
        description="Matyas: a flat, rotated quadratic; minimum 0 at 0.",
    ),
    _fixed2(
        "three_hump_camel",
        three_hump_camel,
        (-5.0, 5.0),
        [0.0, 0.0],
        0.0,
        f"{_sb('camel3.html')}; {_jy(29, 'Three-Hump Camel')}",
        description="Three-hump camel: three local minima; global minimum 0 at 0.",
    ),
    _fixed2(
        "six_hump_camel",
        six_hump_camel,
        [[-3.0, 3.0], [-2.0, 2.0]],
        _CAMEL6,
        _CAMEL6_F,
        f"{_sb('camel6.html')} (x* = (±0.0898, ∓0.7126), f* = -1.0316); "
        f"{_jy(30, 'Six-Hump Camel')}",
        description="Six-hump camel: six local minima, two of them global.",
    ),
    _fixed2(
        "goldstein_price",
        goldstein_price,
        (-2.0, 2.0),
        [0.0, -1.0],
        3.0,
        f"{_sb('goldpr.html')}; {_jy(58, 'Goldstein Price')}",
        description="Goldstein-Price: minimum 3 at (0, -1).",
    ),
    _scalable(
        "rastrigin",
        rastrigin,
        (-5.12, 5.12),
        0.0,
        0.0,
        f"{_sb('rastr.html')} (not in Jamil & Yang 2013)",
        description="Rastrigin: a regular grid of local minima; global minimum 0 at 0.",
    ),
    ObjectiveSpec(
        "ackley",
        _ackley_factory,
        default_dim=2,
        family="classic",
        params={"a": 20.0, "b": 0.2, "c": 2.0 * PI},
    ),
    _scalable(
        "griewank",
        griewank,
        (-600.0, 600.0),
        0.0,
        0.0,
        f"{_sb('griewank.html')}; {_jy(59, 'Griewank')}",
        description="Griewank: a wide bowl with many shallow local minima; minimum 0 at 0.",
    ),
    _scalable(
        "levy",
        levy,
        (-10.0, 10.0),
        1.0,
        0.0,
        f"{_sb('levy.html')}",
        description="Levy: minimum 0 at (1, ..., 1).",
    ),
    _scalable(
        "styblinski_tang",
        styblinski_tang,
        (-5.0, 5.0),
        _ST_X,
        lambda d: _ST_F * d,
        f"{_sb('stybtang.html')} (x*_i = -2.903534, f* = -39.16599 d; refined: "
        f"x*_i = {_ST_X!r}, f* = {_ST_F!r} d); {_jy(144, 'Styblinski-Tang')}",
        description="Styblinski-Tang: separable quartic; minimum at x_i = -2.9035...",
    ),
    _scalable(
        "schwefel",
        schwefel,
        (-500.0, 500.0),
        _SCHWEFEL_X,
        lambda d: _SCHWEFEL_F1 * d,
        f"{_sb('schwef.html')} (x*_i = 420.9687, f* = 0 with the rounded constant 418.9829); "
        "Jamil & Yang (2013) 'Schwefel 2.26' (the same landscape, scaled by -1/d)",
        differentiable=False,
        description=(
            "Schwefel: 418.9829 d - sum x_i sin(sqrt|x_i|). x* solves sin t + (t/2) cos t = 0, "
            "t = sqrt(x), to float64; with SB's rounded constant 418.9829 the minimum is "
            "d (418.9829 - 418.98288727243...) = 1.27e-5 d. Unbounded below outside the box: "
            "f_opt is the minimum over [-500, 500]^d."
        ),
    ),
    _scalable(
        "zakharov",
        zakharov,
        (-5.0, 10.0),
        0.0,
        0.0,
        f"{_sb('zakharov.html')}; {_jy(173, 'Zakharov')}",
        description="Zakharov: plate-shaped, minimum 0 at 0.",
    ),
    _scalable(
        "dixon_price",
        dixon_price,
        (-10.0, 10.0),
        None,
        0.0,
        f"{_sb('dixonpr.html')}; {_jy(48, 'Dixon & Price')}",
        minimizers=_dixon_price_minimizers,
        description=(
            "Dixon-Price: minimum 0 at x_i = 2^(-(2^i - 2)/2^i), and at the same point with "
            "x_d negated (for d >= 2)."
        ),
    ),
    _scalable(
        "trid",
        trid,
        lambda d: (-float(d * d), float(d * d)),
        _trid_x,
        lambda d: -d * (d + 4) * (d - 1) / 6.0,
        f"{_sb('trid.html')}; Jamil & Yang (2013) 'Trid 6' and 'Trid 10' (fixed d)",
        min_dim=2,
        description="Trid: convex quadratic; x*_i = i (d + 1 - i), f* = -d (d + 4)(d - 1)/6.",
    ),
    _fixed2(
        "easom",
        easom,
        (-100.0, 100.0),
        [PI, PI],
        -1.0,
        f"{_sb('easom.html')}; {_jy(50, 'Easom')}",
        description="Easom: flat almost everywhere, a narrow hole of depth -1 at (pi, pi).",
    ),
    _fixed2(
        "mccormick",
        mccormick,
        [[-1.5, 4.0], [-3.0, 4.0]],
        _MCCORMICK,
        _MCCORMICK_F,
        f"{_sb('mccorm.html')} (x* = (-0.54719, -1.54719), f* = -1.9133); {_jy(72, 'McCormick')}",
        description=(
            "McCormick: sin(u) + u/2 + (v - 1)^2 in u = x1 + x2, v = x1 - x2, so "
            "x* = (1/2 - pi/3, -1/2 - pi/3), f* = -sqrt(3)/2 - pi/3 exactly. Unbounded below "
            "on R^2 (u -> -inf): f_opt is the minimum over the box."
        ),
    ),
    _fixed2(
        "bukin6",
        bukin6,
        [[-15.0, -5.0], [-3.0, 3.0]],
        [-10.0, 1.0],
        0.0,
        f"{_sb('bukin6.html')}; {_jy(28, 'Bukin 6')}",
        differentiable=False,
        description="Bukin N.6: a sharp ridge x2 = x1^2/100; minimum 0 at (-10, 1).",
    ),
    _fixed2(
        "eggholder",
        eggholder,
        (-512.0, 512.0),
        _EGG,
        _EGG_F,
        f"{_sb('egg.html')} (x* = (512, 404.2319), f* = -959.6407); {_jy(53, 'Egg Holder')}",
        differentiable=False,
        description=(
            "Eggholder: x* lies on the face x1 = 512 of the box (the gradient is not zero "
            "there); x2 refined to float64. Unbounded below on R^2: f_opt is the minimum over "
            "the box."
        ),
    ),
    _fixed2(
        "holder_table",
        holder_table,
        (-10.0, 10.0),
        _HOLDER,
        _HOLDER_F,
        f"{_sb('holder.html')} (x* = (±8.05502, ±9.66459), f* = -19.2085); "
        f"{_jy(146, 'Table 2 / Holder Table 2')}",
        differentiable=False,
        description=(
            "Holder table: four global minima, at (±8.055, ±9.665). Unbounded below on "
            "R^2: f_opt is the minimum over the box."
        ),
    ),
    _fixed2(
        "cross_in_tray",
        cross_in_tray,
        (-10.0, 10.0),
        _CROSS,
        _CROSS_F,
        f"{_sb('crossit.html')} (x* = (±1.3491, ±1.3491), f* = -2.06261); "
        f"{_jy(39, 'Cross-in-Tray')}",
        differentiable=False,
        description=(
            "Cross-in-tray: four global minima; kinks along the axes. Evaluated in log space "
            "so float32 does not overflow. Unbounded below on R^2 (slowly): f_opt is the "
            "minimum over the box."
        ),
    ),
    ObjectiveSpec(
        "michalewicz",
        _michalewicz_factory,
        default_dim=2,
        family="classic",
        params={"m": 10},
    ),
    _fixed2(
        "schaffer2",
        schaffer2,
        (-100.0, 100.0),
        [0.0, 0.0],
        0.0,
        f"{_sb('schaffer2.html')}; {_jy(113, 'Schaffer 2')}",
        description="Schaffer N.2: 0.5 + (sin^2(x1^2 - x2^2) - 0.5)/(1 + 0.001 |x|^2)^2.",
    ),
    _fixed2(
        "bohachevsky1",
        bohachevsky1,
        (-100.0, 100.0),
        [0.0, 0.0],
        0.0,
        f"{_sb('boha.html')}; {_jy(17, 'Bohachevsky 1')}",
        description="Bohachevsky 1: bowl with cosine ripples; minimum 0 at 0.",
    ),
    _scalable(
        "sum_squares",
        sum_squares,
        (-10.0, 10.0),
        0.0,
        0.0,
        f"{_sb('sumsqu.html')}; {_jy(143, 'Sum Squares')}",
        description="Sum squares (axis-parallel hyper-ellipsoid): sum i x_i^2.",
    ),
    _scalable(
        "rotated_hyper_ellipsoid",
        rotated_hyper_ellipsoid,
        (-65.536, 65.536),
        0.0,
        0.0,
        f"{_sb('rothyp.html')}",
        description="Rotated hyper-ellipsoid: sum_i sum_{j <= i} x_j^2.",
    ),
    _fixed2(
        "drop_wave",
        drop_wave,
        (-5.12, 5.12),
        [0.0, 0.0],
        -1.0,
        f"{_sb('drop.html')}",
        description="Drop-wave: concentric ripples; minimum -1 at 0 (smooth there).",
    ),
    _fixed2(
        "branin",
        branin,
        [[-5.0, 10.0], [0.0, 15.0]],
        _BRANIN,
        _BRANIN_F,
        f"{_sb('branin.html')} (f* = 0.397887 at (-pi, 12.275), (pi, 2.275), "
        f"(9.42478, 2.475)); {_jy(22, 'Branin RCOS')}",
        description="Branin (RCOS): three global minima, f* = 5/(4 pi).",
    ),
]
