"""Parameters as pytrees: one start's structure, starts flattened to vectors and back, and
starts sampled per leaf.

A model's parameters are a pytree of arrays, ``{"w": (64, 10), "b": (10,)}``. The engine
runs on vectors, so a pytree objective is flattened at the boundary (the leaves raveled
and concatenated in ``jax.tree.leaves`` order, as ``jax.flatten_util.ravel_pytree``
does) and its results are unflattened for the reader.

A batch of starts carries the same leading axis on every leaf. Whether ``x0`` is one start
or a batch is read from the objective's ``template`` (one start's leaves as
``jax.ShapeDtypeStruct``) when it has one, else from the function itself: ``x0`` is one
start when ``f`` accepts it as given and returns a scalar, and a batch when ``f`` accepts
it with the leading axis removed from every leaf. When both hold (a function that only
sums its leaves' entries), the objective must say which, through a template
(:func:`with_template`).

Pytrees are dicts, tuples, named tuples and any other registered pytree node; a Python
list keeps its meaning as (nested) numbers, an array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.errors import ConfigError

__all__ = [
    "INITIALIZERS",
    "FlatObjective",
    "Template",
    "TreeObjective",
    "is_tree",
    "sample_starts",
    "split_starts",
    "with_template",
]


def is_tree(x: Any) -> bool:
    """Whether ``x`` is a pytree of several leaves or of a container (not an array or list)."""
    if isinstance(x, list | np.ndarray | jax.Array) or np.isscalar(x):
        return False
    return not jax.tree_util.treedef_is_leaf(jax.tree.structure(x))


def _path(keypath) -> str:
    return "x0" + jax.tree_util.keystr(keypath)


@dataclass(frozen=True)
class Template:
    """One start's structure: the tree and every leaf's shape, in leaf order, and the dtype.

    Hashable, so a flattened objective built from the same function and template is the
    same compiled program's key.
    """

    treedef: Any
    shapes: tuple[tuple[int, ...], ...]
    paths: tuple[str, ...]
    dtype: Any

    @staticmethod
    def of(tree: Any, dtype: Any = None) -> Template:
        """The template of one start ``tree`` (arrays or ``ShapeDtypeStruct`` leaves)."""
        pairs, treedef = jax.tree_util.tree_flatten_with_path(tree)
        shapes = tuple(tuple(int(n) for n in np.shape(leaf)) for _, leaf in pairs)
        if dtype is None:
            kinds = [np.dtype(getattr(leaf, "dtype", np.asarray(leaf).dtype)) for _, leaf in pairs]
            floats = [k for k in kinds if np.issubdtype(k, np.inexact)]
            dtype = np.result_type(*floats) if floats else jnp.result_type(float)
            dtype = jax.dtypes.canonicalize_dtype(dtype)
        return Template(treedef, shapes, tuple(_path(p) for p, _ in pairs), np.dtype(dtype))

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(s)) for s in self.shapes)

    @property
    def size(self) -> int:
        """The dimension of the flattened vector."""
        return sum(self.sizes)

    def structs(self) -> Any:
        """One start as a pytree of ``jax.ShapeDtypeStruct``."""
        leaves = [jax.ShapeDtypeStruct(s, self.dtype) for s in self.shapes]
        return jax.tree.unflatten(self.treedef, leaves)

    def unravel(self, vector: Any) -> Any:
        """The pytree of one flat vector ``(D,)`` (traceable)."""
        leaves, offset = [], 0
        for shape, size in zip(self.shapes, self.sizes, strict=True):
            leaves.append(jnp.reshape(vector[offset : offset + size], shape))
            offset += size
        return jax.tree.unflatten(self.treedef, leaves)

    def ravel(self, tree: Any) -> jax.Array:
        """One start's pytree as a flat vector ``(D,)`` (traceable)."""
        leaves = jax.tree.leaves(tree)
        return jnp.concatenate([jnp.ravel(leaf).astype(self.dtype) for leaf in leaves])

    def unflatten(self, array: np.ndarray) -> Any:
        """Host arrays ``(..., D)`` as a pytree whose leaves are ``(..., *leaf_shape)``."""
        array = np.asarray(array)
        lead = array.shape[:-1]
        leaves, offset = [], 0
        for shape, size in zip(self.shapes, self.sizes, strict=True):
            leaves.append(array[..., offset : offset + size].reshape(lead + shape))
            offset += size
        return jax.tree.unflatten(self.treedef, leaves)


@dataclass(frozen=True, eq=False)
class TreeObjective:
    """A function of a pytree together with one start's template (see :func:`with_template`)."""

    fun: Callable
    template: Template

    @property
    def name(self) -> str:
        return getattr(self.fun, "name", None) or getattr(self.fun, "__name__", "callable")

    def __call__(self, params: Any) -> jax.Array:
        return self.fun(params)

    def __hash__(self) -> int:
        return hash((self.fun, self.template))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreeObjective)
            and other.fun is self.fun
            and other.template == self.template
        )


def with_template(fun: Callable, template: Any) -> TreeObjective:
    """``fun`` with one start's structure declared: ``template`` is one start (arrays or
    ``jax.ShapeDtypeStruct`` leaves). Then ``x0`` is read against it, never guessed.

    Example:
      >>> import jax.numpy as jnp
      >>> f = with_template(lambda p: jnp.sum(p["w"] ** 2), {"w": jnp.zeros(3)})
      >>> f.template.size
      3
    """
    return TreeObjective(fun, Template.of(template))


def _fits(fun: Callable, structs: Any) -> bool:
    """Whether ``fun`` traces on ``structs`` and returns a scalar."""
    try:
        out = jax.eval_shape(fun, structs)
    except Exception:  # noqa: BLE001 - any failure to trace means "does not fit"
        return False
    return hasattr(out, "shape") and out.shape == ()


def _batch_size(pairs: list, where: str) -> int:
    """The common leading axis of every leaf, or a ConfigError naming the leaves that differ."""
    sizes = {}
    for path, leaf in pairs:
        if np.ndim(leaf) == 0:
            raise ConfigError(
                f"{where}: {_path(path)} is a scalar, so it has no axis of starts; "
                "a batch of starts has the same leading axis on every leaf"
            )
        sizes[_path(path)] = int(np.shape(leaf)[0])
    if len(set(sizes.values())) > 1:
        first, *_ = sizes
        other = next(p for p, n in sizes.items() if n != sizes[first])
        raise ConfigError(
            f"{where}: the leaves disagree on the number of starts: {first} has "
            f"{sizes[first]}, {other} has {sizes[other]}; a batch of starts has the same "
            "leading axis on every leaf"
        )
    return next(iter(sizes.values()))


def _check_numbers(pairs: list, where: str) -> None:
    for path, leaf in pairs:
        kind = np.asarray(leaf).dtype.kind if not hasattr(leaf, "dtype") else leaf.dtype.kind
        if kind not in "biuf":
            raise ConfigError(f"{where}: {_path(path)} must be numbers; got an array of {kind!r}")


def split_starts(fun: Callable, x0: Any, where: str = "x0") -> tuple[np.ndarray, bool, Template]:
    """A pytree ``x0`` as flat host starts ``(B, D)``, whether it was one start, and one
    start's :class:`Template`.

    The template is ``fun.template`` when ``fun`` declares one, else read from ``x0`` and
    ``fun`` (see the module docstring). Raises a :class:`ConfigError` naming the leaf when
    the leaves disagree on the number of starts or do not fit the objective.
    """
    pairs = jax.tree_util.tree_flatten_with_path(x0)[0]
    if not pairs:
        raise ConfigError(f"{where}: the pytree has no leaves")
    _check_numbers(pairs, where)
    declared = getattr(fun, "template", None)
    if isinstance(declared, Template):
        template = declared
        structure = jax.tree.structure(x0)
        if structure != template.treedef:
            raise ConfigError(
                f"{where}: the pytree's structure {structure} is not the objective's "
                f"{template.treedef}"
            )
        shapes = [tuple(np.shape(leaf)) for _, leaf in pairs]
        if all(s == t for s, t in zip(shapes, template.shapes, strict=True)):
            single = True
        else:
            for (path, leaf), want in zip(pairs, template.shapes, strict=True):
                shape = tuple(np.shape(leaf))
                if shape != want and shape[1:] != want:
                    raise ConfigError(
                        f"{where}: {_path(path)} has shape {shape}; the objective takes "
                        f"{want} for one start, or (B, *{want}) for a batch of B starts"
                    )
            _batch_size(pairs, where)
            single = False
    else:
        one = Template.of(x0)
        as_one = _fits(fun, one.structs())
        as_batch = False
        if all(np.ndim(leaf) >= 1 for _, leaf in pairs):
            try:
                n = _batch_size(pairs, where)
            except ConfigError:
                if not as_one:
                    raise
            else:
                rest = Template(one.treedef, tuple(s[1:] for s in one.shapes), one.paths, one.dtype)
                as_batch = n >= 1 and _fits(fun, rest.structs())
        if as_one and as_batch:
            raise ConfigError(
                f"{where}: the pytree fits the objective both as one start and as a batch of "
                f"{n} starts; declare one start's shapes with "
                "jaxcalc.with_template(f, one_start)"
            )
        if not (as_one or as_batch):
            shapes = ", ".join(f"{p} {s}" for p, s in zip(one.paths, one.shapes, strict=True))
            raise ConfigError(
                f"{where}: the pytree ({shapes}) does not fit the objective, neither as one "
                "start nor as a batch with a leading axis on every leaf (the function did not "
                "return a scalar)"
            )
        single = as_one
        template = one if single else rest
    dtype = template.dtype
    n = 1 if single else int(np.shape(pairs[0][1])[0])
    columns = [np.asarray(leaf, dtype).reshape(n, -1) for _, leaf in pairs]
    starts = np.concatenate(columns, axis=1) if columns else np.zeros((n, 0), dtype)
    if starts.shape[0] == 0:
        raise ConfigError(f"{where} holds no starts")
    return starts, single, template


# ----------------------------------------------------------------------------------------
# Starts sampled per leaf


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    # a dense layer's kernel (fan_in, fan_out), as jax.nn.initializers reads it
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _normal(key, shape, dtype, scale):
    return scale * jax.random.normal(key, shape, dtype)


def _glorot_uniform(key, shape, dtype, scale):
    if len(shape) < 2:
        return jnp.zeros(shape, dtype)
    fan_in, fan_out = _fans(shape)
    limit = scale * np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, dtype, -limit, limit)


def _he_uniform(key, shape, dtype, scale):
    if len(shape) < 2:
        return jnp.zeros(shape, dtype)
    fan_in, _ = _fans(shape)
    limit = scale * np.sqrt(6.0 / fan_in)
    return jax.random.uniform(key, shape, dtype, -limit, limit)


def _zeros(key, shape, dtype, scale):
    return jnp.zeros(shape, dtype)


#: the initialisers by name; each leaf of two or more axes is a kernel ``(..., fan_in,
#: fan_out)``, and the Glorot and He initialisers give leaves of fewer axes (biases) zeros
INITIALIZERS = {
    "normal": _normal,
    "glorot_uniform": _glorot_uniform,
    "he_uniform": _he_uniform,
    "zeros": _zeros,
}


def sample_starts(
    template: Any, starts: int, *, seed: int = 0, init: str = "normal", scale: float = 1.0
) -> Any:
    """``starts`` starts drawn per leaf: a pytree like ``template`` (one start, or a
    :class:`Template`) with a leading axis of ``starts`` on every leaf.

    ``init`` is one of :data:`INITIALIZERS`: ``normal`` (``scale`` times a standard normal),
    ``glorot_uniform`` (uniform on ``+-scale*sqrt(6/(fan_in+fan_out))``, Glorot and Bengio
    2010), ``he_uniform`` (``+-scale*sqrt(6/fan_in)``, He et al. 2015) or ``zeros``. Leaf
    ``i`` of start ``j`` draws from ``fold_in(fold_in(key(seed), i), j)``, so adding
    starts or leaves never changes the others.

    Example:
      >>> import numpy as np
      >>> x0 = sample_starts({"w": np.zeros((3, 2)), "b": np.zeros(2)}, 5, init="glorot_uniform")
      >>> x0["w"].shape, float(np.abs(x0["b"]).max())
      ((5, 3, 2), 0.0)
    """
    if init not in INITIALIZERS:
        raise ConfigError(f"init must be one of {', '.join(INITIALIZERS)}; got {init!r}")
    if isinstance(starts, bool) or not isinstance(starts, int | np.integer) or starts < 1:
        raise ConfigError(f"starts must be a whole number >= 1; got {starts!r}")
    if not isinstance(scale, int | float) or not np.isfinite(scale) or scale <= 0:
        raise ConfigError(f"scale must be a finite number > 0; got {scale!r}")
    if not isinstance(template, Template):
        template = Template.of(template)
    draw = INITIALIZERS[init]
    root = jax.random.key(int(seed))
    leaves = []
    for i, shape in enumerate(template.shapes):
        keys = jax.vmap(lambda j, i=i: jax.random.fold_in(jax.random.fold_in(root, i), j))(
            jnp.arange(int(starts))
        )
        values = jax.vmap(lambda k, shape=shape: draw(k, shape, template.dtype, scale))(keys)
        leaves.append(np.asarray(values))
    return jax.tree.unflatten(template.treedef, leaves)


@dataclass(frozen=True, eq=False)
class FlatObjective:
    """A pytree objective as a function of flat vectors ``(D,)``, for the engine.

    Equal (and of equal hash) for the same function and template, so repeated calls share
    one compiled program. The objective's lower bound (``floor``) and, when it has them,
    its minibatch loss and recorded metrics are offered on vectors too.
    """

    fun: Callable
    template: Template

    def __call__(self, vector: jax.Array) -> jax.Array:
        return self.fun(self.template.unravel(vector))

    def __hash__(self) -> int:
        return hash((self.fun, self.template))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FlatObjective)
            and other.fun is self.fun
            and other.template == self.template
        )

    @property
    def name(self) -> str:
        return getattr(self.fun, "name", None) or getattr(self.fun, "__name__", "callable")

    @property
    def floor(self) -> float | None:
        return getattr(self.fun, "floor", None)

    @property
    def minibatch(self) -> Any:
        """The objective's minibatch schedule (see ``jaxcalc.objectives.data``), or None."""
        return getattr(self.fun, "minibatch", None)

    def batch_loss(self, vector: jax.Array, rows: jax.Array) -> jax.Array:
        return self.fun.batch_loss(self.template.unravel(vector), rows)

    def shuffle(self, key: jax.Array, epoch: jax.Array) -> jax.Array:
        return self.fun.shuffle(key, epoch)

    @property
    def record_names(self) -> tuple[str, ...]:
        return tuple(getattr(self.fun, "record_names", ()))

    def record_metrics(self, vector: jax.Array) -> dict[str, jax.Array]:
        return self.fun.record_metrics(self.template.unravel(vector))
