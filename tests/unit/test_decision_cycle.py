"""DecisionCycle: the step order, the scope around each step, and pausing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.decision_cycle import DecisionCycle
from application.execution import ExecutionService
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import Candle
from domain.client_ids import ClientOrderIdSequence
from domain.commands import Command, PlaceOrder
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent
from domain.market_facts import MarketFacts, MarketFactsSettings
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

D = Decimal


class Probe(StrategyDefaults):
    """Buys below the market on every candle; notes what it saw and when it was asked."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.seen_closes: list[Decimal | None] = []

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        self.log.append("strategy.candle")
        self.seen_closes.append(context.market.last_close)
        if context.open_orders:
            return ()
        inst = context.instrument
        price = inst.round_price(candle.close * D("0.9995"))
        qty = inst.quantity_for_notional(D("200"), price)
        return (PlaceOrder("BTCUSDT", Side.BUY, OrderType.LIMIT, qty, price, TimeInForce.GTC),)

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        self.log.append(f"strategy.{type(event).__name__}")
        return ()

    def snapshot(self) -> dict[str, str]:
        return {}

    def restore(self, state: Mapping[str, str]) -> None:
        pass


def _cycle(log: list[str]) -> tuple[DecisionCycle, Probe, SimulatedExchange]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    venue = SimulatedExchange(instrument, {"USDT": D("10000")}, SimulationSettings(leverage=5))
    execution = ExecutionService(
        venue,
        instrument,
        AccountProjection(instrument, D("10000")),
        ClientOrderIdSequence("cy"),
        InMemoryOrderRepository(),
        RecordingSink(),
        venue,
    )

    @contextmanager
    def scope(decided: int | None) -> Iterator[None]:
        log.append("open" if decided is None else f"open:{decided}")
        yield
        log.append("commit")

    probe = Probe(log)
    facts = MarketFacts(MarketFactsSettings(atr_windows=(2,), volatility_windows=(2,)))
    cycle = DecisionCycle(execution, probe, replay=venue, market=facts, scope=scope)
    return cycle, probe, venue


def test_every_step_runs_in_its_scope_and_the_strategy_sees_this_candle() -> None:
    log: list[str] = []
    cycle, probe, _ = _cycle(log)
    candles = list(GeneratedMarket(minutes=240, seed=5, start_price=D("42000")))
    for candle in candles:
        cycle.on_candle(candle)
    assert probe.seen_closes == [c.close for c in candles]  # facts updated before asking
    first = candles[0].open_time
    # Candle decision in its own scope (with the candle's time), then each answer event in
    # its own scope, the strategy answering inside it.
    assert log[:6] == [
        f"open:{first}",
        "strategy.candle",
        "commit",
        "open",
        "strategy.OrderAccepted",
        "commit",
    ]
    assert "strategy.OrderFilled" in log
    assert log.count("open") + sum(x.startswith("open:") for x in log) == log.count("commit")


def test_a_paused_cycle_applies_events_but_asks_nothing() -> None:
    log: list[str] = []
    cycle, _, _ = _cycle(log)
    candles = list(GeneratedMarket(minutes=240, seed=5, start_price=D("42000")))
    cycle.on_candle(candles[0])  # one resting buy just under the market
    (order,) = cycle.context.open_orders.values()
    cycle.deciding = False
    log.clear()
    for candle in candles[1:]:
        cycle.on_candle(candle)
    assert not any(x.startswith("strategy") for x in log)  # never asked while paused
    assert "open:" not in " ".join(log)  # no candle decision either
    assert cycle.context.account.position.quantity == order.quantity  # the fill was applied
    assert cycle.context.open_orders == {}
