"""The one optimizer protocol: declared requirements and costs, pure ``init`` and ``step``.

An optimizer is an immutable object. Its *hyperparameters* are numbers passed in as data
(traced arrays), so sweeping a learning rate does not recompile; its *options* are
structural choices (booleans, integers such as a memory size) fixed at compile time.

What a method asks of an objective (values only, a gradient, Hessians, residuals,
constraints) is data, :class:`Requires`, and so is the cost of its cheapest step,
:class:`StepCost`: the engine and the tables read these declarations and never ask a
method's name or kind. :meth:`Optimizer.check_objective` refuses an objective that lacks
something the method requires before anything is traced.

``init`` receives a PRNG key for the run, derived by the engine from ``optimize``'s
``seed`` and the start's index (methods without randomness ignore it). ``step`` moves one
run by one iteration and says how many function, gradient and Hessian evaluations it
spent. When it already knows the value (and gradient) at the new point, it returns them so
the engine does not evaluate them again.
"""

from __future__ import annotations

import dataclasses
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
    "Requires",
    "StepCost",
    "StepResult",
    "check_hyperparameters",
    "objective_name",
]

Fun = Callable[[jax.Array], jax.Array]


@dataclass(frozen=True)
class Requires:
    """What a method asks of an objective, as data the engine checks before tracing.

    Attributes:
      gradient: False for methods that use f values only (population methods,
        annealing): the engine then evaluates only f at their points, passes a zero
        ``grad`` to ``step``, records NaN gradient norms, counts no gradient evaluations
        of its own and stops a run as "converged" only on :attr:`StepResult.converged`
        (a best-so-far point that does not move is no stall).
      hessian: the method evaluates Hessians of f (Newton, Lagrange-Newton).
      residuals: the objective must have ``residuals(x)`` (Gauss-Newton,
        Levenberg-Marquardt).
      constraints: the method needs constraints, from the objective or from its
        ``constraints`` option.
    """

    gradient: bool = True
    hessian: bool = False
    residuals: bool = False
    constraints: bool = False


@dataclass(frozen=True)
class StepCost:
    """The evaluations of a method's cheapest step (line searches may spend more).

    ``f``, ``g`` and ``h`` count evaluations of f, of its gradient and of its Hessian.
    """

    f: float
    g: float
    h: float


def objective_name(fun: Any) -> str:
    """The name an error message gives an objective: its ``name``, else ``__name__``."""
    return getattr(fun, "name", None) or getattr(fun, "__name__", None) or repr(fun)


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

    Subclasses implement :meth:`init` and :meth:`step` and declare :attr:`requires`
    (and :meth:`step_cost` when their cheapest step is not one evaluation of each thing
    they require). ``defaults`` lists every numeric hyperparameter with its default;
    ``options`` the static ones.
    """

    requires: ClassVar[Requires] = Requires()
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

    def init(self, fun: Fun, x: jax.Array, hyper: Mapping[str, jax.Array], key: jax.Array) -> Any:
        """The state of one run starting at ``x``; ``key`` is the run's PRNG key."""
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

    def step_cost(self, dim: int) -> StepCost:
        """The evaluations of the cheapest step in ``dim`` dimensions: by default one of
        f and one of everything :attr:`requires` names (a gradient, a Hessian)."""
        return StepCost(
            f=1.0,
            g=1.0 if self.requires.gradient else 0.0,
            h=1.0 if self.requires.hessian else 0.0,
        )

    def check_objective(self, objective: Any, dim: int) -> None:
        """Refuse, with a one-line :class:`ConfigError`, an objective in ``dim``
        dimensions that lacks something this method requires (before any tracing)."""
        if self.dims is not None and dim not in self.dims:
            accepted = " or ".join(str(d) for d in self.dims)
            raise ConfigError(f"{self.name} runs in {accepted} dimensions; got {dim} coordinates")
        if self.requires.residuals and not callable(getattr(objective, "residuals", None)):
            raise ConfigError(
                f"{self.name} needs a residual objective (one with residuals(x)); "
                f"{objective_name(objective)} has none"
            )
        given = self.options.get("constraints")
        own = getattr(objective, "constraints", ())
        if self.requires.constraints and given is None and not own:
            raise ConfigError(
                f"{self.name} needs constraints: use a constrained objective "
                "(objectives.constrained, e.g. 'rosenbrock_disk') or the option constraints=..."
            )

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
                check_range(f"{method}.{name}", v, _RANGES[name])


def check_range(label: str, value: Any, bounds: tuple[float, float, bool, bool]) -> None:
    """Refuse ``value`` outside ``bounds`` = (low, high, low open, high open)."""
    lo, hi, open_lo, open_hi = bounds
    low_ok = value > lo if open_lo else value >= lo
    high_ok = value < hi if open_hi else value <= hi
    if not (low_ok and high_ok):
        lo_b, hi_b = ("(" if open_lo else "["), (")" if open_hi else "]")
        raise ConfigError(f"{label}: must be in {lo_b}{lo:g}, {hi:g}{hi_b}; got {value}")
