"""Figures from plain arrays and jaxcalc results. Never reads result files itself.

Importing this module never changes matplotlib's backend, so figures show inline in a
notebook. A program that only writes files (the CLI) calls :func:`use_file_backend` first.
Every plotting function takes ``ax=`` to draw into an existing axes.

Colours: one per optimizer, from the Okabe-Ito palette (distinct for the common forms of
colour blindness); the settings of one optimizer (a sweep) are shades of its colour with
different dashes. :func:`optimizer_styles` decides them once, for every figure of a report.

Non-finite values are never dropped silently: curves are broken where f is not finite
and the count of such points is written on the figure (matplotlib alone would drop them
without a word).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.ticker import Formatter, FuncFormatter, LogFormatterMathtext, MaxNLocator
from matplotlib.transforms import ScaledTranslation

from jaxcalc.errors import ConfigError
from jaxcalc.files import FIGURE_FORMATS, check_output_path, write_atomically

__all__ = [
    "FIGURE_FORMATS",
    "PALETTE",
    "check_output_path",
    "figure_outputs",
    "legend_outside",
    "optimizer_styles",
    "plain_powers",
    "plot_convergence",
    "plot_function",
    "plot_hyperparameter_history",
    "plot_objective",
    "plot_trajectory",
    "save_figure",
    "slice_point",
    "use_file_backend",
]


#: Okabe & Ito (2008), "Color Universal Design": eight colours told apart with any of the
#: common colour-vision deficiencies; yellow last, as it is faint on white
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
_DASHES = ("-", "--", ":", "-.")


def use_file_backend() -> None:
    """Draw into files only (matplotlib's Agg backend), for programs that show no window.

    Never called on import: a notebook or a script keeps its own backend.
    """
    import matplotlib

    matplotlib.use("Agg")


def _shade(color: str, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with white (amount > 0) or black (amount < 0)."""
    rgb = np.asarray(to_rgb(color))
    target = 1.0 if amount > 0 else 0.0
    return tuple(float(c) for c in rgb + abs(amount) * (target - rgb))


def optimizer_styles(settings: dict[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """A line style for every setting, one colour per optimizer.

    Args:
      settings: each optimizer's setting labels, in order (one label for an optimizer that
        is not swept). The optimizers take the palette's colours in this order.

    Returns:
      ``{label: {"color": ..., "linestyle": ...}}``. The settings of one optimizer are
      shades of its colour, from dark to light, with dashes in turn; past eight optimizers
      the colours repeat with dashed lines.
    """
    styles = {}
    for i, labels in enumerate(settings.values()):
        base = PALETTE[i % len(PALETTE)]
        labels = list(dict.fromkeys(labels))
        n = len(labels)
        amounts = np.linspace(-0.3, 0.45, n) if n > 1 else [0.0]
        for k, (label, amount) in enumerate(zip(labels, amounts, strict=True)):
            styles.setdefault(
                label,
                {
                    "color": _shade(base, float(amount)) if n > 1 else to_rgb(base),
                    "linestyle": _DASHES[(k + i // len(PALETTE)) % len(_DASHES)],
                },
            )
    return styles


def legend_outside(
    ax: plt.Axes, *, fontsize: float = 8, shaded: bool = False, below: bool = False
) -> Any:
    """The legend outside the data (``bbox_inches="tight"`` keeps it in the file): right
    of ``ax``, or under it with ``below`` (when a colour bar is on the right).

    ``shaded``: on a grey ground, for white markers (paths on a contour).
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    if below:  # 32 points under the axes: clear of the tick labels and the x label
        shift = ScaledTranslation(0, -32 / 72, ax.figure.dpi_scale_trans)
        place = {
            "loc": "upper center",
            "bbox_to_anchor": (0.5, 0.0),
            "bbox_transform": ax.transAxes + shift,
            "ncol": min(4, len(handles)),
        }
    else:
        place = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
    return ax.legend(
        **place,
        borderaxespad=0.0,
        fontsize=fontsize,
        frameon=shaded,
        facecolor="0.55" if shaded else None,
        framealpha=1.0,
    )


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_MATH_LABEL = re.compile(r"\$\\mathdefault\{(.*)\}\$")
_POWER = re.compile(r"\^\{(-?[0-9]+)\}")


def _plain_label(label: str) -> str:
    """A log axis's mathtext tick label (``$\\mathdefault{10^{-4}}$``) as plain text with
    Unicode superscripts (``10⁻⁴``); a label of any other form is returned as it is."""
    match = _MATH_LABEL.fullmatch(label)
    if match is None:
        return label
    text = _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPTS), match.group(1))
    text = text.replace("\\times", "×")
    if "\\" in text or "{" in text or "^" in text:
        return label
    return text.replace("-", "\N{MINUS SIGN}")


class _PlainPowers(Formatter):
    """A log formatter's labels (the same ticks, the same numbers) in plain text: mathtext
    lays out each label through a parser, most of a log axis's drawing time."""

    def __init__(self, inner: Formatter):
        self.inner = inner

    def set_axis(self, axis: Any) -> None:
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        self.inner.set_locs(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _plain_label(self.inner(x, pos))

    def format_data(self, value: float) -> str:
        return self.inner.format_data(value)

    def format_data_short(self, value: float) -> str:
        return self.inner.format_data_short(value)


def plain_powers(ax: plt.Axes) -> None:
    """Label ``ax``'s log and symlog axes with plain text (10⁻⁴) instead of mathtext
    ($10^{-4}$): the same ticks and numbers, drawn several times faster. Call it after
    ``set_xscale``/``set_yscale`` (which replace the formatters)."""
    for axis in (ax.xaxis, ax.yaxis):
        for get, set_ in (
            (axis.get_major_formatter, axis.set_major_formatter),
            (axis.get_minor_formatter, axis.set_minor_formatter),
        ):
            formatter = get()
            if isinstance(formatter, LogFormatterMathtext):
                set_(_PlainPowers(formatter))


def _new_axes(ax: plt.Axes | None, figsize: tuple[float, float]) -> tuple[Any, plt.Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


#: zlib level 1 for PNG (matplotlib's default is 6): the same pixels, 2-4x faster to
#: encode, and files of dense contour lines come out smaller (a 1900x1700 figure of sample
#: paths on Rastrigin's contours: 0.6 s and 3.3 MB at 6, 0.18 s and 2.4 MB at 1)
_PNG_OPTIONS = {"png": {"pil_kwargs": {"compress_level": 1}}}


def save_figure(
    fig: Any, path: str | os.PathLike, *, also: Sequence[str] = (), tight: bool = True
) -> Path:
    """Save atomically: a temporary file in the same folder, then ``os.replace``.

    Args:
      fig: a matplotlib figure; it is closed afterwards.
      path: the file; its suffix (.png, .svg or .pdf) gives the format.
      also: more formats (``"svg"``, ``"pdf"``) written beside ``path`` with the same stem.
      tight: crop the file to what is drawn (``bbox_inches="tight"``, which lays the figure
        out once more before drawing it); False for a figure whose margins already hold
        everything (a fixed grid): the file is the figure's own size.

    Returns:
      The path of the first file.
    """
    outputs = figure_outputs(path, also=also, tight=tight)
    try:
        for out, options in outputs:
            write_atomically(out, lambda h, options=options: fig.savefig(h, **options))
        return outputs[0][0]
    finally:
        plt.close(fig)


def figure_outputs(
    path: str | os.PathLike, *, also: Sequence[str] = (), tight: bool = True
) -> list[tuple[Path, dict[str, Any]]]:
    """The files :func:`save_figure` writes for ``path`` and ``also`` (each checked, as
    :func:`check_output_path` does), each with its ``savefig`` keyword arguments."""
    target = check_output_path(path)
    extra = [
        check_output_path(target.with_suffix("." + f.lower().lstrip(".")))
        for f in also
        if "." + f.lower().lstrip(".") != target.suffix.lower()
    ]
    outputs = []
    for out in (target, *extra):
        kind = out.suffix[1:].lower()
        options = {"format": kind, "dpi": 150, "bbox_inches": "tight" if tight else None}
        outputs.append((out, {**options, **_PNG_OPTIONS.get(kind, {})}))
    return outputs


def _robust_limits(y: np.ndarray) -> tuple[float, float] | None:
    """y-limits that show the bulk of a curve, not the spike at a pole."""
    finite = y[np.isfinite(y)]
    if not finite.size:
        return None
    lo, hi = np.percentile(finite, [2, 98]) if finite.size > 50 else (finite.min(), finite.max())
    pad = 0.1 * (hi - lo or max(1.0, abs(hi)))
    return float(lo - pad), float(hi + pad)


def _break_far(y: np.ndarray, limits: tuple[float, float] | None) -> np.ndarray:
    """NaN where y is not finite or far off the chart, so lines never join across a pole."""
    y = np.where(np.isfinite(y), y, np.nan)
    if limits is not None:
        lo, hi = limits
        span = hi - lo
        y = np.where((y < lo - 3 * span) | (y > hi + 3 * span), np.nan, y)
    return y


def _notes(fig: Any, ax: plt.Axes, notes: list[str], *, low: bool = False) -> None:
    """Caption notes under the axes (non-finite points, diverged runs); ``low``: under a
    legend that is under the axes too."""
    if notes:
        ax.annotate(
            "\n".join(notes), xy=(0.0, 0.0), xycoords="axes fraction",
            xytext=(0, -60 if low else -36), textcoords="offset points", fontsize=8,
            va="top", color="0.3",
        )  # fmt: skip


def plot_function(
    f: Callable[[np.ndarray], Any],
    x_range: tuple[float, float],
    *,
    title: str = "",
    label: str = "f(x)",
    derivative: Callable[[np.ndarray], Any] | None = None,
    derivative_label: str = "f'(x)",
    tangents: Sequence[Any] = (),
    taylor: Any = None,
    points: int = 801,
    ax: plt.Axes | None = None,
) -> Any:
    """A curve of ``f`` over ``x_range``, optionally with f', tangent lines and a Taylor polynomial.

    Args:
      f: vectorised function of one variable.
      x_range: (a, b) with a < b.
      derivative: vectorised derivative to draw as a dashed line.
      tangents: :class:`~jaxcalc.TangentLine` objects; undefined ones are listed in a note.
      taylor: a :class:`~jaxcalc.Taylor` polynomial.
      ax: draw into this axes (else a new figure).

    Returns:
      The figure.
    """
    a, b = map(float, x_range)
    x = np.linspace(a, b, points)
    y = np.asarray(f(x), dtype=np.float64)
    fig, ax = _new_axes(ax, (6.4, 4.4))
    notes = []
    bad = ~np.isfinite(y)
    limits = _robust_limits(y)
    ax.plot(x, _break_far(y, limits), label=label, color=PALETTE[0], lw=2)
    if bad.any():
        notes.append(f"f not finite at {int(bad.sum())} of {points} sample points (gaps)")
    if derivative is not None:
        dy = np.asarray(derivative(x), dtype=np.float64)
        ax.plot(x, _break_far(dy, limits), "--", label=derivative_label, color=PALETTE[1])
    for i, t in enumerate(tangents):
        if not t.defined:
            notes.append(f"no tangent at x = {t.x0:g}: {t.reason}")
            continue
        color = PALETTE[(2 + i) % len(PALETTE)]
        ax.plot(x, t.intercept + t.slope * x, ":", color=color, lw=1.8,
                label=f"tangent: {t.equation}")  # fmt: skip
        ax.plot([t.x0], [t.y0], "o", color=color)
    if taylor is not None:
        ty = np.asarray(taylor(x), dtype=np.float64)
        ax.plot(x, _break_far(ty, limits), "-.", color=PALETTE[4], lw=1.8,
                label=f"Taylor order {taylor.order} at {taylor.x0:g}")  # fmt: skip
        ax.plot([taylor.x0], [taylor.coefficients[0]], "s", color=PALETTE[4])
    if limits is not None:
        ax.set_ylim(*limits)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlim(a, b)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    legend_outside(ax)
    _notes(fig, ax, notes)
    return fig


def slice_point(objective: Any, at: Sequence[float] | None = None) -> np.ndarray:
    """The point a slice of ``objective`` goes through: ``at``, else its first known
    minimiser, else the centre of its box."""
    if at is not None:
        point = np.asarray(at, np.float64).reshape(-1)
        if point.shape != (objective.dim,):
            raise ConfigError(
                f"slice point has {point.size} coordinates; {objective.name} has {objective.dim}"
            )
        return point
    if objective.minimizers is not None and len(objective.minimizers):
        return np.asarray(objective.minimizers[0], np.float64)
    return (np.asarray(objective.lower, np.float64) + np.asarray(objective.upper, np.float64)) / 2


def _point_text(point: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in point) + ")"


def plot_objective(
    objective: Any,
    *,
    paths: np.ndarray | None = None,
    statuses: Sequence[str] | None = None,
    max_paths: int = 30,
    title: str = "",
    grid: int = 300,
    slice_at: Sequence[float] | None = None,
    slice_axes: tuple[int, int] = (0, 1),
    path_color: Any = "white",
    ax: plt.Axes | None = None,
) -> Any:
    """A contour (2-D or more) or a curve (1-D) of an objective over its bounds, minimisers
    marked.

    Objectives of more than two dimensions are drawn as a 2-D slice: coordinates
    ``slice_axes`` vary over the box, the others are held at ``slice_at`` (default: the
    first known minimiser, else the centre of the box). The title says which slice; paths
    are drawn projected onto the slice's plane.

    Args:
      objective: an :class:`~jaxcalc.objectives.Objective`.
      paths: optional recorded iterates ``(B, R+1, D)`` to draw on top (at most
        ``max_paths`` of them). Runs whose status starts with "diverged" are drawn to their
        last finite point and marked with an x; the caption counts them.
      statuses: the runs' statuses, aligned with ``paths``.
      ax: draw into this axes (else a new figure).

    Returns:
      The figure.
    """
    dim = objective.dim
    axes = tuple(int(i) for i in slice_axes)
    if dim >= 2 and (len(axes) != 2 or axes[0] == axes[1] or not all(0 <= i < dim for i in axes)):
        raise ConfigError(
            f"slice axes {slice_axes}: give two different coordinates from 0 to {dim - 1}"
        )
    point = slice_point(objective, slice_at) if dim > 2 else None
    fig, ax = _new_axes(ax, (6.4, 5.0 if dim >= 2 else 4.4))
    notes: list[str] = []
    if dim == 1:
        _draw_curve(ax, objective)
    else:
        notes += _draw_contour(fig, ax, objective, grid, axes, point)
    i, j = axes if dim >= 2 else (0, 0)
    if objective.minimizers is not None:
        m = np.asarray(objective.minimizers, np.float64)
        if dim == 1:
            ax.plot(m[:, 0], [objective.f_opt] * len(m), "*", color=PALETTE[3], ms=12,
                    label="minimiser")  # fmt: skip
        else:
            if point is not None:  # the minimisers that lie in the slice's plane
                others = [k for k in range(dim) if k not in axes]
                m = m[np.all(np.isclose(m[:, others], point[others]), axis=1)]
            if len(m):
                ax.plot(m[:, i], m[:, j], "*", color=PALETTE[3], ms=14, mec="white",
                        label="minimiser", ls="none")  # fmt: skip
    if paths is not None:
        notes += _draw_paths(ax, objective, paths, statuses, max_paths, axes, path_color)
    ax.set_xlim(objective.lower[i], objective.upper[i])
    if dim >= 2:
        ax.set_ylim(objective.lower[j], objective.upper[j])
    heading = title or objective.name
    if point is not None:
        held = ", ".join(f"x{k + 1} = {point[k]:.4g}" for k in range(dim) if k not in axes)
        heading += f"\nslice through {_point_text(point)}: {held}"
    ax.set_title(heading, fontsize=10)
    legend_outside(ax, shaded=paths is not None and dim >= 2, below=dim >= 2)
    _notes(fig, ax, notes, low=dim >= 2)
    return fig


def _draw_curve(ax: plt.Axes, objective: Any) -> None:
    lo, hi = objective.lower, objective.upper
    x = np.linspace(lo[0], hi[0], 2000)
    y = np.asarray(objective(x[:, None]), np.float64)
    limits = _robust_limits(y)
    ax.plot(x, _break_far(y, limits), color=PALETTE[0], lw=2, label=objective.name)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")


def _draw_contour(
    fig: Any, ax: plt.Axes, objective: Any, grid: int, axes: tuple[int, int], point
) -> list[str]:
    """Filled contours of f - min on a log scale; returns the caption notes."""
    i, j = axes
    lo, hi = objective.lower, objective.upper
    notes = []
    gx, gy = np.meshgrid(np.linspace(lo[i], hi[i], grid), np.linspace(lo[j], hi[j], grid))
    if point is None:
        pts = np.stack([gx, gy], axis=-1)
    else:
        pts = np.broadcast_to(point, gx.shape + (objective.dim,)).copy()
        pts[..., i], pts[..., j] = gx, gy
    z = np.asarray(objective(pts), np.float64)
    finite = np.isfinite(z)
    if finite.any():
        # log scale: test functions span many orders of magnitude around the minimum
        shifted = z - np.min(z[finite])
        spread = float(np.quantile(shifted[finite], 0.99))
        delta = max(1e-12, 1e-6 * spread)
        shown = np.where(finite, np.log10(shifted + delta), np.nan)
        cs = ax.contourf(gx, gy, shown, levels=30, cmap="viridis")
        bar = fig.colorbar(cs, ax=ax, label="f minus its smallest value in the plot")
        bar.locator = MaxNLocator(integer=True)
        bar.formatter = FuncFormatter(lambda v, _: f"$10^{{{v:.0f}}}$")
        bar.update_ticks()
    if not finite.all():
        notes.append(f"f not finite at {int((~finite).sum())} grid points (blank)")
    ax.set_xlabel(f"x{i + 1}")
    ax.set_ylabel(f"x{j + 1}")
    return notes


def _draw_paths(
    ax: plt.Axes,
    objective: Any,
    paths: Any,
    statuses: Sequence[str] | None,
    max_paths: int,
    axes: tuple[int, int] = (0, 1),
    color: Any = "white",
) -> list[str]:
    """Up to ``max_paths`` recorded paths, to their last finite point; returns the notes."""
    dim = objective.dim
    i, j = axes
    paths = np.asarray(paths, np.float64)
    statuses = list(statuses) if statuses is not None else ["?"] * len(paths)
    shown = min(len(paths), max_paths)
    bad = sum(str(s).startswith("diverged") for s in statuses)
    labelled = set()

    def label(name: str) -> str:
        if name in labelled:
            return "_"
        labelled.add(name)
        return name

    for k in range(shown):
        p = paths[k]
        keep = np.all(np.isfinite(p), axis=-1)
        p = p[keep]
        if not len(p):
            continue
        if dim == 1:
            fy = np.asarray(objective(p), np.float64)
            ax.plot(p[:, 0], fy, ".-", color=PALETTE[3], alpha=0.5, ms=3, lw=0.8,
                    label=label("path"))  # fmt: skip
        else:
            ax.plot(p[:, i], p[:, j], "-", color=color, alpha=0.8, lw=0.9, label=label("path"))
            ax.plot(p[0, i], p[0, j], "o", color=color, ms=3, label=label("start"))
            diverged = str(statuses[k]).startswith("diverged")
            ax.plot(p[-1, i], p[-1, j], "x" if diverged else ".", color=PALETTE[1], ms=7,
                    label=label("last finite point" if diverged else "end"))  # fmt: skip
    notes = [f"{shown} of {len(paths)} runs drawn"]
    if dim > 2:
        notes.append(f"paths projected onto (x{i + 1}, x{j + 1})")
    if bad:
        notes.append(f"{bad} of {len(paths)} runs diverged (drawn to their last finite point, x)")
    return notes


# -------------------------------------------------------------------------------------
# Trajectories


def _setting_labels(trajectory: Any) -> tuple[list[str], list[tuple[int, ...]]]:
    """A label and an index per setting of a trajectory's sweep."""
    shape = trajectory.status.shape[: len(trajectory.sweep)]
    labels, index = [], []
    for idx in np.ndindex(*shape):
        parts = ", ".join(
            f"{k}={float(np.asarray(trajectory.hyperparameters[k])[idx[n]]):g}"
            for n, k in enumerate(trajectory.sweep)
        )
        labels.append(f"{trajectory.optimizer} ({parts})" if parts else trajectory.optimizer)
        index.append(idx)
    return labels, index


def _resolve_objective(trajectory: Any, objective: Any) -> Any:
    """The objective to draw under the paths: the one given, else the registered one of
    the trajectory's name and dimension; None when there is none."""
    if objective is not None:
        return objective
    from jaxcalc import objectives
    from jaxcalc.errors import JaxcalcError

    try:
        return objectives.get(trajectory.objective, trajectory.params.shape[-1])
    except (JaxcalcError, TypeError, ValueError):
        return None


def plot_trajectory(
    trajectory: Any,
    *,
    objective: Any = None,
    kind: str = "auto",
    ax: plt.Axes | None = None,
    max_paths: int = 30,
) -> Any:
    """The runs of a :class:`~jaxcalc.Trajectory`: convergence bands, and paths on the
    contour for an objective of two (or, sliced, more) dimensions.

    Args:
      trajectory: what :func:`jaxcalc.optimize` returned.
      objective: the objective under the paths (default: the registered one of the
        trajectory's name and dimension).
      kind: ``"convergence"`` (median f and its quartiles over the starts against steps,
        one band per setting), ``"paths"``, or ``"auto"``: both side by side when the
        paths can be drawn, else the convergence alone.
      ax: draw one kind into this axes (``kind="auto"`` then means convergence).

    Returns:
      The axes drawn into (an array of two for both kinds).
    """
    if kind not in ("auto", "convergence", "paths"):
        raise ConfigError(f"kind={kind!r}: use 'auto', 'convergence' or 'paths'")
    target = _resolve_objective(trajectory, objective) if kind != "convergence" else None
    if kind == "paths" and target is None:
        raise ConfigError(
            f"no objective {trajectory.objective!r} to draw the paths on; pass objective="
        )
    if ax is not None or kind != "auto" or target is None:
        one = kind if kind != "auto" else "convergence"
        fig, ax = _new_axes(ax, (6.4, 4.4) if one == "convergence" else (6.4, 5.0))
        if one == "convergence":
            plot_convergence(trajectory, ax=ax)
        else:
            _draw_trajectory_paths(ax, trajectory, target, max_paths)
        return ax
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.8), layout="constrained")
    plot_convergence(trajectory, ax=axes[0])
    _draw_trajectory_paths(axes[1], trajectory, target, max_paths)
    return axes


def plot_convergence(trajectories: Any, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Convergence bands of one or several :class:`~jaxcalc.Trajectory` objects on one
    axes, to compare optimizers: one colour per optimizer (shades of it for the settings
    of a sweep), the median f over the starts and its quartile band against steps.

    Returns:
      The axes.
    """
    many = list(trajectories) if isinstance(trajectories, list | tuple) else [trajectories]
    if not many:
        raise ConfigError("plot_convergence: no trajectories given")
    settings: dict[str, list[str]] = {}
    for t in many:
        settings.setdefault(t.optimizer, []).extend(_setting_labels(t)[0])
    styles = optimizer_styles(settings)
    fig, ax = _new_axes(ax, (6.4, 4.4))
    low, high = np.inf, -np.inf
    notes: list[str] = []
    for t in many:
        lo, hi = _draw_convergence(ax, t, styles, notes)
        low, high = min(low, lo), max(high, hi)
    if low > 0 and np.isfinite(high):
        ax.set_yscale("log")
    elif low == 0 and high > 0:  # runs that reach f = 0 exactly: linear near 0
        ax.set_yscale("symlog", linthresh=max(1e-300, 1e-10 * high))
    runs = max(int(np.prod(t.status.shape)) for t in many)
    ax.set_xlabel("step")
    ax.set_ylabel("f (median over starts, quartile band)" if runs > 1 else "f")
    objectives = ", ".join(dict.fromkeys(t.objective for t in many))
    names = ", ".join(dict.fromkeys(t.optimizer for t in many))
    ax.set_title(f"{names} on {objectives}: convergence", fontsize=10)
    ax.grid(alpha=0.3)
    legend_outside(ax)
    _notes(fig, ax, notes)
    return ax


def _draw_convergence(
    ax: plt.Axes, trajectory: Any, styles: dict[str, dict[str, Any]], notes: list[str]
) -> tuple[float, float]:
    """One trajectory's bands; returns the lowest lower and the highest upper quartile."""
    labels, index = _setting_labels(trajectory)
    steps = trajectory.recorded_steps
    values = np.asarray(trajectory.values, np.float64)
    low, high = np.inf, -np.inf
    for label, idx in zip(labels, index, strict=True):
        y = values[idx] if idx else values
        y = y.reshape(-1, y.shape[-1])
        y = np.where(np.isfinite(y), y, np.nan)
        bad = int((~np.isfinite(y[:, -1])).sum())
        if bad:
            notes.append(f"{label}: {bad} of {len(y)} runs end non-finite (curves stop)")
        finite = np.isfinite(y).any(axis=0)
        filled = np.where(finite[None, :], y, 0.0)
        q25, med, q75 = (
            np.where(finite, np.nanquantile(filled, q, axis=0), np.nan) for q in (0.25, 0.5, 0.75)
        )
        low = min(low, float(np.nanmin(q25, initial=np.inf)))
        high = max(high, float(np.nanmax(q75, initial=-np.inf)))
        style = styles[label]
        ax.plot(steps, med, label=label, lw=1.8, **style)
        if len(y) > 1:
            ax.fill_between(steps, q25, q75, color=style["color"], alpha=0.18, lw=0)
    return low, high


def _draw_trajectory_paths(ax: plt.Axes, trajectory: Any, objective: Any, max_paths: int) -> None:
    params = np.asarray(trajectory.params, np.float64)
    status = np.asarray(trajectory.status)
    paths = params.reshape(-1, *params.shape[-2:])
    statuses = status.reshape(-1)
    point = None
    if objective.dim > 2:  # slice through the best final point found
        finals = np.asarray(trajectory.final_values, np.float64).reshape(-1)
        ends = np.asarray(trajectory.final_params, np.float64).reshape(-1, objective.dim)
        if np.isfinite(finals).any() and objective.minimizers is None:
            point = ends[int(np.nanargmin(np.where(np.isfinite(finals), finals, np.nan)))]
    plot_objective(
        objective,
        paths=paths,
        statuses=statuses,
        max_paths=max_paths,
        title=f"{trajectory.optimizer} on {objective.name}: paths",
        slice_at=point,
        ax=ax,
    )


def plot_hyperparameter_history(
    trajectory: Any, name: str | None = None, ax: plt.Axes | None = None, log: bool = False
) -> plt.Figure:
    """The value a scheduled hyperparameter took at each recorded step, one line per sweep
    point (from ``trajectory.hyperparameter_history``).

    The x axis is the step that used the value (record ``i`` was produced by step
    ``i * record_every - 1``); the start, which no step produced, is not drawn.
    """
    history = getattr(trajectory, "hyperparameter_history", {}) or {}
    if not history:
        raise ConfigError("this trajectory has no scheduled hyperparameter to plot")
    if name is None:
        name = next(iter(history))
    if name not in history:
        raise ConfigError(
            f"no schedule for {name!r} in this trajectory; scheduled: {', '.join(history)}"
        )
    values = np.asarray(history[name], np.float64)
    lead = values.shape[:-1]
    values = values.reshape(-1, values.shape[-1])[:, 1:]
    steps = np.arange(1, values.shape[-1] + 1) * trajectory.record_every - 1
    sweep = tuple(trajectory.sweep)
    fig = ax.figure if ax is not None else plt.figure(figsize=(6, 3.5))
    ax = ax if ax is not None else fig.add_subplot()
    for i, row in enumerate(values):
        index = np.unravel_index(i, lead) if lead else ()
        label = ", ".join(
            f"{k}={trajectory.hyperparameters[k][j]:g}" for k, j in zip(sweep, index, strict=True)
        )
        ax.plot(steps, row, "-", lw=1.2, label=label or None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(name)
    ax.set_title(f"{trajectory.optimizer}: {name} by step")
    if sweep and len(values) <= 12:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
