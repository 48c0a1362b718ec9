"""Hypergradient descent on the learning rate of SGD and adam, on Rosenbrock.

The meta-objective is the averaged loss of a whole run: the mean of f over the 201 recorded
points of a 200-step run, averaged over 16 starts. ``jc.hypergradient`` gives its gradient
with respect to the learning rate, through every step of every run; gradient descent on
``log(learning_rate)`` with that gradient tunes the rate. A sweep of the rate over a grid
(``jc.optimize``, the engine's own runs) shows the meta-objective the descent is walking on.

Usage:
    python experiments/hypergradient/reproduce.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxcalc as jc  # noqa: E402
from jaxcalc.plotting import save_figure  # noqa: E402

HERE = Path(__file__).resolve().parent
STEPS, STARTS, OUTER = 200, 16, 40
SETTINGS = {  # optimizer: (first learning rate, meta step on log(learning rate), sweep grid)
    "sgd": (1e-5, 0.3, np.geomspace(1e-5, 3e-3, 15)),
    "adam": (1e-3, 0.3, np.geomspace(1e-3, 1.0, 15)),
}


def meta_loss(h) -> tuple[float, float]:
    """The meta-objective (mean over starts) and its derivative by log(learning rate)."""
    lr = float(h.hyperparameters["learning_rate"])
    return float(np.mean(h.loss)), float(np.mean(h.gradient["learning_rate"])) * lr


def descend(optimizer: str, starts: np.ndarray) -> dict[str, list[float]]:
    lr, meta_step, _ = SETTINGS[optimizer]
    log_lr = np.log(lr)
    path: dict[str, list[float]] = {"learning_rate": [], "loss": [], "finite": []}
    for _ in range(OUTER):
        h = jc.hypergradient(
            "rosenbrock", optimizer, starts, STEPS, loss="mean", learning_rate=float(np.exp(log_lr))
        )
        loss, slope = meta_loss(h)
        path["learning_rate"].append(float(np.exp(log_lr)))
        path["loss"].append(loss)
        path["finite"].append(bool(h.finite.all()))
        # a normalised step on log(lr): the size is set by meta_step, the sign by the slope
        log_lr -= meta_step * np.sign(slope) * min(1.0, abs(slope) / max(abs(loss), 1e-300))
    return path


def sweep(optimizer: str, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The meta-objective over a grid of rates, and where some run diverged."""
    grid = SETTINGS[optimizer][2]
    t = jc.optimize("rosenbrock", optimizer, starts, STEPS, gtol=1e-300, learning_rate=list(grid))
    diverged = np.char.startswith(t.status.astype(str), "diverged").any(axis=-1)
    return grid, t.values.mean(axis=(-1, -2)), diverged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    starts = np.random.default_rng(0).uniform([-2.0, -1.0], [2.0, 3.0], size=(STARTS, 2))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4))
    results = {}
    for optimizer in SETTINGS:
        path = descend(optimizer, starts)
        grid, losses, diverged = sweep(optimizer, starts)
        best = int(np.nanargmin(np.where(diverged, np.inf, losses)))
        results[optimizer] = {
            **path,
            "sweep_learning_rate": grid.tolist(),
            "sweep_loss": losses.tolist(),
            "sweep_diverged": diverged.tolist(),
            "sweep_best_learning_rate": float(grid[best]),
            "sweep_best_loss": float(losses[best]),
        }
        axes[0].plot(path["learning_rate"], label=optimizer)
        axes[1].plot(path["loss"], label=optimizer)
        kept = np.where(diverged, np.nan, losses)
        (line,) = axes[2].plot(grid, kept, "o-", ms=3, label=f"{optimizer}: sweep")
        if diverged.any():
            axes[2].plot(
                grid[diverged],
                np.full(int(diverged.sum()), 2e3),
                "x",
                color=line.get_color(),
                label=f"{optimizer}: some run diverged",
            )
        axes[2].plot(
            path["learning_rate"][-1],
            path["loss"][-1],
            "*",
            ms=14,
            color=line.get_color(),
            label=f"{optimizer}: after hypergradient descent",
        )
        print(
            f"{optimizer}: learning rate {path['learning_rate'][0]:.2e} -> "
            f"{path['learning_rate'][-1]:.3e}, meta-loss {path['loss'][0]:.4g} -> "
            f"{path['loss'][-1]:.4g}; sweep best {grid[best]:.3e} (meta-loss {losses[best]:.4g})"
        )
    axes[0].set(xlabel="outer step", ylabel="learning rate", yscale="log", title="learning rate")
    axes[1].set(
        xlabel="outer step", ylabel="mean f over the run", yscale="log", title="meta-objective"
    )
    axes[2].set(
        xlabel="learning rate",
        ylabel="mean f over the run",
        xscale="log",
        yscale="log",
        title="sweep (engine runs) and where the descent ended",
        ylim=(1.0, 5e3),
    )
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    axes[2].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    save_figure(fig, out / "hypergradient_descent.png")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
