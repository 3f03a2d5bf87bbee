"""Order round trips through the Binance REST adapter and the emulator on loopback.

Starts the emulator in-process (one asyncio loop serves both sides over real HTTP on
127.0.0.1), then through :class:`BinanceExchange`:

* place -> ack latency for resting LIMIT orders, and cancel -> ack latency (p50 / p99);
* order queries per second in a burst that stays below the per-minute weight limit (so the
  adapter's limiter does not have to hold requests back; the sustained rate under the limit is
  the limit itself, e.g. 2,400 weight a minute on USD-M).

The user-data event leg (place -> ack -> WebSocket event) is not measured yet: the streams
are not wired. Run::

    .venv/bin/python benchmarks/binance_roundtrip.py [--orders 500] [--market futures|spot]
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

from adapters.binance.exchange import BinanceExchange  # noqa: E402
from adapters.binance.rest import BinanceRestClient  # noqa: E402
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


async def main_async(orders: int, market: MarketType, reads: int) -> None:
    instrument = builtin_instrument(market, "BTCUSDT")
    price = D("50000")
    candle = Candle(1_704_067_200_000, price, price, price, price, D("1000"), 1_704_067_259_999)
    balances = {instrument.quote_asset: D("100000000")}
    if not market.is_futures:
        balances[instrument.base_asset] = D("100")
    state = EmulatorState([instrument], "k", "s", [candle], balances={market: balances})
    state.advance(1)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--market", choices=["futures", "spot"], default="futures")
    args = parser.parse_args()
    market = MarketType.USDM_FUTURES if args.market == "futures" else MarketType.SPOT
    asyncio.run(main_async(args.orders, market, args.reads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
