"""Throughput of jaxcalc's derivatives against raw JAX, NumPy, SciPy, numdifftools and sympy.

Run from the repository root::

    python benchmarks/derivatives.py            # full run, a few minutes
    python benchmarks/derivatives.py --quick    # smoke run: smaller sizes, fewer repeats

One process prints one report with four tables:

1. first derivatives of ``3x^2 + 1`` and ``x^3 - 1/x`` (float32, x in [1, 3]):
   :func:`jaxcalc.derivative` against ``jax.jit(jax.vmap(jax.grad(f)))``, a hand-written
   NumPy derivative (the memory-bound floor), NumPy central differences,
   ``scipy.differentiate.derivative``, numdifftools and sympy-lambdified NumPy;
2. the per-call overhead at the small size (what the 10 us target is up against);
3. gradient and Hessian of the 100-D Rosenbrock function against ``scipy.optimize``;
4. derivatives of order 1-8 of ``sin(x) exp(x)``: nested ``jax.grad``, nested ``jax.jvp``
   and Taylor mode (``jax.experimental.jet``), to choose ``_NESTED_MAX_ORDER``.

Every JAX row is measured twice: with JAX's default asynchronous CPU dispatch, then with
``jax_cpu_enable_async_dispatch=False``. The flag is read only when the CPU client is
created, so between the two passes the backend is torn down with
``jax.extend.backend.clear_backends()`` (which also drops every compilation cache) and the
arrays and functions are rebuilt; NumPy-side rows are measured once, in the first pass.
The overhead table is then re-run in alternating async/sync cycles and the samples pooled,
so that its async-vs-sync comparison is not biased by load drifting during the run.

Method: inputs are made once (JAX inputs already on device, ``block_until_ready``); the
"1st call" column is the wall time of building the function plus its first call (trace +
compile + run for JAX; diff + lambdify for sympy). Steady state: the rows of one group
are timed interleaved, round after round, so load changes on a shared machine hit them
alike, in an order rotated each round; each sample follows one untimed call (rows under
50 ms) and repeats the call enough times to last ~5 ms (GC off, ``timeit``); the
tables give the median per-call time over the rounds and the best (minimum). Ratios
between rows timed in the same rounds are medians of the per-round ratios. Slow peers are
timed on a subsample of the points and scaled to points/s; such rows are marked ``*``.
The header prints the load average: above the CPU count, read medians with care.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import math
import os
import platform
import statistics
import sys
import time
import timeit
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numdifftools as nd
import numpy as np
import scipy
import scipy.differentiate
import scipy.optimize
import sympy as sp
from jax.experimental import jet
from jax.extend.backend import clear_backends

import jaxcalc
from jaxcalc import calculus, functions

ASYNC, SYNC = "async", "sync"


# ----------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]  # 1-D derivative sizes (small, large)
    rosen_points: int
    rosen_dim: int
    order_points: int
    orders: tuple[int, ...]
    rounds: int  # interleaved rounds per group
    sample_s: float  # target duration of one timing sample
    slow_budget_s: float  # cap on the total time spent timing one slow row
    slow_subsample: int  # points used for numdifftools / scipy.differentiate on large sizes
    loop_subsample: int  # points used for per-point Python loops (scipy rosen_der/hess)
    overhead_cycles: int  # async/sync alternations of the overhead table, pooled


FULL = Settings(
    sizes=(10_000, 1_000_000),
    rosen_points=10_000,
    rosen_dim=100,
    order_points=100_000,
    orders=(1, 2, 3, 4, 6, 8),
    rounds=41,
    sample_s=0.005,
    slow_budget_s=3.0,
    slow_subsample=100_000,
    loop_subsample=500,
    overhead_cycles=3,
)
QUICK = Settings(
    sizes=(1_000, 100_000),
    rosen_points=1_000,
    rosen_dim=100,
    order_points=10_000,
    orders=(1, 2, 4),
    rounds=3,
    sample_s=0.005,
    slow_budget_s=0.5,
    slow_subsample=10_000,
    loop_subsample=100,
    overhead_cycles=1,
)


# ----------------------------------------------------------------------------------------
# Timing


@dataclass
class Row:
    """One contender: ``call()`` does one complete call (result ready) on ``points`` points."""

    group: str
    method: str
    call: Callable[[], Any]
    points: int
    dispatch: str = "-"  # "async" / "sync" for JAX rows, "-" for NumPy-side rows
    first_s: float = math.nan
    err: float = math.nan
    note: str = ""
    slow: bool = False
    times: list[float] = field(default_factory=list)  # per-call seconds, one per round
    number: int = 1  # calls per sample
    rounds: int = 0  # samples taken
    batch: str = ""  # rows timed interleaved with each other share a batch

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def rate(self) -> float:
        return self.points / self.median

    @property
    def best_rate(self) -> float:
        return self.points / self.best


def ready(out: Any) -> Any:
    """Wait for every array in ``out`` (a no-op for NumPy results)."""
    return jax.block_until_ready(out)


def build(
    group: str,
    method: str,
    make: Callable[[], Callable[[], Any]],
    points: int,
    *,
    dispatch: str = "-",
    exact: np.ndarray | None = None,
    subset: slice | None = None,
    note: str = "",
    slow: bool = False,
) -> Row:
    """Build a contender, timing construction + first call, and record its relative error.

    ``make()`` returns the zero-argument call. The error is ``max|out - exact| / max|exact|``
    over the points computed (``subset`` selects the matching part of ``exact``).
    """
    start = time.perf_counter()
    call = make()
    out = ready(call())
    first = time.perf_counter() - start
    row = Row(group, method, call, points, dispatch, first, note=note, slow=slow)
    if exact is not None:
        ref = exact if subset is None else exact[subset]
        got = np.asarray(out, dtype=np.float64).reshape(ref.shape)
        row.err = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
    return row


_batches = iter(range(1_000_000))


def measure(rows: list[Row], settings: Settings, batch: str | None = None) -> None:
    """Time ``rows`` interleaved: each round runs every row once (one sample each)."""
    batch = batch or f"batch {next(_batches)}"
    for row in rows:
        row.batch = batch  # calibrate the loop count so one sample lasts ~settings.sample_s
        per_call = timeit.Timer(row.call).timeit(1)
        row.number = max(1, int(settings.sample_s / max(per_call, 1e-9)))
        row.times = []
        sample = per_call * row.number
        cap = settings.slow_budget_s / max(sample, 1e-9)
        row.rounds = max(3, min(settings.rounds, int(cap)))
    for i in range(max(row.rounds for row in rows)):
        for j in range(len(rows)):
            row = rows[(i + j) % len(rows)]  # rotate, so no row always follows a slow one
            if i < row.rounds:
                if row.times and row.times[-1] < 0.05:
                    row.call()  # untimed warm-up: threads awake, caches warm
                row.times.append(timeit.Timer(row.call).timeit(row.number) / row.number)


def progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------
# Section 1: first derivatives of two scalar functions


@dataclass(frozen=True)
class Scalar:
    text: str  # jaxcalc expression text
    sympy_text: str  # the same in sympy syntax
    jax_f: Callable
    np_f: Callable  # f for NumPy-based peers
    hand: Callable  # hand-written NumPy derivative
    exact: Callable  # float64 exact derivative


SCALARS = (
    Scalar(
        "3x^2 + 1",
        "3*x**2 + 1",
        lambda x: 3 * x**2 + 1,
        lambda x: 3 * x**2 + 1,
        lambda x: 6 * x,
        lambda x: 6 * x,
    ),
    Scalar(
        "x^3 - 1/x",
        "x**3 - 1/x",
        lambda x: x**3 - 1 / x,
        lambda x: x**3 - 1 / x,
        lambda x: 3 * (x * x) + 1 / (x * x),
        lambda x: 3 * x**2 + 1 / x**2,
    ),
)


def points_1d(n: int) -> np.ndarray:
    return np.linspace(1.0, 3.0, n, dtype=np.float32)


def jax_input(x: np.ndarray) -> jax.Array:
    return jax.device_put(x).block_until_ready()


def jax_rows_1d(s: Scalar, n: int, dispatch: str) -> list[Row]:
    x_np = points_1d(n)
    x = jax_input(x_np)
    exact = s.exact(x_np.astype(np.float64))
    group = f"{s.text} n={n}"

    def raw():
        g = jax.jit(jax.vmap(jax.grad(s.jax_f)))
        return lambda: g(x).block_until_ready()

    def lib_callable():
        d = jaxcalc.derivative(s.jax_f)
        return lambda: d(x).block_until_ready()

    def lib_text():
        d = jaxcalc.derivative(s.text)
        return lambda: d(x).block_until_ready()

    kw = {"dispatch": dispatch, "exact": exact}
    return [
        build(group, "raw jit(vmap(grad(f)))", raw, n, **kw),
        build(group, "jaxcalc.derivative(f)", lib_callable, n, **kw),
        build(group, f'jaxcalc.derivative("{s.text}")', lib_text, n, **kw),
    ]


def numpy_rows_1d(s: Scalar, n: int, settings: Settings) -> list[Row]:
    x = points_1d(n)
    exact = s.exact(x.astype(np.float64))
    group = f"{s.text} n={n}"
    large = n > settings.slow_subsample
    m = settings.slow_subsample if large else n
    xs = x[:: n // m][:m] if large else x
    sub = slice(None, None, n // m) if large else None
    sub_exact = exact[sub][:m] if large else exact
    sub_note = f"timed on {m:,} of {n:,} points, scaled" if large else ""

    def hand():
        return lambda: s.hand(x)

    def central():
        cbrt_eps = float(np.finfo(x.dtype).eps) ** (1 / 3)

        def call():
            h = cbrt_eps * np.maximum(np.float32(1), np.abs(x))
            return (s.np_f(x + h) - s.np_f(x - h)) / (2 * h)

        return call

    def scipy_diff():
        return lambda: scipy.differentiate.derivative(s.np_f, xs).df

    def ndt():
        d = nd.Derivative(s.np_f)
        return lambda: d(xs)

    def sym():
        v = sp.Symbol("x")
        expr = sp.sympify(s.sympy_text)
        fn = sp.lambdify(v, sp.diff(expr, v), "numpy")
        return lambda: fn(x)

    return [
        build(group, "NumPy hand-written f'", hand, n, exact=exact, note="memory-bound floor"),
        build(group, "NumPy central differences", central, n, exact=exact, note="h=eps^(1/3)"),
        build(
            group,
            "scipy.differentiate.derivative",
            scipy_diff,
            m,
            exact=sub_exact,
            note=sub_note or "default tolerances",
            slow=True,
        ),
        build(
            group,
            "numdifftools.Derivative",
            ndt,
            m,
            exact=sub_exact,
            note=(sub_note + "; " if sub_note else "") + "computes in float64",
            slow=True,
        ),
        build(group, "sympy lambdify (NumPy)", sym, n, exact=exact, note="1st = diff+lambdify"),
    ]


# ----------------------------------------------------------------------------------------
# Section 2: per-call overhead at the small size


def derivative_fast_path(f: Callable, order: int = 1) -> Callable:
    """A local copy of ``jaxcalc.derivative`` with a cheaper wrapper (a proposed change).

    ``jaxcalc.derivative`` runs ``jnp.asarray`` + ``jnp.issubdtype`` on every call before
    the jitted function; for an input that is already a JAX array this costs about as much
    as dispatching the computation. Here JAX arrays go straight to the jitted function and
    the integer -> float cast happens inside it (traced once per dtype).
    """
    scalar = calculus._scalar_derivative(f, order)

    @jax.jit
    def elementwise(x):
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        return jax.vmap(scalar)(jnp.ravel(x)).reshape(x.shape)

    def d(x):
        if not isinstance(x, jax.Array):
            x = jnp.asarray(x)
        return elementwise(x)

    return d


def overhead_rows(n: int, dispatch: str) -> list[Row]:
    s = SCALARS[0]
    x = jax_input(points_1d(n))
    group = f"overhead n={n}"
    rows = []

    def ident():
        g = jax.jit(lambda v: v + 1)
        return lambda: g(x).block_until_ready()

    def raw():
        g = jax.jit(jax.vmap(jax.grad(s.jax_f)))
        return lambda: g(x).block_until_ready()

    def lib():
        d = jaxcalc.derivative(s.jax_f)
        return lambda: d(x).block_until_ready()

    def fast():
        d = derivative_fast_path(s.jax_f)
        return lambda: d(x).block_until_ready()

    def float_array():
        return lambda: functions.float_array(x)

    rows.append(build(group, "jit(x + 1): dispatch floor", ident, n, dispatch=dispatch))
    rows.append(build(group, "raw jit(vmap(grad(f)))", raw, n, dispatch=dispatch))
    rows.append(build(group, "jaxcalc.derivative(f)", lib, n, dispatch=dispatch))
    rows.append(
        build(group, "derivative, fast-path wrapper", fast, n, dispatch=dispatch, note="proposed")
    )
    rows.append(
        build(
            group,
            "functions.float_array(x) alone",
            float_array,
            n,
            dispatch=dispatch,
            note="jnp.asarray on a jax.Array",
        )
    )
    return rows


# ----------------------------------------------------------------------------------------
# Section 3: 100-D Rosenbrock


def rosen_jax(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_points(settings: Settings) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(-2.0, 2.0, (settings.rosen_points, settings.rosen_dim)).astype(np.float32)


def rosen_exact(settings: Settings) -> tuple[np.ndarray, np.ndarray, slice]:
    """float64 SciPy gradient at all points and Hessians at the loop subsample."""
    x64 = rosen_points(settings).astype(np.float64)
    sub = slice(0, settings.loop_subsample)
    grad = scipy.optimize.rosen_der(x64.T).T
    hess = np.stack([scipy.optimize.rosen_hess(p) for p in x64[sub]])
    return grad, hess, sub


def jax_rows_rosen(settings: Settings, dispatch: str, exact) -> list[Row]:
    grad_exact, hess_exact, sub = exact
    n = settings.rosen_points
    x = jax_input(rosen_points(settings))
    g_group, h_group = f"gradient n={n}", f"Hessian n={n}"

    def raw_grad():
        g = jax.jit(jax.vmap(jax.grad(rosen_jax)))
        return lambda: g(x).block_until_ready()

    def lib_grad():
        g = jaxcalc.gradient(rosen_jax)
        return lambda: g(x).block_until_ready()

    def raw_hess():
        h = jax.jit(jax.vmap(jax.hessian(rosen_jax)))
        return lambda: h(x).block_until_ready()

    def lib_hess():
        h = jaxcalc.hessian(rosen_jax)
        return lambda: h(x).block_until_ready()

    def hess_err(row: Row) -> Row:  # compare only the subsample (the full output is large)
        out = np.asarray(row.call(), dtype=np.float64)[sub]
        row.err = float(np.max(np.abs(out - hess_exact)) / np.max(np.abs(hess_exact)))
        return row

    kw = {"dispatch": dispatch}
    return [
        build(g_group, "raw jit(vmap(grad(f)))", raw_grad, n, exact=grad_exact, **kw),
        build(g_group, "jaxcalc.gradient(f)", lib_grad, n, exact=grad_exact, **kw),
        hess_err(build(h_group, "raw jit(vmap(hessian(f)))", raw_hess, n, **kw)),
        hess_err(build(h_group, "jaxcalc.hessian(f)", lib_hess, n, **kw)),
    ]


def numpy_rows_rosen(settings: Settings, exact) -> list[Row]:
    grad_exact, hess_exact, sub = exact
    n, m = settings.rosen_points, settings.loop_subsample
    x = rosen_points(settings)
    xt = np.ascontiguousarray(x.T)  # (dim, n): rosen_der's slices along axis 0 batch it
    xs = x[sub]
    g_group, h_group = f"gradient n={n}", f"Hessian n={n}"
    note = f"per-point loop on {m:,} points, scaled"

    def vec_grad():
        return lambda: scipy.optimize.rosen_der(xt).T

    def loop_grad():
        return lambda: np.stack([scipy.optimize.rosen_der(p) for p in xs])

    def loop_hess():
        return lambda: np.stack([scipy.optimize.rosen_hess(p) for p in xs])

    return [
        build(
            g_group,
            "scipy rosen_der, vectorised",
            vec_grad,
            n,
            exact=grad_exact,
            note="one call on x.T, shape (dim, n)",
        ),
        build(
            g_group,
            "scipy rosen_der, looped",
            loop_grad,
            m,
            exact=grad_exact,
            subset=sub,
            note=note,
            slow=True,
        ),
        build(
            h_group,
            "scipy rosen_hess, looped",
            loop_hess,
            m,
            exact=hess_exact,
            note=note + " (not vectorisable)",
            slow=True,
        ),
    ]


# ----------------------------------------------------------------------------------------
# Section 4: high orders


def sin_exp(x):
    return jnp.sin(x) * jnp.exp(x)


def sin_exp_exact(x: np.ndarray, k: int) -> np.ndarray:
    # d^k/dx^k e^x sin x = 2^(k/2) e^x sin(x + k pi/4)
    return 2 ** (k / 2) * np.exp(x) * np.sin(x + k * np.pi / 4)


def nested_grad(f: Callable, k: int) -> Callable:
    for _ in range(k):
        f = jax.grad(f)
    return f


def nested_jvp(f: Callable, k: int) -> Callable:
    for _ in range(k):
        f = (lambda g: lambda x: jax.jvp(g, (x,), (jnp.ones_like(x),))[1])(f)
    return f


def taylor_jet(f: Callable, k: int) -> Callable:
    def d(x):
        series = [jnp.ones_like(x)] + [jnp.zeros_like(x)] * (k - 1)
        return jet.jet(f, (x,), (series,))[1][-1]

    return d


def jax_rows_orders(settings: Settings, dispatch: str) -> list[list[Row]]:
    n = settings.order_points
    x_np = np.linspace(-2.0, 2.0, n, dtype=np.float32)
    x = jax_input(x_np)
    groups = []
    for k in settings.orders:
        exact = sin_exp_exact(x_np.astype(np.float64), k)
        group = f"order {k} n={n}"
        rows = []
        for method, scalar in (
            ("nested jax.grad", lambda k=k: nested_grad(sin_exp, k)),
            ("nested jax.jvp", lambda k=k: nested_jvp(sin_exp, k)),
            ("jet (Taylor mode)", lambda k=k: taylor_jet(sin_exp, k)),
        ):

            def make(scalar=scalar):
                g = jax.jit(jax.vmap(scalar()))
                return lambda: g(x).block_until_ready()

            rows.append(build(group, method, make, n, dispatch=dispatch, exact=exact))

        def lib(k=k):
            d = jaxcalc.derivative(sin_exp, k)
            return lambda: d(x).block_until_ready()

        if k == 1:
            used = "uses jax.grad"
        elif k <= calculus._NESTED_MAX_ORDER:
            used = "uses nested jvp"
        else:
            used = "uses jet"
        rows.append(
            build(group, f"jaxcalc.derivative(f, {k})", lib, n, dispatch=dispatch, exact=exact)
        )
        rows[-1].note = used
        groups.append(rows)
    return groups


# ----------------------------------------------------------------------------------------
# Section 5: orders 5, 10, 20, 40 of every function of the expression language


HIGH_ORDERS = (5, 10, 20, 40)
# One point inside each function's domain; then compositions.
LANGUAGE = [
    ("sin(x)", 0.7),
    ("cos(x)", 0.7),
    ("tan(x)", 0.4),
    ("asin(x)", 0.3),
    ("acos(x)", -0.4),
    ("atan(x)", 0.8),
    ("sinh(x)", 0.5),
    ("cosh(x)", -0.5),
    ("tanh(x)", 0.3),
    ("asinh(x)", 0.6),
    ("acosh(x)", 1.7),
    ("atanh(x)", -0.3),
    ("exp(x)", 0.9),
    ("log(x)", 1.4),
    ("log2(x)", 0.8),
    ("log10(x)", 2.5),
    ("sqrt(x)", 1.3),
    ("cbrt(x)", -0.8),
    ("abs(x)", -0.6),
    ("sign(x)", 0.4),
    ("erf(x)", 0.6),
    ("sigmoid(x)", -0.9),
    ("relu(x)", 0.6),
    ("softplus(x)", 0.7),
    ("min(x, 1 - x^2)", 0.9),
    ("max(x, 1 - x^2)", 0.9),
    ("x^2.5", 1.1),
    ("2^x", 0.5),
    ("x^x", 1.2),
    ("sin(x)/cos(x)", 0.6),
    ("exp(sin(x)) * log(1 + x^2)", 0.4),
    ("sqrt(1 + x^2) * atan(x) / (2 + tanh(x))", 0.9),
]
# The path used before truncated Taylor arithmetic (jet on the same function as a
# callable), timed for the compositions whose primitives all have jet rules.
JET_PEERS = {"sin(x)/cos(x)": (5, 10, 20), "exp(sin(x)) * log(1 + x^2)": (5, 10)}


def _first_call(make: Callable[[], Callable[[], Any]]) -> tuple[Callable[[], Any], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call = make()
    ready(call())
    return call, time.perf_counter() - wall, time.process_time() - cpu


def _coefficient_error(got: float, text: str, x0: float, k: int) -> float:
    """|got - exact| / max(k!, |exact|): the error of the Taylor coefficient f^(k)/k!
    relative to max(1, its size); exact = sympy's derivative with 50 digits."""
    expr = jaxcalc.parse(text).sympy
    sym = jaxcalc.parse(text).symbols[0]
    value = sp.diff(expr, sym, k).subs(sym, sp.Rational(repr(x0))).evalf(50)
    exact = float(sp.re(value))
    return abs(got - exact) / max(math.factorial(k), abs(exact))


def high_order_rows(points: int, rounds: int) -> list[dict]:
    """Each function at each order: first call (parse, trace, compile, run on ``points``
    points; wall and CPU seconds), steady time per call, and the coefficient error."""
    rows = []
    with jax.enable_x64(True):
        for text, x0 in LANGUAGE:
            x = jax_input(np.linspace(x0 - 0.05, x0 + 0.05, points))
            for k in HIGH_ORDERS:
                progress(f"{text} order {k}")

                def make(text=text, k=k, x=x):
                    d = jaxcalc.derivative(jaxcalc.parse(text), k)  # a fresh compilation
                    return lambda: d(x)

                call, wall, cpu = _first_call(make)
                times = [
                    timeit.Timer(lambda call=call: ready(call())).timeit(1) for _ in range(rounds)
                ]
                got = float(jaxcalc.derivative(text, k)(x0))
                err = _coefficient_error(got, text, x0, k) if k <= 10 else math.nan
                rows.append(
                    {
                        "text": text,
                        "order": k,
                        "method": "jaxcalc.derivative",
                        "wall": wall,
                        "cpu": cpu,
                        "run": statistics.median(times),
                        "err": err,
                    }
                )
            for k in JET_PEERS.get(text, ()):
                progress(f"{text} order {k}, jet")
                expr = jaxcalc.parse(text)

                def make_jet(expr=expr, k=k, x=x):
                    g = jax.jit(jax.vmap(taylor_jet(lambda v: expr(v), k)))
                    return lambda: g(x)

                call, wall, cpu = _first_call(make_jet)
                times = [
                    timeit.Timer(lambda call=call: ready(call())).timeit(1) for _ in range(rounds)
                ]
                rows.append(
                    {
                        "text": text,
                        "order": k,
                        "method": "jet, as before",
                        "wall": wall,
                        "cpu": cpu,
                        "run": statistics.median(times),
                        "err": math.nan,
                    }
                )
    return rows


def print_high_orders(rows: list[dict], points: int) -> None:
    print(
        f"\n5. Orders 5-40 of every function of the expression language, float64, {points} "
        "points\n   1st call = parse + trace + compile + run (wall, and CPU time of this "
        "process);\n   run = median steady call; coef err = |f^(k) - sympy 50 digits| / "
        "max(k!, |f^(k)|) (k <= 10)"
    )
    print(
        f"  {'function':<50} {'order':>5} {'method':<20} {'1st wall':>9} {'1st cpu':>8} "
        f"{'run':>10} {'coef err':>9}"
    )
    print("  " + "-" * 118)
    for r in rows:
        print(
            f"  {r['text']:<50} {r['order']:>5} {r['method']:<20} {r['wall']:>8.2f}s "
            f"{r['cpu']:>7.2f}s {fmt_time(r['run']):>10} {fmt_err(r['err']):>9}"
        )
    ours = [r for r in rows if r["method"] == "jaxcalc.derivative"]
    for k in HIGH_ORDERS:
        at_k = [r for r in ours if r["order"] == k]
        worst = max(at_k, key=lambda r: r["cpu"])
        print(
            f"  order {k:>2}: slowest 1st call {worst['cpu']:.2f} s CPU "
            f"({worst['wall']:.2f} s wall), {worst['text']}"
        )


# ----------------------------------------------------------------------------------------
# Report


def fmt_rate(rate: float) -> str:
    if rate >= 1e9:
        return f"{rate / 1e9:.2f} G"
    if rate >= 1e6:
        return f"{rate / 1e6:.1f} M"
    if rate >= 1e3:
        return f"{rate / 1e3:.1f} k"
    return f"{rate:.0f} "


def fmt_time(seconds: float) -> str:
    us = seconds * 1e6
    if us >= 1e5:
        return f"{us / 1e3:,.0f} ms"
    if us >= 100:
        return f"{us:,.0f} us"
    return f"{us:.1f} us"


def fmt_err(err: float) -> str:
    return "-" if math.isnan(err) else f"{err:.1e}"


def ratio(row: Row, ref: Row) -> float:
    """Speed of ``row`` relative to ``ref`` (> 1: faster).

    For rows timed in the same rounds, the median of the per-round ratios (each pair ran
    back to back, so load changes on the shared machine largely cancel); otherwise the
    ratio of the medians.
    """
    if row.batch == ref.batch and len(row.times) == len(ref.times):
        paired = statistics.median(b / a for a, b in zip(row.times, ref.times, strict=True))
        return paired * row.points / ref.points  # per point (subsampled rows)
    return row.rate / ref.rate


def print_table(title: str, rows: list[Row], ref: Callable[[Row], Row | None], ref_name: str):
    print(f"\n{title}")
    head = (
        f"  {'method':<34} {'disp':<5} {'1st call':>9} {'median/call':>11} "
        f"{'pts/s med':>10} {'pts/s best':>10} {ref_name:>8} {'rel err':>7}  note"
    )
    print(head)
    print("  " + "-" * (len(head) + 8))
    last_group = None
    for row in rows:
        if row.group != last_group:
            print(f"  [{row.group}]")
            last_group = row.group
        r = ref(row)
        speed = f"{ratio(row, r):.2f}x" if r is not None else "-"
        first = f"{row.first_s * 1e3:,.0f} ms" if row.first_s >= 1e-3 else "<1 ms"
        note = ("* " if row.points != _group_points(row) else "") + row.note
        print(
            f"  {row.method:<34} {row.dispatch:<5} {first:>9} {fmt_time(row.median):>11} "
            f"{fmt_rate(row.rate):>10} {fmt_rate(row.best_rate):>10} {speed:>8} "
            f"{fmt_err(row.err):>7}  {note}".rstrip()
        )


def _group_points(row: Row) -> int:
    # the nominal size is the "n=..." in the group name
    return int(row.group.rsplit("n=", 1)[1])


def header(settings: Settings, quick: bool) -> None:
    cpu = platform.processor()
    if not cpu:
        try:
            with open("/proc/cpuinfo") as fh:
                cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
        except (OSError, StopIteration):
            cpu = "unknown"
    print("jaxcalc derivative benchmarks" + ("  (--quick smoke run)" if quick else ""))
    print(f"date      {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"machine   {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, {platform.system()}")
    print(f"python    {platform.python_version()} ({sys.executable})")
    import jaxlib

    print(
        f"versions  jax {jax.__version__}, jaxlib {jaxlib.__version__}, numpy {np.__version__},"
        f" scipy {scipy.__version__}, sympy {sp.__version__},"
        f" numdifftools {nd.__version__}, jaxcalc {jaxcalc.__version__}"
    )
    print(f"backend   {jax.default_backend()} ({jax.devices()[0].device_kind}), float32 inputs")
    print(f"XLA_FLAGS {os.environ.get('XLA_FLAGS', '(unset)')}")
    load = os.getloadavg()
    busy = "  <- busy: above the CPU count, expect noise" if load[0] > (os.cpu_count() or 1) else ""
    print(f"load avg  {' '.join(f'{v:.2f}' for v in load)} (1/5/15 min) at start{busy}")
    print(
        f"timing    {settings.rounds} interleaved rounds of ~{settings.sample_s * 1e3:.0f} ms "
        f"samples (slow rows: >= 3 rounds, <= {settings.slow_budget_s:.1f} s); "
        "median and best per-call time"
    )


def run_overhead(settings: Settings, dispatch: str) -> list[Row]:
    progress(f"{dispatch}: overhead")
    rows = overhead_rows(settings.sizes[0], dispatch)
    measure(rows, settings, batch=f"overhead {dispatch}")
    return rows


def switch_dispatch(dispatch: str) -> None:
    """Recreate the CPU client with asynchronous dispatch on or off."""
    gc.collect()
    jax.config.update("jax_cpu_enable_async_dispatch", dispatch == ASYNC)
    clear_backends()  # the flag is read only when the CPU client is created


def run_jax_pass(settings: Settings, dispatch: str, rosen_ref, numpy_rows) -> dict:
    """All JAX rows under one dispatch setting; NumPy rows (if given) join their groups."""
    out: dict[str, list] = {"1d": [], "overhead": [], "rosen": [], "orders": []}
    for s in SCALARS:
        for n in settings.sizes:
            progress(f"{dispatch}: {s.text}, n={n}")
            rows = jax_rows_1d(s, n, dispatch)
            extra = numpy_rows.get(("1d", s.text, n), []) if numpy_rows else []
            measure(rows + extra, settings)
            out["1d"].append(rows + extra)
    out["overhead"] = run_overhead(settings, dispatch)
    progress(f"{dispatch}: Rosenbrock")
    rows = jax_rows_rosen(settings, dispatch, rosen_ref)
    extra = numpy_rows.get(("rosen",), []) if numpy_rows else []
    grad_rows = [r for r in rows + extra if r.group.startswith("gradient")]
    hess_rows = [r for r in rows + extra if r.group.startswith("Hessian")]
    measure(grad_rows, settings)
    measure(hess_rows, settings)
    out["rosen"] = grad_rows + hess_rows
    for group in jax_rows_orders(settings, dispatch):
        progress(f"{dispatch}: {group[0].group}")
        measure(group, settings)
        out["orders"].append(group)
    for rows in (*out["1d"], out["overhead"], out["rosen"], *out["orders"]):
        for row in rows:
            row.call = None  # drop references to device arrays before the backend goes
    gc.collect()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small, few repeats")
    parser.add_argument(
        "--high-orders", action="store_true", help="only table 5: orders 5-40 of every function"
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    started = time.perf_counter()
    if args.high_orders:
        header(settings, args.quick)
        points = 100 if args.quick else 1000
        print_high_orders(high_order_rows(points, 3 if args.quick else 11), points)
        print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
        return

    if not jax.config.values["jax_cpu_enable_async_dispatch"]:
        raise SystemExit("start with the default jax_cpu_enable_async_dispatch=True")
    header(settings, args.quick)

    progress("NumPy-side rows")
    numpy_rows: dict[tuple, list[Row]] = {}
    for s in SCALARS:
        for n in settings.sizes:
            numpy_rows[("1d", s.text, n)] = numpy_rows_1d(s, n, settings)
    rosen_ref = rosen_exact(settings)
    numpy_rows[("rosen",)] = numpy_rows_rosen(settings, rosen_ref)

    passes = {ASYNC: run_jax_pass(settings, ASYNC, rosen_ref, numpy_rows)}
    switch_dispatch(SYNC)
    passes[SYNC] = run_jax_pass(settings, SYNC, rosen_ref, None)
    # The overhead rows again, alternating settings, pooled: an async-vs-sync comparison
    # that drift in the machine's load over the run does not bias.
    for _ in range(settings.overhead_cycles - 1):
        for dispatch in (ASYNC, SYNC):
            switch_dispatch(dispatch)
            again = run_overhead(settings, dispatch)
            for old, new in zip(passes[dispatch]["overhead"], again, strict=True):
                old.times += new.times
                new.call = None
    switch_dispatch(ASYNC)

    # --- Table 1
    rows_1d: list[Row] = []
    for a, b in zip(passes[ASYNC]["1d"], passes[SYNC]["1d"], strict=True):
        jax_a = [r for r in a if r.dispatch != "-"]
        rows_1d += jax_a + b + [r for r in a if r.dispatch == "-"]

    def raw_of(rows: list[Row], prefix: str) -> Callable[[Row], Row | None]:
        def ref(row: Row) -> Row | None:
            want = row.dispatch if row.dispatch != "-" else ASYNC
            for r in rows:
                if r.group == row.group and r.dispatch == want and r.method.startswith(prefix):
                    return r
            return None

        return ref

    print_table(
        "1. First derivative, float32, x in [1, 3]: points/s (higher is better)",
        rows_1d,
        raw_of(rows_1d, "raw"),
        "vs raw",
    )

    # --- Table 2
    over = passes[ASYNC]["overhead"] + passes[SYNC]["overhead"]
    print_table(
        f"2. Per-call overhead of 3x^2 + 1 at n={settings.sizes[0]} (lower time is better)",
        over,
        raw_of(over, "raw"),
        "vs raw",
    )

    raw_a, raw_s = (
        next(r for r in passes[p]["overhead"] if r.method.startswith("raw")) for p in (ASYNC, SYNC)
    )
    lib_a, lib_s = (
        next(r for r in passes[p]["overhead"] if r.method.startswith("jaxcalc"))
        for p in (ASYNC, SYNC)
    )
    print(
        f"   {settings.overhead_cycles} alternating async/sync cycles pooled. Sync dispatch vs"
        f" async, median per call: raw JAX {raw_a.median / raw_s.median:.1f}x faster,"
        f" jaxcalc.derivative {lib_a.median / lib_s.median:.1f}x faster."
    )

    # --- Table 3
    rosen = []
    for kind in ("gradient", "Hessian"):
        for p in (ASYNC, SYNC):
            rosen += [r for r in passes[p]["rosen"] if r.group.startswith(kind) and r.dispatch == p]
        rosen += [
            r for r in passes[ASYNC]["rosen"] if r.group.startswith(kind) and r.dispatch == "-"
        ]
    print_table(
        f"3. Rosenbrock, {settings.rosen_dim}-D, float32, x ~ U(-2, 2): points/s",
        rosen,
        raw_of(rosen, "raw"),
        "vs raw",
    )

    # --- Table 4
    orders = []
    for a, b in zip(passes[ASYNC]["orders"], passes[SYNC]["orders"], strict=True):
        orders += a + b

    def fastest(row: Row) -> Row:
        same = [r for r in orders if r.group == row.group and r.dispatch == row.dispatch]
        return min(same, key=lambda r: r.median)

    print_table(
        "4. Order-k derivative of sin(x) exp(x), float32, x in [-2, 2]: points/s",
        orders,
        fastest,
        "vs best",
    )
    print(
        "\n   1st call = build + trace + compile + first run (each row compiles its own function;"
        "\n   the first rows of a section also pay one-off warm-up).\n"
        "   rel err = max|out - exact| / max|exact| against float64 closed forms (SciPy float64"
        f"\n   for Rosenbrock; Hessian errors on the first {settings.loop_subsample} points)."
        " * = timed on a subsample and scaled.\n"
        "   vs raw: points/s relative to raw JAX in the same group and dispatch setting: the"
        " median of\n   paired per-round ratios when timed in the same rounds, else the ratio of"
        " medians;\n   NumPy-side rows are compared with raw JAX under the default async"
        " dispatch.\n   vs best: the same, against the fastest row (by median) of that order and"
        " setting."
    )

    # --- Targets
    small, large = settings.sizes
    print(
        f"\nTargets for jaxcalc.derivative(f) (callable form): n={large:,} within 10% of raw"
        f" JAX (ratio >= 0.90);\nn={small:,} under 10 us per call. Ratio: median of paired"
        " per-round ratios (best vs best);\ntime: median (best)."
    )
    for s in SCALARS:
        for p in (ASYNC, SYNC):
            rows = [r for grp in passes[p]["1d"] for r in grp if r.dispatch == p]

            def pick(n, prefix, rows=rows, s=s):
                group = f"{s.text} n={n}"
                return next(r for r in rows if r.group == group and r.method.startswith(prefix))

            lib_l, raw_l = pick(large, "jaxcalc.derivative(f)"), pick(large, "raw")
            lib_s, raw_s = pick(small, "jaxcalc.derivative(f)"), pick(small, "raw")
            speed, speed_best = ratio(lib_l, raw_l), raw_l.best / lib_l.best
            verdict = "met" if speed >= 0.9 else "MISSED"
            us, us_best = lib_s.median * 1e6, lib_s.best * 1e6
            verdict_small = "met" if us < 10 else "MISSED"
            print(
                f"  {s.text:<10} {p:<5}  n={large:.0e}: {speed:.2f}x ({speed_best:.2f}x) raw JAX"
                f" {verdict:<6}  n={small:.0e}: {us:.1f} ({us_best:.1f}) us/call {verdict_small}"
                f" [raw JAX {raw_s.median * 1e6:.1f} ({raw_s.best * 1e6:.1f}) us]"
            )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s; load avg at end {load}")


if __name__ == "__main__":
    main()
