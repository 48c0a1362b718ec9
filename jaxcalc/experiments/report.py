"""Saved results -> figures + report.md. Reads result files only; never recomputes.

``jaxcalc report DIR`` calls :func:`build_report`, so figures and the report can be redrawn
(after a change of style, or on another machine) from what a run saved.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.experiments import metrics
from jaxcalc.experiments.results import read_csv, read_json, read_npz, write_text

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


def _flat_settings(arrays: dict[str, np.ndarray], n_sweep: int) -> dict[str, np.ndarray]:
    """Reshape sweep axes into one: (settings, runs, ...)."""
    out = {}
    runs = arrays["status"].shape[-1]
    settings = max(1, int(np.prod(arrays["status"].shape[:-1])))
    for k in ("values", "status", "function_evaluations", "steps_run", "params"):
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

    by_objective: dict[str, list[tuple[dict, dict]]] = {}
    for group in meta["groups"]:
        arrays = read_npz(folder / group["file"])
        by_objective.setdefault(group["objective"], []).append((group, arrays))

    sections: list[str] = []
    ecdf_data: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    ert_table: dict[str, dict[str, float]] = {}
    for name, groups in by_objective.items():
        fig, (ax_steps, ax_evals) = plt.subplots(1, 2, figsize=(11, 4))
        diverged_notes = []
        line_index = 0
        f_opt = float(groups[0][1]["f_opt"])
        known = math.isfinite(f_opt)
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
                style = _style(line_index)
                line_index += 1
                for ax, x in ((ax_steps, steps), (ax_evals, evals)):
                    ax.plot(x, med, label=label, **style)
                    ax.fill_between(x, q25, q75, alpha=0.15, color=style["color"])
                if known:
                    evals_runs = 1 + np.outer(per_step, steps)
                    ecdf_data.setdefault(label, []).append((y, evals_runs))
        for ax, xlabel in ((ax_steps, "steps"), (ax_evals, "function evaluations")):
            ax.set_xlabel(xlabel)
            ax.set_ylabel("f - f_opt (median, quartiles)" if known else "f (median, quartiles)")
            if known:
                ax.set_yscale("symlog", linthresh=max(target, 1e-12))
            ax.grid(alpha=0.3)
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
        for row in summary:
            if row["objective"] == name:
                label = row["optimizer"] + "".join(
                    f" {k[3:]}={row[k]}" for k in row if k.startswith("hp_") and row[k] != ""
                )
                ert_table.setdefault(name, {})[label] = float(row["ert"] or "nan")

    extra = []
    if ecdf_data:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        top = max(e.max() for runs in ecdf_data.values() for _, e in runs)
        budgets = np.unique(np.geomspace(1, max(2.0, top), 60).round())
        for label, runs in ecdf_data.items():
            fractions = np.mean([metrics.ecdf(y, e, budgets) for y, e in runs], axis=0)
            ax.step(budgets, fractions, where="post", label=label)
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
                ax.step(taus, profile[s], where="post", label=label)
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
        paths = flat["params"][0][:20]
        ends = paths[:, -1, :]
        for p in paths:
            keep = np.all(np.isfinite(p), axis=-1)
            ax.plot(p[keep, 0], p[keep, 1], "-", lw=0.7, alpha=0.7)
        ax.plot(ends[:, 0], ends[:, 1], ".", color="k", ms=3)
        m = arrays["minimizers"]
        if len(m):
            ax.plot(m[:, 0], m[:, 1], "*", color="red", ms=10)
        b = arrays["bounds"]
        ax.set_xlim(b[0])
        ax.set_ylim(b[1])
        ax.set_title(_setting_labels(group)[0], fontsize=8)
    fig.suptitle(f"{name}: sample paths (first setting of each optimizer, 20 runs)")
    path = figures / f"paths_{_slug(name)}.png"
    save_figure(fig, path)
    return path


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
    lines += [
        f"A run succeeds when f - f_opt <= {target:g} at a recorded step. success: the "
        "fraction of runs that did. median f - f_opt: over the runs' final values. median "
        "evals to target: over the successful runs. ERT is COCO's expected running time in "
        "function evaluations (inf: no run succeeded). diverged: runs that ended diverged, "
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
