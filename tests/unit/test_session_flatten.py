"""TradingSession.flatten: cancel, close, confirm — and the strategy is not asked again."""

from __future__ import annotations

from decimal import Decimal

from adapters.market_data.generated import GeneratedMarket
from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.session import TradingSession
from bootstrap.instruments import builtin_instrument
from domain.enums import MarketType
from domain.grid.static_grid import StaticGrid, StaticGridParams

D = Decimal


def _session(
    market: MarketType, balances: dict[str, Decimal], seed: int = 4
) -> tuple[TradingSession, SimulatedExchange, RecordingSink]:
    instrument = builtin_instrument(market, "BTCUSDT")
    exchange = SimulatedExchange(instrument, balances, SimulationSettings(leverage=5))
    sink = RecordingSink()
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    session = TradingSession(
        exchange, instrument, InMemoryOrderRepository(), grid, "ft", sink, exchange, balances
    )
    candles = list(GeneratedMarket(minutes=400, seed=seed, start_price=D("42000")))
    session.start(reference_price=candles[0].open)
    for candle in candles:
        session.observe_price(candle.close)
        session.process_events(exchange.on_candle(candle))
        session.on_candle(candle)
    return session, exchange, sink


def test_futures_flatten_cancels_everything_and_closes_the_position() -> None:
    session, exchange, sink = _session(MarketType.USDM_FUTURES, {"USDT": D("10000")})
    assert session.open_orders()
    placed_before = sum(1 for e, _, _ in sink.records if e == "order.submit")
    report = session.flatten()
    assert report.flat and report.still_open == ()
    assert exchange.open_orders("BTCUSDT") == []
    assert exchange.account().positions[0].quantity == 0
    assert session.execution.account.position.quantity == 0
    placed_after = sum(1 for e, _, _ in sink.records if e == "order.submit")
    assert placed_after - placed_before == (1 if report.closed_quantity else 0)  # no new grid
    (emitted,) = sink.named("flatten")
    assert emitted["flat"] is True


def test_spot_flatten_sells_only_what_the_bot_bought() -> None:
    start_base = D("0.05")
    session, exchange, _ = _session(MarketType.SPOT, {"USDT": D("10000"), "BTC": start_base})
    report = session.flatten(keep_base=start_base)
    assert report.flat
    assert exchange.open_orders("BTCUSDT") == []
    base = sum(exchange.account().balances["BTC"], D(0))
    step = D("0.00001")
    if report.closed_quantity:
        # Sold the bot's inventory down to the starting holding (less than one lot of dust).
        assert start_base <= base < start_base + step
    else:
        # Nothing above the starting holding to sell: the user's coins stay.
        assert base < start_base + step


def test_spot_flatten_sells_the_bought_inventory_down_to_dust() -> None:
    session, exchange, _ = _session(MarketType.SPOT, {"USDT": D("10000")})
    bought = session.execution.account.base_balance
    assert bought > 0
    report = session.flatten()
    assert report.flat and report.closed_quantity > 0
    left = sum(exchange.account().balances["BTC"], D(0))
    assert left == bought - report.closed_quantity
    assert 0 <= left < D("0.00001")  # less than one lot step: dust that cannot be sold
    assert session.execution.account.base_balance == left


def test_spot_flatten_after_a_restart_sells_what_earlier_processes_bought() -> None:
    """The holding kept is the first start's, not what this process found at its start.

    A validation run (spot, 20 kills) ended ``0.00191000 closed`` and ``flat confirmed``
    with 0.00382426 BTC left of a start at 0: the last process had taken the 0.00191426
    BTC it found at its start for the user's.
    """
    start_base = D("0.05")
    # A falling market (seed 9: 42,000 -> 40,590): the bot buys on the way down.
    first, exchange, sink = _session(
        MarketType.SPOT, {"USDT": D("10000"), "BTC": start_base}, seed=9
    )
    assert first.execution.account.base_balance > start_base
    found = {asset: sum(parts, D(0)) for asset, parts in exchange.account().balances.items()}
    instrument = builtin_instrument(MarketType.SPOT, "BTCUSDT")
    grid = StaticGrid("BTCUSDT", StaticGridParams(5, D("0.002"), D("200"), D("0.01")))
    restarted = TradingSession(exchange, instrument, first._repo, grid, "ft", sink, exchange, found)
    restarted.start(reference_price=D("42000"))
    report = restarted.flatten()
    assert report.flat and report.closed_quantity > 0
    left = sum(exchange.account().balances["BTC"], D(0))
    assert start_base <= left < start_base + D("0.00001")
