from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.attribution import WEEK_MS, iso_week_label, week_start, weekly_attribution

D = Decimal
ZERO = D(0)
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday

times = st.integers(min_value=0, max_value=4_000_000_000_000)
money = st.decimals(min_value=-(10**6), max_value=10**6, places=8, allow_nan=False)


@given(times)
def test_weeks_start_on_monday_midnight_utc_and_contain_the_time(ms: int) -> None:
    start = week_start(ms)
    assert start <= ms < start + WEEK_MS
    moment = datetime.fromtimestamp(start / 1000, tz=UTC)
    assert (moment.weekday(), moment.hour, moment.minute, moment.second) == (0, 0, 0, 0)
    assert iso_week_label(start) == "{}-W{:02d}".format(*moment.isocalendar()[:2])


def test_iso_week_labels_at_year_ends() -> None:
    assert iso_week_label(week_start(T0)) == "2024-W01"
    # 2021-01-01 (a Friday) belongs to ISO week 53 of 2020.
    assert iso_week_label(week_start(1_609_459_200_000)) == "2020-W53"


@given(
    initial=money,
    points=st.lists(st.tuples(times, money), max_size=40),
    fees=st.lists(st.tuples(times, money), max_size=40),
    funding=st.lists(st.tuples(times, money), max_size=40),
)
def test_weekly_pnl_sums_to_the_total_exactly(
    initial: Decimal,
    points: list[tuple[int, Decimal]],
    fees: list[tuple[int, Decimal]],
    funding: list[tuple[int, Decimal]],
) -> None:
    equity = sorted(points, key=lambda p: p[0])
    weeks = weekly_attribution(initial, equity, fees, funding)
    final = equity[-1][1] if equity else initial
    assert sum((w.pnl for w in weeks), ZERO) == final - initial
    assert sum((w.fees for w in weeks), ZERO) == sum((f for _, f in fees), ZERO)
    assert sum((w.funding for w in weeks), ZERO) == sum((f for _, f in funding), ZERO)
    for week in weeks:
        assert week.trading == week.pnl + week.fees - week.funding
    assert [w.start for w in weeks] == sorted({w.start for w in weeks})
    if weeks:
        assert weeks[-1].end_equity == final


def test_a_week_with_costs_but_no_equity_observation_carries_the_equity() -> None:
    weeks = weekly_attribution(
        D(100),
        [(T0 + 1, D(103)), (T0 + 2 * WEEK_MS, D(101))],
        fees=[(T0 + WEEK_MS + 5, D("0.5"))],
        funding=[(T0 + 3, D("-0.25"))],
    )
    assert [(w.label, w.pnl, w.fees, w.funding, w.trading) for w in weeks] == [
        ("2024-W01", D(3), ZERO, D("-0.25"), D("3.25")),
        ("2024-W02", ZERO, D("0.5"), ZERO, D("0.5")),
        ("2024-W03", D(-2), ZERO, ZERO, D(-2)),
    ]


def test_equity_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError, match="time order"):
        weekly_attribution(D(1), [(T0 + 10, D(1)), (T0, D(2))])
