"""FIFO net-position trades: hand-worked cases and properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.metrics.trades import PositionChange, fifo_trades, trade_stats

D = Decimal


def test_long_then_partial_closes_match_oldest_lot_first() -> None:
    changes = [
        PositionChange(0, D(1), D(100), D("0.1")),
        PositionChange(10, D(1), D(110), D("0.1")),
        PositionChange(20, D("-1.5"), D(120), D("0.3")),
    ]
    trades = fifo_trades(changes, end_time=30, end_price=D(90))
    assert len(trades) == 3
    first, second, marked = trades
    # Lot 1 closed whole: 1 x (120 - 100) - (0.1 + 0.3 x 1/1.5).
    assert first.quantity == D(1) and first.entry_time == 0 and first.exit_time == 20
    assert first.pnl == D(20) - D("0.1") - D("0.2")
    # Half of lot 2 closed: 0.5 x 10 - (0.05 + 0.1).
    assert second.quantity == D("0.5") and second.entry_price == D(110)
    assert second.pnl == D(5) - D("0.05") - D("0.1")
    # The other half marked at 90, only its remaining entry fee charged.
    assert not marked.closed and marked.exit_time == 30
    assert marked.pnl == D("0.5") * D(-20) - D("0.05")


def test_a_fill_through_zero_closes_and_opens_the_other_side() -> None:
    changes = [PositionChange(0, D(2), D(100), D(0)), PositionChange(5, D(-3), D(90), D("0.3"))]
    trades = fifo_trades(changes, end_time=9, end_price=D(80))
    closed, short = trades
    assert closed.pnl == D(2) * D(-10) - D("0.2")
    assert short.quantity == D(-1) and short.entry_price == D(90) and not short.closed
    assert short.pnl == D(-1) * (D(80) - D(90)) - D("0.1")


def test_grid_round_trips_that_all_win_can_still_be_a_losing_position() -> None:
    # A grid buys 100, 99, 98 ... and takes profit one step up on each, but price falls
    # away: every take-profit of the grid wins, the net position loses.
    changes = []
    for k in range(5):
        changes.append(PositionChange(2 * k, D(1), D(100 - 2 * k), D(0)))
    changes.append(PositionChange(11, D(-1), D(93), D(0)))  # one TP of the last buy (92)
    trades = fifo_trades(changes, end_time=20, end_price=D(80))
    stats = trade_stats(trades)
    assert stats.net_pnl < 0
    # FIFO closes the *oldest* lot (bought at 100) with the TP at 93: a loss.
    assert trades[0].pnl == D(-7)


def test_stats_hand_worked() -> None:
    changes = [
        PositionChange(0, D(1), D(100), D(0)),
        PositionChange(60_000, D(-1), D(110), D(0)),  # +10, 1 min
        PositionChange(60_000, D(-1), D(110), D(0)),
        PositionChange(240_000, D(1), D(115), D(0)),  # -5, 3 min
        PositionChange(240_000, D(1), D(115), D(0)),
        PositionChange(300_000, D(-1), D(117), D(0)),  # +2, 1 min
    ]
    stats = trade_stats(fifo_trades(changes, 300_000, D(117)))
    assert stats.count == 3 and stats.wins == 2 and stats.losses == 1
    assert stats.win_rate == D(2) / 3
    assert stats.profit_factor == D(12) / 5
    assert stats.net_pnl == D(7)
    assert stats.average_duration_ms == 100_000
    assert stats.median_duration_ms == 60_000


def test_no_trades() -> None:
    stats = trade_stats([])
    assert stats.count == 0 and stats.win_rate is None and stats.profit_factor is None


def test_opening_position_is_the_first_lot() -> None:
    opening = PositionChange(0, D(2), D(50), D(0))
    trades = fifo_trades([PositionChange(5, D(-1), D(60), D(0))], 9, D(55), opening)
    assert [t.pnl for t in trades] == [D(10), D(5)]


quantities = st.decimals(min_value=D("-5"), max_value=D("5"), places=3)
prices = st.decimals(min_value=D("1"), max_value=D("1000"), places=2)
fees = st.decimals(min_value=D(0), max_value=D("1"), places=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(quantities, prices, fees), max_size=30), prices)
def test_trades_add_up_to_the_position_pnl(rows: list, end_price: Decimal) -> None:
    """Sum of trade PnL = cash flows + final position marked - all fees (exactly)."""
    changes = [PositionChange(i, q, p, f) for i, (q, p, f) in enumerate(rows)]
    trades = fifo_trades(changes, len(rows), end_price)
    position = sum((c.quantity for c in changes), D(0))
    cash = -sum((c.quantity * c.price for c in changes), D(0))
    fee_total = sum((c.fee for c in changes if c.quantity), D(0))
    marked_exit_fees = D(0)  # a marked lot is not sold: its exit fee share does not exist
    expected = cash + position * end_price - fee_total - marked_exit_fees
    total = sum((t.pnl for t in trades), D(0))
    assert abs(total - expected) < D("1e-20")
    assert sum((t.quantity for t in trades if not t.closed), D(0)) == position
    stats = trade_stats(trades)
    assert stats.wins + stats.losses <= stats.count
    if stats.win_rate is not None:
        assert 0 <= stats.win_rate <= 1
