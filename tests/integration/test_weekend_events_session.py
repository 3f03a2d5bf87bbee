"""A weekend switch and a CME gap leave a trading session as a brake transition does.

The adaptive grid with weekend mode ``wider`` runs in a trading session on the simulated
exchange, with a SQLite journal and the live run's sinks (JSON lines and telemetry). Over a
Friday CME close and the Sunday reopen each switch and the gap must be a JSON log line, a
telemetry event and a journal record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.logging.telemetry_sink import TelemetrySink
from adapters.persistence.factory import open_journal
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.calendar_events import GAP_EVENT, WEEKEND_EVENT
from application.session import TradingSession
from application.telemetry import FanOutSink, TelemetryHub
from bootstrap.instruments import builtin_instrument
from domain.calendar import (
    CmeGridOverlay,
    CmeSchedule,
    CmeScheduleSettings,
    WeekendAction,
    WeekendModeSettings,
)
from domain.candles import Candle
from domain.enums import MarketType
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams

D = Decimal
MINUTE = 60_000
INSTRUMENT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
CLOSE = int(datetime(2025, 3, 7, 22, tzinfo=UTC).timestamp() * 1000)  # Fri 16:00 CST
REOPEN = int(datetime(2025, 3, 9, 22, tzinfo=UTC).timestamp() * 1000)  # Sun 17:00 CDT


def _candles() -> list[Candle]:
    """Two hours around the close, two around the reopen (none in between: a data hole)."""
    times = [*range(CLOSE - 90 * MINUTE, CLOSE + 30 * MINUTE, MINUTE)]
    times += [*range(REOPEN - 30 * MINUTE, REOPEN + 60 * MINUTE, MINUTE)]
    out = []
    for i, t in enumerate(times):
        price = D(80000) + D((i * 37) % 200) - (D(400) if t >= REOPEN else 0)
        out.append(Candle(t, price, price + 20, price - 20, price + 5, D(3), t + 59_999))
    return out


def test_switches_and_the_gap_are_logged_streamed_and_journaled(tmp_path: Path) -> None:
    hub = TelemetryHub()
    log = tmp_path / "bot.jsonl"
    sink = FanOutSink(JsonLinesSink(log, "run"), TelemetrySink(hub))
    journal = open_journal(f"sqlite:///{tmp_path / 'journal.db'}")
    exchange = SimulatedExchange(INSTRUMENT, {"USDT": D("10000")}, SimulationSettings(leverage=3))
    overlay = CmeGridOverlay(
        CmeSchedule(CmeScheduleSettings(continuous_from_ms=None)),
        WeekendModeSettings(WeekendAction.WIDER),
    )
    grid = AdaptiveGrid("BTCUSDT", AdaptiveGridParams(), overlay)
    session = TradingSession(
        exchange,
        INSTRUMENT,
        journal,
        grid,
        "wk",
        sink,
        exchange,
        {"USDT": D("10000")},
        replay=exchange,
    )
    candles = _candles()
    session.start(reference_price=candles[0].open)
    for candle in candles:
        session.on_candle(candle)

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    weekend = [line for line in lines if line["event"] == WEEKEND_EVENT]
    assert [w["switch"] for w in weekend] == ["entered", "left"]
    assert [w["market_time"] for w in weekend] == [
        "2025-03-07T16:00:00-06:00",
        "2025-03-09T17:00:00-05:00",  # the reopen after the spring-forward change
    ]
    assert all(w["mode"] == "wider" for w in weekend)
    (gap,) = [line for line in lines if line["event"] == GAP_EVENT]
    close_price = candles[89].close  # the last candle before the close
    reopen_price = candles[150].open  # the first one at the reopen
    assert (gap["close_price"], gap["reopen_price"]) == (str(close_price), str(reopen_price))
    assert gap["gap"] == str(reopen_price - close_price)

    records, _ = hub.since(0, limit=100_000)
    streamed = [(r.event, r.kind, r.time_ms) for r in records if r.event.startswith("calendar")]
    assert streamed == [
        (WEEKEND_EVENT, "state", CLOSE),
        (WEEKEND_EVENT, "state", REOPEN),
        (GAP_EVENT, "state", REOPEN),
    ]

    journaled = [
        (kind, at, json.loads(payload))
        for kind, at, payload in journal.reports()
        if kind.startswith("calendar")
    ]
    assert [(kind, at) for kind, at, _ in journaled] == [
        (WEEKEND_EVENT, CLOSE),
        (WEEKEND_EVENT, REOPEN),
        (GAP_EVENT, REOPEN),
    ]
    assert journaled[0][2]["switch"] == "entered" and journaled[1][2]["switch"] == "left"
    assert journaled[2][2]["gap"] == gap["gap"]
    assert session.calendar.stats.to_dict() == {
        "weekend_entered": 1,
        "weekend_left": 1,
        "cme_gaps": 1,
    }
    journal.engine.dispose()
