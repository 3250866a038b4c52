"""Live progress of a local run: a process-local tally of the pipeline's counters, drawn as one line on a terminal.

Beam's metrics cannot be read while the DirectRunner runs, so every counter increment is also added to the tally
here (pipelines.beam.counter). It counts only in the process that runs the DoFns: on Dataflow, or with
--direct_running_mode=multi_processing, it stays empty and the line shows only the time. The run's summary
comes from Beam's metrics, never from this tally.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TextIO

# Redraws a second: often enough to look alive, rarely enough to cost nothing.
REDRAWS_PER_SECOND = 4
_CLEAR_LINE = "\r\x1b[K"


class Tally:
    """Counts by name, added to from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


TALLY = Tally()


def since(start: Mapping[str, int], now: Mapping[str, int]) -> dict[str, int]:
    """What the tally gained between two snapshots: one run's counts in a process that may run several."""
    return {name: value - start.get(name, 0) for name, value in now.items()}


def format_elapsed(seconds: float) -> str:
    """12s, 3m05s, 1h02m."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_line(counts: Mapping[str, int], elapsed: float) -> str:
    """The progress line of `sitrep run`, in 80 columns for most runs ("dead": its dead letters)."""
    c = counts.get
    if c("input_records"):
        source = f"input {c('input_records', 0):,}, {c('input_invalid', 0):,} invalid"
    else:
        source = f"feeds {c('feeds_polled', 0):,}, {c('feeds_failed', 0):,} failed"
    return (f"{format_elapsed(elapsed)} | {source} | fetched {c('articles_fetched', 0):,}, extracted "
            f"{c('articles_extracted', 0):,} | events {c('events_written', 0):,} | dead {c('dead_letters', 0):,}")


def stream_line(counts: Mapping[str, int], elapsed: float) -> str:
    """The progress line of `sitrep stream`."""
    c = counts.get
    return (f"{format_elapsed(elapsed)} | polls {c('feeds_polled', 0):,} | fetched {c('articles_fetched', 0):,} | "
            f"published {c('events_published', 0):,} | dead letters {c('dead_letters', 0):,}")


def on_terminal(stream: TextIO) -> bool:
    """Whether a stream is a terminal a line can be redrawn on."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # a stream without isatty, or closed
        return False


def _width(stream: TextIO) -> int:
    """The terminal's columns; 80 where it cannot tell (a pseudo-terminal nobody sized says 0)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


class ProgressLine:
    """One line on `stream` redrawn in place (REDRAWS_PER_SECOND a second) from the tally, while the `with`
    block runs, and cleared when it ends; nothing at all when `enabled` is false. The line is cut to the
    terminal's width, since a line that wraps cannot be redrawn with a carriage return."""

    def __init__(self, render: Callable[[Mapping[str, int], float], str], stream: TextIO | None = None,
                 enabled: bool = True, tally: Tally = TALLY) -> None:
        self.render = render
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tally = tally
        self._lock = threading.Lock()
        self._drawn = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start: dict[str, int] = {}
        self._started = 0.0

    def __enter__(self) -> ProgressLine:
        if not self.enabled:
            return self
        self._start = self.tally.snapshot()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._redraw, name="sitrep-progress", daemon=True)
        self._thread.start()
        _ACTIVE.append(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        _ACTIVE.remove(self)
        self.clear()

    def counts(self) -> dict[str, int]:
        """This run's counts so far (what the tally gained since the line started)."""
        return since(self._start, self.tally.snapshot())

    def draw(self) -> None:
        line = self.render(self.counts(), time.monotonic() - self._started)[: _width(self.stream) - 1]
        with self._lock:
            self.stream.write(_CLEAR_LINE + line)
            self.stream.flush()
            self._drawn = True

    def clear(self) -> None:
        """Take the line off the terminal; the next redraw puts it back."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(_CLEAR_LINE)
            self.stream.flush()
            self._drawn = False

    def _redraw(self) -> None:
        while True:
            self.draw()
            if self._stop.wait(1 / REDRAWS_PER_SECOND):
                return


# The lines being drawn now, for the log handler to set aside while it writes (pipelines.logs).
_ACTIVE: list[ProgressLine] = []


@contextlib.contextmanager
def lines_cleared() -> Iterator[None]:
    """Every progress line being drawn taken off the terminal, and held off while the block writes (a log
    record), so that what it writes starts on an empty line and is not drawn over."""
    held = list(_ACTIVE)
    for line in held:
        line._lock.acquire()
        line._clear()
    try:
        yield
    finally:
        for line in reversed(held):
            line._lock.release()


def clear_lines() -> None:
    """Take every progress line being drawn off the terminal (before a last word on the way out)."""
    for line in list(_ACTIVE):
        line.clear()
