"""The Binance adapter, talking HTTP to the loopback emulator, as a venue for the contract.

The adapter is asynchronous (it implements ``AsyncExchangePort``); the contract suite is
written against the synchronous ``ExchangePort``. :class:`SyncBridge` runs one event loop in a
background thread — the emulator's server and the adapter's HTTP client both live on it — and
turns every port call into a blocking call, so the very same contract applies to both.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from domain.candles import Candle
from domain.instruments import Instrument

T = TypeVar("T")
API_KEY = "contract-key"
API_SECRET = "contract-secret"


class LoopThread:
    """An asyncio loop on a daemon thread; :meth:`run` blocks until a coroutine finishes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class SyncBridge:
    """A blocking facade over an ``AsyncExchangePort`` (every attribute call is awaited)."""

    def __init__(self, exchange: BinanceExchange, loop: LoopThread, state: EmulatorState) -> None:
        self._exchange = exchange
        self._loop = loop
        self.state = state

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._exchange, name)

        def call(*args: Any) -> Any:
            return self._loop.run(method(*args))

        return call


def build(
    instrument: Instrument,
    balances: dict[str, Decimal],
    price_candle: Candle,
    later: Sequence[Candle] = (),
) -> tuple[SyncBridge, Callable[[], None]]:
    """Start an emulator holding ``instrument`` and a Binance adapter pointed at it.

    ``later`` candles are replayed one by one by :func:`advance`, after the price candle.
    """
    loop = LoopThread()
    state = EmulatorState(
        [instrument],
        API_KEY,
        API_SECRET,
        [price_candle, *later],
        balances={instrument.market: balances},
    )
    runner, base_url = loop.run(start_emulator(state))
    market = "futures" if instrument.market.is_futures else "spot"
    client = BinanceRestClient(market, base_url, API_KEY, API_SECRET)
    exchange = BinanceExchange(client)

    def cleanup() -> None:
        loop.run(exchange.aclose())
        loop.run(runner.cleanup())
        loop.stop()

    return SyncBridge(exchange, loop, state), cleanup


def advance(bridge: Any, candle: Candle) -> None:
    """Replay the next candle on the emulator (it must be ``candle``, given to :func:`build`)."""
    assert isinstance(bridge, SyncBridge)
    assert bridge.state.advance(1) == 1
    assert bridge.state.history[-1] == candle


def set_price(bridge: Any, candle: Candle) -> None:
    """Replay the reference candle on the emulator: its close becomes the last price."""
    assert isinstance(bridge, SyncBridge)
    assert bridge.state.advance(1) == 1
