"""sympy work under a size and time budget: a result, or None and the reason it was skipped.

sympy's simplification can run for minutes on short input (``(x+1)^10000`` expands, a
derivative of ``sin`` nested 20 deep grows factor by factor). Every symbolic step that
jaxcalc shows to a user goes through :func:`bounded`, which refuses a tree with more than
:data:`MAX_SYMBOLIC_NODES` nodes before starting and stops the work after
:data:`SYMBOLIC_SECONDS`. The time limit uses ``SIGALRM``, so it applies in the main
thread of a Unix process (the command line); elsewhere only the size limit applies.
"""

from __future__ import annotations

import math
import signal
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import sympy as sp

__all__ = [
    "MAX_SYMBOLIC_NODES",
    "SYMBOLIC_SECONDS",
    "Skipped",
    "bounded",
    "gradient_at",
    "simplify",
    "size",
]

MAX_SYMBOLIC_NODES = 2000
SYMBOLIC_SECONDS = 2.0
# integer powers above this are not simplified: sympy may expand them term by term
MAX_SIMPLIFIED_POWER = 40


# how often the alarm repeats after the budget, until the work has stopped
_REPEAT_SECONDS = 0.1


class Skipped(str):
    """Why a symbolic step was skipped (a str, so it prints as the note)."""


class _OutOfTime(BaseException):
    """Raised by the alarm inside sympy; a BaseException so no ``except Exception`` eats it."""


def size(expr: sp.Basic, limit: int = MAX_SYMBOLIC_NODES) -> int:
    """The number of nodes of ``expr``, counting no further than ``limit + 1``."""
    import sympy as sp

    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > limit:
            break
    return count


def bounded(work: Callable[..., Any], *args: Any, seconds: float | None = None) -> Any | Skipped:
    """``work(*args)``, or a :class:`Skipped` note when an argument is too large or the work
    takes longer than ``seconds`` (default :data:`SYMBOLIC_SECONDS`)."""
    import sympy as sp

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

    active = [True]

    def alarm(signum, frame):
        if active[0]:
            raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        # the alarm repeats until the work is stopped: an exception raised while Python
        # runs a finaliser or a weakref callback is printed and dropped, and one alarm
        # could be lost so
        signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_SECONDS)
        try:
            return work(*args)
        finally:
            active[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OutOfTime:
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        return Skipped(f"took over {seconds:g} s")
    finally:
        signal.signal(signal.SIGALRM, previous)


def simplify(expr: sp.Expr, seconds: float | None = None) -> tuple[sp.Expr, Skipped | None]:
    """``sympy.simplify`` within the budget: the simplified form and None, or ``expr`` itself
    and the reason it was left as it is."""
    import sympy as sp

    # sympy.simplify imports sympy.physics.units on its first call, a quarter of a second:
    # done here, before the clock starts, so that the budget measures simplifying
    import sympy.physics.units  # noqa: F401

    if size(expr) > MAX_SYMBOLIC_NODES:
        return expr, Skipped(f"over {MAX_SYMBOLIC_NODES} terms")
    powers = [
        p for p in expr.atoms(sp.Pow) if p.exp.is_Integer and abs(int(p.exp)) > MAX_SIMPLIFIED_POWER
    ]
    if powers:
        return expr, Skipped(f"a power above {MAX_SIMPLIFIED_POWER}")
    result = bounded(sp.simplify, expr, seconds=seconds)
    return (expr, result) if isinstance(result, Skipped) else (result, None)


# Expressions whose sympy reference once ran out of time: not tried again at other points.
_TOO_SLOW_FOR_SYMPY: weakref.WeakSet = weakref.WeakSet()


def gradient_at(expr: Any, point: np.ndarray) -> np.ndarray | None:
    """sympy's gradient of the expression at ``point`` (one value per variable, 30 digits,
    rounded to float64; NaN where it is not real); None when sympy would take too long (it
    is a reference, bounded in size and time by :func:`bounded`)."""
    import numpy as np
    import sympy as sp

    if expr in _TOO_SLOW_FOR_SYMPY:
        return None
    subs = dict(zip(expr.symbols, (sp.Float(float(v), 30) for v in point), strict=True))

    def partial(e, s) -> complex:
        try:
            return complex(sp.diff(e, s).evalf(30, subs=subs))
        except (TypeError, ValueError, ZeroDivisionError):
            return complex(math.nan)

    values = bounded(lambda e: [partial(e, s) for s in expr.symbols], expr.sympy)
    if isinstance(values, Skipped):
        _TOO_SLOW_FOR_SYMPY.add(expr)
        return None
    out = [v.real if abs(v.imag) <= 1e-12 * (1 + abs(v.real)) else math.nan for v in values]
    return np.asarray(out)
