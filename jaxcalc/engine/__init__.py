"""The trajectory engine: whole optimizer trajectories for many starts and
hyperparameters, as one XLA program.

:func:`optimize` runs one optimizer on one objective from a batch of starts, for every
combination of swept hyperparameters, and records the path. The runs are independent
lanes of one compiled program (a loop over steps, ``vmap`` over runs): a run that
converges freezes with its counts intact, and a run that goes non-finite stops at its last
finite point with the step where it failed; no run can change another run's numbers.
On a CPU a run's bits do not depend on the batch, chunk, thread or device that computed
it (:func:`bit_reproducible`; ``Trajectory.extras["bit_reproducible"]`` records it).

Modules, in the order a call passes through them: ``options`` (arguments checked and
resolved), ``plan`` (sweep grid, memory, chunks), ``program`` (the compiled loop),
``cache`` (compiled programs and buffers kept between calls), ``curvature`` (the Hessian
check where runs stop), ``result`` (:class:`Trajectory`, statuses), ``run`` (the entry
points). ``hypergradient`` differentiates whole runs with respect to their
hyperparameters.
"""

from jaxcalc.engine.cache import bit_reproducible, enable_compilation_cache
from jaxcalc.engine.hypergradient import HyperGradient, hypergradient
from jaxcalc.engine.plan import MAX_RUNS, JobEstimate, estimate_bytes
from jaxcalc.engine.result import STATUSES, Trajectory
from jaxcalc.engine.run import estimate, optimize, optimize_many, precompile, precompile_many

__all__ = [
    "MAX_RUNS",
    "STATUSES",
    "HyperGradient",
    "JobEstimate",
    "Trajectory",
    "bit_reproducible",
    "enable_compilation_cache",
    "estimate",
    "estimate_bytes",
    "hypergradient",
    "optimize",
    "optimize_many",
    "precompile",
    "precompile_many",
]
