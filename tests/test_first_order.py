"""The engine's first-order test is absolute or relative to f's size (scaled by |x|), and a
plateau is not 'converged' in any dimension. Expected event steps are counted by hand: gd
on ``c (1 + x^2)`` at learning rate ``1 / (4 c)`` halves x every step, so ``x_k = 2^-k``
exactly."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import jaxcalc
from jaxcalc.engine.result import first_order


@pytest.fixture(autouse=True)
def float64(x64):
    """Every test here runs in float64."""


def test_the_rule_on_hand_made_cases():
    def test(g, f, x):
        return bool(first_order(jnp.float64(g * g), jnp.float64(f), jnp.float64(x), 1e-8))

    assert test(1e-3, 1e6, 0.5)  # 1e-3 <= 1e-8 * 1e6
    assert not test(1e-3, 0.5, 0.5)  # |f| < 1: absolute, 1e-3 > 1e-8
    assert test(0.9e-8, -0.5, 1e6) and not test(1.1e-8, 1.0, 0.0)
    # x^2 at x = 1e9: f / |x| = 1e9 while the gradient is 2e9
    assert not test(2e9, 1e18, 1e9)
    assert test(2e9, 1e18 + 1e18, 1.0)  # f much larger than x: relative
    # a squared gradient that overflowed fails, however large f is
    assert not bool(first_order(jnp.float64(jnp.inf), jnp.float64(1e300), 1.0, 1e-8))


@pytest.mark.parametrize(("c", "expected"), [(1.0, 28), (1e3, 28), (1e6, 28), (1e-3, 18)])
def test_scaling_f_up_does_not_change_where_a_run_converges(c, expected):
    """With |x| <= 1, |2 c x_k| <= 1e-8 c (1 + x_k^2) first holds at 2^-k <= 5e-9, k = 28,
    whatever c >= 1 (an absolute test would need k = 48 at c = 1e6). Below |f| = 1 the test
    is absolute: 2e-3 * 2^-k <= 1e-8 first at k = 18."""
    t = jaxcalc.optimize(
        lambda x: c * (1.0 + jnp.sum(x * x)), "gd", [1.0], 100, learning_rate=0.25 / c
    )
    assert str(t.status) == "converged"
    assert int(t.event_step) == expected
    assert float(t.final_params[0]) == 2.0**-expected


def test_a_function_that_grows_does_not_converge_far_out():
    """gd on x^2 from 1e9 halves x every step at learning rate 1/4: |f| grows faster than
    |grad f|, but the test scales f by |x|, so the run stops only near 0: at
    |2 x| <= 1e-8, 2^-k 1e9 <= 5e-9, k = 58."""
    t = jaxcalc.optimize("x^2", "gd", [1e9], 100, learning_rate=0.25)
    assert str(t.status) == "converged"
    assert int(t.event_step) == 58
    assert abs(float(t.final_params[0])) < 5e-9


def test_a_plateau_above_32_dimensions_is_stalled_not_converged():
    """1 - exp(-|x|^2) at |x| = 7 in 40 dimensions: the gradient (~1e-20) passes the test,
    f is 1 to rounding there, and its minimum is 0 at the origin."""
    start = np.full(40, 7.0 / np.sqrt(40.0))
    t = jaxcalc.optimize(lambda x: 1.0 - jnp.exp(-jnp.sum(x * x)), "gd", start, 5)
    assert str(t.status) == "stalled"
    assert float(t.final_values) == pytest.approx(1.0)
    # a minimum with f = 1 in 40 dimensions stays converged (f grows a unit away)
    t = jaxcalc.optimize(lambda x: 1.0 + jnp.sum(x * x), "gd", start, 200, learning_rate=0.25)
    assert str(t.status) == "converged"
    assert float(t.final_values) == pytest.approx(1.0, abs=1e-15)
