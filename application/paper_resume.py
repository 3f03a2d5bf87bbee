"""Where a paper account resumes: its balances and the replay's next candle, from the journal.

The in-process simulated exchange keeps nothing between runs. When the journal ends flat
with no open order (a stop that flattened), the account is just balances: the new
simulated account starts with them and the replay continues after the last candle traded.
Otherwise (a kill, or a stop that kept the book) it cannot be recreated, and start-up
reconciliation reports the difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

from application.account_state import account_from_start
from application.ports.market_data import CandleGap, HistoricalCandles
from application.ports.repository import OrderRepository
from application.session import ACCOUNT_KEY, STRATEGY_KEY
from domain.candles import Candle
from domain.instruments import Instrument


def resume_point(
    journal: OrderRepository, instrument: Instrument
) -> tuple[dict[str, Decimal], int] | None:
    """Balances and last candle's open time to resume from, when the journal allows it.

    Returns:
        None when the account cannot be recreated (open orders, or an open futures
        position); else the balances and the last traded candle's open time (-1: none).
    """
    stored = journal.load_state(ACCOUNT_KEY)
    if stored is None or journal.open_orders():
        return None
    account = account_from_start(journal, instrument, json.loads(stored))
    if account.position.quantity and instrument.is_futures:
        return None
    balances = {instrument.quote_asset: account.cash}
    if not instrument.is_futures:
        balances[instrument.base_asset] = account.base_balance
    state = journal.load_state(STRATEGY_KEY)
    last = json.loads(state).get("last_candle") if state is not None else None
    return balances, int(last) if last is not None else -1


class CandlesAfter:
    """A candle source without the candles up to ``last_open_time`` (already traded)."""

    def __init__(self, source: HistoricalCandles, last_open_time: int) -> None:
        self._source = source
        self._last = last_open_time

    @property
    def symbol(self) -> str:
        """Instrument symbol of the series."""
        return self._source.symbol

    @property
    def gaps(self) -> list[CandleGap]:
        """The source's gaps."""
        return self._source.gaps

    def __iter__(self) -> Iterator[Candle]:
        return (c for c in self._source if c.open_time > self._last)


def candles_after(source: HistoricalCandles, last_open_time: int) -> HistoricalCandles:
    """``source`` without what was traded already (all of it when ``last_open_time`` < 0)."""
    return CandlesAfter(source, last_open_time) if last_open_time >= 0 else source
