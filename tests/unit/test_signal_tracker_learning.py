"""The weekly update inside the signal tracker: on time, without look-ahead, durable."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.logging.telemetry_sink import TelemetrySink
from adapters.market_data.generated import GeneratedMarket
from adapters.memory.sinks import RecordingSink
from adapters.persistence.factory import open_journal
from application.signals import WEIGHTS_KEY, SignalSettings, SignalTracker, signal_tracker
from application.telemetry import FanOutSink, TelemetryHub
from bootstrap.config import parse_config
from bootstrap.containers import signal_settings
from domain.candles import Candle
from domain.signals.learning import WEEK_MS, LearningSettings
from domain.signals.weights import SignalWeights

D = Decimal
START = 1_704_067_200_000  # Monday 2024-01-01 00:00 UTC
LEARNING = LearningSettings(
    trailing_weeks=1, max_step=0.5, purge_minutes=30, horizon=15, fit_min_samples=500
)
SETTINGS = SignalSettings(window=60, clip=4.0, horizon=15, fit_min_samples=500, learning=LEARNING)
#: Three weeks and two days: updates at the 2nd and 3rd Monday (the first is skipped).
CANDLES = list(GeneratedMarket(start_open_time=START, minutes=3 * 10_080 + 2880, seed=5))
SECOND_MONDAY = START + 2 * WEEK_MS


def _run(candles: list[Candle]) -> tuple[list[dict[str, object]], SignalTracker]:
    sink = RecordingSink()
    tracker, _ = signal_tracker(SETTINGS, sink, None, full_records=False)
    for candle in candles:
        tracker.on_candle(candle)
    return sink.named("signals.update"), tracker


def _scaled(candle: Candle, factor: Decimal) -> Candle:
    return candle._replace(
        open=candle.open * factor,
        high=candle.high * factor,
        low=candle.low * factor,
        close=candle.close * factor,
    )


def test_updates_happen_at_each_boundary_and_the_first_needs_data() -> None:
    updates, tracker = _run(CANDLES)
    assert [u["boundary"] for u in updates] == [
        START + WEEK_MS,
        START + 2 * WEEK_MS,
        START + 3 * WEEK_MS,
    ]
    assert updates[0]["source"] == "skipped"
    assert {u["source"] for u in updates[1:]} <= {"refit", "current", "heuristic"}
    calibration = updates[1]["calibration"]
    assert isinstance(calibration, dict) and calibration["samples"] > 0
    # The journaled / logged summary carries the Brier scores and the reliability table.
    assert calibration["fitted_at"] == SECOND_MONDAY
    assert calibration["brier"] is not None and calibration["brier_base_rate"] is not None
    table = calibration["reliability"]
    assert [(b["low"], b["high"]) for b in table] == [(k / 10, (k + 1) / 10) for k in range(10)]
    assert sum(b["count"] for b in table) == calibration["samples"]
    assert tracker.learner is not None
    assert [s["boundary"] for s in tracker.learner.summaries] == [u["boundary"] for u in updates]
    assert tracker.learner.summaries[1]["calibration"] == calibration
    assert tracker.last is not None and tracker.last.calibrated_confidence is not None
    assert 0.0 <= tracker.last.calibrated_confidence <= 1.0


def test_changing_candles_after_a_boundary_leaves_that_update_unchanged() -> None:
    cut = next(i for i, c in enumerate(CANDLES) if c.open_time >= SECOND_MONDAY)
    changed = CANDLES[:cut] + [_scaled(c, D("1.07")) for c in CANDLES[cut:]]
    original, a = _run(CANDLES)
    altered, b = _run(changed)
    assert original[:2] == altered[:2]  # the update at the second Monday is the same
    assert a.learner is not None and b.learner is not None
    assert a.learner.updates[1].weights == b.learner.updates[1].weights


def test_restart_mid_week_continues_with_the_latest_weights(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    mid_week = next(
        i for i, c in enumerate(CANDLES) if c.open_time >= SECOND_MONDAY + 3 * 86_400_000
    )
    journal = open_journal(url)
    sink = RecordingSink()
    first, _ = signal_tracker(SETTINGS, sink, journal, weight_journal=journal)
    for candle in CANDLES[:mid_week]:
        first.on_candle(candle)
    before = first.engine.weights, first.engine.calibration
    entries = journal.weight_updates()
    assert [e.boundary for e in entries] == [START + WEEK_MS, SECOND_MONDAY]
    stored = journal.load_state(WEIGHTS_KEY)
    assert stored is not None and SignalWeights.from_dict(json.loads(stored)) == before[0]
    journal.engine.dispose()

    journal = open_journal(url)
    sink = RecordingSink()
    history = CANDLES[:mid_week]
    again, source = signal_tracker(SETTINGS, sink, journal, history, weight_journal=journal)
    assert "weekly" in source
    assert (again.engine.weights, again.engine.calibration) == before
    assert again.learner is not None and again.learner.last_boundary == SECOND_MONDAY
    for candle in CANDLES[mid_week:]:
        if candle.open_time >= START + 3 * WEEK_MS:
            break
        again.on_candle(candle)
    assert sink.named("signals.update") == []  # nothing until the next boundary
    assert len(journal.weight_updates()) == 2
    shown_before, shown_after = first.weights_view(0), again.weights_view(0)
    assert shown_after.last_update_ms == shown_before.last_update_ms == SECOND_MONDAY
    assert shown_after.last_update_source == shown_before.last_update_source
    assert shown_after.validation_score == shown_before.validation_score
    assert shown_after.next_update_ms == START + 3 * WEEK_MS
    journal.engine.dispose()


def test_each_update_is_a_json_log_line_and_a_telemetry_event(tmp_path: Path) -> None:
    hub = TelemetryHub(capacity=100_000)  # every decision is published too
    log = tmp_path / "gridbot.jsonl"
    sink = FanOutSink(JsonLinesSink(log, "run-1"), TelemetrySink(hub))
    tracker, _ = signal_tracker(SETTINGS, sink, None, full_records=False)
    for candle in CANDLES:
        tracker.on_candle(candle)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    logged = [line for line in lines if line["event"] == "signals.update"]
    published = [r for r in hub.since(0, limit=100_000)[0] if r.event == "signals.update"]
    assert len(logged) == len(published) == 3
    accepted = logged[1]
    assert accepted["source"] in ("refit", "current", "heuristic")
    for key in ("system_weights_before", "system_weights_after"):
        assert set(accepted[key]) == {"UP", "DOWN", "NEUTRAL"}
        assert sum(accepted[key].values()) == pytest.approx(1.0)
    assert set(accepted["scores"]) == {"candidate", "current", "heuristic"}
    kept = {"refit": "candidate", "current": "current", "heuristic": "heuristic"}
    assert accepted["validation_score"] == accepted["scores"][kept[accepted["source"]]]
    assert published[1].fields["system_weights_after"] == accepted["system_weights_after"]
    view = tracker.weights_view(CANDLES[-1].close_time)
    assert view.learning and view.last_update_ms == START + 3 * WEEK_MS
    assert view.last_update_source == logged[-1]["source"]


def test_learning_off_never_changes_the_weights() -> None:
    off = SignalSettings(
        window=60,
        horizon=15,
        fit_min_samples=500,
        learning=LearningSettings(enabled=False, horizon=15, purge_minutes=30),
    )
    sink = RecordingSink()
    tracker, _ = signal_tracker(off, sink, None, full_records=False)
    start = tracker.engine.weights
    for candle in CANDLES:
        tracker.on_candle(candle)
    assert tracker.learner is None and tracker.engine.weights == start
    assert sink.named("signals.update") == []


@pytest.mark.parametrize("purge", [5, 14])
def test_purge_shorter_than_the_horizon_is_refused(purge: int) -> None:
    with pytest.raises(ValueError, match="at least the horizon"):
        LearningSettings(horizon=15, purge_minutes=purge)


@pytest.mark.parametrize(
    ("history_minutes", "skipped"),
    [(None, False), (10_080, True)],  # the default; the old default of one week
)
def test_a_start_shortly_before_a_boundary_fits_with_the_default_history(
    history_minutes: int | None, skipped: bool
) -> None:
    """A live start fetches ``signals.history_minutes`` of the past and rebuilds the
    learner's rows from it: with the default, the first boundary, 30 minutes after the
    start, has a fit window and a held-out week; with one week of history it had no fit
    rows at all and was skipped (docs/validation/findings.md, entry 20)."""
    signals = {} if history_minutes is None else {"history_minutes": history_minutes}
    config = parse_config({"signals": signals}, "test")
    minutes = config.signals.history_minutes
    boundary = START + 6 * WEEK_MS  # a Monday 00:00 UTC
    start = boundary - 30 * 60_000
    market = list(
        GeneratedMarket(start_open_time=start - minutes * 60_000, minutes=minutes + 31, seed=3)
    )
    history = [c for c in market if c.open_time < start]
    sink = RecordingSink()
    tracker, _ = signal_tracker(signal_settings(config), sink, None, history, full_records=False)
    for candle in market[len(history) :]:
        tracker.on_candle(candle)
    [update] = sink.named("signals.update")
    assert update["boundary"] == boundary
    if skipped:
        assert update["source"] == "skipped" and update["fit_rows"] == 0
    else:
        assert update["source"] in ("refit", "current", "heuristic"), update["reason"]
        assert isinstance(update["fit_rows"], int) and update["fit_rows"] > 3 * 10_080
