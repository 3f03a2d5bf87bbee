"""The terminal progress line: bar or counter, throttled redraws, and a clean line end.

A fake clock replaces ``time.perf_counter`` inside the module so rates and throttling are exact.
"""

from __future__ import annotations

import io

import pytest

from adapters.terminal import progress as progress_module
from adapters.terminal.progress import TerminalProgress


class FakeClock:
    """Stands in for the ``time`` module: ``perf_counter`` returns ``now``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(1_000.0)
    monkeypatch.setattr(progress_module, "time", fake)
    return fake


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_known_total_draws_a_bar_with_share_counts_and_rate(clock: FakeClock) -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=1_000, stream=stream, min_interval=0)

    clock.now += 10
    bar(500)

    assert stream.getvalue() == "\r[" + "#" * 15 + "." * 15 + "]  50.0% 500/1,000 candles 50/s"


def test_bar_redraws_each_call_and_fills_completely(clock: FakeClock) -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=40_000, stream=stream, min_interval=0)

    clock.now += 2
    bar(10_000)
    clock.now += 2
    bar(40_000)

    draws = stream.getvalue().split("\r")
    assert draws[0] == ""
    assert draws[1] == "[" + "#" * 7 + "." * 23 + "]  25.0% 10,000/40,000 candles 5,000/s"
    assert draws[2] == "[" + "#" * 30 + "] 100.0% 40,000/40,000 candles 10,000/s"


def test_share_is_capped_at_100_percent(clock: FakeClock) -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=100, stream=stream, min_interval=0)

    clock.now += 1
    bar(150)

    assert stream.getvalue() == "\r[" + "#" * 30 + "] 100.0% 150/100 candles 150/s"


def test_unknown_total_draws_a_counter(clock: FakeClock) -> None:
    stream = io.StringIO()
    counter = TerminalProgress(total=None, stream=stream, min_interval=0)

    clock.now += 4
    counter(12_345)

    assert stream.getvalue() == "\r12,345 candles 3,086/s"
    assert "[" not in stream.getvalue() and "%" not in stream.getvalue()


def test_zero_total_is_treated_as_unknown(clock: FakeClock) -> None:
    stream = io.StringIO()
    counter = TerminalProgress(total=0, stream=stream, min_interval=0)

    clock.now += 1
    counter(7)

    assert stream.getvalue() == "\r7 candles 7/s"


def test_no_elapsed_time_does_not_divide_by_zero(clock: FakeClock) -> None:
    stream = io.StringIO()
    counter = TerminalProgress(stream=stream, min_interval=0)

    counter(0)

    assert stream.getvalue() == "\r0 candles 0/s"


def test_each_draw_is_flushed(clock: FakeClock) -> None:
    stream = CountingStream()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0)

    bar(1)
    bar(2)

    assert stream.flushes == 2


def test_min_interval_throttles_redraws(clock: FakeClock) -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=1_000, stream=stream, min_interval=60)

    bar(100)  # first call: draws
    first = stream.getvalue()
    assert first.startswith("\r[") and "100/1,000" in first

    clock.now += 1
    bar(200)  # 1 s later, interval 60 s: nothing
    clock.now += 58
    bar(300)  # 59 s after the last draw: still nothing
    assert stream.getvalue() == first

    clock.now += 1
    bar(400)  # 60 s after the last draw: draws again
    assert stream.getvalue().count("\r") == 2
    assert stream.getvalue().endswith("]  40.0% 400/1,000 candles 7/s")


def test_final_call_draws_even_inside_the_interval(clock: FakeClock) -> None:
    stream = io.StringIO()
    bar = TerminalProgress(total=1_000, stream=stream, min_interval=3_600)

    bar(10)
    clock.now += 1
    bar(999)  # throttled
    assert stream.getvalue().count("\r") == 1

    clock.now += 1
    bar(1_000)  # done == total: always drawn

    assert stream.getvalue().count("\r") == 2
    assert stream.getvalue().endswith("] 100.0% 1,000/1,000 candles 500/s")


def test_throttling_applies_to_the_counter_too(clock: FakeClock) -> None:
    stream = io.StringIO()
    counter = TerminalProgress(total=None, stream=stream, min_interval=60)

    clock.now += 2
    counter(1)
    clock.now += 30
    counter(2)

    assert stream.getvalue() == "\r1 candles 0/s"


def test_first_call_draws_whatever_the_clock_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """perf_counter's origin is undefined: a clock reading below min_interval must not
    suppress the first draw (it did when the last draw time started at 0.0)."""
    fake = FakeClock(5.0)
    monkeypatch.setattr(progress_module, "time", fake)
    stream = io.StringIO()
    bar = TerminalProgress(total=100, stream=stream, min_interval=60)

    fake.now += 1
    bar(10)

    assert stream.getvalue() == "\r[###...........................]  10.0% 10/100 candles 10/s"


def test_close_writes_a_newline_after_drawing(clock: FakeClock) -> None:
    stream = CountingStream()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0)
    bar(10)
    flushes = stream.flushes

    bar.close()

    assert stream.getvalue() == "\r[" + "#" * 30 + "] 100.0% 10/10 candles 10,000,000,000/s\n"
    assert stream.flushes == flushes + 1


def test_close_without_drawing_writes_nothing(clock: FakeClock) -> None:
    stream = CountingStream()
    bar = TerminalProgress(total=10, stream=stream, min_interval=0)

    bar.close()

    assert stream.getvalue() == ""
    assert stream.flushes == 0


def test_default_stream_is_stderr(clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    counter = TerminalProgress(min_interval=0)

    clock.now += 1
    counter(5)
    counter.close()

    captured = capsys.readouterr()
    assert captured.err == "\r5 candles 5/s\n"
    assert captured.out == ""


def test_real_clock_draws_with_zero_interval() -> None:
    """Without the fake clock: a zero interval always draws, rate is a plain number."""
    stream = io.StringIO()
    bar = TerminalProgress(total=4, stream=stream, min_interval=0)

    for done in range(1, 5):
        bar(done)
    bar.close()

    lines = stream.getvalue().split("\r")[1:]
    assert len(lines) == 4
    assert lines[-1].startswith("[" + "#" * 30 + "] 100.0% 4/4 candles ")
    assert lines[-1].endswith("/s\n")
