"""Figures of how runs were trained, from saved arrays: the held-out loss and accuracy of an
objective from data, and the values the scheduled hyperparameters took."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jaxcalc.pipeline.report.figures import ReportData, nanquantiles, setting_labels
from jaxcalc.pipeline.results import SCHEDULE_PREFIX

__all__ = ["heldout_figure", "schedule_section"]

#: the held-out numbers an objective from data records, with their axis labels
_HELDOUT = (
    ("heldout_loss", "held-out loss"),
    ("heldout_accuracy", "held-out accuracy"),
)
_BAND = "median over runs, quartile band"


def _log_worthy(values: np.ndarray) -> bool:
    """True for positive values that span more than two decades."""
    finite = values[np.isfinite(values)]
    return finite.size > 0 and finite.min() > 0 and finite.max() > 100 * finite.min()


def heldout_figure(data: ReportData, name: str, groups) -> Path | None:
    """The held-out loss and accuracy of one objective against steps: per setting, the
    median over runs and the quartile band, in the report's style per setting. None for an
    objective that records neither (not from data)."""
    shown = [(k, text) for k, text in _HELDOUT if any(f"recorded_{k}" in a for _, a in groups)]
    if not shown:
        return None
    fig, axes = data.plt.subplots(1, len(shown), figsize=(5.5 * len(shown), 4), squeeze=False)
    axes = axes[0]
    notes: list[str] = []
    drawn: dict[str, list[np.ndarray]] = {k: [] for k, _ in shown}
    for group, arrays in groups:
        n_sweep = len(group["sweep"])
        steps = np.asarray(arrays["recorded_steps"])
        labels = setting_labels(group)
        for ax, (key, _) in zip(axes, shown, strict=True):
            if f"recorded_{key}" not in arrays:
                continue
            recorded = np.asarray(arrays[f"recorded_{key}"], np.float64)
            per_setting = recorded.reshape((-1,) + recorded.shape[n_sweep:])
            for s, label in enumerate(labels):
                y = per_setting[s]
                bad = ~np.isfinite(y[:, -1])
                if bad.any() and key == shown[0][0]:
                    notes.append(f"{label}: {int(bad.sum())} of {bad.size} runs non-finite")
                q25, med, q75 = nanquantiles(np.where(np.isfinite(y), y, np.nan), [0.25, 0.5, 0.75])
                line = data.style(label)
                ax.plot(steps, med, label=label, **line)
                ax.fill_between(steps, q25, q75, alpha=0.15, color=line["color"])
                drawn[key] += [q25, q75]
    for ax, (key, text) in zip(axes, shown, strict=True):
        ax.set_xlabel("steps")
        ax.set_ylabel(f"{text}\n({_BAND})")
        if key == "heldout_loss" and drawn[key] and _log_worthy(np.concatenate(drawn[key])):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    from jaxcalc.plotting import legend_outside

    legend_outside(axes[-1], fontsize=7)
    fig.suptitle(f"{name}: held-out rows (not trained on)")
    if notes:
        fig.text(0.01, -0.02, "; ".join(notes), fontsize=8, va="top")
    fig.tight_layout()
    return data.save(fig, data.figure_name(name, "heldout"))


def _schedules(by_objective) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Per setting label, the recorded steps and each scheduled hyperparameter's values
    (record 0, which no step produced, left out), from the group of that setting that ran
    the most steps (a schedule is the same function of the step on every objective)."""
    chosen: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    for groups in by_objective.values():
        for group, arrays in groups:
            keys = [k for k in arrays if k.startswith(SCHEDULE_PREFIX)]
            if not keys:
                continue
            steps = np.asarray(arrays["recorded_steps"])
            for s, label in enumerate(setting_labels(group)):
                if label in chosen and chosen[label][0][-1] >= steps[-1]:
                    continue
                values = {}
                for k in keys:
                    history = np.asarray(arrays[k], np.float64)
                    values[k[len(SCHEDULE_PREFIX) :]] = history.reshape(-1, history.shape[-1])[s]
                chosen[label] = (steps[1:], {k: v[1:] for k, v in values.items()})
    return chosen


def schedule_section(data: ReportData, by_objective) -> list[str]:
    """The figure of the scheduled hyperparameters' values against steps, one panel per
    hyperparameter and one line per setting; its part of report.md (none without a
    schedule)."""
    chosen = _schedules(by_objective)
    if not chosen:
        return []
    names = list(dict.fromkeys(n for _, values in chosen.values() for n in values))
    width = 5.5 * len(names) + (1.5 if len(names) == 1 else 0)
    fig, axes = data.plt.subplots(1, len(names), figsize=(width, 3.8), squeeze=False)
    axes = axes[0]
    for ax, name in zip(axes, names, strict=True):
        drawn = []
        for label, (steps, values) in chosen.items():
            if name in values:
                ax.plot(steps, values[name], label=label, **data.style(label))
                drawn.append(values[name])
        if _log_worthy(np.concatenate(drawn)):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"{name} used")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    from jaxcalc.plotting import legend_outside

    legend_outside(axes[-1], fontsize=7)
    fig.suptitle("Scheduled hyperparameters: the value each step used")
    fig.tight_layout()
    path = data.save(fig, "schedules.png")
    return [
        "### Schedules",
        "",
        "The value of each scheduled hyperparameter used by the step before each record, "
        "each setting drawn from the objective on which it ran the most steps (settings "
        "without a schedule are not drawn; `schedules.csv` holds every value).",
        "",
        data.link("schedules", path),
        "",
    ]
