"""Progress a person can read: one updating bar line in a terminal, plain lines in CI and logs.

Long CLIs and the demos report progress through :class:`Progress`. When the stream is a terminal (a TTY and ``TERM``
not ``dumb``) it redraws one line with ``\\r`` (bar when the total is known, count, rate, ETA) a few times a second;
anywhere else (a CI log, a demo stage's log file, a pipe) it writes a plain line at most every
``BROOK_PROGRESS_SECONDS`` (or the caller's own interval), because a log full of carriage returns is unreadable.
:meth:`Progress.close` always writes one final line. Updates take a lock: the produce loop calls from one thread,
but a delivery callback or a watcher thread may call too.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from jobs.common.settings import load, setting

BAR_WIDTH = 24
TTY_REDRAW_SECONDS = 0.2  # a terminal bar redraws at most this often: smooth to the eye, cheap for the loop


@dataclass(frozen=True, kw_only=True)
class ProgressSettings:
    """How often long jobs and the demos write progress outside a terminal."""

    seconds: float = setting(
        "PROGRESS_SECONDS",
        10.0,
        help="Plain progress line interval in logs/CI, seconds (0 = final line only); a terminal gets a live bar.",
    )


def is_terminal(stream: TextIO, environ: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True when ``stream`` is a TTY whose ``TERM`` can redraw a line (not ``dumb``)."""
    env = os.environ if environ is None else environ
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM", "") != "dumb"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Progress of one long piece of work, labelled ``[label]``; ``total`` (if known) gives a bar and an ETA.

    ``unit=""`` with no total is a wait with nothing to count (a child process running): the line shows the
    elapsed time and the detail only."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        *,
        unit: str = "items",
        seconds: float | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = sys.stderr if stream is None else stream
        self.seconds = load(ProgressSettings).seconds if seconds is None else seconds
        self.tty = is_terminal(self.stream) if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.detail = ""
        self._last = self.started
        self._width = 0  # length of the bar line last drawn, to blank its tail when the next one is shorter
        self._lock = threading.Lock()
        self._closed = False

    def update(self, done: int, detail: str = "") -> None:
        """Record ``done`` items so far (absolute, not a delta) and write a line if one is due."""
        with self._lock:
            self.done, self.detail = done, detail
            now = self.clock()
            interval = TTY_REDRAW_SECONDS if self.tty else self.seconds
            if self._closed or interval <= 0 or now - self._last < interval:
                return
            self._last = now
            self._write(now, final=False)

    def close(self, detail: str | None = None, done: int | None = None) -> None:
        """Write the final line (once), with the final count if given: in a terminal it replaces the bar and ends it
        with a newline."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if done is not None:
                self.done = done
            if detail is not None:
                self.detail = detail
            self._write(self.clock(), final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def line(self, now: float) -> str:
        """The text of one progress line (no bar): count, percent, rate, ETA, the caller's detail."""
        secs = max(now - self.started, 1e-9)
        rate = self.done / secs
        parts = [f"[{self.label}]"]
        if not self.total and not self.unit:
            return " ".join([*parts, f"elapsed {_duration(secs)}", *([self.detail] if self.detail else [])])
        if self.total:
            parts.append(f"{self.done}/{self.total} {self.unit} ({min(self.done / self.total, 1.0):.0%})")
        else:
            parts.append(f"{self.done} {self.unit}")
        parts.append(f"{rate:,.0f}/s")
        if self.total and 0 < self.done < self.total and rate > 0:
            parts.append(f"ETA {_duration(math.ceil((self.total - self.done) / rate))}")
        else:
            parts.append(f"elapsed {_duration(secs)}")
        if self.detail:
            parts.append(self.detail)
        return " ".join(parts)

    def _write(self, now: float, *, final: bool) -> None:
        text = self.line(now)
        if not self.tty:
            self.stream.write(text + "\n")
        else:
            if self.total and not final:
                filled = int(BAR_WIDTH * min(self.done / self.total, 1.0))
                text = f"{text.split(' ', 1)[0]} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text.split(' ', 1)[1]}"
            pad = " " * max(0, self._width - len(text))
            self._width = len(text)
            self.stream.write("\r" + text + pad + ("\n" if final else ""))
        self.stream.flush()
