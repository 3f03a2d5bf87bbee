"""The weekly weight and confidence update, as the signal tracker runs it on every candle.

The tracker sees every closed candle in backtests, paper and live runs alike, so the update
lives here and time comes from the candles: when a candle opens at or after the next weekly
boundary, the rows seen *before* it are handed to the pure
:func:`~domain.signals.learning.relearn`, the chosen weights are re-calibrated on the
held-out week (:func:`~application.confidence_calibration.fit_calibration`), and only then
is the candle decided, with the new weights. Each update is emitted (``signals.update``:
the JSON log and telemetry) and, with a journal, appended to its weight history; accepted
weights also replace the ``signals.weights`` state record, so a restart continues with
them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from application.confidence_calibration import fit_calibration
from application.ports.event_sink import EventSink
from application.ports.signal_journal import SignalWeightJournal, WeightUpdateEntry
from domain.signals.calibration import ConfidenceCalibration, brier_score, hit_samples
from domain.signals.feature_history import FeatureHistory
from domain.signals.learning import (
    MINUTE_MS,
    WEEK_MS,
    LearningSettings,
    WeightUpdate,
    boundary_at_or_before,
    relearn,
)
from domain.signals.signal_model import SignalModel
from domain.signals.weights import SignalWeights


@dataclass(frozen=True)
class LearnedState:
    """What a restart continues from: the latest journaled update, if any."""

    boundary: int
    weights: SignalWeights
    calibration: ConfidenceCalibration | None
    source: str
    #: Held-out score of the weights the latest update kept (None: not measured).
    validation_score: float | None = None
    #: Boundary of the latest update that changed the weights (None: none did).
    changed_at: int | None = None


def latest_learned_state(journal: SignalWeightJournal | None) -> LearnedState | None:
    """The latest update in ``journal`` (None without a journal or updates)."""
    if journal is None:
        return None
    entries = journal.weight_updates()
    if not entries:
        return None
    last = entries[-1]
    calibration = (
        None
        if last.calibration is None
        else ConfidenceCalibration.from_dict(json.loads(last.calibration))
    )
    score = json.loads(last.summary).get("validation_score")
    changed = [entry.boundary for entry in entries if entry.changed]
    return LearnedState(
        boundary=last.boundary,
        weights=SignalWeights.from_dict(json.loads(last.weights)),
        calibration=calibration,
        source=last.source,
        validation_score=None if score is None else float(score),
        changed_at=changed[-1] if changed else None,
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class WeightLearner:
    """Keeps the recent feature rows and makes the weekly update when a boundary passes.

    Args:
        settings: ``signals.learning`` with the signal's horizon and method.
        sink: Where each update is emitted (``signals.update``).
        journal: Where each update is appended (None: not stored, e.g. a backtest).
        last_boundary: The boundary of the latest update made (from the journal on a
            restart); None on a first start, where the first candle only sets the clock.
    """

    def __init__(
        self,
        settings: LearningSettings,
        sink: EventSink,
        journal: SignalWeightJournal | None = None,
        last_boundary: int | None = None,
    ) -> None:
        self.settings = settings
        self._sink = sink
        self._journal = journal
        lookback_minutes = settings.lookback_ms // MINUTE_MS
        self._history = FeatureHistory(settings.lookback_ms, 2 * lookback_minutes)
        self.last_boundary = last_boundary
        self.next_boundary = last_boundary + WEEK_MS if last_boundary is not None else None
        #: Every update made by this learner, oldest first.
        self.updates: list[WeightUpdate] = []
        #: Their summaries as journaled and logged (with the calibration's scores and
        #: reliability table), oldest first: what a report of the run shows.
        self.summaries: list[dict[str, Any]] = []

    def observe(self, open_time: int, close: float, features: tuple[float, ...]) -> None:
        """Keep one decided row (its features as the decision used them)."""
        self._history.append(open_time, close, features)

    def due(self, open_time: int) -> bool:
        """Whether a candle opening at ``open_time`` is past the next boundary.

        The first candle a learner without a journaled boundary sees only starts its clock.
        """
        if self.next_boundary is None:
            s = self.settings
            self.last_boundary = boundary_at_or_before(open_time, s.weekday, s.hour)
            self.next_boundary = self.last_boundary + WEEK_MS
            return False
        return open_time >= self.next_boundary

    def update(
        self,
        open_time: int,
        current: SignalWeights,
        calibration: ConfidenceCalibration | None,
    ) -> tuple[WeightUpdate, ConfidenceCalibration | None]:
        """Re-examine the weights at the latest boundary at or before ``open_time``.

        Reads only rows observed so far (all before the boundary: the candle opening at
        ``open_time`` has not been observed). Returns the update and the calibration to
        use from now on.
        """
        s = self.settings
        boundary = boundary_at_or_before(open_time, s.weekday, s.hour)
        times, closes, features = self._history.arrays()
        before = int(np.searchsorted(times, boundary))
        result = relearn(boundary, times[:before], closes[:before], features[:before], current, s)
        new_calibration = calibration
        calibration_fields: dict[str, Any] = {}
        if result.source != "skipped":
            held = slice(int(np.searchsorted(times, boundary - WEEK_MS)), before)
            decisions = SignalModel(result.weights).decide_batch(times[held], features[held])
            size, hit = hit_samples(
                times[held],
                closes[held],
                decisions.long_conviction - decisions.short_conviction,
                s.horizon,
            )
            new_calibration = fit_calibration(size, hit, boundary)
            previous_brier = (
                brier_score(calibration.apply_batch(size), hit)
                if calibration is not None and size.size
                else math.nan
            )
            calibration_fields = {
                "method": new_calibration.method,
                "samples": new_calibration.samples,
                "base_rate": _finite(new_calibration.base_rate),
                "brier": _finite(new_calibration.brier),
                "brier_base_rate": _finite(new_calibration.brier_base_rate),
                "brier_previous_out_of_sample": _finite(previous_brier),
                "fitted_at": new_calibration.fitted_at,
                # Predicted against observed per bin, on the held-out week it was fitted
                # on: the table a reader checks the map against.
                "reliability": new_calibration.to_dict()["reliability"],
            }
        self.last_boundary = boundary
        self.next_boundary = boundary + WEEK_MS
        self.updates.append(result)
        summary = result.summary()
        summary["calibration"] = calibration_fields or None
        self.summaries.append(summary)
        self._sink.emit("signals.update", boundary, **summary)
        if self._journal is not None:
            self._journal.add_weight_update(
                WeightUpdateEntry(
                    boundary=boundary,
                    source=result.source,
                    changed=result.changed,
                    weights=json.dumps(result.weights.to_dict()),
                    calibration=(
                        None if new_calibration is None else json.dumps(new_calibration.to_dict())
                    ),
                    summary=json.dumps(summary),
                )
            )
        return result, new_calibration
