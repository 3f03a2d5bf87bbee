"""The default brakes over a real crash: February 2025 BTCUSDT USD-M futures (-20 % in a month).

A static grid sized to lose fast (10 levels of 3,000 USDT on 10,000 at 10x) is backtested
through ``gridbot backtest``'s own container with the default brakes (-5 / -10 / -15 %). The
event records must show each level entered in turn, no entry sent while reduce-only or
halted, and after HALTED nothing but the flatten: the position closed, the book empty.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from dependency_injector import providers

from adapters.memory.sinks import RecordingSink
from bootstrap.config import parse_config
from bootstrap.containers import BacktestContainer
from tests.support.brake_rig import audit

CONFIG: dict[str, Any] = {
    "market": {"type": "USDM_FUTURES", "symbol": "BTCUSDT"},
    "account": {"initial_balances": {"USDT": "10000"}},
    "strategy": {"name": "static_grid", "levels": 10, "quote_per_level": 3000, "spacing": "0.004"},
    "simulation": {"leverage": 10},
    "risk": {"max_leverage": 10},
}


def test_february_2025_crash_steps_through_every_level(shared_data: Path) -> None:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-02.csv.gz"
    container = BacktestContainer(config=parse_config(CONFIG, "test"))
    container.data.override(str(data))
    sink = RecordingSink()
    container.sink.override(providers.Object(sink))
    candles = container.candles()
    report = container.runner().run(candles, gaps=lambda: candles.source.gaps)

    found = audit(sink.records)
    firsts = list(dict.fromkeys(found.levels))
    assert firsts[:1] == ["REDUCED"]
    assert [lvl for lvl in firsts if lvl != "NORMAL"] == ["REDUCED", "REDUCE_ONLY", "HALTED"]
    assert found.levels[-1] == "HALTED"
    assert not found.violations, found.violations[:3]
    assert found.entries_by_level.get("REDUCED", 0) > 0  # it kept trading, smaller
    assert "REDUCE_ONLY" not in found.entries_by_level
    assert "HALTED" not in found.entries_by_level

    brakes = report.brakes
    assert brakes is not None
    assert brakes["deepest"] == "HALTED" and brakes["halts"] == 1
    assert brakes["blocked_entries"] > 0 and brakes["scaled_entries"] > 0

    # After HALTED: the flatten, then nothing.
    names = [event for event, _, _ in sink.records]
    halted_at = max(i for i, (e, _, f) in enumerate(sink.records) if e == "brake.transition")
    after = [f for e, _, f in sink.records[halted_at:] if e == "order.submit"]
    assert [f["tag"] for f in after] == ["flatten"]
    assert report.position == 0
    assert container.exchange().open_orders("BTCUSDT") == []
    # The brake stopped the loss near its threshold (one minute's move past -15 %).
    assert report.max_drawdown < Decimal("0.17")
    assert "brake.transition" in names


#: The adaptive grid sized to lose on the same crash (half of equity a level, exposure up to
#: 8x): it reaches every level. It plans within the level its context carries, so the gate
#: finds nothing to drop (before it did, the same run had 201 entries and take-profits
#: dropped silently, re-sent candle after candle).
ADAPTIVE: dict[str, Any] = {
    **CONFIG,
    "strategy": {
        "name": "adaptive_grid",
        "adaptive": {"level_fraction": "0.5", "max_exposure": "8"},
    },
}


def test_the_adaptive_grid_plans_within_the_brake_and_nothing_is_dropped(
    shared_data: Path,
) -> None:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-02.csv.gz"
    container = BacktestContainer(config=parse_config(ADAPTIVE, "test"))
    container.data.override(str(data))
    sink = RecordingSink()
    container.sink.override(providers.Object(sink))
    candles = container.candles()
    report = container.runner().run(candles, gaps=lambda: candles.source.gaps)

    found = audit(sink.records)
    assert {"REDUCED", "REDUCE_ONLY", "HALTED"} <= set(found.levels)
    assert not found.violations, found.violations[:3]
    assert found.entries_by_level.get("REDUCED", 0) > 0
    assert "REDUCE_ONLY" not in found.entries_by_level
    assert "HALTED" not in found.entries_by_level
    brakes = report.brakes
    assert brakes is not None
    assert brakes["dropped"] == {} and brakes["blocked_entries"] == 0
    assert not [e for e, _, _ in sink.records if e == "brake.dropped"]
    assert container.strategy().counters()["brake_refusals"] == 0
