"""Paper trading: the in-process simulated exchange as the venue of ``gridbot run``.

It replays the configured kline file or the built-in generated market, paced in real
time or faster by a :class:`~adapters.simulated.replay_pacer.ReplayPacer`. The exchange
starts empty on every run; the composition decides its balances and ids (resuming a flat
paper account from the journal).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.replay_pacer import ReplayPacer
from application.ports.venue import EngineInputs
from domain.candles import Candle
from domain.instruments import Instrument

ZERO = Decimal(0)


class ReplayClock:
    """Market time: the simulated exchange's, or the replay's start before its first candle."""

    def __init__(self, exchange: SimulatedExchange, start_ms: int) -> None:
        self._exchange = exchange
        self._start = start_ms

    def now_ms(self) -> int:
        """Milliseconds of market time (never 0 once a replay has a first candle)."""
        return self._exchange.now_ms() or self._start


class PaperVenue:
    """:class:`~application.ports.venue.LiveVenue` over a :class:`SimulatedExchange`.

    Args:
        exchange: The simulated exchange (it also replays: it sees every candle first).
        instrument: Its instrument.
        candles: The candles to replay.
        first: The first of them (None: no data).
        initial_balances: The configured balances (what the run reports as its start).
        source: Where the candles come from (the config's source, for the journal).
        speed: Replay speed (1: real time, 60: a candle a second, 0: as fast as possible).
        max_candles: Stop after that many candles (0: all).
    """

    name = "simulated"

    def __init__(
        self,
        exchange: SimulatedExchange,
        instrument: Instrument,
        candles: Iterable[Candle],
        first: Candle | None,
        initial_balances: dict[str, Decimal],
        source: str,
        speed: float,
        max_candles: int,
    ) -> None:
        self.exchange = exchange
        self.replay = exchange
        self.instrument = instrument
        self.initial_balances = dict(initial_balances)
        self.reference_price = first.open if first is not None else ZERO
        self.first_open_time = first.open_time if first is not None else 0
        self.clock = ReplayClock(exchange, self.first_open_time)
        self.source = source
        self._candles = candles
        self._speed = speed
        self._max_candles = max_candles
        self._pacer: ReplayPacer | None = None

    def start(self, inputs: EngineInputs) -> None:
        """Begin the replay."""
        self._pacer = ReplayPacer(self._candles, self._speed, self._max_candles, inputs)
        self._pacer.start()

    def stop(self) -> None:
        """Stop the replay."""
        if self._pacer is not None:
            self._pacer.stop()

    def shutdown(self, budget: float) -> None:
        """Nothing to wait out: the simulated exchange is always available."""

    def close(self) -> None:
        """Nothing to release (the exchange lives in this process)."""

    def last_price(self) -> Decimal | None:
        """The last close the exchange saw."""
        return self.exchange.last_price

    def history(self, minutes: int) -> list[Candle]:
        """No history before the replay's first candle."""
        return []
