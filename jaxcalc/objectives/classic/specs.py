"""The registry entries of the classic functions: domains, minima, citations, factories.

Over 500 lines because it is one table: an entry per function, each with its citation.
"""

from __future__ import annotations

import math

import numpy as np

from jaxcalc.objectives.base import Objective, ObjectiveError
from jaxcalc.objectives.classic.functions import (
    PI,
    beale,
    bohachevsky1,
    booth,
    branin,
    bukin6,
    cross_in_tray,
    dixon_price,
    drop_wave,
    easom,
    eggholder,
    goldstein_price,
    griewank,
    himmelblau,
    holder_table,
    levy,
    make_ackley,
    make_michalewicz,
    matyas,
    mccormick,
    rastrigin,
    rosenbrock,
    rotated_hyper_ellipsoid,
    schaffer2,
    schwefel,
    six_hump_camel,
    sphere,
    styblinski_tang,
    sum_squares,
    three_hump_camel,
    trid,
    zakharov,
)
from jaxcalc.objectives.classic.minima import (
    BRANIN,
    BRANIN_F,
    CAMEL6,
    CAMEL6_F,
    CROSS,
    CROSS_F,
    EGG,
    EGG_F,
    HIMMELBLAU,
    HOLDER,
    HOLDER_F,
    MCCORMICK,
    MCCORMICK_F,
    SCHWEFEL_F1,
    SCHWEFEL_X,
    ST_F,
    ST_X,
    michalewicz_coordinate,
)
from jaxcalc.objectives.registry import ObjectiveSpec

__all__ = ["SPECS"]

SB = "Surjanovic & Bingham, Virtual Library of Simulation Experiments"


def _sb(page: str) -> str:
    return f"{SB}, https://www.sfu.ca/~ssurjano/{page}"


def _jy(number: int | str, name: str) -> str:
    return f"Jamil & Yang (2013) No. {number} ({name})"


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
    lower_bound: float | None = None,
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
            lower_bound=lower_bound,
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
    lower_bound: float | None = None,
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
            lower_bound=lower_bound,
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
        fn=make_ackley(float(a), float(b), float(c)),
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
    coords = [michalewicz_coordinate(i, m) for i in range(1, dim + 1)]
    x_opt = np.array([c[0] for c in coords])
    f_opt = math.fsum(c[1] for c in coords)
    return Objective(
        name="michalewicz",
        dim=dim,
        fn=make_michalewicz(m),
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
        HIMMELBLAU,
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
        CAMEL6,
        CAMEL6_F,
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
        ST_X,
        lambda d: ST_F * d,
        f"{_sb('stybtang.html')} (x*_i = -2.903534, f* = -39.16599 d; refined: "
        f"x*_i = {ST_X!r}, f* = {ST_F!r} d); {_jy(144, 'Styblinski-Tang')}",
        description="Styblinski-Tang: separable quartic; minimum at x_i = -2.9035...",
    ),
    _scalable(
        "schwefel",
        schwefel,
        (-500.0, 500.0),
        SCHWEFEL_X,
        lambda d: SCHWEFEL_F1 * d,
        f"{_sb('schwef.html')} (x*_i = 420.9687, f* = 0 with the rounded constant 418.9829); "
        "Jamil & Yang (2013) 'Schwefel 2.26' (the same landscape, scaled by -1/d)",
        differentiable=False,
        description=(
            "Schwefel: 418.9829 d - sum x_i sin(sqrt|x_i|). x* solves sin t + (t/2) cos t = 0, "
            "t = sqrt(x), to float64; with SB's rounded constant 418.9829 the minimum is "
            "d (418.9829 - 418.98288727243...) = 1.27e-5 d. Unbounded below outside the box: "
            "f_opt is the minimum over [-500, 500]^d."
        ),
        lower_bound=-math.inf,  # unbounded below on R^d: f_opt holds on the box
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
        MCCORMICK,
        MCCORMICK_F,
        f"{_sb('mccorm.html')} (x* = (-0.54719, -1.54719), f* = -1.9133); {_jy(72, 'McCormick')}",
        description=(
            "McCormick: sin(u) + u/2 + (v - 1)^2 in u = x1 + x2, v = x1 - x2, so "
            "x* = (1/2 - pi/3, -1/2 - pi/3), f* = -sqrt(3)/2 - pi/3 exactly. Unbounded below "
            "on R^2 (u -> -inf): f_opt is the minimum over the box."
        ),
        lower_bound=-math.inf,  # unbounded below on R^d: f_opt holds on the box
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
        EGG,
        EGG_F,
        f"{_sb('egg.html')} (x* = (512, 404.2319), f* = -959.6407); {_jy(53, 'Egg Holder')}",
        differentiable=False,
        description=(
            "Eggholder: x* lies on the face x1 = 512 of the box (the gradient is not zero "
            "there); x2 refined to float64. Unbounded below on R^2: f_opt is the minimum over "
            "the box."
        ),
        lower_bound=-math.inf,  # unbounded below on R^d: f_opt holds on the box
    ),
    _fixed2(
        "holder_table",
        holder_table,
        (-10.0, 10.0),
        HOLDER,
        HOLDER_F,
        f"{_sb('holder.html')} (x* = (±8.05502, ±9.66459), f* = -19.2085); "
        f"{_jy(146, 'Table 2 / Holder Table 2')}",
        differentiable=False,
        description=(
            "Holder table: four global minima, at (±8.055, ±9.665). Unbounded below on "
            "R^2: f_opt is the minimum over the box."
        ),
        lower_bound=-math.inf,  # unbounded below on R^d: f_opt holds on the box
    ),
    _fixed2(
        "cross_in_tray",
        cross_in_tray,
        (-10.0, 10.0),
        CROSS,
        CROSS_F,
        f"{_sb('crossit.html')} (x* = (±1.3491, ±1.3491), f* = -2.06261); "
        f"{_jy(39, 'Cross-in-Tray')}",
        differentiable=False,
        description=(
            "Cross-in-tray: four global minima; kinks along the axes. Evaluated in log space "
            "so float32 does not overflow. Unbounded below on R^2 (slowly): f_opt is the "
            "minimum over the box."
        ),
        lower_bound=-math.inf,  # unbounded below on R^d: f_opt holds on the box
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
        BRANIN,
        BRANIN_F,
        f"{_sb('branin.html')} (f* = 0.397887 at (-pi, 12.275), (pi, 2.275), "
        f"(9.42478, 2.475)); {_jy(22, 'Branin RCOS')}",
        description="Branin (RCOS): three global minima, f* = 5/(4 pi).",
    ),
]
