"""The course's functions and the examples of D2L's optimisation chapter, as objectives.

Two sources:

* the course (``experiments/course_calculus``): the slides' ``3x^2 + 1`` and the homework
  ``x^2 - 6x + 1``, ``2x - 1/x`` and ``x^3 - 1/x``; bounds are the ranges the course plots;
* *Dive into Deep Learning* (Zhang, Lipton, Li & Smola, https://d2l.ai), chapter 12
  "Optimization Algorithms" (section numbers as on d2l.ai), plus the calculus example
  ``3x^2 - 4x`` of section 2.4.

Semantics: ``f_opt`` is a global minimum over R^dim. A function without one (unbounded
below, or bounded below without attaining its infimum) has ``unbounded=True`` and
``f_opt=None``, even when its bounds box has a smallest value; those box minima (and the
local minima the book points at) are given in the description.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from jaxcalc.objectives.base import Objective
from jaxcalc.objectives.registry import ObjectiveError, ObjectiveSpec

__all__ = ["SPECS"]

PI = math.pi
COURSE = "the course's calculus examples (experiments/course_calculus)"
D2L = "Zhang, Lipton, Li & Smola, Dive into Deep Learning (d2l.ai)"

# The stationary points of x cos(c x) solve t tan t = 1 with t = c x (refined with mpmath at
# 40 digits): t1 in (0, pi/2) and t2 in (pi, 3 pi/2). For c > 0 the local minima are at
# x = -t1/c, f = -(t1 cos t1)/c, and x = t2/c, f = (t2 cos t2)/c.
_T1 = 0.8603335890193797
_T2 = 3.4256184594817283
_T1_COS = 0.5610963381910451  # t1 cos t1
_T2_COS = -3.2883713955908966  # t2 cos t2


def _spec(
    name: str,
    fn,
    bounds,
    citation: str,
    description: str,
    *,
    x_opt=None,
    f_opt: float | None = None,
    minimizers=None,
    unbounded: bool = False,
    dim: int = 1,
) -> ObjectiveSpec:
    def factory(d: int) -> Objective:
        return Objective(
            name=name,
            dim=d,
            fn=fn,
            bounds=bounds,
            x_opt=None if x_opt is None else np.asarray(x_opt, dtype=np.float64),
            minimizers=None if minimizers is None else np.asarray(minimizers, dtype=np.float64),
            f_opt=f_opt,
            citation=citation,
            unbounded=unbounded,
            description=description,
        )

    return ObjectiveSpec(name, factory, default_dim=dim, dims=(dim,), family="course")


def _positive(name: str, c) -> float:
    if isinstance(c, bool) or not isinstance(c, int | float) or not math.isfinite(c) or c <= 0:
        raise ObjectiveError(f"objective {name}: c must be a positive number; got {c!r}")
    return float(c)


def _x_cos_cx_factory(dim: int, c: float = 0.15 * PI) -> Objective:
    c = _positive("d2l_x_cos_cx", c)
    # for the book's c the box [-10, 10] holds exactly these two local minima, and the ends
    # give f(+-10) = +-10 cos(1.5 pi) = 0, so the box minimum is the one at t2/c
    box_text = (
        f" Over the bounds [-10, 10] the smallest value is {_T2_COS / c!r} at x = {_T2 / c!r}."
        if c == 0.15 * PI
        else ""
    )
    return Objective(
        name="d2l_x_cos_cx",
        dim=dim,
        fn=lambda x: x[0] * jnp.cos(c * x[0]),
        bounds=(-10.0, 10.0),
        citation=f"{D2L}, 12.3.1 (One-Dimensional Gradient Descent: local minima) and "
        "12.3.3 (Newton's method on a nonconvex function), c = 0.15 pi",
        unbounded=True,
        params={"c": c},
        description=(
            "x cos(c x): unbounded below on R (no global minimum). Local minima at "
            f"x = t2/c = {_T2 / c!r} (f = {_T2_COS / c!r}) and x = -t1/c = {-_T1 / c!r} "
            f"(f = {-_T1_COS / c!r}), where t tan t = 1, t1 = {_T1!r}, t2 = {_T2!r}." + box_text
        ),
    )


def _cosh_cx_factory(dim: int, c: float = 0.5) -> Objective:
    c = _positive("d2l_cosh_cx", c)
    return Objective(
        name="d2l_cosh_cx",
        dim=dim,
        fn=lambda x: jnp.cosh(c * x[0]),
        bounds=(-10.0, 10.0),
        x_opt=np.zeros(1),
        f_opt=1.0,
        citation=f"{D2L}, 12.3.3 (Newton's method, convex example), c = 0.5",
        params={"c": c},
        description="cosh(c x): convex, minimum 1 at x = 0.",
    )


SPECS: list[ObjectiveSpec] = [
    _spec(
        "course_3x2_plus_1",
        lambda x: 3.0 * x[0] ** 2 + 1.0,
        (-3.0, 3.0),
        f"{COURSE}: the slides' example u = f(x) = 3x^2 + 1, plotted on [-3, 3]",
        "3x^2 + 1: minimum 1 at x = 0.",
        x_opt=[0.0],
        f_opt=1.0,
    ),
    _spec(
        "course_x2_minus_6x_plus_1",
        lambda x: x[0] ** 2 - 6.0 * x[0] + 1.0,
        (-2.0, 8.0),
        f"{COURSE}: homework 1, f(x) = x^2 - 6x + 1, plotted on [-2, 8]",
        "x^2 - 6x + 1 = (x - 3)^2 - 8: minimum -8 at x = 3.",
        x_opt=[3.0],
        f_opt=-8.0,
    ),
    _spec(
        "course_2x_minus_inv_x",
        lambda x: 2.0 * x[0] - 1.0 / x[0],
        (-3.0, 3.0),
        f"{COURSE}: homework 2, f(x) = 2x - 1/x, plotted on [-3, 3]",
        "2x - 1/x: undefined at x = 0 (the box, the course's plot range, contains the pole: "
        "f is -inf there in floating point); f' = 2 + 1/x^2 > 0, so it is increasing on each "
        "branch and has no minimum (-> -inf as x -> 0+ or x -> -inf).",
        unbounded=True,
    ),
    _spec(
        "course_x3_minus_inv_x",
        lambda x: x[0] ** 3 - 1.0 / x[0],
        (-2.0, 3.0),
        f"{COURSE}: homework 3, f(x) = x^3 - 1/x and its tangent at x = 1 "
        "(y = 4x - 4), plotted on [-2, 3]",
        "x^3 - 1/x: undefined at x = 0 (inside the box, the course's plot range: f is -inf "
        "there in floating point); f' = 3x^2 + 1/x^2 > 0, no minimum (-> -inf as x -> 0+ or "
        "x -> -inf).",
        unbounded=True,
    ),
    _spec(
        "d2l_3x2_minus_4x",
        lambda x: 3.0 * x[0] ** 2 - 4.0 * x[0],
        (-1.0, 3.0),
        f"{D2L}, 2.4.1 (Derivatives and Differentiation): f(x) = 3x^2 - 4x",
        "3x^2 - 4x: minimum -4/3 at x = 2/3.",
        x_opt=[2.0 / 3.0],
        f_opt=-4.0 / 3.0,
    ),
    _spec(
        "d2l_x2",
        lambda x: x[0] ** 2,
        (-10.0, 10.0),
        f"{D2L}, 12.3.1 (One-Dimensional Gradient Descent): f(x) = x^2, started at x = 10",
        "x^2: minimum 0 at x = 0.",
        x_opt=[0.0],
        f_opt=0.0,
    ),
    ObjectiveSpec(
        "d2l_x_cos_cx",
        _x_cos_cx_factory,
        default_dim=1,
        dims=(1,),
        family="course",
        params={"c": 0.15 * PI},
    ),
    ObjectiveSpec(
        "d2l_cosh_cx",
        _cosh_cx_factory,
        default_dim=1,
        dims=(1,),
        family="course",
        params={"c": 0.5},
    ),
    _spec(
        "d2l_x_cos_pix",
        lambda x: x[0] * jnp.cos(PI * x[0]),
        (-1.0, 2.0),
        f"{D2L}, 12.1.2.1 (Optimization and Deep Learning: local minima), "
        "f(x) = x cos(pi x) for -1 <= x <= 2",
        (
            "x cos(pi x): unbounded below on R (no global minimum). On the book's range "
            f"[-1, 2] its local minimum is at x = {-_T1 / PI!r} (f = {-_T1_COS / PI!r}) and its "
            f"smallest value (the book's 'global minimum') at x = {_T2 / PI!r} "
            f"(f = {_T2_COS / PI!r}); both solve t tan t = 1 with t = pi x."
        ),
        unbounded=True,
    ),
    _spec(
        "d2l_x3",
        lambda x: x[0] ** 3,
        (-2.0, 2.0),
        f"{D2L}, 12.1.2.2 (saddle points): f(x) = x^3 on [-2, 2]",
        "x^3: a saddle (inflection) point at 0 where f' = f'' = 0; unbounded below.",
        unbounded=True,
    ),
    _spec(
        "d2l_tanh",
        lambda x: jnp.tanh(x[0]),
        (-2.0, 5.0),
        f"{D2L}, 12.1.2.3 (vanishing gradients): f(x) = tanh(x), gradient near 0 at x = 4",
        "tanh(x): bounded below by -1 but never attains it (no minimum).",
        unbounded=True,
    ),
    _spec(
        "d2l_half_x2",
        lambda x: 0.5 * x[0] ** 2,
        (-2.0, 2.0),
        f"{D2L}, 12.2.1 (Convexity: convex functions): f(x) = 0.5 x^2",
        "0.5 x^2: convex, minimum 0 at x = 0.",
        x_opt=[0.0],
        f_opt=0.0,
    ),
    _spec(
        "d2l_cos_pix",
        lambda x: jnp.cos(PI * x[0]),
        (-2.0, 2.0),
        f"{D2L}, 12.2.1 (Convexity: convex functions): g(x) = cos(pi x), the nonconvex one",
        "cos(pi x): minimum -1 at every odd integer; the two in the box, -1 and 1, are listed.",
        minimizers=[[-1.0], [1.0]],
        f_opt=-1.0,
    ),
    _spec(
        "d2l_exp_half_x",
        lambda x: jnp.exp(0.5 * x[0]),
        (-2.0, 2.0),
        f"{D2L}, 12.2.1 (Convexity: convex functions): h(x) = exp(0.5 x)",
        "exp(0.5 x): convex, bounded below by 0 but never attains it (no minimum).",
        unbounded=True,
    ),
    _spec(
        "d2l_quadratic_2d",
        lambda x: x[0] ** 2 + 2.0 * x[1] ** 2,
        (-5.0, 5.0),
        f"{D2L}, 12.3.2 (Multivariate Gradient Descent) and 12.4 (SGD): "
        "f(x) = x1^2 + 2 x2^2, started at (-5, -2)",
        "x1^2 + 2 x2^2: minimum 0 at 0.",
        x_opt=[0.0, 0.0],
        f_opt=0.0,
        dim=2,
    ),
    _spec(
        "d2l_ill_conditioned_2d",
        lambda x: 0.1 * x[0] ** 2 + 2.0 * x[1] ** 2,
        (-5.0, 5.0),
        f"{D2L}, 12.6.1 (Momentum: an ill-conditioned problem), also 12.7-12.10: "
        "f(x) = 0.1 x1^2 + 2 x2^2, started at (-5, -2)",
        "0.1 x1^2 + 2 x2^2: condition number 20; minimum 0 at 0.",
        x_opt=[0.0, 0.0],
        f_opt=0.0,
        dim=2,
    ),
    _spec(
        "d2l_saddle_2d",
        lambda x: x[0] ** 2 - x[1] ** 2,
        (-1.0, 1.0),
        f"{D2L}, 12.1.2.2 (saddle points): f(x, y) = x^2 - y^2 on [-1, 1]^2",
        "x1^2 - x2^2: a saddle at 0 (gradient zero, Hessian indefinite); unbounded below.",
        unbounded=True,
        dim=2,
    ),
]
