"""Every optax optimizer that works on a vector, through one adapter.

The adapter builds the optax transformation *inside* the traced run, from hyperparameters
that are traced arrays, so sweeping ``learning_rate`` (or ``b1``, ``momentum``, ...) does
not recompile, and the trajectory is exactly optax's own update loop:
``updates, state = tx.update(grad, state, x); x = optax.apply_updates(x, updates)``.
Optimizers that take extra arguments (``lbfgs`` and its zoom line search) get ``value``,
``grad`` and ``value_fn`` as optax documents, and report their line-search evaluations.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import jax.numpy as jnp
import optax

from jaxcalc.optimizers.protocol import Evaluations, Optimizer, StepResult
from jaxcalc.optimizers.registry import register

__all__ = ["OPTAX_NAMES", "OptaxLineSearch", "OptaxOptimizer", "optax_optimizer"]

# The optax optimizers that act on a plain vector of parameters. Left out: optax.contrib's
# research optimizers with their own conventions, and noisy_sgd (it needs a PRNG key).
OPTAX_NAMES = (
    "sgd",
    "adam",
    "adamw",
    "nadam",
    "nadamw",
    "amsgrad",
    "adamax",
    "adamaxw",
    "adagrad",
    "adadelta",
    "adafactor",
    "adabelief",
    "adan",
    "rmsprop",
    "lion",
    "yogi",
    "radam",
    "novograd",
    "lamb",
    "lars",
    "fromage",
    "sm3",
    "rprop",
    "sign_sgd",
    "signum",
    "optimistic_gradient_descent",
    "optimistic_adam",
    "polyak_sgd",
    "lbfgs",
)

_DEFAULT_LEARNING_RATE = 1e-3
# Options whose default None means "off" but which take a number when given (sweepable then).
_NUMERIC_WHEN_GIVEN = ("momentum", "optimism", "weight_decay_rate")
_REFERENCE = "optax (google-deepmind/optax), optax.{name}; see its docstring for the paper"


def _split_signature(factory: Callable) -> tuple[dict[str, float | None], dict[str, Any]]:
    """Numeric float parameters become hyperparameters (traced); the rest static options."""
    numeric: dict[str, float | None] = {}
    static: dict[str, Any] = {}
    for p in inspect.signature(factory).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default
        if p.name == "learning_rate":
            numeric[p.name] = (
                default if default is not inspect.Parameter.empty else (_DEFAULT_LEARNING_RATE)
            )
        elif isinstance(default, float) and not isinstance(default, bool):
            numeric[p.name] = default
        elif default is inspect.Parameter.empty:
            continue
        elif default is None and p.name in _NUMERIC_WHEN_GIVEN:
            numeric[p.name] = None
        else:
            static[p.name] = default
    return numeric, static


@dataclass(frozen=True)
class OptaxOptimizer(Optimizer):
    """An optax optimizer run step by step as optax's own loop would run it.

    ``update_arguments`` names what its ``update`` takes besides ``(grad, state, x)``
    (``"value"``: f at ``x``, for Polyak's step size). Its step only moves the point, so
    it can share a program with other such methods.
    """

    stackable: ClassVar[bool] = True

    factory: Callable[..., optax.GradientTransformation] | None = field(default=None, repr=False)
    update_arguments: tuple[str, ...] = ()

    def transformation(self, hyper: Mapping[str, Any]) -> optax.GradientTransformation:
        numeric = {k: v for k, v in hyper.items() if v is not None}
        static = {k: v for k, v in self.options.items()}
        return self.factory(**numeric, **static)

    def init(self, fun, x, hyper, key) -> Any:
        return self.transformation(hyper).init(x)

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        tx = self.transformation(hyper)
        given = {"value": value}
        extra = {k: given[k] for k in self.update_arguments}
        updates, state = tx.update(grad, state, x, **extra)
        return StepResult(optax.apply_updates(x, updates), state, Evaluations.of())


@dataclass(frozen=True)
class OptaxLineSearch(OptaxOptimizer):
    """An optax optimizer with its own line search (L-BFGS's zoom search): its update
    takes ``value``, ``grad`` and ``value_fn`` as optax documents, and the step reports
    the search's evaluations, reuses f and its gradient at the accepted point, and fails
    when no step was accepted."""

    stackable: ClassVar[bool] = False

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        tx = self.transformation(hyper)
        updates, state = tx.update(grad, state, x, value=value, grad=grad, value_fn=fun)
        x_new = optax.apply_updates(x, updates)
        info = optax.tree_utils.tree_get(state, "info")
        steps = jnp.asarray(info.num_linesearch_steps, jnp.int32)
        # the zoom line search keeps f and grad f at the accepted point for reuse
        value_new = optax.tree_utils.tree_get(state, "value")
        grad_new = optax.tree_utils.tree_get(state, "grad")
        failed = jnp.all(updates == 0) & jnp.any(grad != 0)
        return StepResult(
            x_new,
            state,
            Evaluations.of(f=steps, g=steps),
            value=value_new,
            grad=grad_new,
            failed=failed,
        )

    def state_size(self, dim: int) -> int:
        return (2 * int(self.options.get("memory_size", 10)) + 4) * dim


def optax_optimizer(name: str) -> OptaxOptimizer:
    """The adapter for ``optax.<name>``, its hyperparameters read from optax's signature."""
    factory = getattr(optax, name)
    numeric, static = _split_signature(factory)
    kind, update_arguments = OptaxOptimizer, ()
    if name == "lbfgs":
        numeric["learning_rate"] = None  # None: the zoom line search chooses the step
        kind = OptaxLineSearch
    if name == "polyak_sgd":
        numeric.pop("learning_rate", None)
        update_arguments = ("value",)
    return kind(
        name=name,
        defaults=numeric,
        options=static,
        reference=_REFERENCE.format(name=name),
        factory=factory,
        update_arguments=update_arguments,
    )


for _name in OPTAX_NAMES:
    register(_name, partial(optax_optimizer, _name))
