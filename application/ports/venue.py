"""Venue port: where ``gridbot run`` trades, and how what it sees reaches the engine.

A live venue (Binance, its testnet, the emulator) and a paper venue (the in-process
simulated exchange replaying klines) differ in everything but this: they offer an
exchange, a clock and an instrument, and once started they deliver closed candles,
execution events and "reconcile now" to the engine's single input queue. The engine
never learns which one it trades on; the configuration (``exchange.kind``) chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, Protocol

from application.ports.clock import Clock
from application.ports.exchange import ExchangePort, ReplayVenue
from domain.candles import Candle
from domain.events import ExecutionEvent
from domain.instruments import Instrument


class ReplayFailed(Exception):
    """The replayed data could not be read further (a malformed row, a truncated gzip...).

    Raised on the engine's thread in place of the next candle, so the shell stops, flattens
    and exits with a data error instead of waiting forever for candles that never come.

    Attributes:
        cause: What the candle source raised (its message names file, line and field).
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class EngineInputs(Protocol):
    """The engine's input queue as a venue sees it (callable from any thread).

    Every input is handled on the engine's thread, one at a time, in arrival order.
    """

    def candle(self, candle: Candle, handled: Callable[[], None] | None = None) -> None:
        """Queue a closed candle; ``handled`` runs once the engine is done with it.

        A failure while handling it stops the engine.
        """
        ...

    def events(self, events: Sequence[ExecutionEvent]) -> None:
        """Queue execution events that arrived on their own (a user-data stream)."""
        ...

    def request_resync(self) -> None:
        """Queue a reconciliation nobody waits for (a failure stops the engine)."""
        ...

    def resync(self) -> Future[Any]:
        """Queue a reconciliation; the future ends with it (a stream reconnect waits)."""
        ...

    def end_of_data(self) -> None:
        """The candle source is exhausted (a finite replay)."""
        ...

    def fail(self, error: Exception) -> None:
        """The venue cannot deliver any more: the engine stops by raising ``error``."""
        ...


class LiveVenue(Protocol):
    """What ``gridbot run`` needs from a venue, whatever it is.

    Attributes:
        name: Shown in status and logs (``simulated``, ``binance testnet``...).
        exchange: The synchronous exchange port the session trades through.
        clock: Market time (the replay's, or the exchange's server time).
        instrument: The traded instrument's filters.
        initial_balances: The account's balances at the start of this run.
        reference_price: Price of the first candle, zero when the venue cannot know it.
        first_open_time: Market time the run starts at.
        source: Where the candles come from (a file, an URL).
        replay: The in-process exchange when it replays candles itself, else None.
    """

    name: str
    exchange: ExchangePort
    clock: Clock
    instrument: Instrument
    initial_balances: dict[str, Decimal]
    reference_price: Decimal
    first_open_time: int
    source: str
    replay: ReplayVenue | None

    def start(self, inputs: EngineInputs) -> None:
        """Begin delivering candles and events (after the engine has reconciled)."""
        ...

    def stop(self) -> None:
        """Stop delivering (before the final flatten, which still uses ``exchange``)."""
        ...

    def shutdown(self, budget: float) -> None:
        """The final flatten begins: wait out an unavailable exchange for ``budget`` s."""
        ...

    def close(self) -> None:
        """Release connections (last)."""
        ...

    def last_price(self) -> Decimal | None:
        """The last known price, if any."""
        ...

    def history(self, minutes: int) -> list[Candle]:
        """The last ``minutes`` closed 1m candles before now (signal warm-up); may be empty."""
        ...
