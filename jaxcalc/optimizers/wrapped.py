"""The base of a method that wraps another: everything is the wrapped method's unless the
wrapper changes it.

A wrapper hands its ``inner`` method other hyperparameters (a schedule's value at the
current step, a row of a table of settings) or keeps more state, and declares nothing of
its own: what the method requires, the dimensions it accepts, its curvature check, its
final state, whether it can be stacked, its costs, options and final metrics are the
wrapped method's. :class:`Wrapped` says that once; a subclass overrides only what it
changes (``init`` and ``step`` at least) and names what it adds to the compiled program
in :meth:`Wrapped._own_structure`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax

from jaxcalc.optimizers.protocol import Optimizer, StepCost, StepResult

__all__ = ["Wrapped"]


@dataclass(frozen=True)
class Wrapped(Optimizer):
    """``inner`` as it is: every declaration, cost, option and step is ``inner``'s.

    Subclasses change what ``init`` and ``step`` hand ``inner``; build them with
    :meth:`around`, which takes ``inner``'s name, options and reference.
    """

    inner: Optimizer | None = None

    @classmethod
    def around(cls, inner: Optimizer, defaults: Mapping[str, float | None], **fields: Any):
        """``inner`` wrapped in ``cls`` with hyperparameters ``defaults`` and the subclass's
        own ``fields``; name, options and reference are ``inner``'s."""
        return cls(
            name=inner.name,
            defaults=defaults,
            options=dict(inner.options),
            reference=inner.reference,
            inner=inner,
            **fields,
        )

    # the wrapped method's declarations
    @property
    def requires(self):  # type: ignore[override]
        return self.inner.requires

    @property
    def dims(self):  # type: ignore[override]
        return self.inner.dims

    @property
    def curvature_check(self):  # type: ignore[override]
        return self.inner.curvature_check

    @property
    def final_state(self):  # type: ignore[override]
        return self.inner.final_state

    @property
    def stackable(self):  # type: ignore[override]
        return self.inner.stackable

    @property
    def structure(self) -> Any:
        """What the program compiles to beyond name and options (the compile cache's key):
        the wrapped method's type, name and structure, then :meth:`_own_structure`."""
        inner = (type(self.inner), self.inner.name, getattr(self.inner, "structure", None))
        return (inner, *self._own_structure())

    def _own_structure(self) -> tuple[Any, ...]:
        """What the wrapper adds to the compiled program (hashable), beyond ``inner``."""
        return ()

    def with_options(self, **options: Any) -> Optimizer:
        return dataclasses.replace(
            self,
            inner=self.inner.with_options(**options),
            options={**self.options, **options},
        )

    def init(self, fun, x, hyper, key) -> Any:
        return self.inner.init(fun, x, hyper, key)

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        return self.inner.step(fun, x, value, grad, state, hyper)

    def final_metrics(self, fun, x, state) -> dict[str, jax.Array]:
        return self.inner.final_metrics(fun, x, state)

    def state_size(self, dim: int) -> int:
        return self.inner.state_size(dim)

    def step_cost(self, dim: int) -> StepCost:
        return self.inner.step_cost(dim)

    def check_objective(self, objective: Any, dim: int) -> None:
        self.inner.check_objective(objective, dim)
