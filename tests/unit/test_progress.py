"""Progress output: a redrawn bar in a terminal, plain lines at an interval elsewhere (fake stream, fake clock)."""

from __future__ import annotations

import io

import pytest

from jobs.common.progress import Progress, ProgressSettings, is_terminal
from jobs.common.settings import load

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_at_the_interval_then_a_final_line() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress("producer", 1000, out, unit="events", seconds=10, clock=clock)
    for step in range(1, 26):  # 25 updates, one per second
        clock.now += 1
        progress.update(step * 20, f"step={step}")
    progress.close(done=1000)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    # lines at t=10s and t=20s, then the final one
    assert lines == [
        "[producer] 200/1000 events (20%) 20/s ETA 40s step=10",
        "[producer] 400/1000 events (40%) 20/s ETA 30s step=20",
        "[producer] 1000/1000 events (100%) 40/s elapsed 25s step=25",
    ]


def test_zero_interval_writes_only_the_final_line_and_close_is_once() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress("wait", None, out, seconds=0, clock=clock)
    clock.now += 4
    progress.update(8)
    progress.close("done")
    progress.close("again")
    assert out.getvalue() == "[wait] 8 items 2/s elapsed 4s done\n"


def test_terminal_redraws_one_bar_line_and_ends_it() -> None:
    clock, out = Clock(), Tty()
    progress = Progress("flink", 100, out, seconds=10, clock=clock, tty=True)
    clock.now += 1
    progress.update(50, "reading partition 3")
    clock.now += 0.1  # within the redraw interval: nothing drawn
    progress.update(55)
    clock.now += 0.9
    progress.update(10)  # shorter text than before: the tail is blanked with spaces
    progress.close()
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert frames[0] == "[flink] [############............] 50/100 items (50%) 50/s ETA 1s reading partition 3"
    assert frames[1].startswith("[flink] [##......................] 10/100 items (10%) 5/s ETA 18s")
    assert len(frames[1]) == len(frames[0]) and frames[1].endswith("18s" + " " * 20)
    assert frames[2].startswith("[flink] 10/100 items (10%) 5/s ETA 18s") and frames[2].endswith("\n")
    assert text.count("\n") == 1


def test_a_wait_without_a_count_shows_elapsed_time_only() -> None:
    clock, out = Clock(), io.StringIO()
    progress = Progress("demo flink", None, out, unit="", seconds=10, clock=clock)
    clock.now += 75
    progress.update(0, "running")
    progress.close("finished")
    assert out.getvalue() == "[demo flink] elapsed 1m15s running\n[demo flink] elapsed 1m15s finished\n"


def test_terminal_detection_needs_a_tty_and_a_capable_term() -> None:
    assert is_terminal(Tty(), {"TERM": "xterm-256color"})
    assert not is_terminal(Tty(), {"TERM": "dumb"})
    assert not is_terminal(io.StringIO(), {"TERM": "xterm"})


def test_interval_setting_defaults_and_reads_the_environment() -> None:
    assert load(ProgressSettings, {}).seconds == 10.0
    assert load(ProgressSettings, {"BROOK_PROGRESS_SECONDS": "2.5"}).seconds == 2.5
