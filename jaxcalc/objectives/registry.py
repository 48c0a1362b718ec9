"""Names -> objectives: the spec of a registered objective, ``register``, ``names``, ``get``.

The lowest module of :mod:`jaxcalc.objectives`: it imports no family. Each family module
(``course``, ``classic``, ``bbob_registry``, ``constrained_problems``, ``residual``,
``mgh``) lists
its :class:`ObjectiveSpec` objects in ``SPECS``, and :mod:`jaxcalc.objectives` registers
them here in that order when it is imported. ``get`` also turns an expression string into
an objective and, only when asked to explicitly (``allow_code=True``), loads a Python
callable named ``"module:function"``.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jaxcalc.expressions import parse
from jaxcalc.objectives.base import Objective, ObjectiveError

__all__ = ["ObjectiveError", "ObjectiveSpec", "from_expression", "get", "names", "register", "spec"]


@dataclass(frozen=True)
class ObjectiveSpec:
    """How to build a registered objective.

    Attributes:
      name: the registry name (snake_case).
      factory: ``factory(dim, **params) -> Objective``.
      default_dim: the dimension used when ``get`` is given none.
      dims: the allowed dimensions: None for any ``dim >= min_dim``, else a tuple.
      min_dim: the smallest dimension when ``dims`` is None.
      family: "course", "classic", "bbob", "constrained", "least_squares", "mgh" or
        "user".
      params: the keyword parameters the factory accepts, with their defaults.
    """

    name: str
    factory: Callable[..., Objective]
    default_dim: int
    dims: tuple[int, ...] | None = None
    min_dim: int = 1
    family: str = "user"
    params: dict[str, Any] = field(default_factory=dict)

    def build(self, dim: int | None = None, **params: Any) -> Objective:
        dim = self.default_dim if dim is None else dim
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer):
            raise ObjectiveError(f"objective {self.name}: dim must be an integer, got {dim!r}")
        dim = int(dim)
        if self.dims is not None and dim not in self.dims:
            allowed = ", ".join(map(str, self.dims))
            raise ObjectiveError(f"objective {self.name} is defined for dim {allowed}; got {dim}")
        if self.dims is None and dim < self.min_dim:
            raise ObjectiveError(f"objective {self.name} needs dim >= {self.min_dim}; got {dim}")
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise ObjectiveError(
                f"objective {self.name}: unknown parameter {unknown[0]!r}"
                f"{_did_you_mean(unknown[0], self.params)} (parameters: {known})"
            )
        return self.factory(dim, **params)


_REGISTRY: dict[str, ObjectiveSpec] = {}  # in registration order


def register(spec: ObjectiveSpec, *, replace: bool = False) -> ObjectiveSpec:
    """Add an objective to the registry (``replace=True`` to redefine a name)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.name):
        raise ObjectiveError(f"objective names are snake_case; got {spec.name!r}")
    if spec.name in _REGISTRY and not replace:
        raise ObjectiveError(f"objective {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def names(family: str | None = None) -> list[str]:
    """Registered names, in registration order (optionally of one family)."""
    return [n for n, s in _REGISTRY.items() if family is None or s.family == family]


def spec(name: str) -> ObjectiveSpec:
    """The spec registered under ``name``; an unknown name lists the close matches."""
    if name not in _REGISTRY:
        raise ObjectiveError(f"unknown objective {name!r}{_did_you_mean(name, _REGISTRY)}")
    return _REGISTRY[name]


def _did_you_mean(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""


def from_expression(
    text: str,
    *,
    bounds: Any = None,
    x_opt: Any = None,
    f_opt: float | None = None,
    name: str | None = None,
    variables: Any = None,
) -> Objective:
    """An objective from an expression string (parsed safely by :func:`jaxcalc.parse`).

    Bounds default to ``[-5, 5]`` per variable. ``x_opt``/``f_opt`` are taken as given
    (None when unknown); when only ``x_opt`` is given, ``f_opt`` is f(x_opt).
    """
    expr = parse(text, variables)
    dim = expr.dim
    box = np.asarray(bounds if bounds is not None else [[-5.0, 5.0]] * dim, dtype=np.float64)
    if box.shape == (2,):
        box = np.tile(box, (dim, 1))
    if box.shape != (dim, 2):
        raise ObjectiveError(
            f"expression `{text}` has {dim} variables ({', '.join(expr.variables)}): "
            f"bounds must be {dim} pairs [low, high]; got shape {box.shape}"
        )
    if x_opt is not None:
        x_opt = np.asarray(x_opt, dtype=np.float64).reshape(-1)
        if x_opt.shape != (dim,):
            raise ObjectiveError(f"expression `{text}`: x_opt must have {dim} values")
        if f_opt is None:
            point = x_opt[0] if dim == 1 else x_opt
            f_opt = float(np.asarray(expr(point), dtype=np.float64))

    def fn(x):
        return expr(x[0]) if dim == 1 else expr(x)

    return Objective(
        name=name or text,
        dim=dim,
        fn=fn,
        bounds=box,
        x_opt=x_opt,
        f_opt=f_opt,
        citation="user expression",
        differentiable=True,
        description=str(expr.sympy),
        params={"variables": list(expr.variables)},
    )


def _load_callable(target: str, dim: int | None, bounds: Any) -> Objective:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError) as err:
        raise ObjectiveError(f"cannot load objective {target!r}: {err}") from None
    if isinstance(fn, Objective):
        return fn
    if not callable(fn):
        raise ObjectiveError(f"{target!r} is not callable")
    if dim is None:
        raise ObjectiveError(f"objective {target!r} is a Python callable: give its dim")
    box = bounds if bounds is not None else [[-5.0, 5.0]] * dim
    return Objective(name=target, dim=dim, fn=fn, bounds=box, citation=f"user code {target}")


_CALLABLE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def get(
    name: str | Objective,
    dim: int | None = None,
    *,
    allow_code: bool = False,
    bounds: Any = None,
    x_opt: Any = None,
    f_opt: float | None = None,
    **params: Any,
) -> Objective:
    """Look up or build an objective.

    Args:
      name: a registered name (``"rosenbrock"``, ``"bbob_f3"``), an expression string
        (``"(x - 2)**2 + 3*(y + 1)**2"``), ``"module:function"`` (only with
        ``allow_code=True``, because importing runs code), or an :class:`Objective`.
      dim: the dimension (registered functions of any dimension, BBOB).
      allow_code: permit loading a Python callable named ``"module:function"``.
      bounds, x_opt, f_opt: for expressions and callables.
      **params: the objective's own parameters (e.g. ``instance=3`` for BBOB, ``c=0.5``).

    Raises:
      ObjectiveError: unknown name (with close matches), unsupported dim, bad parameter.

    Example:
      >>> get("booth").f_opt
      0.0
    """
    if isinstance(name, Objective):
        return name
    if not isinstance(name, str) or not name.strip():
        raise ObjectiveError(f"an objective is a name or an expression; got {name!r}")
    name = name.strip()
    if _CALLABLE.fullmatch(name):
        if not allow_code:
            raise ObjectiveError(
                f"{name!r} names Python code, and loading it runs that code; "
                "allow it explicitly (allow_code=True, or --allow-code on the command line)"
            )
        return _load_callable(name, dim, bounds)
    if re.fullmatch(r"[A-Za-z_]\w*", name):
        return spec(name).build(dim, **params)
    if params:
        raise ObjectiveError(f"expression objectives take no parameters; got {sorted(params)}")
    obj = from_expression(name, bounds=bounds, x_opt=x_opt, f_opt=f_opt)
    if dim is not None and obj.dim != dim:
        raise ObjectiveError(f"expression `{name}` has {obj.dim} variables, not dim={dim}")
    return obj
