"""Config -> plan: the groups to compute, their engine arguments, and batches of groups
that share one compiled program.

A *group* is one (objective, optimizer) pair: every start and every swept hyperparameter
value of that pair runs as lanes of one :func:`jaxcalc.optimize` call. Consecutive groups
of one objective whose optimizers are stackable run as one *batch*, a single
:func:`jaxcalc.optimize_many` program.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jaxcalc.pipeline import budget as budgets

__all__ = ["Batch", "Group", "GroupPlan", "plan_batches"]


@dataclass(frozen=True)
class Group:
    """One group's arguments of :func:`jaxcalc.optimize` (and of ``precompile``)."""

    family: str  # the objective's registry family, for the manifest
    objective: Any
    label: str
    method: Any
    budget: budgets.Budget | None
    starts: np.ndarray
    common: dict[str, Any]  # steps, record_every, seed, tolerances ...
    hyper: dict[str, Any]  # the optimizer's hyperparameters (lists are sweeps)

    def call(self, function: Callable[..., Any], **extra: Any) -> Any:
        return function(
            self.objective, self.method, self.starts, **self.common, **extra, **self.hyper
        )

    def shares_program_with(self, other: Group) -> bool:
        """Can the two groups run as one stacked program (jaxcalc.optimize_many)?"""
        return (
            self.objective is other.objective
            and self.method.stackable
            and other.method.stackable
            and self.common == other.common
        )


@dataclass(frozen=True)
class Batch:
    """Groups computed by one engine call: a group alone (``optimize``), or groups of one
    objective whose stackable optimizers share one program (``optimize_many``)."""

    indices: tuple[int, ...]
    groups: tuple[Group, ...]

    def call(self, single: Callable[..., Any], many: Callable[..., Any], **extra: Any) -> list:
        if len(self.groups) == 1:
            return [self.groups[0].call(single, **extra)]
        first = self.groups[0]
        optimizers = [(g.method, g.hyper) for g in self.groups]
        return many(first.objective, optimizers, first.starts, **first.common, **extra)


class GroupPlan:
    """The groups of a config, in order (objectives outer, optimizers inner), prepared on
    demand: :meth:`group` builds a group's arguments once and keeps them.

    One objective object per objective, named by its label (the engine caches compiled
    programs by the objective's identity, and its curvature check is one program per
    objective), with its starts: the config's points, or ``starts.count`` samples in its
    bounds from the seed folded with the objective's index.
    """

    def __init__(self, config: Any):
        self.config = config
        self.pairs = [
            (i, o_cfg, p_cfg)
            for i, o_cfg in enumerate(config.objectives)
            for p_cfg in config.optimizers
        ]
        self._objectives: dict[int, tuple[Any, np.ndarray]] = {}
        self._groups: dict[int, Group] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def _objective(self, i: int, o_cfg: Any) -> tuple[Any, np.ndarray]:
        import jax

        if i not in self._objectives:
            config = self.config
            # a copy per run, named by its label (e.g. bbob_f1_d5)
            objective = dataclasses.replace(o_cfg.build(), name=o_cfg.label)
            dtype = np.float64 if config.dtype == "float64" else np.float32
            if config.starts.points:
                starts = np.asarray(config.starts.points, dtype)
            else:
                key = jax.random.fold_in(jax.random.key(config.seed), i)
                starts = np.asarray(objective.sample(key, config.starts.count, dtype))
            self._objectives[i] = (objective, starts)
        return self._objectives[i]

    def group(self, g: int) -> Group:
        """Group ``g``'s arguments of ``optimize``."""
        if g not in self._groups:
            i, o_cfg, p_cfg = self.pairs[g]
            objective, starts = self._objective(i, o_cfg)
            method = p_cfg.build()
            run = self.config.run
            hyper = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in p_cfg.hyperparameters.items()
            }
            self._groups[g] = Group(
                family=o_cfg.family,
                objective=objective,
                label=p_cfg.label,
                method=method,
                budget=budgets.group_budget(run, method, objective.dim),
                starts=starts,
                common={
                    "seed": self.config.seed,
                    **budgets.optimize_kwargs(run, method, objective.dim),
                },
                hyper=hyper,
            )
        return self._groups[g]

    def batch(self, indices: tuple[int, ...]) -> Batch:
        """The batch of these groups (prepared)."""
        return Batch(indices, tuple(self.group(g) for g in indices))


def plan_batches(
    todo: list[int], prepare: Callable[[int], Group], stack: int
) -> list[tuple[int, ...]]:
    """The groups to compute, in order, cut into batches: consecutive groups that can share
    a program (:meth:`Group.shares_program_with`), at most ``stack`` to a batch. A group
    that cannot be prepared is a batch of its own (it raises its error when it runs)."""
    batches: list[list[int]] = []
    last: Group | None = None
    for g in todo:
        try:
            group = prepare(g)
        except Exception:  # noqa: BLE001 - raised again when the group runs
            group = None
        if (
            group is not None
            and last is not None
            and len(batches[-1]) < stack
            and batches[-1][-1] == g - 1
            and last.shares_program_with(group)
        ):
            batches[-1].append(g)
        else:
            batches.append([g])
        last = group
    return [tuple(b) for b in batches]
