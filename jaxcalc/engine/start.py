"""Starts where f or its gradient was not finite, judged again in float64: a float32
overflow (f and its gradient finite in float64) is ``overflow``, not
``domain_error_at_start``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxcalc.engine.result import CODE

__all__ = ["overflow_at_start"]


def overflow_at_start(fun: Any, x0: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``status`` (codes, one per run) with ``domain_error_at_start`` turned into
    ``overflow`` where the float32 start ``x0`` (runs, D) is finite and f and its gradient
    are finite in float64: the working dtype's range, not f's domain, was exceeded.

    Only float32 runs with such starts pay for it (one float64 evaluation of those starts).
    A float64 run has no wider type to ask, and keeps ``domain_error_at_start``.
    """
    bad = (status == CODE["domain_error_at_start"]) & np.isfinite(x0).all(axis=1)
    if x0.dtype != np.float32 or not bad.any():
        return status
    try:
        with jax.enable_x64(True):
            points = jnp.asarray(x0[bad], jnp.float64)
            values, grads = jax.vmap(jax.value_and_grad(fun))(points)
            wide = np.isfinite(np.asarray(values)) & np.isfinite(np.asarray(grads)).all(axis=1)
    except Exception:  # noqa: BLE001 - a callable that is not float64-safe keeps its status
        return status
    status = status.copy()
    index = np.flatnonzero(bad)[wide]
    status[index] = CODE["overflow"]
    return status
