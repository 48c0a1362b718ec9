"""Recompute the minima of the Moré-Garbow-Hillstrom problems in 80-digit arithmetic.

For each problem, scipy's ``least_squares`` (Levenberg-Marquardt) and ``minimize(BFGS)``
run from MGH's start and from random starts in the problem's box (float64); every
stationary point they reach with a non-singular Hessian is refined by Newton's method on
the gradient in mpmath (80 digits; Jacobian by central differences with h = 1e-30, Hessian
by central differences of the gradient) and classified by the Hessian's eigenvalues. The
script prints, per problem, the distinct stationary values (to 17 significant digits, the
float64 value), their kind (min / saddle) and a float64 point.

Run: PYTHONPATH=. python benchmarks/mgh_minima.py [--starts K] [numbers...]
The numbers in jaxcalc/objectives/mgh_minima.py come from this script.
"""

from __future__ import annotations

import sys

import jax
import mpmath
import numpy as np
from scipy.optimize import least_squares, minimize

jax.config.update("jax_enable_x64", True)

from jaxcalc.objectives import get  # noqa: E402
from jaxcalc.objectives.mgh import PROBLEMS, residuals_mp  # noqa: E402

mpmath.mp.dps = 80
H_JAC = mpmath.mpf(10) ** -30
H_HESS = mpmath.mpf(10) ** -12


def _residuals(problem, x):
    return residuals_mp(problem, x)


def gradient(problem, x):
    """grad f = 2 J^T r, J by central differences (h = 1e-30 at 80 digits)."""
    r = _residuals(problem, x)
    g = []
    for j in range(len(x)):
        up, down = list(x), list(x)
        up[j] += H_JAC
        down[j] -= H_JAC
        column = (_residuals(problem, up) - _residuals(problem, down)) / (2 * H_JAC)
        g.append(2 * np.sum(column * r))
    return mpmath.matrix(g), np.sum(r * r)


def hessian(problem, x):
    n = len(x)
    h = mpmath.matrix(n, n)
    for j in range(n):
        up, down = list(x), list(x)
        up[j] += H_HESS
        down[j] -= H_HESS
        column = (gradient(problem, up)[0] - gradient(problem, down)[0]) / (2 * H_HESS)
        for i in range(n):
            h[i, j] = column[i]
    return (h + h.T) / 2


def refine(problem, x0, iterations=12):
    """Newton on grad f = 0 from x0; returns (x, f, |g|, eigenvalues) or None."""
    x = [mpmath.mpf(float(v)) for v in x0]
    for _ in range(iterations):
        g, f = gradient(problem, x)
        if mpmath.norm(g) < mpmath.mpf(10) ** -45:
            break
        h = hessian(problem, x)
        try:
            dx = mpmath.lu_solve(h, -g)
        except ZeroDivisionError:
            return None
        x = [xi + di for xi, di in zip(x, dx, strict=True)]
    g, f = gradient(problem, x)
    eig = mpmath.eigsy(hessian(problem, x))[0]
    return x, f, mpmath.norm(g), [eig[i] for i in range(len(x))]


def candidates(problem, obj, count=12, seed=0):
    rng = np.random.default_rng(seed)
    lo, hi = obj.lower, obj.upper
    starts = [np.array(problem.start)] + [
        lo + rng.random(problem.n) * (hi - lo) for _ in range(count)
    ]
    fun = jax.jit(obj.residuals)
    jac = jax.jit(jax.jacfwd(obj.residuals))
    f = jax.jit(obj)
    g = jax.jit(jax.grad(obj))
    out = []
    for x0 in starts:
        try:
            res = least_squares(
                lambda x: np.asarray(fun(x)),
                x0,
                jac=lambda x: np.asarray(jac(x)),
                method="lm",
                xtol=1e-15,
                ftol=1e-15,
                gtol=1e-15,
                max_nfev=20000,
            )
            out.append(res.x)
        except Exception:  # a start where the residuals overflow
            pass
        res = minimize(
            lambda x: float(f(x)),
            x0,
            jac=lambda x: np.asarray(g(x)),
            method="BFGS",
            options={"gtol": 1e-12, "maxiter": 20000},
        )
        out.append(res.x)
    return [x for x in out if np.all(np.isfinite(x)) and np.max(np.abs(x)) < 1e8]


def main(numbers, count=12):
    for problem in PROBLEMS:
        if numbers and problem.number not in numbers:
            continue
        obj = get(problem.name)
        seen = []
        for x in candidates(problem, obj, count):
            fx = float(obj(x))
            if any(abs(fx - s[1]) <= 1e-9 * max(1.0, abs(s[1])) for s in seen):
                continue
            result = refine(problem, x)
            if result is None:
                seen.append((x, fx, "singular"))
                continue
            xr, fr, gn, eig = result
            if gn > 1e-30:
                seen.append((x, fx, f"not refined |g|={mpmath.nstr(gn, 3)}"))
                continue
            scale = max(abs(e) for e in eig)
            low = min(eig)
            kind = (
                "min" if low > 1e-20 * scale else ("saddle" if low < -1e-20 * scale else "singular")
            )
            if any(abs(float(fr) - s[1]) <= 1e-12 * max(1.0, abs(s[1])) for s in seen):
                continue
            seen.append(
                (
                    [float(v) for v in xr],
                    float(fr),
                    kind,
                    mpmath.nstr(fr, 25),
                    mpmath.nstr(low, 5),
                    mpmath.nstr(scale, 5),
                )
            )
        print(f"== ({problem.number}) {problem.name}")
        for s in sorted(seen, key=lambda s: s[1]):
            print("   ", repr(s[1]), *s[2:])
            print("      x =", [repr(float(v)) for v in s[0]])
        sys.stdout.flush()


if __name__ == "__main__":
    # ``--starts K``: K random starts besides MGH's (default 12)
    args = sys.argv[1:]
    count = 12
    if "--starts" in args:
        at = args.index("--starts")
        count = int(args[at + 1])
        del args[at : at + 2]
    main([int(a) for a in args], count)
