"""A candle source whose first candle is read before the run starts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from application.ports.market_data import HistoricalCandles
from domain.candles import Candle


class PeekedCandles:
    """A candle source whose first candle has been read already (to price initial holdings).

    Backtests and paper runs need the first open before the first decision: it prices a
    base-asset holding and is the market time a replay starts at.
    """

    def __init__(self, source: HistoricalCandles) -> None:
        self.source = source
        self._iterator: Iterator[Candle] = iter(source)
        self.first: Candle | None = next(self._iterator, None)

    def __iter__(self) -> Iterator[Candle]:
        head = [self.first] if self.first is not None else []
        return itertools.chain(head, self._iterator)
