"""Saving a report's figures on two cores: a helper process renders a figure while this
one draws the next.

Rendering (layout, drawing, PNG encoding) is nearly all of a figure's time and holds
Python's lock, so a second thread would not help; a second process does. The helper is a
new interpreter (never a fork of this one, which holds JAX's threads) that imports only
matplotlib and :mod:`jaxcalc.files`, takes this process's ``rcParams``, and receives each
figure pickled, with the files and ``savefig`` options :func:`jaxcalc.plotting.save_figure`
would use: the same pixels, written atomically the same way. A figure goes to the helper
while it has fewer than :data:`HELPER_QUEUE` figures to render, otherwise it is rendered
here, so the two share the work whatever the figures cost. A sender thread writes the
figures into the helper's pipe, so this process goes on drawing while the helper is busy;
with one figure waiting beside the one it renders, the helper is never idle while this
process renders. A figure that does not pickle, or a helper that dies, is rendered here.

A run starts the helper early (:func:`start_helper_early`), so that its imports happen
while the run's programs compile rather than when the report's first figure waits for it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from jaxcalc.errors import OutputError

__all__ = [
    "FigureSaver",
    "HELPER_MIN_FIGURES",
    "HELPER_QUEUE",
    "start_helper_early",
    "stop_early_helper",
]

#: a helper is started for reports of at least this many figures (it costs ~0.3 s of CPU)
HELPER_MIN_FIGURES = 6
#: figures handed to the helper and not written yet, at most: the one it renders and the
#: next, so that it starts that one as soon as it is done
HELPER_QUEUE = 2

_HELPER = r"""
import pickle, sys
import matplotlib
import matplotlib.backends.backend_agg, matplotlib.figure
from jaxcalc.files import write_atomically
source, sink = sys.stdin.buffer, sys.stdout.buffer
try:
    settings = pickle.load(source)
except EOFError:  # started early, and no report came
    sys.exit(0)
matplotlib.rcParams.update(settings)
while True:
    try:
        fig, outputs = pickle.load(source)
    except EOFError:
        break
    try:
        for path, options in outputs:
            write_atomically(path, lambda h, options=options: fig.savefig(h, **options))
        reply = None
    except Exception as err:
        reply = (type(err).__name__, str(err))
    pickle.dump(reply, sink)
    sink.flush()
"""


#: a helper started by :func:`start_helper_early`, not taken by a FigureSaver yet
_early: subprocess.Popen | None = None


def _spawn() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _HELPER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def start_helper_early() -> None:
    """Start a helper now, for the next report of this process to take: it imports
    matplotlib while this process does other work. Nothing happens where a report would
    draw alone (one core, ``$JAXCALC_NO_REPORT_HELPER``, not POSIX), and
    :func:`stop_early_helper` stops a helper no report took."""
    global _early
    if _early is not None or not _helper_allowed():
        return
    try:
        _early = _spawn()
    except OSError:
        _early = None


def stop_early_helper() -> None:
    """Stop the helper :func:`start_helper_early` started, if no report took it."""
    global _early
    helper, _early = _early, None
    if helper is not None:
        _close(helper)


def _take_early() -> subprocess.Popen | None:
    global _early
    helper, _early = _early, None
    if helper is not None and helper.poll() is not None:  # it died: start another
        _close(helper)
        return None
    return helper


def _helper_allowed() -> bool:
    # (on Windows, select() cannot poll a pipe: the report draws alone there)
    alone = os.environ.get("JAXCALC_NO_REPORT_HELPER")
    return _cores() > 1 and not alone and os.name == "posix"


def _close(helper: subprocess.Popen) -> None:
    """Close the helper's pipes (it then ends) and wait for it."""
    for stream in (helper.stdin, helper.stdout):
        with contextlib.suppress(OSError):
            stream.close()
    try:
        helper.wait(timeout=30)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class FigureSaver:
    """Saves figures as :func:`jaxcalc.plotting.save_figure` does, on two cores when
    ``figures`` (how many the report will save) is at least :data:`HELPER_MIN_FIGURES`, the
    process may use more than one core and ``$JAXCALC_NO_REPORT_HELPER`` is not set.
    :meth:`finish` waits for every figure."""

    def __init__(self, figures: int):
        self._helper: subprocess.Popen | None = None
        self._sent: list[tuple[Any, list]] = []  # figures the helper has not confirmed
        self._outbox: queue.Queue = queue.Queue()  # pickled figures for the sender thread
        self._sender: threading.Thread | None = None
        if figures >= HELPER_MIN_FIGURES and _helper_allowed():
            self._start()
        else:
            stop_early_helper()

    def _start(self) -> None:
        import matplotlib

        settings = {k: v for k, v in matplotlib.rcParams.items() if not k.startswith("backend")}
        helper = _take_early()
        try:
            helper = helper or _spawn()
            pickle.dump(settings, helper.stdin)
            helper.stdin.flush()
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            if helper is not None:
                with contextlib.suppress(OSError):
                    helper.kill()
                _close(helper)
            return  # no helper: every figure is rendered here
        self._helper = helper
        self._outbox = queue.Queue()
        self._sender = threading.Thread(
            target=_send, args=(helper.stdin, self._outbox), name="jaxcalc-report-send", daemon=True
        )
        self._sender.start()

    def save(
        self, fig: Any, path: str | os.PathLike, also: tuple[str, ...] = (), tight: bool = True
    ) -> Path:
        """Save ``fig`` at ``path`` (and its ``also`` formats; ``tight`` as
        :func:`~jaxcalc.plotting.save_figure` takes it); returns the first file's path.

        Raises:
          OutputError: a file cannot be written (from this process or the helper).
        """
        from jaxcalc import plotting

        if self._helper is None:  # alone: as every other figure of jaxcalc is saved
            return plotting.save_figure(fig, path, also=also, tight=tight)
        outputs = plotting.figure_outputs(path, also=also, tight=tight)
        self._collect(block=False)
        if self._helper is not None and len(self._sent) < HELPER_QUEUE:
            try:
                data = pickle.dumps((fig, outputs))
            except Exception:  # an artist that does not pickle: render it here
                data = None
            if data is not None:  # a helper that dies leaves it to _lost, by its replies
                self._sent.append((fig, outputs))
                self._outbox.put(data)
                return outputs[0][0]
        _render(fig, outputs)
        return outputs[0][0]

    def finish(self) -> None:
        """Wait for the helper's figures and stop it.

        Raises:
          OutputError: the helper could not write a figure.
        """
        if self._helper is None:
            return
        try:
            self._collect(block=True)
        finally:
            self._stop()

    def abandon(self) -> None:
        """Stop the helper without waiting (after an error or an interrupt)."""
        if self._helper is not None:
            with contextlib.suppress(OSError):
                self._helper.kill()
            self._stop()

    def _collect(self, block: bool) -> None:
        """Read the helper's replies (those ready, or with ``block`` all); raise the first
        failure as an OutputError."""
        while self._helper is not None and self._sent:
            if not block:
                ready, _, _ = select.select([self._helper.stdout], [], [], 0)
                if not ready:
                    return
            try:
                reply = pickle.load(self._helper.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._lost()
                return
            self._sent.pop(0)
            if reply is not None:
                kind, message = reply
                raise OutputError(message if kind == "OutputError" else f"{kind}: {message}")

    def _lost(self) -> None:
        """The helper died: render here what it had not confirmed, and go on alone."""
        pending, self._sent = self._sent, []
        self._stop()
        for fig, outputs in pending:
            _render(fig, outputs)

    def _stop(self) -> None:
        helper, self._helper = self._helper, None
        sender, self._sender = self._sender, None
        if sender is not None:  # it ends after the figures queued (none left unless lost)
            self._outbox.put(None)
            sender.join()
        if helper is not None:
            _close(helper)


def _send(stream: Any, outbox: queue.Queue) -> None:
    """Write each pickled figure of ``outbox`` into the helper's pipe, until None. A pipe
    that breaks (the helper died) ends the writing; its replies' end tells the saver."""
    broken = False
    while (data := outbox.get()) is not None:
        if broken:
            continue
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            broken = True


def _render(fig: Any, outputs: list) -> None:
    """Write ``fig`` to each of ``outputs`` here, as the helper would."""
    from jaxcalc.files import write_atomically

    for out, options in outputs:
        write_atomically(out, lambda h, options=options: fig.savefig(h, **options))
