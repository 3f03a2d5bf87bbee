"""The terminal progress bar: share done, count, rate and ETA; bytes when the count is unknown.

A fake clock drives the bar, so rates, throttling and the ETA are exact. Escape codes are
stripped: what is asserted is the text a user reads.
"""

from __future__ import annotations

import io
import re

import pytest

from adapters.terminal.progress import TerminalProgress
from adapters.terminal.window_progress import WindowProgress

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    """A stream that says it is a terminal, counting flushes."""

    def isatty(self) -> bool:
        return True


def frames(stream: io.StringIO) -> list[str]:
    """Each redraw of the bar as plain text (rich redraws with CR + erase line)."""
    text = _ANSI.sub("", stream.getvalue())
    return [frame.strip() for frame in re.split(r"[\r\n]", text) if frame.strip()]


def test_known_total_shows_share_count_rate_and_eta() -> None:
    clock = FakeClock()
    stream = Tty()
    bar = TerminalProgress(total=1_000, stream=stream, min_interval=0, clock=clock)

    clock.now += 10
    bar(100)
    clock.now += 10
    bar(500)  # 400 candles in 10 s: 500 left take 12.5 s (rich rounds up)

    last = frames(stream)[-1]
    assert "50%" in last
    assert "500/1,000 candles 25/s" in last
    assert "ETA 0:00:13" in last


def test_unknown_count_follows_the_bytes_read() -> None:
    """A kline file's candle count is unknown: the bar is the share of its bytes read."""
    clock = FakeClock()
    stream = Tty()
    read = [0]
    bar = TerminalProgress(
        total=None,
        stream=stream,
        min_interval=0,
        total_bytes=4_000_000,
        bytes_read=lambda: read[0],
        clock=clock,
    )

    clock.now += 2
    read[0] = 1_000_000
    bar(10_000)
    clock.now += 2
    read[0] = 2_000_000
    bar(20_000)  # 1 MB per 2 s: the remaining 2 MB take 4 s

    last = frames(stream)[-1]
    assert "50%" in last
    assert "20,000 candles 5,000/s (2.0/4.0 MB)" in last
    assert "ETA 0:00:04" in last


def test_the_end_of_the_bytes_draws_inside_the_interval() -> None:
    clock = FakeClock()
    stream = Tty()
    read = [10]
    bar = TerminalProgress(
        stream=stream, min_interval=3_600, total_bytes=100, bytes_read=lambda: read[0], clock=clock
    )
    bar(1)
    read[0] = 50
    bar(5)  # throttled
    read[0] = 100
    bar(10)  # all read: drawn

    assert len(frames(stream)) == 2
    assert "100%" in frames(stream)[-1]


def test_min_interval_throttles_redraws_but_the_end_always_draws() -> None:
    clock = FakeClock()
    stream = Tty()
    bar = TerminalProgress(total=1_000, stream=stream, min_interval=60, clock=clock)

    bar(100)
    clock.now += 59
    bar(200)  # inside the interval: nothing
    assert len(frames(stream)) == 1
    clock.now += 1
    bar(300)  # 60 s later: drawn
    clock.now += 1
    bar(1_000)  # done == total: drawn whatever the interval

    drawn = frames(stream)
    assert len(drawn) == 3
    assert "1,000/1,000 candles" in drawn[-1] and "100%" in drawn[-1]


def test_close_ends_the_line_and_nothing_is_written_before_the_first_draw() -> None:
    stream = Tty()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0, clock=FakeClock())
    assert stream.getvalue() == ""

    bar(10)
    bar.close()

    assert stream.getvalue().endswith("\n" + "\x1b[?25h")  # newline, cursor shown again
    assert "10/10 candles" in frames(stream)[-1]


def test_close_without_drawing_writes_nothing() -> None:
    stream = Tty()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0)

    bar.close()

    assert stream.getvalue() == ""


def test_a_stream_that_is_not_a_terminal_gets_nothing() -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0)

    bar(5)
    bar(10)
    bar.close()

    assert stream.getvalue() == ""


def test_zero_total_without_bytes_counts_only() -> None:
    clock = FakeClock()
    stream = Tty()
    bar = TerminalProgress(total=0, stream=stream, min_interval=0, clock=clock)

    clock.now += 4
    bar(12_345)

    last = frames(stream)[-1]
    assert "12,345 candles 3,086/s" in last
    assert "%" not in last


def test_window_progress_counts_windows_with_an_eta() -> None:
    stream = Tty()
    bar = WindowProgress(4, stream, "window runs")

    bar(1)
    bar(2)
    bar.close()

    last = frames(stream)[-1]
    assert "evaluate" in last and "50%" in last and "2/4 window runs" in last
    assert "ETA" in last


@pytest.mark.parametrize("done", [0, 1])
def test_no_elapsed_time_does_not_divide_by_zero(done: int) -> None:
    stream = Tty()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0, clock=FakeClock())

    bar(done)

    assert f"{done}/10 candles" in frames(stream)[-1]
