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

__all__ = [
    "Batch",
    "Group",
    "GroupPlan",
    "STACK",
    "RunEstimate",
    "check_run_estimate",
    "estimate_run",
    "plan_batches",
]

#: bytes per run of a group's part file and table rows besides the recorded arrays
_DISK_PER_RUN = 400
_PARAMS_KEEP_BYTES = 64 << 20  # a group's part file keeps at most this much of the paths

#: at most this many stackable optimizers of one objective share a program (1: none do).
#: Their compile grows with each method they hold, their run time barely does.
STACK = 8


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
    bounds from the seed folded with the objective's index (from each of ``starts.seeds``
    in turn, in a tuning stage).
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
            else:  # count starts from each seed (a tuning stage's seeds, else the seed)
                parts = [
                    np.asarray(
                        objective.sample(
                            jax.random.fold_in(jax.random.key(seed), i), config.starts.count, dtype
                        )
                    )
                    for seed in config.starts.seeds or (config.seed,)
                ]
                starts = parts[0] if len(parts) == 1 else np.concatenate(parts)
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
                    **budgets.optimize_kwargs(run, method, objective.dim, o_cfg.fixed_steps()),
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


@dataclass(frozen=True)
class GroupEstimate:
    """One group's job (memory) and the bytes its results take on disk."""

    objective: str
    optimizer: str
    job: Any  # jaxcalc.engine.JobEstimate
    disk_bytes: int


@dataclass(frozen=True)
class RunEstimate:
    """A whole experiment, estimated before anything is sampled or allocated.

    ``memory_bytes`` is the largest batch's results (a batch's groups share one program and
    are held at once: at most every group of one objective); ``disk_bytes`` sums the
    groups' part files and table rows.
    """

    groups: tuple[GroupEstimate, ...]
    memory_bytes: int
    disk_bytes: int

    def lines(self) -> list[str]:
        from jaxcalc.engine.plan import format_bytes

        rows = [
            f"  {g.objective} x {g.optimizer}: {g.job.summary()}, "
            f"~{format_bytes(g.disk_bytes)} on disk"
            for g in self.groups
        ]
        runs = sum(g.job.runs for g in self.groups)
        return [
            f"{len(self.groups)} groups, {runs} runs",
            *rows,
            f"memory: ~{format_bytes(self.memory_bytes)} at once (the largest objective's "
            f"groups); disk: ~{format_bytes(self.disk_bytes)}",
        ]


def estimate_run(config: Any) -> RunEstimate:
    """The memory and disk of every group of ``config``, without sampling a start; a group
    over the engine's runs cap raises its ``ResourceError`` here."""
    from jaxcalc.engine import estimate

    n_starts = (
        len(config.starts.points)
        if config.starts.points
        else config.starts.count * len(config.starts.seeds or (config.seed,))
    )
    groups, per_objective = [], {}
    for i, o_cfg in enumerate(config.objectives):
        objective = o_cfg.build()
        for p_cfg in config.optimizers:
            method = p_cfg.build()
            kwargs = budgets.optimize_kwargs(config.run, method, objective.dim, o_cfg.fixed_steps())
            hyper = {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in p_cfg.hyperparameters.items()
            }
            job = estimate(
                [(method, hyper)],
                n_starts,
                kwargs["steps"],
                objective.dim,
                record_every=kwargs["record_every"],
                dtype=config.dtype,
                check=False,
                where=f"{o_cfg.label} x {p_cfg.label}",
            )
            groups.append(GroupEstimate(o_cfg.label, p_cfg.label, job, _disk_bytes(job)))
            per_objective[i] = per_objective.get(i, 0) + job.result_bytes
    return RunEstimate(
        tuple(groups),
        max(per_objective.values(), default=0),
        sum(g.disk_bytes for g in groups),
    )


def _disk_bytes(job: Any) -> int:
    """A group's part file and table rows: values, gradient norms, best values, evaluation
    costs, the counts at every record (three int32) and a sample of the paths, plus the
    per-run columns."""
    series = job.runs * job.records * job.itemsize
    paths = min(series * job.dim, _PARAMS_KEEP_BYTES)
    per_record = job.runs * job.records * (8 + 12)
    return int(3 * series + per_record + paths + job.runs * _DISK_PER_RUN)


def check_run_estimate(
    estimate: RunEstimate, out: Any, memory_limit: int | None = None, free: int | None = None
) -> None:
    """Refuse an experiment whose largest batch exceeds ``memory_limit`` (default 40% of
    free memory) or whose results exceed the free space where ``out`` will be written,
    naming the estimate, the limit and the config keys that reduce it."""
    import shutil
    from pathlib import Path

    from jaxcalc.engine.plan import format_bytes, host_budget
    from jaxcalc.errors import ResourceError

    keys = "reduce starts.count or the optimizers' sweeps, or raise run.record_every"
    limit = host_budget() if memory_limit is None else memory_limit
    if estimate.memory_bytes > limit:
        big = max(estimate.groups, key=lambda g: g.job.result_bytes)
        raise ResourceError(
            f"run: the results need ~{format_bytes(estimate.memory_bytes)} of memory at once "
            f"(largest group {big.objective} x {big.optimizer}: {big.job.summary()}); the "
            f"limit is {format_bytes(limit)} (40% of free memory, at most a quarter of ulimit -v): "
            f"{keys}"
        )
    if free is None:
        folder = Path(out).expanduser().resolve()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
    if estimate.disk_bytes > free:
        raise ResourceError(
            f"run: the results need ~{format_bytes(estimate.disk_bytes)} on disk; "
            f"{format_bytes(free)} free at {out}: {keys}, or write elsewhere with --out"
        )
