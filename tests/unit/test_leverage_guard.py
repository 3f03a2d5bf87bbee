"""The leverage cap held after the fact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.leverage_guard import LeverageGuard

D = Decimal


def test_under_the_cap_nothing_to_do() -> None:
    verdict = LeverageGuard(D(3)).check(D("0.2"), D(100_000), D(10_000))
    assert verdict.leverage == D(2) and not verdict.over_cap and verdict.reduce_quantity == 0


def test_losses_push_it_over_reduce_only_without_closing() -> None:
    guard = LeverageGuard(D(3))
    verdict = guard.check(D("-0.2"), D(100_000), D(5_700))  # 20k notional on 5.7k equity
    assert verdict.over_cap and guard.over_cap and verdict.reduce_quantity == 0


def test_reducing_closes_back_to_the_target() -> None:
    verdict = LeverageGuard(D(3), reduce=True, margin=D("0.1")).check(
        D("0.2"), D(100_000), D(5_000)
    )
    # Target 5,000 x 2.7 / 100,000 = 0.135: close 0.065.
    assert verdict.reduce_quantity == D("0.065")


def test_wiped_out_equity_is_over_any_cap() -> None:
    verdict = LeverageGuard(D(3), reduce=True).check(D(1), D(10), D(0))
    assert verdict.over_cap and verdict.reduce_quantity == 1


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="cap"):
        LeverageGuard(D(0))
    with pytest.raises(ValueError, match="margin"):
        LeverageGuard(D(3), margin=D(1))


@given(
    position=st.decimals(min_value=D(-5), max_value=D(5), places=3),
    price=st.decimals(min_value=D(1), max_value=D(100_000), places=2),
    equity=st.decimals(min_value=D(1), max_value=D(100_000), places=2),
)
def test_after_reducing_leverage_is_under_the_cap(
    position: Decimal, price: Decimal, equity: Decimal
) -> None:
    guard = LeverageGuard(D(3), reduce=True)
    verdict = guard.check(position, price, equity)
    left = abs(position) - verdict.reduce_quantity
    assert left >= 0
    if verdict.over_cap:
        assert left * price / equity <= D(3)
