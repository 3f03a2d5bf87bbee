"""What the bot did to get its return: fills, fees, turnover, exposure and request rates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from domain.enums import Side

ZERO = Decimal(0)
INFINITY = Decimal("Infinity")
HOUR_MS = 3_600_000
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class FillRecord(NamedTuple):
    """One of our fills, as the run recorded it (money exact).

    Attributes:
        timestamp: Execution time, ms.
        side: BUY or SELL.
        price: Execution price.
        quantity: Executed base quantity.
        fee: Commission valued in the quote asset.
        maker: True for a maker fill, False for a taker one.
        position_change: Signed change of the net position (spot: base fees subtracted).
        cash_change: Change of the quote balance (futures: of the wallet before PnL), with
            the commission when it was paid in quote: ``-position value - quote fee``.
    """

    timestamp: int
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    maker: bool
    position_change: Decimal
    cash_change: Decimal


@dataclass(frozen=True, slots=True)
class FillActivity:
    """Fills, their liquidity and their cost.

    Attributes:
        fills: Number of fills.
        maker_fills: Maker fills.
        taker_fills: Taker fills.
        maker_taker_ratio: ``maker / taker`` fills; ``Infinity`` with makers and no taker;
            None without fills.
        maker_volume_share: Maker share of the traded notional; None without fills.
        traded_notional: Sum of ``price * quantity``.
        fees: Sum of the commissions, quote value.
        turnover: ``traded_notional / initial equity`` (how many times the capital traded).
    """

    fills: int
    maker_fills: int
    taker_fills: int
    maker_taker_ratio: Decimal | None
    maker_volume_share: Decimal | None
    traded_notional: Decimal
    fees: Decimal
    turnover: Decimal | None


class FillTally:
    """Exact running totals of fills, fed one fill at a time."""

    __slots__ = ("fees", "fills", "maker_notional", "makers", "notional")

    def __init__(self) -> None:
        self.fills = 0
        self.makers = 0
        self.notional = ZERO
        self.maker_notional = ZERO
        self.fees = ZERO

    def add(self, price: Decimal, quantity: Decimal, fee: Decimal, maker: bool) -> None:
        """Count one fill (``fee`` valued in the quote asset)."""
        value = price * quantity
        self.fills += 1
        self.notional += value
        self.fees += fee
        if maker:
            self.makers += 1
            self.maker_notional += value

    def activity(self, initial_equity: Decimal) -> FillActivity:
        """The totals as :class:`FillActivity`."""
        count, makers, notional = self.fills, self.makers, self.notional
        takers = count - makers
        return FillActivity(
            fills=count,
            maker_fills=makers,
            taker_fills=takers,
            maker_taker_ratio=(
                Decimal(makers) / takers if takers else (INFINITY if makers else None)
            ),
            maker_volume_share=self.maker_notional / notional if notional else None,
            traded_notional=notional,
            fees=self.fees,
            turnover=notional / initial_equity if initial_equity > 0 else None,
        )


def fill_activity(fills: Iterable[FillRecord], initial_equity: Decimal) -> FillActivity:
    """Count and value ``fills``."""
    tally = FillTally()
    for fill in fills:
        tally.add(fill.price, fill.quantity, fill.fee, fill.maker)
    return tally.activity(initial_equity)


def fill_rate(filled_orders: int, ended_orders: int) -> Decimal | None:
    """Share of the orders that ended (filled, cancelled, expired, rejected) fully filled.

    Orders still open at the end have not had their chance yet and are left out. A grid
    that cancels its whole book on every re-centre has a low fill rate: it sends orders
    that were never going to trade, each one a request counted against the rate limits.
    """
    if ended_orders <= 0:
        return None
    return Decimal(filled_orders) / ended_orders


@dataclass(frozen=True, slots=True)
class Exposure:
    """How much of the capital was at risk.

    Attributes:
        average_notional: Mean ``|position| * price`` over the samples (quote).
        max_notional: Largest ``|position| * price``.
        average_leverage: Mean ``|position| * price / equity``.
        max_leverage: Largest ``|position| * price / equity``.
        time_in_market: Share of samples with a non-zero position.
    """

    average_notional: float
    max_notional: float
    average_leverage: float
    max_leverage: float
    time_in_market: float


def position_path(
    samples: IntArray,
    change_at: IntArray,
    changes: FloatArray,
    initial: float,
) -> FloatArray:
    """A running total at each sample: ``initial`` plus every change at or before it.

    Args:
        samples: Sample keys, ascending (times, or candle indices).
        change_at: The key of each change, ascending.
        changes: The changes (a position's fills, a balance's cash flows).
        initial: The total before any change.
    """
    held = np.concatenate(([0.0], np.cumsum(changes))) + initial
    index = np.searchsorted(change_at, samples, side="right")
    out: FloatArray = held[index]
    return out


def exposure(prices: FloatArray, equity: FloatArray, positions: FloatArray) -> Exposure:
    """Exposure and leverage at each sample, averaged and at their worst."""
    if len(prices) == 0:
        return Exposure(0.0, 0.0, 0.0, 0.0, 0.0)
    notional = np.abs(positions) * prices
    with np.errstate(divide="ignore", invalid="ignore"):
        leverage = np.where(equity > 0, notional / equity, np.inf)
    leverage = np.where(notional == 0, 0.0, leverage)
    return Exposure(
        average_notional=float(notional.mean()),
        max_notional=float(notional.max()),
        average_leverage=float(leverage.mean()),
        max_leverage=float(leverage.max()),
        time_in_market=float(np.count_nonzero(positions) / len(positions)),
    )


@dataclass(frozen=True, slots=True)
class OrderRateLimits:
    """Binance's per-account order-count and per-IP request-weight limits.

    ``new`` and ``modify`` requests count as orders; a cancel costs weight only. The
    numbers are Binance's documented defaults (exchangeInfo ``rateLimits``); the live
    adapter reads the real ones at start-up and throttles to them.
    """

    orders_per_10s: int
    orders_per_minute: int | None
    orders_per_day: int | None
    weight_per_minute: int


SPOT_LIMITS = OrderRateLimits(100, None, 200_000, 6000)
FUTURES_LIMITS = OrderRateLimits(300, 1200, None, 2400)


@dataclass(frozen=True, slots=True)
class RequestRates:
    """Order requests the run sent, per hour and at their densest.

    Attributes:
        new: New-order requests.
        modify: Modify requests.
        cancel: Cancel requests (a cancel-all is one request).
        hours: Market time of the run in hours (gaps in the data excluded).
        new_per_hour: ``new / hours``.
        modify_per_hour: ``modify / hours``.
        cancel_per_hour: ``cancel / hours``.
        peak_requests_per_hour: Most requests of any kind in one clock hour.
        peak_orders_per_10s: Most orders (new + modify) in one 10-second window.
        peak_orders_per_minute: Most orders in one minute.
        peak_orders_per_day: Most orders in one UTC day.
        peak_weight_per_minute: Most requests (weight 1 each) in one minute.
        limits: The limits compared against.
        within_limits: Every peak is below its limit.
    """

    new: int
    modify: int
    cancel: int
    hours: float
    new_per_hour: float
    modify_per_hour: float
    cancel_per_hour: float
    peak_requests_per_hour: int
    peak_orders_per_10s: int
    peak_orders_per_minute: int
    peak_orders_per_day: int
    peak_weight_per_minute: int
    limits: OrderRateLimits
    within_limits: bool


def _peak(times_ms: IntArray, window_ms: int) -> int:
    """Most events in one fixed window (Binance's windows are aligned to the clock)."""
    if len(times_ms) == 0:
        return 0
    _, counts = np.unique(times_ms // window_ms, return_counts=True)
    return int(counts.max())


def request_rates(
    new_ms: IntArray,
    modify_ms: IntArray,
    cancel_ms: IntArray,
    span_ms: int,
    limits: OrderRateLimits,
) -> RequestRates:
    """Requests per hour by kind and the densest windows, against ``limits``."""
    hours = span_ms / HOUR_MS
    orders = np.sort(np.concatenate((new_ms, modify_ms)))
    every = np.sort(np.concatenate((orders, cancel_ms)))
    per_10s = _peak(orders, 10_000)
    per_minute = _peak(orders, 60_000)
    per_day = _peak(orders, 86_400_000)
    weight = _peak(every, 60_000)
    within = (
        per_10s <= limits.orders_per_10s
        and (limits.orders_per_minute is None or per_minute <= limits.orders_per_minute)
        and (limits.orders_per_day is None or per_day <= limits.orders_per_day)
        and weight <= limits.weight_per_minute
    )

    def rate(count: int) -> float:
        return count / hours if hours > 0 else 0.0

    return RequestRates(
        new=len(new_ms),
        modify=len(modify_ms),
        cancel=len(cancel_ms),
        hours=hours,
        new_per_hour=rate(len(new_ms)),
        modify_per_hour=rate(len(modify_ms)),
        cancel_per_hour=rate(len(cancel_ms)),
        peak_requests_per_hour=_peak(every, HOUR_MS),
        peak_orders_per_10s=per_10s,
        peak_orders_per_minute=per_minute,
        peak_orders_per_day=per_day,
        peak_weight_per_minute=weight,
        limits=limits,
        within_limits=within,
    )
