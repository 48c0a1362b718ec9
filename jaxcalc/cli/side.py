"""Symbolic work done beside the numeric work: in a child process while this one imports JAX.

A calculus command spends about as long importing sympy and simplifying with it as it
spends importing JAX. Neither needs the other, so on a POSIX system the command forks
before JAX is imported: the child does the sympy part and sends back its result (plain
Python values, pickled), while the parent imports JAX and computes. On two cores the
answer then takes about as long as the slower of the two instead of their sum.

Forking a process that already runs JAX is unsafe (JAX is multithreaded), so when JAX is
already imported (a notebook, the tests) or ``os.fork`` does not exist, the work runs
in this process when its result is asked for. The result is the same either way.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SideWork", "start"]


class SideWork:
    """The result of ``work(*args)``, computed in a child process or on demand here.

    Work started with ``receives=True`` first waits for one value from this process
    (:meth:`send`) and is called as ``work(value, *args)``; ``ready(*args)``, when given,
    runs in the child before that wait: a drawing imports matplotlib and sets up what
    does not depend on the values while this process computes them.
    """

    def __init__(
        self,
        work: Callable[..., Any],
        args: tuple,
        pid: int | None,
        fd: int | None,
        inbox: int | None = None,
    ):
        self._work, self._args = work, args
        self._pid, self._fd, self._inbox = pid, fd, inbox
        self._sent: tuple = ()

    def send(self, value: Any) -> None:
        """Give the work its input (once)."""
        if self._pid is None:
            self._sent = (value,)
            return
        with os.fdopen(self._inbox, "wb") as out:
            self._inbox = None
            out.write(pickle.dumps(value))

    def result(self, timeout: float, too_slow: Any) -> Any:
        """The work's return value; ``too_slow`` when the child gave no answer within
        ``timeout`` seconds (it is then stopped). An exception raised by the work is
        raised here, as it would be in this process."""
        if self._pid is None:
            return self._work(*self._sent, *self._args)
        try:
            data = self._read(timeout)
        finally:
            self.close()
        if data is None:
            return too_slow
        kind, value = pickle.loads(data)
        if kind == "error":
            raise value
        return value

    def _read(self, timeout: float) -> bytes | None:
        chunks, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._fd, 1 << 16)
            if not chunk:
                return b"".join(chunks) or None
            chunks.append(chunk)

    def close(self) -> None:
        """Stop the child if it still runs, and release its pipe."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        for fd in (self._fd, self._inbox):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        with contextlib.suppress(OSError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def start(
    work: Callable[..., Any],
    *args: Any,
    receives: bool = False,
    ready: Callable[..., Any] | None = None,
) -> SideWork:
    """Begin ``work(*args)`` in a forked child when that is safe (POSIX, JAX not imported
    yet, not disabled by ``JAXCALC_NO_FORK``); otherwise defer it to :meth:`SideWork.result`.
    ``work`` must return picklable values and touch no shared state (files, stdout).
    ``ready(*args)`` (with ``receives``) prepares in the child before the value arrives; it
    is skipped when the work runs in this process, where it would only add to the wait."""
    if not hasattr(os, "fork") or "jax" in sys.modules or os.environ.get("JAXCALC_NO_FORK"):
        return SideWork(work, args, None, None)
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    inbox_read, inbox_write = os.pipe() if receives else (None, None)
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running any cleanup
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        try:
            try:
                given = ()
                if receives:
                    os.close(inbox_write)
                    if ready is not None:
                        ready(*args)
                    with os.fdopen(inbox_read, "rb") as inbox:
                        data = inbox.read()
                    if not data:  # the parent stopped before sending
                        os._exit(0)
                    given = (pickle.loads(data),)
                payload = pickle.dumps(("ok", work(*given, *args)))
            except Exception as err:  # noqa: BLE001 - sent to the parent and raised there
                try:
                    payload = pickle.dumps(("error", err))
                except Exception:  # noqa: BLE001 - an error that cannot be pickled
                    payload = pickle.dumps(("error", RuntimeError(f"{type(err).__name__}: {err}")))
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_end)
    if receives:
        os.close(inbox_read)
    return SideWork(work, args, pid, read_end, inbox_write)
