"""BacktestRunner end to end: simulated exchange + execution service + static grid.

Candles are hand-made (a Decimal sine wave around 50,000) or come from the deterministic
GeneratedMarket. The report is checked against identities that must hold exactly: fill
counts, the futures wallet equation, the spot equity equation and the venue's own books.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.backtest import BacktestReport, BacktestRunner
from application.execution import ExecutionService
from application.ports.market_data import CandleGap
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import MINUTE_MS, Candle
from domain.client_ids import ClientOrderIdSequence
from domain.commands import Command
from domain.enums import Liquidity, MarketType, Side
from domain.events import ExecutionEvent, FundingPaid, OrderFilled
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

D = Decimal
ZERO = D(0)
SYMBOL = "BTCUSDT"
FUT = MarketType.USDM_FUTURES
SPOT = MarketType.SPOT
GRID = StaticGridParams(4, D("0.002"), D("300"), D("0.02"))


def wave(
    n: int = 300, center: int = 50_000, amplitude: int = 600, period: int = 40
) -> list[Candle]:
    """A sine wave of 1m candles with 0.1-tick Decimal prices and 15-point wicks."""
    out = []
    previous = D(center)
    for i in range(n):
        close = D(str(round(center + amplitude * math.sin(2 * math.pi * i / period), 1)))
        t = i * MINUTE_MS
        high = max(previous, close) + 15
        low = min(previous, close) - 15
        out.append(Candle(t, previous, high, low, close, D("100"), t + MINUTE_MS - 1))
        previous = close
    return out


class RecordingStrategy(StrategyDefaults):
    """Wraps a strategy and keeps every event it was asked to answer."""

    def __init__(self, inner: StaticGrid) -> None:
        self.inner = inner
        self.seen: list[tuple[ExecutionEvent, Order | None]] = []
        self.candles = 0

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        self.candles += 1
        return self.inner.on_candle(candle, context)

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        self.seen.append((event, order))
        return self.inner.on_execution(event, order, context)


@dataclass
class Rig:
    exchange: SimulatedExchange
    execution: ExecutionService
    repo: InMemoryOrderRepository
    sink: RecordingSink
    strategy: RecordingStrategy
    runner: BacktestRunner


def make_rig(
    market: MarketType = FUT,
    params: StaticGridParams = GRID,
    cash: str = "10000",
    base: str = "0",
    first_price: Decimal = ZERO,
    settings: SimulationSettings | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> Rig:
    instrument = builtin_instrument(market, SYMBOL)
    balances = {"USDT": D(cash)}
    if base != "0":
        balances["BTC"] = D(base)
    exchange = SimulatedExchange(instrument, balances, settings)
    account = AccountProjection(instrument, D(cash), D(base), first_price)
    repo = InMemoryOrderRepository()
    sink = RecordingSink()
    execution = ExecutionService(
        exchange, instrument, account, ClientOrderIdSequence("bt"), repo, sink, exchange
    )
    strategy = RecordingStrategy(StaticGrid(SYMBOL, params))
    runner = BacktestRunner(exchange, strategy, execution, progress, progress_every)
    return Rig(exchange, execution, repo, sink, strategy, runner)


def assert_counts_consistent(report: BacktestReport, rig: Rig) -> None:
    fills = rig.repo.fills()
    assert report.fills == len(fills) == report.maker_fills + report.taker_fills
    assert report.maker_fills == sum(f.liquidity is Liquidity.MAKER for f in fills)
    assert len({f.trade_id for f in fills}) == len(fills)
    assert report.orders == len(rig.repo.order_ids())
    assert report.orders >= len({f.client_order_id for f in fills})
    assert report.rejects == len(rig.sink.named("order.rejected"))
    assert report.max_drawdown >= 0
    assert report.max_drawdown_amount >= 0
    assert report.max_drawdown < 1


def assert_futures_books_balance(report: BacktestReport, rig: Rig) -> None:
    assert report.final_equity == report.final_cash + report.unrealized_pnl
    assert (
        report.initial_equity + report.realized_pnl - report.fees + report.funding
        == report.final_cash
    )
    # The bot's projection agrees with the venue's own books, to the last digit.
    assert report.final_equity == rig.exchange.equity()
    assert report.position == rig.exchange.ledger.position.quantity  # type: ignore[union-attr]


# ----------------------------------------------------------------------- reports
def test_futures_report_on_a_hand_made_wave() -> None:
    candles = wave(300)
    rig = make_rig()
    report = rig.runner.run(candles)
    assert report.symbol == SYMBOL
    assert report.market == "USDM_FUTURES"
    assert report.candles == 300 == rig.strategy.candles
    assert report.first_open_time == 0
    assert report.last_open_time == candles[-1].open_time
    assert report.last_price == candles[-1].close
    assert (report.gaps, report.missing_candles) == (0, 0)
    assert report.fills > 50
    assert report.funding == ZERO  # five hours, no settlement after the position opened
    assert report.initial_equity == D("10000")
    assert report.position == rig.execution.account.position.quantity
    assert report.fees == sum(f.fee for f in rig.repo.fills())
    assert_counts_consistent(report, rig)
    assert_futures_books_balance(report, rig)


def test_futures_report_on_the_generated_market_includes_funding() -> None:
    market = GeneratedMarket(minutes=2000, seed=3)
    rig = make_rig()
    report = rig.runner.run(market, gaps=lambda: market.gaps)
    assert report.candles == 2000
    assert report.first_open_time == 1_704_067_200_000
    assert report.last_open_time == 1_704_067_200_000 + 1999 * MINUTE_MS
    assert report.gaps == 0
    paid = [e for e, _ in rig.strategy.seen if isinstance(e, FundingPaid)]
    assert paid, "33 hours with an open position must cross a funding settlement"
    assert report.funding == sum(e.amount for e in paid) != ZERO
    assert report.funding == sum(r["amount"] for r in rig.sink.named("funding"))
    assert_counts_consistent(report, rig)
    assert_futures_books_balance(report, rig)


@pytest.mark.parametrize("source", ["wave", "generated"])
def test_spot_report_balances(source: str) -> None:
    candles = wave(300) if source == "wave" else list(GeneratedMarket(minutes=2000, seed=3))
    rig = make_rig(SPOT, cash="10000", base="0.1", first_price=candles[0].open)
    report = rig.runner.run(candles)
    account = rig.execution.account
    assert report.market == "SPOT"
    assert report.funding == ZERO
    assert report.initial_equity == D("10000") + D("0.1") * candles[0].open
    assert report.final_equity == report.final_cash + account.base_balance * candles[-1].close
    quote_fees = sum(f.fee for f in rig.repo.fills() if f.fee_asset == "USDT")
    assert (
        report.final_equity - report.initial_equity
        == report.realized_pnl + report.unrealized_pnl - quote_fees
    )
    assert report.final_equity == rig.exchange.equity()
    assert_counts_consistent(report, rig)


def test_same_input_gives_the_same_report() -> None:
    first = make_rig().runner.run(GeneratedMarket(minutes=2000, seed=3))
    second = make_rig().runner.run(GeneratedMarket(minutes=2000, seed=3))
    assert first == second


def test_drawdown_is_measured_when_price_falls() -> None:
    falling = [
        Candle(i * MINUTE_MS, p, p + 20, p - 20, p - 10, D("100"), (i + 1) * MINUTE_MS - 1)
        for i, p in enumerate(D(50_000) - 10 * k for k in range(120))
    ]
    rig = make_rig(params=StaticGridParams(5, D("0.001"), D("1000")))
    report = rig.runner.run(falling)
    assert report.position > 0  # the bids were bought on the way down
    assert report.max_drawdown > 0
    assert report.max_drawdown_amount > 0
    assert report.final_equity < report.initial_equity
    assert report.max_drawdown_amount >= report.initial_equity - report.final_equity


def test_gaps_are_counted_from_the_callable() -> None:
    gaps = [CandleGap("test", 0, 3 * MINUTE_MS), CandleGap("test", 10 * MINUTE_MS, 15 * MINUTE_MS)]
    report = make_rig().runner.run(wave(20), gaps=lambda: gaps)
    assert (report.gaps, report.missing_candles) == (2, 2 + 4)


# ---------------------------------------------------------------------- progress
def test_progress_is_reported_periodically_and_with_the_total() -> None:
    calls: list[int] = []
    make_rig(progress=calls.append, progress_every=7).runner.run(wave(300))
    assert calls == [*range(7, 295, 7), 300]
    assert calls == sorted(set(calls))


def test_progress_total_is_reported_even_on_a_period_boundary() -> None:
    calls: list[int] = []
    make_rig(progress=calls.append, progress_every=100).runner.run(wave(300))
    assert calls[:3] == [100, 200, 300]
    assert calls[-1] == 300
    assert calls == sorted(calls)


def test_no_progress_callback_is_fine() -> None:
    assert make_rig(progress=None, progress_every=1).runner.run(wave(5)).candles == 5


# ------------------------------------------------------------------------- empty
@pytest.mark.parametrize("market", [FUT, SPOT])
def test_empty_candle_source_gives_a_zero_report(market: MarketType) -> None:
    calls: list[int] = []
    rig = make_rig(market, progress=calls.append, progress_every=1)
    report = rig.runner.run(iter(()))
    assert calls == [0]
    assert report.candles == 0
    assert report.first_open_time is None and report.last_open_time is None
    assert report.last_price is None
    assert (report.orders, report.fills, report.maker_fills, report.taker_fills) == (0, 0, 0, 0)
    assert (report.rejects, report.cancels, report.gaps, report.missing_candles) == (0, 0, 0, 0)
    for money in (
        report.fees,
        report.funding,
        report.realized_pnl,
        report.unrealized_pnl,
        report.position,
        report.max_drawdown,
        report.max_drawdown_amount,
    ):
        assert money == ZERO
    assert report.final_equity == report.initial_equity == report.final_cash == D("10000")
    assert rig.exchange.open_orders(SYMBOL) == []


# -------------------------------------------------------------- reacting to answers
def test_events_produced_by_answers_are_answered_too() -> None:
    # Minute 0 builds one level each side: bid 49500, ask 50500. Minute 1 dips to 49400
    # (the bid fills as maker) and closes at 50900. Its take-profit ask at 49995 is then
    # below the last price, so it fills at once as taker at 50900, and that fill gets its
    # own take-profit bid at 50900 x 0.99 = 50391.
    params = StaticGridParams(1, D("0.01"), D("500"))
    candles = [
        Candle(0, D(50000), D(50000), D(50000), D(50000), D(100), MINUTE_MS - 1),
        Candle(MINUTE_MS, D(50000), D(50800), D(49400), D(50900), D(100), 2 * MINUTE_MS - 1),
    ]
    rig = make_rig(params=params, settings=SimulationSettings(max_volume_share=None))
    report = rig.runner.run(candles)

    orders = [rig.repo.get_order(cid) for cid in rig.repo.order_ids()]
    summary = [(o.tag, o.side, o.quantity, o.price, o.status.value) for o in orders if o]
    assert summary == [
        ("grid:1", Side.BUY, D("0.010"), D("49500"), "FILLED"),
        ("grid:1", Side.SELL, D("0.009"), D("50500"), "FILLED"),
        ("tp", Side.SELL, D("0.010"), D("49995"), "FILLED"),  # answers bt-0, fills as taker
        ("tp", Side.BUY, D("0.009"), D("49995"), "NEW"),  # answers bt-1
        ("tp", Side.BUY, D("0.010"), D("50391"), "NEW"),  # answers the answer
    ]
    taker = rig.repo.fills()[-1]
    assert (taker.client_order_id, taker.liquidity, taker.price) == (
        "bt-2",
        Liquidity.TAKER,
        D("50900"),
    )
    # Every fill, including the taker fill of an answer, reached the strategy exactly once.
    seen_fills = [e.fill for e, _ in rig.strategy.seen if isinstance(e, OrderFilled)]
    assert seen_fills == rig.repo.fills()
    assert report.taker_fills == 1
    assert_counts_consistent(report, rig)


def test_every_fill_reaches_the_strategy_once_over_a_long_run() -> None:
    rig = make_rig()
    report = rig.runner.run(GeneratedMarket(minutes=2000, seed=3))
    seen_fills = [e.fill for e, _ in rig.strategy.seen if isinstance(e, OrderFilled)]
    assert seen_fills == rig.repo.fills()
    assert len(seen_fills) == report.fills
    orders = [o for _, o in rig.strategy.seen if o is not None]
    assert all(o.client_order_id.startswith("bt-") for o in orders)


# ---------------------------------------------------------------------- to_dict
def test_to_dict_turns_decimals_into_strings() -> None:
    report = make_rig().runner.run(wave(100))
    data = report.to_dict()
    assert set(data) == set(BacktestReport.__dataclass_fields__)
    decimal_fields = [k for k, v in vars_of(report).items() if isinstance(v, Decimal)]
    assert "final_equity" in decimal_fields and "last_price" in decimal_fields
    for key in decimal_fields:
        assert isinstance(data[key], str)
        assert D(data[key]) == getattr(report, key)
    assert data["candles"] == 100 and isinstance(data["candles"], int)
    assert data["symbol"] == SYMBOL and data["market"] == "USDM_FUTURES"
    assert json.loads(json.dumps(data)) == data


def test_to_dict_keeps_none() -> None:
    data = make_rig().runner.run([]).to_dict()
    assert data["first_open_time"] is None and data["last_price"] is None
    assert data["final_equity"] == "10000"


def vars_of(report: BacktestReport) -> dict[str, object]:
    return {name: getattr(report, name) for name in BacktestReport.__dataclass_fields__}
