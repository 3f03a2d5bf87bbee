"""The adaptive run's market window and checks: history, the seeded shock, brakes obeyed,
the request budget and state surviving kills, on doctored values (no emulator process)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.persistence.factory import open_journal
from adapters.simulated.emulator import EmulatorState
from adapters.simulated.emulator.limits import RateLimiter, RateLimits
from adapters.simulated.emulator.wire import ApiError
from bootstrap.instruments import builtin_instrument
from bootstrap.validation.adaptive import (
    AcceptedOrder,
    BudgetWatch,
    adaptive_counts,
    check_brakes_obeyed,
    check_budget,
    check_state_survives,
    read_facts,
    weekend_switches,
)
from bootstrap.validation.command import ADAPTIVE_DEFAULTS, bot_config
from bootstrap.validation.market_window import SHOCK_RAMP_MINUTES, Shock, replay_window
from bootstrap.validation.schedule import KillMode, build_schedule
from domain.candles import Candle
from domain.enums import MarketType

D = Decimal
T0 = 1_738_324_800_000  # 2025-01-31 12:00 UTC (a Friday)


def candles(n: int, price: str = "100000.0") -> list[Candle]:
    p = D(price)
    return [Candle(T0 + i * 60_000, p, p, p, p, D(1), T0 + i * 60_000 + 59_999) for i in range(n)]


def test_window_serves_the_history_and_exactly_the_replayed_candles() -> None:
    data = candles(100)
    start = T0 + 30 * 60_000
    out = list(replay_window(data, start, 20, 50))
    assert out[0].open_time == start - 20 * 60_000  # 20 minutes of history before the start
    assert len(out) == 70 and out[-1].open_time == start + 49 * 60_000


def test_emulator_starts_with_the_history_as_its_past() -> None:
    inst = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    start = T0 + 30 * 60_000
    state = EmulatorState(
        [inst],
        "k",
        "s",
        replay_window(candles(100), start, 20, 50),
        history_minutes=20,
        replay_start_ms=start,
    )
    assert len(state.history) == 20 and state.candles_fed == 0
    assert state.advance(100) == 50


def test_shock_falls_over_its_ramp_and_stays_down_rounded_to_the_tick() -> None:
    shock = Shock(10, D("0.08"))
    out = list(replay_window(candles(200), None, 0, 200, shock, D("0.1")))
    assert out[9].close == D("100000.0")
    assert out[10].close == (D("100000.0") * (1 - D("0.08") / SHOCK_RAMP_MINUTES)).quantize(
        D("0.1")
    )
    assert out[10 + SHOCK_RAMP_MINUTES - 1].close == D("92000.0")
    assert out[-1].close == D("92000.0") and out[-1].low == D("92000.0")


def test_shock_is_seeded_in_the_middle_half() -> None:
    a, b = Shock.seeded(1, 4320, D("0.08")), Shock.seeded(1, 4320, D("0.08"))
    assert a == b and 4320 // 4 <= a.at_candle <= 4320 * 3 // 4
    with pytest.raises(ValueError):
        Shock.seeded(1, 100, D("0.08"))
    with pytest.raises(ValueError):
        Shock.seeded(1, 4320, D("1.5"))


def test_bot_config_spells_out_the_adaptive_defaults_but_keeps_the_users() -> None:
    from pathlib import Path

    config = bot_config(MarketType.USDM_FUTURES, Path("/tmp/x"), {}, None)
    assert config["strategy"]["name"] == "adaptive_grid"
    assert config["brakes"]["enabled"] is True
    assert config["calendar"]["weekend_mode"] == "wider"
    assert config["signals"]["learning"]["enabled"] is True
    own = bot_config(MarketType.SPOT, Path("/tmp/x"), {"strategy": {"name": "static_grid"}}, None)
    assert own["strategy"]["name"] == "static_grid"
    assert len(ADAPTIVE_DEFAULTS) == 5


def test_schedule_has_modify_kills() -> None:
    schedule = build_schedule(1, 4320, 30, stall_lead=108)
    modes = {k.mode for k in schedule.kills}
    assert modes == set(KillMode)


def order(t: int, side: str, reduce_only: bool, position: str, qty: str = "0.01") -> AcceptedOrder:
    return AcceptedOrder(t, f"c{t}", side, D(qty), reduce_only, D(position), False)


TRANSITIONS = [
    {"at_ms": 1000, "previous": "NORMAL", "level": "REDUCED"},
    {"at_ms": 2000, "previous": "REDUCED", "level": "REDUCE_ONLY"},
    {"at_ms": 3000, "previous": "REDUCE_ONLY", "level": "REDUCED"},
]


def test_an_entry_accepted_at_reduce_only_fails_the_check() -> None:
    ok = [order(1500, "BUY", False, "0.05"), order(2500, "SELL", True, "0.05")]
    assert check_brakes_obeyed(ok, TRANSITIONS, True, 9000).passed
    # A sell while long no larger than the position is an exit even without reduceOnly.
    assert check_brakes_obeyed([order(2500, "SELL", False, "0.05")], TRANSITIONS, True, 9000).passed
    bad = check_brakes_obeyed([order(2500, "BUY", False, "0.05")], TRANSITIONS, True, 9000)
    assert not bad.passed and bad.evidence["violations"][0]["level"] == "REDUCE_ONLY"
    flip = check_brakes_obeyed(
        [order(2500, "SELL", False, "0.05", qty="0.1")], TRANSITIONS, True, 9000
    )
    assert not flip.passed  # selling more than the position opens a short
    spot = check_brakes_obeyed([order(2500, "BUY", False, "0")], TRANSITIONS, False, 9000)
    assert not spot.passed


def test_budget_counts_only_the_limiters_own_refusals() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimits.futures(), True, lambda: now[0])
    watch = BudgetWatch()
    watch.wrap(limiter)
    limiter.add_weight("ip", 10)
    assert check_budget(watch, 2400).passed and watch.peak_weight == 10
    with pytest.raises(ApiError):
        limiter.add_weight("ip", 5000)
    assert not check_budget(watch, 2400).passed and watch.weight_refusals == 1


def test_state_survives_needs_journal_weights_and_an_unbroken_brake_chain() -> None:
    assert check_state_survives(["fitted on 5000", "journal", "journal"], TRANSITIONS, 3).passed
    fresh = check_state_survives(["fitted on 5000", "fitted on 5000"], TRANSITIONS, 2)
    assert not fresh.passed
    lost = [*TRANSITIONS, {"at_ms": 4000, "previous": "NORMAL", "level": "REDUCED"}]
    assert not check_state_survives(["fitted", "journal"], lost, 2).passed


def test_weekend_switches_follow_the_cme_schedule() -> None:
    # Friday 2025-01-31 12:00 UTC to Monday 2025-02-03 12:00 UTC: CME closes on Friday
    # afternoon (CT) and reopens on Sunday evening.
    closes = [T0 + i * 60_000 + 59_999 for i in range(72 * 60)]
    switches = weekend_switches(closes)
    assert switches["entered"] == 1 and switches["left"] == 1
    assert 40 * 60 < switches["weekend_candles"] < 56 * 60


def checkpoint(plans: int) -> dict[str, object]:
    return {"strategy": {"count:plans": str(plans), "gates": "0|0|0", "recenters": "0"}}


def test_state_survives_fails_when_the_grid_counters_go_down_across_a_kill() -> None:
    kept = [(0, "before SIGKILL", checkpoint(5)), (1, "before SIGKILL", checkpoint(9))]
    assert check_state_survives(["fitted", "journal"], [], 2, kept).passed
    lost = [(0, "before SIGKILL", checkpoint(5)), (1, "before SIGTERM", checkpoint(2))]
    result = check_state_survives(["fitted", "journal"], [], 2, lost)
    assert not result.passed and "plans" in result.evidence["counter_drops"][0]


def test_weights_restored_with_a_note_count_as_from_the_journal() -> None:
    sources = ["fitted on 9000", "journal; weekly skipped at 1738540800000"]
    assert check_state_survives(sources, [], 2).passed


def test_weekend_switches_are_counted_from_the_bots_journal(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    journal = open_journal(f"sqlite:///{db}")
    with journal.transaction():
        journal.save_state("strategy", json.dumps({**checkpoint(3), "last_candle": None}))
        journal.save_report("calendar.weekend", 1, json.dumps({"switch": "entered"}))
        journal.save_report("brake", 2, json.dumps({"at_ms": 2, "level": "REDUCED"}))
        journal.save_report("calendar.weekend", 3, json.dumps({"switch": "left"}))
        journal.save_report("calendar.gap", 3, json.dumps({"gap": "7"}))
        journal.save_report("calendar.weekend", 4, json.dumps({"switch": "entered"}))
    journal.engine.dispose()
    facts = read_facts(db)
    assert [w["switch"] for w in facts.weekend_switches] == ["entered", "left", "entered"]
    assert facts.cme_gaps == 1 and len(facts.brake_transitions) == 1
    # The candles crossed one CME weekend; the journal says what the bot did.
    counts = adaptive_counts(facts, [], [T0 + i * 60_000 + 59_999 for i in range(72 * 60)])
    assert counts["weekend-mode switches journaled (entered / left)"] == "2 / 1"
    assert counts["CME gaps journaled"] == 1
    assert counts["CME weekends the candles crossed (calendar: entered / left)"] == "1 / 1"
