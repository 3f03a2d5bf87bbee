"""Average-cost position PnL, funding, and spot free/locked balances."""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.balances import Balances, InsufficientBalance
from domain.enums import Side
from domain.errors import DomainError
from domain.positions import Position

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


# ------------------------------------------------------------------ hand-worked examples
def test_long_average_entry_and_partial_close() -> None:
    pos = Position("BTCUSDT")
    assert pos.apply_fill(BUY, D("0.002"), D("100000")) == 0
    assert pos.apply_fill(BUY, D("0.001"), D("101000")) == 0
    assert pos.quantity == D("0.003")
    assert pos.cost == D("301")
    assert pos.entry_price == D("301") / D("0.003")
    assert str(pos.entry_price).startswith("100333.333")
    # 0.0015 * 102000 - 301 * 0.0015 / 0.003 = 153 - 150.5
    realized = pos.apply_fill(SELL, D("0.0015"), D("102000"))
    assert realized == D("2.5")
    assert pos.realized_pnl == D("2.5")
    assert pos.quantity == D("0.0015")
    assert pos.cost == D("150.5")
    assert pos.entry_price == D("301") / D("0.003")  # entry unchanged by a reduction
    # unrealized at 103000: 0.0015 * 103000 - 150.5 = 154.5 - 150.5
    assert pos.unrealized_pnl(D("103000")) == D("4")
    assert pos.notional(D("103000")) == D("154.5")


def test_full_close_resets_cost() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(BUY, D("0.003"), D("100"))
    pos.apply_fill(BUY, D("0.006"), D("103"))
    assert pos.apply_fill(SELL, D("0.009"), D("101")) == D("0.909") - D("0.918")
    assert pos.is_flat
    assert pos.quantity == 0
    assert pos.cost == 0
    assert pos.entry_price == 0
    assert pos.unrealized_pnl(D("500")) == 0
    assert pos.realized_pnl == D("-0.009")


def test_flip_long_to_short_in_one_fill() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(BUY, D("0.002"), D("100"))  # cost 0.2
    realized = pos.apply_fill(SELL, D("0.005"), D("110"))
    assert realized == D("0.002") * D("110") - D("0.2")  # 0.02: only the closing part
    assert pos.quantity == D("-0.003")
    assert pos.cost == D("0.33")  # opening part at the fill price
    assert pos.entry_price == D("110")
    assert pos.unrealized_pnl(D("100")) == D("0.03")


def test_flip_short_to_long_in_one_fill() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(SELL, D("1"), D("50"))
    realized = pos.apply_fill(BUY, D("3"), D("40"))
    assert realized == D("10")
    assert pos.quantity == D("2")
    assert pos.entry_price == D("40")
    assert pos.cost == D("80")


def test_short_pnl_sign() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(SELL, D("2"), D("100"))
    assert pos.quantity == D("-2")
    assert pos.entry_price == D("100")
    assert pos.unrealized_pnl(D("90")) == D("20")  # price fell: short gains
    assert pos.unrealized_pnl(D("110")) == D("-20")  # price rose: short loses
    assert pos.notional(D("110")) == D("220")
    assert pos.apply_fill(BUY, D("1"), D("90")) == D("10")
    assert pos.apply_fill(BUY, D("1"), D("120")) == D("-20")
    assert pos.realized_pnl == D("-10")
    assert pos.is_flat


def test_adding_to_short_averages_entry() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(SELL, D("1"), D("100"))
    pos.apply_fill(SELL, D("3"), D("104"))
    assert pos.quantity == D("-4")
    assert pos.cost == D("412")
    assert pos.entry_price == D("103")


def test_fees_accumulate_without_touching_pnl() -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(BUY, D("1"), D("100"), fee_quote=D("0.02"))
    pos.apply_fill(SELL, D("1"), D("101"), fee_quote=D("0.0505"))
    assert pos.fees == D("0.0705")
    assert pos.realized_pnl == D("1")


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        (BUY, D("0.0001"), D("-0.05")),  # long pays when rate > 0
        (SELL, D("0.0001"), D("0.05")),  # short receives
        (BUY, D("-0.0002"), D("0.1")),  # long receives when rate < 0
        (SELL, D("-0.0002"), D("-0.1")),  # short pays
        (BUY, D("0"), D("0")),
    ],
)
def test_funding_sign(side: Side, rate: Decimal, expected: Decimal) -> None:
    pos = Position("BTCUSDT")
    pos.apply_fill(side, D("0.01"), D("49000"))
    amount = pos.apply_funding(rate, D("50000"))  # mark price, not entry
    assert amount == expected
    assert pos.funding == expected


def test_funding_accumulates_and_flat_pays_nothing() -> None:
    pos = Position("BTCUSDT")
    assert pos.apply_funding(D("0.001"), D("100")) == 0
    pos.apply_fill(BUY, D("2"), D("100"))
    pos.apply_funding(D("0.001"), D("100"))
    pos.apply_funding(D("-0.0005"), D("120"))
    assert pos.funding == D("-0.2") + D("0.12")
    assert pos.realized_pnl == 0  # funding is kept apart from trading PnL


# ------------------------------------------------------------------ PnL identity property
fills = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=5000).map(lambda n: D(n) / 1000),
        st.integers(min_value=1, max_value=200_000).map(lambda n: D(n) / 10),
    ),
    min_size=1,
    max_size=30,
)
marks = st.integers(min_value=1, max_value=200_000).map(lambda n: D(n) / 10)


def _cash_flow(sequence: list[tuple[Side, Decimal, Decimal]]) -> Decimal:
    total = D(0)
    for side, qty, price in sequence:
        total += qty * price if side is SELL else -qty * price
    return total


@settings(max_examples=400, deadline=None)
@given(sequence=fills, mark=marks)
def test_realized_plus_unrealized_equals_cash_flows(
    sequence: list[tuple[Side, Decimal, Decimal]], mark: Decimal
) -> None:
    with localcontext() as ctx:
        ctx.clear_flags()
        pos = Position("X")
        booked = D(0)
        net = D(0)
        for side, qty, price in sequence:
            booked += pos.apply_fill(side, qty, price)
            net += qty if side is BUY else -qty
            assert pos.cost >= 0
            assert pos.quantity == net
            if pos.is_flat:
                assert pos.cost == 0
        rounded = ctx.flags[Inexact]
    assert booked == pos.realized_pnl
    lhs = pos.realized_pnl + pos.unrealized_pnl(mark)
    rhs = _cash_flow(sequence) + pos.quantity * mark
    if rounded:
        assert abs(lhs - rhs) <= D("1e-18")
    else:
        assert lhs == rhs


@st.composite
def division_free_fills(draw: st.DrawFn) -> list[tuple[Side, Decimal, Decimal]]:
    """Fills where every reducing fill closes the whole position (possibly flipping it)."""
    out: list[tuple[Side, Decimal, Decimal]] = []
    held = D(0)
    for _ in range(draw(st.integers(min_value=1, max_value=25))):
        side = draw(st.sampled_from([BUY, SELL]))
        price = D(draw(st.integers(min_value=1, max_value=200_000))) / 10
        qty = D(draw(st.integers(min_value=1, max_value=5000))) / 1000
        reducing = held and (held > 0) != (side is BUY)
        if reducing:
            qty += abs(held)
        out.append((side, qty, price))
        held += qty if side is BUY else -qty
    return out


@settings(max_examples=300, deadline=None)
@given(sequence=division_free_fills(), mark=marks)
def test_pnl_identity_is_exact_without_partial_closes(
    sequence: list[tuple[Side, Decimal, Decimal]], mark: Decimal
) -> None:
    with localcontext() as ctx:
        ctx.traps[Inexact] = True  # any rounding at all fails the test
        pos = Position("X")
        for side, qty, price in sequence:
            pos.apply_fill(side, qty, price)
        lhs = pos.realized_pnl + pos.unrealized_pnl(mark)
        rhs = _cash_flow(sequence) + pos.quantity * mark
    assert lhs == rhs


@settings(max_examples=300, deadline=None)
@given(sequence=fills)
def test_entry_price_of_same_direction_fills_is_vwap(
    sequence: list[tuple[Side, Decimal, Decimal]],
) -> None:
    pos = Position("X")
    for _, qty, price in sequence:
        pos.apply_fill(BUY, qty, price)
    qty_total = sum((q for _, q, _ in sequence), D(0))
    quote_total = sum((q * p for _, q, p in sequence), D(0))
    assert pos.quantity == qty_total
    assert pos.cost == quote_total
    assert pos.entry_price == quote_total / qty_total
    assert pos.realized_pnl == 0


# --------------------------------------------------------------------------- balances
def test_initial_balances_and_copy() -> None:
    initial = {"USDT": D("100")}
    bal = Balances(initial)
    initial["USDT"] = D("0")
    assert bal.free("USDT") == D("100")
    assert bal.locked("USDT") == 0
    assert bal.total("USDT") == D("100")
    assert bal.free("BTC") == 0
    assert Balances().assets() == []


def test_lock_and_unlock() -> None:
    bal = Balances({"USDT": D("100")})
    bal.lock("USDT", D("30.5"))
    assert (bal.free("USDT"), bal.locked("USDT")) == (D("69.5"), D("30.5"))
    assert bal.total("USDT") == D("100")
    bal.lock("USDT", D("69.5"))  # locking everything is fine
    assert bal.free("USDT") == 0
    bal.unlock("USDT", D("10"))
    assert (bal.free("USDT"), bal.locked("USDT")) == (D("10"), D("90"))


def test_lock_more_than_free_raises_and_changes_nothing() -> None:
    bal = Balances({"USDT": D("100")})
    bal.lock("USDT", D("60"))
    with pytest.raises(InsufficientBalance) as info:
        bal.lock("USDT", D("40.01"))
    assert info.value.asset == "USDT"
    assert info.value.needed == D("40.01")
    assert info.value.available == D("40")
    assert "USDT" in str(info.value)
    assert isinstance(info.value, DomainError)
    assert bal.snapshot() == {"USDT": (D("40"), D("60"))}


def test_lock_unknown_asset_raises() -> None:
    bal = Balances({"USDT": D("100")})
    with pytest.raises(InsufficientBalance) as info:
        bal.lock("BTC", D("0.001"))
    assert (info.value.asset, info.value.available) == ("BTC", D(0))


def test_unlock_more_than_locked_raises() -> None:
    bal = Balances({"BTC": D("1")})
    bal.lock("BTC", D("0.5"))
    with pytest.raises(InsufficientBalance) as info:
        bal.unlock("BTC", D("0.6"))
    assert (info.value.asset, info.value.needed, info.value.available) == (
        "BTC",
        D("0.6"),
        D("0.5"),
    )
    assert "BTC" in str(info.value)
    assert bal.snapshot() == {"BTC": (D("0.5"), D("0.5"))}


def test_credit_and_debit() -> None:
    bal = Balances()
    bal.credit("BTC", D("0.01"))
    bal.credit("BTC", D("0.02"))
    assert bal.free("BTC") == D("0.03")
    bal.debit("BTC", D("0.01"))
    assert bal.free("BTC") == D("0.02")
    with pytest.raises(InsufficientBalance) as info:
        bal.debit("BTC", D("0.03"))
    assert info.value.asset == "BTC"
    assert "BTC" in str(info.value)
    assert bal.free("BTC") == D("0.02")


def test_debit_from_locked() -> None:
    bal = Balances({"USDT": D("100")})
    bal.lock("USDT", D("40"))
    bal.debit("USDT", D("25"), from_locked=True)  # a fill consumes part of the lock
    assert (bal.free("USDT"), bal.locked("USDT")) == (D("60"), D("15"))
    with pytest.raises(InsufficientBalance) as info:
        bal.debit("USDT", D("15.01"), from_locked=True)
    assert (info.value.asset, info.value.available) == ("USDT", D("15"))
    # Locked funds cannot be debited from free and vice versa.
    with pytest.raises(InsufficientBalance):
        bal.debit("USDT", D("60.01"))
    assert bal.snapshot() == {"USDT": (D("60"), D("15"))}


def test_snapshot_lists_every_asset_sorted() -> None:
    bal = Balances({"USDT": D("10"), "BTC": D("1")})
    bal.lock("BTC", D("1"))
    bal.credit("BNB", D("0.5"))
    snap = bal.snapshot()
    assert list(snap) == ["BNB", "BTC", "USDT"]
    assert snap == {
        "BNB": (D("0.5"), D(0)),
        "BTC": (D(0), D("1")),
        "USDT": (D("10"), D(0)),
    }
    assert bal.assets() == ["BNB", "BTC", "USDT"]
    # The snapshot is a copy, not a live view.
    bal.credit("USDT", D("1"))
    assert snap["USDT"] == (D("10"), D(0))


_ops = st.lists(
    st.tuples(
        st.sampled_from(["lock", "unlock", "credit", "debit", "debit_locked"]),
        st.sampled_from(["BTC", "USDT"]),
        st.integers(min_value=0, max_value=500).map(lambda n: D(n) / 100),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=_ops)
def test_balances_never_negative_and_conserve_totals(ops: list[tuple[str, str, Decimal]]) -> None:
    bal = Balances({"BTC": D("1"), "USDT": D("2")})
    expected_total = {"BTC": D("1"), "USDT": D("2")}
    for op, asset, amount in ops:
        before = bal.snapshot()
        try:
            if op == "lock":
                bal.lock(asset, amount)
            elif op == "unlock":
                bal.unlock(asset, amount)
            elif op == "credit":
                bal.credit(asset, amount)
                expected_total[asset] += amount
            elif op == "debit":
                bal.debit(asset, amount)
                expected_total[asset] -= amount
            else:
                bal.debit(asset, amount, from_locked=True)
                expected_total[asset] -= amount
        except InsufficientBalance as exc:
            assert exc.asset == asset
            assert exc.needed == amount
            assert exc.available < amount
            assert bal.snapshot() == before
        for name in ("BTC", "USDT"):
            assert bal.free(name) >= 0
            assert bal.locked(name) >= 0
            assert bal.total(name) == expected_total[name]
