"""Fixtures for every test: float64 / float32 modes that restore JAX's previous setting."""

import os

import pytest
from jaxcalc_testing import precision

# Tests never read or write the user's compilation caches: the CLI (run in-process by
# many tests) would turn on JAX's persistent cache and jaxcalc's program cache in
# ~/.cache for the rest of the worker, so a later test could load a program compiled by
# an earlier test run instead of compiling it. The cache tests use their own folders.
os.environ.setdefault("JAXCALC_NO_CACHE", "1")
# Reports are drawn in the test's own process: a helper process per report would add its
# start-up to every test that draws one (tests/pipeline/test_report_render.py starts it).
os.environ.setdefault("JAXCALC_NO_REPORT_HELPER", "1")


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
