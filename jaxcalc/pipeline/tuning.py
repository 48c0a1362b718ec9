"""Tune, then compare: the two stages of a config with ``[tuning]``.

1. The *tuning stage* is an ordinary experiment (:func:`tuning_stage`): the tuned
   optimizers only, each sweeping its search space (:mod:`~jaxcalc.pipeline.tuning_space`),
   on starts sampled from the tuning seeds and, for objectives with instances (BBOB), on
   the tuning instances. Every setting of an optimizer runs as lanes of one compiled
   program. Its results go to ``tuning/`` in the results folder.
2. Each setting's criterion is computed over all its runs on all tuning objectives
   (:func:`criterion_rows`), the best setting of each optimizer is chosen, and
   ``tuning.csv`` lists every setting (value, chosen flag, evaluations spent).
3. The *comparison stage* (:func:`comparison_stage`) is the config itself, with each
   tuned optimizer's hyperparameters set to the chosen ones, on the config's ``seed``
   (never a tuning seed) and its own instances (never tuning ones). Its results fill the
   folder as any run's do, and its report has a "Tuning" section.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline import budget as budgets
from jaxcalc.pipeline import metrics
from jaxcalc.pipeline.config.schema import MAX_SWEEP, ExperimentConfig
from jaxcalc.pipeline.config.validate_tuning import tuning_objectives
from jaxcalc.pipeline.folder import OutputFolder
from jaxcalc.pipeline.results import read_csv, read_manifest, write_csv
from jaxcalc.pipeline.tables import tidy_rows
from jaxcalc.pipeline.tuning_space import (
    SETTING,
    Tabulated,
    configuration_cost,
    sample_settings,
    settings_count,
)

__all__ = [
    "LOWER_IS_BETTER",
    "TUNING_DIR",
    "TUNING_FILE",
    "comparison_stage",
    "criterion_rows",
    "criterion_value",
    "prepare_folder",
    "record_choice",
    "resumes",
    "search_settings",
    "tuning_stage",
]

TUNING_DIR = "tuning"
TUNING_FILE = "tuning.csv"
#: which way each criterion improves
LOWER_IS_BETTER = {"median_final_gap": True, "success_rate": False, "ert": True}


def search_settings(config: ExperimentConfig) -> dict[str, dict[str, list[float]]]:
    """Per tuned optimizer label, the settings its search tries (a column per tuned
    hyperparameter)."""
    tuning = config.tuning
    dims = [o.dim for o in tuning_objectives(config, tuning)]
    runs = len(tuning.seeds) * config.starts.count
    out = {}
    for o in config.optimizers:
        if o.label not in tuning.space:
            continue
        space = tuning.space[o.label]
        cost = configuration_cost(config.run, o.build(), dims, runs)
        n = settings_count(tuning.method, space, tuning.budget, cost, tuning.samples, MAX_SWEEP)
        out[o.label] = sample_settings(tuning.method, space, n, tuning.seeds[0])
    return out


def tuning_stage(config: ExperimentConfig) -> ExperimentConfig:
    """The tuning stage of ``config``: its tuned optimizers, each sweeping its search
    space, on the tuning seeds and instances. A grid, or draws of one hyperparameter, are
    the optimizer's own sweep; draws of several run through
    :class:`~jaxcalc.pipeline.tuning_space.Tabulated` (swept ``setting``)."""
    tuning = config.tuning
    optimizers = []
    for o in config.optimizers:
        settings = search_settings(config).get(o.label)
        if settings is None:
            continue
        space = tuning.space[o.label]
        if tuning.method == "grid":
            swept = {k: tuple(space[k]) for k in space}
            optimizer, definition = o.optimizer, dict(o.definition)
        elif len(settings) == 1:
            swept = {k: tuple(v) for k, v in settings.items()}
            optimizer, definition = o.optimizer, dict(o.definition)
        else:
            swept = {SETTING: tuple(float(i) for i in range(len(next(iter(settings.values())))))}
            optimizer = Tabulated.of(o.build(), settings)
            definition = {**o.definition, "settings": settings}
        fixed = {k: v for k, v in o.hyperparameters.items() if k not in settings}
        optimizers.append(
            dataclasses.replace(
                o,
                hyperparameters=MappingProxyType({**fixed, **swept}),
                optimizer=optimizer,
                definition=MappingProxyType(definition),
            )
        )
    return dataclasses.replace(
        config,
        name=f"{config.name}-tuning",
        seed=tuning.seeds[0],
        starts=dataclasses.replace(config.starts, seeds=tuning.seeds),
        objectives=tuple(tuning_objectives(config, tuning)),
        optimizers=tuple(optimizers),
        output=dataclasses.replace(config.output, dir=None),
        tuning=None,
    )


def comparison_stage(config: ExperimentConfig, chosen: Mapping[str, Mapping[str, float]]):
    """``config`` with each tuned optimizer's hyperparameters set to ``chosen`` (the rest
    as given); its ``tuning`` records the choice."""
    optimizers = []
    for o in config.optimizers:
        if o.label in chosen:
            hyper = {**o.hyperparameters, **chosen[o.label]}
            o = dataclasses.replace(o, hyperparameters=MappingProxyType(hyper))
        optimizers.append(o)
    frozen = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in chosen.items()})
    return dataclasses.replace(
        config,
        optimizers=tuple(optimizers),
        tuning=dataclasses.replace(config.tuning, chosen=frozen),
    )


def criterion_value(
    criterion: str, precision: np.ndarray, evaluations_to_target: np.ndarray, spent: np.ndarray
) -> float:
    """One setting's criterion over all its runs: the median of ``f - f_opt`` (a
    non-finite gap counts as infinite), the fraction of runs that reached the target, or
    the expected running time (evaluations of all runs until the target, over the
    successes; infinite without one)."""
    if criterion == "median_final_gap":
        gap = np.where(np.isfinite(precision), precision, np.inf)
        return float(np.median(gap))
    if criterion == "success_rate":
        return float(np.mean(evaluations_to_target >= 0))
    if criterion == "ert":
        return float(metrics.expected_running_time(evaluations_to_target, spent))
    raise ConfigError(f"tuning.criterion: unknown criterion {criterion!r}")


def _float(text: str) -> float:
    return float(text) if text not in ("", "None", "nan") else math.nan


def criterion_rows(
    stage: ExperimentConfig,
    settings: Mapping[str, Mapping[str, list[float]]],
    runs: list[dict[str, str]],
    criterion: str,
) -> list[dict[str, Any]]:
    """One row per setting tried (``runs``: the tuning stage's runs.csv): the optimizer,
    the setting, its criterion value, whether it is chosen (the best, the first of
    equals), the evaluations it spent and its runs."""
    dims = {o.label: o.dim for o in stage.objectives}
    c = {o.label: budgets.gradient_cost_for(stage.run, o.dim) for o in stage.objectives}
    out = []
    for label, columns in settings.items():
        names = list(columns)
        n = len(columns[names[0]])
        mine = [row for row in runs if row["optimizer"] == label]
        tabulated = any(
            o.label == label and isinstance(o.optimizer, Tabulated) for o in stage.optimizers
        )
        rows = []
        for i in range(n):
            if tabulated:
                sel = [row for row in mine if int(_float(row[f"hp_{SETTING}"])) == i]
            else:
                sel = [
                    row
                    for row in mine
                    if all(
                        np.isclose(_float(row[f"hp_{k}"]), columns[k][i], rtol=1e-6) for k in names
                    )  # fmt: skip
                ]
            precision = np.array([_float(r["precision"]) for r in sel])
            to_target = np.array([_float(r["evaluations_to_target"]) for r in sel])
            spent_table = np.array(
                [
                    _float(r["evaluations"] if "evaluations" in r else r["function_evaluations"])
                    for r in sel
                ]  # fmt: skip
            )
            cost = sum(
                float(
                    budgets.evaluation_cost(
                        _float(r["function_evaluations"]),
                        _float(r["gradient_evaluations"]),
                        _float(r["hessian_evaluations"]),
                        dims[r["objective"]],
                        c[r["objective"]],
                    )
                )  # fmt: skip
                for r in sel
            )
            spent = float(np.sum(spent_table)) if "evaluations" in (sel[0] if sel else {}) else cost
            value = criterion_value(criterion, precision, to_target, spent_table)
            rows.append({
                "optimizer": label,
                "setting": ", ".join(f"{k}={columns[k][i]:.6g}" for k in names),
                **{f"hp_{k}": columns[k][i] for k in names},
                "criterion": criterion,
                "value": value,
                "chosen": False,
                "evaluations": spent,
                "runs": len(sel),
            })  # fmt: skip
        lower = LOWER_IS_BETTER[criterion]
        keyed = [(-r["value"] if not lower else r["value"], j) for j, r in enumerate(rows)]
        finite = [(v, j) for v, j in keyed if not math.isnan(v)]
        if finite:
            rows[min(finite)[1]]["chosen"] = True
        out.extend(rows)
    return out


def chosen_settings(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per optimizer, the chosen setting's hyperparameters (from :func:`criterion_rows`)."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        if row["chosen"]:
            out[row["optimizer"]] = {k[3:]: float(v) for k, v in row.items() if k.startswith("hp_")}
    missing = sorted({r["optimizer"] for r in rows} - set(out))
    if missing:
        raise ConfigError(
            f"tuning: no setting of '{missing[0]}' gave a criterion value (every run failed "
            "or an objective has no f_opt); widen [tuning.space] or pick another criterion"
        )
    return out


def record_choice(config: ExperimentConfig, stage: ExperimentConfig, out: Path):
    """After the tuning stage (its results in ``out/tuning``): write ``out/tuning.csv``
    and return the comparison stage with the chosen settings."""
    rows = criterion_rows(
        stage,
        search_settings(config),
        read_csv(out / TUNING_DIR / "runs.csv"),
        config.tuning.criterion,
    )
    write_csv(out / TUNING_FILE, tidy_rows(rows, lead=("optimizer", "setting"), tail=()))
    return comparison_stage(config, chosen_settings(rows))


def prepare_folder(out_dir: str | Path, overwrite: bool, resume: bool, shard: Any) -> Path:
    """The results folder of a tuned run, checked (refused when it holds results and
    neither ``overwrite`` nor ``resume`` is given); a shard, or a run over several
    processes, is refused."""
    from jaxcalc.engine import distributed

    if shard is not None:
        raise ConfigError(
            "tuning: a config with [tuning] cannot be sharded (the comparison depends on "
            "every tuning run); run it without --shard"
        )
    if distributed.is_distributed():
        raise ConfigError(
            "tuning: a config with [tuning] runs in one process (the comparison depends on "
            "every tuning run); run it without --coordinator"
        )
    out = OutputFolder(out_dir, overwrite=overwrite, resume=resume).check().path
    if overwrite:
        (out / TUNING_FILE).unlink(missing_ok=True)
    return out


def resumes(folder: Path, resume: bool) -> bool:
    """Whether a stage continues the run in ``folder`` (asked, and one was started)."""
    return resume and _has_manifest(folder)


def _has_manifest(folder: Path) -> bool:
    try:
        return read_manifest(folder) is not None
    except Exception:  # noqa: BLE001 - a damaged manifest: the stage starts again
        return False
