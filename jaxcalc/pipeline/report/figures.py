"""Figures of one objective from saved arrays: convergence curves and sample paths.

Also the pieces every figure shares: setting labels, line styles, quantiles over runs.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline import views
from jaxcalc.pipeline.results import figure_stems

__all__ = ["ReportData", "objective_section", "setting_labels"]

_FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.png")


@dataclass
class ReportData:
    """What the report reads once, and what the objectives' figures collect for the
    figures across objectives."""

    folder: Path
    figures: Path
    meta: dict[str, Any]
    summary: list[dict[str, str]]
    plt: Any
    ecdf_runs: list[dict[str, Any]] = field(default_factory=list)  # with a budget
    ecdf_data: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    ert_table: dict[str, dict[str, float]] = field(default_factory=dict)
    styles: dict[str, dict[str, Any]] = field(default_factory=dict)
    formats: tuple[str, ...] = ("png",)
    saver: Any = None  # a FigureSaver (render.py); None: each figure saved here at once

    def __post_init__(self) -> None:
        """One colour per optimizer, decided once for every figure of the report."""
        from jaxcalc.plotting import optimizer_styles

        settings: dict[str, dict[str, None]] = {}  # each optimizer's labels, in order, once
        for group in self.meta.get("groups", []):
            settings.setdefault(group["optimizer"], {}).update(dict.fromkeys(setting_labels(group)))
        self.styles = optimizer_styles({k: list(v) for k, v in settings.items()})

    def optimizer_style(self, optimizer: str) -> dict[str, Any]:
        """The style of an optimizer's first setting (its own colour)."""
        for group in self.meta.get("groups", []):
            if group["optimizer"] == optimizer:
                return self.style(setting_labels(group)[0])
        return self.style(optimizer)

    def style(self, label: str) -> dict[str, Any]:
        """The line style of a setting (by its label), the same in every figure; a label
        the groups do not name (a summary from elsewhere) gets the next free colour."""
        if label not in self.styles:
            from jaxcalc.plotting import PALETTE

            self.styles[label] = {
                "color": PALETTE[len(self.styles) % len(PALETTE)],
                "linestyle": "-",
            }
        return self.styles[label]

    @property
    def run_cfg(self) -> dict[str, Any]:
        return self.meta["config"]["run"]

    @property
    def target(self) -> float:
        return float(self.run_cfg["target"])

    @property
    def budgeted(self) -> bool:
        run = self.run_cfg
        return run.get("budget") is not None or run.get("budget_per_dim") is not None

    def save(self, fig: Any, name: str, *, tight: bool = True) -> Path:
        """Save ``fig`` as ``figures/name`` (``tight``: see
        :func:`~jaxcalc.plotting.save_figure`); returns its path."""
        path = self.figures / name
        if self.saver is not None:
            return self.saver.save(fig, path, also=self.formats[1:], tight=tight)
        from jaxcalc import plotting

        plotting.save_figure(fig, path, also=self.formats[1:], tight=tight)
        return path

    def figure_name(self, label: str, kind: str) -> str:
        """The file name of an objective's figure: the one ``metadata.json`` lists under
        "figures", or (results that list none) the one :func:`figure_stems` gives it."""
        listed = self.meta.get("figures")
        entry = listed.get(label) if isinstance(listed, dict) else None
        name = Path(entry[kind]).name if isinstance(entry, dict) and kind in entry else ""
        if _FIGURE_NAME.fullmatch(name):
            return name
        stems = figure_stems(dict.fromkeys(g["objective"] for g in self.meta["groups"]))
        return f"{kind}_{stems[label]}.png"

    def link(self, text: str, path: Path) -> str:
        return f"![{text}]({path.relative_to(self.folder)})"


def panel_grid(plt: Any, count: int, panel_size: tuple[float, float], columns: int = 3):
    """A figure of ``count`` panels in rows of at most ``columns``, each ``panel_size``
    (width, height) inches, under constrained layout, the unused cells hidden.

    Returns the figure and the ``count`` panels' axes in reading order."""
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    width, height = panel_size
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def setting_labels(group: dict[str, Any]) -> list[str]:
    """A label per setting of a group: the optimizer, with the swept values."""
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


def flat_settings(arrays: dict[str, np.ndarray], n_sweep: int) -> dict[str, np.ndarray]:
    """Reshape sweep axes into one: (settings, runs, ...)."""
    out = {}
    runs = arrays["status"].shape[-1]
    settings = max(1, int(np.prod(arrays["status"].shape[:-1])))
    optional = (
        "gradient_evaluations",
        "hessian_evaluations",
        "record_evaluations",
        "record_counts",
        "budget_status",
    )
    keys = ("values", "status", "function_evaluations", "steps_run", "params")
    for k in keys + tuple(k for k in optional if k in arrays):
        a = arrays[k]
        lead = a.shape[: n_sweep + 1]
        out[k] = a.reshape((settings, lead[-1] if k == "params" else runs) + a.shape[n_sweep + 1 :])
    return out


def nanquantiles(y: np.ndarray, qs: list[float]) -> list[np.ndarray]:
    """Quantiles over runs (axis 0), NaN where a record has no finite value (no warning)."""
    finite = np.isfinite(y).any(axis=0)
    filled = np.where(finite[None, :], y, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return [np.where(finite, q, np.nan) for q in _quantiles(filled, qs)]


def _quantiles(y: np.ndarray, qs: list[float]) -> np.ndarray:
    """``np.nanquantile(y, qs, axis=0)``; without NaN, ``np.quantile`` (the same numbers:
    nanquantile takes each column apart in Python, most of a convergence figure's
    arithmetic)."""
    if np.isnan(y).any():
        return np.nanquantile(y, qs, axis=0)
    return np.quantile(y, qs, axis=0)


def family_of(name: str) -> str:
    """An objective's family when the results do not say (older results)."""
    return "bbob" if name.startswith("bbob_") else "other"


# -------------------------------------------------------------------------------------
# One objective


@dataclass
class _Curves:
    """The convergence figure of one objective as it is drawn."""

    axes: tuple[Any, Any]
    known: bool
    f_opt: float
    notes: list[str] = field(default_factory=list)
    lines: int = 0
    start_level: float = 0.0  # the largest upper quartile of f - f_opt at the start
    top_level: float = 0.0  # the largest upper quartile drawn


def _draw_setting(data: ReportData, curves: _Curves, group, arrays, flat, s: int, label: str):
    """One setting's median and quartiles against steps and against evaluations."""
    steps = arrays["recorded_steps"]
    values = flat["values"][s].astype(np.float64)
    y = values - curves.f_opt if curves.known else values
    bad = np.char.startswith(flat["status"][s].astype(str), "diverged")
    if bad.any():
        curves.notes.append(f"{label}: {int(bad.sum())} of {bad.size} runs diverged")
    y = np.where(np.isfinite(y), y, np.nan)
    q25, med, q75 = _quantiles(y, [0.25, 0.5, 0.75])
    exact = views.saved_record_counts(arrays, 0)  # f-evaluations at every record
    if exact is not None:
        evals_runs = np.asarray(exact, np.float64).reshape(flat["status"].shape + (-1,))[s]
    else:  # results of an older jaxcalc: each run's evaluations spread over its steps
        per_step = (flat["function_evaluations"][s] - 1) / np.maximum(flat["steps_run"][s], 1)
        evals_runs = 1 + np.outer(per_step, steps)
    evals = np.median(evals_runs, axis=0)
    with_costs = data.budgeted and "record_evaluations" in flat
    if with_costs:
        costs = flat["record_evaluations"][s].astype(np.float64)
        inside = budgets.within_budget(costs, float(arrays["budget"]))
        keep = (inside & np.isfinite(y)).any(axis=0)
        y_steps = _at_steps(inside, y)
        q25, med, q75 = (
            np.where(keep, q, np.nan) for q in nanquantiles(y_steps, [0.25, 0.5, 0.75])
        )
        evals, y_at = _at_costs(costs, inside, y)
        by_cost = nanquantiles(y_at, [0.25, 0.5, 0.75])
    else:
        by_cost = [q25, med, q75]
    if curves.known and np.isfinite(q75[0]):
        curves.start_level = max(curves.start_level, float(q75[0]))
    if curves.known and np.isfinite(q75).any():
        curves.top_level = max(curves.top_level, float(np.nanmax(q75)))
    line = data.style(label)
    curves.lines += 1
    for ax, x, (low, middle, high) in zip(
        curves.axes, (steps, evals), ([q25, med, q75], by_cost), strict=True
    ):
        ax.plot(x, middle, label=label, **line)
        ax.fill_between(x, low, high, alpha=0.15, color=line["color"])
    if curves.known and with_costs:
        data.ecdf_runs.append(_budget_runs(data, group, arrays, flat, s, label, y))
    elif curves.known:
        data.ecdf_data.setdefault(label, []).append((y, evals_runs))


def _at_steps(inside: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The runs' values ``y (runs, records)`` at every record under a budget: a run the
    budget has stopped keeps its value at its last record within the budget, so each
    record's quantiles are over every run, not over the runs not yet stopped (which, for
    a line search, are the cheap ones)."""
    records = np.arange(y.shape[1])
    last = np.maximum.accumulate(np.where(inside, records, -1), axis=1)
    held = np.take_along_axis(y, np.maximum(last, 0), axis=1)
    return np.where(last >= 0, held, np.nan)


def _at_costs(costs: np.ndarray, inside: np.ndarray, y: np.ndarray, most: int = 4096):
    """The runs' values ``y (runs, records)`` at each cost within the budget that any run
    reached: a run's value at cost c is its value at its last record within c (NaN before
    its first). Returns the costs (at most ``most``, evenly spaced among them) and the
    values ``(runs, costs)``.

    The median cost at a record is no x for a record's values when runs spend different
    amounts per step (a line search): it mixes the runs the budget has cut with those it
    has not, and runs past the budget. At fixed costs each quantile is over every run that
    reached the cost, and no cost lies past the budget."""
    grid = np.unique(costs[inside])
    if grid.size > most:
        grid = grid[np.unique(np.linspace(0, grid.size - 1, most).round().astype(int))]
    ordered = np.where(inside, costs, np.inf)  # nondecreasing in each run
    at = np.empty((y.shape[0], grid.size))
    for i, (run_costs, run_values) in enumerate(zip(ordered, y, strict=True)):
        last = np.searchsorted(run_costs, grid, side="right") - 1
        at[i] = np.where(last >= 0, run_values[np.maximum(last, 0)], np.nan)
    return grid, at


def _budget_runs(data: ReportData, group, arrays, flat, s: int, label: str, y) -> dict[str, Any]:
    """What the budget figures need of one setting: its precision per record, its costs
    per record in the configured and the alternative convention, its budget."""
    counts = {k: flat[k][s] for k in ("function_evaluations", "steps_run")}
    counts |= {k: flat[k][s] for k in ("gradient_evaluations", "hessian_evaluations") if k in flat}
    return {
        "label": label,
        "objective": group["objective"],
        "family": group.get("family") or family_of(group["objective"]),
        "dim": int(arrays["bounds"].shape[0]),
        "budget": float(arrays["budget"]),
        "precision": y,
        "costs": flat["record_evaluations"][s].astype(np.float64),
        "costs_alt": budgets.alternative_record_costs(arrays, counts, data.run_cfg),
    }


def _convergence(data: ReportData, name: str, groups) -> tuple[Path, list[str]]:
    """The convergence figure of one objective; returns its path and its notes."""
    fig, axes = data.plt.subplots(1, 2, figsize=(11, 4))
    f_opt = float(groups[0][1]["f_opt"])
    curves = _Curves(axes=tuple(axes), known=math.isfinite(f_opt), f_opt=f_opt)
    for group, arrays in groups:
        flat = flat_settings(arrays, len(group["sweep"]))
        for s, label in enumerate(setting_labels(group)):
            _draw_setting(data, curves, group, arrays, flat, s, label)
    from jaxcalc.plotting import plain_powers

    evals_label = budgets.cost_label(data.run_cfg) if data.budgeted else "function evaluations"
    for ax, xlabel in zip(axes, ("steps", evals_label), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(
            "f - f_opt (median over runs, quartile band)"
            if curves.known
            else "f (median over runs, quartile band)"
        )
        if curves.known:
            ax.set_yscale("symlog", linthresh=max(data.target, 1e-12))
            plain_powers(ax)
        ax.grid(alpha=0.3)
    # A setting that diverges climbs to 1e20 and beyond and would squash every other
    # curve into the bottom of the plot: the axis stops two decades above the starts'
    # level, and the caption says which curves leave it.
    cap = _y_cap(curves.start_level)
    if curves.known and cap is not None and curves.top_level > cap:
        for ax in axes:
            ax.set_ylim(top=cap)
        curves.notes.append(f"y axis cut at {cap:.0e} (two decades above the starts)")
    from jaxcalc.plotting import legend_outside

    legend_outside(axes[1], fontsize=7)
    fig.suptitle(f"{name}: convergence")
    if curves.notes:
        fig.text(0.01, -0.02, "; ".join(curves.notes), fontsize=8, va="top")
    return data.save(fig, data.figure_name(name, "convergence")), curves.notes


def _collect_ert(data: ReportData, name: str, groups) -> None:
    """The ERT of each setting on this objective, named as the other figures name it."""
    for group, _ in groups:
        # the summary's rows of a group follow its settings in the labels' order, so the
        # profile names a setting as the other figures do (and draws it in their style)
        mine = (name, group["optimizer"])
        rows = [r for r in data.summary if (r["objective"], r["optimizer"]) == mine]
        labels = setting_labels(group)
        if len(rows) != len(labels):  # a summary from elsewhere: name rows by their values
            labels = [
                r["optimizer"]
                + "".join(f" {k[3:]}={r[k]}" for k in r if k.startswith("hp_") and r[k] != "")
                for r in rows
            ]
        for label, row in zip(labels, rows, strict=True):
            data.ert_table.setdefault(name, {})[label] = float(row["ert"] or "nan")


def objective_section(data: ReportData, name: str, groups) -> str:
    """The report's section on one objective (its figures drawn), collecting what the
    figures across objectives need."""
    conv_path, notes = _convergence(data, name, groups)
    section = [f"### {name}", "", data.link("convergence", conv_path), ""]
    if notes:
        section.append(
            "Diverged runs (not dropped; drawn to their last finite point): "
            + "; ".join(notes)
            + "."
        )
        section.append("")
    if int(groups[0][1]["bounds"].shape[0]) == 2:
        path = _contour_with_paths(data, name, groups)
        section += [data.link("paths", path), ""]
    _collect_ert(data, name, groups)
    return "\n".join(section)


def _contour_with_paths(data: ReportData, name: str, groups) -> Path:
    """Sample paths of each optimizer in the objective's box (from saved arrays only).

    The panels show the same box, so they share their axes: tick labels only on the left
    column and on the panels with none below them, a fixed grid (no layout engine). Tick
    labels are most of a figure's drawing time, and a layout engine lays out every one of
    them again each pass. The grid's margins hold the tick labels, the titles and the
    legend (its entries are always the same three), so the figure is saved as it is, not
    laid out once more to crop it.
    """
    panels = len(groups)
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    first = np.asarray(groups[0][1]["bounds"])
    shared = all(np.array_equal(arrays["bounds"], first) for _, arrays in groups)
    # inches: left of the panels, tick labels of up to six characters and the y label;
    # right, the legend, unless it sits in the empty slot beside the last panel
    left, right = 0.85, (1.05 if rows == 1 or panels % cols == 0 else 0.15)
    width, height = 4.2 * cols + left + right - 0.6, 3.8 * rows
    fig, axes = data.plt.subplots(
        rows, cols, figsize=(width, height), squeeze=False,
        sharex=shared, sharey=shared,
        gridspec_kw={"left": left / width, "right": 1 - right / width,
                     "bottom": 0.5 / height, "top": 1 - 0.7 / height,
                     "wspace": 0.2 if shared else 0.3, "hspace": 0.1 if shared else 0.3},
    )  # fmt: skip
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    for i, (ax, (group, arrays)) in enumerate(zip(axes.flat, groups, strict=False)):
        flat = flat_settings(arrays, len(group["sweep"]))
        b = arrays["bounds"]
        if "contour_f" in arrays:  # results without it: no background
            _contour_background(ax, arrays["contour_f"], b)
        label = setting_labels(group)[0]
        _draw_paths(ax, flat["params"][0][:20], data.style(label)["color"])
        m = arrays["minimizers"]
        if len(m):
            ax.plot(m[:, 0], m[:, 1], "*", color="k", mec="w", ms=12, ls="none", label="minimiser")
        ax.set_xlim(b[0])
        ax.set_ylim(b[1])
        below = i + cols < panels  # a panel under this one: it labels the x axis
        ax.tick_params(labelbottom=not (shared and below), labelleft=not (shared and i % cols))
        if not (shared and below):
            ax.set_xlabel("x1")
        if not (shared and i % cols):
            ax.set_ylabel("x2")
        ax.set_title(label, fontsize=8)
    from jaxcalc.plotting import legend_outside

    legend = legend_outside(axes.flat[panels - 1], fontsize=7)
    if legend is not None and rows > 1 and panels % cols:
        # in the empty slot beside the last panel, at its foot: clear of the x labels of
        # the panel above the slot
        legend.set_loc("lower left")
        legend.set_bbox_to_anchor((1.02, 0.0), transform=axes.flat[panels - 1].transAxes)
    fig.suptitle(
        f"{name}: sample paths (first setting of each optimizer, 20 runs; grey: contour lines of f)"
    )
    return data.save(fig, data.figure_name(name, "paths"), tight=False)


def _draw_paths(ax, paths: np.ndarray, color: str) -> None:
    """Runs' paths ``(runs, records, 2)`` through their finite points, as one collection
    (one artist, not one per run: a figure of ten panels draws several times faster), and
    the last finite point of each."""
    from matplotlib.collections import LineCollection

    keep = [np.all(np.isfinite(p), axis=-1) for p in paths]
    lines = [p[k] for p, k in zip(paths, keep, strict=True) if k.any()]
    if not len(paths):
        return
    ax.add_collection(
        LineCollection(lines, linewidths=0.8, alpha=0.8, colors=color, label="path",
                       capstyle="projecting", joinstyle="round")
    )  # fmt: skip
    if lines:
        ends = np.array([line[-1] for line in lines])
        ax.plot(ends[:, 0], ends[:, 1], ".", color="k", ms=3, ls="none", label="last point")


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
