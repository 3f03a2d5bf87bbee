"""The signal on every closed candle: decide, report, store, and keep the weights.

Wraps the pure :class:`~domain.signals.signal_engine.SignalEngine` for the loops (backtest,
paper, live — the same code in each): every decision record goes to the event sink (the
JSON log at DEBUG, telemetry as ``decision``) and, when a journal is given, into it as a
``decision`` report; the weights in use are kept in the journal so a restart continues
with them instead of refitting.

With ``signals.learning`` on, the tracker owns a
:class:`~application.signal_learning.WeightLearner`: on the first candle past each weekly
boundary it re-examines the weights on the rows seen before the boundary (the same code in
every loop, time taken from the candles), swaps in the chosen weights and calibration, and
only then decides that candle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from application.ports.control import WeightsView
from application.ports.event_sink import EventSink
from application.ports.repository import OrderRepository
from application.ports.signal_journal import SignalWeightJournal
from application.signal_learning import LearnedState, WeightLearner, latest_learned_state
from domain.candles import Candle
from domain.signals.decision import DecisionRecord
from domain.signals.history import fit_on_history
from domain.signals.learning import LearningSettings
from domain.signals.signal_engine import SignalEngine
from domain.signals.weights import MIN_INDEPENDENT_SAMPLES, SignalWeights, heuristic_weights

#: Journal key of the weights in use.
WEIGHTS_KEY = "signals.weights"


class SignalSettings:
    """What the signal needs from the configuration."""

    __slots__ = (
        "clip",
        "fit_min_samples",
        "horizon",
        "learning",
        "method",
        "min_samples",
        "window",
    )

    def __init__(
        self,
        window: int = 1440,
        clip: float = 4.0,
        horizon: int = 15,
        method: str = "spearman",
        fit_min_samples: int = 1000,
        min_samples: int | None = None,
        learning: LearningSettings | None = None,
    ) -> None:
        self.window = window
        self.clip = clip
        self.horizon = horizon
        self.method = method
        self.fit_min_samples = fit_min_samples
        self.min_samples = min_samples
        #: Weekly re-weighting (None or disabled: the weights stay as chosen at start).
        self.learning = learning


class SignalTracker:
    """Runs the signal engine on each candle and reports every decision.

    Args:
        engine: The signal engine (weights already chosen).
        sink: Where decision records are emitted (``decision``).
        repository: Where they are stored (None: not stored, e.g. a backtest).
        full_records: Emit the whole record (features, every system); False emits the
            convictions and regime only — a backtest's counting sink would discard the rest,
            and building it costs more than deciding.
        learner: The weekly re-weighting (None: the weights never change).
        weights_source: Where the weights in use came from (for status).
        weights_since: When they came into use (ms; 0 if unknown).
        last_update: The latest weekly update as journaled before a restart (None: none).
    """

    def __init__(
        self,
        engine: SignalEngine,
        sink: EventSink,
        repository: OrderRepository | None = None,
        full_records: bool = True,
        learner: WeightLearner | None = None,
        weights_source: str = "",
        weights_since: int = 0,
        last_update: LearnedState | None = None,
    ) -> None:
        self.engine = engine
        self._sink = sink
        self._repo = repository
        self._full = full_records or repository is not None
        self.learner = learner
        self.decisions = 0
        self.weights_source = weights_source
        self.weights_since = weights_since
        #: Boundary, outcome and held-out score of the latest weekly update (0, "", None:
        #: none yet), shown by ``GetStatus``.
        self.last_update_boundary = 0 if last_update is None else last_update.boundary
        self.last_update_source = "" if last_update is None else last_update.source
        self.last_validation_score = None if last_update is None else last_update.validation_score

    @property
    def last(self) -> DecisionRecord | None:
        """The latest decision."""
        return self.engine.last

    def warm_up(self, candles: Sequence[Candle]) -> None:
        """Feed history without reporting (a start's look-back); the learner keeps its rows."""
        learner = self.learner
        for candle in candles:
            record = self.engine.update(candle)
            if record is not None and learner is not None:
                learner.observe(record.open_time, float(candle.close), record.features)

    def _relearn(self, open_time: int) -> None:
        learner = self.learner
        assert learner is not None
        engine = self.engine
        update, calibration = learner.update(open_time, engine.weights, engine.calibration)
        engine.reweight(update.weights, calibration)
        self.last_update_boundary = update.boundary
        self.last_update_source = update.source
        score = update.validation_score
        self.last_validation_score = score if math.isfinite(score) else None
        if update.changed:
            self.weights_source = f"weekly {update.source}"
            self.weights_since = update.boundary
            if self._repo is not None:
                with self._repo.transaction():
                    self._repo.save_state(WEIGHTS_KEY, json.dumps(update.weights.to_dict()))

    def weights_view(self, now_ms: int) -> WeightsView:
        """The weights' source, age and latest weekly update, for ``GetStatus``."""
        learner = self.learner
        since = self.weights_since
        return WeightsView(
            source=self.weights_source,
            since_ms=since,
            age_ms=max(now_ms - since, 0) if since else 0,
            learning=learner is not None,
            last_update_ms=self.last_update_boundary,
            last_update_source=self.last_update_source,
            validation_score=self.last_validation_score,
            next_update_ms=(learner.next_boundary or 0) if learner is not None else 0,
        )

    def on_candle(self, candle: Candle) -> DecisionRecord | None:
        """Decide on a closed candle; report and store the record.

        A candle past the next weekly boundary first triggers the update (on the rows
        before it), so it is decided with the weights the update chose.
        """
        learner = self.learner
        if learner is not None and learner.due(candle.open_time):
            self._relearn(candle.open_time)
        record = self.engine.update(candle)
        if record is None:
            return None
        if learner is not None:
            learner.observe(record.open_time, float(candle.close), record.features)
        self.decisions += 1
        if not self._full:
            self._sink.emit(
                "decision",
                candle.close_time,
                open_time=record.open_time,
                regime=str(record.regime),
                long_conviction=record.long_conviction,
                short_conviction=record.short_conviction,
            )
            return record
        fields = record.to_dict()
        self._sink.emit("decision", candle.close_time, **fields)
        if self._repo is not None:
            self._repo.save_report("decision", record.open_time, json.dumps(fields))
        return record


def choose_weights(
    settings: SignalSettings,
    repository: OrderRepository | None,
    history: Sequence[Candle],
) -> tuple[SignalWeights, str]:
    """The weights to trade with, and where they came from.

    The journal's weights win (a restart continues with what it used); else weights fitted
    on ``history`` (correlation with forward returns over the warm-up window, with the
    documented fallback when it is too short); they are saved to the journal.
    """
    if repository is not None:
        stored = repository.load_state(WEIGHTS_KEY)
        if stored is not None:
            return SignalWeights.from_dict(json.loads(stored)), "journal"
    if history:
        weights = fit_on_history(
            history,
            horizon=settings.horizon,
            method=settings.method,
            window=settings.window,
            clip=settings.clip,
            min_samples=settings.fit_min_samples,
        )
        source = f"fitted on {len(history)} candles" + _fallback_note(
            weights, settings.fit_min_samples
        )
    else:
        weights = heuristic_weights(settings.horizon, settings.method)
        source = "heuristic (no history)"
    if repository is not None:
        with repository.transaction():
            repository.save_state(WEIGHTS_KEY, json.dumps(weights.to_dict()))
    return weights, source


def _fallback_note(weights: SignalWeights, min_samples: int) -> str:
    """Why a fit fell back: too few rows, or (on enough rows) no correlation cleared the bar."""
    if not weights.fallback:
        return ""
    if weights.samples < max(min_samples, MIN_INDEPENDENT_SAMPLES * weights.horizon):
        return " (fallback: too little data)"
    parts = ", ".join(weights.fallback_parts)
    return (
        f" ({weights.samples} samples; fallback for {parts}: no correlation cleared the threshold)"
    )


def signal_tracker(
    settings: SignalSettings,
    sink: EventSink,
    repository: OrderRepository | None,
    history: Sequence[Candle] = (),
    full_records: bool = True,
    now_ms: int = 0,
    weight_journal: SignalWeightJournal | None = None,
) -> tuple[SignalTracker, str]:
    """A tracker with chosen weights, warmed up on the tail of ``history``.

    ``now_ms`` stamps the ``signals.weights`` record when there is no history to date it
    by (a live start without history used to log it at 1970-01-01). With learning on, the
    latest update in ``weight_journal`` gives the calibration and the boundary the weekly
    clock continues from, and the whole history warms the learner's rows (a history of at
    least ``trailing_weeks + 1`` weeks lets the first update fit on it).
    """
    weights, source = choose_weights(settings, repository, history)
    learning = settings.learning
    learner: WeightLearner | None = None
    calibration = None
    state: LearnedState | None = None
    since = history[-1].close_time if history else now_ms
    if learning is not None and learning.enabled:
        state = latest_learned_state(weight_journal)
        if state is not None:
            calibration = state.calibration
            source = f"{source}; weekly {state.source} at {state.boundary}"
            if state.changed_at is not None:
                since = state.changed_at
        learner = WeightLearner(
            learning, sink, weight_journal, None if state is None else state.boundary
        )
    engine = SignalEngine(
        weights, settings.window, settings.clip, settings.min_samples, calibration
    )
    tracker = SignalTracker(engine, sink, repository, full_records, learner, source, since, state)
    keep = engine.warmup_candles
    if learner is not None:
        keep = max(keep, learner.settings.lookback_ms // 60_000)
    tracker.warm_up(history[-keep:] if history else ())
    sink_fields = {"source": source, "fallback": weights.fallback, "horizon": weights.horizon}
    sink.emit("signals.weights", history[-1].close_time if history else now_ms, **sink_fields)
    return tracker, source
