"""Where a run's profit came from, week by week: trading, fees and funding per ISO week.

A week's PnL is the change of equity over it: the last equity observed in the week less the
last one before it (the initial equity for the first week). The weekly PnLs therefore add up
to the final equity less the initial equity *exactly* (Decimal arithmetic telescopes), which
is what lets a reader trust the table. Fees and funding are summed from the records dated in
the week; the trading column is what is left (``pnl + fees - funding``): the gross result of
the trades, realised and unrealised, before their costs.

Weeks are ISO weeks (Monday 00:00 UTC to Monday 00:00 UTC), computed from Unix milliseconds
with integer arithmetic: the epoch, 1970-01-01, was a Thursday.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

ZERO = Decimal(0)
WEEK_MS = 7 * 24 * 3600 * 1000
#: The epoch was a Thursday: shifting by three days makes week boundaries fall on Mondays.
_MONDAY_SHIFT_MS = 3 * 24 * 3600 * 1000


def week_start(timestamp_ms: int) -> int:
    """The Monday 00:00 UTC (Unix ms) that starts the ISO week containing ``timestamp_ms``."""
    return (timestamp_ms + _MONDAY_SHIFT_MS) // WEEK_MS * WEEK_MS - _MONDAY_SHIFT_MS


def iso_week_label(start_ms: int) -> str:
    """``YYYY-Www`` of the ISO week starting at ``start_ms`` (e.g. ``2024-W05``)."""
    year, week, _ = datetime.fromtimestamp(start_ms / 1000, tz=UTC).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class WeekAttribution:
    """One ISO week of a run.

    Attributes:
        start: Monday 00:00 UTC of the week, Unix ms.
        label: ``YYYY-Www``.
        pnl: Equity change over the week.
        fees: Commissions paid in the week, at their quote value (positive = paid).
        funding: Funding received in the week (negative = paid).
        trading: ``pnl + fees - funding``: the trades' gross result, realised or not.
        end_equity: Equity at the last observation of the week.
    """

    start: int
    label: str
    pnl: Decimal
    fees: Decimal
    funding: Decimal
    trading: Decimal
    end_equity: Decimal


def _sum_by_week(records: Iterable[tuple[int, Decimal]]) -> dict[int, Decimal]:
    sums: dict[int, Decimal] = {}
    for timestamp, amount in records:
        week = week_start(timestamp)
        sums[week] = sums.get(week, ZERO) + amount
    return sums


def weekly_attribution(
    initial_equity: Decimal,
    equity: Sequence[tuple[int, Decimal]],
    fees: Iterable[tuple[int, Decimal]] = (),
    funding: Iterable[tuple[int, Decimal]] = (),
) -> list[WeekAttribution]:
    """The run's weeks, oldest first, with PnL, fees, funding and trading result.

    Args:
        initial_equity: Equity before the first observation.
        equity: ``(time, equity)`` observations in time order.
        fees: ``(time, commission at quote value)`` of every fill.
        funding: ``(time, amount received)`` of every funding settlement.

    Returns:
        One row per week that holds an equity observation, a fee or a funding payment;
        a week without an equity observation carries the previous equity (PnL 0).

    Raises:
        ValueError: The equity observations are not in time order.
    """
    closing: dict[int, Decimal] = {}
    previous_time: int | None = None
    for timestamp, value in equity:
        if previous_time is not None and timestamp < previous_time:
            raise ValueError("equity observations must be in time order")
        previous_time = timestamp
        closing[week_start(timestamp)] = value
    fee_sums = _sum_by_week(fees)
    funding_sums = _sum_by_week(funding)
    rows: list[WeekAttribution] = []
    carried = initial_equity
    for week in sorted(closing.keys() | fee_sums.keys() | funding_sums.keys()):
        end = closing.get(week, carried)
        pnl = end - carried
        fee = fee_sums.get(week, ZERO)
        paid = funding_sums.get(week, ZERO)
        rows.append(
            WeekAttribution(
                start=week,
                label=iso_week_label(week),
                pnl=pnl,
                fees=fee,
                funding=paid,
                trading=pnl + fee - paid,
                end_equity=end,
            )
        )
        carried = end
    return rows
