"""The brakes through the one decision cycle: levels gate commands, HALTED flattens.

A strategy that keeps buying a falling market (tests/support/brake_rig.py) runs through a
backtest-style cycle (no scope) with the brakes on; the sink's records are replayed to check
that no entry was submitted while reduce-only or halted, whatever the price path.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory.repository import InMemoryOrderRepository
from adapters.memory.sinks import RecordingSink
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.settings import SimulationSettings
from application.brakes import BrakeGate, is_exit
from application.decision_cycle import DecisionCycle
from application.execution import ExecutionService
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection
from domain.client_ids import ClientOrderIdSequence
from domain.commands import CancelOrder, ModifyOrder, PlaceOrder
from domain.drawdown_brake import BrakeLevel, BrakeSettings
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.leverage_guard import LeverageGuard
from tests.support.brake_rig import BELOW, QUOTE, Accumulator, audit, candles_from_returns

D = Decimal
SETTINGS = BrakeSettings(hold_ms=10**12)  # -5 / -10 / -15 %, recovery by 2 % only


def _cycle(
    settings: BrakeSettings | None = SETTINGS,
    guard: LeverageGuard | None = None,
    quote: Decimal = QUOTE,
    below: Decimal = BELOW,
) -> tuple[DecisionCycle, Accumulator, SimulatedExchange, RecordingSink, BrakeGate]:
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    venue = SimulatedExchange(instrument, {"USDT": D("10000")}, SimulationSettings(leverage=20))
    sink = RecordingSink()
    execution = ExecutionService(
        venue,
        instrument,
        AccountProjection(instrument, D("10000")),
        ClientOrderIdSequence("bk"),
        InMemoryOrderRepository(),
        sink,
        venue,
    )
    gate = BrakeGate(instrument, sink, settings, guard)
    strategy = Accumulator(quote=quote, below=below)
    cycle = DecisionCycle(execution, strategy, replay=venue, brakes=gate)
    return cycle, strategy, venue, sink, gate


def test_a_crash_steps_through_every_level_and_halts_flat() -> None:
    cycle, strategy, venue, sink, gate = _cycle()
    candles = candles_from_returns([-40] * 120 + [30] * 60)
    asked_at_halt = None
    for candle in candles:
        cycle.on_candle(candle)
        if gate.halted and asked_at_halt is None:
            asked_at_halt = strategy.asked
    found = audit(sink.records)
    assert found.levels == ["REDUCED", "REDUCE_ONLY", "HALTED"]
    assert not found.violations
    # Entries at REDUCED are half the normal size (rounded down to the lot).
    assert all(D("1400") < n <= D("1500") for n in found.entry_notionals["NORMAL"])
    assert found.entry_notionals["REDUCED"]
    assert all(n <= D("750") for n in found.entry_notionals["REDUCED"])
    # HALTED: everything cancelled, position closed, the strategy not asked again.
    assert venue.open_orders("BTCUSDT") == []
    assert all(p.quantity == 0 for p in venue.account().positions)
    assert cycle.context.account.position.quantity == 0
    assert strategy.asked == asked_at_halt
    assert gate.stats.halts == 1 and gate.stats.blocked_entries > 0
    flatten = [f for e, _, f in sink.records if e == "order.submit" and f["tag"] == "flatten"]
    assert len(flatten) == 1
    # An operator resume lifts it with the peak reset to the equity then.
    equity = cycle.context.account.equity(candles[-1].close)
    transition = gate.resume(equity, candles[-1].close_time)
    assert transition.peak == equity and gate.level is BrakeLevel.NORMAL
    asked = strategy.asked
    cycle.on_candle(candles_from_returns([10], start=candles[-1].close)[0])
    assert strategy.asked == asked + 1


def test_reduce_only_cancels_resting_entries_but_keeps_the_take_profit() -> None:
    brakes = BrakeSettings(halted_at=D("0.5"), hold_ms=10**12)
    cycle, _, _, sink, gate = _cycle(settings=brakes, quote=D("4000"), below=D("0.985"))
    for candle in candles_from_returns([-40] * 200):
        cycle.on_candle(candle)
        if gate.level is BrakeLevel.REDUCE_ONLY:
            break
    assert gate.level is BrakeLevel.REDUCE_ONLY
    tags = sorted(o.tag for o in cycle.context.open_orders.values())
    assert tags == ["tp"], tags
    assert gate.stats.cancelled_entries >= 1
    assert not audit(sink.records).violations


def test_without_brakes_the_same_crash_keeps_buying() -> None:
    cycle, _, _, sink, _ = _cycle(settings=None)
    cycle_gate = cycle.brakes
    assert cycle_gate is not None and cycle_gate.brake is None
    for candle in candles_from_returns([-40] * 120):
        cycle.on_candle(candle)
    found = audit(sink.records)
    assert found.levels == [] and found.entries_by_level["NORMAL"] > 40


def test_leverage_above_the_cap_turns_reduce_only_and_reduces() -> None:
    guard = LeverageGuard(D("2"), reduce=True, margin=D("0.1"))
    cycle, _, _, sink, gate = _cycle(settings=None, guard=guard, quote=D("4000"))
    for candle in candles_from_returns([-20] * 60):
        cycle.on_candle(candle)
    assert gate.stats.leverage_breaches >= 1
    assert gate.stats.leverage_reductions >= 1
    assert gate.stats.max_leverage > D("2")
    assert not audit(sink.records).violations
    reduces = [f for e, _, f in sink.records if e == "order.submit" and f["tag"] == "leverage"]
    assert reduces and all(f["side"] is Side.SELL for f in reduces)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=-80, max_value=60), min_size=20, max_size=120))
def test_no_entry_is_ever_sent_while_reduce_only_or_halted(returns: list[int]) -> None:
    guard = LeverageGuard(D("3"))
    cycle, strategy, venue, sink, gate = _cycle(guard=guard)
    halted_asks = None
    for candle in candles_from_returns(returns):
        cycle.on_candle(candle)
        if gate.halted:
            halted_asks = strategy.asked if halted_asks is None else halted_asks
            assert strategy.asked == halted_asks  # never asked while halted
    found = audit(sink.records)
    assert not found.violations
    if gate.halted:
        assert all(p.quantity == 0 for p in venue.account().positions)
        assert venue.open_orders("BTCUSDT") == []


# ---------------------------------------------------------------------- the gate itself
def _gate(level_drawdown: Decimal) -> BrakeGate:
    inst = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    gate = BrakeGate(inst, RecordingSink(), SETTINGS)
    gate.observe(D("10000"), D(0), D("40000"), 0)
    gate.observe(D("10000") * (1 - level_drawdown), D(0), D("40000"), 1)
    return gate


quantities = st.decimals(min_value=D("0.001"), max_value=D("2"), places=3)
positions = st.decimals(min_value=D("-2"), max_value=D("2"), places=3)


@given(
    st.sampled_from([D("0.01"), D("0.06"), D("0.12")]),
    positions,
    st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), quantities, st.booleans())),
)
def test_gate_lets_exits_through_and_holds_entries_to_the_level(
    drawdown: Decimal, position: Decimal, orders: list[tuple[Side, Decimal, bool]]
) -> None:
    gate = _gate(drawdown)
    commands = [
        PlaceOrder("BTCUSDT", side, OrderType.LIMIT, qty, D("40000"), TimeInForce.GTC, None, ro)
        for side, qty, ro in orders
    ]
    assert CancelOrder("x") in gate.filter([*commands, CancelOrder("x")], position, {})
    for command in commands:
        out = gate.filter([command], position, {})
        if is_exit(command.side, command.quantity, command.reduce_only, position):
            assert out == [command]  # exits always go, unchanged
        elif gate.level is BrakeLevel.REDUCE_ONLY:
            assert out == []
        elif gate.level is BrakeLevel.REDUCED:
            assert out == [] or (
                len(out) == 1
                and isinstance(out[0], PlaceOrder)
                and out[0].quantity <= command.quantity / 2
                and out[0]._replace(quantity=command.quantity) == command
            )
        else:
            assert out == [command]


def test_is_exit_by_flag_or_by_the_side_that_reduces() -> None:
    assert is_exit(Side.BUY, D(1), True, D(0))
    assert is_exit(Side.SELL, D("0.5"), False, D(1))
    assert not is_exit(Side.SELL, D(2), False, D(1))  # would flip the position: an entry
    assert is_exit(Side.BUY, D(1), False, D(-1))
    assert not is_exit(Side.BUY, D(1), False, D(1))
    assert not is_exit(Side.SELL, D(1), False, D(0))


def test_a_modify_of_an_entry_at_reduced_size_is_not_resent() -> None:
    from domain.orders import Order

    gate = _gate(D("0.06"))
    order = Order(
        "c1", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.05"), D("39000"), TimeInForce.GTC
    )
    same = gate.filter([ModifyOrder("c1", D("39000"), D("0.1"))], D(0), {"c1": order})
    assert same == []  # the planner's full size, halved, is what already rests
    moved = gate.filter([ModifyOrder("c1", D("38900"), D("0.1"))], D(0), {"c1": order})
    assert moved == [ModifyOrder("c1", D("38900"), D("0.05"))]


def test_every_drop_is_counted_by_reason_emitted_and_handed_back() -> None:
    gate = _gate(D("0.12"))  # REDUCE_ONLY
    sink = gate._sink
    assert isinstance(sink, RecordingSink)
    entry = PlaceOrder("BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("40000"), tag="grid:B:1")
    exit_ = PlaceOrder("BTCUSDT", Side.SELL, OrderType.LIMIT, D("0.01"), D("41000"), tag="tp:a")
    assert gate.filter([entry, exit_], D("0.02"), {}) == [exit_]
    assert gate.stats.dropped == {"entry_not_allowed": 1}
    assert gate.stats.to_dict()["dropped"] == {"entry_not_allowed": 1}
    assert gate.refused == ["grid:B:1"]
    (dropped,) = [f for e, _, f in sink.records if e == "brake.dropped"]
    assert dropped["tag"] == "grid:B:1" and dropped["brake_level"] == "REDUCE_ONLY"
    assert gate.allowance.level is BrakeLevel.REDUCE_ONLY and not gate.allowance.allow_entries


def test_a_strategy_that_plans_within_the_brake_is_not_scaled_again() -> None:
    gate = _gate(D("0.06"))  # REDUCED
    assert gate.allowance.size_multiplier == SETTINGS.reduced_size
    entry = PlaceOrder("BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.01"), D("40000"), tag="grid:B:1")
    assert gate.filter([entry], D(0), {})[0].quantity == D("0.005")  # the gate scales it
    gate.strategy_plans_within(True)
    assert not gate.gating  # nothing to filter at REDUCED: the strategy sized it
    assert gate.filter([entry], D(0), {}) == [entry]
    assert gate.stats.dropped == {}


class _Planner(Accumulator):
    """Plans within the brakes (the protocol's flag) and remembers what the gate refused."""

    plans_within_brakes = True

    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def on_brake_refusal(self, tags: Sequence[str]) -> None:
        self.refused.extend(tags)


def test_the_cycle_reads_the_strategy_hooks_of_the_protocol() -> None:
    cycle, strategy, _, _, gate = _cycle()
    assert gate.planned is False and strategy.plans_within_brakes is False  # the default
    strategy.on_brake_refusal(["x"])  # the default hook: nothing happens, nothing raises
    instrument = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    venue = SimulatedExchange(instrument, {"USDT": D("10000")}, SimulationSettings(leverage=20))
    execution = ExecutionService(
        venue,
        instrument,
        AccountProjection(instrument, D("10000")),
        ClientOrderIdSequence("bk"),
        InMemoryOrderRepository(),
        RecordingSink(),
        venue,
    )
    planner = _Planner()
    gate = BrakeGate(instrument, RecordingSink(), SETTINGS)
    cycle = DecisionCycle(execution, planner, replay=venue, brakes=gate)
    assert gate.planned is True
    # Accumulator sends an entry on every candle: at REDUCE_ONLY the gate drops it and the
    # cycle hands its tag back through on_brake_refusal.
    for candle in candles_from_returns([-40] * 120):
        cycle.on_candle(candle)
        if gate.level is BrakeLevel.REDUCE_ONLY and planner.refused:
            break
    assert gate.level is BrakeLevel.REDUCE_ONLY
    assert set(planner.refused) == {"entry"}
    assert gate.refused == []  # handed over, not kept
