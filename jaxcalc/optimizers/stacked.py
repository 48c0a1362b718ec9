"""Several optimizers side by side in one compiled program.

An experiment compares many optimizers on the same objective. Compiled one by one, each
(objective, optimizer) pair is its own XLA program, and on a CPU most of an experiment's
time goes to compiling them: the engine's loop, records and status tests are compiled
again for every optimizer. :class:`Stacked` holds several *stackable* methods in one
program instead: every run carries each method's state, takes every method's step and
keeps the point of its own method (``slot``), so the engine's machinery is compiled once.

Each run computes every method's update, which for the methods that qualify is a few
arithmetic operations per coordinate next to the engine's gradient, tests and records;
methods with line searches or their own evaluations (L-BFGS, BFGS, Newton) are not
stackable. Each method's arithmetic and hyperparameters are unchanged (shared
hyperparameters stay scalars, swept ones are per-run arrays, as in ``optimize``), so a run
follows the trajectory of its method's own program; XLA fuses the larger program
differently, so the last bits may differ (fused multiply-adds: ~1 ulp a step, tested), and
a method that amplifies rounding (a constant step oscillating at a minimum) drifts apart
over many steps as it would under any change of compiler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.protocol import Evaluations, Optimizer, Requires, StepResult

__all__ = ["SLOT", "Stacked", "slot_name", "stack"]

#: the per-run hyperparameter that says which slot's method a run follows
SLOT = "slot"


def slot_name(slot: int, name: str) -> str:
    """The stacked optimizer's name for hyperparameter ``name`` of slot ``slot``."""
    return f"{slot}.{name}"


@dataclass(frozen=True)
class Stacked(Optimizer):
    """Stackable methods in one program; run ``r`` follows ``slots[hyper["slot"][r]]``.

    Its hyperparameters are the slots' own, renamed ``"<slot>.<name>"``, and ``slot``.
    Build it with :func:`stack`; :func:`jaxcalc.engine.optimize_many` uses it.
    """

    slots: tuple[Optimizer, ...] = ()

    @property
    def requires(self) -> Requires:  # type: ignore[override]
        """What any of the slots requires."""
        asks = [m.requires for m in self.slots]
        return Requires(
            gradient=any(r.gradient for r in asks),
            hessian=any(r.hessian for r in asks),
            residuals=any(r.residuals for r in asks),
            constraints=any(r.constraints for r in asks),
        )

    def check_objective(self, objective: Any, dim: int) -> None:
        for m in self.slots:
            m.check_objective(objective, dim)

    def _hyper(self, hyper: Mapping[str, Any], i: int) -> dict[str, Any]:
        return {k: hyper[slot_name(i, k)] for k in self.slots[i].defaults}

    def init(self, fun, x, hyper, key) -> Any:
        return tuple(m.init(fun, x, self._hyper(hyper, i), key) for i, m in enumerate(self.slots))

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        results = [
            m.step(fun, x, value, grad, state[i], self._hyper(hyper, i))
            for i, m in enumerate(self.slots)
        ]
        for m, r in zip(self.slots, results, strict=True):
            own = (r.value, r.grad, r.converged)
            if any(v is not None for v in own) or r.failed is not False or r.resets != 0:
                raise ConfigError(
                    f"{m.name} is declared stackable but its step reports more than a new "
                    "point (evaluations, failures, resets or convergence)"
                )
        slot = jnp.asarray(hyper[SLOT]).astype(jnp.int32)
        # an index into the stacked points, not lax.select_n: with select_n XLA fuses the
        # methods' arithmetic differently and a run's last bits differ from its method's
        # own program (tests/test_stacked.py compares them bit for bit)
        x_new = jnp.stack([r.x for r in results])[slot]
        return StepResult(x_new, tuple(r.state for r in results), Evaluations.of())

    def state_size(self, dim: int) -> int:
        return sum(m.state_size(dim) for m in self.slots)


def stack(methods: Sequence[Optimizer]) -> Stacked:
    """One :class:`Stacked` optimizer over ``methods`` (each must be ``stackable``)."""
    if not methods:
        raise ConfigError("stack: no optimizers given")
    for m in methods:
        if not m.stackable:
            raise ConfigError(
                f"{m.name} cannot share a program with other optimizers (it has a line "
                "search, its own evaluations or per-run randomness)"
            )
    defaults: dict[str, Any] = {
        slot_name(i, k): v for i, m in enumerate(methods) for k, v in m.defaults.items()
    }
    defaults[SLOT] = 0.0
    name = "+".join(m.name for m in methods)
    return Stacked(name=name, defaults=defaults, slots=tuple(methods))
