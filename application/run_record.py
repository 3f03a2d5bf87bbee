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
from domain.metrics.activity import FUTURES_LIMITS, SPOT_LIMITS, FillRecord, OrderRateLimits
from domain.metrics.summary import RunRecord
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
        limits: The venue's order-rate limits (default: Binance's for the market).
    """

    def __init__(
        self,
        instrument: Instrument,
        clock: Clock,
        initial_equity: Decimal,
        opening_position: Decimal = ZERO,
        opening_price: Decimal = ZERO,
        limits: OrderRateLimits | None = None,
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
        self.fills: list[FillRecord] = []
        self.fill_samples = array("q")
        self.funding: list[tuple[int, Decimal]] = []
        self.funding_samples = array("q")
        self.new = array("q")
        self.modify = array("q")
        self.cancel = array("q")
        self.filled_orders = 0
        self.ended_orders = 0
        self._filled_ids: set[str] = set()
        self.decisions = Decisions()
        # Bound once: the per-candle hook is two appends and one conversion.
        self._time = self.times.append
        self._price = self.prices.append

    # Hooks ----------------------------------------------------------------------------
    def on_candle(self, candle: Candle) -> None:
        """After the candle's events and decisions: its close time and close."""
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
        self.fill_samples.append(len(self.times))
        self.fills.append(
            FillRecord(
                fill.timestamp,
                fill.side,
                price,
                fill.quantity,
                fee_quote,
                fill.liquidity is Liquidity.MAKER,
                change,
                cash,
            )
        )

    # Result ---------------------------------------------------------------------------
    def record(self, totals: RunTotals) -> RunRecord:
        """Everything recorded, with the report's exact end-of-run figures."""
        return RunRecord(
            times_ms=np.frombuffer(self.times, dtype=np.int64).copy(),
            prices=np.frombuffer(self.prices, dtype=np.float64).copy(),
            initial_equity=self.initial_equity,
            final_equity=totals.final_equity,
            max_drawdown=totals.max_drawdown,
            max_drawdown_amount=totals.max_drawdown_amount,
            fills=tuple(self.fills),
            fill_samples=np.frombuffer(self.fill_samples, dtype=np.int64).copy(),
            funding=tuple(self.funding),
            funding_samples=np.frombuffer(self.funding_samples, dtype=np.int64).copy(),
            new_ms=np.frombuffer(self.new, dtype=np.int64).copy(),
            modify_ms=np.frombuffer(self.modify, dtype=np.int64).copy(),
            cancel_ms=np.frombuffer(self.cancel, dtype=np.int64).copy(),
            filled_orders=self.filled_orders,
            ended_orders=self.ended_orders,
            opening_position=self.opening_position,
            opening_price=self.opening_price,
            last_price=totals.last_price,
            limits=self.limits,
        )
