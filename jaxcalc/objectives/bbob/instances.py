"""Instance builders: ``(dimension, instance) -> (params, x_opt, f_opt)``, on the host, as COCO."""

from __future__ import annotations

import math

import numpy as np

from jaxcalc.objectives.bbob.generators import (
    TWO_PI,
    conditioned_rotation,
    legacy_fopt,
    legacy_gauss,
    legacy_rotation,
    legacy_uniform,
    legacy_xopt,
    powers,
    ramp,
    sequential_matmul,
)

Params = dict[str, np.ndarray]


def _rseed(function_id: int, instance: int) -> int:
    return function_id + 10000 * instance


def _scalar(v: float) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _build_standard(fid: int, d: int, inst: int) -> tuple[Params, np.ndarray, float]:
    """x_opt from the generic generator, f_opt, and the data shared by most functions."""
    rseed = _rseed(fid, inst)
    xopt = legacy_xopt(rseed, d)
    fopt = legacy_fopt(fid, inst)
    return {"xopt": xopt, "fopt": _scalar(fopt)}, xopt, fopt


def _rot_pair_matrix(rseed: int, d: int, cond_base: float) -> tuple[np.ndarray, np.ndarray]:
    """``R1`` (seed ``rseed + 1e6``) and ``R1 diag(cond_base^(k/(D-1))) R2`` (``R2``: ``rseed``)."""
    rot1 = legacy_rotation(rseed + 1000000, d)
    rot2 = legacy_rotation(rseed, d)
    return rot1, conditioned_rotation(rot1, powers(cond_base, d), rot2)


def build_f1(d, inst):
    return _build_standard(1, d, inst)


def build_f2(d, inst):
    p, xopt, fopt = _build_standard(2, d, inst)
    p["weights"] = powers(1.0e6, d)
    return p, xopt, fopt


def build_f3(d, inst):
    p, xopt, fopt = _build_standard(3, d, inst)
    p["asy"] = np.array([0.2 * i / (d - 1.0) for i in range(d)])
    p["scales"] = np.array([math.pow(10.0, 0.5 * i / (d - 1.0)) for i in range(d)])
    return p, xopt, fopt


def build_f4(d, inst):
    # f4 shares f3's seed: rseed = 3 + 10000 * instance; f_opt also uses seed base 3.
    rseed = _rseed(3, inst)
    xopt = legacy_xopt(rseed, d)
    xopt[0::2] = np.abs(xopt[0::2])
    fopt = legacy_fopt(4, inst)
    p = {
        "xopt": xopt,
        "fopt": _scalar(fopt),
        "scales": powers(math.sqrt(10.0), d),
        "even": np.array([1.0 if i % 2 == 0 else 0.0 for i in range(d)]),
    }
    return p, xopt, fopt


def build_f5(d, inst):
    raw = legacy_xopt(_rseed(5, inst), d)
    fopt = legacy_fopt(5, inst)
    xopt = np.where(raw < 0.0, -5.0, 5.0)
    slopes = np.where(xopt > 0.0, 1.0, -1.0) * powers(math.sqrt(100.0), d)
    return {"xopt": xopt, "fopt": _scalar(fopt), "slopes": slopes}, xopt, fopt


def _build_with_conditioned_rotation(fid, d, inst):
    """The standard instance plus ``m = R1 diag(sqrt(10)^(k/(D-1))) R2`` (f6 and f13)."""
    p, xopt, fopt = _build_standard(fid, d, inst)
    _, p["m"] = _rot_pair_matrix(_rseed(fid, inst), d, math.sqrt(10.0))
    return p, xopt, fopt


def build_f6(d, inst):
    return _build_with_conditioned_rotation(6, d, inst)


def build_f7(d, inst):
    p, xopt, fopt = _build_standard(7, d, inst)
    rseed = _rseed(7, inst)
    rot1 = legacy_rotation(rseed + 1000000, d)
    rot2 = legacy_rotation(rseed, d)
    c1 = np.array([math.sqrt(math.pow(100.0 / 10.0, e)) for e in ramp(d)])
    p["m"] = c1[:, None] * rot2
    p["rot1"] = rot1
    p["weights"] = powers(100.0, d)
    return p, xopt, fopt


def build_f8(d, inst):
    raw = legacy_xopt(_rseed(8, inst), d)
    xopt = 0.75 * raw
    fopt = legacy_fopt(8, inst)
    factor = max(1.0, math.sqrt(d) / 8.0)
    return {"xopt": xopt, "fopt": _scalar(fopt), "factor": _scalar(factor)}, xopt, fopt


def _rotated_rosenbrock_like(fid: int, d: int, inst: int):
    """Shared by f9 and f19: ``z = c R x + 1/2``, ``c = max(1, sqrt(D)/8)``, ``R`` from ``rseed``.

    ``x_opt`` is COCO's: ``R^T 1 / (2 c)`` for f9, ``R^T 1 / 2`` for f19 (the two agree for
    every suite dimension, where ``c = 1``).
    """
    fopt = legacy_fopt(fid, inst)
    rot = legacy_rotation(_rseed(fid, inst), d)
    factor = max(1.0, math.sqrt(d) / 8.0)
    xopt = rot.sum(axis=0) / (2.0 * factor) if fid == 9 else rot.sum(axis=0) / 2.0
    return {"m": factor * rot, "fopt": _scalar(fopt)}, xopt, fopt


def build_f9(d, inst):
    return _rotated_rosenbrock_like(9, d, inst)


def build_f10(d, inst):
    p, xopt, fopt = _build_standard(10, d, inst)
    p["rot1"] = legacy_rotation(_rseed(10, inst) + 1000000, d)
    p["weights"] = powers(1.0e6, d)
    return p, xopt, fopt


def build_f11(d, inst):
    p, xopt, fopt = _build_standard(11, d, inst)
    p["rot1"] = legacy_rotation(_rseed(11, inst) + 1000000, d)
    return p, xopt, fopt


def build_f12(d, inst):
    rseed = _rseed(12, inst)
    xopt = legacy_xopt(rseed + 1000000, d)  # f12 draws x_opt from the rotation's seed
    fopt = legacy_fopt(12, inst)
    p = {
        "xopt": xopt,
        "fopt": _scalar(fopt),
        "rot1": legacy_rotation(rseed + 1000000, d),
        "asy": np.array([0.5 * i / (d - 1.0) for i in range(d)]),
    }
    return p, xopt, fopt


def build_f13(d, inst):
    return _build_with_conditioned_rotation(13, d, inst)


def build_f14(d, inst):
    p, xopt, fopt = _build_standard(14, d, inst)
    p["rot1"] = legacy_rotation(_rseed(14, inst) + 1000000, d)
    p["exponents"] = np.array([2.0 + (4.0 * i) / (d - 1.0) for i in range(d)])
    return p, xopt, fopt


def build_f15(d, inst):
    p, xopt, fopt = _build_standard(15, d, inst)
    p["rot1"], p["m"] = _rot_pair_matrix(_rseed(15, inst), d, math.sqrt(10.0))
    p["asy"] = np.array([0.2 * i / (d - 1.0) for i in range(d)])
    return p, xopt, fopt


def build_f16(d, inst):
    p, xopt, fopt = _build_standard(16, d, inst)
    p["rot1"], p["m"] = _rot_pair_matrix(_rseed(16, inst), d, 1.0 / math.sqrt(100.0))
    ak = np.array([math.pow(0.5, k) for k in range(12)])
    bk = np.array([math.pow(3.0, k) for k in range(12)])
    f0 = 0.0
    for k in range(12):
        f0 += ak[k] * math.cos(TWO_PI * bk[k] * 0.5)
    p.update(ak=ak, bk=bk, f0=_scalar(f0))
    return p, xopt, fopt


def _build_schaffers(fid: int, seed_fid: int, conditioning: float, d: int, inst: int):
    rseed = _rseed(seed_fid, inst)
    xopt = legacy_xopt(rseed, d)
    fopt = legacy_fopt(fid, inst)
    rot1 = legacy_rotation(rseed + 1000000, d)
    rot2 = legacy_rotation(rseed, d)
    m = powers(math.sqrt(conditioning), d)[:, None] * rot2
    p = {
        "xopt": xopt,
        "fopt": _scalar(fopt),
        "rot1": rot1,
        "m": m,
        "asy": np.array([0.5 * i / (d - 1.0) for i in range(d)]),
    }
    return p, xopt, fopt


def build_f17(d, inst):
    return _build_schaffers(17, 17, 10.0, d, inst)


def build_f18(d, inst):
    # f18 is f17's instance (same seed) with conditioning 1000.
    return _build_schaffers(18, 17, 1000.0, d, inst)


def build_f19(d, inst):
    return _rotated_rosenbrock_like(19, d, inst)


def build_f20(d, inst):
    rseed = _rseed(20, inst)
    fopt = legacy_fopt(20, inst)
    u = legacy_uniform(d, rseed)
    signs = np.where(u - 0.5 < 0.0, -1.0, 1.0)
    # The construction uses |x_opt| = 4.2096874637 / 2; COCO reports the optimum with the
    # digits 4.2096874633 / 2 (transform_vars_x_hat); we report COCO's value.
    internal_xopt = signs * (0.5 * 4.2096874637)
    xopt = signs * (0.5 * 4.2096874633)
    p = {
        "fopt": _scalar(fopt),
        "signs": signs,
        "two_abs_xopt": 2.0 * np.abs(internal_xopt),
        "scales": powers(math.sqrt(10.0), d),
    }
    return p, xopt, fopt


def _build_gallagher(fid: int, n_peaks: int, d: int, inst: int):
    rseed = _rseed(fid, inst)
    fopt = legacy_fopt(fid, inst)
    maxcondition = 1000.0
    if n_peaks == 101:
        first_condition, b, c = math.sqrt(maxcondition), 10.0, 5.0
    else:
        first_condition, b, c = maxcondition, 9.8, 4.9
    rot = legacy_rotation(rseed, d)
    # Condition numbers of peaks 1.., a random permutation of 1000^(k / (P - 2)).
    order = np.argsort(legacy_uniform(n_peaks - 1, rseed), kind="stable")
    conditions = np.empty(n_peaks)
    conditions[0] = first_condition
    heights = np.empty(n_peaks)
    heights[0] = 10.0
    for i in range(1, n_peaks):
        conditions[i] = math.pow(maxcondition, float(order[i - 1]) / float(n_peaks - 2))
        heights[i] = float(i - 1) / float(n_peaks - 2) * (9.1 - 1.1) + 1.1
    # Per-peak diagonal conditioning, with a random permutation of the axes.
    peak_scales = np.empty((n_peaks, d))
    for i in range(n_peaks):
        perm = np.argsort(legacy_uniform(d, rseed + 1000 * i), kind="stable")
        for j in range(d):
            peak_scales[i, j] = math.pow(conditions[i], float(perm[j]) / float(d - 1) - 0.5)
    # Peak locations: uniform in [-c, b - c]^D (the global one shrunk by 0.8), then rotated.
    u = legacy_uniform(d * n_peaks, rseed).reshape(n_peaks, d)
    locations = b * u - c
    peaks = sequential_matmul(locations, rot.T)  # (P, D): peak i at R y_i
    peaks[0] *= 0.8
    xopt = 0.8 * (b * u[0] - c)
    p = {
        "fopt": _scalar(fopt),
        "rot1": rot,
        "peak_scales": peak_scales,
        "scaled_peaks": peak_scales * peaks,
        "peak_norms": np.sum(peak_scales * peaks * peaks, axis=1),
        "heights": heights,
    }
    return p, xopt, fopt


def build_f21(d, inst):
    return _build_gallagher(21, 101, d, inst)


def build_f22(d, inst):
    return _build_gallagher(22, 21, d, inst)


def build_f23(d, inst):
    p, xopt, fopt = _build_standard(23, d, inst)
    _, p["m"] = _rot_pair_matrix(_rseed(23, inst), d, math.sqrt(100.0))
    p["pow2"] = np.array([math.pow(2.0, j) for j in range(1, 33)])
    p["inv_pow2"] = 1.0 / p["pow2"]
    p["index1"] = np.arange(1, d + 1, dtype=np.float64)
    p["kat_coef"] = _scalar(10.0 / d / d)
    p["kat_exp"] = _scalar(10.0 / math.pow(d, 1.2))
    return p, xopt, fopt


def build_f24(d, inst):
    rseed = _rseed(24, inst)
    fopt = legacy_fopt(24, inst)
    rot1 = legacy_rotation(rseed + 1000000, d)
    rot2 = legacy_rotation(rseed, d)
    m = powers(math.sqrt(100.0), d)[:, None] * rot2
    g = legacy_gauss(d, rseed)
    xopt = np.where(g < 0.0, -1.25, 1.25)
    s = 1.0 - 0.5 / (math.sqrt(d + 20.0) - 4.1)
    mu1 = -math.sqrt((2.5 * 2.5 - 1.0) / s)
    p = {
        "fopt": _scalar(fopt),
        "signs": np.where(xopt < 0.0, -1.0, 1.0),
        "rot1": rot1,
        "m": m,
        "s": _scalar(s),
        "mu1": _scalar(mu1),
    }
    return p, xopt, fopt
