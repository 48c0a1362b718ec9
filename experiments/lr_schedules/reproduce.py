"""D2L's learning-rate scheduling section (12.11), on a landscape that ships with jaxcalc.

D2L trains LeNet on Fashion-MNIST with SGD under a constant rate, a factor scheduler, a
multi-factor scheduler and cosine schedules with and without warmup. The dataset cannot be
downloaded here, so the same schedules run SGD on D2L's own noisy quadratic from its SGD
section (12.4), ``f(x1, x2) = x1^2 + 2 x2^2``, made noisy deterministically: a ripple
``0.01 (cos(300 x1) + cos(300 x2))`` whose gradient (amplitude 3, far faster than any step)
acts on SGD as bounded gradient noise, different for every run because every run is at a
different point. All five schedules run side by side in one compiled program (one
``optimize_many`` call), 500 starts each.

Usage:
    python experiments/lr_schedules/reproduce.py [--out DIR]
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
OBJECTIVE = "x1^2 + 2*x2^2 + 0.01*(cos(300*x1) + cos(300*x2))"
STEPS, STARTS, RECORD_EVERY = 600, 500, 5
BASE = 0.1  # the base learning rate of every schedule (stable: 2/(2*2) = 0.5 bounds it)

SCHEDULES = {
    "constant": jc.schedule("constant", value=BASE),
    # D2L's FactorScheduler: lr = max(lr * factor, stop_factor_lr) every update
    "factor": jc.schedule(
        "exponential_decay", init_value=BASE, transition_steps=1, decay_rate=0.99, end_value=1e-3
    ),
    # D2L's MultiFactorScheduler: halve the rate at given steps
    "multi-factor": jc.schedule(
        "piecewise_constant", init_value=BASE, boundaries_and_scales={"200": 0.5, "400": 0.5}
    ),
    # D2L's CosineScheduler to a final rate, without and with a linear warmup
    "cosine": jc.schedule("cosine_decay", init_value=BASE, decay_steps=STEPS, alpha=0.01),
    "cosine+warmup": jc.schedule(
        "warmup_cosine_decay",
        init_value=0.0,
        peak_value=BASE,
        warmup_steps=50,
        decay_steps=STEPS,
        end_value=1e-3,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    starts = np.random.default_rng(0).uniform(-2.0, 2.0, size=(STARTS, 2))
    objective = jc.parse(OBJECTIVE)
    runs = jc.optimize_many(
        objective,
        [("sgd", {"learning_rate": s}) for s in SCHEDULES.values()],
        starts,
        STEPS,
        record_every=RECORD_EVERY,
        gtol=1e-300,  # every run takes every step, as a training run does
    )
    steps = np.arange(STEPS // RECORD_EVERY + 1) * RECORD_EVERY
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    rows = {}
    for (label, _), t in zip(SCHEDULES.items(), runs, strict=True):
        lr = t.hyperparameter_history["learning_rate"]
        left.plot(steps[1:] - 1, lr[1:], label=label)
        # the smooth part x1^2 + 2 x2^2: how far SGD got, without the ripple's +-0.02
        smooth = t.params[..., 0] ** 2 + 2 * t.params[..., 1] ** 2
        q25, q50, q75 = np.quantile(smooth, [0.25, 0.5, 0.75], axis=0)
        (line,) = right.plot(steps, q50, label=label)
        right.fill_between(steps, q25, q75, color=line.get_color(), alpha=0.15)
        final = smooth[:, -1]
        rows[label] = {
            "median_final_q": float(np.median(final)),
            "q25_final_q": float(np.quantile(final, 0.25)),
            "q75_final_q": float(np.quantile(final, 0.75)),
            "median_q_at_step_100": float(np.median(smooth[:, 100 // RECORD_EVERY])),
            "median_final_f": float(np.median(t.final_values)),
            "statuses": t.status_counts(),
        }
    left.set(xlabel="step", ylabel="learning rate", title="schedules (as recorded per step)")
    right.set(
        xlabel="step",
        ylabel="x1^2 + 2 x2^2 (median, quartile band)",
        yscale="log",
        title=f"SGD on the rippled quadratic, {STARTS} starts",
    )
    left.legend()
    right.legend()
    fig.tight_layout()
    save_figure(fig, out / "lr_schedules.png")
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"compile {runs[0].compile_seconds * len(runs):.2f} s (one program for all five)")
    for label, row in rows.items():
        print(
            f"{label:14s} final x1^2 + 2 x2^2: median {row['median_final_q']:.2e} "
            f"[{row['q25_final_q']:.2e}, {row['q75_final_q']:.2e}]; "
            f"at step 100: {row['median_q_at_step_100']:.2e}; "
            f"median final f {row['median_final_f']:.4f}"
        )


if __name__ == "__main__":
    main()
