"""Residual objectives: the value is ||r||^2, the residuals batch, and the NIST problems
carry NIST's certified numbers (checked here against NIST's own certified standard
deviations, which follow from the Jacobian at the certified parameters)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxcalc.nist_strd import MISRA1A, THURBER
from jaxcalc.objectives import ResidualObjective, from_residuals, get, names

RESIDUAL_NAMES = ("misra1a", "thurber", "exp_decay_fit", "logistic_fit")


@pytest.fixture(autouse=True)
def float64(x64):
    """Every test here runs in float64 (the shared ``x64`` fixture restores the mode)."""


def test_registered_in_their_family():
    assert set(RESIDUAL_NAMES) <= set(names("least_squares"))
    for name in RESIDUAL_NAMES:
        obj = get(name)
        assert isinstance(obj, ResidualObjective)
        assert obj.starts.shape == (2, obj.dim)
        assert np.all((obj.starts >= obj.lower) & (obj.starts <= obj.upper))
        assert obj.summary()["observations"] == obj.observations


@pytest.mark.parametrize("name", RESIDUAL_NAMES)
def test_value_is_the_sum_of_squared_residuals(name):
    obj = get(name)
    rng = np.random.default_rng(3)
    pts = obj.lower + rng.random((5, obj.dim)) * (obj.upper - obj.lower)
    r = np.asarray(obj.residuals(pts))
    assert r.shape == (5, obj.observations)
    np.testing.assert_allclose(np.asarray(obj(pts)), np.sum(r**2, axis=1), rtol=1e-13)
    assert np.asarray(obj.residuals(pts.reshape(5, 1, obj.dim))).shape == (5, 1, obj.observations)
    # grad f = 2 J^T r
    x = jnp.asarray(pts[0])
    jac = jax.jacfwd(obj.residuals)(x)
    np.testing.assert_allclose(
        np.asarray(jax.grad(obj)(x)), 2 * np.asarray(jac.T @ obj.residuals(x)), rtol=1e-10
    )


@pytest.mark.parametrize("data", [MISRA1A, THURBER], ids=lambda d: d.name)
def test_nist_certified_standard_deviations(data):
    """NIST's standard deviations are sqrt(diag(s^2 (J^T J)^-1)) at the certified
    parameters, s^2 = RSS / (n - p): recomputed here to 1e-6 (they are certified to 11
    digits; the Jacobian is evaluated at parameters rounded to 11 digits)."""
    obj = get(data.name.lower())
    jac = np.asarray(jax.jacfwd(obj.residuals)(jnp.asarray(data.certified)))
    n, p = jac.shape
    s2 = data.residual_sum_of_squares / (n - p)
    # QR of J: (J^T J)^-1 = R^-1 R^-T, without squaring the condition number
    r = np.linalg.qr(jac, mode="r")
    r_inv = np.linalg.inv(r)
    sd = np.sqrt(s2 * np.sum(r_inv**2, axis=1))
    np.testing.assert_allclose(sd, data.standard_deviations, rtol=1e-6)


def test_from_residuals_computes_f_opt_and_refuses_nonsense():
    line = from_residuals(
        lambda x: x[0] + x[1] * jnp.arange(3.0) - jnp.array([1.0, 3.0, 6.0]),
        dim=2,
        bounds=[-10, 10],
        name="line",
        x_opt=[0.8333333333333334, 2.5],
    )
    assert line.observations == 3
    assert line.f_opt == pytest.approx(1 / 6, rel=1e-12)
    with pytest.raises(ValueError, match="residual_fn"):
        ResidualObjective(name="bad", dim=1, fn=None, bounds=[0, 1])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        line.residuals(jnp.zeros(3))
