"""Optimizer names -> optimizer factories: the table every family registers into.

A lower module: it imports no optimizer family. Each family module registers its methods
when it is imported (``jaxcalc.optimizers`` imports them in the order
:func:`optimizer_names` lists them), and code outside jaxcalc registers its own the same
way::

    jaxcalc.optimizers.register("sign_gd", SignGradientDescent)
    jaxcalc.optimize("booth", "sign_gd", [0.0, 0.0], 100)
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.protocol import Optimizer

__all__ = ["get_optimizer", "optimizer_names", "register"]

_FACTORIES: dict[str, Callable[[], Optimizer]] = {}  # in registration order
_LOCK = threading.Lock()


def register(name: str, factory: Callable[[], Optimizer]) -> None:
    """Make ``factory()`` the optimizer called ``name`` (in ``optimize``, configs, the CLI).

    ``factory`` is called with no arguments each time the name is looked up: an
    :class:`Optimizer` subclass with defaults for every field serves. Registering the same
    factory again under its name is a no-op; another factory under a taken name is refused.
    """
    if not isinstance(name, str) or not name or name.split() != [name]:
        raise ConfigError(f"an optimizer name is a word such as 'sign_gd'; got {name!r}")
    if not callable(factory):
        raise ConfigError(f"register({name!r}, ...): the factory must be callable; got {factory!r}")
    with _LOCK:
        known = _FACTORIES.get(name)
        if known is not None and known is not factory:
            raise ConfigError(f"an optimizer called {name!r} is already registered ({known!r})")
        _FACTORIES[name] = factory


def optimizer_names() -> list[str]:
    """Every optimizer name ``optimize`` accepts, in registration order: the classical
    methods, the constrained, the least-squares and the population methods, optax's, then
    any registered from outside jaxcalc."""
    return list(_FACTORIES)


def get_optimizer(name: str | Optimizer) -> Optimizer:
    """The optimizer called ``name`` (an :class:`Optimizer` is returned as it is)."""
    if isinstance(name, Optimizer):
        return name
    if not isinstance(name, str):
        raise ConfigError(f"an optimizer is a name or an Optimizer; got {name!r}")
    factory = _FACTORIES.get(name)
    if factory is not None:
        method = factory()
        if not isinstance(method, Optimizer):
            raise ConfigError(f"the factory registered as {name!r} returned {method!r}")
        return method
    names = optimizer_names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ConfigError(f"unknown optimizer {name!r}{hint} (known: {', '.join(names)})")
