"""Saved results -> figures + report.md. Reads result files only; never recomputes.

``jaxcalc report DIR`` calls :func:`build_report`, so figures and the report can be redrawn
(after a change of style, or on another machine) from what a run saved.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.pipeline import metrics
from jaxcalc.pipeline.results import read_csv, read_json, read_npz, write_text

__all__ = ["build_report"]


def _setting_labels(group: dict[str, Any]) -> list[str]:
    sweep = group["sweep"]
    if not sweep:
        return [group["optimizer"]]
    values = [group["sweep_values"][k] for k in sweep]
    grid = np.meshgrid(*[np.asarray(v) for v in values], indexing="ij")
    labels = []
    for idx in np.ndindex(*grid[0].shape):
        parts = ", ".join(f"{k}={g[idx]:g}" for k, g in zip(sweep, grid, strict=True))
        labels.append(f"{group['optimizer']} ({parts})")
    return labels


def _y_cap(start_level: float) -> float | None:
    """Top of a convergence plot: two decades above the starts' upper quartile of
    f - f_opt, rounded up to a power of ten (None when the starts are at the optimum)."""
    if not (start_level > 0 and math.isfinite(start_level)):
        return None
    return 10.0 ** (math.ceil(math.log10(start_level)) + 2)


def _flat_settings(arrays: dict[str, np.ndarray], n_sweep: int) -> dict[str, np.ndarray]:
    """Reshape sweep axes into one: (settings, runs, ...)."""
    out = {}
    runs = arrays["status"].shape[-1]
    settings = max(1, int(np.prod(arrays["status"].shape[:-1])))
    optional = (
        "gradient_evaluations",
        "hessian_evaluations",
        "record_evaluations",
        "budget_status",
    )
    keys = ("values", "status", "function_evaluations", "steps_run", "params")
    for k in keys + tuple(k for k in optional if k in arrays):
        a = arrays[k]
        lead = a.shape[: n_sweep + 1]
        out[k] = a.reshape((settings, lead[-1] if k == "params" else runs) + a.shape[n_sweep + 1 :])
    return out


def build_report(folder: str | Path) -> Path:
    """Draw every figure and write ``report.md`` from the results in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxcalc.plotting import save_figure

    folder = Path(folder).resolve()
    meta = read_json(folder / "metadata.json")
    summary = read_csv(folder / "summary.csv")
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    target = float(meta["config"]["run"]["target"])
    run_cfg = meta["config"]["run"]
    budgeted = run_cfg.get("budget") is not None or run_cfg.get("budget_per_dim") is not None

    by_objective: dict[str, list[tuple[dict, dict]]] = {}
    for group in meta["groups"]:
        arrays = read_npz(folder / group["file"])
        by_objective.setdefault(group["objective"], []).append((group, arrays))

    sections: list[str] = []
    ecdf_runs: list[dict[str, Any]] = []  # with a budget: one entry per setting
    ecdf_data: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    ert_table: dict[str, dict[str, float]] = {}
    for name, groups in by_objective.items():
        fig, (ax_steps, ax_evals) = plt.subplots(1, 2, figsize=(11, 4))
        diverged_notes = []
        line_index = 0
        f_opt = float(groups[0][1]["f_opt"])
        known = math.isfinite(f_opt)
        start_level = 0.0  # the largest upper quartile of f - f_opt at the start
        top_level = 0.0  # the largest upper quartile drawn
        for group, arrays in groups:
            flat = _flat_settings(arrays, len(group["sweep"]))
            labels = _setting_labels(group)
            steps = arrays["recorded_steps"]
            for s, label in enumerate(labels):
                values = flat["values"][s].astype(np.float64)
                y = values - f_opt if known else values
                bad = np.char.startswith(flat["status"][s].astype(str), "diverged")
                if bad.any():
                    diverged_notes.append(f"{label}: {int(bad.sum())} of {bad.size} runs diverged")
                y = np.where(np.isfinite(y), y, np.nan)
                q25, med, q75 = np.nanquantile(y, [0.25, 0.5, 0.75], axis=0)
                per_step = (flat["function_evaluations"][s] - 1) / np.maximum(
                    flat["steps_run"][s], 1
                )
                evals = 1 + np.median(per_step) * steps
                if budgeted and "record_evaluations" in flat:
                    costs = flat["record_evaluations"][s].astype(np.float64)
                    inside = costs <= float(arrays["budget"]) * (1 + 1e-9)
                    inside[:, 0] = True
                    evals = np.median(costs, axis=0)
                    y_in = np.where(inside, y, np.nan)
                    keep = np.isfinite(y_in).any(axis=0)
                    q25, med, q75 = (
                        np.where(keep, q, np.nan) for q in _nanquantiles(y_in, [0.25, 0.5, 0.75])
                    )
                if known and np.isfinite(q75[0]):
                    start_level = max(start_level, float(q75[0]))
                if known and np.isfinite(q75).any():
                    top_level = max(top_level, float(np.nanmax(q75)))
                style = _style(line_index)
                line_index += 1
                for ax, x in ((ax_steps, steps), (ax_evals, evals)):
                    ax.plot(x, med, label=label, **style)
                    ax.fill_between(x, q25, q75, alpha=0.15, color=style["color"])
                if known and budgeted and "record_evaluations" in flat:
                    ecdf_runs.append(_budget_runs(group, arrays, flat, s, label, y, run_cfg))
                elif known:
                    evals_runs = 1 + np.outer(per_step, steps)
                    ecdf_data.setdefault(label, []).append((y, evals_runs))
        evals_label = _cost_label(run_cfg) if budgeted else "function evaluations"
        for ax, xlabel in ((ax_steps, "steps"), (ax_evals, evals_label)):
            ax.set_xlabel(xlabel)
            ax.set_ylabel("f - f_opt (median, quartiles)" if known else "f (median, quartiles)")
            if known:
                ax.set_yscale("symlog", linthresh=max(target, 1e-12))
            ax.grid(alpha=0.3)
        # A setting that diverges climbs to 1e20 and beyond and would squash every other
        # curve into the bottom of the plot: the axis stops two decades above the starts'
        # level, and the caption says which curves leave it.
        cap = _y_cap(start_level)
        if known and cap is not None and top_level > cap:
            for ax in (ax_steps, ax_evals):
                ax.set_ylim(top=cap)
            diverged_notes.append(f"y axis cut at {cap:.0e} (two decades above the starts)")
        ax_steps.legend(fontsize=7)
        fig.suptitle(f"{name}: convergence")
        if diverged_notes:
            fig.text(0.01, -0.02, "; ".join(diverged_notes), fontsize=8, va="top")
        conv_path = figures / f"convergence_{_slug(name)}.png"
        save_figure(fig, conv_path)
        section = [f"### {name}", "", f"![convergence]({conv_path.relative_to(folder)})", ""]
        if diverged_notes:
            section.append(
                "Diverged runs (not dropped; drawn to their last finite point): "
                + "; ".join(diverged_notes)
                + "."
            )
            section.append("")
        dim = int(groups[0][1]["bounds"].shape[0])
        if dim == 2:
            path = _contour_with_paths(name, groups, figures, plt)
            section += [f"![paths]({path.relative_to(folder)})", ""]
        sections.append("\n".join(section))
        for group, _ in groups:
            # the summary's rows of a group follow its settings in the labels' order, so the
            # profile names a setting as the other figures do (and draws it in their style)
            mine = (name, group["optimizer"])
            rows = [r for r in summary if (r["objective"], r["optimizer"]) == mine]
            labels = _setting_labels(group)
            if len(rows) != len(labels):  # a summary from elsewhere: name rows by their values
                labels = [
                    r["optimizer"]
                    + "".join(f" {k[3:]}={r[k]}" for k in r if k.startswith("hp_") and r[k] != "")
                    for r in rows
                ]
            for label, row in zip(labels, rows, strict=True):
                ert_table.setdefault(name, {})[label] = float(row["ert"] or "nan")

    extra = []
    if ecdf_runs:
        extra += _budget_figures(ecdf_runs, meta, summary, figures, folder, run_cfg, plt)
    # one style per optimizer setting, the same in the ECDF and the performance profile
    line_styles: dict[str, dict[str, Any]] = {}

    def line_style(label: str) -> dict[str, Any]:
        return line_styles.setdefault(label, _style(len(line_styles)))

    if ecdf_data:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        top = max(e.max() for runs in ecdf_data.values() for _, e in runs)
        budgets = np.unique(np.geomspace(1, max(2.0, top), 60).round())
        for label, runs in ecdf_data.items():
            fractions = np.mean([metrics.ecdf(y, e, budgets) for y, e in runs], axis=0)
            ax.step(budgets, fractions, where="post", label=label, **line_style(label))
        ax.set_xscale("log")
        ax.set_xlabel("function evaluations")
        ax.set_ylabel("fraction of (run, target) pairs")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title("ECDF over COCO's 51 targets 1e2..1e-8, all objectives with known f_opt")
        path = figures / "ecdf.png"
        save_figure(fig, path)
        extra.append(f"![ECDF]({path.relative_to(folder)})")
    if len(ert_table) >= 1:
        solvers = sorted({s for row in ert_table.values() for s in row})
        costs = np.array(
            [[ert_table[p].get(s, np.inf) for s in solvers] for p in ert_table], np.float64
        )
        costs = np.where(np.isfinite(costs), costs, np.inf)
        if np.isfinite(costs).any():
            taus = np.geomspace(1, 1e3, 100)
            profile = metrics.performance_profile(costs, taus)
            fig, ax = plt.subplots(figsize=(6.4, 4.4))
            for s, label in enumerate(solvers):
                ax.step(taus, profile[s], where="post", label=label, **line_style(label))
            ax.set_xscale("log")
            ax.set_xlabel("tau (ERT / best ERT on the objective)")
            ax.set_ylabel("fraction of objectives")
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            ax.set_title(f"performance profile (ERT to target {target:g})")
            path = figures / "performance_profile.png"
            save_figure(fig, path)
            extra.append(f"![performance profile]({path.relative_to(folder)})")

    report = _report_text(meta, summary, sections, extra, target)
    write_text(folder / "report.md", report)
    return folder / "report.md"


def _nanquantiles(y: np.ndarray, qs: list[float]) -> list[np.ndarray]:
    """Quantiles over runs (axis 0), NaN where a record has no finite value (no warning)."""
    finite = np.isfinite(y).any(axis=0)
    filled = np.where(finite[None, :], y, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [np.where(finite, np.nanquantile(filled, q, axis=0), np.nan) for q in qs]


def _gradient_cost_text(value: Any) -> str:
    return "D" if value == "dim" else f"{float(value):g}"


def _cost_label(run_cfg: dict[str, Any]) -> str:
    c = _gradient_cost_text(run_cfg.get("gradient_cost", 1.0))
    return f"evaluations (f + {c} g + {c} D h)" if c != "1" else "evaluations (f + g + D h)"


def _alternative_cost(run_cfg: dict[str, Any]) -> Any:
    """The other convention drawn next to the configured one: D if gradients count 1, else 1."""
    return 1.0 if run_cfg.get("gradient_cost", 1.0) == "dim" else "dim"


def _budget_runs(group, arrays, flat, s: int, label: str, y, run_cfg) -> dict[str, Any]:
    """What the budget figures need of one setting: its precision per record, its costs
    per record in the configured and the alternative convention, its budget."""
    dim = int(arrays["bounds"].shape[0])
    budget = float(arrays["budget"])
    alt = _alternative_cost(run_cfg)
    c_alt = float(dim) if alt == "dim" else float(alt)
    gradient_free = bool(arrays.get("gradient_free", False))
    f = flat["function_evaluations"][s]
    g = flat["gradient_evaluations"][s] if "gradient_evaluations" in flat else np.zeros_like(f)
    h = flat["hessian_evaluations"][s] if "hessian_evaluations" in flat else np.zeros_like(f)
    total_alt = metrics.evaluation_cost(f, g, h, dim, c_alt)
    start_alt = 1.0 + (0.0 if gradient_free else c_alt)
    costs_alt = metrics.record_costs(
        start_alt, total_alt, flat["steps_run"][s], arrays["recorded_steps"]
    )
    return {
        "label": label,
        "objective": group["objective"],
        "family": group.get("family") or _family_of(group["objective"]),
        "dim": dim,
        "budget": budget,
        "precision": y,
        "costs": flat["record_evaluations"][s].astype(np.float64),
        "costs_alt": costs_alt,
    }


def _family_of(name: str) -> str:
    return "bbob" if name.startswith("bbob_") else "other"


def _ecdf_curve(entries: list[dict[str, Any]], key: str, x: np.ndarray) -> np.ndarray:
    """Mean over objectives of the fraction of (run, target) pairs reached within ``x``
    evaluations per dimension; a run's records past its budget never count."""
    curves = []
    for e in entries:
        costs = np.where(e[key] <= e["budget"] * (1 + 1e-9), e[key], np.inf)
        costs[:, 0] = e[key][:, 0]
        curves.append(metrics.ecdf(e["precision"], costs / e["dim"], x))
    return np.mean(curves, axis=0)


def _budget_figures(ecdf_runs, meta, summary, figures: Path, folder: Path, run_cfg, plt):
    """With an evaluation budget: COCO-style ECDFs against evaluations / dimension (all
    objectives, per family, per dimension), the two cost conventions side by side, and the
    success rates per objective and per family."""
    from jaxcalc.plotting import save_figure

    labels = list(dict.fromkeys(e["label"] for e in ecdf_runs))
    styles = {label: _style(i) for i, label in enumerate(labels)}
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
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 4.1 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    cost = _cost_label(run_cfg)
    for ax, (title, entries) in zip(axes.flat, panels, strict=False):
        n_obj = len({e["objective"] for e in entries})
        for label in labels:
            mine = [e for e in entries if e["label"] == label]
            if mine:
                ax.step(x, _ecdf_curve(mine, "costs", x), where="post", label=label,
                        **styles[label])  # fmt: skip
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_title(f"{title} ({n_obj} objectives)", fontsize=9)
        ax.set_xlabel(f"{cost} / dimension")
        ax.set_ylabel("fraction of (run, target) pairs")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("ECDF of runs reaching COCO's 51 targets 1e2..1e-8, within the budget")
    path_ecdf = figures / "ecdf.png"
    save_figure(fig, path_ecdf)

    alt = _alternative_cost(run_cfg)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True, layout="constrained")
    for ax, key, c in ((axes[0], "costs", run_cfg.get("gradient_cost", 1.0)),
                       (axes[1], "costs_alt", alt)):  # fmt: skip
        for label in labels:
            mine = [e for e in ecdf_runs if e["label"] == label]
            ax.step(x, _ecdf_curve(mine, key, x), where="post", label=label, **styles[label])
        ct = _gradient_cost_text(c)
        ax.set_title(f"a gradient counts {ct} evaluation{'s' if ct != '1' else ''}", fontsize=9)
        ax.set_xscale("log")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_xlabel("evaluations / dimension")
    axes[0].set_ylabel("fraction of (run, target) pairs")
    axes[0].legend(fontsize=7)
    fig.suptitle("ECDF, all objectives, under two conventions for the cost of a gradient")
    path_conv = figures / "ecdf_gradient_cost.png"
    save_figure(fig, path_conv)

    path_success = _success_figure(meta, summary, labels, styles, figures, plt)
    out = [
        f"![ECDF against evaluations]({path_ecdf.relative_to(folder)})",
        "",
        f"![ECDF, two cost conventions]({path_conv.relative_to(folder)})",
        "",
    ]
    if path_success is not None:
        out += [f"![success rates]({path_success.relative_to(folder)})", ""]
    return out


def _row_label(row: dict[str, str], swept: list[str]) -> str:
    parts = [f"{k}={_sig3(row.get(f'hp_{k}', ''))}" for k in swept if row.get(f"hp_{k}", "") != ""]
    return row["optimizer"] + (f" ({', '.join(parts)})" if parts else "")


def _success_figure(meta, summary, labels, styles, figures: Path, plt) -> Path | None:
    """Success rate of each optimizer setting on each objective (a heatmap, objectives
    grouped by family) and its mean over each family (bars)."""
    from jaxcalc.plotting import save_figure

    swept: list[str] = []
    family: dict[str, str] = {}
    for group in meta.get("groups", []):
        swept += [k for k in group.get("sweep", []) if k not in swept]
        family[group["objective"]] = group.get("family") or _family_of(group["objective"])
    rates: dict[tuple[str, str], float] = {}
    for row in summary:
        value = row.get("success_rate", "")
        if value in ("", None) or math.isnan(float(value)):
            continue
        rates[(row["objective"], _row_label(row, swept))] = float(value)
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
    fig.colorbar(image, ax=ax_map, fraction=0.04, pad=0.02)
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        means = [
            np.nanmean([rates.get((o, column), np.nan) for o in objectives if family.get(o) == f])
            for f in families
        ]
        style = styles.get(column.split(" (")[0], _style(j))
        ax_bar.bar(np.arange(len(families)) + (j - (len(columns) - 1) / 2) * width, means,
                   width, label=column, color=style["color"],
                   hatch="//" if style.get("linestyle", "-") != "-" else None)  # fmt: skip
    ax_bar.set_xticks(range(len(families)), families)
    ax_bar.set_ylim(0, 1)
    ax_bar.set_ylabel("mean success rate over the family")
    ax_bar.grid(alpha=0.3, axis="y")
    ax_bar.legend(fontsize=6, ncol=2)
    target = float(meta["config"]["run"]["target"])
    fig.suptitle(f"success rate: f - f_opt <= {target:g} within the budget")
    path = figures / "success_rates.png"
    save_figure(fig, path)
    return path


def _contour_with_paths(name, groups, figures: Path, plt) -> Path:
    """Sample paths of each optimizer in the objective's box (from saved arrays only)."""
    from jaxcalc.plotting import save_figure

    panels = len(groups)
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    for ax, (group, arrays) in zip(axes.flat, groups, strict=False):
        flat = _flat_settings(arrays, len(group["sweep"]))
        b = arrays["bounds"]
        if "contour_f" in arrays:  # (results written before it was saved: no background)
            _contour_background(ax, arrays["contour_f"], b)
        paths = flat["params"][0][:20]
        ends = paths[:, -1, :]
        for p in paths:
            keep = np.all(np.isfinite(p), axis=-1)
            ax.plot(p[keep, 0], p[keep, 1], "-", lw=0.7, alpha=0.7)
        ax.plot(ends[:, 0], ends[:, 1], ".", color="k", ms=3)
        m = arrays["minimizers"]
        if len(m):
            ax.plot(m[:, 0], m[:, 1], "*", color="red", ms=10)
        ax.set_xlim(b[0])
        ax.set_ylim(b[1])
        ax.set_title(_setting_labels(group)[0], fontsize=8)
    fig.suptitle(f"{name}: sample paths (first setting of each optimizer, 20 runs)")
    path = figures / f"paths_{_slug(name)}.png"
    save_figure(fig, path)
    return path


def _contour_background(ax, f: np.ndarray, bounds: np.ndarray) -> None:
    """Grey contour lines of f at levels spaced by its quantiles over the box (test
    functions span many orders of magnitude; evenly spaced levels would all crowd in one
    corner)."""
    finite = f[np.isfinite(f)]
    if finite.size == 0:
        return
    levels = np.unique(np.quantile(finite, np.linspace(0.01, 0.97, 14)))
    if levels.size < 2:
        return
    xs = np.linspace(bounds[0][0], bounds[0][1], f.shape[1])
    ys = np.linspace(bounds[1][0], bounds[1][1], f.shape[0])
    ax.contour(xs, ys, f, levels=levels, colors="0.65", linewidths=0.6, zorder=0)


def _style(index: int) -> dict[str, Any]:
    """Distinct colour and dash for up to 40 lines (matplotlib's cycle repeats after 10)."""
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    return {
        "color": colors[index % 10],
        "linestyle": ("-", "--", ":", "-.")[(index // 10) % 4],
    }


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:60]


#: report.md's table: (summary.csv column, header); swept hyperparameters follow "optimizer"
_REPORT_COLUMNS = (
    ("objective", "objective"),
    ("optimizer", "optimizer"),
    ("runs", "runs"),
    ("success_rate", "success"),
    ("precision_median", "median f - f_opt"),
    ("median_evaluations_to_target", "median evals to target"),
    ("ert", "ERT"),
    ("diverged", "diverged"),
)


def _report_table(meta: dict[str, Any], summary: list[dict[str, str]]) -> list[str]:
    """The readable subset of summary.csv as a Markdown table (3 significant digits)."""
    swept: list[str] = []
    for group in meta.get("groups", []):
        swept += [k for k in group.get("sweep", []) if k not in swept]
    header = [h for _, h in _REPORT_COLUMNS[:2]] + swept + [h for _, h in _REPORT_COLUMNS[2:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary:
        diverged = sum(
            int(float(v))
            for k, v in row.items()
            if k.startswith(("status_diverged", "status_unbounded")) and v not in ("", None)
        )
        cells = [row.get("objective", ""), row.get("optimizer", "")]
        cells += [_sig3(row.get(f"hp_{k}", "")) for k in swept]
        for column, _ in _REPORT_COLUMNS[2:]:
            value = diverged if column == "diverged" else row.get(column, "")
            cells.append(_sig3(value))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _report_text(meta, summary, sections, extra, target) -> str:
    done, total = len(meta.get("groups", [])), meta.get("groups_total")
    lines = [
        f"# {meta['name']}",
        "",
        f"Status: **{meta['status']}**. Config hash `{meta['config_hash'][:12]}`, seed "
        f"{meta['seed']}, {meta['dtype']}, started {meta['started']}, finished "
        f"{meta.get('finished', '-')}. jaxcalc {meta['versions']['jaxcalc']}, jax "
        f"{meta['versions']['jax']}, backend {meta['platform']['backend']}.",
        "",
    ]
    if total is not None and done < total:
        lines += [
            f"**Only {done} of {total} groups finished.** Finish the run with "
            "`jaxcalc run CONFIG --out DIR --resume` (same config and `--set` values).",
            "",
        ]
    run_cfg = meta["config"]["run"]
    unit = "function evaluations"
    if run_cfg.get("budget") is not None or run_cfg.get("budget_per_dim") is not None:
        unit = "evaluations of that convention"
        budget = (
            f"{run_cfg['budget_per_dim']} x dimension"
            if run_cfg.get("budget_per_dim") is not None
            else str(run_cfg["budget"])
        )
        lines += [
            f"**Evaluation budget: {budget} per run**, counted as {_cost_label(run_cfg)}: "
            "f-evaluations, gradients counted "
            f"{_gradient_cost_text(run_cfg.get('gradient_cost', 1.0))} each, Hessians D "
            "gradients each. Each optimizer ran the steps its cheapest step allows; records "
            "past the budget are ignored, so the success rate, the final values, "
            "the evaluations to target and the ERT below are all *within the budget*, in "
            "that convention. `budget_exhausted`: runs that used the whole budget.",
            "",
        ]
    lines += [
        f"A run succeeds when f - f_opt <= {target:g} at a recorded step. success: the "
        "fraction of runs that did. median f - f_opt: over the runs' final values. median "
        "evals to target: over the successful runs. ERT is COCO's expected running time in "
        f"{unit} (inf: no run succeeded). diverged: runs that ended diverged, "
        "non-finite or unbounded. Numbers have 3 significant digits; `summary.csv` (and "
        "`summary.parquet`) hold every column at full precision: quartiles, steps to target, "
        "counts per status, compile and run seconds.",
        "",
        *_report_table(meta, summary),
        "",
        "## Objectives",
        "",
        *sections,
    ]
    if extra:
        lines += ["## Across objectives", "", *extra, ""]
    return "\n".join(lines) + "\n"


def _sig3(value: Any) -> str:
    """A number with 3 significant digits, positional from 1e-4 to 1e6 (1230, 0.0123),
    scientific outside (1.23e-07); integers as they are; NaN or empty as "-"."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        if value.lstrip("-").isdigit():
            return value
        try:
            number = float(value)
        except ValueError:
            return value
    else:
        number = float(value)
        if isinstance(value, int | np.integer):
            return str(int(value))
    if math.isnan(number):
        return "-"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    text = f"{number:.3g}"
    if "e+" in text and int(text.split("e")[1]) < 6:
        return str(round(float(text)))
    return text
