"""The adaptive grid through the real Binance adapter against the emulator, on both markets.

The live engine's Binance path (emulator on loopback, :class:`BinanceExchange` over HTTP, the
blocking port, the SQL journal) runs the adaptive grid over a generated market. Re-centres
move resting orders (futures in place, ``PUT /fapi/v1/order``; spot ``POST
/api/v3/order/cancelReplace``, the replacement under a new client id); once a futures order
has used its modification allowance (``max_modifications``, 1 here) the diff cancels it and
places a new one instead. Both paths must reach the exchange and leave the bot's book equal
to the exchange's, with each client id naming one exchange order; every open leg keeps a
take-profit, and every fill is a maker fill.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.market_data.generated import GeneratedMarket
from bootstrap.validation.books import read_books
from domain.enums import Liquidity, MarketType
from domain.events import OrderFilled
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams
from domain.market_facts import MarketFacts, MarketFactsSettings
from tests.support.binance_rig import PREFIX, SYMBOL, binance_rig

D = Decimal

#: Per market: the REST path of an order, of a modify, and the round-trip maker fee.
MARKETS = {
    MarketType.USDM_FUTURES: ("/fapi/v1/order", ("PUT", "/fapi/v1/order"), D("0.0004")),
    MarketType.SPOT: ("/api/v3/order", ("POST", "/api/v3/order/cancelReplace"), D("0.002")),
}


@pytest.mark.parametrize("market", list(MARKETS), ids=["futures", "spot"])
def test_adaptive_grid_modifies_and_replaces_over_the_binance_adapter(
    tmp_path: Path, market: MarketType
) -> None:
    order_path, modify, fee = MARKETS[market]
    candles = list(GeneratedMarket(minutes=160, seed=11, start_price=D("42000")))
    balances = {"USDT": D("10000")}
    if market is MarketType.SPOT:
        balances["BTC"] = D("0.1")
    params = AdaptiveGridParams(
        levels=3,
        round_trip_fee=fee,
        fee_multiple=D(1),
        atr_window=3,
        volatility_window=3,
        atr_multiple=D(2),
        recenter_steps=D(2),
        level_fraction=D("0.02"),
        max_modifications=1,
    )
    grid = AdaptiveGrid(SYMBOL, params)
    facts = MarketFacts(MarketFactsSettings(atr_windows=(3,), volatility_windows=(3,)))
    with binance_rig(tmp_path, candles, market, balances) as rig:
        engine = rig.engine(grid, market_facts=facts)
        fills = []
        for _ in range(len(candles) - 2):
            candle = rig.candle()
            # Everything the user-data stream delivers, as a live bot gets it. Its events name
            # an order by client id alone: before a spot replacement had a client id of its
            # own, the stream's "old order cancelled" closed the replacement in the bot's
            # book while it kept resting (and locking quote) on the exchange.
            events = rig.streamed()
            fills += [e.fill for e in events if isinstance(e, OrderFilled)]
            engine.on_events(events)
            engine.on_candle(candle)
        counters = grid.counters()
        session = engine.session
        # Re-centres moved orders in place: PUT on futures, cancelReplace on spot.
        assert counters["recenters"] > 0, counters
        assert counters["modifies"] > 0, counters
        assert rig.sent(*modify) >= counters["modifies"] // 2
        # Futures: by cancel + new once an order has used its modification allowance. (A
        # spot replacement is a new order with a new id, so its allowance starts afresh.)
        if market is MarketType.USDM_FUTURES:
            assert counters["cancel_replaces"] > 0, counters
            assert rig.sent("DELETE", order_path) > 0
        assert rig.sent("POST", order_path) >= counters["places"]
        # Fills came back and were answered by take-profits resting on the exchange.
        assert counters["entry_fills"] > 0 and counters["take_profit_fills"] > 0
        assert fills and all(f.liquidity is Liquidity.MAKER for f in fills)
        open_orders = session.open_orders()
        tags = {o.tag for o in open_orders}
        for key in grid.legs:
            assert f"tp:{key}" in tags
        # The bot's book is the exchange's book, and every request the diff made was sent.
        assert len(open_orders) == rig.open_on_exchange()
        assert all(o.client_order_id.startswith(PREFIX) for o in open_orders)
        # Each client id named one exchange order (a spot replacement takes a new one).
        # (Read while the replay is idle, as open_on_exchange reads the venue.)
        assert read_books(rig.state, market, SYMBOL, balances).reused_client_ids() == {}
        engine.request_stop(flatten=True)
        report = engine.finish()
        assert report is not None and report.flat
        assert rig.open_on_exchange() == 0
