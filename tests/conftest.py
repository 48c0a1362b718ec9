"""Fixtures for every test: float64 / float32 modes that restore JAX's previous setting."""

import pytest
from jaxcalc_testing import precision


@pytest.fixture
def x64():
    """Enable float64 for one test and restore the previous setting."""
    with precision(True):
        yield


@pytest.fixture
def x32():
    """Run one test in JAX's float32 default, whatever the environment says."""
    with precision(False):
        yield
