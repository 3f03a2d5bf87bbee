"""AdaptiveGrid.on_execution: a fill is answered by its take-profit, take-profits of open legs
survive a re-centre, and a post-only refusal is re-priced and re-sent, never dropped.

The strategy only reads a TradingContext, so a small hand-written context stands in for the
execution service: it turns the strategy's commands into open orders the way the service
would (place -> accepted order, cancel -> gone, modify -> new price / quantity). Candles are
flat (high = low = close), so the ATR is zero and the step is the fee floor: 3 x 0.04 % =
0.12 %, 60 USDT at 50,000 on futures BTCUSDT (tick 0.1, lot 0.001).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count

import pytest

from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.candles import MINUTE_MS, Candle
from domain.commands import CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.drawdown_brake import UNBRAKED, BrakeActions
from domain.enums import Liquidity, MarketType, OrderType, Side, TimeInForce
from domain.events import OrderFilled, OrderRejected, RejectReason
from domain.grid.adaptive_grid import AdaptiveGrid
from domain.grid.adaptive_params import AdaptiveGridParams
from domain.instruments import Instrument
from domain.market_facts import MarketFacts, MarketFactsSettings
from domain.orders import Fill, Order, OrderTrigger
from domain.signals.decision import DecisionRecord
from domain.signals.regime import Regime

D = Decimal
SYMBOL = "BTCUSDT"
FUT = builtin_instrument(MarketType.USDM_FUTURES, SYMBOL)
PARAMS = AdaptiveGridParams(
    levels=3,
    round_trip_fee=D("0.0004"),
    atr_window=3,
    volatility_window=3,
    level_fraction=D("0.05"),
    recenter_steps=D(5),
)
STEP = D("0.0012")


@dataclass
class Venue:
    """The read-only view a strategy gets, kept up to date the way the execution service does."""

    instrument: Instrument
    account: AccountProjection
    market: MarketFacts
    open_orders: dict[str, Order] = field(default_factory=dict)
    decision: DecisionRecord | None = None
    brake: BrakeActions = UNBRAKED
    ids: count[int] = field(default_factory=lambda: count(1))
    placed: list[Order] = field(default_factory=list)

    def send(self, commands: list[Command] | tuple[Command, ...]) -> None:
        """Apply the commands as an exchange that accepts everything would."""
        for command in commands:
            if isinstance(command, PlaceOrder):
                cid = f"gb-{next(self.ids)}"
                order = Order(
                    cid,
                    command.symbol,
                    command.side,
                    command.order_type,
                    command.quantity,
                    command.price,
                    command.time_in_force,
                    command.stop_price,
                    command.reduce_only,
                    command.tag,
                )
                order.apply(OrderTrigger.ACCEPT, exchange_order_id=int(cid[3:]))
                self.open_orders[cid] = order
                self.placed.append(order)
            elif isinstance(command, CancelOrder):
                self.open_orders.pop(command.client_order_id)
            elif isinstance(command, ModifyOrder):
                order = self.open_orders[command.client_order_id]
                order.apply(OrderTrigger.REQUEST_MODIFY)
                order.apply(OrderTrigger.MODIFY, price=command.price, quantity=command.quantity)
            else:  # pragma: no cover - the adaptive grid never cancels all
                raise AssertionError(command)


def venue(cash: str = "10000") -> Venue:
    facts = MarketFacts(MarketFactsSettings(atr_windows=(3,), volatility_windows=(3,)))
    return Venue(FUT, AccountProjection(FUT, D(cash)), facts)


def flat(close: str, minute: int) -> Candle:
    c = D(close)
    t = minute * MINUTE_MS
    return Candle(t, c, c, c, c, D("100"), t + 59_999)


def candle(grid: AdaptiveGrid, ctx: Venue, close: str, minute: int) -> list[Command]:
    c = flat(close, minute)
    ctx.market.update(c)
    commands = list(grid.on_candle(c, ctx))
    ctx.send(commands)
    return commands


def started(close: str = "50000") -> tuple[AdaptiveGrid, Venue]:
    """A grid past its warm-up with its first ladder resting."""
    grid = AdaptiveGrid(SYMBOL, PARAMS)
    ctx = venue()
    for minute in range(2):
        assert candle(grid, ctx, close, minute) == []  # warm-up: no 3-candle ATR yet
    commands = candle(grid, ctx, close, 2)
    assert len(commands) == 6 and all(isinstance(c, PlaceOrder) for c in commands)
    return grid, ctx


def by_tag(ctx: Venue, tag: str) -> Order:
    (order,) = [o for o in ctx.open_orders.values() if o.tag == tag]
    return order


def fill(grid: AdaptiveGrid, ctx: Venue, order: Order, trade_id: int, at: int) -> list[Command]:
    """The whole order fills at its price as a maker; the account books it."""
    assert order.price is not None
    f = Fill(
        trade_id,
        order.client_order_id,
        order.side,
        order.remaining_quantity,
        order.price,
        D(0),
        "USDT",
        Liquidity.MAKER,
        at,
    )
    order.apply_fill(f)
    ctx.account.apply_fill(f)
    del ctx.open_orders[order.client_order_id]
    commands = list(grid.on_execution(OrderFilled(f), order, ctx))
    ctx.send(commands)
    return commands


def refuse(
    grid: AdaptiveGrid,
    ctx: Venue,
    order: Order,
    at: int,
    refusal: tuple[RejectReason, int, str] = (
        RejectReason.POST_ONLY_WOULD_TAKE,
        -5022,
        "would take",
    ),
) -> list[Command]:
    """The exchange refuses ``order``'s submission (by default post-only, it would take)."""
    ctx.open_orders.pop(order.client_order_id, None)
    sent = Order(
        order.client_order_id,
        order.symbol,
        order.side,
        order.order_type,
        order.quantity,
        order.price,
        order.time_in_force,
        order.stop_price,
        order.reduce_only,
        order.tag,
    )
    sent.apply(OrderTrigger.REJECT)
    reason, code, message = refusal
    event = OrderRejected(sent.client_order_id, reason, code, message, at)
    commands = list(grid.on_execution(event, sent, ctx))
    ctx.send(commands)
    return commands


def test_first_ladder_is_post_only_on_the_fee_floor() -> None:
    grid, ctx = started()
    assert grid.geometry is not None and grid.geometry.step == STEP
    buys = sorted((o.price for o in ctx.open_orders.values() if o.side is Side.BUY), reverse=True)
    sells = sorted(o.price for o in ctx.open_orders.values() if o.side is Side.SELL)
    assert buys == [D("49940.0"), D("49880.0"), D("49820.0")]
    assert sells == [D("50060.0"), D("50120.0"), D("50180.0")]
    assert all(o.time_in_force is TimeInForce.GTX for o in ctx.open_orders.values())


def test_an_entry_fill_is_answered_at_once_by_its_take_profit() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    commands = fill(grid, ctx, entry, 1, 4 * MINUTE_MS)
    assert len(commands) == 1
    (tp,) = commands
    assert isinstance(tp, PlaceOrder)
    assert tp.tag == f"tp:{entry.client_order_id}"
    assert tp.side is Side.SELL and tp.order_type is OrderType.LIMIT
    assert tp.time_in_force is TimeInForce.GTX
    assert tp.quantity == entry.quantity
    # One step above the entry: 49,940 x 1.0012 = 50,000 (rounded up to the tick).
    assert tp.price == D("49999.9") or tp.price == D("50000.0")
    assert tp.price is not None and tp.price > entry.price  # type: ignore[operator]
    assert entry.client_order_id in grid.legs
    assert grid.counters()["entry_fills"] == 1


def test_a_take_profit_fill_closes_the_leg_and_rearms_its_level() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    fill(grid, ctx, entry, 1, 4 * MINUTE_MS)
    assert candle(grid, ctx, "49950", 4) == []  # the level holds a leg: not armed again
    tp = by_tag(ctx, f"tp:{entry.client_order_id}")
    assert fill(grid, ctx, tp, 2, 5 * MINUTE_MS) == []
    assert grid.legs == {} and grid.counters()["take_profit_fills"] == 1
    commands = candle(grid, ctx, "50000", 5)
    assert [(c.tag, c.side) for c in commands if isinstance(c, PlaceOrder)] == [
        ("grid:BUY:1", Side.BUY)
    ]


@pytest.mark.parametrize(
    ("entry_tag", "away"),
    [("grid:BUY:1", "49640"), ("grid:SELL:1", "50360")],
    ids=["long-leg-price-falls", "short-leg-price-rises"],
)
def test_take_profits_of_open_legs_survive_a_recentre(entry_tag: str, away: str) -> None:
    grid, ctx = started()
    entry = by_tag(ctx, entry_tag)
    fill(grid, ctx, entry, 1, 3 * MINUTE_MS)
    tp = by_tag(ctx, f"tp:{entry.client_order_id}")
    before = (tp.price, tp.quantity)
    centre = grid.geometry
    # Six steps against the leg (> recenter_steps = 5): the grid re-centres there.
    commands = candle(grid, ctx, away, 3)
    assert grid.recenters == 1 and grid.geometry is not centre
    assert grid.geometry is not None and grid.geometry.centre == D(away)
    touched = {c.client_order_id for c in commands if isinstance(c, CancelOrder | ModifyOrder)}
    assert touched, "the old entries should have moved to the new centre"
    assert tp.client_order_id not in touched
    assert ctx.open_orders[tp.client_order_id] is tp
    assert (tp.price, tp.quantity) == before
    assert set(grid.legs) == {entry.client_order_id}
    # The new ladder sits around the new centre, with the step the jump's ATR set.
    step_price = grid.geometry.step_price
    entries = [o for o in ctx.open_orders.values() if o.tag.startswith("grid:")]
    assert len(entries) == 6
    for order in entries:
        assert order.price is not None
        assert abs(order.price - D(away)) <= 3 * step_price + FUT.price_filter.tick_size
    # Later candles keep the take-profit resting, untouched.
    for minute, close in ((4, away), (5, away)):
        follow = candle(grid, ctx, close, minute)
        assert tp.client_order_id not in {
            c.client_order_id for c in follow if isinstance(c, CancelOrder | ModifyOrder)
        }
    assert ctx.open_orders[tp.client_order_id] is tp


def test_a_refused_post_only_entry_is_repriced_and_resent() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    assert entry.price == D("49940.0")
    # The close moved to 49,930 and the entry at 49,940 would take: the exchange refuses it.
    candle_close = flat("49930", 4)
    ctx.market.update(candle_close)
    grid._last_close = candle_close.close  # the plan saw this close (no re-plan needed here)
    commands = refuse(grid, ctx, entry, 4 * MINUTE_MS + 1)
    assert len(commands) == 1
    (again,) = commands
    assert isinstance(again, PlaceOrder)
    assert again.tag == "grid:BUY:1" and again.side is Side.BUY
    assert again.quantity == entry.quantity
    assert again.time_in_force is TimeInForce.GTX
    # One tick below the nearer of the refused price and the close.
    assert again.price == D("49929.9")
    assert grid.counters()["post_only_reprices"] == 1


def test_repeated_refusals_step_further_away_then_the_plan_places_it_again() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:SELL:1")
    prices = []
    order = entry
    for attempt in range(PARAMS.reprice_attempts):
        commands = refuse(grid, ctx, order, 4 * MINUTE_MS + attempt)
        assert len(commands) == 1, f"refusal {attempt + 1} was dropped"
        (again,) = commands
        assert isinstance(again, PlaceOrder) and again.tag == "grid:SELL:1"
        assert again.price is not None
        prices.append(again.price)
        order = by_tag(ctx, "grid:SELL:1")
    assert prices == sorted(prices) and len(set(prices)) == len(prices)  # ever further up
    # Each further refusal moves one grid step (60) and a tick beyond the refused price.
    assert prices[1] - prices[0] == D("60.1")
    # Out of attempts for this candle: not re-sent now, but counted and left to the plan ...
    assert refuse(grid, ctx, order, 4 * MINUTE_MS + 9) == []
    counters = grid.counters()
    assert counters["post_only_reprices"] == PARAMS.reprice_attempts
    assert counters["post_only_left_to_plan"] == 1
    assert not [o for o in ctx.open_orders.values() if o.tag == "grid:SELL:1"]
    # ... which places the level again on the next candle: the grid never loses it.
    commands = candle(grid, ctx, "50000", 4)
    placed = [c for c in commands if isinstance(c, PlaceOrder) and c.tag == "grid:SELL:1"]
    assert len(placed) == 1 and placed[0].price == D("50060.0")


def test_a_refused_take_profit_is_repriced_and_the_leg_remembers_the_new_price() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    fill(grid, ctx, entry, 1, 4 * MINUTE_MS)
    tp = by_tag(ctx, f"tp:{entry.client_order_id}")
    assert tp.price is not None
    commands = refuse(grid, ctx, tp, 4 * MINUTE_MS + 1)
    assert len(commands) == 1
    (again,) = commands
    assert isinstance(again, PlaceOrder) and again.tag == tp.tag and again.side is Side.SELL
    assert again.quantity == tp.quantity and again.price is not None
    assert again.price > tp.price
    leg = grid.legs[entry.client_order_id]
    assert leg.tp_price == again.price
    # The next candle's plan keeps the re-priced take-profit instead of moving it back.
    follow = candle(grid, ctx, "49990", 4)
    resent = by_tag(ctx, tp.tag)
    assert not any(
        isinstance(c, CancelOrder | ModifyOrder) and c.client_order_id == resent.client_order_id
        for c in follow
    )


def refuse_for_margin(grid: AdaptiveGrid, ctx: Venue, order: Order, at: int) -> list[Command]:
    """The exchange refuses ``order``'s submission: margin is insufficient (Binance -2019)."""
    margin = (RejectReason.INSUFFICIENT_MARGIN, -2019, "Margin is insufficient.")
    return refuse(grid, ctx, order, at, margin)


def test_a_take_profit_refused_for_margin_waits_instead_of_being_resent_every_candle() -> None:
    """Futures legs of both sides net out in one position, so a take-profit can need margin.

    Re-sending it on every candle is refused every time (the synthetic year sent hundreds of
    thousands of such requests); it waits, counted ``TP_INSUFFICIENT_MARGIN``, and is tried
    again on the next fill, or an hour later at the latest.
    """
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    fill(grid, ctx, entry, 1, 3 * MINUTE_MS)
    tag = f"tp:{entry.client_order_id}"
    assert refuse_for_margin(grid, ctx, by_tag(ctx, tag), 3 * MINUTE_MS + 1) == []
    for minute in range(4, 30):  # price unchanged: nothing would free margin
        sent = candle(grid, ctx, "49950", minute)
        assert tag not in {c.tag for c in sent if isinstance(c, PlaceOrder)}, minute
    assert grid.counters()["take_profit_refusals"] == 1
    assert grid.skipped_levels.get("TP_INSUFFICIENT_MARGIN", 0) >= 1
    assert entry.client_order_id in grid.legs  # the leg is kept, only its order waits
    # Another fill can free margin: the held take-profit goes out on the next candle.
    fill(grid, ctx, by_tag(ctx, "grid:BUY:2"), 2, 30 * MINUTE_MS)
    assert tag in {c.tag for c in candle(grid, ctx, "49950", 30) if isinstance(c, PlaceOrder)}


def test_a_held_take_profit_is_tried_again_after_an_hour() -> None:
    grid, ctx = started()
    entry = by_tag(ctx, "grid:BUY:1")
    fill(grid, ctx, entry, 1, 3 * MINUTE_MS)
    tag = f"tp:{entry.client_order_id}"
    refuse_for_margin(grid, ctx, by_tag(ctx, tag), 3 * MINUTE_MS + 1)
    placed_at = []
    for minute in range(4, 130):
        sent = candle(grid, ctx, "49950", minute)
        if tag in {c.tag for c in sent if isinstance(c, PlaceOrder)}:
            placed_at.append(minute)
            refuse_for_margin(grid, ctx, by_tag(ctx, tag), (minute + 1) * MINUTE_MS - 1)
    assert placed_at == [63, 123]  # the refusal at 3:00 + one hour, then again
    assert grid.counters()["take_profit_refusals"] == 3


def test_a_spot_entry_refused_for_balance_waits_instead_of_being_resent_every_candle() -> None:
    """Quote the grid cannot see (another order of the account) locks what a buy needs.

    Binance refuses the buy -2010; re-sending it on every candle is refused every time. The
    level waits, counted ``ENTRY_INSUFFICIENT_BALANCE``, until a fill or an hour later.
    """
    spot = builtin_instrument(MarketType.SPOT, SYMBOL)
    facts = MarketFacts(MarketFactsSettings(atr_windows=(3,), volatility_windows=(3,)))
    ctx = Venue(spot, AccountProjection(spot, D("10000"), D("0.2"), D("50000")), facts)
    grid = AdaptiveGrid(SYMBOL, PARAMS)
    for minute in range(3):
        candle(grid, ctx, "50000", minute)
    accepted = ctx.open_orders.pop(by_tag(ctx, "grid:BUY:1").client_order_id)
    entry = Order(
        accepted.client_order_id,
        SYMBOL,
        accepted.side,
        accepted.order_type,
        accepted.quantity,
        accepted.price,
        accepted.time_in_force,
        tag=accepted.tag,
    )
    entry.apply(OrderTrigger.REJECT)
    refusal = OrderRejected(
        entry.client_order_id,
        RejectReason.INSUFFICIENT_BALANCE,
        -2010,
        "Account has insufficient balance for requested action.",
        3 * MINUTE_MS,
    )
    assert list(grid.on_execution(refusal, entry, ctx)) == []
    for minute in range(3, 40):
        sent = candle(grid, ctx, "49990", minute)
        assert "grid:BUY:1" not in {c.tag for c in sent if isinstance(c, PlaceOrder)}, minute
    assert grid.counters()["entry_refusals"] == 1
    assert grid.skipped_levels.get("ENTRY_INSUFFICIENT_BALANCE") == 1


def _decision(net: float, confidence: float | None) -> DecisionRecord:
    return DecisionRecord(
        0, (), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (1 / 3, 1 / 3, 1 / 3),
        max(net, 0.0), max(-net, 0.0), Regime.NEUTRAL, confidence,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("confidence", "buy_factor"),
    [(None, D(1)), (0.5, D(1)), (0.8, D("1.6")), (0.2, D("0.4"))],
)
def test_calibrated_confidence_scales_the_favoured_side(
    confidence: float | None, buy_factor: Decimal
) -> None:
    """Net conviction long: the buys are sized 1 + 1 x (2p - 1) times the level, sells not."""
    grid = AdaptiveGrid(
        SYMBOL, AdaptiveGridParams(**{**_fields(PARAMS), "confidence_sizing": D(1)})
    )
    ctx = venue()
    ctx.decision = _decision(0.4, confidence)
    for minute in range(3):
        candle(grid, ctx, "50000", minute)
    _, plain_ctx = started()
    for side, factor in ((Side.BUY, buy_factor), (Side.SELL, D(1))):
        for k in range(1, 4):
            tag = f"grid:{side.value}:{k}"
            sized, base = by_tag(ctx, tag), by_tag(plain_ctx, tag)
            expected = FUT.round_quantity(base.quantity * factor, OrderType.LIMIT)
            assert abs(sized.quantity - expected) <= D("0.001"), (tag, sized.quantity, expected)


def _fields(params: AdaptiveGridParams) -> dict[str, object]:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}
