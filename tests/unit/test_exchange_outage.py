"""An exchange outage (a 418 ban, 5xx) in the live engine: said once, ended once, worded right.

The venue is a simulated exchange behind a switch: while it is down every port call
raises :class:`ExchangeUnavailable`, as the blocking Binance port does when a ban outlasts
its budget. Its events reach the engine as the user-data stream's would (``on_events``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.live_engine import EngineIdentity, LiveEngine
from application.ports.exchange import ExchangeUnavailable
from application.reconciliation import NEVER_SENT_UNAVAILABLE
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType
from domain.events import RejectReason
from domain.grid.static_grid import StaticGrid, StaticGridParams

D = Decimal
_PORT = frozenset(
    {
        "place_order",
        "modify_order",
        "cancel_order",
        "cancel_all_orders",
        "query_order",
        "open_orders",
        "account",
        "trades_since",
        "funding_since",
    }
)


class _Switched:
    """The simulated exchange's port, refusing every call while ``down``."""

    def __init__(self, inner: SimulatedExchange) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in _PORT:
            return attr

        def call(*args: Any) -> Any:
            if self.down:
                raise ExchangeUnavailable(f"{name}: IpBanned: IP banned for another 90 s")
            return attr(*args)

        return call


def _rig() -> tuple[LiveEngine, _Switched, RecordingSink, Callable[[Candle], None], list[Candle]]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    balances = {"USDT": D("10000")}
    inner = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    exchange = _Switched(inner)
    sink = RecordingSink()
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    session = TradingSession(
        exchange,  # type: ignore[arg-type]
        instrument,
        InMemoryOrderRepository(),
        grid,
        "out",
        sink,
        inner,
        balances,
    )
    engine = LiveEngine(session, sink, inner, EngineIdentity("r", "binance", "F", "BTCUSDT"))
    candles = list(GeneratedMarket(minutes=120, seed=11, start_price=D("42000")))
    engine.start(reference_price=candles[0].open)

    def step(candle: Candle) -> None:
        engine.on_events(inner.on_candle(candle))  # the exchange matches, banned or not
        engine.on_candle(candle)

    return engine, exchange, sink, step, candles


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends() -> None:
    engine, exchange, sink, step, candles = _rig()
    for candle in candles[:20]:
        step(candle)
    exchange.down = True
    engine.resync()  # a stream reconnect during the ban
    for candle in candles[20:80]:  # every candle tries to reconcile again
        step(candle)
    assert engine.needs_resync
    assert len(sink.named("exchange.unavailable")) == 1
    assert sink.named("exchange.available") == []
    exchange.down = False
    for candle in candles[80:90]:
        step(candle)
    assert not engine.needs_resync
    assert len(sink.named("exchange.unavailable")) == 1
    [ended] = sink.named("exchange.available")
    assert ended["unavailable_ms"] >= 59 * 60_000  # the candles it missed


def test_orders_not_sent_during_an_outage_are_not_blamed_on_a_restart() -> None:
    engine, exchange, sink, step, candles = _rig()
    exchange.down = True
    step(candles[0])  # the grid is decided and journaled; sending it fails
    assert engine.needs_resync and engine.session.open_orders()
    exchange.down = False
    step(candles[1])
    never_sent = [r for r in sink.named("order.rejected") if r["reason"] is RejectReason.NEVER_SENT]
    assert never_sent, "the unsent grid was not reported"
    assert {r["message"] for r in never_sent} == {NEVER_SENT_UNAVAILABLE}
    assert "restart" not in NEVER_SENT_UNAVAILABLE
    assert len(exchange.inner.open_orders("BTCUSDT")) >= 5  # re-issued once it answered
