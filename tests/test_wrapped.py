"""The base of wrapping methods: a bare wrapper is the method it wraps."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxcalc as jc
from jaxcalc.errors import ConfigError
from jaxcalc.optimizers import Wrapped, get_optimizer, optimizer_names

# f(x) = 0.5 * sum(a * x^2): gd's step is x <- (1 - lr a) x
A = np.array([1.0, 4.0])
X0 = np.array([1.0, -2.0])


@pytest.mark.parametrize("name", optimizer_names())
def test_a_wrapper_declares_what_the_wrapped_method_declares(name):
    inner = get_optimizer(name)
    wrapped = Wrapped.around(inner, dict(inner.defaults))
    assert (wrapped.name, dict(wrapped.options), wrapped.reference) == (
        inner.name,
        dict(inner.options),
        inner.reference,
    )
    for attribute in ("requires", "dims", "curvature_check", "final_state", "stackable"):
        assert getattr(wrapped, attribute) == getattr(inner, attribute), attribute
    for dim in (2, 3):
        assert wrapped.step_cost(dim) == inner.step_cost(dim)
        assert wrapped.state_size(dim) == inner.state_size(dim)
    assert wrapped.structure == ((type(inner), name, getattr(inner, "structure", None)),)


def test_a_bare_wrapper_runs_the_wrapped_method(x64):
    """gd through the wrapper: x_k = (1 - lr a)^k x0 (by hand)."""
    wrapped = Wrapped.around(get_optimizer("gd"), {"learning_rate": 0.1})
    t = jc.optimize(lambda x: 0.5 * jnp.sum(jnp.asarray(A) * x**2), wrapped, X0, 20)
    expected = (1.0 - 0.1 * A) ** np.arange(21)[:, None] * X0
    np.testing.assert_allclose(t.params, expected, rtol=1e-13, atol=1e-15)


def test_options_reach_the_wrapped_method():
    inner = get_optimizer("lbfgs")
    wrapped = Wrapped.around(inner, dict(inner.defaults)).with_options(memory_size=3)
    assert wrapped.options["memory_size"] == 3 and wrapped.inner.options["memory_size"] == 3
    with pytest.raises(ConfigError, match="unknown option"):
        wrapped.with_options(memory=3)
