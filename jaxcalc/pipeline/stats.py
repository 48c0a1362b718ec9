"""Uncertainty and tests: seeded bootstrap intervals, Mann-Whitney U, Holm's correction.

Plain NumPy (no SciPy at run time); ``docs/statistics.md`` states the choices.

* :func:`bootstrap_intervals`: two-sided bootstrap confidence intervals of statistics of
  one row's runs (:class:`Statistic`: :func:`median_of_finite`, :func:`mean_of`,
  :func:`ratio_of_sums`), *percentile* (Efron & Tibshirani 1993, ch. 13) or *BCa*
  (bias-corrected and accelerated, ch. 14), resampling runs (so paired per-run arrays stay
  paired). It draws its resamples as :func:`scipy.stats.bootstrap` does from the same
  generator, so the two agree to rounding.
* :func:`row_seed`: the seed of one summary row's bootstrap, from the config seed and the
  row's key (objective, optimizer, setting), never from its position in a table.
* :func:`mann_whitney_u`: the two-sided rank-sum test (exact for small samples without ties,
  otherwise the normal approximation with tie and continuity corrections), as
  :func:`scipy.stats.mannwhitneyu` with ``method="auto"``.
* :func:`censored_keys`: hitting times with unsolved runs ranked after every solved one.
* :func:`holm`: Holm's step-down adjustment of a family of p-values.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxcalc.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_SAMPLES",
    "Interval",
    "Statistic",
    "bootstrap_intervals",
    "censored_keys",
    "check_confidence",
    "check_samples",
    "holm",
    "mann_whitney_u",
    "mean_of",
    "median_of_finite",
    "minimum_samples",
    "ratio_of_sums",
    "row_seed",
]

DEFAULT_CONFIDENCE = 0.95
DEFAULT_SAMPLES = 2000
#: resamples each tail of a percentile interval needs, at least
TAIL_RESAMPLES = 5
#: index draws per batch of resamples (bounds the memory of a row with many runs)
_BATCH_CELLS = 1 << 21
#: index draws the statistics take at a time (their temporaries stay in the CPU's cache)
_BLOCK_CELLS = 1 << 17


def minimum_samples(confidence: float) -> int:
    """The fewest resamples that leave :data:`TAIL_RESAMPLES` beyond each end of the
    interval at ``confidence`` (200 at 0.95)."""
    return math.ceil(TAIL_RESAMPLES / ((1 - confidence) / 2) - 1e-9)


def check_confidence(confidence: Any, where: str = "confidence") -> float:
    """``confidence`` as a float strictly between 0 and 1; ConfigError naming ``where``."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ConfigError(f"{where} must be a number between 0 and 1, got {confidence!r}")
    if not 0 < confidence < 1:
        hint = f"; did you mean {confidence / 100:g}?" if 1 < confidence < 100 else ""
        raise ConfigError(
            f"{where} must be between 0 and 1 (exclusive), e.g. 0.95; got {confidence:g}{hint}"
        )
    return float(confidence)


def check_samples(samples: Any, confidence: float, where: str = "bootstrap_samples") -> int:
    """``samples`` as an int large enough for ``confidence`` (:func:`minimum_samples`)."""
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise ConfigError(f"{where} must be an integer, got {samples!r}")
    low = minimum_samples(confidence)
    if samples < low:
        raise ConfigError(
            f"{where} = {samples} is too small for confidence {confidence:g}: each tail "
            f"needs {TAIL_RESAMPLES} resamples, so at least {low}"
        )
    return samples


def row_seed(seed: int, key: Mapping[str, Any]) -> int:
    """A 128-bit seed from the config ``seed`` and a row's ``key`` (its objective,
    optimizer and setting): the SHA-256 of their canonical JSON (numbers as floats, keys
    sorted, None values left out). The same row gets the same seed in any table, alone or
    merged from shards, whatever its position."""
    text = json.dumps({"seed": int(seed), **_canonical(key)}, sort_keys=True, default=repr)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:16], "little")


def _canonical(value: Any) -> Any:
    """A key as the tables read it back: numbers as floats, None entries left out (a
    hyperparameter without a value is an empty cell in ``runs.csv``)."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return value


@dataclass(frozen=True)
class Interval:
    """A confidence interval: ``low``, ``high`` and the method that gave them
    ("percentile", "bca", "percentile (BCa undefined)" or "none")."""

    low: float
    high: float
    method: str


def _quantiles(values: np.ndarray, probabilities: Sequence[float]) -> list[float]:
    """Linear-interpolation quantiles (NumPy's default) that keep infinities: between two
    equal order statistics (two infinities too) the quantile is that value."""
    s = np.sort(values)
    out = []
    for p in probabilities:
        h = (s.size - 1) * float(p)
        lo, hi = math.floor(h), math.ceil(h)
        a, b = float(s[lo]), float(s[hi])
        if a == b or h == lo:
            out.append(a)
        elif math.isinf(b) and b > 0:
            out.append(math.inf)
        else:
            out.append(a + (h - lo) * (b - a))
    return out


def _ndtr(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _ndtri(p: float) -> float:
    """The standard normal quantile (bisection on :func:`_ndtr`, to double precision)."""
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _ndtr(mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Statistic:
    """A statistic of a row's runs, as the bootstrap evaluates it.

    Attributes:
      resample: maps run *indices* ``(k, n)`` (the runs drawn in each of ``k``
        resamples; ``arange(n)`` is the sample itself) to the ``k`` values of the
        statistic.
      jackknife: the ``n`` leave-one-out values (BCa's acceleration), or None.
      method: "percentile" or "bca".
    """

    resample: Callable[[np.ndarray], np.ndarray]
    jackknife: Callable[[], np.ndarray] | None = None
    method: str = "percentile"


def bootstrap_intervals(
    statistics: Mapping[str, Statistic],
    n: int,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """Two-sided bootstrap confidence intervals of statistics of the same ``n`` runs, from
    one set of resamples.

    The resamples are drawn as ``rng.integers(0, n, (batch, n))`` from
    ``numpy.random.default_rng(seed)``, in batches of at most 2**21 draws; with one batch
    these are exactly the resamples of :func:`scipy.stats.bootstrap` given that generator.

    Args:
      statistics: each :class:`Statistic` by name.
      n: the number of runs (at least 2).
      confidence: the coverage, strictly between 0 and 1.
      samples: bootstrap resamples (:func:`minimum_samples` at least).
      seed: the generator's seed (:func:`row_seed`).

    Returns:
      An :class:`Interval` per name. BCa falls back to the percentile interval when its
      correction is undefined (every resample gives the same value, or all jackknife values
      are equal), and says so in ``method``; a statistic with NaN in a resample has no
      interval (NaN, "none").

    Raises:
      ConfigError: fewer than 2 runs, or a bad confidence or number of resamples.

    Example:
      >>> x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
      >>> ci = bootstrap_intervals({"mean": mean_of(x)}, x.size, seed=1)["mean"]
      >>> bool(ci.low < x.mean() < ci.high)
      True
    """
    confidence = check_confidence(confidence)
    samples = check_samples(samples, confidence)
    if n < 2:
        raise ConfigError(
            f"a bootstrap confidence interval needs at least 2 runs, got {n}; raise starts.count"
        )
    for name, statistic in statistics.items():
        if statistic.method not in ("percentile", "bca"):
            raise ConfigError(f"{name}: bootstrap method must be 'percentile' or 'bca'")
        if statistic.method == "bca" and statistic.jackknife is None:
            raise ConfigError(f"{name}: a BCa interval needs the statistic's jackknife values")
    # the statistics index the runs and sum (no BLAS: no thread pool spinning beside the
    # engine's, and the same bits on any machine)
    return _intervals(statistics, n, confidence, samples, seed)


def _intervals(
    statistics: Mapping[str, Statistic], n: int, confidence: float, samples: int, seed: int
) -> dict[str, Interval]:
    """:func:`bootstrap_intervals` after its checks."""
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // n)
    values: dict[str, list[np.ndarray]] = {name: [] for name in statistics}
    for start in range(0, samples, batch):
        index = rng.integers(0, n, (min(batch, samples - start), n))
        for rows in _blocks(index.shape[0], max(1, _BLOCK_CELLS // n)):
            for name, statistic in statistics.items():
                values[name].append(np.asarray(statistic.resample(index[rows]), np.float64))
    alpha = (1 - confidence) / 2
    itself = np.arange(n)[None, :]
    out = {}
    for name, statistic in statistics.items():
        theta_b = np.concatenate(values[name])
        if np.isnan(theta_b).any():
            out[name] = Interval(math.nan, math.nan, "none")
            continue
        method = statistic.method
        if method == "bca":
            theta = float(statistic.resample(itself)[0])
            levels = _bca_levels(theta, theta_b, statistic.jackknife(), alpha)
            if levels is not None:
                out[name] = Interval(*_quantiles(theta_b, levels), "bca")
                continue
            method = "percentile (BCa undefined)"
        out[name] = Interval(*_quantiles(theta_b, (alpha, 1 - alpha)), method)
    return out


def _blocks(total: int, size: int) -> list[slice]:
    """``range(total)`` in slices of ``size``."""
    return [slice(start, min(start + size, total)) for start in range(0, total, size)]


def _bca_levels(
    theta: float, theta_b: np.ndarray, theta_jack: np.ndarray, alpha: float
) -> tuple[float, float] | None:
    """BCa's adjusted quantile levels (Efron & Tibshirani 1993, eq. 14.9-14.15), or None
    when undefined."""
    if not (math.isfinite(theta) and np.isfinite(theta_b).all()):
        return None
    share = (np.count_nonzero(theta_b < theta) + np.count_nonzero(theta_b <= theta)) / (
        2 * theta_b.size
    )
    z0 = _ndtri(share)
    u = (theta_jack.size - 1) * (theta_jack.mean() - theta_jack)
    n = float(theta_jack.size)
    denominator = (np.sum(u**2) / n**2) ** 1.5
    if not (math.isfinite(z0) and denominator > 0):
        return None
    a = np.sum(u**3) / n**3 / (6 * denominator)
    z = _ndtri(alpha)
    levels = []
    for zz in (z, -z):
        num = z0 + zz
        levels.append(_ndtr(z0 + num / (1 - a * num)))
    return levels[0], levels[1]


# -------------------------------------------------------------------------------------
# Statistics of runs


def median_of_finite(values: np.ndarray, method: str = "bca") -> Statistic:
    """The median of the finite values (as the summary's ``precision_median``); NaN in a
    resample without a finite value."""
    x = np.asarray(values, np.float64)
    finite = np.isfinite(x)
    order = np.argsort(np.where(finite, x, np.inf), kind="stable")
    m = int(finite.sum())
    order = order[:m]
    s = x[order]  # the finite values, sorted

    # each run's place among the finite values in order; a non-finite run's is m, past them
    place = np.full(x.size, m, np.intp)
    place[order] = np.arange(m)

    def resample(index: np.ndarray) -> np.ndarray:
        k = index.shape[0]
        out = np.full(k, np.nan)
        if not m:
            return out
        # how often each finite value is drawn in each resample, in the values' order (one
        # bincount over the places; column m counts the non-finite draws)
        cells = place[index] + (np.arange(k) * (m + 1))[:, None]
        counts = np.bincount(cells.ravel(), minlength=k * (m + 1)).reshape(k, m + 1)
        cumulative = np.cumsum(counts[:, :m], axis=1)
        total = cumulative[:, -1]
        some = total > 0
        if not some.any():
            return out
        cumulative, total = cumulative[some], total[some]
        low = np.argmax(cumulative > ((total - 1) // 2)[:, None], axis=1)
        high = np.argmax(cumulative > (total // 2)[:, None], axis=1)
        out[some] = 0.5 * (s[low] + s[high])
        return out

    def jackknife() -> np.ndarray:
        out = np.full(x.size, np.median(s) if m else np.nan)  # a non-finite run left out
        if m >= 2:
            left = m - 1  # values after leaving one out

            def kth(k: int, j: np.ndarray) -> np.ndarray:  # the k-th of s without its j-th
                return s[np.where(k < j, k, k + 1)]

            j = np.arange(m)
            if left % 2:
                loo = kth(left // 2, j)
            else:
                loo = 0.5 * (kth(left // 2 - 1, j) + kth(left // 2, j))
            out[order] = loo
        elif m == 1:
            out[order] = np.nan
        return out

    return Statistic(resample, jackknife, method)


def mean_of(values: np.ndarray, method: str = "bca") -> Statistic:
    """The mean of per-run values (finite ones: a NaN makes every resample NaN)."""
    x = np.asarray(values, np.float64)

    def resample(index: np.ndarray) -> np.ndarray:
        # np.mean of the resampled runs, as SciPy evaluates it: rounded as the estimate
        # np.mean(x) is, so BCa's count of resamples below the estimate is the same
        return np.mean(x[index], axis=1)

    def jackknife() -> np.ndarray:
        return (x.sum() - x) / (x.size - 1)

    return Statistic(resample, jackknife, method)


def ratio_of_sums(numerator: np.ndarray, denominator: np.ndarray) -> Statistic:
    """``sum(numerator) / sum(denominator)`` over the runs of a resample (COCO's ERT:
    evaluations spent over successes), ``inf`` when the denominator sums to 0; percentile."""
    top = np.asarray(numerator, np.float64)
    bottom = np.asarray(denominator, np.float64)

    def resample(index: np.ndarray) -> np.ndarray:
        a, b = np.sum(top[index], axis=1), np.sum(bottom[index], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.inf)

    return Statistic(resample)


# -------------------------------------------------------------------------------------
# Rank tests


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks from 1 (ties get their average rank) and the size of each group of ties."""
    order = np.argsort(values, kind="mergesort")
    s = values[order]
    new = np.concatenate(([True], s[1:] != s[:-1]))
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, s.size))
    average = starts + (sizes + 1) / 2.0  # 1-based average rank of each tie group
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(average, sizes)
    return ranks, sizes


def _exact_sf(u: float, n1: int, n2: int) -> float:
    """P(U >= u) under the null without ties: the coefficients of the Gaussian binomial
    coefficient [n1 + n2 choose k]_q, k = min(n1, n2), counting the orderings with each U."""
    k, m = min(n1, n2), max(n1, n2)
    poly = np.ones(1)
    for i in range(1, k + 1):
        grown = np.zeros(poly.size + m)
        grown[: poly.size] += poly  # times (1 - q^(m + i))
        grown[m + i : m + i + poly.size] -= poly[: max(0, grown.size - m - i)]
        pad = -grown.size % i  # divided by (1 - q^i): running sums along each residue mod i
        grown = np.cumsum(np.append(grown, np.zeros(pad)).reshape(-1, i), axis=0).ravel()
        poly = grown[: i * m + 1]
    total = poly.sum()
    return float(poly[int(math.ceil(u - 1e-9)) :].sum() / total)


def mann_whitney_u(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """The two-sided Mann-Whitney U test of samples ``a`` and ``b`` (any orderable floats,
    +inf allowed; NaN is not).

    Returns:
      ``(U_a, p)``: the number of pairs with ``a > b`` plus half the ties, and the p-value:
      exact when one sample has at most 8 values and nothing is tied, otherwise the normal
      approximation with the tie correction and a continuity correction of 1/2 (the rules
      of :func:`scipy.stats.mannwhitneyu`, ``method="auto"``).
    """
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0:
        raise ConfigError("a rank test needs at least one run in each sample")
    ranks, ties = _average_ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = max(u1, n1 * n2 - u1)
    if (n1 <= 8 or n2 <= 8) and not (ties > 1).any():
        p = 2 * _exact_sf(u, n1, n2)
    else:
        n = n1 + n2
        tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties))
        sd = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        numerator = u - n1 * n2 / 2 - 0.5
        z = numerator / sd if sd > 0 else -math.inf
        p = 2 * _ndtr(-z)
    return u1, min(1.0, max(0.0, p))


def censored_keys(solved: np.ndarray, time: np.ndarray, final: np.ndarray) -> np.ndarray:
    """One orderable number per run for a rank test on hitting times with censored runs:
    solved runs first, by their time; then the unsolved ones (censored at +inf), by their
    final value (NaN last). Equal runs get equal keys; only their order matters."""
    solved = np.asarray(solved, bool)
    time = np.where(solved, np.asarray(time, np.float64), 0.0)
    final = np.where(solved, 0.0, np.nan_to_num(np.asarray(final, np.float64), nan=np.inf))
    rows = np.stack([(~solved).astype(np.float64), time, final], axis=1)
    _, keys = np.unique(rows, axis=0, return_inverse=True)  # rows in lexicographic order
    return keys.reshape(-1).astype(np.float64)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: sorted ascending, the i-th (from 0) of m is
    multiplied by ``m - i``, made non-decreasing and capped at 1 (Holm 1979)."""
    p = np.asarray(p_values, np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out
