"""The Binance adapter against the emulator over real HTTP and WebSocket on loopback.

One scenario end to end, the way the live shell will use it: REST places a resting futures
order, the user-data stream (listenKey) reports it NEW, a replayed candle fills it and the
stream reports the TRADE with its commission, and the REST trade history agrees.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.binance.user_data import FuturesUserDataStream, RestListenKeyApi
from adapters.binance.ws_parsers import UserEvents
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent, OrderAccepted, OrderFilled

D = Decimal
KEY, SECRET = "e2e-key", "e2e-secret"
T0 = 1_704_067_200_000
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")


def _candle(minute: int, o: str, h: str, low: str, c: str) -> Candle:
    start = T0 + minute * 60_000
    return Candle(start, D(o), D(h), D(low), D(c), D("100"), start + 59_999)


def test_futures_order_lifecycle_over_rest_and_user_data_stream() -> None:
    async def scenario() -> tuple[list[ExecutionEvent], list[OrderAccepted], list[OrderFilled]]:
        candles = [
            _candle(0, "50000", "50000", "50000", "50000"),
            _candle(1, "50000", "50100", "49000", "49500"),
        ]
        state = EmulatorState(
            [FUT], KEY, SECRET, candles, balances={MarketType.USDM_FUTURES: {"USDT": D("100000")}}
        )
        state.advance(1)
        runner, url = await start_emulator(state)
        client = BinanceRestClient("futures", url, KEY, SECRET)
        exchange = BinanceExchange(client)
        streamed: list[ExecutionEvent] = []
        filled = asyncio.Event()
        opened = asyncio.Event()

        async def on_message(message: object) -> None:
            if isinstance(message, UserEvents):
                streamed.extend(message.events)
                if any(isinstance(e, OrderAccepted) for e in message.events):
                    opened.set()
                if any(isinstance(e, OrderFilled) for e in message.events):
                    filled.set()

        stream = FuturesUserDataStream(
            RestListenKeyApi(client),
            url.replace("http://", "ws://"),
            on_message,
            symbol_assets={"BTCUSDT": ("BTC", "USDT")},
        )
        task = asyncio.create_task(stream.run())
        try:
            await asyncio.sleep(0.2)  # the stream connects (real loopback I/O)
            request = OrderRequest(
                "e2e-1",
                "BTCUSDT",
                Side.BUY,
                OrderType.LIMIT,
                D("0.010"),
                D("49500.0"),
                TimeInForce.GTC,
            )
            answer = await exchange.place_order(request)
            await asyncio.wait_for(opened.wait(), 5)
            state.advance(1)  # the next candle trades through 49,500
            await asyncio.wait_for(filled.wait(), 5)
            trades = await exchange.trades_since("BTCUSDT", 0)
        finally:
            await stream.stop()
            await asyncio.wait_for(task, 5)
            await exchange.aclose()
            await runner.cleanup()
        accepted = [e for e in answer if isinstance(e, OrderAccepted)]
        return streamed, accepted, [OrderFilled(f) for f in trades]

    streamed, accepted, from_rest = asyncio.run(scenario())
    assert accepted and accepted[0].client_order_id == "e2e-1"
    kinds = [type(e).__name__ for e in streamed]
    assert kinds.index("OrderAccepted") < kinds.index("OrderFilled")  # NEW before TRADE
    [fill] = [e.fill for e in streamed if isinstance(e, OrderFilled)]
    assert (fill.client_order_id, fill.quantity, fill.price) == ("e2e-1", D("0.010"), D("49500.0"))
    assert fill.fee == D("0.0990") and fill.fee_asset == "USDT"  # 495 x 0.02 % maker
    assert [f.fill for f in from_rest] == [fill]  # REST history and the stream agree exactly
