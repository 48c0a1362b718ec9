"""Draw the learning-rate sweep figure from results/summary.csv.

    python experiments/lr_sweep/plot_sweep.py [RESULTS_DIR]

Three panels against the learning rate, one line per optimizer: the success rate
(f - f_opt <= target at a recorded step), the median final f - f_opt with its quartiles
(over all runs; a diverged run counts with its last finite value), and the fraction of
runs that diverged (statuses diverged, diverged_nonfinite, unbounded). Writes
RESULTS_DIR/figures/lr_sweep.png (default RESULTS_DIR: results/ next to this file).
"""

import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from jaxcalc.plotting import optimizer_styles  # noqa: E402

DIVERGED = ("status_diverged", "status_diverged_nonfinite", "status_unbounded")


def main(results: Path) -> Path:
    with open(results / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_opt: dict[str, list[dict]] = {}
    for row in rows:
        by_opt.setdefault(row["optimizer"], []).append(row)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    markers = "osD^v<>"
    colors = optimizer_styles({opt: [opt] for opt in by_opt})  # one colour per optimizer
    for i, (opt, group) in enumerate(by_opt.items()):
        group.sort(key=lambda r: float(r["hp_learning_rate"]))
        lr = [float(r["hp_learning_rate"]) for r in group]
        runs = [int(r["runs"]) for r in group]
        success = [float(r["success_rate"]) for r in group]
        med = [float(r["precision_median"]) for r in group]
        q25 = [float(r["precision_q25"]) for r in group]
        q75 = [float(r["precision_q75"]) for r in group]
        div = [
            sum(int(float(r.get(c) or 0)) for c in DIVERGED) / n
            for r, n in zip(group, runs, strict=True)
        ]
        color = colors[opt]["color"]
        style = dict(marker=markers[i % len(markers)], label=opt, color=color)
        axes[0].plot(lr, success, **style)
        axes[1].plot(lr, med, **style)
        axes[1].fill_between(lr, q25, q75, color=color, alpha=0.15)
        axes[2].plot(lr, div, **style)

    config = json.loads((results / "metadata.json").read_text())["config"]
    target = config["run"]["target"]
    axes[1].axhline(target, color="k", lw=0.8, ls="--", label=f"target {target:g}")
    axes[0].set_ylabel(f"success rate (f - f_opt <= {target:g})")
    axes[1].set_ylabel("final f - f_opt (median, quartile band)")
    axes[1].set_yscale("log")
    axes[2].set_ylabel("fraction of runs diverged")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylim(-0.02, 1.02)
    axes[2].set_ylim(-0.02, 1.02)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False)
    n = rows[0]["runs"] if rows else "?"
    fig.suptitle(
        f"{rows[0]['objective']}, {config['dtype']}, {n} starts per setting, "
        f"{config['run']['steps']} steps"
    )
    out = results / "figures" / "lr_sweep.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    return out


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "results"
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
