"""Order round trips through the Binance REST adapter and the emulator on loopback.

Starts the emulator in-process (one asyncio loop serves both sides over real HTTP on
127.0.0.1), then through :class:`BinanceExchange`:

* place -> ack latency for resting LIMIT orders, and cancel -> ack latency (p50 / p99);
* order queries per second in a burst that stays below the per-minute weight limit (so the
  adapter's limiter does not have to hold requests back; the sustained rate under the limit is
  the limit itself, e.g. 2,400 weight a minute on USD-M);
* futures only, the user-data leg: with a :class:`FuturesUserDataStream` (listenKey) connected
  over WebSocket, place -> REST ack and place -> ``ORDER_TRADE_UPDATE`` NEW received on the
  stream (p50 / p99). It runs on a fresh emulator and client, so the order-count windows of
  the first leg (300 orders / 10 s on USD-M) do not throttle it; each order is cancelled
  (untimed) once its NEW has arrived.

* ``--sustained SECONDS`` (instead of the legs above): futures order queries as fast as one
  caller can issue them for SECONDS against an emulator whose REQUEST_WEIGHT limit is lowered
  to ``--weight-limit`` (600 a minute by default), so the adapter's limiter must hold requests
  back within a short run. Reports the achieved rate, the limit and the 429/418 answers
  (expected 0). The limit is per fixed minute, so a run shorter than a minute shows the
  burst the first window allows; from a minute on the rate settles at the limit.

Run::

    .venv/bin/python benchmarks/binance_roundtrip.py [--orders 500] [--market futures|spot]
    .venv/bin/python benchmarks/binance_roundtrip.py --sustained 20 [--weight-limit 600]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.binance.errors import RateLimited  # noqa: E402
from adapters.binance.exchange import BinanceExchange  # noqa: E402
from adapters.binance.rest import BinanceRestClient  # noqa: E402
from adapters.binance.user_data import FuturesUserDataStream, RestListenKeyApi  # noqa: E402
from adapters.binance.ws_parsers import UserDataMessage, UserEvents  # noqa: E402
from adapters.simulated.emulator.limits import RateLimits  # noqa: E402
from adapters.simulated.emulator.server import start_emulator  # noqa: E402
from adapters.simulated.emulator.state import EmulatorState  # noqa: E402
from application.ports.exchange import OrderRequest  # noqa: E402
from bootstrap.instruments import builtin_instrument  # noqa: E402
from domain.candles import Candle  # noqa: E402
from domain.enums import MarketType, OrderType, Side, TimeInForce  # noqa: E402
from domain.events import OrderAccepted, OrderCanceled  # noqa: E402

D = Decimal


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


PRICE = D("50000")


def _state(market: MarketType) -> EmulatorState:
    instrument = builtin_instrument(market, "BTCUSDT")
    candle = Candle(1_704_067_200_000, PRICE, PRICE, PRICE, PRICE, D("1000"), 1_704_067_259_999)
    balances = {instrument.quote_asset: D("100000000")}
    if not market.is_futures:
        balances[instrument.base_asset] = D("100")
    state = EmulatorState([instrument], "k", "s", [candle], balances={market: balances})
    state.advance(1)
    return state


async def user_data_leg(orders: int) -> None:
    """Futures place -> REST ack and place -> NEW on the user-data stream (fresh emulator)."""
    market = MarketType.USDM_FUTURES
    instrument = builtin_instrument(market, "BTCUSDT")
    runner, url = await start_emulator(_state(market))
    client = BinanceRestClient("futures", url, "k", "s")
    exchange = BinanceExchange(client)
    arrived: dict[str, float] = {}
    waiting: dict[str, asyncio.Event] = {}

    async def on_message(message: UserDataMessage) -> None:
        if not isinstance(message, UserEvents):
            return
        now = time.perf_counter()
        for event in message.events:
            if isinstance(event, OrderAccepted):
                arrived.setdefault(event.client_order_id, now)
                signal = waiting.get(event.client_order_id)
                if signal is not None:
                    signal.set()

    stream = FuturesUserDataStream(
        RestListenKeyApi(client), url.replace("http://", "ws://"), on_message
    )
    task = asyncio.create_task(stream.run())
    try:
        await exchange.instrument("BTCUSDT")
        while stream.connection.connections < 1:
            await asyncio.sleep(0.005)
        ack_ms: list[float] = []
        new_ms: list[float] = []
        bid = instrument.round_price(PRICE * D("0.9"))
        for i in range(orders):
            cid = f"ud-{i}"
            request = OrderRequest(
                cid, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), bid, TimeInForce.GTC
            )
            waiting[cid] = asyncio.Event()
            started = time.perf_counter()
            events = await exchange.place_order(request)
            ack_ms.append(time.perf_counter() - started)
            assert isinstance(events[0], OrderAccepted), events
            await asyncio.wait_for(waiting[cid].wait(), 5)
            new_ms.append(arrived[cid] - started)
            del waiting[cid]
            events = await exchange.cancel_order("BTCUSDT", cid)
            assert isinstance(events[0], OrderCanceled), events
        before_ack = sum(1 for a, n in zip(ack_ms, new_ms, strict=True) if n < a)
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)
        await exchange.aclose()
        await runner.cleanup()
    print(
        f"{market.value} user data: place->ack p50 {_pct(ack_ms, 0.5):.2f} ms p99 "
        f"{_pct(ack_ms, 0.99):.2f} ms; place->ORDER_TRADE_UPDATE NEW p50 "
        f"{_pct(new_ms, 0.5):.2f} ms p99 {_pct(new_ms, 0.99):.2f} ms over {orders} orders "
        f"(NEW before the REST ack for {before_ack})"
    )


async def main_async(orders: int, market: MarketType, reads: int) -> None:
    instrument = builtin_instrument(market, "BTCUSDT")
    price = PRICE
    state = _state(market)
    runner, url = await start_emulator(state)
    client = BinanceRestClient("futures" if market.is_futures else "spot", url, "k", "s")
    exchange = BinanceExchange(client)
    try:
        place_ms: list[float] = []
        cancel_ms: list[float] = []
        bid = instrument.round_price(price * D("0.9"))
        for i in range(orders):
            request = OrderRequest(
                f"rt-{i}", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.001"), bid, TimeInForce.GTC
            )
            started = time.perf_counter()
            events = await exchange.place_order(request)
            place_ms.append(time.perf_counter() - started)
            assert isinstance(events[0], OrderAccepted), events
            started = time.perf_counter()
            events = await exchange.cancel_order("BTCUSDT", request.client_order_id)
            cancel_ms.append(time.perf_counter() - started)
            assert isinstance(events[0], OrderCanceled), events
        started = time.perf_counter()
        for i in range(reads):
            await exchange.query_order("BTCUSDT", f"rt-{i % orders}")
        read_seconds = time.perf_counter() - started
    finally:
        await exchange.aclose()
        await runner.cleanup()
    print(
        f"{market.value}: place->ack p50 {_pct(place_ms, 0.5):.2f} ms p99 "
        f"{_pct(place_ms, 0.99):.2f} ms; cancel->ack p50 {_pct(cancel_ms, 0.5):.2f} ms p99 "
        f"{_pct(cancel_ms, 0.99):.2f} ms over {orders} orders (mean place "
        f"{statistics.mean(place_ms) * 1000:.2f} ms)"
    )
    print(
        f"{market.value}: {reads / read_seconds:,.0f} order queries/s in a burst "
        f"({reads} queries in {read_seconds:.2f} s, below the weight limit)"
    )
    if market.is_futures:
        await user_data_leg(orders)
    else:
        print("spot: user-data leg not measured (futures listenKey stream only)")


async def sustained_async(seconds: float, weight_limit: int) -> None:
    """Order queries for ``seconds`` under a lowered futures weight limit; counts 429s."""
    market = MarketType.USDM_FUTURES
    instrument = builtin_instrument(market, "BTCUSDT")
    candle = Candle(1_704_067_200_000, PRICE, PRICE, PRICE, PRICE, D("1000"), 1_704_067_259_999)
    limits = RateLimits(weight_limit, 300, 1200, "1M")
    state = EmulatorState(
        [instrument],
        "k",
        "s",
        [candle],
        balances={market: {"USDT": D("100000000")}},
        futures_limits=limits,
    )
    state.advance(1)
    runner, url = await start_emulator(state)
    client = BinanceRestClient("futures", url, "k", "s")
    exchange = BinanceExchange(client)
    rate_limited = 0
    queries = 0
    held_s = 0.0
    try:
        await exchange.instrument("BTCUSDT")  # exchangeInfo: the limiter learns the limit
        request = OrderRequest(
            "sus-1",
            "BTCUSDT",
            Side.BUY,
            OrderType.LIMIT,
            D("0.001"),
            instrument.round_price(PRICE * D("0.9")),
            TimeInForce.GTC,
        )
        assert isinstance((await exchange.place_order(request))[0], OrderAccepted)
        started = sent = time.perf_counter()
        deadline = started + seconds
        try:
            async with asyncio.timeout(seconds):
                while True:
                    sent = time.perf_counter()
                    try:
                        await exchange.query_order("BTCUSDT", "sus-1")
                        queries += 1
                    except RateLimited:
                        rate_limited += 1
                    held_s = max(held_s, time.perf_counter() - sent)
        except TimeoutError:
            held_s = max(held_s, deadline - sent)  # the call the deadline interrupted
        elapsed = min(time.perf_counter(), deadline) - started
    finally:
        await exchange.aclose()
        await runner.cleanup()
    print(
        f"futures sustained: {queries} order queries in {elapsed:.1f} s = "
        f"{queries / elapsed:,.1f} queries/s (weight 1 each); emulator limit {weight_limit} "
        f"weight/min = {weight_limit / 60:.1f}/s long-run; 429/418 answers: {rate_limited}; "
        f"longest single call (limiter hold) {held_s:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--market", choices=["futures", "spot"], default="futures")
    parser.add_argument("--sustained", type=float, metavar="SECONDS", default=None)
    parser.add_argument("--weight-limit", type=int, default=600)
    args = parser.parse_args()
    if args.sustained is not None:
        asyncio.run(sustained_async(args.sustained, args.weight_limit))
        return 0
    market = MarketType.USDM_FUTURES if args.market == "futures" else MarketType.SPOT
    asyncio.run(main_async(args.orders, market, args.reads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
