"""Trades of the net position, matched first-in first-out, and their statistics.

A grid's own round trips cannot lose (the take-profit is one step away), so they say
nothing about whether the bot makes money. What does is the *net position*: every fill
moves it, and a fill that reduces it closes the oldest open lots first (FIFO). Each closed
piece of a lot is a trade: opened when the lot was, closed by that fill, its PnL net of the
share of both fills' fees. Lots still open at the end are marked at the last price (their
exit fee is not charged: nothing was sold). Funding is a cost of holding, not of a trade:
it is reported on its own.

Everything here is exact Decimal arithmetic.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal(0)
INFINITY = Decimal("Infinity")


class PositionChange(NamedTuple):
    """One fill as seen by the net position.

    Attributes:
        timestamp: Execution time, ms.
        quantity: Signed change of the position (base asset): + buys, - sells. On spot a
            commission taken in the base asset is already subtracted.
        price: Execution price.
        fee: Commission valued in the quote asset.
    """

    timestamp: int
    quantity: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed (or marked) piece of the net position.

    Attributes:
        entry_time: When the lot was opened, ms.
        exit_time: When it was closed (or the end of the run for a marked lot), ms.
        quantity: Signed size: positive for a long, negative for a short.
        entry_price: Price the lot was opened at.
        exit_price: Price it was closed (or marked) at.
        fees: Quote value of the fees charged to this piece (entry share + exit share).
        pnl: ``quantity * (exit - entry) - fees``.
        closed: False for a lot still open at the end, marked at the last price.
    """

    entry_time: int
    exit_time: int
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal
    closed: bool

    @property
    def duration_ms(self) -> int:
        """How long the piece was held."""
        return self.exit_time - self.entry_time


class _Lot:
    __slots__ = ("fee", "price", "quantity", "time")

    def __init__(self, time: int, quantity: Decimal, price: Decimal, fee: Decimal) -> None:
        self.time = time
        self.quantity = quantity  # signed, never zero while queued
        self.price = price
        self.fee = fee  # entry fee not yet charged to a trade


class FifoMatcher:
    """Matches the net position's changes into trades as they happen (exact, streaming).

    Only the open lots are kept, so a run of any length needs memory for its open position
    only, not for its history.

    Args:
        opening: A position held before the first change (spot: the base balance the
            account started with, at the first price, fee zero), or None.
    """

    __slots__ = ("_lots",)

    def __init__(self, opening: PositionChange | None = None) -> None:
        self._lots: deque[_Lot] = deque()
        if opening is not None and opening.quantity:
            self._lots.append(_Lot(opening.timestamp, opening.quantity, opening.price, opening.fee))

    def add(self, change: PositionChange) -> list[Trade]:
        """Apply one fill; returns the trades it closed (oldest lots first)."""
        remaining = change.quantity
        if not remaining:
            return []
        lots = self._lots
        trades: list[Trade] = []
        size = abs(remaining)
        exit_fee = change.fee
        while remaining and lots and (lots[0].quantity > 0) != (remaining > 0):
            lot = lots[0]
            closed = min(abs(lot.quantity), abs(remaining))
            signed = closed if lot.quantity > 0 else -closed
            entry_share = lot.fee * closed / abs(lot.quantity)
            exit_share = exit_fee * closed / size
            fees = entry_share + exit_share
            trades.append(
                Trade(
                    lot.time,
                    change.timestamp,
                    signed,
                    lot.price,
                    change.price,
                    fees,
                    signed * (change.price - lot.price) - fees,
                    True,
                )
            )
            lot.fee -= entry_share
            lot.quantity -= signed
            remaining += signed
            if not lot.quantity:
                lots.popleft()
        if remaining:
            lots.append(
                _Lot(change.timestamp, remaining, change.price, exit_fee * abs(remaining) / size)
            )
        return trades

    def marked(self, end_time: int, end_price: Decimal) -> list[Trade]:
        """The open lots as trades marked at ``end_price`` (the matcher is left unchanged).

        A marked lot is charged its remaining entry fee only: nothing was sold.
        """
        return [
            Trade(
                lot.time,
                max(end_time, lot.time),
                lot.quantity,
                lot.price,
                end_price,
                lot.fee,
                lot.quantity * (end_price - lot.price) - lot.fee,
                False,
            )
            for lot in self._lots
        ]


def fifo_trades(
    changes: Iterable[PositionChange],
    end_time: int,
    end_price: Decimal | None,
    opening: PositionChange | None = None,
) -> list[Trade]:
    """Match the net position's changes into FIFO trades.

    Args:
        changes: Fills in execution order.
        end_time: End of the run (ms), the exit time of marked lots.
        end_price: Last price, to mark open lots; None leaves them out.
        opening: A position held before the first fill (see :class:`FifoMatcher`).

    Returns:
        The trades in the order they closed, then the marked open lots (oldest first).
    """
    matcher = FifoMatcher(opening)
    trades: list[Trade] = []
    for change in changes:
        trades.extend(matcher.add(change))
    if end_price is not None:
        trades.extend(matcher.marked(end_time, end_price))
    return trades


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Statistics of FIFO trades.

    Attributes:
        count: Trades (closed pieces plus marked open lots).
        open_marked: How many of them are open lots marked at the end.
        wins: Trades with positive PnL.
        losses: Trades with negative PnL (zero PnL is neither).
        win_rate: ``wins / count``; None without trades.
        gross_profit: Sum of winning PnL.
        gross_loss: Sum of losing PnL, as a positive amount.
        net_pnl: Sum of all trade PnL.
        profit_factor: ``gross_profit / gross_loss``; ``Infinity`` when something was won and
            nothing lost; None without a win or a loss.
        average_pnl: ``net_pnl / count``; None without trades.
        average_duration_ms: Mean holding time; None without trades.
        median_duration_ms: Median holding time; None without trades.
    """

    count: int
    open_marked: int
    wins: int
    losses: int
    win_rate: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal
    net_pnl: Decimal
    profit_factor: Decimal | None
    average_pnl: Decimal | None
    average_duration_ms: float | None
    median_duration_ms: float | None


class TradeTally:
    """Running statistics of trades, fed one trade at a time (keeps durations only)."""

    __slots__ = ("count", "durations", "gross_loss", "gross_profit", "losses", "open", "wins")

    def __init__(self) -> None:
        self.count = 0
        self.open = 0
        self.wins = 0
        self.losses = 0
        self.gross_profit = ZERO
        self.gross_loss = ZERO
        self.durations: list[int] = []

    def add(self, trade: Trade) -> None:
        """Count one trade."""
        self.count += 1
        if not trade.closed:
            self.open += 1
        pnl = trade.pnl
        if pnl > 0:
            self.wins += 1
            self.gross_profit += pnl
        elif pnl < 0:
            self.losses += 1
            self.gross_loss -= pnl
        self.durations.append(trade.duration_ms)

    def stats(self, more: Iterable[Trade] = ()) -> TradeStats:
        """The statistics so far, plus ``more`` trades (e.g. marked lots), without keeping them."""
        tally = TradeTally()
        tally.count, tally.open, tally.wins, tally.losses = (
            self.count,
            self.open,
            self.wins,
            self.losses,
        )
        tally.gross_profit, tally.gross_loss = self.gross_profit, self.gross_loss
        tally.durations = list(self.durations)
        for trade in more:
            tally.add(trade)
        return tally._summary()

    def _summary(self) -> TradeStats:
        count = self.count
        profit, loss = self.gross_profit, self.gross_loss
        net = profit - loss
        durations = self.durations
        return TradeStats(
            count=count,
            open_marked=self.open,
            wins=self.wins,
            losses=self.losses,
            win_rate=Decimal(self.wins) / count if count else None,
            gross_profit=profit,
            gross_loss=loss,
            net_pnl=net,
            profit_factor=profit / loss if loss else (INFINITY if profit else None),
            average_pnl=net / count if count else None,
            average_duration_ms=statistics.fmean(durations) if durations else None,
            median_duration_ms=float(statistics.median(durations)) if durations else None,
        )


def trade_stats(trades: Iterable[Trade]) -> TradeStats:
    """Win rate, profit factor, PnL and holding time of ``trades``."""
    tally = TradeTally()
    for trade in trades:
        tally.add(trade)
    return tally.stats()
