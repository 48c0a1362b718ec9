"""The lanes of a config's optax groups computed by hand, as peers of ``jaxcalc run``.

A *cell* is one (objective, optax optimizer, hyperparameter setting) of a config, with the
starts ``jaxcalc run`` gives that objective (``GroupPlan``: the same sampled points) and
the group's steps and record interval. Two peers compute the cells:

* the raw-scan floor: per cell one ``jit(vmap(f))`` where ``f`` runs a start through
  ``lax.scan`` of ``lax.scan`` (``record_every`` steps, then the point and its value kept),
  compiled ahead (``lower().compile()``) and run apart, so compile and run are timed
  separately. No statuses, no stopping, no counts: the least a compiled program can do
  for the same steps;
* optax stepped from a Python loop: per cell one jitted, batched update over the starts,
  called once per step, the point and value kept every ``record_every`` steps (what a
  researcher writes by hand). Its first call (tracing and compiling, one step) is timed
  apart from the other steps.

Both take the same optax update (``optax_step``), so they compute the same trajectories;
``compare`` reports how far their last points differ.

Only groups whose optimizer is an optax optimizer, on a plain objective (no data, no
constraints), with numeric hyperparameters (a list is a sweep, expanded as the engine
does: the product of the lists) are cells; the other groups of a config are left out and
counted.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxcalc.objectives import Objective
from jaxcalc.optimizers import OptaxOptimizer
from jaxcalc.pipeline.plan import GroupPlan


@dataclass(frozen=True)
class Cell:
    """One (objective, optax optimizer, setting): its starts run ``steps`` steps."""

    objective: Any  # a jaxcalc Objective (callable on one point)
    group: tuple[str, str]  # (objective label, optimizer label), as in summary.csv
    name: str  # optax's name of the optimizer
    hyper: dict[str, Any]  # optax's keyword arguments
    update_arguments: tuple[str, ...]
    starts: np.ndarray
    steps: int
    every: int

    @property
    def run_steps(self) -> int:
        return len(self.starts) * self.steps


@dataclass(frozen=True)
class Cells:
    cells: list[Cell]
    groups: set[tuple[str, str]]  # the groups the cells cover
    total_groups: int
    total_run_steps: int  # every lane of the config (steps x starts x settings), all groups

    @property
    def run_steps(self) -> int:
        return sum(c.run_steps for c in self.cells)


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def config_cells(config: Any) -> Cells:
    """The cells of ``config``'s groups that the peers can compute (see the module)."""
    plan = GroupPlan(config)
    cells: list[Cell] = []
    covered: set[tuple[str, str]] = set()
    total = 0
    with jax.enable_x64(config.dtype == "float64"):  # starts in the config's dtype
        for g in range(len(plan)):
            group = plan.group(g)
            sweeps = {k: v for k, v in group.hyper.items() if isinstance(v, list)}
            settings = [
                {**group.hyper, **dict(zip(sweeps, values, strict=True))}
                for values in itertools.product(*sweeps.values())
            ]
            steps, every = group.common["steps"], group.common["record_every"]
            total += len(settings) * len(group.starts) * steps
            if not (
                type(group.objective) is Objective
                and isinstance(group.method, OptaxOptimizer)
                and all(_scalar(v) or v is None for s in settings for v in s.values())
            ):
                continue
            key = (group.objective.name, group.label)
            covered.add(key)
            for setting in settings:
                hyper = {k: v for k, v in setting.items() if v is not None}
                cells.append(
                    Cell(
                        objective=group.objective,
                        group=key,
                        name=group.method.name,
                        hyper={**group.method.options, **hyper},
                        update_arguments=group.method.update_arguments,
                        starts=group.starts,
                        steps=steps,
                        every=every,
                    )
                )
    return Cells(cells, covered, len(plan), total)


def optax_step(cell: Cell):
    """optax's ``init`` and one step ``(x, state) -> (x, state)`` of one point, the way
    optax documents its loop (L-BFGS given the value, gradient and function)."""
    tx = getattr(optax, cell.name)(**cell.hyper)
    value_and_grad = jax.value_and_grad(cell.objective)

    if cell.name == "lbfgs":

        def step(x, state):
            value, grad = value_and_grad(x)
            u, state = tx.update(grad, state, x, value=value, grad=grad, value_fn=cell.objective)
            return optax.apply_updates(x, u), state

    else:
        pass_value = "value" in cell.update_arguments

        def step(x, state):
            value, grad = value_and_grad(x)
            extra = {"value": value} if pass_value else {}
            u, state = tx.update(grad, state, x, **extra)
            return optax.apply_updates(x, u), state

    return tx.init, step


@dataclass
class Times:
    """Wall and process CPU seconds (all threads)."""

    wall: float = 0.0
    cpu: float = 0.0

    def __iadd__(self, other: Times) -> Times:
        self.wall += other.wall
        self.cpu += other.cpu
        return self

    def scaled(self, factor: float) -> Times:
        return Times(self.wall * factor, self.cpu * factor)


class _Clock:
    def __enter__(self) -> Times:
        self.times = Times()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self.times

    def __exit__(self, *exc) -> None:
        self.times.wall = time.perf_counter() - self.wall
        self.times.cpu = time.process_time() - self.cpu


def raw_scan(cell: Cell) -> tuple[Times, Times, np.ndarray]:
    """The cell as one ``jit(vmap(lax.scan))`` program: its compile and run times and
    the last points."""
    init, step = optax_step(cell)
    objective = cell.objective
    records, tail = divmod(cell.steps, cell.every)

    def steps(carry, length):
        def one(carry, _):
            return step(*carry), None

        return jax.lax.scan(one, carry, None, length=length)[0]

    def block(carry, _):
        carry = steps(carry, cell.every)
        return carry, (carry[0], objective(carry[0]))

    def run(x0):
        carry, (path, values) = jax.lax.scan(block, (x0, init(x0)), None, length=records)
        if tail:
            carry = steps(carry, tail)
        return carry[0], path, values

    program = jax.jit(jax.vmap(run))
    starts = jnp.asarray(cell.starts)
    with _Clock() as compile_times:
        compiled = program.lower(starts).compile()
    with _Clock() as run_times:
        last, path, values = jax.block_until_ready(compiled(starts))
        last = np.asarray(last)
    return compile_times, run_times, last


def optax_loop(cell: Cell, steps: int | None = None) -> tuple[Times, Times, np.ndarray]:
    """The cell as a Python loop over a jitted, batched optax update: the first call's
    times (tracing, compiling, one step), the other steps' times, and the last points.
    ``steps`` fewer than the cell's: only these are taken (the caller scales them)."""
    init, step = optax_step(cell)
    fn = jax.vmap(cell.objective)

    @jax.jit
    def update(x, state):
        x, state = jax.vmap(step)(x, state)
        return x, state, fn(x)

    steps = cell.steps if steps is None else min(steps, cell.steps)
    with _Clock() as first:
        x = jnp.asarray(cell.starts)
        state = jax.vmap(init)(x)
        path, values = [x], [fn(x)]
        x, state, v = jax.block_until_ready(update(x, state))
    with _Clock() as rest:
        for k in range(1, steps + 1):
            if k > 1:
                x, state, v = update(x, state)
            if k % cell.every == 0:
                path.append(x)
                values.append(v)
        path = np.asarray(jnp.stack(path, 1))
        values = np.asarray(jnp.stack(values, 1))
        last = np.asarray(x)
    return first, rest, last


def loop_rest_factor(cell: Cell, steps: int | None) -> float:
    """What the timed steps after the first call are scaled by to stand for all steps."""
    taken = cell.steps if steps is None else min(steps, cell.steps)
    return (cell.steps - 1) / (taken - 1) if taken > 1 else 1.0


@dataclass
class PeerTimes:
    scan_compile: Times
    scan_run: Times
    loop_first: Times
    loop_rest: Times  # scaled to every step when fewer were taken
    loop_steps: int | None
    cells: int
    lanes: int = 0  # lanes whose last points were compared (full loops only)
    agreeing: int = 0  # of these, lanes whose last points agree (see ``measure``)


def measure(cells: Cells, config: Any, loop_steps: int | None = None) -> PeerTimes:
    """Both peers on every cell, one cell after the other, in this process (no persistent
    compilation cache: each program compiles afresh). With full loops, the two peers'
    last points are compared lane by lane: equal to 1e-4 relative (1e-6 absolute), NaN
    where both are NaN; XLA fuses the two programs differently, so they agree up to
    rounding, and a lane on a chaotic path (a line search, a rugged function) may part."""
    jax.config.update("jax_enable_compilation_cache", False)
    times = PeerTimes(Times(), Times(), Times(), Times(), loop_steps, len(cells.cells))
    with jax.enable_x64(config.dtype == "float64"):
        for cell in cells.cells:
            compile_t, run_t, scan_last = raw_scan(cell)
            times.scan_compile += compile_t
            times.scan_run += run_t
            first, rest, loop_last = optax_loop(cell, loop_steps)
            times.loop_first += first
            times.loop_rest += rest.scaled(loop_rest_factor(cell, loop_steps))
            if loop_steps is None or loop_steps >= cell.steps:
                close = np.isclose(scan_last, loop_last, rtol=1e-4, atol=1e-6, equal_nan=True)
                times.lanes += len(close)
                times.agreeing += int(np.all(close, axis=1).sum())
    return times
