"""The adaptive grid plans within the brake level its context carries.

NORMAL: the full ladder. REDUCED: a re-centre at the brake's size factor. REDUCE_ONLY and
HALTED: no entry, and only the take-profits that reduce the net position (a netted futures
account: a long leg's take-profit while the legs net out short would add to the short).
A take-profit larger than the net position it reduces would flip it, and waits too.
Anything the gate still refuses waits until the level changes.
"""

from __future__ import annotations

from decimal import Decimal

from domain.commands import CancelOrder, PlaceOrder
from domain.drawdown_brake import UNBRAKED, BrakeActions, BrakeLevel, is_exit
from domain.enums import Side
from domain.grid.adaptive_grid import TP_BRAKE
from domain.grid.plan import ENTRY_BRAKE, ENTRY_FILTER, ENTRY_TAG, TP_TAG
from tests.unit.test_adaptive_grid_execution import by_tag, candle, fill, started

D = Decimal
REDUCED = BrakeActions(D("0.5"), True, False, BrakeLevel.REDUCED)
REDUCE_ONLY = BrakeActions(D(0), False, False, BrakeLevel.REDUCE_ONLY)
HALTED = BrakeActions(D(0), False, True, BrakeLevel.HALTED)


def _entries(ctx: object) -> list[str]:
    return sorted(o.tag for o in ctx.open_orders.values() if o.tag.startswith(ENTRY_TAG))  # type: ignore[attr-defined]


def test_reduced_re_centres_at_the_brake_size_factor() -> None:
    grid, ctx = started()
    full = {o.tag: o.quantity for o in ctx.open_orders.values()}
    ctx.brake = REDUCED
    candle(grid, ctx, "50000", 3)
    half = {o.tag: o.quantity for o in ctx.open_orders.values()}
    assert half.keys() == full.keys()
    for tag, qty in half.items():
        assert qty <= full[tag] / 2 + D("0.001") and qty < full[tag]
    ctx.brake = UNBRAKED  # back to NORMAL: full size again
    candle(grid, ctx, "50000", 4)
    assert {o.tag: o.quantity for o in ctx.open_orders.values()} == full


def test_reduce_only_and_halted_plan_no_entry_and_only_reducing_take_profits() -> None:
    for level in (REDUCE_ONLY, HALTED):
        grid, ctx = started()
        buys = sorted(
            (o for o in ctx.open_orders.values() if o.side is Side.BUY), key=lambda o: o.tag
        )
        sells = sorted(
            (o for o in ctx.open_orders.values() if o.side is Side.SELL), key=lambda o: o.tag
        )
        # One long leg and three short legs: the legs net out short by more than a level.
        fill(grid, ctx, buys[0], 1, 3 * 60_000)
        for trade, sell in enumerate(sells, 2):
            fill(grid, ctx, sell, trade, 3 * 60_000)
        net = ctx.account.position.quantity
        assert net < -max(o.quantity for o in sells)
        ctx.brake = level
        commands = candle(grid, ctx, "50000", 4)
        assert not [
            c for c in commands if isinstance(c, PlaceOrder) and c.tag.startswith(ENTRY_TAG)
        ]
        assert _entries(ctx) == []  # resting entries cancelled by the plan's diff
        resting = list(ctx.open_orders.values())
        assert resting and all(o.tag.startswith(TP_TAG) for o in resting)
        assert all(is_exit(o.side, o.quantity, o.reduce_only, net) for o in resting)
        long_tp = TP_TAG + buys[0].client_order_id
        assert long_tp not in {o.tag for o in resting}  # it would add to the short
        assert any(isinstance(c, CancelOrder) for c in commands)
        assert grid.skipped_levels.get(TP_BRAKE, 0) >= 1
        # The entries the brake blocks are counted as its own, not as the entry filter's.
        assert grid.skipped_levels.get(ENTRY_BRAKE, 0) >= 1
        assert ENTRY_FILTER not in grid.skipped_levels
        # The next candle sends nothing: no churn while the level stands.
        assert candle(grid, ctx, "50000", 5) == []
        # The level lifts: entries and the long leg's take-profit come back.
        ctx.brake = UNBRAKED
        candle(grid, ctx, "50000", 6)
        assert _entries(ctx) and by_tag(ctx, long_tp).side is Side.SELL


def test_a_refused_order_waits_for_the_next_level() -> None:
    grid, ctx = started()
    ctx.brake = REDUCED
    candle(grid, ctx, "50000", 3)
    victim = sorted(_entries(ctx))[0]
    ctx.open_orders.pop(by_tag(ctx, victim).client_order_id)  # the gate dropped it
    grid.on_brake_refusal([victim])
    assert grid.counters()["brake_refusals"] == 1
    for minute in (4, 5, 6):
        assert all(getattr(c, "tag", None) != victim for c in candle(grid, ctx, "50000", minute))
    ctx.brake = UNBRAKED  # a change of level re-arms it
    candle(grid, ctx, "50000", 7)
    assert victim in _entries(ctx)
