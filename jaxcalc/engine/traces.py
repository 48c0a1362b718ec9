"""What a method's init and step do, read from one trace of one run (a jaxpr).

:mod:`jaxcalc.engine.program` traces a method's init and step once, for one run, and asks
three questions of the traces without running them: which outputs depend on inputs that
differ between runs (:func:`depends`: state shared by every run stays one scalar), which
per-step counts are constants and their values (:func:`constant_outputs`), and whether the
step treats every coordinate of the point on its own (:func:`coordinatewise`: then it can
run on each leaf of a pytree point separately, with the same arithmetic on every number).
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.extend.core import Literal

__all__ = ["constant_outputs", "coordinatewise", "depends", "primitives"]


def depends(jaxpr, varying: list[bool]) -> list[bool]:
    """Which outputs of ``jaxpr`` depend on the inputs marked ``varying``.

    A conservative dependence analysis (an equation with any varying input makes all its
    outputs varying). The engine uses it to keep optimizer state that is the same for every
    run (optax's step counter when the hyperparameters are shared) as one scalar instead of
    one per run, and to find the per-step counts that are constants.
    """
    vary = {v for v, m in zip(jaxpr.invars, varying, strict=True) if m}
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, Literal) and v in vary for v in eqn.invars):
            vary.update(eqn.outvars)
    return [not isinstance(v, Literal) and v in vary for v in jaxpr.outvars]


def constant_outputs(closed, wanted: range) -> list[Any]:
    """The values of the outputs ``wanted`` of ``closed`` (a ClosedJaxpr) that depend on no input.

    Only the equations that these outputs need and that depend on no input are evaluated
    (eagerly, as JAX's own jaxpr interpreter does), so finding that a method spends one
    gradient per step neither runs the method's step nor compiles its constant parts.
    Outputs that depend on an input are None.
    """
    jaxpr = closed.jaxpr
    env = dict(zip(jaxpr.constvars, closed.consts, strict=True))
    vary = set(jaxpr.invars)
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, Literal) and v in vary for v in eqn.invars):
            vary.update(eqn.outvars)
    outs = [jaxpr.outvars[i] for i in wanted]
    need = {v for v in outs if not isinstance(v, Literal) and v not in vary}
    todo = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in need for v in eqn.outvars):
            todo.append(eqn)
            need.update(v for v in eqn.invars if not isinstance(v, Literal))

    def read(v):
        return v.val if isinstance(v, Literal) else env[v]

    with jax.ensure_compile_time_eval():
        for eqn in reversed(todo):
            params = eqn.primitive.get_bind_params(eqn.params)
            subfuns = ()
            if isinstance(params, tuple):  # JAX before 0.7 returned (subfuns, params)
                subfuns, params = params
            out = eqn.primitive.bind(*subfuns, *map(read, eqn.invars), **params)
            results = out if eqn.primitive.multiple_results else [out]
            env.update(zip(eqn.outvars, results, strict=True))
    return [None if not isinstance(v, Literal) and v in vary else np.asarray(read(v)) for v in outs]


# ----------------------------------------------------------------------------------------
# Coordinatewise steps

#: primitives whose every output number is computed from the numbers at the same position
#: in their inputs (scalars broadcast)
ELEMENTWISE = frozenset(
    [
        "abs",
        "acos",
        "acosh",
        "add",
        "and",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "cbrt",
        "ceil",
        "clamp",
        "conj",
        "convert_element_type",
        "copy",
        "copy_p",
        "cos",
        "cosh",
        "digamma",
        "div",
        "eq",
        "erf",
        "erf_inv",
        "erfc",
        "exp",
        "exp2",
        "expm1",
        "floor",
        "ge",
        "gt",
        "imag",
        "integer_pow",
        "is_finite",
        "le",
        "lgamma",
        "log",
        "log1p",
        "logistic",
        "lt",
        "max",
        "min",
        "mul",
        "ne",
        "neg",
        "nextafter",
        "not",
        "or",
        "pow",
        "real",
        "reduce_precision",
        "rem",
        "round",
        "rsqrt",
        "select_n",
        "sign",
        "sin",
        "sinh",
        "sqrt",
        "square",
        "sub",
        "tan",
        "tanh",
        "xor",
    ]
)
#: primitives that call a jaxpr with their own inputs, one for one
CALLS = frozenset(
    [
        "pjit",
        "jit",
        "closed_call",
        "core_call",
        "custom_jvp_call",
        "custom_vjp_call",
        "custom_vjp_call_jaxpr",
        "remat",
        "checkpoint",
    ]
)
SCALAR, VECTOR, UNIFORM = "scalar", "vector", "uniform"


def _called(eqn):
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        if key in eqn.params:
            inner = eqn.params[key]
            return getattr(inner, "jaxpr", inner)
    return None


def _kinds(jaxpr, kinds: list[str | None], d: int) -> list[str | None] | None:
    """The kind of every output of ``jaxpr`` given its inputs' (see :func:`coordinatewise`),
    or None when an equation mixes the coordinates of a point of ``d`` numbers."""
    kind: dict[Any, str | None] = dict(zip(jaxpr.invars, kinds, strict=True))
    for v in jaxpr.constvars:
        kind[v] = SCALAR if tuple(getattr(v.aval, "shape", ())) == () else None

    def of(v):
        if isinstance(v, Literal):
            return SCALAR if np.shape(v.val) == () else None
        return kind.get(v)

    for eqn in jaxpr.eqns:
        ins = [of(v) for v in eqn.invars]
        shapes = [tuple(getattr(v.aval, "shape", ())) for v in eqn.outvars]
        if all(k == SCALAR for k in ins) and all(s == () for s in shapes):
            kind.update((v, SCALAR) for v in eqn.outvars)
            continue
        name = eqn.primitive.name
        if name in CALLS and _called(eqn) is not None:
            outs = _kinds(_called(eqn), ins, d)
            if outs is None:
                return None
            kind.update(zip(eqn.outvars, outs, strict=True))
            continue
        if name == "broadcast_in_dim" and ins == [SCALAR] and shapes == [(d,)]:
            kind[eqn.outvars[0]] = UNIFORM
            continue
        if name not in ELEMENTWISE or any(k is None for k in ins):
            return None
        if any(s != (d,) for s in shapes):
            return None
        out = VECTOR if VECTOR in ins else UNIFORM if UNIFORM in ins else SCALAR
        kind.update((v, out) for v in eqn.outvars)
    return [of(v) for v in jaxpr.outvars]


def coordinatewise(jaxpr, points: list[bool], d: int) -> list[str | None] | None:
    """Whether ``jaxpr`` treats every coordinate of its points on its own: None if not,
    else the kind of each output.

    ``points`` marks the inputs that are points (or state) of ``d`` numbers (shape
    ``(d,)``); every other input is a scalar or must be unused. The answer is yes when every
    equation that reads a point (or a value computed from one) is elementwise on arrays of
    shape ``(d,)`` and scalars, and every other array of that shape is a scalar broadcast:
    then the trace of the same method on a point of any other size does the same
    arithmetic on every coordinate. Kinds: ``"vector"`` (computed from the points),
    ``"uniform"`` (a broadcast scalar), ``"scalar"`` (independent of the points), None
    (anything else). Conservative: any other equation that touches an array (a sum, a
    product of matrices, a gather, a loop) answers no.
    """
    shapes = [tuple(getattr(v.aval, "shape", ())) for v in jaxpr.invars]
    kinds = [
        VECTOR if p else SCALAR if s == () else None for p, s in zip(points, shapes, strict=True)
    ]
    return _kinds(jaxpr, kinds, d)


def primitives(jaxpr) -> tuple:
    """The primitives of ``jaxpr`` in order, calls opened: equal for two traces of a
    method that do the same arithmetic on points of different sizes."""
    out = []
    for eqn in jaxpr.eqns:
        inner = _called(eqn) if eqn.primitive.name in CALLS else None
        out.append((eqn.primitive.name, primitives(inner) if inner is not None else ()))
    return tuple(out)
