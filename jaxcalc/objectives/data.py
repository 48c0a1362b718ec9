"""Objectives from data: linear least squares, logistic and softmax regression and a small
MLP, on datasets that ship offline, with minibatches.

Conventions (docs/data_objectives.md states them for users):

- **Datasets.** scikit-learn's bundled datasets (``digits``, ``breast_cancer``, ``iris``,
  ``diabetes``; files inside the scikit-learn package, read without any network), seeded
  synthetic data (``synthetic_regression``, ``synthetic_binary``,
  ``synthetic_multiclass``), or arrays ``(X, y)`` given in Python.
- **Held-out split.** A fraction ``heldout`` of the rows (default 0.2), drawn from
  ``split_seed``; the rest is the training set.
- **Standardisation.** Features (and a regression target) are centred and scaled with the
  training set's mean and standard deviation (a constant column is left unscaled), and the
  held-out set with the same statistics.
- **Loss.** The mean over the training rows (half squared error for least squares; log
  loss for classification), plus ``(l2/2)·|w|²`` over every weight matrix, never a bias.
- **Recorded value.** The full training loss. Besides it, every record holds
  ``heldout_loss`` (the same loss on the held-out rows, without the penalty) and, for
  classification, ``train_accuracy`` and ``heldout_accuracy``.
- **Minibatches.** With ``batch_size`` set, each step's gradient is the minibatch loss's
  (penalty included). An epoch is ``n_train // batch_size`` steps (the last partial batch
  is dropped); each epoch reads the training rows in a fresh random order drawn from the
  run's data key (its seed, start and identity), so every run sees its own order. ``steps`` counts
  optimizer steps; :meth:`DataObjective.epoch_steps` turns epochs into steps.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.errors import ConfigError
from jaxcalc.trees import Template, sample_starts

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "MODELS",
    "DataObjective",
    "Dataset",
    "Minibatch",
    "data_objective",
    "load_dataset",
]

#: the bundled scikit-learn datasets and the kind of their target
SKLEARN = {
    "digits": "multiclass",
    "breast_cancer": "binary",
    "iris": "multiclass",
    "diabetes": "regression",
}
SYNTHETIC = {
    "synthetic_regression": "regression",
    "synthetic_binary": "binary",
    "synthetic_multiclass": "multiclass",
}
DATASETS = (*SKLEARN, *SYNTHETIC)
#: each model and the target kinds it accepts
MODELS = {
    "least_squares": ("regression",),
    "logistic_regression": ("binary",),
    "softmax_regression": ("binary", "multiclass"),
    "mlp": ("regression", "binary", "multiclass"),
}
ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "softplus": jax.nn.softplus,
}


class Dataset(NamedTuple):
    """Rows ``X`` (n, F) and targets ``y`` (n,), with the target's kind."""

    name: str
    X: np.ndarray
    y: np.ndarray
    kind: str  # "regression", "binary" or "multiclass"


@functools.lru_cache(maxsize=8)
def _sklearn(name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            f"dataset {name!r} is read from scikit-learn's bundled files; install it with "
            "pip install 'jaxcalc[data]'"
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    return np.asarray(bunch.data, np.float64), np.asarray(bunch.target)


def _synthetic(name: str, rows: int, features: int, classes: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    w = rng.normal(size=(features, max(classes, 1)))
    logits = X @ w
    if name == "synthetic_regression":
        return X, logits[:, 0] + 0.1 * rng.normal(size=rows)
    if name == "synthetic_binary":
        return X, (logits[:, 0] + rng.logistic(size=rows) > 0).astype(np.int64)
    gumbel = rng.gumbel(size=logits.shape)
    return X, np.argmax(logits + gumbel, axis=1).astype(np.int64)


def _kind_of(y: np.ndarray, where: str) -> str:
    if y.ndim != 1:
        raise ConfigError(f"{where}: the labels must be one column (n,); got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ConfigError(f"{where}: the labels must be numbers; got an array of {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise ConfigError(f"{where}: the labels hold non-finite values")
    whole = y.dtype.kind in "biu" or np.all(y == np.round(y))
    if not whole or y.dtype.kind == "f":
        return "regression"
    return "binary" if set(np.unique(y)) <= {0, 1} else "multiclass"


def load_dataset(
    dataset: Any,
    *,
    rows: int = 1000,
    features: int = 10,
    classes: int = 3,
    seed: int = 0,
) -> Dataset:
    """A dataset by name (see :data:`DATASETS`; ``rows``, ``features``, ``classes`` and
    ``seed`` shape the synthetic ones), or arrays ``(X, y)``: float targets are a
    regression, whole-number targets (integer dtype) are classes."""
    if isinstance(dataset, tuple) and len(dataset) == 2:
        X, y = np.asarray(dataset[0]), np.asarray(dataset[1])
        if X.ndim != 2 or X.dtype.kind not in "biuf":
            raise ConfigError(f"dataset: X must be a 2-D array of numbers; got shape {X.shape}")
        if len(X) != len(y):
            raise ConfigError(f"dataset: X has {len(X)} rows but y has {len(y)}")
        kind = _kind_of(y, "dataset")
        return Dataset("arrays", X.astype(np.float64), y, kind)
    if not isinstance(dataset, str) or dataset not in DATASETS:
        raise ConfigError(
            f"dataset: unknown dataset {dataset!r}; known: {', '.join(DATASETS)}, "
            "or arrays (X, y) in Python"
        )
    if dataset in SKLEARN:
        X, y = _sklearn(dataset)
        return Dataset(dataset, X, y, SKLEARN[dataset])
    X, y = _synthetic(dataset, int(rows), int(features), int(classes), int(seed))
    return Dataset(dataset, X, y, SYNTHETIC[dataset])


class Minibatch(NamedTuple):
    """How the engine reads a minibatch objective: ``batch_size`` rows per step, and
    ``steps_per_epoch = n_train // batch_size`` steps per pass over the training rows."""

    batch_size: int
    n_train: int
    steps_per_epoch: int


def _standardise(train: np.ndarray, *others: np.ndarray):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [(a - mean) / std for a in (train, *others)]


@dataclass(frozen=True, eq=False)
class DataObjective:
    """A model's loss on a dataset, as a function of its parameters (a pytree).

    Built by :func:`data_objective`. Calling it gives the full training loss; the engine
    reads :attr:`template`, :attr:`minibatch` (None: full batch), :meth:`shuffle`,
    :meth:`batch_loss`, :attr:`record_names` and :meth:`record_metrics`.
    """

    name: str
    model: str
    dataset: str
    kind: str
    template: Template
    hidden: tuple[int, ...]
    activation: str
    l2: float
    minibatch: Minibatch | None
    x_train: Any
    y_train: Any
    x_heldout: Any
    y_heldout: Any
    classes: int
    init: str = "glorot_uniform"
    floor: float = 0.0  # every loss here is >= 0

    # -- the model ---------------------------------------------------------------------

    def predict(self, params: Any, X: jax.Array) -> jax.Array:
        """The model's outputs on rows ``X``: logits (n, K), a binary logit or a value (n,)."""
        if self.model == "mlp":
            act = ACTIVATIONS[self.activation]
            h = X
            for layer in params[:-1]:
                h = act(h @ layer["w"] + layer["b"])
            out = h @ params[-1]["w"] + params[-1]["b"]
            return out[:, 0] if self.kind != "multiclass" else out
        return X @ params["w"] + params["b"]

    def _losses(self, params: Any, X: jax.Array, y: jax.Array) -> jax.Array:
        out = self.predict(params, X)
        if self.kind == "regression":
            return 0.5 * (out - y) ** 2
        if self.kind == "binary" and out.ndim == 1:
            # log(1 + e^z) - y z, the log loss of a logit z
            return jax.nn.softplus(out) - y * out
        # the target's logit picked by a mask, not a gather: the gather's gradient is a
        # scatter, which XLA:CPU runs as a loop over every row and run when the runs are
        # mapped (the engine differentiates the mapped loss); the mask's is a multiply
        target = jnp.arange(out.shape[-1]) == y[:, None].astype(jnp.int32)
        return jax.nn.logsumexp(out, axis=-1) - jnp.sum(jnp.where(target, out, 0), axis=-1)

    def _accuracy(self, params: Any, X: jax.Array, y: jax.Array) -> jax.Array:
        out = self.predict(params, X)
        guess = (out > 0).astype(y.dtype) if out.ndim == 1 else jnp.argmax(out, -1)
        return jnp.mean((guess == y).astype(out.dtype))

    def penalty(self, params: Any) -> jax.Array:
        """``(l2/2)·|w|²`` over the weights (never the biases)."""
        layers = params if self.model == "mlp" else (params,)
        return 0.5 * self.l2 * sum(jnp.sum(layer["w"] ** 2) for layer in layers)

    def __call__(self, params: Any) -> jax.Array:
        """The full training loss (mean over the training rows, plus the penalty)."""
        X, y = self._data(self.x_train, self.y_train, params)
        return self._penalised(jnp.mean(self._losses(params, X, y)), params)

    def _penalised(self, loss: jax.Array, params: Any) -> jax.Array:
        # without a penalty, no pass over the weights (a step of a small MLP spends a
        # tenth of its time squaring and summing them to add zero)
        return loss + self.penalty(params) if self.l2 else loss

    def _data(self, X, y, params):
        dtype = jax.tree.leaves(params)[0].dtype
        return jnp.asarray(X, dtype), jnp.asarray(y, dtype if self.kind != "multiclass" else None)

    # -- what the engine reads ---------------------------------------------------------

    def shuffle(self, key: jax.Array, epoch: jax.Array) -> jax.Array:
        """The order of the training rows in ``epoch`` for a run's data ``key``."""
        return jax.random.permutation(jax.random.fold_in(key, epoch), self.minibatch.n_train)

    def batch_loss(self, params: Any, rows: jax.Array) -> jax.Array:
        """The minibatch loss on training ``rows`` (their indices), plus the penalty."""
        X, y = self._data(self.x_train, self.y_train, params)
        return self._penalised(jnp.mean(self._losses(params, X[rows], y[rows])), params)

    @property
    def record_names(self) -> tuple[str, ...]:
        if self.kind == "regression":
            return ("heldout_loss",)
        return ("train_accuracy", "heldout_loss", "heldout_accuracy")

    def record_metrics(self, params: Any) -> dict[str, jax.Array]:
        """The held-out loss (no penalty) and, for classification, the accuracies."""
        Xh, yh = self._data(self.x_heldout, self.y_heldout, params)
        out = {"heldout_loss": jnp.mean(self._losses(params, Xh, yh))}
        if self.kind != "regression":
            X, y = self._data(self.x_train, self.y_train, params)
            out["train_accuracy"] = self._accuracy(params, X, y)
            out["heldout_accuracy"] = self._accuracy(params, Xh, yh)
        return out

    # -- for users ---------------------------------------------------------------------

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    # what experiments read of every objective: its dimension, no known minimum, a box
    # (the initialiser's, nominal) and its starts

    @property
    def dim(self) -> int:
        return self.template.size

    f_opt = None
    minimizers = None

    @property
    def bounds(self) -> np.ndarray:
        return np.tile([-1.0, 1.0], (self.dim, 1))

    def sample(self, key: jax.Array, n: int, dtype: Any = None) -> np.ndarray:
        """``n`` starts ``(n, D)``, flattened, drawn per leaf with the objective's ``init``
        from ``key``."""
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        tree = self.starts(n, seed=seed)
        leaves = [np.asarray(leaf).reshape(n, -1) for leaf in jax.tree.leaves(tree)]
        return np.concatenate(leaves, axis=1).astype(dtype or self.template.dtype)

    def epoch_steps(self, epochs: int) -> int:
        """The optimizer steps of ``epochs`` passes over the training rows."""
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ConfigError(f"epochs must be a whole number >= 1; got {epochs!r}")
        per_epoch = self.minibatch.steps_per_epoch if self.minibatch else 1
        return int(epochs) * per_epoch

    def starts(self, n: int, *, seed: int = 0, init: str | None = None, scale: float = 1.0):
        """``n`` starts drawn per leaf (:func:`jaxcalc.trees.sample_starts`; the default
        initialiser is the objective's ``init``)."""
        return sample_starts(self.template, n, seed=seed, init=init or self.init, scale=scale)


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{key} must be a whole number >= 1; got {value!r}")
    return int(value)


def data_objective(
    model: str,
    dataset: Any,
    *,
    batch_size: int | None = None,
    l2: float = 0.0,
    hidden: tuple[int, ...] | list[int] = (64,),
    activation: str = "relu",
    heldout: float = 0.2,
    split_seed: int = 0,
    init: str = "glorot_uniform",
    rows: int = 1000,
    features: int = 10,
    classes: int = 3,
    data_seed: int = 0,
) -> DataObjective:
    """The loss of ``model`` (see :data:`MODELS`) on ``dataset`` (see :func:`load_dataset`).

    Args:
      model: ``least_squares``, ``logistic_regression``, ``softmax_regression`` or ``mlp``.
      dataset: a name in :data:`DATASETS`, or arrays ``(X, y)``.
      batch_size: rows per minibatch (None: every step sees the whole training set).
      l2: the weight penalty ``(l2/2)·|w|²`` (biases are not penalised).
      hidden, activation: the MLP's hidden widths and activation (see :data:`ACTIVATIONS`).
      heldout: the held-out fraction, drawn from ``split_seed``.
      init: the initialiser of :meth:`DataObjective.starts`.
      rows, features, classes, data_seed: the synthetic datasets' shape and seed.

    Example:
      >>> f = data_objective("logistic_regression", "breast_cancer", batch_size=32, l2=1e-4)
      >>> f.template.size, f.minibatch.steps_per_epoch
      (31, 14)
    """
    if model not in MODELS:
        raise ConfigError(f"model: unknown model {model!r}; known: {', '.join(MODELS)}")
    data = load_dataset(dataset, rows=rows, features=features, classes=classes, seed=data_seed)
    if data.kind not in MODELS[model]:
        raise ConfigError(
            f"dataset: {model} needs {' or '.join(MODELS[model])} labels; dataset "
            f"{data.name!r} has {data.kind} labels"
        )
    if not isinstance(l2, int | float) or isinstance(l2, bool) or not np.isfinite(l2) or l2 < 0:
        raise ConfigError(f"l2 must be a finite number >= 0; got {l2!r}")
    if not isinstance(heldout, int | float) or not 0 < heldout < 1:
        raise ConfigError(f"heldout must be a fraction between 0 and 1; got {heldout!r}")
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation: unknown {activation!r}; known: {', '.join(ACTIVATIONS)}")
    hidden = tuple(_positive_int(h, "hidden") for h in hidden)
    n = len(data.X)
    order = np.random.default_rng(split_seed).permutation(n)
    n_held = max(1, int(round(heldout * n)))
    held, train = order[:n_held], order[n_held:]
    X_train, X_held = _standardise(data.X[train], data.X[held])
    y_train, y_held = data.y[train], data.y[held]
    if data.kind == "regression":
        y_train, y_held = _standardise(y_train.astype(np.float64), y_held.astype(np.float64))
    minibatch = None
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
        if batch_size > len(train):
            raise ConfigError(
                f"batch_size: {batch_size} is larger than the training set "
                f"({len(train)} rows of {data.name!r})"
            )
        minibatch = Minibatch(batch_size, len(train), len(train) // batch_size)
    n_classes = int(data.y.max()) + 1 if data.kind == "multiclass" else 1
    if model == "softmax_regression" and data.kind == "binary":
        n_classes = 2
    kind = "multiclass" if model == "softmax_regression" else data.kind
    features_in = data.X.shape[1]
    if model == "mlp":
        widths = (features_in, *hidden, n_classes)
        shapes: Any = tuple(
            {"w": np.zeros((a, b)), "b": np.zeros(b)}
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
    elif n_classes == 1:
        shapes = {"w": np.zeros(features_in), "b": np.zeros(())}
    else:
        shapes = {"w": np.zeros((features_in, n_classes)), "b": np.zeros(n_classes)}
    name = f"{model}:{data.name}"
    return DataObjective(
        name=name,
        model=model,
        dataset=data.name,
        kind=kind,
        template=Template.of(shapes),
        hidden=hidden if model == "mlp" else (),
        activation=activation,
        l2=float(l2),
        minibatch=minibatch,
        x_train=X_train,
        y_train=y_train,
        x_heldout=X_held,
        y_heldout=y_held,
        classes=n_classes,
        init=init,
    )
