"""Linear least squares ``min_x ||A x - b||_2`` three ways, and what conditioning costs each.

:func:`solve_linear_least_squares` solves by the normal equations (Cholesky of ``A^T A``),
by a QR factorisation of ``A``, or by the SVD (``lstsq``), and reports the residual norm and
the condition number of ``A``. :func:`vandermonde_conditioning` measures the classic
trade-off on polynomial fits of growing degree: the normal equations square the condition
number, so their error grows like ``cond(A)^2 * eps`` where QR's grows like
``cond(A) * eps`` (for a small residual).

References:
  G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., Johns Hopkins, 2013,
  sections 5.3 (the full-rank least squares problem: normal equations, QR, sensitivity)
  and 5.5 (SVD); N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
  SIAM, 2002, chapter 20; L. N. Trefethen and D. Bau, *Numerical Linear Algebra*, SIAM,
  1997, lectures 11 and 19.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from jaxcalc.errors import ConfigError

__all__ = [
    "LINEAR_METHODS",
    "LinearLeastSquaresResult",
    "solve_linear_least_squares",
    "vandermonde_conditioning",
]

LINEAR_METHODS = ("normal", "qr", "lstsq")


class LinearLeastSquaresResult(NamedTuple):
    """A least-squares solution with its diagnostics.

    Attributes:
      solution: ``x`` minimising ``||A x - b||_2``, shape ``(N,)`` (or ``(N, K)`` for
        ``K`` right-hand sides).
      residual_norm: ``||A x - b||_2`` (per right-hand side).
      condition_number: ``cond_2(A) = sigma_max / sigma_min`` (inf when ``A`` is rank
        deficient); the normal equations work with ``cond_2(A^T A) = cond_2(A)^2``.
    """

    solution: jax.Array
    residual_norm: jax.Array
    condition_number: jax.Array


def solve_linear_least_squares(A: Any, b: Any, method: str = "qr") -> LinearLeastSquaresResult:  # noqa: N803 (the matrix is A in every reference)
    """Solve ``min_x ||A x - b||_2`` for a tall ``A`` (``M >= N``).

    Methods:

    ``"normal"``
        the normal equations ``A^T A x = A^T b`` by Cholesky. Cheapest, but the computed
        ``x`` has relative error ~ ``cond(A)^2 eps``; when ``cond(A)^2 eps`` nears 1 the
        Cholesky factor breaks down and the solution is NaN.
    ``"qr"``
        ``A = Q R`` (Householder, reduced), ``R x = Q^T b``. Backward stable: error
        ~ ``cond(A) eps`` plus ``cond(A)^2 eps ||r|| / (||A|| ||x||)`` (small when the
        residual ``r`` is). Needs full column rank.
    ``"lstsq"``
        the SVD (``jnp.linalg.lstsq``): the minimum-norm solution, also for rank-deficient
        ``A`` (singular values below ``eps * max(M, N) * sigma_max`` are dropped).

    Args:
      A: the ``(M, N)`` matrix.
      b: the right-hand side, ``(M,)`` or ``(M, K)``.
      method: ``"normal"``, ``"qr"`` or ``"lstsq"``.

    Returns:
      A :class:`LinearLeastSquaresResult`. Jittable (``method`` static); computes in the
      dtype of the inputs (enable float64 for ill-conditioned problems).

    Raises:
      ConfigError: an unknown method, or shapes that do not match.

    Example:
      >>> import jax.numpy as jnp
      >>> A = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
      >>> res = solve_linear_least_squares(A, jnp.array([1.0, 3.0, 5.0]), method="qr")
      >>> [round(float(v), 6) for v in res.solution]
      [1.0, 2.0]
    """
    if method not in LINEAR_METHODS:
        close = difflib.get_close_matches(str(method), LINEAR_METHODS, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"unknown least-squares method {method!r}{hint} (methods: {', '.join(LINEAR_METHODS)})"
        )
    A = jnp.asarray(A)  # noqa: N806
    b = jnp.asarray(b)
    dtype = jnp.result_type(A.dtype, b.dtype, float)
    A, b = A.astype(dtype), b.astype(dtype)  # noqa: N806
    if A.ndim != 2:
        raise ConfigError(f"A must be a matrix (M, N); got shape {A.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ConfigError(f"b must have shape ({A.shape[0]},) or ({A.shape[0]}, K); got {b.shape}")
    m, n = A.shape
    if method != "lstsq" and m < n:
        raise ConfigError(
            f"method {method!r} needs at least as many rows as columns; A is {m} x {n} "
            "(use method='lstsq' for the minimum-norm solution)"
        )
    return _solve(A, b, method)


@functools.partial(jax.jit, static_argnames="method")
def _solve(A: jax.Array, b: jax.Array, method: str) -> LinearLeastSquaresResult:  # noqa: N803
    m, n = A.shape
    dtype = A.dtype
    if method == "normal":
        factor = jsl.cho_factor(A.T @ A, lower=True)
        x = jsl.cho_solve(factor, A.T @ b)
    elif method == "qr":
        q, r = jnp.linalg.qr(A, mode="reduced")
        x = jsl.solve_triangular(r, q.T @ b, lower=False)
    else:
        x = jnp.linalg.lstsq(A, b)[0]
    residual = A @ x - b
    singular = jnp.linalg.svd(A, compute_uv=False)
    smallest = singular[-1] if m >= n else jnp.zeros((), dtype)
    condition = jnp.where(smallest > 0, singular[0] / jnp.where(smallest > 0, smallest, 1), jnp.inf)
    return LinearLeastSquaresResult(x, jnp.linalg.norm(residual, axis=0), condition)


# -------------------------------------------------------------------------------------------
# The conditioning trade-off


def _reference_solution(A: np.ndarray, b: np.ndarray, digits: int) -> np.ndarray:  # noqa: N803
    """The exact least-squares solution of the float64 data, by Householder QR in mpmath
    at ``digits`` decimal digits, rounded to float64."""
    import mpmath

    with mpmath.workdps(digits):
        matrix = mpmath.matrix([[mpmath.mpf(float(v)) for v in row] for row in A])
        rhs = mpmath.matrix([mpmath.mpf(float(v)) for v in b])
        x, _ = mpmath.qr_solve(matrix, rhs)
        return np.array([float(v) for v in x])


def vandermonde_conditioning(
    degrees: Any = range(1, 15), points: int = 50, digits: int = 60
) -> list[dict[str, float]]:
    """Relative error of each method on polynomial fits of growing degree (float64).

    For each degree ``d`` it fits ``y = exp(t)`` at ``points`` equispaced ``t`` in
    ``[0, 1]`` with the monomials ``1, t, ..., t^d`` (the Vandermonde matrix, whose
    condition number grows about tenfold per degree) by every method, and compares each
    solution with the exact least-squares solution of the same float64 data, computed by
    mpmath at ``digits`` digits.

    Args:
      degrees: the polynomial degrees (each >= 1 and < points).
      points: number of sample points.
      digits: working precision of the mpmath reference.

    Returns:
      One row per degree: ``degree``, ``condition_number`` (``cond_2(A)``), and per method
      ``<method>_error`` = ``||x - x_ref|| / ||x_ref||`` (NaN where Cholesky broke down),
      plus ``eps_cond`` = ``eps cond(A)`` and ``eps_cond_squared`` = ``eps cond(A)^2``,
      the first-order error scales of a backward-stable method and of the normal equations.

    Raises:
      ConfigError: float64 is not enabled (the study is about float64 rounding).

    Example:
      >>> rows = vandermonde_conditioning([4, 8])      # doctest: +SKIP
      >>> rows[1]["normal_error"] > 100 * rows[1]["qr_error"]  # doctest: +SKIP
      True
    """
    if not jax.config.jax_enable_x64:
        raise ConfigError("vandermonde_conditioning needs float64: enable jax_enable_x64")
    degrees = [int(d) for d in degrees]
    if not degrees or min(degrees) < 1 or max(degrees) >= points:
        raise ConfigError(f"degrees must be from 1 to points - 1 = {points - 1}; got {degrees}")
    eps = float(np.finfo(np.float64).eps)
    t = np.linspace(0.0, 1.0, points)
    y = np.exp(t)
    rows = []
    every_method = jax.jit(lambda a, b: [_solve(a, b, m) for m in LINEAR_METHODS])
    for degree in degrees:
        A = np.vander(t, degree + 1, increasing=True)  # noqa: N806
        reference = _reference_solution(A, y, digits)
        row: dict[str, float] = {"degree": float(degree)}
        results = every_method(jnp.asarray(A), jnp.asarray(y))  # one compile per degree
        for method, res in zip(LINEAR_METHODS, results, strict=True):
            x = np.asarray(res.solution)
            error = np.linalg.norm(x - reference) / np.linalg.norm(reference)
            row[f"{method}_error"] = float(error)
            row["condition_number"] = float(res.condition_number)
        row["eps_cond"] = eps * row["condition_number"]
        row["eps_cond_squared"] = eps * row["condition_number"] ** 2
        rows.append(row)
    return rows
