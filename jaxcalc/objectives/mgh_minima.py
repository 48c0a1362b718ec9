"""The minima of the Moré-Garbow-Hillstrom problems, recomputed to float64 precision.

MGH (J. J. Moré, B. S. Garbow and K. E. Hillstrom, ACM TOMS 7(1), 17-41, 1981, section 3)
print each problem's minimum to about six digits, ``printed`` below, with the paper's
wording. The values here were recomputed by ``benchmarks/mgh_minima.py``: scipy's
Levenberg-Marquardt and BFGS from MGH's start (and from random starts in the box for
problems 1-18), then Newton's method on the gradient in 80-digit mpmath arithmetic (data
taken as the exact decimals MGH print), the Hessian's eigenvalues deciding the kind of
each stationary point. ``f_opt`` is the float64 nearest to the 80-digit value (the
digits agree with MGH's to the six they print, except where the note says otherwise);
``x_opt`` the refined point rounded to float64, where the minimiser is isolated.
Zero-residual problems have ``f_opt = 0`` exactly, the linear problems 32-34 the closed
forms MGH give.

``local`` lists other values a method may stop at: local minima ("min"), saddle points
("saddle"; a correct method reports ``non_minimum`` there, never ``converged``), and values
approached only as ``|x| -> infinity`` ("infinity"; no point attains them).

Printed values that are not minima:

* (18) Biggs EXP6, ``f = 5.65565e-3`` "if m = 13": a saddle point (the Hessian has an
  eigenvalue -9.7e-3, against 11.3 for the largest); the global minimum is 0 at
  ``(1, 10, 1, 5, 4, 3)``, and f also decreases towards 4.4694e-3 as ``x4, x6 -> infinity``.
* (8) Bard, ``f = 17.4286`` at ``(0.8406, -inf, -inf)`` and (15) Kowalik-Osborne,
  ``f = 1.02734e-3`` at ``(+inf, -14.07, -inf, -inf)``: limits as ``|x| -> infinity``, not
  attained.
* (27) Brown almost-linear, ``f = 1`` at ``(0, ..., 0, n + 1)``: a stationary point with a
  positive semidefinite Hessian that is not a minimum for n = 10 (f decreases along a
  curve on which the product of the coordinates grows from 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["MINIMA", "Minimum"]


@dataclass(frozen=True)
class Minimum:
    """What is known of one problem's minimum.

    Attributes:
      f_opt: the global minimum (or the least known value), float64.
      x_opt: a minimiser rounded to float64, or None (not isolated, or given in closed
        form by the problem itself).
      printed: MGH's printed value(s), as the paper words them.
      local: other stationary values, ``(f, kind)`` with kind "min", "saddle" or
        "infinity".
      note: one sentence for the objective's description.
    """

    f_opt: float
    x_opt: tuple[float, ...] | None = None
    printed: str = "f = 0"
    local: tuple[tuple[float, str], ...] = ()
    note: str = ""


_M = 20  # m of the linear problems 32-34
_N = 10

MINIMA: dict[int, Minimum] = {
    1: Minimum(0.0, printed="f = 0 at (1, 1)"),
    2: Minimum(
        0.0,
        printed="f = 0 at (5, 4); f = 48.9842... at (11.41..., -0.8968...)",
        local=((48.98425367924002, "min"),),
        note="Local minimum 48.98425367924002 at (11.412778986902094, -0.8968052532744765).",
    ),
    3: Minimum(0.0, printed="f = 0 at (1.098...e-5, 9.106...)"),
    4: Minimum(0.0, printed="f = 0 at (1e6, 2e-6)"),
    5: Minimum(0.0, printed="f = 0 at (3, 0.5)"),
    6: Minimum(
        124.36218235561485,
        (0.2578252136703641, 0.2578252136703641),
        printed="f = 124.362... at x1 = x2 = 0.2578... for m = 10",
        local=((2020.0, "infinity"),),
        note="f tends to 2020 as x1, x2 -> -infinity (a plateau).",
    ),
    7: Minimum(0.0, printed="f = 0 at (1, 0, 0)"),
    8: Minimum(
        0.008214877306578975,
        (0.08241055974978893, 1.1330360920297216, 2.343695178642537),
        printed="f = 8.21487...e-3; f = 17.4286... at (0.8406..., -inf, -inf)",
        local=((1.0038205868219474, "min"), (17.42869333333333, "infinity")),
        note="Local minimum 1.0038205868219474; MGH's 17.4286 is a limit at infinity.",
    ),
    9: Minimum(
        1.127932769618648e-08,
        (0.39895613783875666, 1.0000190844878056, 0.0),
        printed="f = 1.12793...e-8",
    ),
    10: Minimum(
        87.94585517085112,
        (0.005609636471028053, 6181.346346286372, 345.2236346241365),
        printed="f = 87.9458...",
    ),
    11: Minimum(0.0, printed="f = 0 at (50, 25, 1.5)"),
    12: Minimum(0.0, printed="f = 0 at (1, 10, 1), (10, 1, -1) and wherever x1 = x2, x3 = 0"),
    13: Minimum(0.0, printed="f = 0 at the origin"),
    14: Minimum(0.0, printed="f = 0 at (1, 1, 1, 1)"),
    15: Minimum(
        0.00030750560384923745,
        (0.19280693457903786, 0.19128232873436696, 0.12305650692632066, 0.13606233068379484),
        printed="f = 3.07505...e-4; f = 1.02734...e-3 at (+inf, -14.07..., -inf, -inf)",
        local=(
            (0.001594352026021962, "min"),
            (0.001622955515064394, "min"),
            (0.0016272854211609377, "min"),
            (0.00102734, "infinity"),
        ),
        note="Local minima 1.594352e-3, 1.622956e-3, 1.627285e-3; MGH's 1.02734e-3 is a "
        "limit at infinity.",
    ),
    16: Minimum(
        85822.20162635634,
        (-11.594439904762165, 13.203630051207204, -0.40343948817685954, 0.2367787744557363),
        printed="f = 85822.2... if m = 20",
    ),
    17: Minimum(
        5.464894697482907e-05,
        (
            0.37541005210695205,
            1.9358469127123674,
            -1.464687136613423,
            0.012867534640057288,
            0.02212269966167261,
        ),
        printed="f = 5.46489...e-5",
    ),
    18: Minimum(
        0.0,
        printed="f = 5.65565...e-3 if m = 13; f = 0 at (1, 10, 1, 5, 4, 3)",
        local=((0.005655649925499931, "saddle"), (0.00446935, "infinity")),
        note="MGH's 5.65565e-3 is a saddle point, 0.005655649925499931 at (1.7114159947195875, "
        "17.683198180949066, 1.244028982606705, 5.186561551993452, 1.7114159947195875, "
        "1.08225833923108).",
    ),
    19: Minimum(
        0.040137736293547735,
        (
            1.3099771546273005,
            0.4315537946029889,
            0.633661698960724,
            0.5994305347859163,
            0.7541832263280113,
            0.9042885798596336,
            1.3658118352370285,
            4.8236988172271555,
            2.3986848661317546,
            4.568874597667672,
            5.6753414705806415,
        ),
        printed="f = 4.01377...e-2",
    ),
    20: Minimum(
        0.0022876700535524363,
        (
            -0.015725086401458456,
            1.0124348693691099,
            -0.2329916259567377,
            1.2604300877996084,
            -1.5137289227222797,
            0.9929964324311346,
        ),
        printed="f = 2.28767...e-3 if n = 6; 1.39976e-6 (9); 4.72238e-10 (12)",
    ),
    21: Minimum(0.0, printed="f = 0 at (1, ..., 1)"),
    22: Minimum(0.0, printed="f = 0 at the origin"),
    23: Minimum(
        7.087651467090369e-05,
        (0.15812230111311634,) * 10,
        printed="f = 2.24997...e-5 if n = 4; f = 7.08765...e-5 if n = 10",
    ),
    24: Minimum(
        0.00029366053745674594,
        (
            0.1999836051978236,
            0.010350648471292297,
            0.019604934480438402,
            0.03208906722068565,
            0.049932677399641294,
            0.07651399515399361,
            0.11862407286950417,
            0.19214487233557667,
            0.34732058694184365,
            0.3691643741593508,
        ),
        printed="f = 9.37629...e-6 if n = 4; f = 2.93660...e-4 if n = 10",
    ),
    25: Minimum(0.0, printed="f = 0 at (1, ..., 1)"),
    26: Minimum(
        0.0,
        printed="f = 0",
        local=((2.7950561218794563e-05, "min"),),
        note="Local minimum 2.7950561218794563e-05, which methods reach from MGH's start.",
    ),
    27: Minimum(
        0.0,
        printed="f = 0 at (a, ..., a, a^(1-n)), n a^n - (n+1) a^(n-1) + 1 = 0; "
        "f = 1 at (0, ..., 0, n+1)",
        local=((1.0, "saddle"),),
        note="MGH's f = 1 at (0, ..., 0, n+1) is a stationary point but not a minimum.",
    ),
    28: Minimum(0.0),
    29: Minimum(0.0),
    30: Minimum(0.0),
    31: Minimum(0.0),
    32: Minimum(float(_M - _N), printed="f = m - n at (-1, ..., -1)"),
    33: Minimum(
        float(Fraction(_M * (_M - 1), 2 * (2 * _M + 1))),
        printed="f = m(m-1) / (2(2m+1)) at any point where sum j x_j = 3 / (2m+1)",
    ),
    34: Minimum(
        float(Fraction(_M**2 + 3 * _M - 6, 2 * (2 * _M - 3))),
        printed="f = (m^2 + 3m - 6) / (2(2m-3)) at any point where "
        "sum_{j=2}^{n-1} j x_j = 3 / (2m-3)",
    ),
    35: Minimum(
        0.0035168737256779316,
        (
            0.04315276015101663,
            0.1930908403841861,
            0.26632870689027294,
            0.5,
            0.5,
            0.7336712931097271,
            0.8069091596158139,
            0.9568472398489833,
        ),
        printed="f = 3.51687...e-3 for n = m = 8; f = 0 for n = m <= 7 and 9; "
        "f = 6.50395...e-3 for n = m = 10",
    ),
}
