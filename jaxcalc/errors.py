"""The error classes jaxcalc raises for bad input.

Every rejection of user input is one of these, so the command line can turn it into a
single line on stderr and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ExpressionError",
    "JaxcalcError",
    "OutputError",
    "ResourceError",
]


class JaxcalcError(Exception):
    """Base class of every error jaxcalc raises for bad input or an unusable environment."""


class ExpressionError(JaxcalcError, ValueError):
    """An expression string was refused.

    Attributes:
      text: the expression as given.
      column: 1-based column of the problem, or None when it concerns the whole text.
      reason: the message without the location.
    """

    def __init__(self, reason: str, text: str = "", column: int | None = None):
        self.reason = reason
        self.text = text
        self.column = column
        where = f" (column {column})" if column is not None else ""
        super().__init__(f"{reason}{where}")


class ConfigError(JaxcalcError, ValueError):
    """A configuration file, a command-line option or a function argument has a bad value."""


class ResourceError(JaxcalcError, RuntimeError):
    """A computation would not fit the memory or time budget."""


class OutputError(JaxcalcError, OSError):
    """An output path cannot be written, or writing would destroy existing results."""
