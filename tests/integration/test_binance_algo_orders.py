"""The Binance adapter's futures conditional orders over the emulator's Algo Order API.

STOP_MARKET / TAKE_PROFIT_MARKET on USD-M go through ``/fapi/v1/algoOrder`` under the client
order id: accepted with the algoId, triggered by a replayed candle and filled (the fill read
back through the trade history), cancelled before their trigger, queried through the
``GET /fapi/v1/algoOrder`` fallback, and refused with -2021 when on the wrong side.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import (
    CancelRejected,
    ExecutionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderRejected,
)
from domain.orders import Fill, OrderStatus

D = Decimal
KEY, SECRET = "algo-key", "algo-secret"
T0 = 1_704_067_200_000
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")


def _candle(minute: int, o: str, h: str, low: str, c: str) -> Candle:
    start = T0 + minute * 60_000
    return Candle(start, D(o), D(h), D(low), D(c), D("100"), start + 59_999)


CANDLES = [
    _candle(0, "50000", "50000", "50000", "50000"),
    _candle(1, "50000", "50050", "49950", "50000"),
    _candle(2, "50000", "50000", "49000", "49200"),
]


def _conditional(cid: str, order_type: OrderType, trigger: str, side: Side) -> OrderRequest:
    return OrderRequest(cid, "BTCUSDT", side, order_type, D("0.010"), None, None, D(trigger), True)


def _types(events: list[ExecutionEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_algo_stop_take_profit_cancel_query_and_wrong_side() -> None:
    async def scenario() -> None:
        state = EmulatorState(
            [FUT], KEY, SECRET, CANDLES, balances={MarketType.USDM_FUTURES: {"USDT": D("100000")}}
        )
        state.advance(1)  # last price 50,000
        runner, url = await start_emulator(state)
        exchange = BinanceExchange(BinanceRestClient("futures", url, KEY, SECRET))
        try:
            # A long position to protect.
            buy = OrderRequest("long-1", "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.010"))
            assert "OrderFilled" in _types(await exchange.place_order(buy))

            stop = _conditional("sl-1", OrderType.STOP_MARKET, "49500.0", Side.SELL)
            [accepted] = await exchange.place_order(stop)
            assert isinstance(accepted, OrderAccepted) and accepted.client_order_id == "sl-1"
            algo_id = accepted.exchange_order_id

            take = _conditional("tp-1", OrderType.TAKE_PROFIT_MARKET, "51000.0", Side.SELL)
            [tp] = await exchange.place_order(take)
            assert isinstance(tp, OrderAccepted) and tp.exchange_order_id != algo_id

            wrong = _conditional("sl-bad", OrderType.STOP_MARKET, "50500.0", Side.SELL)
            [rejected] = await exchange.place_order(wrong)
            assert isinstance(rejected, OrderRejected)
            assert (rejected.code, rejected.message) == (-2021, "Order would immediately trigger.")

            # Query: the order endpoint answers -2013, the algo endpoint knows it.
            snap = await exchange.query_order("BTCUSDT", "sl-1")
            assert snap is not None and snap.status is OrderStatus.NEW
            assert (snap.exchange_order_id, snap.order_type, snap.stop_price) == (
                algo_id,
                OrderType.STOP_MARKET,
                D("49500.0"),
            )
            assert snap.reduce_only and snap.quantity == D("0.010")
            assert await exchange.query_order("BTCUSDT", "never-sent") is None

            # Cancel the untriggered take-profit (a fresh adapter knows nothing: fallback).
            [canceled] = await exchange.cancel_order("BTCUSDT", "tp-1")
            assert isinstance(canceled, OrderCanceled) and canceled.client_order_id == "tp-1"
            tp_snap = await exchange.query_order("BTCUSDT", "tp-1")
            assert tp_snap is not None and tp_snap.status is OrderStatus.CANCELED
            [again] = await exchange.cancel_order("BTCUSDT", "tp-1")
            assert isinstance(again, CancelRejected) and again.code == -2011
            fresh = BinanceExchange(BinanceRestClient("futures", url, KEY, SECRET))
            try:
                [unknown] = await fresh.cancel_order("BTCUSDT", "nothing-here")
                assert isinstance(unknown, CancelRejected) and unknown.code == -2011
            finally:
                await fresh.aclose()

            # Nothing triggers on a candle that stays above 49,500; the next one crosses it.
            state.advance(1)
            before = await exchange.trades_since("BTCUSDT", 0)
            assert [f.client_order_id for f in before] == ["long-1"]
            state.advance(1)
            trades = await exchange.trades_since("BTCUSDT", before[-1].trade_id)
            assert [(f.client_order_id, f.side, f.quantity) for f in trades] == [
                ("sl-1", Side.SELL, D("0.010"))
            ]
            done = await exchange.query_order("BTCUSDT", "sl-1")
            assert done is not None and done.status is OrderStatus.FILLED
            assert done.executed_quantity == D("0.010")
            account = await exchange.account()
            assert account.positions == [] or all(p.quantity == 0 for p in account.positions)
            [late] = await exchange.cancel_order("BTCUSDT", "sl-1")
            assert isinstance(late, CancelRejected)
        finally:
            await exchange.aclose()
            await runner.cleanup()

    asyncio.run(scenario())


def test_algo_stop_opening_a_position_fills_and_is_found_by_a_fresh_adapter() -> None:
    async def scenario() -> list[Fill]:
        state = EmulatorState(
            [FUT], KEY, SECRET, CANDLES, balances={MarketType.USDM_FUTURES: {"USDT": D("100000")}}
        )
        state.advance(1)
        runner, url = await start_emulator(state)
        exchange = BinanceExchange(BinanceRestClient("futures", url, KEY, SECRET))
        try:
            sell = OrderRequest(
                "sl-2",
                "BTCUSDT",
                Side.SELL,
                OrderType.STOP_MARKET,
                D("0.010"),
                None,
                None,
                D("49500.0"),
            )
            assert _types(await exchange.place_order(sell)) == ["OrderAccepted"]
            state.advance(2)
            fresh = BinanceExchange(BinanceRestClient("futures", url, KEY, SECRET))
            try:
                snap = await fresh.query_order("BTCUSDT", "sl-2")
                assert snap is not None and snap.status is OrderStatus.FILLED
                assert snap.order_type is OrderType.STOP_MARKET
                return await fresh.trades_since("BTCUSDT", 0)
            finally:
                await fresh.aclose()
        finally:
            await exchange.aclose()
            await runner.cleanup()

    fills = asyncio.run(scenario())
    assert [(f.client_order_id, f.side, f.quantity) for f in fills] == [
        ("sl-2", Side.SELL, D("0.010"))
    ]


def test_open_orders_and_cancel_all_cover_untriggered_algo_orders() -> None:
    async def scenario() -> None:
        state = EmulatorState(
            [FUT], KEY, SECRET, CANDLES, balances={MarketType.USDM_FUTURES: {"USDT": D("100000")}}
        )
        state.advance(1)  # last price 50,000
        runner, url = await start_emulator(state)
        exchange = BinanceExchange(BinanceRestClient("futures", url, KEY, SECRET))
        try:
            limit = OrderRequest(
                "bid-1",
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                D("0.010"),
                D("49000.0"),
                TimeInForce.GTC,
            )
            assert "OrderAccepted" in _types(await exchange.place_order(limit)), limit
            stop = OrderRequest(
                "sl-2",
                "BTCUSDT",
                Side.SELL,
                OrderType.STOP_MARKET,
                D("0.010"),
                None,
                None,
                D("49500.0"),
            )
            [accepted] = await exchange.place_order(stop)
            assert isinstance(accepted, OrderAccepted)
            listed = {s.client_order_id: s for s in await exchange.open_orders("BTCUSDT")}
            assert set(listed) == {"bid-1", "sl-2"}
            algo = listed["sl-2"]
            assert (algo.exchange_order_id, algo.order_type, algo.stop_price) == (
                accepted.exchange_order_id,
                OrderType.STOP_MARKET,
                D("49500.0"),
            )

            # Binance's regular cancel-all leaves the algo order alone.
            await exchange._client.signed(
                "DELETE", "/fapi/v1/allOpenOrders", (("symbol", "BTCUSDT"),), weight=1
            )
            left = [s.client_order_id for s in await exchange.open_orders("BTCUSDT")]
            assert left == ["sl-2"]

            # The adapter's cancel-all also cancels the algo orders.
            await exchange.place_order(limit._replace(client_order_id="bid-2"))
            events = await exchange.cancel_all_orders("BTCUSDT")
            assert sorted(e.client_order_id for e in events if isinstance(e, OrderCanceled)) == [
                "bid-2",
                "sl-2",
            ]
            assert await exchange.open_orders("BTCUSDT") == []
            snap = await exchange.query_order("BTCUSDT", "sl-2")
            assert snap is not None and snap.status is OrderStatus.CANCELED
        finally:
            await exchange.aclose()
            await runner.cleanup()

    asyncio.run(scenario())
