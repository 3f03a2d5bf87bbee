"""The market a validation run replays: a window of real klines, its past, an optional shock.

The emulator serves the ``history_minutes`` before the replay start as the past (klines,
funding, mark price), as Binance does, so the bot's first start fits its signal weights on
real history instead of falling back for "too little data". The window is cut here, from
the data's candles, so the emulator is handed exactly the history and the ``candles``
market minutes the run covers.

A **market shock** (``--shock``) is a seeded, deterministic stress on top of the real data:
from a candle chosen by the seed in the middle half of the run, every price (open, high,
low, close) is scaled down linearly over ``SHOCK_RAMP_MINUTES`` to ``1 - depth`` and stays
scaled for the rest of the run, so the market falls ``depth`` in an hour and trades at that
lower level afterwards (a crash, not a wick). Volumes are unchanged. It exists because the
bot at default settings is conservative (the adaptive grid's worst-case exposure is about
its equity): a real window rarely costs it the 5 % that the first drawdown brake needs, and
a validation run must show the brakes working under faults and kills.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from domain.candles import Candle

MINUTE_MS = 60_000
#: Minutes over which a shock takes the market down to its full depth.
SHOCK_RAMP_MINUTES = 60
ONE = Decimal(1)
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Shock:
    """A seeded crash laid over the replay.

    Attributes:
        at_candle: Replay candle (0-based) the fall starts at.
        depth: Fraction the prices end lower by (0.15: 15 %).
        ramp: Candles the fall takes.
    """

    at_candle: int
    depth: Decimal
    ramp: int = SHOCK_RAMP_MINUTES

    @classmethod
    def seeded(cls, seed: int, candles: int, depth: Decimal) -> Shock:
        """The shock of ``seed``: it starts somewhere in the middle half of the run.

        Raises:
            ValueError: ``depth`` is not in (0, 1), or the run is too short for the ramp.
        """
        if not ZERO < depth < ONE:
            raise ValueError(f"--shock must be a fraction in (0, 1), got {depth}")
        if candles < 4 * SHOCK_RAMP_MINUTES:
            raise ValueError(
                f"a shock needs at least {4 * SHOCK_RAMP_MINUTES} candles (its ramp is "
                f"{SHOCK_RAMP_MINUTES} minutes in the middle half of the run), got {candles}"
            )
        rng = random.Random(f"shock-{seed}")
        start = rng.randint(candles // 4, candles * 3 // 4 - SHOCK_RAMP_MINUTES)
        return cls(start, depth)

    def factor(self, index: int) -> Decimal:
        """The price multiplier of replay candle ``index``."""
        if index < self.at_candle:
            return ONE
        done = min(self.ramp, index - self.at_candle + 1)
        return ONE - self.depth * done / self.ramp

    def to_json(self) -> dict[str, object]:
        """For the report."""
        return {"at_candle": self.at_candle, "depth": str(self.depth), "ramp": self.ramp}


def replay_window(
    candles: Iterable[Candle],
    start_ms: int | None,
    history_minutes: int,
    count: int,
    shock: Shock | None = None,
    tick: Decimal | None = None,
) -> Iterator[Candle]:
    """The history before the replay start and ``count`` candles from it, shocked if asked.

    Args:
        candles: The data, oldest first.
        start_ms: Open time of the first replayed candle; None: the data's first candle +
            ``history_minutes`` (the emulator's own default).
        history_minutes: Minutes before the start passed on as history.
        count: Replayed candles (the run's market minutes).
        shock: A crash laid over the replayed candles (never over the history).
        tick: Price tick the shocked prices are rounded to (required with ``shock``).
    """
    it = iter(candles)
    start = start_ms
    earliest = None if start is None else start - history_minutes * MINUTE_MS
    index = 0
    for candle in it:
        if start is None:
            start = candle.open_time + history_minutes * MINUTE_MS
            earliest = candle.open_time
        assert earliest is not None
        if candle.open_time < earliest:
            continue
        if candle.open_time < start:
            yield candle
            continue
        if index >= count:
            return
        yield _shocked(candle, shock.factor(index), tick) if shock is not None else candle
        index += 1


def _shocked(candle: Candle, factor: Decimal, tick: Decimal | None) -> Candle:
    if factor == ONE:
        return candle
    if tick is None:
        raise ValueError("a shocked replay needs the instrument's tick size")

    def scale(price: Decimal) -> Decimal:
        return ((price * factor) / tick).quantize(ONE, rounding=ROUND_HALF_EVEN) * tick

    return candle._replace(
        open=scale(candle.open),
        high=scale(candle.high),
        low=scale(candle.low),
        close=scale(candle.close),
    )
