"""Figures across objectives from saved arrays: ECDFs, the performance profile and, with an
evaluation budget, COCO-style ECDFs per family and dimension and the success rates."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline import metrics
from jaxcalc.pipeline.report.figures import ReportData, family_of, panel_grid
from jaxcalc.pipeline.report.markdown import sig3, swept

__all__ = ["across_objectives"]


def legend_outside(ax, fontsize: float) -> None:
    from jaxcalc.plotting import legend_outside as outside

    outside(ax, fontsize=fontsize)


def plain_powers(ax) -> None:
    from jaxcalc.plotting import plain_powers as plain

    plain(ax)


def across_objectives(data: ReportData) -> list[str]:
    """Draw the figures across objectives; returns their part of report.md."""
    extra = budget_figures(data) if data.ecdf_runs else []
    # one style per optimizer setting, the same in every figure of the report
    line_style = data.style
    if data.ecdf_data:
        extra.append(_ecdf_figure(data, line_style))
    if len(data.ert_table) >= 1:
        extra += _profile_figure(data, line_style)
    return extra


def _fraction_axes(ax, xlabel: str, ylabel: str, top: float) -> None:
    """A log x axis against a fraction from 0 to ``top``, with grid and legend."""
    ax.set_xscale("log")
    plain_powers(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    legend_outside(ax, fontsize=7)


def _ecdf_figure(data: ReportData, line_style) -> str:
    """The ECDF over COCO's targets against function evaluations (no budget)."""
    fig, ax = data.plt.subplots(figsize=(6.4, 4.4))
    top = max(e.max() for runs in data.ecdf_data.values() for _, e in runs)
    budget_points = np.unique(np.geomspace(1, max(2.0, top), 60).round())
    for label, runs in data.ecdf_data.items():
        fractions = np.mean([metrics.ecdf(y, e, budget_points) for y, e in runs], axis=0)
        ax.step(budget_points, fractions, where="post", label=label, **line_style(label))
    _fraction_axes(ax, "function evaluations", "fraction of (run, target) pairs", 1)
    ax.set_title("ECDF over COCO's 51 targets 1e2..1e-8, all objectives with known f_opt")
    return data.link("ECDF", data.save(fig, "ecdf.png"))


def _profile_figure(data: ReportData, line_style) -> list[str]:
    """The performance profile of the ERTs (none when no setting has a finite ERT)."""
    ert_table = data.ert_table
    solvers = sorted({s for row in ert_table.values() for s in row})
    costs = np.array(
        [[ert_table[p].get(s, np.inf) for s in solvers] for p in ert_table], np.float64
    )
    costs = np.where(np.isfinite(costs), costs, np.inf)
    if not np.isfinite(costs).any():
        return []
    taus = np.geomspace(1, 1e3, 100)
    profile = metrics.performance_profile(costs, taus)
    fig, ax = data.plt.subplots(figsize=(6.4, 4.4))
    for s, label in enumerate(solvers):
        ax.step(taus, profile[s], where="post", label=label, **line_style(label))
    _fraction_axes(ax, "tau (ERT / best ERT on the objective)", "fraction of objectives", 1.02)
    ax.set_title(f"performance profile (ERT to target {data.target:g})")
    return [data.link("performance profile", data.save(fig, "performance_profile.png"))]


def _ecdf_curve(entries: list[dict[str, Any]], key: str, x: np.ndarray) -> np.ndarray:
    """Mean over objectives of the fraction of (run, target) pairs reached within ``x``
    evaluations per dimension; a run's records past its budget never count."""
    curves = []
    for e in entries:
        costs = np.where(budgets.within_budget(e[key], e["budget"]), e[key], np.inf)
        curves.append(metrics.ecdf(e["precision"], costs / e["dim"], x))
    return np.mean(curves, axis=0)


def budget_figures(data: ReportData) -> list[str]:
    """With an evaluation budget: COCO-style ECDFs against evaluations / dimension (all
    objectives, per family, per dimension), the two cost conventions side by side, and the
    success rates per objective and per family."""
    ecdf_runs, run_cfg, plt = data.ecdf_runs, data.run_cfg, data.plt
    labels = list(dict.fromkeys(e["label"] for e in ecdf_runs))
    styles = {label: data.style(label) for label in labels}
    top = max(e["budget"] / e["dim"] for e in ecdf_runs)
    low = min(float(e["costs"][:, 0].min()) / e["dim"] for e in ecdf_runs)
    x = np.geomspace(max(low, 1e-3) * 0.9, top, 120)
    families = list(dict.fromkeys(e["family"] for e in ecdf_runs))
    dims = sorted({e["dim"] for e in ecdf_runs})
    panels = [("all objectives", ecdf_runs)]
    if len(families) > 1:
        panels += [(f"family: {f}", [e for e in ecdf_runs if e["family"] == f]) for f in families]
    if len(dims) > 1:
        panels += [(f"{d}-D", [e for e in ecdf_runs if e["dim"] == d]) for d in dims]
    fig, axes = panel_grid(plt, len(panels), (5.2, 4.1))
    cost = budgets.cost_label(run_cfg)
    for ax, (title, entries) in zip(axes, panels, strict=True):
        n_obj = len({e["objective"] for e in entries})
        for label in labels:
            mine = [e for e in entries if e["label"] == label]
            if mine:
                ax.step(x, _ecdf_curve(mine, "costs", x), where="post", label=label,
                        **styles[label])  # fmt: skip
        ax.set_xscale("log")
        plain_powers(ax)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_title(f"{title} ({n_obj} objectives)", fontsize=9)
        ax.set_xlabel(f"{cost} / dimension")
        ax.set_ylabel("fraction of (run, target) pairs")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper",
               fontsize=7, frameon=False)  # fmt: skip
    fig.suptitle("ECDF of runs reaching COCO's 51 targets 1e2..1e-8, within the budget")
    path_ecdf = data.save(fig, "ecdf.png")

    alt = budgets.alternative_cost(run_cfg)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True, layout="constrained")
    for ax, key, c in ((axes[0], "costs", run_cfg.get("gradient_cost", 1.0)),
                       (axes[1], "costs_alt", alt)):  # fmt: skip
        for label in labels:
            mine = [e for e in ecdf_runs if e["label"] == label]
            ax.step(x, _ecdf_curve(mine, key, x), where="post", label=label, **styles[label])
        ct = budgets.gradient_cost_text(c)
        ax.set_title(f"a gradient counts {ct} evaluation{'s' if ct != '1' else ''}", fontsize=9)
        ax.set_xscale("log")
        plain_powers(ax)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_xlabel("evaluations / dimension")
    axes[0].set_ylabel("fraction of (run, target) pairs")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=7,
               frameon=False)  # fmt: skip
    fig.suptitle("ECDF, all objectives, under two conventions for the cost of a gradient")
    path_conv = data.save(fig, "ecdf_gradient_cost.png")

    path_success = _success_figure(data, labels, styles)
    out = [
        data.link("ECDF against evaluations", path_ecdf),
        "",
        data.link("ECDF, two cost conventions", path_conv),
        "",
    ]
    if path_success is not None:
        out += [data.link("success rates", path_success), ""]
    return out


def _row_label(row: dict[str, str], swept: list[str]) -> str:
    parts = [f"{k}={sig3(row.get(f'hp_{k}', ''))}" for k in swept if row.get(f"hp_{k}", "") != ""]
    return row["optimizer"] + (f" ({', '.join(parts)})" if parts else "")


def _success_figure(data: ReportData, labels, styles) -> Path | None:
    """Success rate of each optimizer setting on each objective (a heatmap, objectives
    grouped by family) and its mean over each family (bars)."""
    meta, summary, plt = data.meta, data.summary, data.plt
    hp = swept(meta)
    family: dict[str, str] = {}
    for group in meta.get("groups", []):
        family[group["objective"]] = group.get("family") or family_of(group["objective"])
    rates: dict[tuple[str, str], float] = {}
    for row in summary:
        value = row.get("success_rate", "")
        if value in ("", None) or math.isnan(float(value)):
            continue
        rates[(row["objective"], _row_label(row, hp))] = float(value)
    objectives = [o for o in dict.fromkeys(o for o, _ in rates)]
    objectives.sort(key=lambda o: list(dict.fromkeys(family.values())).index(family.get(o, "")))
    columns = [c for c in dict.fromkeys(c for _, c in rates)]
    if not objectives or not columns:
        return None
    grid = np.array([[rates.get((o, c), np.nan) for c in columns] for o in objectives])
    families = list(dict.fromkeys(family.get(o, "other") for o in objectives))
    fig, (ax_map, ax_bar) = plt.subplots(
        1, 2, figsize=(6 + 0.55 * len(columns) + 4, max(4.0, 1.8 + 0.32 * len(objectives))),
        gridspec_kw={"width_ratios": [len(columns) + 2, 6]}, layout="constrained",
    )  # fmt: skip
    image = ax_map.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax_map.text(j, i, f"{v:.2f}".rstrip("0").rstrip(".") or "0", ha="center",
                        va="center", fontsize=6, color="w" if v < 0.6 else "k")  # fmt: skip
    ax_map.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=7)
    ax_map.set_yticks(
        range(len(objectives)), [f"{o} [{family.get(o, '')}]" for o in objectives], fontsize=7
    )
    for i in range(1, len(objectives)):
        if family.get(objectives[i]) != family.get(objectives[i - 1]):
            ax_map.axhline(i - 0.5, color="w", lw=2)
    fig.colorbar(image, ax=ax_map, fraction=0.04, pad=0.02, label="success rate")
    fig.get_layout_engine().set(wspace=0.12)  # the colour bar's label clear of the bars
    ax_map.set_xlabel("optimizer setting")
    ax_map.set_ylabel("objective [family]")
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        means = [
            np.nanmean([rates.get((o, column), np.nan) for o in objectives if family.get(o) == f])
            for f in families
        ]
        bar = styles.get(column) or data.optimizer_style(column.split(" (")[0])
        ax_bar.bar(np.arange(len(families)) + (j - (len(columns) - 1) / 2) * width, means,
                   width, label=column, color=bar["color"],
                   hatch="//" if bar.get("linestyle", "-") != "-" else None)  # fmt: skip
    ax_bar.set_xticks(range(len(families)), families)
    ax_bar.set_ylim(0, 1)
    ax_bar.set_xlabel("family")
    ax_bar.set_ylabel("mean success rate over the family")
    ax_bar.grid(alpha=0.3, axis="y")
    legend_outside(ax_bar, fontsize=6)
    target = float(meta["config"]["run"]["target"])
    fig.suptitle(f"success rate: f - f_opt <= {target:g} within the budget")
    return data.save(fig, "success_rates.png")
