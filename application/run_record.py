"""The run recorder: what a backtest did, candle by candle, for metrics and reports.

The backtest loop feeds it through narrow hooks: :meth:`RunRecorder.on_candle` once per
candle, :meth:`RunRecorder.on_event` for each execution event the strategy sees,
:meth:`RunRecorder.on_commands` for each batch of commands sent, and
:meth:`RunRecorder.on_decision` when the signal decides. The per-candle hook only appends
the close time and the close as a float (about half a microsecond: the backtest runs
100,000 candles a second); the equity curve is rebuilt afterwards from the exact fills and
funding (:meth:`domain.metrics.summary.RunRecord.equity_curve`). Money stays Decimal.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from application.ports.clock import Clock
from domain.candles import Candle
from domain.commands import CancelAllOrders, CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.enums import Liquidity, Side
from domain.events import (
    ExecutionEvent,
    FundingPaid,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from domain.instruments import Instrument
from domain.metrics.activity import FUTURES_LIMITS, SPOT_LIMITS, FillTally, OrderRateLimits
from domain.metrics.summary import FillColumns, RunRecord
from domain.metrics.trades import FifoMatcher, PositionChange, Trade, TradeTally
from domain.orders import Fill, Order, OrderStatus
from domain.signals.decision import DecisionRecord

ZERO = Decimal(0)
_ENDED = (OrderCanceled, OrderExpired, OrderRejected)


class RunTotals(Protocol):
    """The exact end-of-run figures the backtest report carries."""

    @property
    def final_equity(self) -> Decimal:
        """Equity at the last close."""
        ...

    @property
    def max_drawdown(self) -> Decimal:
        """Deepest fall from a peak, observed per candle, exact."""
        ...

    @property
    def max_drawdown_amount(self) -> Decimal:
        """Largest fall from a peak in quote, exact."""
        ...

    @property
    def last_price(self) -> Decimal | None:
        """Last close."""
        ...


class Decisions:
    """The signal's decisions, one row per decided candle (floats: they are scores)."""

    __slots__ = ("long_conviction", "open_time", "regime", "short_conviction")

    def __init__(self) -> None:
        self.open_time = array("q")
        self.long_conviction = array("d")
        self.short_conviction = array("d")
        self.regime: list[str] = []


class RunRecorder:
    """Collects a run's candles, fills, funding, requests and decisions.

    Args:
        instrument: The traded instrument (values commissions, tells spot from futures).
        clock: The venue's clock: stamps each request.
        initial_equity: Equity at the start, exact.
        opening_position: Position held at the start (spot: the base balance).
        opening_price: Price the opening position is valued at (the first candle's open).
        opening_time: When the opening position counts as bought (the first candle's open).
        limits: The venue's order-rate limits (default: Binance's for the market).
        keep_trades: Keep every FIFO trade (for a report that lists or draws them); the
            statistics never need them.
    """

    def __init__(
        self,
        instrument: Instrument,
        clock: Clock,
        initial_equity: Decimal,
        opening_position: Decimal = ZERO,
        opening_price: Decimal = ZERO,
        opening_time: int = 0,
        limits: OrderRateLimits | None = None,
        keep_trades: bool = False,
    ) -> None:
        self._base = instrument.base_asset
        self._quote = instrument.quote_asset
        self._clock = clock
        self.initial_equity = initial_equity
        self.opening_position = opening_position
        self.opening_price = opening_price
        self.limits = limits or (FUTURES_LIMITS if instrument.is_futures else SPOT_LIMITS)
        self.times = array("q")
        self.prices = array("d")
        self.fill_samples = array("q")
        self.fill_times = array("q")
        self.fill_prices = array("d")
        self.fill_changes = array("d")
        self.fill_cash = array("d")
        self.fill_maker = array("b")
        self.fill_tally = FillTally()
        self.trade_tally = TradeTally()
        self.trades: list[Trade] | None = [] if keep_trades else None
        opening = None
        if opening_position:
            opening = PositionChange(opening_time, opening_position, opening_price, ZERO)
        self._matcher = FifoMatcher(opening)
        self.funding: list[tuple[int, Decimal]] = []
        self.funding_samples = array("q")
        self.new = array("q")
        self.modify = array("q")
        self.cancel = array("q")
        self.filled_orders = 0
        self.ended_orders = 0
        # Orders counted as filled during the current candle: two fills of one order applied
        # in one batch both see it FILLED. Cleared every candle, so it stays tiny.
        self._filled_ids: set[str] = set()
        self.decisions = Decisions()
        # Bound once: the per-candle hook is two appends and one conversion.
        self._time = self.times.append
        self._price = self.prices.append

    # Hooks ----------------------------------------------------------------------------
    def on_candle(self, candle: Candle) -> None:
        """After the candle's events and decisions: its close time and close."""
        if self._filled_ids:
            self._filled_ids.clear()
        self._time(candle.close_time)
        self._price(float(candle.close))

    def on_event(self, event: ExecutionEvent, order: Order | None) -> None:
        """An applied execution event: fills, funding and order outcomes."""
        if type(event) is OrderFilled:
            self._fill(event.fill)
            if (
                order is not None
                and order.status is OrderStatus.FILLED
                and order.client_order_id not in self._filled_ids
            ):
                self._filled_ids.add(order.client_order_id)
                self.filled_orders += 1
                self.ended_orders += 1
        elif type(event) is FundingPaid:
            self.funding.append((event.timestamp, event.amount))
            self.funding_samples.append(len(self.times))
        elif type(event) in _ENDED:
            self.ended_orders += 1

    def on_commands(self, commands: Iterable[Command]) -> None:
        """A batch of commands about to be sent: one request each, stamped now."""
        now = self._clock.now_ms()
        for command in commands:
            kind = type(command)
            if kind is PlaceOrder:
                self.new.append(now)
            elif kind is ModifyOrder:
                self.modify.append(now)
            elif kind is CancelOrder or kind is CancelAllOrders:
                self.cancel.append(now)

    def on_decision(self, decision: DecisionRecord) -> None:
        """The signal decided on a candle."""
        rows = self.decisions
        rows.open_time.append(decision.open_time)
        rows.long_conviction.append(decision.long_conviction)
        rows.short_conviction.append(decision.short_conviction)
        rows.regime.append(str(decision.regime))

    def _fill(self, fill: Fill) -> None:
        price = fill.price
        fee = fill.fee
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        cash = -signed * price
        change = signed
        if fill.fee_asset == self._quote:
            fee_quote = fee
            cash -= fee
        elif fill.fee_asset == self._base:
            fee_quote = fee * price
            change -= fee
        else:
            fee_quote = fill.fee_quote or ZERO
        maker = fill.liquidity is Liquidity.MAKER
        self.fill_tally.add(price, fill.quantity, fee_quote, maker)
        closed = self._matcher.add(PositionChange(fill.timestamp, change, price, fee_quote))
        if closed:
            tally = self.trade_tally
            for trade in closed:
                tally.add(trade)
            if self.trades is not None:
                self.trades.extend(closed)
        self.fill_samples.append(len(self.times))
        self.fill_times.append(fill.timestamp)
        self.fill_prices.append(float(price))
        self.fill_changes.append(float(change))
        self.fill_cash.append(float(cash))
        self.fill_maker.append(maker)

    # Result ---------------------------------------------------------------------------
    def record(self, totals: RunTotals) -> RunRecord:
        """Everything recorded, with the report's exact end-of-run figures."""
        end = self.times[-1] + 1 if self.times else 0
        last = totals.last_price
        marked = self._matcher.marked(end, last) if last is not None else []
        return RunRecord(
            times_ms=_ints(self.times),
            prices=_floats(self.prices),
            initial_equity=self.initial_equity,
            final_equity=totals.final_equity,
            max_drawdown=totals.max_drawdown,
            max_drawdown_amount=totals.max_drawdown_amount,
            fills=FillColumns(
                samples=_ints(self.fill_samples),
                times_ms=_ints(self.fill_times),
                prices=_floats(self.fill_prices),
                position_changes=_floats(self.fill_changes),
                cash_changes=_floats(self.fill_cash),
                maker=np.frombuffer(self.fill_maker, dtype=np.int8).astype(bool),
            ),
            fill_activity=self.fill_tally.activity(self.initial_equity),
            trade_stats=self.trade_tally.stats(marked),
            trades=None if self.trades is None else [*self.trades, *marked],
            funding=tuple(self.funding),
            funding_samples=_ints(self.funding_samples),
            new_ms=_ints(self.new),
            modify_ms=_ints(self.modify),
            cancel_ms=_ints(self.cancel),
            filled_orders=self.filled_orders,
            ended_orders=self.ended_orders,
            opening_position=self.opening_position,
            opening_price=self.opening_price,
            last_price=totals.last_price,
            limits=self.limits,
        )


def _ints(values: array[int]) -> npt.NDArray[np.int64]:
    return np.frombuffer(values, dtype=np.int64).copy()


def _floats(values: array[float]) -> npt.NDArray[np.float64]:
    return np.frombuffer(values, dtype=np.float64).copy()
