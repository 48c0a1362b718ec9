"""Shards of an experiment: which batches of groups shard ``i`` of ``N`` computes.

Every shard plans the whole config exactly as an unsharded run does (the same groups, the
same starts, the same batches of groups that share one compiled program), then keeps its
own batches. A batch is never split: the optimizers stacked in one program compute the
same numbers as in the unsharded run only when they are compiled together.

Batches are dealt out by estimated cost, largest first, each to the shard with the least
cost so far (ties to the lowest shard index): the longest-processing-time rule, which
keeps every shard within 4/3 of the best possible balance. The estimate
(:func:`batch_cost`) is a compile time per program plus the run-steps weighted by the
evaluations of a step and the dimension; ``jaxcalc plan`` prints it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass

from jaxcalc.errors import ConfigError

__all__ = [
    "COMPILE_SECONDS",
    "RUN_RATE",
    "Shard",
    "assign",
    "batch_cost",
    "parse_shard",
]

#: seconds to compile one batch's program (a typical engine program on a CPU core); the
#: planning estimate of ``jaxcalc plan``, measured by ``benchmarks/experiments.py``
COMPILE_SECONDS = 1.5
#: lane-steps x evaluation weight x dimension per second, measured on the same benchmark
RUN_RATE = 2.0e8


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (counting from 0, as ``SLURM_ARRAY_TASK_ID`` does)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_SHARD = re.compile(r"\s*(-?\d+)\s*/\s*(-?\d+)\s*")


def parse_shard(text: str, where: str = "--shard") -> Shard:
    """``"i/N"`` as a :class:`Shard`; a malformed text, ``N < 1`` or ``i`` outside
    ``0..N-1`` is a one-line ConfigError naming ``where``."""
    found = _SHARD.fullmatch(str(text))
    if found is None:
        raise ConfigError(
            f"{where}: {text!r} is not a shard; write INDEX/COUNT, e.g. 0/4 for the first "
            "of four shards (the index counts from 0, like SLURM_ARRAY_TASK_ID)"
        )
    index, count = int(found[1]), int(found[2])
    if count < 1:
        raise ConfigError(f"{where}: {text!r}: the number of shards must be at least 1")
    if not 0 <= index < count:
        raise ConfigError(
            f"{where}: {text!r}: the shard index must be in 0..{count - 1} (it counts from 0)"
        )
    return Shard(index, count)


def batch_cost(groups: Sequence[object]) -> float:
    """A batch's estimated seconds: one compile, plus each group's run-steps weighted by
    its step's evaluations and the dimension (a pipeline ``Group``'s fields)."""
    work = 0.0
    for group in groups:
        dim = int(group.objective.dim)
        cost = group.method.step_cost(dim)
        weight = cost.f + 2.0 * cost.g + dim * cost.h
        lanes = len(group.starts) * _sweep_points(group.hyper)
        work += lanes * int(group.common["steps"]) * weight * dim
    return COMPILE_SECONDS + work / RUN_RATE


def _sweep_points(hyper: dict) -> int:
    points = 1
    for value in hyper.values():
        if isinstance(value, list | tuple):
            points *= len(value)
    return points


def assign(costs: Sequence[float], count: int) -> list[list[int]]:
    """Each shard's batch positions (in run order) for batches of these ``costs``."""
    order = sorted(range(len(costs)), key=lambda b: (-costs[b], b))
    heap = [(0.0, s) for s in range(count)]
    shards: list[list[int]] = [[] for _ in range(count)]
    for b in order:
        load, s = heapq.heappop(heap)
        shards[s].append(b)
        heapq.heappush(heap, (load + costs[b], s))
    return [sorted(batches) for batches in shards]


@dataclass(frozen=True)
class BatchEstimate:
    """One batch of groups as ``jaxcalc plan`` prints it."""

    groups: tuple[int, ...]
    labels: tuple[str, ...]  # "objective x optimizer", one per group
    lanes: int
    run_steps: int
    compile_seconds: float
    run_seconds: float
    memory_bytes: int
    disk_bytes: int
    measured: bool  # seconds from an earlier run's manifest rather than the estimate


@dataclass(frozen=True)
class ShardPlan:
    """Every shard's batches, in the order each shard runs them."""

    shards: tuple[tuple[BatchEstimate, ...], ...]

    def totals(self) -> list[dict[str, float]]:
        rows = []
        for i, batches in enumerate(self.shards):
            rows.append(
                {
                    "shard": i,
                    "batches": len(batches),
                    "groups": sum(len(b.groups) for b in batches),
                    "lanes": sum(b.lanes for b in batches),
                    "run_steps": sum(b.run_steps for b in batches),
                    "compile_seconds": sum(b.compile_seconds for b in batches),
                    "run_seconds": sum(b.run_seconds for b in batches),
                    "memory_bytes": max((b.memory_bytes for b in batches), default=0),
                    "disk_bytes": sum(b.disk_bytes for b in batches),
                }
            )
        return rows

    def lines(self, name: str) -> list[str]:
        from jaxcalc.engine.plan import format_bytes

        every = [b for batches in self.shards for b in batches]
        measured = sum(b.measured for b in every)
        lines = [
            f"jaxcalc plan {name}: {sum(len(b.groups) for b in every)} groups in "
            f"{len(every)} compiled programs, {sum(b.lanes for b in every)} lanes, "
            f"{sum(b.run_steps for b in every):.3g} run-steps; seconds "
            + (
                f"measured for {measured} of {len(every)} programs, estimated for the rest"
                if measured
                else "estimated (pass --costs DIR with an earlier run's results to use its "
                "measured seconds)"
            ),
            "",
            f"{'shard':>5} {'programs':>8} {'groups':>6} {'lanes':>9} {'run-steps':>10} "
            f"{'compile s':>9} {'run s':>8} {'memory':>9} {'disk':>9}",
        ]
        for row in self.totals():
            lines.append(
                f"{row['shard']:>5} {row['batches']:>8} {row['groups']:>6} {row['lanes']:>9} "
                f"{row['run_steps']:>10.3g} {row['compile_seconds']:>9.1f} "
                f"{row['run_seconds']:>8.1f} {format_bytes(row['memory_bytes']):>9} "
                f"{format_bytes(row['disk_bytes']):>9}"
            )
        if len(self.shards) > 1:
            lines += [
                "",
                "run each shard with: jaxcalc run CONFIG --shard I/N --out DIR_I "
                "(I from 0 to N-1), then: jaxcalc merge DIR_0 ... --out DIR",
            ]
        return lines

    def to_json(self) -> dict:
        return {
            "shards": [
                {
                    **totals,
                    "programs": [
                        {
                            "groups": list(b.groups),
                            "labels": list(b.labels),
                            "lanes": b.lanes,
                            "run_steps": b.run_steps,
                            "compile_seconds": b.compile_seconds,
                            "run_seconds": b.run_seconds,
                            "memory_bytes": b.memory_bytes,
                            "disk_bytes": b.disk_bytes,
                            "measured": b.measured,
                        }
                        for b in batches
                    ],
                }
                for totals, batches in zip(self.totals(), self.shards, strict=True)
            ]
        }


def shard_batches(plan: object, count: int) -> list[list[tuple[int, ...]]]:
    """Each of ``count`` shards' batches of ``plan`` (a pipeline ``GroupPlan``), cut as the
    unsharded run cuts them and dealt out by :func:`batch_cost`."""
    from jaxcalc.pipeline.plan import STACK, plan_batches

    batches = plan_batches(list(range(len(plan))), plan.group, STACK)
    costs = [batch_cost(plan.batch(b).groups) for b in batches]
    return [[batches[b] for b in positions] for positions in assign(costs, count)]


def plan_shards(config: object, count: int, measured: dict | None = None) -> ShardPlan:
    """The estimate of every shard of ``config`` (``count`` 1: the unsharded run).

    ``measured`` maps ``(objective label, optimizer label)`` to ``(compile seconds, run
    seconds, run-steps)`` of an earlier run; such groups' seconds are taken from it (run
    seconds scaled by run-steps) instead of the estimate.
    """
    from jaxcalc.pipeline.plan import GroupPlan, estimate_run

    if count > 1 and getattr(config, "tuning", None) is not None:
        raise ConfigError(
            "plan: a config with [tuning] cannot be sharded (the comparison depends on "
            "every tuning run); plan it with --shards 1"
        )
    plan = GroupPlan(config)
    per_group = estimate_run(config).groups
    shards = []
    for batches in shard_batches(plan, count):
        rows = []
        for indices in batches:
            groups = plan.batch(indices).groups
            lanes = [len(g.starts) * _sweep_points(g.hyper) for g in groups]
            steps = [lane * int(g.common["steps"]) for lane, g in zip(lanes, groups, strict=True)]
            compile_s, run_s = COMPILE_SECONDS, batch_cost(groups) - COMPILE_SECONDS
            seen = [measured.get((g.objective.name, g.label)) for g in groups] if measured else []
            found = bool(seen) and all(m is not None for m in seen)
            if found:
                compile_s = sum(m[0] for m in seen)
                run_s = sum(m[1] * s / max(m[2], 1) for m, s in zip(seen, steps, strict=True))
            rows.append(
                BatchEstimate(
                    groups=tuple(indices),
                    labels=tuple(f"{g.objective.name} x {g.label}" for g in groups),
                    lanes=sum(lanes),
                    run_steps=sum(steps),
                    compile_seconds=compile_s,
                    run_seconds=run_s,
                    memory_bytes=sum(per_group[g].job.result_bytes for g in indices),
                    disk_bytes=sum(per_group[g].disk_bytes for g in indices),
                    measured=found,
                )
            )
        shards.append(tuple(rows))
    return ShardPlan(tuple(shards))


def measured_costs(folder: object) -> dict:
    """``(objective, optimizer) -> (compile s, run s, run-steps)`` from the manifest of an
    earlier run in ``folder``."""
    from pathlib import Path

    from jaxcalc.errors import OutputError
    from jaxcalc.pipeline.results import read_manifest

    manifest = read_manifest(Path(folder))
    if manifest is None:
        raise OutputError(f"--costs: {folder} has no manifest.json; give an earlier run's folder")
    costs = {}
    for entry in manifest.get("groups", []):
        runs = sum(int(v) for v in entry.get("status_counts", {}).values())
        steps = int(entry.get("steps") or 0) or None
        if steps is None:
            continue
        costs[(entry["objective"], entry["optimizer"])] = (
            float(entry.get("compile_seconds", 0.0)),
            float(entry.get("run_seconds", 0.0)),
            runs * steps,
        )
    return costs
