"""The function cores: ``core(x, p)``, ``x`` of shape ``(..., D)``, ``p`` an instance's data."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxcalc.objectives import _fastmath as _fm
from jaxcalc.objectives.bbob.generators import TWO_PI
from jaxcalc.objectives.bbob.transforms import (
    f_pen,
    matvec,
    matvec_exact,
    rastrigin_raw,
    rounded,
    safe_sqrt,
    t_asy,
    t_osz,
)


def core_f1(x, p):
    """Sphere: ``||x - x_opt||^2 + f_opt``."""
    z = x - p["xopt"]
    return jnp.sum(z * z, axis=-1) + p["fopt"]


def core_f2(x, p):
    """Separable ellipsoid: ``z = T_osz(x - x_opt)``, ``sum 10^(6 i/(D-1)) z_i^2 + f_opt``."""
    z = t_osz(x - p["xopt"])
    return jnp.sum(p["weights"] * z * z, axis=-1) + p["fopt"]


def core_f3(x, p):
    """Rastrigin: ``z = Lambda^10 T_asy^0.2(T_osz(x - x_opt))``, Rastrigin of ``z`` + ``f_opt``."""
    z = t_osz(x - p["xopt"])
    z = t_asy(z, p["asy"])
    z = p["scales"] * z
    return rastrigin_raw(z) + p["fopt"]


def core_f4(x, p):
    """Bueche-Rastrigin: ``z = s * T_osz(x - x_opt)``, Rastrigin + ``100 f_pen(x)`` + ``f_opt``.

    ``s_i = 10^(i/(2(D-1)))``, times 10 where ``z_i > 0`` and ``i`` is even (0-based).
    """
    z = t_osz(x - p["xopt"])
    s = jnp.where((z > 0) & (p["even"] > 0), 10.0 * p["scales"], p["scales"])
    z = s * z
    return rastrigin_raw(z) + p["fopt"] + 100.0 * f_pen(x)


def core_f5(x, p):
    """Linear slope: ``sum 5 |s_i| - s_i z_i + f_opt`` with ``s_i = sign(x_opt_i) 10^(i/(D-1))``.

    ``x_opt`` is the corner ``5 sign(.)`` of the box; past it (``x_i x_opt_i >= 25``) the
    coordinate is clamped to ``x_opt_i`` (COCO's boundary handling), so the function is flat
    beyond the optimum.
    """
    xopt = p["xopt"]
    z = jnp.where(x * xopt < 25.0, x, xopt)
    s = p["slopes"]
    return jnp.sum(5.0 * jnp.abs(s) - s * z, axis=-1) + p["fopt"]


def core_f6(x, p):
    """Attractive sector: ``z = Q Lambda^10 R (x - x_opt)``.

    ``T_osz(sum_i (100 z_i)^2 [z_i x_opt_i > 0] + z_i^2 [else])^0.9 + f_opt``.
    """
    z = matvec(p["m"], x - p["xopt"])
    raw = jnp.sum(jnp.where(z * p["xopt"] > 0, 1.0e4 * z * z, z * z), axis=-1)
    y = t_osz(raw)
    pos = y > 0
    y = jnp.where(pos, jnp.power(jnp.where(pos, y, 1.0), 0.9), 0.0)
    return y + p["fopt"]


def core_f7(x, p):
    """Step ellipsoid.

    ``z_hat = Lambda^10 R (x - x_opt)``; ``z_tilde = round(z_hat)`` where ``|z_hat| > 0.5``,
    else ``round(10 z_hat) / 10`` (round half up); ``z = Q z_tilde``;
    ``0.1 max(|z_hat_1| / 1e4, sum 100^(i/(D-1)) z_i^2) + f_pen(x) + f_opt``.
    """
    zhat = matvec(p["m"], x - p["xopt"])
    big = jnp.abs(zhat) > 0.5
    zt = jnp.where(big, jnp.floor(zhat + 0.5), jnp.floor(10.0 * zhat + 0.5) / 10.0)
    z = matvec(p["rot1"], zt)
    core = jnp.sum(p["weights"] * z * z, axis=-1)
    return 0.1 * jnp.maximum(jnp.abs(zhat[..., 0]) * 1.0e-4, core) + f_pen(x) + p["fopt"]


def _rosenbrock_raw(z):
    """``100 sum (z_i^2 - z_{i+1})^2 + sum (z_i - 1)^2`` over ``i < D - 1``."""
    a = z[..., :-1]
    t1 = a * a - z[..., 1:]
    t2 = a - 1.0
    return 100.0 * jnp.sum(t1 * t1, axis=-1) + jnp.sum(t2 * t2, axis=-1)


def core_f8(x, p):
    """Rosenbrock: ``z = max(1, sqrt(D)/8) (x - x_opt) + 1``, Rosenbrock of ``z`` + ``f_opt``."""
    z = p["factor"] * (x - p["xopt"]) + 1.0
    return _rosenbrock_raw(z) + p["fopt"]


def core_f9(x, p):
    """Rotated Rosenbrock: ``z = max(1, sqrt(D)/8) R x + 1/2``, Rosenbrock + ``f_opt``."""
    z = matvec_exact(p["m"], x, start=0.5)
    return _rosenbrock_raw(z) + p["fopt"]


def core_f10(x, p):
    """Rotated ellipsoid: ``z = T_osz(R (x - x_opt))``, ``sum 10^(6 i/(D-1)) z_i^2 + f_opt``."""
    z = t_osz(matvec(p["rot1"], x - p["xopt"]))
    return jnp.sum(p["weights"] * z * z, axis=-1) + p["fopt"]


def core_f11(x, p):
    """Discus: ``z = T_osz(R (x - x_opt))``, ``1e6 z_1^2 + sum_{i>1} z_i^2 + f_opt``."""
    z = t_osz(matvec(p["rot1"], x - p["xopt"]))
    return 1.0e6 * z[..., 0] ** 2 + jnp.sum(z[..., 1:] ** 2, axis=-1) + p["fopt"]


def core_f12(x, p):
    """Bent cigar: ``z = R T_asy^0.5(R (x - x_opt))``, ``z_1^2 + 1e6 sum_{i>1} z_i^2 + f_opt``."""
    r = p["rot1"]
    z = matvec(r, x - p["xopt"])
    z = t_asy(z, p["asy"])
    z = matvec(r, z)
    return z[..., 0] ** 2 + 1.0e6 * jnp.sum(z[..., 1:] ** 2, axis=-1) + p["fopt"]


def core_f13(x, p):
    """Sharp ridge: ``z = Q Lambda^10 R (x - x_opt)``, ``z_1^2 + 100 ||z_{2..D}|| + f_opt``."""
    z = matvec(p["m"], x - p["xopt"])
    ridge = safe_sqrt(jnp.sum(z[..., 1:] ** 2, axis=-1))
    return 100.0 * ridge + z[..., 0] ** 2 + p["fopt"]


def core_f14(x, p):
    """Different powers: ``z = R (x - x_opt)``, ``sqrt(sum |z_i|^(2 + 4 i/(D-1))) + f_opt``."""
    z = matvec(p["rot1"], x - p["xopt"])
    return safe_sqrt(jnp.sum(jnp.power(jnp.abs(z), p["exponents"]), axis=-1)) + p["fopt"]


def core_f15(x, p):
    """Rotated Rastrigin: ``z = R Lambda^10 Q T_asy^0.2(T_osz(R (x - x_opt)))``, Rastrigin."""
    z = matvec(p["rot1"], x - p["xopt"])
    z = t_asy(t_osz(z), p["asy"])
    z = matvec(p["m"], z)
    return rastrigin_raw(z) + p["fopt"]


def core_f16(x, p):
    """Weierstrass: ``z = R Lambda^(1/100) Q T_osz(R (x - x_opt))``.

    ``10 (sum_i sum_k 2^-k cos(2 pi 3^k (z_i + 1/2)) / D - f_0)^3 + 10/D f_pen(x) + f_opt``
    with ``k = 0..11``.
    """
    d = x.shape[-1]
    z = t_osz(matvec(p["rot1"], x - p["xopt"]))
    z = matvec(p["m"], z)
    # cos(2 pi 3^k (z + 1/2)), k = 0..11: direct cosines for k = 0, 4, 8 (COCO's arguments) and
    # the triple-angle formula cos(3 t) = (4 cos^2 t - 3) cos t for the three k after each.
    # A third of the transcendental calls; the recurrence's error (at most ~5e-12 in the sum,
    # with three steps of growth <= 9 each) is below the sum's sensitivity to one ulp of z.
    theta = TWO_PI * (z + 0.5)
    total = jnp.zeros_like(z)
    for start in (0, 4, 8):
        c = _fm.cos(theta * p["bk"][start])
        total = total + p["ak"][start] * c
        for k in range(start + 1, start + 4):
            c = (4.0 * c * c - 3.0) * c
            total = total + p["ak"][k] * c
    s = jnp.sum(total, axis=-1)
    return 10.0 * (s / d - p["f0"]) ** 3 + p["fopt"] + (10.0 / d) * f_pen(x)


def core_f17(x, p):
    """Schaffers F7 (f17: conditioning 10, f18: 1000): ``z = Lambda Q T_asy^0.5(R (x - x_opt))``.

    ``s_i = sqrt(z_i^2 + z_{i+1}^2)``; ``(mean_i sqrt(s_i) + sqrt(s_i) sin^2(50 s_i^0.2))^2``
    ``+ 10 f_pen(x) + f_opt``.
    """
    z = matvec(p["rot1"], x - p["xopt"])
    z = t_asy(z, p["asy"])
    z = matvec(p["m"], z)
    t = z[..., :-1] ** 2 + z[..., 1:] ** 2
    pos = t > 0
    tp = jnp.where(pos, t, 1.0)
    log_t = _fm.log(tp)
    quarter = jnp.where(pos, _fm.exp(0.25 * log_t), 0.0)
    tenth = jnp.where(pos, _fm.exp(0.1 * log_t), 0.0)
    s = jnp.sum(quarter * (1.0 + _fm.sin(50.0 * tenth) ** 2), axis=-1)
    d = x.shape[-1]
    return (s / (d - 1.0)) ** 2 + p["fopt"] + 10.0 * f_pen(x)


def core_f19(x, p):
    """Griewank-Rosenbrock F8F2: ``z = max(1, sqrt(D)/8) R x + 1/2``.

    With ``s_i = 100 (z_i^2 - z_{i+1})^2 + (z_i - 1)^2``:
    ``10 + 10/(D-1) sum_i (s_i / 4000 - cos(s_i)) + f_opt``.
    """
    z = matvec_exact(p["m"], x) + 0.5
    a = z[..., :-1]
    c1 = rounded(a * a) - z[..., 1:]
    c2 = 1.0 - a
    s = rounded(100.0 * c1 * c1) + rounded(c2 * c2)
    d = x.shape[-1]
    return 10.0 + 10.0 * jnp.sum(s / 4000.0 - _fm.cos(s), axis=-1) / (d - 1.0) + p["fopt"]


def core_f20(x, p):
    """Schwefel x sin(sqrt|x|).

    ``x_hat = 2 (1+-) x``; ``z_hat_1 = x_hat_1``,
    ``z_hat_i = x_hat_i + 0.25 (x_hat_{i-1} - 2 |x_opt_{i-1}|)``;
    ``z = 100 (Lambda^10 (z_hat - 2 |x_opt|) + 2 |x_opt|)``;
    ``0.01 (418.9828872724339 - mean_i z_i sin(sqrt|z_i|) + 100^2 f_pen(z / 100)) + f_opt``.
    """
    xh = 2.0 * p["signs"] * x
    two_abs = p["two_abs_xopt"]
    prev = xh[..., :-1] + (-two_abs[:-1])
    zh = jnp.concatenate([xh[..., :1], xh[..., 1:] + 0.25 * prev], axis=-1)
    z = 100.0 * (p["scales"] * (zh - two_abs) + two_abs)
    az = jnp.abs(z)
    pen = jnp.sum(jnp.square(jnp.maximum(az - 500.0, 0.0)), axis=-1)
    d = x.shape[-1]
    total = jnp.sum(z * _fm.sin(safe_sqrt(az)), axis=-1)
    return 0.01 * (pen + 418.9828872724339 - total / d) + p["fopt"]


def core_gallagher(x, p):
    """Gallagher's Gaussian peaks (f21: 101 peaks, f22: 21 peaks).

    ``T_osz(10 - max_i w_i exp(-1/(2D) (R x - y_i)^T C_i (R x - y_i)))^2 + f_pen(x) + f_opt``
    with ``y_i`` the (rotated) peak locations, ``C_i`` their diagonal conditionings and ``w_i``
    the peak heights (10 for the global peak).
    """
    d = x.shape[-1]
    t = matvec(p["rot1"], x)
    # q_i = sum_j C_ij (t_j - y_ij)^2 = (t*t) . C_i - 2 t . (C_i y_i) + y_i . C_i y_i, as two
    # matrix products (much faster than the (..., P, D) broadcast; last-bit differences only).
    hi = jax.lax.Precision.HIGHEST
    q = (
        jnp.matmul(t * t, p["peak_scales"].T, precision=hi)
        - 2.0 * jnp.matmul(t, p["scaled_peaks"].T, precision=hi)
        + p["peak_norms"]
    )
    v = p["heights"] * jnp.exp((-0.5 / d) * q)
    f = 10.0 - jnp.maximum(jnp.max(v, axis=-1), 0.0)
    y = t_osz(f)
    return y * y + f_pen(x) + p["fopt"]


def core_f23(x, p):
    """Katsuura: ``z = Q Lambda^100 R (x - x_opt)``.

    ``10/D^2 (prod_i (1 + i sum_{j=1}^{32} |2^j z_i - round(2^j z_i)| / 2^j)^(10/D^1.2) - 1)``
    ``+ f_pen(x) + f_opt``.
    """
    z = matvec_exact(p["m"], x - p["xopt"])
    u = z[..., None] * p["pow2"]  # 2^j z for j = 1..32 (exact scalings)
    frac = jnp.sum(jnp.abs(u - jnp.floor(u + 0.5)) * p["inv_pow2"], axis=-1)  # (..., D)
    prod = jnp.prod(1.0 + p["index1"] * frac, axis=-1)
    return p["kat_coef"] * (-1.0 + jnp.power(prod, p["kat_exp"])) + p["fopt"] + f_pen(x)


def core_f24(x, p):
    """Lunacek bi-Rastrigin.

    ``x_hat = 2 sign(x_opt) x``; ``z = Q Lambda^100 R (x_hat - mu0)``;
    ``min(sum (x_hat - mu0)^2, D + s sum (x_hat - mu1)^2) + 10 (D - sum cos(2 pi z_i))``
    ``+ 1e4 f_pen(x) + f_opt`` with ``mu0 = 2.5``, ``s = 1 - 1/(2 sqrt(D + 20) - 8.2)``,
    ``mu1 = -sqrt((mu0^2 - 1) / s)``.
    """
    d = x.shape[-1]
    xh = 2.0 * p["signs"] * x
    a = xh - 2.5
    z = matvec(p["rot1"], matvec(p["m"], a))
    b = xh - p["mu1"]
    sum1 = jnp.sum(a * a, axis=-1)
    sum2 = jnp.sum(b * b, axis=-1)
    sum3 = jnp.sum(_fm.cos(TWO_PI * z), axis=-1)
    return (
        jnp.minimum(sum1, 1.0 * d + p["s"] * sum2)
        + 10.0 * (d - sum3)
        + 1.0e4 * f_pen(x)
        + p["fopt"]
    )
