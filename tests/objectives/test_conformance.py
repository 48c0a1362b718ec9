"""Every registered objective honours the :class:`Objective` contract.

The table is parametrized over ``jaxcalc.objectives.names()``, so a new registration (a
course function, a classic one, a ``bbob_*`` one) is enrolled automatically, at its spec's
default dimension. Each objective is built and jitted once per test session (``_jitted``) to
keep the runtime small.

Documented exceptions: none yet. An objective that cannot be evaluated in float32 on its box
should be listed in ``FLOAT32_EXCEPTIONS`` with the reason. Agreement of float32 with float64
is asked of the course and classic families only (see ``test_finite_on_random_points``).
"""

from __future__ import annotations

import sys
import textwrap
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcalc.objectives import Objective, ObjectiveError, get, names, spec

ALL = names()
FLOAT32_EXCEPTIONS: dict[str, str] = {}


@pytest.fixture(autouse=True)
def x64():
    """Run in float64, restoring the previous mode after."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


N = 64  # every batch of points has this many rows, so each objective compiles few shapes
TRACES: dict[str, list] = {}


@cache
def _objective(name: str) -> Objective:
    return get(name)


@cache
def _jitted(name: str):
    """``jax.jit`` of the objective, recording each trace (shape, dtype) in ``TRACES``."""
    obj = _objective(name)
    TRACES[name] = []

    def counted(x):
        TRACES[name].append((x.shape, x.dtype))
        return obj(x)

    return jax.jit(counted)


@cache
def _grad(name: str):
    return jax.jit(jax.vmap(jax.grad(_objective(name).__call__)))


def _points(obj: Objective, count: int = N, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return obj.lower + rng.random((count, obj.dim)) * (obj.upper - obj.lower)


def _rows(points: np.ndarray) -> jax.Array:
    """``points`` repeated to ``N`` rows (the shape already compiled)."""
    return jnp.asarray(np.resize(points, (N, points.shape[1])))


def _tol(obj: Objective) -> float:
    return 1e-9 * max(1.0, abs(obj.f_opt))


def _on_boundary(obj: Objective, x: np.ndarray) -> bool:
    eps = 1e-12 * (obj.upper - obj.lower)
    return bool(np.any((x <= obj.lower + eps) | (x >= obj.upper - eps)))


@pytest.mark.parametrize("name", ALL)
def test_metadata(name):
    s = spec(name)
    obj = _objective(name)
    assert obj.name == name
    assert obj.dim == s.default_dim
    assert s.dims is None or obj.dim in s.dims
    assert obj.bounds.shape == (obj.dim, 2)
    assert np.all(np.isfinite(obj.bounds)) and np.all(obj.lower < obj.upper)
    assert obj.citation
    assert s.family in {"course", "classic", "bbob", "least_squares", "constrained", "mgh", "user"}
    if obj.unbounded:
        assert obj.f_opt is None
    if obj.x_opt is not None:
        assert obj.minimizers.shape[1] == obj.dim
        np.testing.assert_array_equal(obj.x_opt, obj.minimizers[0])
        inside = (obj.minimizers >= obj.lower) & (obj.minimizers <= obj.upper)
        assert np.all(inside), "minimisers must lie in the bounds box"
        assert obj.f_opt is not None
    # a second build is the same objective
    again = get(name, obj.dim)
    assert again.name == name and again.f_opt == obj.f_opt
    if obj.x_opt is not None:
        np.testing.assert_array_equal(again.minimizers, obj.minimizers)


@pytest.mark.parametrize("name", ALL)
def test_finite_on_random_points(name):
    obj = _objective(name)
    pts = _points(obj, seed=1)
    f = _jitted(name)
    values = np.asarray(f(jnp.asarray(pts)))
    assert values.shape == (N,) and values.dtype == np.float64
    assert np.all(np.isfinite(values))
    values32 = np.asarray(f(jnp.asarray(pts, jnp.float32)))
    assert values32.dtype == np.float32, "the output follows the input's dtype"
    if name not in FLOAT32_EXCEPTIONS:
        assert np.all(np.isfinite(values32))
    if spec(name).family in {"course", "classic"}:
        # float32 agrees with float64 at the same (float32-rounded) points. Not asked of BBOB:
        # e.g. Katsuura's round(2^j x) for j up to 32 has no float32 meaning.
        rounded = np.asarray(f(jnp.asarray(pts.astype(np.float32).astype(np.float64))))
        scale = np.max(np.abs(rounded)) + 1.0
        np.testing.assert_allclose(values32, rounded, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("name", ALL)
def test_value_at_every_minimiser(name):
    obj = _objective(name)
    if obj.minimizers is None:
        assert obj.x_opt is None
        pytest.skip("no known minimiser")
    k = len(obj.minimizers)
    values = np.asarray(_jitted(name)(_rows(obj.minimizers)))[:k]
    np.testing.assert_allclose(values, obj.f_opt, rtol=0, atol=_tol(obj))


@pytest.mark.parametrize("name", ALL)
def test_zero_gradient_at_interior_minimisers(name):
    obj = _objective(name)
    if obj.minimizers is None or not obj.differentiable:
        pytest.skip("no minimiser known, or not differentiable")
    if obj.constraints:
        pytest.skip("a constrained minimiser (KKT checked in tests/test_constrained.py)")
    interior = np.array([x for x in obj.minimizers if not _on_boundary(obj, x)])
    if len(interior) == 0:
        pytest.skip("every minimiser is on the boundary of the box")
    # scale: the typical gradient size on the box
    typical = np.median(np.linalg.norm(np.asarray(_grad(name)(_points(obj, seed=2))), axis=1))
    grads = np.asarray(_grad(name)(_rows(interior)))
    assert np.all(np.isfinite(grads))
    assert np.max(np.abs(grads)) <= 1e-7 * max(1.0, typical), grads


@pytest.mark.parametrize("name", ALL)
def test_gradient_finite_on_random_points(name):
    obj = _objective(name)
    if not obj.differentiable:
        pytest.skip("not differentiable")
    grads = np.asarray(_grad(name)(jnp.asarray(_points(obj, seed=3))))
    assert grads.shape == (N, obj.dim) and np.all(np.isfinite(grads))


@pytest.mark.parametrize("name", ALL)
def test_minimum_is_a_lower_bound(name):
    obj = _objective(name)
    if obj.f_opt is None or obj.unbounded:
        pytest.skip("no known minimum")
    if obj.constraints:
        pytest.skip("a constrained minimum (checked on feasible points in test_constrained.py)")
    f = _jitted(name)
    for seed in range(16):  # 1024 points, one compiled shape
        values = np.asarray(f(jnp.asarray(_points(obj, seed=100 + seed))))
        assert values.min() >= obj.f_opt - _tol(obj)


@pytest.mark.parametrize("name", ALL)
def test_batching(name):
    obj = _objective(name)
    f = _jitted(name)
    pts = jnp.asarray(_points(obj, 11, seed=5))
    batch = np.asarray(f(pts))
    assert batch.shape == (11,)
    one_by_one = np.array([float(f(p)) for p in pts])
    assert np.asarray(f(pts[0])).shape == ()
    np.testing.assert_allclose(batch, one_by_one, rtol=1e-12, atol=1e-300)
    grid = np.asarray(f(pts[:6].reshape(2, 3, obj.dim)))
    assert grid.shape == (2, 3)
    np.testing.assert_allclose(grid.reshape(-1), one_by_one[:6], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ALL)
def test_no_recompilation_for_the_same_shape(name):
    obj = _objective(name)
    f = _jitted(name)
    a, b = jnp.asarray(_points(obj, seed=6)), jnp.asarray(_points(obj, seed=7))
    f(a)
    before = len(TRACES[name])
    second = np.asarray(f(b))
    assert len(TRACES[name]) == before, "a second call with the same shape must not retrace"
    assert TRACES[name].count((a.shape, a.dtype)) == 1
    assert second.shape == (N,) and np.all(np.isfinite(second))


# -------------------------------------------------------------------------------------------
# the lookup itself


def test_get_round_trip():
    for name in ALL:
        assert get(name).name == name
        assert spec(name).name == name
    obj = get("booth")
    assert get(obj) is obj


def test_unknown_name_suggests_the_close_one():
    with pytest.raises(ObjectiveError, match="booth"):
        get("boooth")


def test_expression_objective():
    obj = get("(x - 2)**2 + 3*(y + 1)**2", bounds=[[-5, 5], [-5, 5]], x_opt=[2, -1])
    assert obj.dim == 2
    assert obj.f_opt == 0.0
    np.testing.assert_array_equal(obj.x_opt, [2.0, -1.0])
    assert float(obj(jnp.array([0.0, 0.0]))) == pytest.approx(7.0)
    np.testing.assert_allclose(np.asarray(jax.grad(obj)(jnp.array([2.0, -1.0]))), [0, 0])
    np.testing.assert_allclose(np.asarray(jax.grad(obj)(jnp.array([0.0, 0.0]))), [-4, 6])
    pts = _points(obj, 11)
    np.testing.assert_allclose(
        np.asarray(obj(pts)), (pts[:, 0] - 2) ** 2 + 3 * (pts[:, 1] + 1) ** 2, rtol=1e-13
    )


def test_module_function_needs_allow_code(tmp_path, monkeypatch):
    module = "jaxcalc_conformance_user_objective"
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(
            """
            import jax.numpy as jnp

            def bowl(x):
                return jnp.sum((x - 1.0) ** 2)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ObjectiveError, match="allow"):
        get(f"{module}:bowl", 3)
    assert module not in sys.modules, "refusing must not import (run) the code"
    obj = get(f"{module}:bowl", 3, allow_code=True)
    assert obj.dim == 3
    assert float(obj(jnp.ones(3))) == 0.0
    np.testing.assert_allclose(np.asarray(obj(jnp.zeros((4, 3)))), np.full(4, 3.0))
    monkeypatch.delitem(sys.modules, module, raising=False)
