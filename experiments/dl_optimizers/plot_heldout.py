"""Training loss and held-out accuracy over steps, mean and spread over the 100 seeds, per
optimizer, for each objective of the dl_optimizers study; and the table of final numbers.

Reads only the result files that ``jaxcalc run configs/dl_optimizers.toml`` writes::

    python experiments/dl_optimizers/plot_heldout.py RESULTS_DIR [FIGURE_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxcalc.pipeline.results import read_group_part  # noqa: E402


def load(folder: Path):
    groups = {}
    for part in sorted(folder.glob("group_*.npz")):
        arrays, summary, _ = read_group_part(part)
        row = summary[0]
        groups.setdefault(row["objective"], {})[row["optimizer"]] = arrays
    return groups


def band(ax, steps, values, label, color):
    mean, std = values.mean(0), values.std(0)
    style = "--" if label == "adamw" else "-"  # adamw lies on adam here: dashed, to show both
    ax.plot(steps, mean, style, label=label, color=color)
    ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)


def main() -> None:
    results = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else results / "figures"
    out.mkdir(parents=True, exist_ok=True)
    groups = load(results)
    names = ["sgd", "sgd_cosine", "momentum", "adam", "adamw"]
    colors = dict(zip(names, plt.cm.tab10.colors, strict=False))
    lines = ["| objective | optimizer | training loss | held-out loss | held-out accuracy |",
             "|---|---|---|---|---|"]  # fmt: skip
    fig, axes = plt.subplots(len(groups), 2, figsize=(11, 4 * len(groups)), squeeze=False)
    for row, (objective, by_optimizer) in enumerate(groups.items()):
        loss_ax, acc_ax = axes[row]
        for name, arrays in by_optimizer.items():
            steps = arrays["recorded_steps"]
            color = colors.get(name)
            band(loss_ax, steps, arrays["values"], name, color)
            band(acc_ax, steps, arrays["recorded_heldout_accuracy"], name, color)
            final = {
                "training loss": arrays["values"][:, -1],
                "held-out loss": arrays["recorded_heldout_loss"][:, -1],
                "held-out accuracy": arrays["recorded_heldout_accuracy"][:, -1],
            }
            cells = [f"{v.mean():.4f} ± {v.std():.4f}" for v in final.values()]
            lines.append(f"| {objective} | {name} | " + " | ".join(cells) + " |")
        loss_ax.set_yscale("log")
        loss_ax.set_title(f"{objective}: full training loss")
        acc_ax.set_title(f"{objective}: held-out accuracy")
        for ax in (loss_ax, acc_ax):
            ax.set_xlabel("optimizer steps")
            ax.grid(alpha=0.3)
        loss_ax.set_ylabel("mean ± std over 100 seeds")
        acc_ax.legend()
    fig.tight_layout()
    fig.savefig(out / "heldout.png", dpi=110)
    (out / "final.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
