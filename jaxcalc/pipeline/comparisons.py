"""Tables across the settings of each objective, from the per-run table (``runs.csv``):
pairwise rank tests (``tests.csv``) and the fixed-budget quantiles (``fixed_budget.csv``).

Both read only the per-run columns, so tables merged from shards give the same rows.

* ``tests.csv``: for each objective, every pair of settings (an optimizer with its swept
  values) is compared by a two-sided Mann-Whitney U test on the runs' final values, and,
  when f_opt is known, on their hitting times with unsolved runs ranked after every solved
  one (:func:`~jaxcalc.pipeline.stats.censored_keys`). The p-values of an objective (both
  metrics, all pairs) are one family for Holm's correction.
* ``fixed_budget.csv``: for each setting and budget, quantiles over runs of the best value
  found within that budget (f - f_opt, or f without f_opt).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxcalc.pipeline import stats

__all__ = [
    "FIXED_BUDGET_QUANTILES",
    "TEST_METRICS",
    "fixed_budget_rows",
    "setting_label",
    "test_rows",
    "wins",
]

#: the quantiles of the fixed-budget table
FIXED_BUDGET_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
#: the metrics compared in tests.csv
TEST_METRICS = ("final_value", "hitting_time")


def _number(value: Any) -> float:
    """A cell as a float (CSV text, None or empty as NaN)."""
    if value is None or value == "":
        return math.nan
    return float(value)


def _short(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def setting_label(row: Mapping[str, Any], swept: Sequence[str]) -> str:
    """A setting's label: its optimizer with the values of the ``swept`` hyperparameters
    (those that differ between its rows), e.g. ``adam (learning_rate=0.01)``."""
    parts = [f"{k}={_short(row[f'hp_{k}'])}" for k in swept if row.get(f"hp_{k}") not in (None, "")]
    return str(row["optimizer"]) + (f" ({', '.join(parts)})" if parts else "")


def _settings(runs: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, list[int]]]:
    """Rows of each setting of each objective: {objective: {label: [row indices]}}, the
    settings sorted by label."""
    hp = [k for k in runs if k.startswith("hp_")]
    n = len(runs["objective"])
    values: dict[tuple[str, str], dict[str, set]] = {}
    for i in range(n):
        mine = values.setdefault((runs["objective"][i], runs["optimizer"][i]), {})
        for k in hp:
            mine.setdefault(k, set()).add(str(runs[k][i]))
    out: dict[str, dict[str, list[int]]] = {}
    for i in range(n):
        key = (runs["objective"][i], runs["optimizer"][i])
        swept = [k[3:] for k in hp if len(values[key][k]) > 1]
        row = {k: runs[k][i] for k in ("optimizer", *hp)}
        out.setdefault(runs["objective"][i], {}).setdefault(setting_label(row, swept), []).append(i)
    # settings by label, so that a pair is written the same way whatever the row order
    return {objective: dict(sorted(settings.items())) for objective, settings in out.items()}


def _column(runs: Mapping[str, Sequence[Any]], name: str, rows: list[int]) -> np.ndarray:
    return np.array([_number(runs[name][i]) for i in rows], np.float64)


def _samples(runs, rows: list[int], metric: str) -> np.ndarray | None:
    """One setting's values for a test: final values (NaN as +inf, the worst), or censored
    hitting-time keys (None without f_opt)."""
    final = np.nan_to_num(_column(runs, "final_value", rows), nan=np.inf)
    if metric == "final_value":
        return final
    precision = _column(runs, "precision", rows)
    if np.isnan(precision).all():  # no f_opt: no target, no hitting times
        return None
    time = _column(runs, "evaluations_to_target", rows)
    return np.stack([time >= 0, time, final])


def test_rows(runs: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows of ``tests.csv`` from the per-run table (as columns)."""
    out: list[dict[str, Any]] = []
    for objective, settings in _settings(runs).items():
        family: list[dict[str, Any]] = []
        for metric in TEST_METRICS:
            data = {label: _samples(runs, rows, metric) for label, rows in settings.items()}
            if any(v is None for v in data.values()):
                continue
            if metric == "hitting_time":  # joint ranks of (solved, time, final) over all
                sizes = [v.shape[1] for v in data.values()]
                joint = np.concatenate(list(data.values()), axis=1)
                keys = stats.censored_keys(joint[0].astype(bool), joint[1], joint[2])
                parts = np.split(keys, np.cumsum(sizes)[:-1])
                data = dict(zip(data, parts, strict=True))
            for a, b in itertools.combinations(data, 2):
                u, p = stats.mann_whitney_u(data[a], data[b])
                n_a, n_b = data[a].size, data[b].size
                family.append(
                    {
                        "objective": objective,
                        "optimizer_a": a,
                        "optimizer_b": b,
                        "metric": metric,
                        "p_value": p,
                        "p_holm": math.nan,
                        "n_a": n_a,
                        "n_b": n_b,
                        "u_statistic": u,
                        # P(a better than b) + half the ties: a's values lower (better)
                        "a_better_probability": 1.0 - u / (n_a * n_b),
                    }
                )
        adjusted = stats.holm([row["p_value"] for row in family])
        for row, p_holm in zip(family, adjusted, strict=True):
            row["p_holm"] = float(p_holm)
        out += family
    return out


def wins(tests: Sequence[Mapping[str, Any]], metric: str, level: float) -> dict:
    """From ``tests.csv`` rows: {(A, B): (k, n)}: A beats B on k of the n objectives where
    both ran, beating meaning ``p_holm < level`` and A's runs better in most pairs."""
    table: dict[tuple[str, str], list[int]] = {}
    for row in tests:
        if row["metric"] != metric:
            continue
        a, b = str(row["optimizer_a"]), str(row["optimizer_b"])
        p, better = _number(row["p_holm"]), _number(row["a_better_probability"])
        for x, y, x_better in ((a, b, better > 0.5), (b, a, better < 0.5)):
            k_n = table.setdefault((x, y), [0, 0])
            k_n[1] += 1
            k_n[0] += int(p < level and x_better)
    return {pair: (k, n) for pair, (k, n) in table.items()}


def fixed_budget_rows(runs: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The rows of ``fixed_budget.csv`` from the per-run table (as columns): for each
    setting and budget, the runs with a value and the quantiles of the best value."""
    out: list[dict[str, Any]] = []
    columns = [k for k in runs if k.startswith(("best_gap_at_", "best_f_at_"))]
    hp = [k for k in runs if k.startswith("hp_")]
    for objective, settings in _settings(runs).items():
        for label, rows in settings.items():
            first = rows[0]
            for name in columns:
                values = _column(runs, name, rows)
                if np.isnan(values).all() and all(runs[name][i] in (None, "") for i in rows):
                    continue  # a budget this setting does not have (merged tables)
                finite = values[np.isfinite(values)]
                quantiles = (
                    np.quantile(finite, FIXED_BUDGET_QUANTILES)
                    if finite.size
                    else [math.nan] * len(FIXED_BUDGET_QUANTILES)
                )
                row = {
                    "objective": objective,
                    "optimizer": runs["optimizer"][first],
                    "setting": label,
                    **{k: runs[k][first] for k in hp},
                    "measure": "f - f_opt" if name.startswith("best_gap") else "f",
                    "budget": int(name.rsplit("_", 1)[1]),
                    "runs": len(rows),
                    "runs_with_value": int(finite.size),
                }
                row.update(
                    {
                        f"q{round(q * 100):02d}": float(v)
                        for q, v in zip(FIXED_BUDGET_QUANTILES, quantiles, strict=True)
                    }
                )
                out.append(row)
    return out
