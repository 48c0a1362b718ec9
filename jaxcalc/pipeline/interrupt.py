"""Ctrl-C and SIGTERM during a run: stop after the current group, or abandon it."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import Any

__all__ = ["RunInterrupted", "StopRequest"]


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM, after its finished groups were saved.

    Attributes:
      folder: the results folder (its manifest says "interrupted").
      done, total: finished groups, and all groups.
      signal_name: "SIGINT" or "SIGTERM".
    """

    def __init__(self, folder: Path, done: int, total: int, signal_name: str):
        super().__init__(f"interrupted ({signal_name}) after {done} of {total} groups")
        self.folder = folder
        self.done = done
        self.total = total
        self.signal_name = signal_name


class StopRequest:
    """SIGINT/SIGTERM during a run: the first asks to stop after the current group, the
    second abandons it (raises KeyboardInterrupt). Handlers are only installed in the main
    thread, and the previous ones are restored afterwards."""

    def __init__(self, echo: bool):
        self.echo = echo
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is not None:
            raise KeyboardInterrupt
        self.signal_name = name
        if self.echo:  # a raw write: safe even if the signal lands inside a print
            note = f"\njaxcalc: {name}: stopping after the current group (again to abandon it)\n"
            os.write(2, note.encode())

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, OSError):
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
        self._previous.clear()
