"""Weekend mode in a real backtest: it changes the adaptive grid's orders only from the
first CME closure on, and ``no_entries`` sends no entry while CME is closed.

Real futures ETHUSDT klines from 2023-07-03 23:26 UTC to 2023-07-10 12:00 UTC: the
Independence Day early halt (Tuesday 12:00-17:00 CDT) and a full weekend.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.market_data.kline_csv import KlineCsvReader
from application.backtest import BacktestReport
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer, PeekedCandles
from domain.calendar import CmeSchedule, SessionState
from domain.candles import Candle
from domain.commands import Command, PlaceOrder
from domain.enums import Side
from domain.grid.adaptive_grid import AdaptiveGrid

END = int(datetime(2023, 7, 10, 12, tzinfo=UTC).timestamp() * 1000)
SCHEDULE = CmeSchedule()
CLOSED = (SessionState.WEEKEND, SessionState.HOLIDAY)
TILTS: dict[int, Tilts] = {}
REPORTS: dict[int, BacktestReport] = {}

Recorded = list[tuple[int, tuple[Command, ...]]]
Geometry = dict[int, tuple[Decimal, Decimal, Decimal]]  # open time -> close, centre, step
Tilts = list[tuple[Decimal, int, int]]  # gap feature, planned buy entries, sell entries


def _candles(shared_data: Path) -> list[Candle]:
    path = shared_data / "klines" / "futures-um" / "ETHUSDT" / "ETHUSDT-1m-2023-07.csv.gz"
    return list(itertools.takewhile(lambda c: c.open_time < END, KlineCsvReader([path])))


def _run(
    candles: Sequence[Candle], calendar: dict[str, Any] | None
) -> tuple[Recorded, AdaptiveGrid, Geometry]:
    document: dict[str, Any] = {
        "market": {"type": "USDM_FUTURES", "symbol": "ETHUSDT"},
        "account": {"initial_balances": {"USDT": "10000"}},
        "simulation": {"leverage": 3},
        "strategy": {"name": "adaptive_grid"},
    }
    if calendar is not None:
        document["calendar"] = calendar
    container = BacktestContainer(config=parse_config(document, "test"))
    container.candles.override(PeekedCandles(candles))
    grid = container.strategy()
    assert isinstance(grid, AdaptiveGrid)
    recorded: Recorded = []
    geometry: Geometry = {}
    tilts: Tilts = []
    decide = grid.on_candle

    def recording(candle: Candle, context: Any) -> Sequence[Command]:
        commands = decide(candle, context)
        recorded.append((candle.open_time, tuple(commands)))
        if grid.geometry is not None:
            g = grid.geometry
            geometry[candle.open_time] = (candle.close, g.centre, g.step)
        if grid.overlay is not None and grid.last_plan is not None:
            entries = [o.side for o in grid.last_plan.orders if o.tag.startswith("grid:")]
            tilts.append(
                (
                    grid.overlay.gap_feature(candle.close),
                    entries.count(Side.BUY),
                    entries.count(Side.SELL),
                )
            )
        return commands

    grid.on_candle = recording  # type: ignore[method-assign]
    REPORTS[id(grid)] = container.runner().run(container.candles())
    TILTS[id(grid)] = tilts
    return recorded, grid, geometry


def _closed(open_time: int) -> bool:
    closure = SCHEDULE.closure_at(open_time)
    return closure is not None and closure.state in CLOSED


@pytest.fixture(scope="module")
def runs(shared_data: Path) -> dict[str, tuple[Recorded, AdaptiveGrid, Geometry]]:
    candles = _candles(shared_data)
    assert len(candles) > 8000
    return {
        "default": _run(candles, None),
        "off": _run(candles, {"weekend_mode": "off", "gap_bias": 0}),
        "wider": _run(candles, {"weekend_mode": "wider"}),
        "no_entries": _run(candles, {"weekend_mode": "no_entries"}),
        "gap": _run(candles, {"gap_bias": 1}),
    }


def test_weekend_mode_off_leaves_the_calendar_out(runs: dict[str, Any]) -> None:
    assert runs["off"][1].overlay is None


def test_the_default_leaves_the_weekend_alone(runs: dict[str, Any]) -> None:
    """Weekend mode is off by default: with the brakes it did not measure better."""
    assert runs["default"][0] == runs["off"][0]
    assert runs["default"][1].overlay is None


@pytest.mark.parametrize("mode", ["wider", "no_entries"])
def test_plans_differ_only_from_the_first_closure_on(runs: dict[str, Any], mode: str) -> None:
    base = runs["off"][0]
    changed, grid, _ = runs[mode]
    assert [t for t, _ in changed] == [t for t, _ in base]
    first_difference = next(t for (t, a), (_, b) in zip(base, changed, strict=True) if a != b)
    assert _closed(first_difference)
    # Everything before the first closure is identical, command for command.
    first_closed = next(t for t, _ in base if _closed(t))
    assert first_difference >= first_closed
    assert grid.counters()["weekend_candles"] == sum(1 for t, _ in base if _closed(t)) > 2000


def test_no_entries_while_cme_is_closed(runs: dict[str, Any]) -> None:
    recorded = runs["no_entries"][0]
    closed_entries = [
        c
        for t, commands in recorded
        if _closed(t)
        for c in commands
        if isinstance(c, PlaceOrder) and c.tag.startswith("grid:")
    ]
    open_entries = [
        c
        for t, commands in recorded
        if not _closed(t)
        for c in commands
        if isinstance(c, PlaceOrder) and c.tag.startswith("grid:")
    ]
    assert closed_entries == [] and open_entries


def test_wider_grid_during_the_weekend(runs: dict[str, Any]) -> None:
    recorded, grid, geometry = runs["wider"]
    floor = grid.params.fee_floor
    closed = [t for t, _ in recorded if _closed(t) and t in geometry]
    # Every closed candle trades on a step at least twice the fee floor (the base step is
    # never below it), and each closure starts with a re-centre on its first candle.
    assert closed and all(geometry[t][2] >= 2 * floor for t in closed)
    starts = [t for t in closed if not _closed(t - 60_000)]
    assert len(starts) == 2  # the July 4 halt and the weekend
    for t in starts:
        close, centre, _ = geometry[t]
        assert centre == close
    base_geometry = runs["off"][2]
    assert any(base_geometry[t][2] < 2 * floor for t in closed)  # so the factor mattered
    weekend_places = [
        c
        for t, commands in recorded
        if _closed(t)
        for c in commands
        if isinstance(c, PlaceOrder) and c.tag.startswith("grid:")
    ]
    assert weekend_places  # the wider grid still trades


def test_gap_bias_plans_entries_towards_the_fill(runs: dict[str, Any]) -> None:
    tilts = TILTS[id(runs["gap"][1])]
    above = [(b, s) for f, b, s in tilts if f > 0]
    below = [(b, s) for f, b, s in tilts if f < 0]
    assert len(above) + len(below) > 100
    # Full bias: above the CME close every entry is a sell (a fill needs a fall), below a buy.
    assert all(b == 0 for b, _ in above) and all(s == 0 for _, s in below)
    assert any(s > 0 for _, s in above) or any(b > 0 for b, _ in below)
    counters = runs["gap"][1].counters()
    assert counters["cme_gaps"] == 2 and counters["gap_tilted_candles"] > 0


@pytest.mark.parametrize("mode", ["wider", "no_entries"])
def test_the_report_counts_the_switches_and_gaps(runs: dict[str, Any], mode: str) -> None:
    _, grid, _ = runs[mode]
    report = REPORTS[id(grid)]
    # The Independence Day early halt and the weekend: each entered and left once, and
    # a gap recorded at each reopen.
    assert report.calendar == {"weekend_entered": 2, "weekend_left": 2, "cme_gaps": 2}
    counters = grid.counters()
    assert (counters["weekend_entered"], counters["weekend_left"]) == (2, 2)
    off = REPORTS[id(runs["off"][1])]
    assert off.calendar == {"weekend_entered": 0, "weekend_left": 0, "cme_gaps": 0}


def test_entries_weekend_mode_blocks_are_counted_as_its_own(runs: dict[str, Any]) -> None:
    skipped = runs["no_entries"][1].skipped_levels
    assert skipped.get("ENTRY_WEEKEND", 0) > 0
    assert "ENTRY_FILTER" not in skipped and "ENTRY_BRAKE" not in skipped  # both off
    assert "ENTRY_WEEKEND" not in runs["wider"][1].skipped_levels
