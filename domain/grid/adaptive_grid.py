"""The adaptive grid: a fee-clearing, volatility-spaced grid that manages its orders by diff.

On every closed candle it

1. re-centres when the close has left the band (``recenter_steps`` steps from the centre):
   the step becomes max(fee floor, ATR / volatility multiple, bounded) and each level's size
   a fraction of equity — fixed until the next re-centre so small moves change no order;
2. lets the conviction gates act (entry filter, proximity cancellation; off by default);
3. computes the :mod:`~domain.grid.plan` (entries, and a take-profit for every open leg) and
4. diffs it against the resting orders (:mod:`~domain.grid.order_diff`): keep, modify in
   place, cancel and replace, cancel, place — the fewest requests, within the order budget.

A filled entry becomes a *leg* that is answered at once by its take-profit; the leg and its
take-profit survive re-centres, so inventory is exited at a profit rather than stranded, and
the exposure cap (worst case including every resting order) keeps it bounded. A post-only
order the exchange refuses because it would take is re-priced away from the market and
re-sent, never dropped.

The grid plans within the drawdown brake's level, which its context carries: at REDUCED
a re-centre sizes the levels by the brake's factor; while entries are not allowed
(REDUCE_ONLY, HALTED, leverage above the cap) it plans no entry, and only the take-profits
that reduce the net position (a long leg's take-profit while the legs net out short would
add to the short: it waits, skipped as ``TP_BRAKE``). Anything the brake gate still refuses
is held until the level changes instead of being re-sent on every candle. An optional
grid-wide stop (off by default: the study found
market stops hurt a grid almost everywhere) flattens the legs at market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from domain.calendar.events import CalendarEvent
from domain.calendar.grid_overlay import CmeGridOverlay, GridAdjustment
from domain.candles import Candle
from domain.commands import CancelOrder, Command, ModifyOrder, PlaceOrder
from domain.drawdown_brake import BrakeLevel, is_exit
from domain.enums import OrderType, Side, TimeInForce
from domain.errors import FilterViolation
from domain.events import (
    ExecutionEvent,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    RejectReason,
)
from domain.grid.adaptive_params import AdaptiveGridParams
from domain.grid.confidence_sizing import side_size_factors
from domain.grid.conviction_gates import ConvictionGates
from domain.grid.order_budget import OrderBudget
from domain.grid.order_diff import OrderDiff, diff_orders
from domain.grid.plan import (
    DUST,
    ENTRY_BRAKE,
    ENTRY_FILTER,
    ENTRY_TAG,
    ENTRY_WEEKEND,
    TP_TAG,
    GridGeometry,
    GridPlan,
    Ladder,
    Leg,
    PlannedOrder,
    level_counts,
    plan_grid,
    take_profit_order,
    take_profit_price,
)
from domain.instruments import Instrument, Rounding
from domain.orders import Order
from domain.strategy import TradingContext

ZERO = Decimal(0)
ONE = Decimal(1)
_BOTH_SIDES = frozenset({Side.BUY, Side.SELL})
#: Refusals that only more funds cure: a take-profit refused for one waits instead of being
#: re-sent on every candle (on futures the legs of both sides net out in one position, so a
#: take-profit can open beyond it and need margin the account does not have).
_FUNDS_REFUSALS = frozenset({RejectReason.INSUFFICIENT_MARGIN, RejectReason.INSUFFICIENT_BALANCE})
#: A take-profit held back by a funds refusal is tried again after this long at the latest
#: (sooner on any fill or re-centre, which is when margin or base usually comes back).
TP_RETRY_MS = 60 * 60_000
_COUNTERS = (
    "plans",
    "warmup_candles",
    "kept",
    "modifies",
    "cancel_replaces",
    "cancels",
    "places",
    "deferred",
    "entry_fills",
    "take_profit_fills",
    "post_only_reprices",
    "post_only_left_to_plan",
    "take_profit_refusals",
    "entry_refusals",
    "dust_legs",
    "stops",
    "filter_blocks",
    "proximity_pulls",
    "proximity_rearms",
    "brake_refusals",
)
#: Skip reason of a take-profit that would add to the net position while entries are not
#: allowed.
TP_BRAKE = "TP_BRAKE"


class AdaptiveGrid:
    """The adaptive grid strategy (see the module docstring).

    Attributes:
        geometry: The grid's centre, step and level size (None before the first re-centre).
        legs: Open legs by their entry order's client id.
        recenters: Re-centres after the first grid.
        skipped_levels: Levels left out of a plan, by reason, summed over the plans computed
            (a plan is recomputed only when an input changes: a re-centre, a fill, a gate, the
            close crossing a level, equity moving the exposure cap).
    """

    #: The grid reads the brake's level from its context and sizes its own entries (the
    #: brake gate does not scale them again).
    plans_within_brakes = True

    def __init__(
        self, symbol: str, params: AdaptiveGridParams, overlay: CmeGridOverlay | None = None
    ) -> None:
        self.symbol = symbol
        self.params = params
        self.geometry: GridGeometry | None = None
        self.legs: dict[str, Leg] = {}
        self.recenters = 0
        self.skipped_levels: dict[str, int] = {}
        self.last_plan: GridPlan | None = None
        self._ladder: Ladder | None = None
        self._tps: dict[str, PlannedOrder | str] = {}
        self._mods: dict[str, int] = {}
        self._reprices: dict[str, int] = {}
        #: Legs whose take-profit, and entry levels (tags) the exchange refused for funds,
        #: with the refusal's time: they wait for a fill, a re-centre or TP_RETRY_MS.
        self._held: dict[str, int] = {}
        self._held_entries: dict[str, int] = {}
        self._budget = OrderBudget(params.orders_per_10s, params.orders_per_minute)
        self._gates = ConvictionGates(
            params.entry_filter,
            params.proximity_atr is not None,
            params.proximity_pull,
            params.proximity_rearm,
        )
        self._tif = TimeInForce.GTX if params.post_only else TimeInForce.GTC
        self._depth = params.levels + int((params.asymmetry * params.levels).to_integral_value())
        self._last_close: Decimal | None = None
        self._counts = dict.fromkeys(_COUNTERS, 0)
        # Memo: a plan stands while its inputs do; a diff is skipped while nothing moved.
        self._legs_version = 0
        self._orders_version = 0
        self._plan_key: tuple[object, ...] | None = None
        self._diffed_version = -1
        self._idle = False
        self._expected_open = -1
        # The brake level planned within, the size factor of the current geometry, and the
        # tags the brake gate refused at this level (re-armed on a change of level).
        self._brake_level = BrakeLevel.NORMAL
        self._sizing = ONE
        self._brake_held: set[str] = set()
        # Calendar hook (weekend mode, CME-gap bias): domain/calendar/grid_overlay.py.
        self.overlay = overlay
        self._regime: int | None = None
        if overlay is not None:
            tilt = min(ONE, params.asymmetry + overlay.gap_settings.bias)
            self._depth = params.levels + int((tilt * params.levels).to_integral_value())

    # ------------------------------------------------------------------ reporting
    def counters(self) -> dict[str, int]:
        """Everything the grid counted: plans, requests by kind, fills, gates, skips."""
        out = dict(self._counts)
        gates = self._gates
        out["filter_blocks"] = gates.filter_blocks
        out["proximity_pulls"] = gates.pulls
        out["proximity_rearms"] = gates.rearms
        out["recenters"] = self.recenters
        out["skipped_levels"] = sum(self.skipped_levels.values())
        out["open_legs"] = len(self.legs)
        if self.overlay is not None:  # calendar hook
            out.update(self.overlay.counters())
        return out

    # ------------------------------------------------------------------ candles
    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """Re-centre if needed, gate, plan and diff (see the module docstring)."""
        p = self.params
        close = candle.close
        self._last_close = close
        self._reprices.clear()
        adj = self.overlay.on_candle(candle) if self.overlay is not None else None  # calendar
        market = context.market
        atr = market.atr(p.atr_window)
        vol = market.volatility(p.volatility_window) if p.volatility_multiple else ZERO
        if atr is None or vol is None:
            self._counts["warmup_candles"] += 1
            return ()
        account = context.account
        equity = account.equity(close)
        instrument = context.instrument
        stop = self._stop_commands(close, equity, context)
        if stop:
            return stop
        brake = context.brake
        if brake.level is not self._brake_level:  # re-arm: plan again within the new level
            self._brake_level = brake.level
            self._brake_held.clear()
            self._legs_version += 1
        entries = brake.allow_entries
        sizing = brake.size_multiplier if entries else self._sizing
        record = context.decision
        conviction = record.long_conviction - record.short_conviction if record else 0.0
        blocked = self._gates.update(conviction)
        blocked_by = ENTRY_FILTER
        if not entries:  # the brakes: counted as theirs, not the entry filter's
            blocked, blocked_by = _BOTH_SIDES, ENTRY_BRAKE
        elif adj is not None and adj.block_entries:  # weekend mode no_entries
            blocked, blocked_by = _BOTH_SIDES, ENTRY_WEEKEND
        regime = adj.regime if adj is not None else None
        geometry = self.geometry
        if (
            geometry is None
            or regime != self._regime
            or sizing != self._sizing
            or abs(close - geometry.centre) > p.recenter_steps * geometry.step_price
        ):
            if equity <= ZERO:
                return self._diff((), close, candle.close_time, context)
            if geometry is not None:
                self.recenters += 1
            if self._held or self._held_entries:
                self._release_held()
            geometry = self._recentre(close, atr, vol, equity * sizing, instrument)
            self._sizing = sizing
            if adj is not None:  # calendar hook: weekend mode, wider or smaller
                geometry = self._scaled(geometry, adj)
            self._regime = regime
        if (self._held or self._held_entries) and candle.close_time - min(
            (*self._held.values(), *self._held_entries.values())
        ) >= TP_RETRY_MS:
            self._release_held()
        factors = side_size_factors(
            p.confidence_sizing, conviction, record.calibrated_confidence if record else None
        )
        ladder = self._ladder
        if ladder is None or ladder.geometry is not geometry or ladder.factors != factors:
            ladder = self._ladder = Ladder(geometry, self._depth, instrument, factors)
        pulled: dict[Side, Decimal] | None = None
        if p.proximity_atr is not None and self._gates.pulled:
            reach = p.proximity_atr * atr
            pulled = dict.fromkeys(self._gates.pulled, reach)
        counts = level_counts(p.levels, p.asymmetry, conviction)
        if adj is not None and adj.gap_tilt:  # calendar hook: gap-fill bias
            counts = level_counts(p.levels, ONE, float(p.asymmetry) * conviction + adj.gap_tilt)
        resting: frozenset[str] = frozenset()
        if p.price_band is not None:  # the band's hysteresis depends on what rests
            resting = frozenset(o.tag for o in context.open_orders.values())
        # Spot: what the quote and base held pay for is an input too (fills move them with
        # the legs, a resync adopting the exchange's balances moves them alone).
        balances = None if instrument.is_futures else (account.cash, account.base_balance)
        key = (
            geometry,
            factors,
            self._legs_version,
            blocked,
            blocked_by,
            counts[Side.BUY],
            counts[Side.SELL],
            resting,
            balances,
        )
        plan = self.last_plan
        fresh = False
        if (
            plan is None
            or pulled is not None
            or key != self._plan_key
            or not plan.still_valid(close, equity)
        ):
            futures = instrument.is_futures
            position = account.position.quantity if futures else account.base_balance
            plan = plan_grid(
                ladder,
                self.legs.values(),
                self._take_profits(instrument),
                close,
                position,
                equity,
                p.max_exposure,
                counts,
                blocked,
                pulled,
                None if futures else account.base_balance,
                p.price_band,
                instrument.price_filter.tick_size,
                resting,
                blocked_by,
                None if futures else account.cash,
            )
            self.last_plan = plan
            self._plan_key = key
            self._idle = False
            fresh = True
            self._counts["plans"] += 1
            if plan.skipped:
                skipped = self.skipped_levels
                for reason, count in plan.skipped.items():
                    skipped[reason] = skipped.get(reason, 0) + count
        elif (
            self._idle
            and self._diffed_version == self._orders_version
            and len(context.open_orders) == self._expected_open
        ):
            return ()  # same plan, same orders: nothing to do
        planned = plan.orders
        if self._held_entries:
            held = self._held_entries
            planned = tuple(o for o in planned if o.tag not in held)
        if not entries:  # only what reduces the net position (see the module docstring)
            net = account.position.quantity
            kept = tuple(o for o in planned if is_exit(o.side, o.quantity, o.reduce_only, net))
            if fresh and len(kept) < len(planned):
                skipped = self.skipped_levels
                skipped[TP_BRAKE] = skipped.get(TP_BRAKE, 0) + len(planned) - len(kept)
            planned = kept
        if self._brake_held:
            refused = self._brake_held
            planned = tuple(o for o in planned if o.tag not in refused)
        commands = self._diff(planned, close, candle.close_time, context)
        self._diffed_version = self._orders_version
        self._expected_open = len(context.open_orders)
        return commands

    def _recentre(
        self, close: Decimal, atr: Decimal, vol: Decimal, equity: Decimal, inst: Instrument
    ) -> GridGeometry:
        p = self.params
        moving = max(p.atr_multiple * atr / close, p.volatility_multiple * vol / close, p.min_step)
        step = max(p.fee_floor, min(moving, p.max_step))
        geometry = self.geometry = GridGeometry(close, step, p.level_fraction * equity)
        return geometry

    def _scaled(self, geometry: GridGeometry, adj: GridAdjustment) -> GridGeometry:
        """The calendar hook's weekend-mode factors applied to a fresh geometry."""
        if adj.step_factor == ONE and adj.size_factor == ONE:
            return geometry
        scaled = GridGeometry(
            geometry.centre, geometry.step * adj.step_factor, geometry.level_quote * adj.size_factor
        )
        self.geometry = scaled
        return scaled

    def _take_profits(self, instrument: Instrument) -> dict[str, PlannedOrder | str]:
        tps = self._tps
        for key, leg in self.legs.items():
            if key not in tps:
                tps[key] = take_profit_order(leg, instrument)
        return tps

    def _diff(
        self,
        plan: Sequence[PlannedOrder],
        close: Decimal,
        now: int,
        context: TradingContext,
        orders: Mapping[str, Order] | None = None,
    ) -> list[Command]:
        p = self.params
        geometry = self.geometry
        step_price = geometry.step_price if geometry is not None else ZERO
        self._idle = False
        diff = diff_orders(
            plan,
            context.open_orders if orders is None else orders,
            self.symbol,
            close,
            time_in_force=self._tif,
            price_tolerance=p.price_tolerance_steps * step_price,
            quantity_tolerance=p.quantity_tolerance,
            modifications=self._mods,
            max_modifications=p.max_modifications,
            budget=self._budget.available(now),
        )
        self._account_for(diff, now)
        if orders is None:
            self._idle = not diff.commands and not diff.deferred and not diff.in_flight
        return diff.commands

    def _account_for(self, diff: OrderDiff, now: int) -> None:
        counts = self._counts
        counts["kept"] += diff.kept
        counts["modifies"] += diff.modifies
        counts["cancel_replaces"] += diff.replaces
        counts["cancels"] += diff.cancels
        counts["places"] += diff.places
        counts["deferred"] += diff.deferred
        spent = diff.rate_counted
        if spent:
            self._budget.spend(now, spent)
            mods = self._mods
            for command in diff.commands:
                if type(command) is ModifyOrder:
                    cid = command.client_order_id
                    mods[cid] = mods.get(cid, 0) + 1

    # ------------------------------------------------------------------ stop-loss
    def _stop_commands(
        self, close: Decimal, equity: Decimal, context: TradingContext
    ) -> list[Command]:
        """Flatten the legs at market when the grid-wide stop fires (off by default)."""
        p = self.params
        if (p.stop_loss_steps is None and p.stop_loss_fraction is None) or not self.legs:
            return []
        net = ZERO
        cost = ZERO
        for leg in self.legs.values():
            qty = leg.open_quantity
            signed = qty if leg.side is Side.BUY else -qty
            net += signed
            cost += signed * leg.entry_price
        if not net:
            return []
        loss = cost - net * close  # > 0 when the legs lose at this close
        fired = p.stop_loss_fraction is not None and loss >= p.stop_loss_fraction * equity
        geometry = self.geometry
        if p.stop_loss_steps is not None and geometry is not None:
            adverse = loss / abs(net)  # how far the average entry is against the close
            fired = fired or adverse > p.stop_loss_steps * geometry.step_price
        if not fired:
            return []
        instrument = context.instrument
        commands: list[Command] = [
            CancelOrder(cid)
            for cid, order in context.open_orders.items()
            if order.tag.startswith((ENTRY_TAG, TP_TAG))
        ]
        side = Side.SELL if net > ZERO else Side.BUY
        try:
            qty = instrument.round_quantity(abs(net), OrderType.MARKET, Rounding.DOWN)
        except FilterViolation:
            qty = ZERO
        if qty:
            commands.append(
                PlaceOrder(
                    self.symbol,
                    side,
                    OrderType.MARKET,
                    qty,
                    reduce_only=instrument.is_futures,
                    tag="stop",
                )
            )
        self._counts["stops"] += 1
        self._legs_version += 1
        self.legs.clear()
        self._tps.clear()
        self.geometry = None
        return commands

    # ------------------------------------------------------------------ execution
    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """Book fills into legs and answer them with take-profits; re-price post-only rejects."""
        self._orders_version += 1
        if order is None:
            return ()
        kind = type(event)
        cid = order.client_order_id
        tag = order.tag
        if kind is OrderFilled:
            assert isinstance(event, OrderFilled)
            commands = self._on_fill(event, order, context)
        elif kind is OrderRejected:
            assert isinstance(event, OrderRejected)
            commands = []
            if event.reason is RejectReason.POST_ONLY_WOULD_TAKE:
                commands = self._reprice(order, event.timestamp, context)
            elif event.reason in _FUNDS_REFUSALS and tag.startswith(TP_TAG):
                self._hold(tag[len(TP_TAG) :], event.reason, event.timestamp)
            elif event.reason in _FUNDS_REFUSALS and tag.startswith(ENTRY_TAG):
                self._hold_entry(tag, event.reason, event.timestamp)
        elif kind is OrderCanceled or kind is OrderExpired:
            commands = []
        else:
            return ()
        if order.status.is_terminal:
            self._mods.pop(cid, None)
            leg = self.legs.get(cid)
            if leg is not None and tag.startswith(ENTRY_TAG) and leg.opening:
                self._legs_version += 1
                leg.opening = False
                self._settle(leg, context.instrument)
        return commands

    def _on_fill(self, event: OrderFilled, order: Order, context: TradingContext) -> list[Command]:
        fill = event.fill
        tag = order.tag
        instrument = context.instrument
        self._legs_version += 1
        if self._held or self._held_entries:
            self._release_held()
        if tag.startswith(TP_TAG):
            self._counts["take_profit_fills"] += 1
            leg = self.legs.get(tag[len(TP_TAG) :])
            if leg is not None:
                leg.closed += fill.quantity
                self._tps.pop(leg.key, None)
                self._settle(leg, instrument)
            return []
        if not tag.startswith(ENTRY_TAG):
            return []
        self._counts["entry_fills"] += 1
        received = fill.quantity
        if fill.fee_asset == instrument.base_asset and fill.side is Side.BUY:
            received -= fill.fee  # spot takes the commission out of the bought coins
        cid = order.client_order_id
        leg = self.legs.get(cid)
        if leg is None:
            leg = self.legs[cid] = Leg(cid, tag, fill.side, fill.price)
        leg.entered += received
        leg.filled += fill.quantity
        leg.cost += fill.quantity * fill.price
        leg.opening = not order.status.is_terminal
        geometry = self.geometry
        step = geometry.step if geometry is not None else self.params.fee_floor
        try:
            leg.tp_price = take_profit_price(
                instrument, leg.side, leg.entry_price, step, self.params.take_profit_steps
            )
        except FilterViolation:
            leg.tp_price = leg.entry_price
        tp = self._tps[cid] = take_profit_order(leg, instrument)
        if isinstance(tp, str):
            return []
        if not context.brake.allow_entries and not is_exit(
            tp.side, tp.quantity, tp.reduce_only, context.account.position.quantity
        ):
            return []  # it would add to the net position: it waits for the level to lift
        reference = self._last_close if self._last_close is not None else fill.price
        return self._diff(
            (tp,), reference, fill.timestamp, context, self._orders_tagged(context, tp.tag)
        )

    @staticmethod
    def _orders_tagged(context: TradingContext, tag: str) -> dict[str, Order]:
        return {cid: o for cid, o in context.open_orders.items() if o.tag == tag}

    def _settle(self, leg: Leg, instrument: Instrument) -> None:
        """Forget a leg once its entry is done and nothing an order could close is left."""
        if leg.opening:
            return
        if leg.open_quantity <= ZERO:
            del self.legs[leg.key]
            self._tps.pop(leg.key, None)
            return
        if take_profit_order(leg, instrument) == DUST:
            self._counts["dust_legs"] += 1
            del self.legs[leg.key]
            self._tps.pop(leg.key, None)

    def _hold(self, key: str, reason: RejectReason, now: int) -> None:
        """A leg's take-profit was refused for funds: it waits, skipped as ``TP_<reason>``.

        Re-sending it on the next candle would be refused again (before this, the synthetic
        year sent hundreds of thousands of refused take-profits for a few thousand fills);
        it is tried again after the next fill or re-centre, or :data:`TP_RETRY_MS` at the
        latest.
        """
        leg = self.legs.get(key)
        if leg is None:
            return
        self._counts["take_profit_refusals"] += 1
        self._held[key] = now
        self._tps[key] = reason.value
        self._legs_version += 1

    def _hold_entry(self, tag: str, reason: RejectReason, now: int) -> None:
        """An entry level refused for funds waits like a take-profit, counted once a refusal.

        This happens when ``max_exposure`` allows more than the account's leverage does: the
        plan's cap passes the level, the exchange's margin check does not.
        """
        self._counts["entry_refusals"] += 1
        skipped = self.skipped_levels
        name = f"ENTRY_{reason.value}"
        skipped[name] = skipped.get(name, 0) + 1
        self._held_entries[tag] = now
        self._legs_version += 1

    def _release_held(self) -> None:
        """Let every held take-profit and entry be planned again (its order recomputed)."""
        tps = self._tps
        for key in self._held:
            if isinstance(tps.get(key), str):
                del tps[key]
        self._held.clear()
        self._held_entries.clear()
        self._legs_version += 1

    def _reprice(self, order: Order, now: int, context: TradingContext) -> list[Command]:
        """A post-only order that would have taken: re-send it further from the market.

        The first re-send goes one tick beyond the nearer of its refused price and the last
        close; each further refusal of the same order within a candle adds one grid step.
        After ``reprice_attempts`` the next candle's plan places it again (counted either way).
        """
        tag = order.tag
        if not tag.startswith((ENTRY_TAG, TP_TAG)) or order.price is None:
            return []
        attempts = self._reprices.get(tag, 0)
        if attempts >= self.params.reprice_attempts:
            self._counts["post_only_left_to_plan"] += 1
            return []
        self._reprices[tag] = attempts + 1
        instrument = context.instrument
        reference = self._last_close if self._last_close is not None else order.price
        tick = instrument.price_filter.tick_size or reference * Decimal("0.0001")
        geometry = self.geometry
        step = geometry.step_price if geometry is not None else tick
        # The refusal proves the market is at or through the order's own price: move away
        # from the nearer of that and the last close, by one tick, then a step per attempt.
        away = tick + step * attempts
        try:
            if order.side is Side.BUY:
                price = instrument.round_price(min(order.price, reference) - away, Rounding.DOWN)
            else:
                price = instrument.round_price(max(order.price, reference) + away, Rounding.UP)
        except FilterViolation:
            self._counts["post_only_left_to_plan"] += 1
            return []
        self._counts["post_only_reprices"] += 1
        if tag.startswith(TP_TAG):
            leg = self.legs.get(tag[len(TP_TAG) :])
            if leg is not None:
                self._legs_version += 1
                leg.tp_price = price
                self._tps[leg.key] = take_profit_order(leg, instrument)
        quantity = order.quantity - order.executed_quantity
        self._budget.spend(now, 1)
        return [
            PlaceOrder(
                self.symbol,
                order.side,
                OrderType.LIMIT,
                quantity,
                price,
                order.time_in_force,
                None,
                order.reduce_only,
                tag,
            )
        ]

    def on_brake_refusal(self, tags: Sequence[str]) -> None:
        """The brake gate dropped orders with these tags: hold them until the level changes.

        Planning within the level leaves the gate nothing to drop; should it drop something
        anyway (the position moved between plan and gate), re-sending it on every candle
        would only be dropped again.
        """
        self._counts["brake_refusals"] += len(tags)
        self._brake_held.update(tags)

    def take_calendar_events(self) -> Sequence[CalendarEvent]:
        """Weekend-mode switches and CME gaps since the last call (calendar hook)."""
        overlay = self.overlay
        return overlay.take_events() if overlay is not None else ()

    # ------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, str]:
        """Geometry, legs, gates, budget, modification counts and counters, as strings."""
        g = self.geometry
        state = {
            "geometry": "" if g is None else f"{g.centre}|{g.step}|{g.level_quote}",
            "last_close": "" if self._last_close is None else str(self._last_close),
            "recenters": str(self.recenters),
            "pulled": ",".join(sorted(s.value for s in self._gates.pulled)),
            "gates": f"{self._gates.filter_blocks}|{self._gates.pulls}|{self._gates.rearms}",
            "budget": self._budget.snapshot(),
        }
        for key, leg in self.legs.items():
            state[f"leg:{key}"] = "|".join(
                (
                    leg.slot,
                    leg.side.value,
                    str(leg.entered),
                    str(leg.closed),
                    str(leg.cost),
                    str(leg.filled),
                    str(leg.tp_price),
                    "1" if leg.opening else "0",
                )
            )
        for cid, count in self._mods.items():
            state[f"mods:{cid}"] = str(count)
        for name, count in self._counts.items():
            state[f"count:{name}"] = str(count)
        for reason, count in self.skipped_levels.items():
            state[f"skipped:{reason}"] = str(count)
        if self.overlay is not None:  # calendar hook: a restart inside a closure stays in it
            state["weekend"] = self.overlay.snapshot()
            # The CME-close price and the open gaps: a restart inside a closure still
            # records the gap at the reopen.
            state["cme_gap"] = self.overlay.gaps.snapshot()
        return state

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume exactly where :meth:`snapshot` left off.

        Raises:
            ValueError: A required key is missing or malformed.
        """
        try:
            geometry = state["geometry"]
            if geometry:
                centre, step, quote = (Decimal(v) for v in geometry.split("|"))
                self.geometry = GridGeometry(centre, step, quote)
            else:
                self.geometry = None
            self._ladder = None
            self._last_close = Decimal(state["last_close"]) if state["last_close"] else None
            self.recenters = int(state["recenters"])
            gates = self._gates
            gates.pulled = {Side(s) for s in state["pulled"].split(",") if s}
            gates.filter_blocks, gates.pulls, gates.rearms = (
                int(v) for v in state["gates"].split("|")
            )
            self._budget.restore(state["budget"])
            if self.overlay is not None:  # absent from a state saved before the key existed
                self.overlay.restore(state.get("weekend", ""))
                self.overlay.gaps.restore(state.get("cme_gap", ""))
            legs: dict[str, Leg] = {}
            mods: dict[str, int] = {}
            counts = dict.fromkeys(_COUNTERS, 0)
            skipped: dict[str, int] = {}
            for key, value in state.items():
                kind, _, name = key.partition(":")
                if kind == "leg":
                    slot, side, entered, closed, cost, filled, tp, opening = value.split("|")
                    legs[name] = Leg(
                        name,
                        slot,
                        Side(side),
                        Decimal(tp),
                        Decimal(entered),
                        Decimal(closed),
                        Decimal(cost),
                        Decimal(filled),
                        opening == "1",
                    )
                elif kind == "mods":
                    mods[name] = int(value)
                elif kind == "count":
                    counts[name] = int(value)
                elif kind == "skipped":
                    skipped[name] = int(value)
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"adaptive grid state is incomplete or malformed: {exc!r}") from exc
        self.legs = legs
        self._tps = {}
        self._held = {}
        self._held_entries = {}
        self._mods = mods
        self._counts = counts
        self.skipped_levels = skipped
