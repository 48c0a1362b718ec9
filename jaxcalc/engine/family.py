"""A family of objectives of one dimension as one compiled program, the objective chosen
by data: a scalar index, an input of the program shared by all its runs.

``Family(objectives).select(index)`` is the function ``x -> lax.switch(index, objectives,
x)``. The index is the same for every run of a call (``hyper["_objective"]``, a shared
scalar: :class:`jaxcalc.engine.program.Program` picks it up), so under ``vmap`` the switch
stays a conditional: a call evaluates only the chosen objective, and one compiled program
serves every objective of the family, called once per objective with its own runs. (A
per-run index would turn the switch into a select that evaluates every objective at
every run.)

The program still holds every objective's code (each branch of every switch); what it
compiles once instead of once per objective is the rest: the engine's loop and the
method's step (an L-BFGS line search, the records). ``benchmarks/objective_family.py``
measures both and compares the outputs with each objective's own program.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from jaxcalc.engine import cache, curvature
from jaxcalc.engine.program import Program

__all__ = ["Family", "Selected", "family_check", "family_job"]


@dataclasses.dataclass(frozen=True, eq=False)
class Family:
    """Objectives of one dimension; :meth:`select` makes the one of a (traced) index."""

    objectives: tuple[Any, ...]

    def __post_init__(self):
        dims = {getattr(o, "dim", None) for o in self.objectives}
        if not self.objectives or len(dims) != 1 or None in dims:
            raise ValueError(f"a family needs objectives of one known dimension; got {dims}")

    @property
    def dim(self) -> int:
        return self.objectives[0].dim

    @property
    def name(self) -> str:
        return "family(" + ",".join(getattr(o, "name", "?") for o in self.objectives) + ")"

    def __len__(self) -> int:
        return len(self.objectives)

    def select(self, index) -> Selected:
        return Selected(self, index)


@dataclasses.dataclass(frozen=True, eq=False)
class Selected:
    """The objective ``index`` of a family: ``lax.switch`` over the family's objectives."""

    family: Family
    index: Any

    @property
    def dim(self) -> int:
        return self.family.dim

    def select(self, index) -> Selected:
        return self.family.select(index)

    def __call__(self, x):
        return jax.lax.switch(self.index, list(self.family.objectives), x)


def family_job(jobs: Sequence[Any], family: Family):
    """One job for the family from each objective's own job (``jaxcalc.engine.run._Job``,
    of the same method, layout shapes, limits up to the floor's value, and chunks).

    Returns the job, whose ``batch(x0s, hyper, shared, buffer)`` reads the objective's
    index from ``shared["_objective"]``.
    """
    first = jobs[0]
    for job in jobs[1:]:
        same = (
            job.chunks == first.chunks
            and job.dim == first.dim
            and job.dtype == first.dtype
            and (job.program.limits.lower_bound is None)
            == (first.program.limits.lower_bound is None)
            and dataclasses.replace(job.program.limits, lower_bound=None)
            == dataclasses.replace(first.program.limits, lower_bound=None)
        )
        if not same:
            raise ValueError("a family's jobs differ in more than their objective")
    p = first.program
    # the program reads a floor only as "is there one" (Program.step): the first one serves
    program = Program(family, p.method, p.limits, p.steps, p.record_every)
    key = ("family", tuple(id(o) for o in family.objectives), *first.shape_key)
    return dataclasses.replace(first, fun=family, program=program, shape_key=key)


def family_inputs(job: Any, index: int, lo: int, hi: int):
    """The inputs of runs ``lo:hi`` of an objective's own ``job``, for the family's program
    as the objective ``index``."""
    x_part, h_part, s_part = job.inputs(lo, hi)
    return x_part, h_part, {**s_part, "_objective": jnp.int32(index)}


def _check(family: Family, params, status, index):
    return curvature.curvature_check(family.select(index), params, status)


def family_check(family: Family, shape, dtype):
    """The compiled curvature check of the family: ``(params, status, index) -> status``."""
    shapes = [
        jax.ShapeDtypeStruct(shape, dtype),
        jax.ShapeDtypeStruct(shape[:1], jnp.int32),
        jax.ShapeDtypeStruct((), jnp.int32),
    ]
    return cache.compile_program(jax.jit(partial(_check, family)).lower(*shapes), True)
