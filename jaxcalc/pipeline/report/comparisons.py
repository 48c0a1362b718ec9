"""Figures of the comparisons: who beats whom (from ``tests.csv``), the fixed-budget view
(from ``fixed_budget.csv``) and Moré-Wild performance and data profiles (from the saved
arrays). A results folder without the tables (written by an older jaxcalc) gets the
profiles only."""

from __future__ import annotations

import numpy as np

from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline import comparisons, views
from jaxcalc.pipeline.report.across import plain_powers
from jaxcalc.pipeline.report.figures import (
    ReportData,
    flat_settings,
    panel_grid,
    setting_labels,
)
from jaxcalc.pipeline.results import read_csv

__all__ = ["MORE_WILD_TAUS", "comparison_sections"]

#: the tolerances of the Moré-Wild convergence test drawn (one column of panels each)
MORE_WILD_TAUS = (1e-1, 1e-3, 1e-5)
_METRIC_TITLES = {"final_value": "final value", "hitting_time": "hitting time (censored)"}


def comparison_sections(data: ReportData, by_objective: dict[str, list]) -> list[str]:
    """Draw the comparison figures; returns their part of report.md."""
    out: list[str] = []
    level = 1 - float(data.meta["config"].get("output", {}).get("confidence", 0.95))
    if data.summary and "success_rate_ci_low" in data.summary[0]:
        out += [
            "### Uncertainty",
            "",
            f"`summary.csv` holds a {1 - level:g} bootstrap confidence interval for the "
            "success rate, the median f - f_opt, the ERT, the ECDF area and the AOCC of each "
            "row (`<aggregate>_ci_low`, `<aggregate>_ci_high`; percentile intervals for the "
            "success rate and the ERT, BCa for the others), seeded from the config seed and "
            "the row's objective, optimizer and hyperparameters." + _single_run_note(data.summary),
            "",
        ]
    if (data.folder / "tests.csv").is_file():
        out += _tests_section(data, read_csv(data.folder / "tests.csv"), level)
    if (data.folder / "fixed_budget.csv").is_file():
        out += _fixed_budget_section(data, read_csv(data.folder / "fixed_budget.csv"))
    out += _more_wild_section(data, by_objective)
    return ["", *out] if out else []  # a blank line first: the parts before may end without


# -------------------------------------------------------------------------------------
# Pairwise tests


def _tests_section(data: ReportData, tests: list[dict[str, str]], level: float) -> list[str]:
    metrics = [m for m in comparisons.TEST_METRICS if any(t["metric"] == m for t in tests)]
    if not metrics:
        return []
    labels = sorted({t["optimizer_a"] for t in tests} | {t["optimizer_b"] for t in tests})
    side = 2.5 + 0.45 * len(labels)  # a square matrix per metric, readable up to ~30 labels
    fig, axes = data.plt.subplots(
        1, len(metrics), figsize=(2.2 + side * len(metrics), 2.2 + side), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    lines = [
        "### Pairwise tests",
        "",
        f"Two-sided Mann-Whitney U tests between the settings of each objective, Holm-"
        f"corrected within the objective (`tests.csv`). *A beats B* on an objective when the "
        f"corrected p-value is below {level:g} and A's runs are better in most pairs of runs "
        "(lower final values; for hitting times, solved before unsolved, then sooner).",
        "",
    ]
    for ax, metric in zip(axes[0], metrics, strict=True):
        won = comparisons.wins(tests, metric, level)
        grid = np.full((len(labels), len(labels)), np.nan)
        for (a, b), (k, n) in won.items():
            grid[labels.index(a), labels.index(b)] = k / n if n else np.nan
        ax.imshow(grid, vmin=0, vmax=1, cmap="Greens")
        for (a, b), (k, n) in won.items():
            i, j = labels.index(a), labels.index(b)
            ax.text(j, i, f"{k}/{n}", ha="center", va="center", fontsize=8,
                    color="w" if n and k / n > 0.6 else "k")  # fmt: skip
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("B")
        ax.set_ylabel("A")
        ax.set_title(f"{_METRIC_TITLES[metric]}: objectives where A beats B", fontsize=9)
        summary = sorted(
            ((k, n, a, b) for (a, b), (k, n) in won.items() if k > 0), key=lambda x: (-x[0], x[2])
        )
        lines.append(f"{_METRIC_TITLES[metric].capitalize()}:")
        lines.append("")
        if not summary:
            lines.append("- no setting beats another on any objective at this level.")
        for k, n, a, b in summary[:20]:
            lines.append(f"- {a} beats {b} on {k} of {n} objectives")
        if len(summary) > 20:
            lines.append(f"- ... and {len(summary) - 20} more pairs (see `tests.csv`)")
        lines.append("")
    fig.suptitle(f"pairwise tests, Holm-corrected per objective, level {level:g}")
    lines += [data.link("pairwise tests", data.save(fig, "tests_matrix.png")), ""]
    return lines


def _single_run_note(summary: list[dict[str, str]]) -> str:
    """A sentence naming how many rows have no interval because they have one run."""
    single = sum(1 for row in summary if row.get("runs", "") in ("0", "1"))
    if not single:
        return ""
    return (
        f" {single} row{'s' if single > 1 else ''} with a single run "
        f"{'have' if single > 1 else 'has'} no interval (nan): raise starts.count."
    )


# -------------------------------------------------------------------------------------
# Fixed budgets


def _fixed_budget_section(data: ReportData, table: list[dict[str, str]]) -> list[str]:
    objectives = list(dict.fromkeys(r["objective"] for r in table))
    if not objectives:
        return []
    shown = objectives[:12]
    fig, axes = panel_grid(data.plt, len(shown), (5.0, 3.9))
    for ax, objective in zip(axes, shown, strict=True):
        mine = [r for r in table if r["objective"] == objective]
        measure = mine[0]["measure"]
        for label in dict.fromkeys(r["setting"] for r in mine):
            rows_ = [r for r in mine if r["setting"] == label]
            rows_.sort(key=lambda r: int(r["budget"]))
            x = np.array([float(r["budget"]) for r in rows_])
            q = {k: np.array([float(r[k]) for r in rows_]) for k in ("q25", "q50", "q75")}
            line = data.style(label)
            ax.plot(x, q["q50"], marker="o", ms=3, label=label, **line)
            ax.fill_between(x, q["q25"], q["q75"], alpha=0.15, color=line["color"])
        ax.set_xscale("log")
        if measure == "f - f_opt":
            ax.set_yscale("symlog", linthresh=max(data.target, 1e-12))
            ax.set_ylim(bottom=0)
        plain_powers(ax)
        ax.set_xlabel(budgets.cost_label(data.run_cfg) if data.budgeted else "evaluations")
        ax.set_ylabel(f"best {measure} (median, quartiles)")
        ax.set_title(objective, fontsize=9)
        ax.grid(alpha=0.3)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    fig.suptitle("fixed budget: best value found within each budget")
    more = len(objectives) - len(shown)
    return [
        "### Fixed budgets",
        "",
        "The best value each run found within each evaluation budget (`fixed_budget.csv`: "
        "quantiles 10, 25, 50, 75 and 90 over runs). Runs are recorded every few steps, so "
        "the best value is the best *recorded* by then"
        + (
            "; without a budget, the evaluations at a record are the function evaluations "
            "the engine counted by then."
            if not data.budgeted
            else "."
        )
        + (f" The figure shows the first 12 objectives of {len(objectives)}." if more else ""),
        "",
        data.link("fixed budget", data.save(fig, "fixed_budget.png")),
        "",
    ]


# -------------------------------------------------------------------------------------
# Moré-Wild profiles


def _saved_f_counts(arrays, flat, s: int):
    """Setting ``s``'s function evaluations at every record, when the results hold them."""
    saved = {"recorded_steps": arrays["recorded_steps"], "steps_run": flat["steps_run"][s]}
    if "record_counts" in flat:
        saved["record_counts"] = flat["record_counts"][s]
    elif "step_counts" in arrays:
        saved["step_counts"] = arrays["step_counts"]
    return views.saved_record_counts(saved, 0)


def _problems(data: ReportData, by_objective: dict[str, list]):
    """f(x0), f and evaluations at the records of every (objective, start) problem for
    every setting present on all objectives: (labels, f0, values, evaluations, dims)."""
    per_objective = []
    for groups in by_objective.values():
        settings = {}
        for group, arrays in groups:
            flat = flat_settings(arrays, len(group["sweep"]))
            steps = arrays["recorded_steps"]
            for s, label in enumerate(setting_labels(group)):
                values = flat["values"][s].astype(np.float64)
                if "record_evaluations" in flat:
                    evals = flat["record_evaluations"][s].astype(np.float64)
                    inside = budgets.within_budget(evals, float(arrays["budget"]))
                    values = np.where(inside, values, np.nan)
                else:
                    evals = views.record_evaluations(
                        flat["function_evaluations"][s],
                        flat["steps_run"][s],
                        steps,
                        exact=_saved_f_counts(arrays, flat, s),
                    )
                settings[label] = (values, evals)
        dim = int(groups[0][1]["bounds"].shape[0])
        per_objective.append((settings, dim))
    common = set.intersection(*(set(s) for s, _ in per_objective)) if per_objective else set()
    labels = [label for label in dict.fromkeys(k for s, _ in per_objective for k in s)
              if label in common]  # fmt: skip
    if not labels:
        return None
    parts = []
    for settings, dim in per_objective:
        runs = {settings[label][0].shape[0] for label in labels}
        width = {settings[label][0].shape[1] for label in labels}
        if len(runs) != 1:
            continue
        pad = max(width)
        values = np.stack([_pad(settings[k][0], pad, np.nan) for k in labels], axis=1)
        evals = np.stack([_pad(settings[k][1], pad, np.inf) for k in labels], axis=1)
        f0 = np.nanmax(values[:, :, 0], axis=1)  # the same start for every setting
        parts.append((f0, values, evals, np.full(values.shape[0], dim)))
    if not parts:
        return None
    pad = max(p[1].shape[2] for p in parts)
    return (
        labels,
        np.concatenate([p[0] for p in parts]),
        np.concatenate([_pad(p[1], pad, np.nan) for p in parts]),
        np.concatenate([_pad(p[2], pad, np.inf) for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )


def _pad(a: np.ndarray, width: int, fill: float) -> np.ndarray:
    """``a`` with its last axis padded to ``width`` with ``fill`` (runs recorded less often)."""
    if a.shape[-1] == width:  # nothing to pad: no copy
        return a
    widths = [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])]
    return np.pad(a, widths, constant_values=fill)


def _more_wild_section(data: ReportData, by_objective: dict[str, list]) -> list[str]:
    problems = _problems(data, by_objective)
    if problems is None:
        return []
    labels, f0, values, evals, dims = problems
    budget = np.inf
    # a fixed grid (no layout engine: constrained layout measured every tick label on
    # each of its passes, half the figure's drawing): every panel's ticks and labels are
    # the same kind, so fixed gaps fit them; the legend goes right of the grid, where the
    # saved figure's tight box takes it in
    cols = len(MORE_WILD_TAUS)
    width, height = 4.6 * cols, 7.4
    grid_top = 1 - 0.65 / height
    fig, axes = data.plt.subplots(
        2, cols, figsize=(width, height), squeeze=False,
        gridspec_kw={"left": 0.75 / width, "right": 1 - 0.1 / width, "bottom": 0.55 / height,
                     "top": grid_top, "wspace": 0.23, "hspace": 0.3},
    )  # fmt: skip
    alphas = np.geomspace(1, 1e3, 200)
    at_taus = views.more_wild_evaluations_at(f0, values, evals, MORE_WILD_TAUS, budget)
    for c, (tau, t) in enumerate(zip(MORE_WILD_TAUS, at_taus, strict=True)):
        units = t / (dims[:, None] + 1)
        finite = units[np.isfinite(units)]
        top = max(10.0, float(finite.max()) * 1.1) if finite.size else 10.0
        kappas = np.linspace(0, top, 300)
        rho = views.performance_profile(t, alphas)
        d = views.data_profile(t, dims, kappas)
        for s, label in enumerate(labels):
            axes[0, c].step(alphas, rho[s], where="post", label=label, **data.style(label))
            axes[1, c].step(kappas, d[s], where="post", label=label, **data.style(label))
        axes[0, c].set_xscale("log")
        plain_powers(axes[0, c])
        axes[0, c].set_xlabel("alpha (evaluations / fewest of any setting)")
        axes[1, c].set_xlabel("kappa (simplex gradients: evaluations / (n + 1))")
        for r in range(2):
            axes[r, c].set_ylim(0, 1.02)
            axes[r, c].grid(alpha=0.3)
            axes[r, c].set_title(f"tau = {tau:g}", fontsize=9)
        axes[0, c].set_ylabel("fraction of problems (performance)")
        axes[1, c].set_ylabel("fraction of problems (data)")
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="upper left", bbox_to_anchor=(1.0, grid_top),
        bbox_transform=fig.transFigure, fontsize=7,
    )  # fmt: skip
    fig.suptitle(
        f"Moré-Wild profiles over {f0.size} problems (objective x start): test "
        "f(x0) - f(x) >= (1 - tau)(f(x0) - f_L)"
    )
    text = (
        "Performance and data profiles in the sense of Moré & Wild (2009): a problem is an "
        "objective with one start; a setting solves it once f(x0) - f(x) >= (1 - tau) "
        "(f(x0) - f_L), f_L the lowest value any setting recorded on it. The performance "
        "profile is the fraction of problems solved within alpha times the fewest "
        "evaluations of any setting; the data profile, within kappa simplex gradients "
        "(evaluations / (n + 1))."
    )
    if data.budgeted:
        text += " Records past the budget are not counted."
    else:
        text += " Evaluations at a record are the function evaluations counted by then."
    return [
        "### Performance and data profiles",
        "",
        text,
        "",
        data.link("More-Wild profiles", data.save(fig, "more_wild_profiles.png")),
        "",
    ]
