"""Progress of a run on stderr: a bar on a terminal, else one line per group."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Groups done / total on stderr: a tqdm bar on a terminal, else one line per group.

    ``mode``: "auto" (bar on a TTY when tqdm is installed, else lines), "bar", "log" or
    "off". ``callback`` (the old ``progress=`` argument) receives every line as well.
    """

    def __init__(
        self,
        total: int,
        done: int,
        mode: str = "auto",
        stream: TextIO | None = None,
        callback: Callable[[str], None] | None = None,
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.callback = callback
        self.total = total
        self.bar = None
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "bar" if isatty() else "log"
        if mode == "bar":
            try:
                from tqdm.auto import tqdm
            except ImportError:
                mode = "log"
            else:
                self.bar = tqdm(
                    total=total,
                    initial=done,
                    file=self.stream,
                    dynamic_ncols=True,
                    leave=True,
                    bar_format="groups {n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}  {desc}",
                )
        self.mode = mode

    def line(self, text: str) -> None:
        if self.callback is not None:
            self.callback(text)
        if self.mode == "off":
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def start(self, g: int, what: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"now: {what}", refresh=True)

    def finish(self, text: str) -> None:
        self.line(text)
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.set_description_str("", refresh=False)
            self.bar.close()
            self.bar = None
