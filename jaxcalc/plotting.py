"""Figures from plain arrays and jaxcalc results. Never reads result files itself.

Non-finite values are never dropped silently: curves are broken where f is not finite
and the count of such points is written on the figure (matplotlib alone would drop them
without a word).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxcalc.errors import ConfigError, OutputError  # noqa: E402
from jaxcalc.files import probe_writable, write_atomically  # noqa: E402

__all__ = [
    "FIGURE_FORMATS",
    "check_output_path",
    "plot_function",
    "plot_hyperparameter_history",
    "plot_objective",
    "save_figure",
]

FIGURE_FORMATS = (".png", ".svg", ".pdf")


def check_output_path(path: str | os.PathLike, formats: Sequence[str] = FIGURE_FORMATS) -> Path:
    """Resolve ``path`` and check, before any computing, that a figure can be written there."""
    target = Path(path).expanduser().resolve()
    if target.suffix.lower() not in formats:
        raise OutputError(
            f"{path}: unknown figure format {target.suffix or '(none)'!r}; "
            f"use one of {', '.join(formats)}"
        )
    if target.is_dir():
        raise OutputError(f"{target} is a directory; give a file name such as plot.png")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {target}: folder {parent} does not exist")
    probe_writable(parent)
    return target


def save_figure(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Save atomically: a temporary file in the same folder, then ``os.replace``."""
    target = check_output_path(path)
    try:
        return write_atomically(
            target, lambda h: fig.savefig(h, format=target.suffix[1:], dpi=150, bbox_inches="tight")
        )
    finally:
        plt.close(fig)


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
) -> plt.Figure:
    """A curve of ``f`` over ``x_range``, optionally with f', tangent lines and a Taylor polynomial.

    Args:
      f: vectorised function of one variable.
      x_range: (a, b) with a < b.
      derivative: vectorised derivative to draw as a dashed line.
      tangents: :class:`~jaxcalc.TangentLine` objects; undefined ones are listed in a note.
      taylor: a :class:`~jaxcalc.Taylor` polynomial.
    """
    a, b = map(float, x_range)
    x = np.linspace(a, b, points)
    y = np.asarray(f(x), dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    notes = []
    bad = ~np.isfinite(y)
    limits = _robust_limits(y)
    ax.plot(x, _break_far(y, limits), label=label, color="C0", lw=2)
    if bad.any():
        notes.append(f"f not finite at {int(bad.sum())} of {points} sample points (gaps)")
    if derivative is not None:
        dy = np.asarray(derivative(x), dtype=np.float64)
        ax.plot(x, _break_far(dy, limits), "--", label=derivative_label, color="C1")
    for i, t in enumerate(tangents):
        if not t.defined:
            notes.append(f"no tangent at x = {t.x0:g}: {t.reason}")
            continue
        ax.plot(
            x, t.intercept + t.slope * x, ":", color=f"C{2 + i}", label=f"tangent: {t.equation}"
        )
        ax.plot([t.x0], [t.y0], "o", color=f"C{2 + i}")
    if taylor is not None:
        ty = np.asarray(taylor(x), dtype=np.float64)
        ax.plot(x, ty, "-.", color="C5", label=f"Taylor order {taylor.order} at {taylor.x0:g}")
        ax.plot([taylor.x0], [taylor.coefficients[0]], "s", color="C5")
    if limits is not None:
        ax.set_ylim(*limits)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlim(a, b)
    ax.set_xlabel("x")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if notes:
        fig.text(0.01, -0.02, "\n".join(notes), fontsize=8, va="top", color="0.3")
    return fig


def plot_objective(
    objective: Any,
    *,
    paths: np.ndarray | None = None,
    statuses: Sequence[str] | None = None,
    max_paths: int = 30,
    title: str = "",
    grid: int = 300,
) -> plt.Figure:
    """A contour (2-D) or a curve (1-D) of an objective over its bounds, minimisers marked.

    Args:
      objective: an :class:`~jaxcalc.objectives.Objective` of dimension 1 or 2.
      paths: optional recorded iterates ``(B, R+1, D)`` to draw on top (at most
        ``max_paths`` of them). Runs whose status starts with "diverged" are drawn to their
        last finite point and marked with an x; the caption counts them.
      statuses: the runs' statuses, aligned with ``paths``.
    """
    dim = objective.dim
    if dim not in (1, 2):
        raise ConfigError(
            f"plot_objective draws 1-D and 2-D objectives; {objective.name} has {dim}"
        )
    lo, hi = objective.lower, objective.upper
    fig, ax = plt.subplots(figsize=(6.4, 5.0 if dim == 2 else 4.4))
    notes: list[str] = []
    if dim == 1:
        _draw_curve(ax, objective)
    else:
        notes += _draw_contour(fig, ax, objective, grid)
    if objective.minimizers is not None:
        m = objective.minimizers
        if dim == 1:
            ax.plot(m[:, 0], [objective.f_opt] * len(m), "*", color="red", ms=12, label="minimiser")
        else:
            ax.plot(m[:, 0], m[:, 1], "*", color="red", ms=14, mec="white", label="minimiser")
    if paths is not None:
        notes += _draw_paths(ax, objective, paths, statuses, max_paths)
    ax.set_xlim(lo[0], hi[0])
    if dim == 2:
        ax.set_ylim(lo[1], hi[1])
    ax.set_title(title or objective.name)
    ax.legend(loc="upper right", fontsize=8)
    if notes:
        fig.text(0.01, -0.02, "\n".join(notes), fontsize=8, va="top", color="0.3")
    return fig


def _draw_curve(ax: plt.Axes, objective: Any) -> None:
    lo, hi = objective.lower, objective.upper
    x = np.linspace(lo[0], hi[0], 2000)
    y = np.asarray(objective(x[:, None]), np.float64)
    limits = _robust_limits(y)
    ax.plot(x, _break_far(y, limits), color="C0", lw=2, label=objective.name)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("x")


def _draw_contour(fig: plt.Figure, ax: plt.Axes, objective: Any, grid: int) -> list[str]:
    """Filled contours of log10(f - min); returns the caption notes."""
    lo, hi = objective.lower, objective.upper
    notes = []
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    z = np.asarray(objective(np.stack([gx, gy], axis=-1)), np.float64)
    finite = np.isfinite(z)
    if finite.any():
        # log scale: test functions span many orders of magnitude around the minimum
        shifted = z - np.min(z[finite])
        spread = np.quantile(shifted[finite], 0.99)
        delta = max(1e-12, 1e-6 * spread)
        shown = np.where(finite, np.log10(shifted + delta), np.nan)
        cs = ax.contourf(gx, gy, shown, levels=30, cmap="viridis")
        fig.colorbar(cs, ax=ax, label=f"log10(f - min + {delta:.1g})")
    if not finite.all():
        notes.append(f"f not finite at {int((~finite).sum())} grid points (blank)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return notes


def _draw_paths(
    ax: plt.Axes, objective: Any, paths: Any, statuses: Sequence[str] | None, max_paths: int
) -> list[str]:
    """Up to ``max_paths`` recorded paths, to their last finite point; returns the notes."""
    dim = objective.dim
    paths = np.asarray(paths, np.float64)
    statuses = list(statuses) if statuses is not None else ["?"] * len(paths)
    shown = min(len(paths), max_paths)
    bad = sum(str(s).startswith("diverged") for s in statuses)
    for i in range(shown):
        p = paths[i]
        keep = np.all(np.isfinite(p), axis=-1)
        p = p[keep]
        if not len(p):
            continue
        if dim == 1:
            fy = np.asarray(objective(p), np.float64)
            ax.plot(p[:, 0], fy, ".-", color="C3", alpha=0.5, ms=3, lw=0.8)
        else:
            ax.plot(p[:, 0], p[:, 1], "-", color="white", alpha=0.7, lw=0.8)
            ax.plot(p[0, 0], p[0, 1], "o", color="white", ms=3)
            marker = "x" if str(statuses[i]).startswith("diverged") else "."
            ax.plot(p[-1, 0], p[-1, 1], marker, color="red", ms=6)
    notes = [f"{shown} of {len(paths)} runs drawn"]
    if bad:
        notes.append(f"{bad} of {len(paths)} runs diverged (drawn to their last finite point, x)")
    return notes


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
