"""sympy work under a size and time budget: a result, or None and the reason it was skipped.

sympy's simplification can run for minutes on short input (``(x+1)^10000`` expands, a
derivative of ``sin`` nested 20 deep grows factor by factor). Every symbolic step that
jaxcalc shows to a user goes through :func:`bounded`, which refuses a tree with more than
:data:`MAX_SYMBOLIC_NODES` nodes before starting and stops the work after
:data:`SYMBOLIC_SECONDS`. The time limit uses ``SIGALRM``, so it applies in the main
thread of a Unix process (the command line); elsewhere only the size limit applies.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import sympy as sp

__all__ = ["MAX_SYMBOLIC_NODES", "SYMBOLIC_SECONDS", "Skipped", "bounded", "simplify", "size"]

MAX_SYMBOLIC_NODES = 2000
SYMBOLIC_SECONDS = 2.0
# integer powers above this are not simplified: sympy may expand them term by term
MAX_SIMPLIFIED_POWER = 40


class Skipped(str):
    """Why a symbolic step was skipped (a str, so it prints as the note)."""


class _OutOfTime(BaseException):
    """Raised by the alarm inside sympy; a BaseException so no ``except Exception`` eats it."""


def size(expr: sp.Basic, limit: int = MAX_SYMBOLIC_NODES) -> int:
    """The number of nodes of ``expr``, counting no further than ``limit + 1``."""
    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > limit:
            break
    return count


def bounded(work: Callable[..., Any], *args: Any, seconds: float | None = None) -> Any | Skipped:
    """``work(*args)``, or a :class:`Skipped` note when an argument is too large or the work
    takes longer than ``seconds`` (default :data:`SYMBOLIC_SECONDS`)."""
    seconds = SYMBOLIC_SECONDS if seconds is None else seconds
    for arg in args:
        if isinstance(arg, sp.Basic) and size(arg) > MAX_SYMBOLIC_NODES:
            return Skipped(f"over {MAX_SYMBOLIC_NODES} terms")
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        return work(*args)
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # someone else's alarm is running
        return work(*args)

    def alarm(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return work(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime:
        return Skipped(f"took over {seconds:g} s")
    finally:
        signal.signal(signal.SIGALRM, previous)


def simplify(expr: sp.Expr, seconds: float | None = None) -> tuple[sp.Expr, Skipped | None]:
    """``sympy.simplify`` within the budget: the simplified form and None, or ``expr`` itself
    and the reason it was left as it is."""
    if size(expr) > MAX_SYMBOLIC_NODES:
        return expr, Skipped(f"over {MAX_SYMBOLIC_NODES} terms")
    powers = [
        p for p in expr.atoms(sp.Pow) if p.exp.is_Integer and abs(int(p.exp)) > MAX_SIMPLIFIED_POWER
    ]
    if powers:
        return expr, Skipped(f"a power above {MAX_SIMPLIFIED_POWER}")
    result = bounded(sp.simplify, expr, seconds=seconds)
    return (expr, result) if isinstance(result, Skipped) else (result, None)
