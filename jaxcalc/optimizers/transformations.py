"""Any optax ``GradientTransformation`` as an optimizer, and chains of named ones.

``optimize(f, optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3)), x0, n)``
runs the transformation as optax's own loop would:
``updates, state = tx.update(grad, state, x); x = optax.apply_updates(x, updates)``.

Hyperparameters are data through optax's :func:`optax.inject_hyperparams`: the numeric
hyperparameters of every injected transformation in the state (``InjectHyperparamsState``)
become this optimizer's hyperparameters, set per run in the state, so a list sweeps them
in one compiled program. A hyperparameter name that two injected transformations share is
prefixed with the transformation's position among them (``1.learning_rate``).

A config's chain, ``chain = [{name = "clip_by_global_norm", max_norm = 1.0},
{name = "adamw", learning_rate = 1e-3}]``, is built by :func:`chain_optimizer`: each link is
``optax.inject_hyperparams(optax.<name>)`` of its arguments, so its float arguments are
hyperparameters (integers, flags and strings are fixed when compiling).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.protocol import Evaluations, Optimizer, StepResult
from jaxcalc.optimizers.registry import get_optimizer

__all__ = [
    "TransformationOptimizer",
    "as_optimizer",
    "chain_optimizer",
    "from_optax",
    "transformation_names",
]

_INJECTED = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def _injected(node: Any) -> bool:
    return isinstance(node, _INJECTED)


def _numeric_keys(node: Any) -> list[str]:
    """An injected state's numeric hyperparameters (not those a schedule sets)."""
    scheduled = set(getattr(node, "hyperparams_states", {}) or {})
    return [k for k in node.hyperparams if k not in scheduled]


def _discover(tx: optax.GradientTransformation) -> dict[str, tuple[int, str, float]]:
    """Hyperparameter name -> (index of the injected state, its key, its value)."""
    dtype = jnp.result_type(float)  # float64 when x64 is enabled
    state = jax.eval_shape(tx.init, jax.ShapeDtypeStruct((1,), dtype))
    found: list[tuple[int, str]] = []
    nodes = [n for n in jax.tree.leaves(state, is_leaf=_injected) if _injected(n)]
    for i, node in enumerate(nodes):
        found.extend((i, k) for k in _numeric_keys(node))
    counts: dict[str, int] = {}
    for _, k in found:
        counts[k] = counts.get(k, 0) + 1
    # the values: from a concrete init on a one-element vector (cheap)
    concrete = tx.init(jnp.zeros((1,), dtype))
    values = [n for n in jax.tree.leaves(concrete, is_leaf=_injected) if _injected(n)]
    out = {}
    for i, k in found:
        name = k if counts[k] == 1 else f"{i}.{k}"
        out[name] = (i, k, _shortest(values[i].hyperparams[k]))
    return out


def _shortest(value: Any) -> float:
    """A hyperparameter held in the state as a Python float: float32 values by their
    shortest decimal form (0.9, not 0.8999999761581421)."""
    a = np.asarray(value)
    return float(str(a.astype(np.float32))) if a.dtype == np.float32 else float(a)


@dataclass(frozen=True)
class TransformationOptimizer(Optimizer):
    """An ``optax.GradientTransformation`` run step by step as optax's own loop runs it.

    Its hyperparameters are the numeric hyperparameters of the injected transformations in
    its state (see the module docstring); ``injected`` maps each name to the injected
    state's index and key. Transformations with extra arguments
    (``GradientTransformationExtraArgs``) get ``value``, as optax documents for Polyak's
    step size.
    """

    stackable: ClassVar[bool] = True

    transformation: Any = field(default=None, repr=False)
    injected: tuple[tuple[str, int, str], ...] = ()

    @property
    def structure(self) -> Any:
        """What the program compiles to beyond name and options (the compile cache's key)."""
        return (self.transformation, self.injected)

    def _set(self, state: Any, hyper: Mapping[str, Any]) -> Any:
        """``state`` with every injected hyperparameter set from ``hyper``."""
        if not self.injected:
            return state
        counter = itertools.count()

        def put(node):
            if not _injected(node):
                return node
            i = next(counter)
            hp = dict(node.hyperparams)
            for name, index, key in self.injected:
                if index == i and hyper.get(name) is not None:
                    hp[key] = jnp.asarray(hyper[name], jnp.asarray(hp[key]).dtype)
            return node._replace(hyperparams=hp)

        return jax.tree.map(put, state, is_leaf=_injected)

    def init(self, fun, x, hyper, key) -> Any:
        return self._set(self.transformation.init(x), hyper)

    def step(self, fun, x, value, grad, state, hyper) -> StepResult:
        state = self._set(state, hyper)
        if isinstance(self.transformation, optax.GradientTransformationExtraArgs):
            updates, state = self.transformation.update(grad, state, x, value=value)
        else:
            updates, state = self.transformation.update(grad, state, x)
        return StepResult(optax.apply_updates(x, updates), state, Evaluations.of())


def from_optax(
    transformation: optax.GradientTransformation, name: str = "transformation"
) -> TransformationOptimizer:
    """An optimizer running ``transformation``; ``name`` labels its trajectories.

    Example:
      >>> import optax
      >>> opt = from_optax(optax.inject_hyperparams(optax.adam)(learning_rate=0.1), "adam")
      >>> dict(opt.defaults)
      {'learning_rate': 0.1}
    """
    if not isinstance(transformation, optax.GradientTransformation):
        raise ConfigError(f"expected an optax.GradientTransformation; got {transformation!r}")
    try:
        found = _discover(transformation)
    except Exception as err:  # noqa: BLE001 - a transformation that cannot start on a vector
        raise ConfigError(
            f"{name}: the optax transformation cannot initialise on a vector: {err}"
        ) from None
    return TransformationOptimizer(
        name=name,
        defaults={k: v for k, (_, _, v) in found.items()},
        reference="optax (google-deepmind/optax): a user-given GradientTransformation",
        transformation=transformation,
        injected=tuple((k, i, key) for k, (i, key, _) in found.items()),
    )


def as_optimizer(optimizer: Any) -> Optimizer:
    """A name, an :class:`Optimizer` or an ``optax.GradientTransformation`` as an Optimizer."""
    if isinstance(optimizer, optax.GradientTransformation):
        return from_optax(optimizer)
    return get_optimizer(optimizer)


# ----------------------------------------------------------------------------------------
# Chains of named transformations (configs)

_NOT_TRANSFORMATIONS = {
    "apply_updates",
    "apply_if_finite",
    "chain",
    "named_chain",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "multi_transform",
    "partition",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "global_norm",
    "incremental_update",
    "periodic_update",
    "power_iteration",
    "matrix_inverse_pth_root",
    "multi_normal",
    "scale_gradient",
    "with_extra_args_support",
    "conditionally_transform",
    "conditionally_mask",
    "masked",
    "maybe_update",
    "skip_not_finite",
    "skip_large_updates",
    "value_and_grad_from_state",
    "make_perturbed_fun",
    "flatten",
    "lookahead",
    "stateless",
    "stateless_with_tree_map",
    "noisy_sgd",
}


def transformation_names() -> list[str]:
    """optax's functions that build a gradient transformation from numbers (links of a
    config's ``chain``)."""
    names = []
    for name in dir(optax):
        if name.startswith("_") or name in _NOT_TRANSFORMATIONS or name[0].isupper():
            continue
        obj = getattr(optax, name)
        if inspect.isfunction(obj) and not name.endswith(("_schedule", "_loss")):
            names.append(name)
    return sorted(names)


def _suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _link(
    spec: Mapping[str, Any], where: str
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """One link: its name, its float arguments (first values), its other arguments and the
    sweeps among the floats (as lists)."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f'{where}: a link is a table such as {{name = "adam"}}; got {spec!r}')
    spec = dict(spec)
    name = spec.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f'{where}: missing `name` (an optax transformation, e.g. name = "adam")')
    known = transformation_names()
    if name not in known:
        raise ConfigError(
            f"{where}.name: unknown optax transformation {name!r}{_suggest(name, known)}"
        )
    params = inspect.signature(getattr(optax, name)).parameters
    floats, static, sweeps = {}, {}, {}
    for key, value in spec.items():
        if key not in params:
            raise ConfigError(
                f"{where}.{key}: optax.{name} takes no argument {key!r}"
                f"{_suggest(key, list(params))}; it takes: {', '.join(params)}"
            )
        if isinstance(value, list | tuple):
            if not value or not all(_is_number(v) for v in value):
                raise ConfigError(f"{where}.{key}: a sweep is a non-empty list of numbers")
            sweeps[key] = [float(v) for v in value]
            floats[key] = float(value[0])
        elif _is_number(value) and not isinstance(value, numbers.Integral):
            floats[key] = float(value)
        elif _is_number(value) and str(params[key].annotation) not in ("int", "<class 'int'>"):
            floats[key] = float(value)  # an integer written for a float argument
        else:
            static[key] = value
    for key, value in floats.items():
        if not math.isfinite(value):
            raise ConfigError(f"{where}.{key}: must be a finite number; got {value}")
    return name, floats, static, sweeps


def _injectable(name: str, floats: dict[str, Any], static: dict[str, Any], where: str):
    """``inject_hyperparams(optax.<name>)`` of the arguments, with the floats that optax
    tests in Python made static; and those static floats' names."""
    factory = getattr(optax, name)
    fixed: set[str] = set()
    while True:
        statics = {*static, *fixed}
        tx = optax.inject_hyperparams(factory, static_args=tuple(statics))(**floats, **static)
        try:
            x = jnp.zeros((2,), jnp.float32)
            jax.make_jaxpr(lambda s, g, tx=tx, x=x: tx.update(g, s, x))(tx.init(x), x)
            return tx, fixed
        except jax.errors.JAXTypeError as err:
            traced = [k for k in floats if k not in fixed and k in str(err)] or [
                k for k in floats if k not in fixed
            ][:1]
            if not traced:
                raise ConfigError(f"{where}: optax.{name} cannot run in a program: {err}") from None
            fixed.update(traced)
        except Exception as err:  # noqa: BLE001 - optax's refusal, as a config problem
            raise ConfigError(f"{where}: optax.{name} refused its arguments: {err}") from None


def chain_optimizer(
    links: Sequence[Mapping[str, Any]], name: str | None = None, where: str = "chain"
) -> tuple[TransformationOptimizer, dict[str, Any]]:
    """The optimizer of a chain of named optax transformations, and its sweeps.

    Each link is a table ``{name = <optax function>, **arguments}``; a list of numbers
    sweeps that argument. Returns the optimizer (named ``name``, default the links' names
    joined by ``+``) and the hyperparameters to pass with it (the sweeps, by the
    optimizer's hyperparameter names).

    Example:
      >>> opt, sweeps = chain_optimizer(
      ...     [{"name": "clip_by_global_norm", "max_norm": 1.0},
      ...      {"name": "adamw", "learning_rate": [1e-3, 1e-2]}])
      >>> opt.name, sweeps
      ('clip_by_global_norm+adamw', {'learning_rate': [0.001, 0.01]})
    """
    if not isinstance(links, list | tuple) or not links:
        raise ConfigError(f"{where}: must be a non-empty list of transformation tables")
    parts, sweeps_by_link, floats_by_link, names = [], [], [], []
    for i, spec in enumerate(links):
        link_where = f"{where}[{i}]"
        link_name, floats, static, sweeps = _link(spec, link_where)
        tx, fixed = _injectable(link_name, floats, static, link_where)
        for key in fixed & set(sweeps):
            raise ConfigError(
                f"{link_where}.{key}: optax.{link_name} tests this value in Python, so it "
                "cannot be swept; use one entry per value"
            )
        parts.append(tx)
        sweeps_by_link.append(sweeps)
        floats_by_link.append(floats)
        names.append(link_name)
    opt = from_optax(optax.chain(*parts), name or "+".join(names))
    sweeps: dict[str, Any] = {}
    defaults = dict(opt.defaults)
    for hyper_name, index, key in opt.injected:
        if key in floats_by_link[index]:
            defaults[hyper_name] = floats_by_link[index][key]  # as given, not as stored
        if key in sweeps_by_link[index]:
            sweeps[hyper_name] = sweeps_by_link[index][key]
    return dataclasses.replace(opt, defaults=defaults), sweeps
