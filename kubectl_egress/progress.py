"""The live line a long probe keeps on stderr: checks done of all, failures so far, time taken.

Only where someone watches: stderr is a terminal that can erase a line (not TERM=dumb: the line
is redrawn with a carriage return and ANSI's erase-in-line, EL `ESC [ K`), and never with
-o json|yaml, whose readers want the stream quiet. It never wraps (cut to the terminal's width,
see terminal.py), is redrawn at most ten times a second, and is erased when the work ends, so
that what follows starts on a clean line. Piped stderr gets nothing of it.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping, TextIO

from . import terminal
from .printers import human_duration

ERASE = "\r\033[K"  # to the line's start, then erase to its end (ECMA-48 EL, parameter 0)
EVERY = 0.1  # seconds between redraws at most


def wanted(stream: TextIO, environ: Mapping[str, str], output: str | None) -> bool:
    """Whether to show the line: a terminal that can erase it, and output meant for a person."""
    return output not in ("json", "yaml") and terminal.is_terminal(stream) and environ.get("TERM") != "dumb"


class Progress:
    """done/total checks and failures, counted from any thread, drawn by tick() on the main one."""

    def __init__(self, stream: TextIO | None, total: int, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream  # None: count, never draw
        self.environ = environ or {}
        self.total = total
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._drawn = -1.0
        self._shown = False

    def advance(self, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += 1 if failed else 0

    def text(self) -> str:
        with self._lock:
            done, failed = self.done, self.failed
        return (f"probing: {done}/{self.total} checks, {failed} failed, "
                f"{human_duration(self.clock() - self.started)}")

    def tick(self, force: bool = False) -> None:
        """Redraw the line, when due (or force)."""
        if self.stream is None:
            return
        now = self.clock()
        if not force and now - self._drawn < EVERY:
            return
        self._drawn = now
        line = self.text()
        width = terminal.columns(self.stream, self.environ)
        if width:
            line = line[:max(width - 1, 0)]  # never the last column: a full line wraps on some terminals
        self.stream.write(ERASE + line)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line, so that what comes next starts clean."""
        if self.stream is not None and self._shown:
            self.stream.write(ERASE)
            self.stream.flush()
            self._shown = False
