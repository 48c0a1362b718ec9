"""The one optimizer interface: pure ``init`` and ``step`` over explicit state.

An optimizer is an immutable object. Its *hyperparameters* are numbers passed in as data
(traced arrays), so sweeping a learning rate does not recompile; its *options* are
structural choices (booleans, integers such as a memory size) fixed at compile time.

``step`` moves one run by one iteration and says how many function, gradient and Hessian
evaluations it spent. When it already knows the value (and gradient) at the new point,
it returns them so the engine does not evaluate them again.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxcalc.errors import ConfigError

__all__ = [
    "Evaluations",
    "Optimizer",
    "StepResult",
    "check_hyperparameters",
]

Fun = Callable[[jax.Array], jax.Array]


class Evaluations(NamedTuple):
    """Counts of function, gradient and Hessian evaluations (int32 scalars)."""

    f: jax.Array
    g: jax.Array
    h: jax.Array

    @staticmethod
    def of(f: Any = 0, g: Any = 0, h: Any = 0) -> Evaluations:
        as_int = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
        return Evaluations(as_int(f), as_int(g), as_int(h))

    def __add__(self, other: Evaluations) -> Evaluations:  # type: ignore[override]
        return Evaluations(self.f + other.f, self.g + other.g, self.h + other.h)


class StepResult(NamedTuple):
    """What one iteration returns.

    Attributes:
      x: the new point.
      state: the optimizer's new state.
      evaluations: what the iteration spent (not counting the engine's own evaluation of
        the new point).
      value, grad: f and its gradient at ``x`` when the method already computed them, else
        None (the engine then evaluates them and counts one of each).
      failed: True when the method could not make progress (e.g. its line search found no
        acceptable step); the engine turns repeated failures into the status "stalled".
      resets: 1 when the method reset its curvature model (BFGS, a non-descent direction).
      converged: the method's own convergence test (a population that has collapsed, a
        bracket that has shrunk), or None. The engine stops the run as "converged" when it
        is true, besides its gradient test (which gradient-free methods do not have).
    """

    x: jax.Array
    state: Any
    evaluations: Evaluations
    value: jax.Array | None = None
    grad: jax.Array | None = None
    failed: jax.Array | bool = False
    resets: jax.Array | int = 0
    converged: jax.Array | None = None


@dataclass(frozen=True)
class Optimizer:
    """Base class: a named method with numeric hyperparameters and static options.

    Subclasses implement :meth:`init` and :meth:`step`. ``defaults`` lists every numeric
    hyperparameter with its default; ``options`` the static ones.

    Two class-level flags change how the engine drives a method:

    ``gradient_free``
        the method never uses gradients (population methods, simulated annealing): the
        engine evaluates only f at its points, passes a zero ``grad`` to ``step``, records
        NaN gradient norms, never counts gradient evaluations of its own, and stops a run
        as "converged" only on :attr:`StepResult.converged`. A best-so-far point that does
        not move is not a stall for such methods.
    ``stochastic``
        :meth:`init` takes a fourth argument, a PRNG key for the run. The key is derived
        from ``optimize``'s ``seed`` and the *start's* index, so every hyperparameter
        setting sees the same random stream from the same start (common random numbers),
        and chunking or sharding never changes it.
    """

    gradient_free = False
    stochastic = False
    dims: ClassVar[tuple[int, ...] | None] = None  # the dimensions the method accepts (None: any)
    # False for methods whose stopping points need not be minima of f alone (constrained
    # methods: f's Hessian may be indefinite at a constrained minimum), so the engine's
    # curvature check of f does not apply
    curvature_check: ClassVar[bool] = True
    # True when final_metrics reads the optimizer state: the engine then freezes a run's
    # state when the run stops (otherwise a stopped run's state is never read, so not kept)
    final_state: ClassVar[bool] = False
    # True for methods whose step only moves the point (no line search, no evaluations or
    # failures of its own, no randomness): they can share one compiled program with other
    # such methods (jaxcalc.optimizers.stacked), which is how experiments compile less
    stackable: ClassVar[bool] = False

    name: str
    defaults: Mapping[str, float | None] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    reference: str = ""
    uses_hessian: bool = False

    def init(self, fun: Fun, x: jax.Array, hyper: Mapping[str, jax.Array]) -> Any:
        raise NotImplementedError

    def step(
        self,
        fun: Fun,
        x: jax.Array,
        value: jax.Array,
        grad: jax.Array,
        state: Any,
        hyper: Mapping[str, jax.Array],
    ) -> StepResult:
        raise NotImplementedError

    def with_options(self, **options: Any) -> Optimizer:
        """A copy with some static options changed (unknown names are refused)."""
        unknown = set(options) - set(self.options)
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(
                f"{self.name}: unknown option {name!r}{_suggest(name, self.options)}; "
                f"options: {', '.join(sorted(self.options)) or 'none'}"
            )
        for name, value in options.items():
            if name in _POSITIVE_INTEGER_OPTIONS and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"{self.name}.{name}: must be an integer >= 1; got {value!r}")
        merged = {**self.options, **options}
        return _replace(self, options=merged)

    def final_metrics(self, fun: Fun, x: jax.Array, state: Any) -> dict[str, jax.Array]:
        """Extra per-run numbers at the final point (e.g. constraint violation); scalars.

        ``state`` is the run's final optimizer state when the class sets ``final_state``
        (else the state after the engine's last step, which a stopped run no longer
        follows). The engine maps this over runs and stores the arrays in
        ``Trajectory.metrics`` under these names.
        """
        return {}

    def state_size(self, dim: int) -> int:
        """Numbers of optimizer state per run, for the memory estimate (default 2*dim)."""
        return 2 * dim

    # -- hyperparameters ---------------------------------------------------------------

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults merged with ``values``; unknown names raise with a suggestion."""
        known = set(self.defaults) | set(self.options)
        for name in values:
            if name not in known:
                raise ConfigError(
                    f"{self.name} has no hyperparameter {name!r}{_suggest(name, known)}; "
                    f"it takes: {', '.join(sorted(known)) or 'none'}"
                )
        return {**self.defaults, **{k: v for k, v in values.items() if k in self.defaults}}


def _replace(obj: Optimizer, **changes: Any) -> Optimizer:
    import dataclasses

    return dataclasses.replace(obj, **changes)


def _suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


# Static options that must be positive integers wherever they appear.
_POSITIVE_INTEGER_OPTIONS = ("memory_size", "max_trials", "min_dim_size_to_factor")

# Ranges that apply to a hyperparameter of this name in any method (low, high, open ends).
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "learning_rate": (0.0, math.inf, True, True),
    "b1": (0.0, 1.0, False, True),
    "b2": (0.0, 1.0, False, True),
    "b3": (0.0, 1.0, False, True),
    "momentum": (0.0, 1.0, False, True),
    "decay": (0.0, 1.0, False, True),
    "rho": (0.0, 1.0, False, True),
    "eps": (0.0, math.inf, False, True),
    "eps_root": (0.0, math.inf, False, True),
    "weight_decay": (0.0, math.inf, False, True),
    "c1": (0.0, 1.0, True, True),
    "shrink": (0.0, 1.0, True, True),
    "initial_step": (0.0, math.inf, True, True),
    "skip_threshold": (0.0, 1.0, False, True),
    "penalty": (0.0, math.inf, True, True),
    "max_penalty": (0.0, math.inf, True, True),
    "penalty_growth": (1.0, math.inf, False, True),
    "decrease_ratio": (0.0, 1.0, True, True),
    "tol": (0.0, math.inf, False, True),
}


def check_hyperparameters(method: str, values: Mapping[str, Any]) -> None:
    """Refuse non-finite numbers, booleans in numeric slots and out-of-range values."""
    for name, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for v in items:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"{method}.{name}: expected a number, got {v!r}")
            if not math.isfinite(v):
                raise ConfigError(f"{method}.{name}: must be a finite number, got {v}")
            if name in _RANGES:
                lo, hi, open_lo, open_hi = _RANGES[name]
                low_ok = v > lo if open_lo else v >= lo
                high_ok = v < hi if open_hi else v <= hi
                if not (low_ok and high_ok):
                    lo_b, hi_b = ("(" if open_lo else "["), (")" if open_hi else "]")
                    raise ConfigError(
                        f"{method}.{name}: must be in {lo_b}{lo:g}, {hi:g}{hi_b}; got {v}"
                    )
