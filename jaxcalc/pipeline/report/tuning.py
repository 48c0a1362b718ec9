"""The report's "Tuning" section: per tuned optimizer, its search space, the chosen
setting, what the search cost and how much the criterion varied across settings, with a
figure of the criterion against each setting. Read from ``tuning.csv`` and the config."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jaxcalc.pipeline.report.figures import panel_grid
from jaxcalc.pipeline.report.markdown import sig3
from jaxcalc.pipeline.results import read_csv

__all__ = ["tuning_section"]

_CRITERIA = {
    "median_final_gap": ("median final f - f_opt", True),
    "success_rate": ("success rate", False),
    "ert": ("ERT (evaluations)", True),
}


def _space_text(space: dict[str, Any]) -> str:
    parts = []
    for k, v in space.items():
        if isinstance(v, dict):
            scale = ", log" if v.get("log") else ""
            parts.append(f"{k} in [{sig3(v['low'])}, {sig3(v['high'])}{scale}]")
        else:
            parts.append(f"{k} in {{{', '.join(sig3(x) for x in v)}}}")
    return "; ".join(parts)


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def tuning_section(data: Any) -> list[str]:
    """The section's lines (none when the run had no tuning stage)."""
    tuning = data.meta.get("config", {}).get("tuning")
    path = data.folder / "tuning.csv"
    if not tuning or not path.exists():
        return []
    rows = read_csv(path)
    criterion = tuning["criterion"]
    name, lower = _CRITERIA.get(criterion, (criterion, True))
    instances = tuning.get("instances")
    lines = [
        "## Tuning",
        "",
        f"Each optimizer below was tuned first: {tuning['method']} search, at most "
        f"{tuning['budget']} evaluations per optimizer, on seeds "
        f"{', '.join(map(str, tuning['seeds']))}"
        + (f" and instances {', '.join(map(str, instances))}" if instances else "")
        + f"; the setting with the {'lowest' if lower else 'highest'} {name} over all its "
        f"runs was chosen. The comparison above ran on seed {data.meta['config']['seed']}"
        + (", on its own instances" if instances else "")
        + ", none of them used for tuning. The tuning runs are in `tuning/`, every setting in "
        "`tuning.csv`. Spread: the criterion's best, median and worst over the settings.",
        "",
        "| optimizer | search space | settings | chosen | " + name + " | spread | evaluations |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = list(dict.fromkeys(r["optimizer"] for r in rows))
    for label in labels:
        mine = [r for r in rows if r["optimizer"] == label]
        chosen = next((r for r in mine if r["chosen"] == "True"), None)
        values = np.array([_float(r["value"]) for r in mine])
        finite = np.sort(values[np.isfinite(values)])
        spread = (
            f"{sig3(finite[0])} / {sig3(float(np.median(finite)))} / {sig3(finite[-1])}"
            if finite.size
            else "-"
        )
        if not lower and finite.size:
            spread = f"{sig3(finite[-1])} / {sig3(float(np.median(finite)))} / {sig3(finite[0])}"
        not_finite = int(values.size - finite.size)
        if not_finite:
            spread += f" ({not_finite} not finite)"
        spent = sum(_float(r["evaluations"]) for r in mine)
        lines.append(
            f"| {label} | {_space_text(tuning['space'].get(label, {}))} | {len(mine)} | "
            f"{chosen['setting'] if chosen else '-'} | "
            f"{sig3(chosen['value']) if chosen else '-'} | {spread} | {sig3(spent)} |"
        )
    lines += ["", *_figure(data, rows, tuning, labels, name, lower), ""]
    return lines


def _figure(data, rows, tuning, labels, name, lower) -> list[str]:
    """The criterion against each tuned hyperparameter, one panel per (optimizer,
    hyperparameter); the chosen setting starred, non-finite values as x on the top edge."""
    panels = []
    for label in labels:
        space = tuning["space"].get(label, {})
        panels += [(label, k, space[k]) for k in space]
    if not panels:
        return []
    panels = panels[:12]
    fig, axes = panel_grid(data.plt, len(panels), (4.6, 3.4))
    for ax, (label, key, space) in zip(axes, panels, strict=True):
        mine = [r for r in rows if r["optimizer"] == label]
        x = np.array([_float(r[f"hp_{key}"]) for r in mine])
        y = np.array([_float(r["value"]) for r in mine])
        chosen = np.array([r["chosen"] == "True" for r in mine])
        ok = np.isfinite(y)
        style = data.style(label)
        positive = ok & (y > 0)
        log_y = name != "success rate" and positive.any() and np.all(y[ok] > 0)
        if log_y:
            ax.set_yscale("log")
        order = np.argsort(x)
        if len(tuning["space"][label]) == 1:  # one hyperparameter: join the settings
            ax.plot(x[order][ok[order]], y[order][ok[order]], lw=1, alpha=0.6, **style)
        ax.scatter(x[ok], y[ok], s=18, color=style["color"], zorder=3, label="setting")
        if (~ok).any():
            top = np.nanmax(y[ok]) if ok.any() else 1.0
            ax.scatter(x[~ok], np.full((~ok).sum(), top), marker="x", color="0.3", zorder=3,
                       label="not finite (drawn at the top)")  # fmt: skip
        if chosen.any():
            ax.scatter(x[chosen], np.where(ok[chosen], y[chosen], np.nan), marker="*", s=160,
                       color="black", zorder=4, label="chosen")  # fmt: skip
        log_x = (isinstance(space, dict) and space.get("log")) or (
            np.all(x > 0) and x.max() / x.min() >= 20
        )
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(name)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"tuning: {name} of each setting ({'lower' if lower else 'higher'} is better)")
    return [data.link("tuning", data.save(fig, "tuning.png"))]
