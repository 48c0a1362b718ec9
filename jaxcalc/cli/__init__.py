"""The ``jaxcalc`` command line (entry point ``jaxcalc.cli:main``)."""

from jaxcalc.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
