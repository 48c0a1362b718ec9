"""Numbers as short, readable text, for equations, tables and the command line."""

from __future__ import annotations

import math

__all__ = ["format_number"]


def format_number(value: float, digits: int = 6) -> str:
    """A short, readable number: integers without a decimal point, others to ``digits``."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    rounded = round(value)
    if abs(value - rounded) <= 1e-9 * max(1.0, abs(value)):
        return str(int(rounded))
    return f"{value:.{digits}g}"
