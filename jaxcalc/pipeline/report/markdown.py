"""report.md: the run's header, its budget convention, the summary table and the figures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jaxcalc.pipeline.budget import cost_label, gradient_cost_text

__all__ = ["report_text", "sig3"]

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


#: the table of objectives without a known minimum: (summary.csv quantity, header); each
#: cell is the median [lower quartile, upper quartile] over the runs' final values
_NO_MINIMUM_COLUMNS = (
    ("final_value", "final f"),
    ("final_heldout_loss", "final held-out loss"),
    ("final_heldout_accuracy", "final held-out accuracy"),
)
#: the header of the final value for objectives from data (whose f is the training loss)
_TRAINING_LOSS = ("final training loss", "final f (training loss on data)")


def swept(meta: dict[str, Any]) -> list[str]:
    """The swept hyperparameters of every group, in order of first appearance."""
    names: list[str] = []
    for group in meta.get("groups", []):
        names += [k for k in group.get("sweep", []) if k not in names]
    return names


def _diverged(row: dict[str, str]) -> int:
    """The runs of a summary row that ended diverged, non-finite or unbounded."""
    return sum(
        int(float(v))
        for k, v in row.items()
        if k.startswith(("status_diverged", "status_unbounded")) and v not in ("", None)
    )


def _report_table(meta: dict[str, Any], summary: list[dict[str, str]]) -> list[str]:
    """The readable subset of summary.csv as a Markdown table (3 significant digits)."""
    hp = swept(meta)
    header = [h for _, h in _REPORT_COLUMNS[:2]] + hp + [h for _, h in _REPORT_COLUMNS[2:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary:
        cells = [row.get("objective", ""), row.get("optimizer", "")]
        cells += [sig3(row.get(f"hp_{k}", "")) for k in hp]
        for column, _ in _REPORT_COLUMNS[2:]:
            value = _diverged(row) if column == "diverged" else row.get(column, "")
            cells.append(sig3(value))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _spread(row: dict[str, str], quantity: str) -> str:
    """``median [q25, q75]`` of a quantity's final values over a row's runs (3 significant
    digits; "-" when the summary has no median)."""
    if quantity == "final_value":
        names = ("final_value_median", "final_value_q25", "final_value_q75")
    else:
        names = tuple(f"{q}_{quantity}" for q in ("median", "q25", "q75"))
    median, low, high = (sig3(row.get(name, "")) for name in names)
    if median == "-":
        return "-"
    return median if low == "-" or high == "-" else f"{median} [{low}, {high}]"


def _no_minimum_table(meta: dict[str, Any], summary: list[dict[str, str]]) -> list[str]:
    """The rows of objectives without a known minimum as a Markdown table: their final
    values (the training loss, for an objective from data), and the held-out loss and
    accuracy of objectives that record them, each as median [q25, q75] over the runs."""
    hp = swept(meta)
    data = [bool(row.get("median_final_heldout_loss")) for row in summary]
    shown = [
        (quantity, title)
        for quantity, title in _NO_MINIMUM_COLUMNS
        if quantity == "final_value" or any(row.get(f"median_{quantity}") for row in summary)
    ]
    if all(data):
        shown[0] = ("final_value", _TRAINING_LOSS[0])
    elif any(data):
        shown[0] = ("final_value", _TRAINING_LOSS[1])
    header = ["objective", "optimizer", *hp, "runs", *(t for _, t in shown), "diverged"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary:
        cells = [row.get("objective", ""), row.get("optimizer", "")]
        cells += [sig3(row.get(f"hp_{k}", "")) for k in hp]
        cells.append(sig3(row.get("runs", "")))
        cells += [_spread(row, quantity) for quantity, _ in shown]
        cells.append(str(_diverged(row)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _no_minimum_text(known: bool, rows: list[dict[str, str]]) -> list[str]:
    """The paragraph before the table of objectives without a known minimum."""
    data = any(row.get("median_final_heldout_loss") for row in rows)
    lead = (
        "**Objectives without a known minimum** (no f_opt, so no success, f - f_opt or ERT)."
        if known
        else "No objective has a known minimum (f_opt): no success, f - f_opt or ERT."
    )
    return [
        f"{lead} Each cell is the median [lower quartile, upper quartile] over the runs' "
        "final values (the finite ones; diverged counts the runs that ended diverged, "
        "non-finite or unbounded)."
        + (
            " For an objective from data, f is the full training loss with its penalty; "
            "the held-out loss (without the penalty) and accuracy are on the held-out rows, "
            "at the record of the final value."
            if data
            else ""
        )
        + " Numbers have 3 significant digits; `summary.csv` holds them at full precision.",
        "",
    ]


def _budget_text(run_cfg: dict[str, Any]) -> list[str]:
    """The paragraph on the evaluation budget (none without one)."""
    if run_cfg.get("budget") is None and run_cfg.get("budget_per_dim") is None:
        return []
    budget = (
        f"{run_cfg['budget_per_dim']} x dimension"
        if run_cfg.get("budget_per_dim") is not None
        else str(run_cfg["budget"])
    )
    return [
        f"**Evaluation budget: {budget} per run**, counted as {cost_label(run_cfg)}: "
        "f-evaluations, gradients counted "
        f"{gradient_cost_text(run_cfg.get('gradient_cost', 1.0))} each, Hessians D "
        "gradients each. Each optimizer ran the steps its cheapest step allows; records "
        "past the budget are ignored, so the success rate, the final values, "
        "the evaluations to target and the ERT below are all *within the budget*, in "
        "that convention. `budget_exhausted`: runs that used the whole budget.",
        "",
    ]


def report_text(meta, summary, sections, extra, target, tuning=(), no_minimum=()) -> str:
    """The text of report.md (``tuning``: the lines of its "Tuning" section, if any).

    The rows of objectives named in ``no_minimum`` (without a known f_opt) are not in the
    table of success rates and ERT but in a table of their final values of their own."""
    done, total = len(meta.get("groups", [])), meta.get("groups_total")
    lines = [
        f"# {meta['name']}",
        "",
        f"Status: **{meta['status']}**. Config hash `{meta['config_hash'][:12]}`, seed "
        f"{meta.get('seed', '-')}, {meta['dtype']}, started {meta['started']}, finished "
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
    budget = _budget_text(meta["config"]["run"])
    unit = "evaluations of that convention" if budget else "function evaluations"
    known = [row for row in summary if row.get("objective") not in no_minimum]
    unknown = [row for row in summary if row.get("objective") in no_minimum]
    lines += budget
    if known or not unknown:
        lines += [
            f"A run succeeds when f - f_opt <= {target:g} at a recorded step. success: the "
            "fraction of runs that did. median f - f_opt: over the runs' final values. median "
            "evals to target: over the successful runs. ERT is COCO's expected running time in "
            f"{unit} (inf: no run succeeded). diverged: runs that ended diverged, "
            "non-finite or unbounded. Numbers have 3 significant digits; `summary.csv` (and "
            "`summary.parquet`) hold every column at full precision: quartiles, steps to "
            "target, counts per status, compile and run seconds.",
            "",
            *_report_table(meta, known),
            "",
        ]
    if unknown:
        lines += [
            *_no_minimum_text(bool(known), unknown),
            *_no_minimum_table(meta, unknown),
            "",
        ]
    lines += [
        *tuning,
        "## Objectives",
        "",
        *sections,
    ]
    if extra:
        lines += ["## Across objectives", "", *extra, ""]
    return "\n".join(lines) + "\n"


def sig3(value: Any) -> str:
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
