"""Weekly walk-forward re-weighting: refit, shrink, validate out of sample, or fall back.

At each weekly boundary ``B`` (a configured UTC weekday and hour) the weights are
re-examined on the rows seen before ``B`` only:

* **Fit window**: the ``trailing_weeks`` weeks before the validation week, i.e. rows with
  open time in ``[B - (N + 1) weeks, B - 1 week - purge)``. :func:`fit_weights` further
  drops rows whose forward return would end at or after the purge start, so no forward
  return of the fit reaches within ``purge`` (at least the forecast horizon) of the
  validation week. The system-weight floor is 0 here: a system whose evidence says it hurts
  can lose its weight entirely.
* **Shrink**: the fitted candidate is not used as is; the weights in use move toward it by
  at most ``max_step`` on any single weight (system weights, and each system's feature
  weights): ``new = current + lam * (candidate - current)`` with the largest
  ``lam <= 1`` that keeps every change within ``max_step``. A convex combination of two
  weight vectors that sum to 1 sums to 1, and a weight can still reach 0.
* **Validate**: the shrunk candidate, the current weights and the heuristic weights are
  scored on the held-out week ``[B - 1 week, B)``, which none of them was fitted on; the
  score is the rank IC of the ensemble's net conviction (long - short) with the forward
  return over the horizon, matched by time. The candidate is kept only if it beats both;
  else the current weights stay if they beat (or tie) the heuristic ones; else the bot
  falls back to the heuristic weights.

Nothing here reads a candle at or after ``B``: the caller passes the rows it has seen
before the boundary, and the result depends on them only (tested by changing later
candles). The same function runs in backtests, paper and live (through the signal
tracker) and in the evidence benchmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.signals.correlation import correlation
from domain.signals.evaluation import forward_log_returns
from domain.signals.regime import SYSTEMS
from domain.signals.signal_model import SignalModel
from domain.signals.weights import (
    MIN_INDEPENDENT_SAMPLES,
    SignalWeights,
    fit_weights,
    heuristic_weights,
)

FloatArray = npt.NDArray[np.float64]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

#: 1970-01-01 (time 0) was a Thursday; Python's weekday numbers Monday as 0.
_EPOCH_WEEKDAY = 3

#: Where the weights in use after an update came from.
SOURCES = ("refit", "current", "heuristic", "skipped")


@dataclass(frozen=True, slots=True)
class LearningSettings:
    """When and how the weights are re-examined (``signals.learning``).

    Attributes:
        enabled: Re-examine weekly at all.
        weekday: UTC weekday of the boundary, 0 = Monday .. 6 = Sunday.
        hour: UTC hour of the boundary, 0..23.
        trailing_weeks: Weeks of rows the refit reads (before the validation week).
        max_step: Largest change of any single weight per update, in (0, 1].
        purge_minutes: Gap between the fit's last forward return and the validation week;
            at least the forecast horizon.
        horizon: Forecast horizon in minutes (the fit's and the validation's).
        method: Correlation of the fit and the validation (``"spearman"``/``"pearson"``).
        fit_min_samples: The fit's minimum usable rows (else its heuristic fallback).
    """

    enabled: bool = True
    weekday: int = 0
    hour: int = 0
    trailing_weeks: int = 4
    max_step: float = 0.25
    purge_minutes: int = 60
    horizon: int = 15
    method: str = "spearman"
    fit_min_samples: int = 1000

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0..6, got {self.weekday}")
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0..23, got {self.hour}")
        if self.trailing_weeks < 1:
            raise ValueError(f"trailing_weeks must be >= 1, got {self.trailing_weeks}")
        if not 0.0 < self.max_step <= 1.0:
            raise ValueError(f"max_step must be in (0, 1], got {self.max_step}")
        if self.purge_minutes < self.horizon:
            raise ValueError(
                f"purge_minutes ({self.purge_minutes}) must be at least the horizon "
                f"({self.horizon})"
            )

    @property
    def lookback_ms(self) -> int:
        """How far back before a boundary an update reads: the fit weeks plus one."""
        return (self.trailing_weeks + 1) * WEEK_MS

    @property
    def min_validation_rows(self) -> int:
        """Rows the held-out week needs before an update is attempted."""
        return MIN_INDEPENDENT_SAMPLES * self.horizon


def boundary_at_or_before(time_ms: int, weekday: int, hour: int) -> int:
    """The latest weekly boundary (UTC ``weekday`` at ``hour``:00) at or before ``time_ms``."""
    first = ((weekday - _EPOCH_WEEKDAY) % 7) * DAY_MS + hour * HOUR_MS
    return first + ((time_ms - first) // WEEK_MS) * WEEK_MS


def shrink(current: SignalWeights, candidate: SignalWeights, max_step: float) -> SignalWeights:
    """``current`` moved toward ``candidate`` with no single weight changing by > ``max_step``.

    System weights and each system's feature weights move by their own factor ``lam``
    (module docstring). The result carries the candidate's measurements (ICs, samples,
    threshold, fallback parts): they describe the evidence the move was made on.
    """
    if not 0.0 < max_step <= 1.0:
        raise ValueError(f"max_step must be in (0, 1], got {max_step}")

    def toward(a: FloatArray, b: FloatArray) -> FloatArray:
        gap = float(np.max(np.abs(b - a))) if a.size else 0.0
        lam = 1.0 if gap <= max_step else max_step / gap
        moved = a + lam * (b - a)
        return np.asarray(np.maximum(moved, 0.0), dtype=np.float64)

    cur_f = current.feature_weight_vectors()
    cand_f = candidate.feature_weight_vectors()
    up, down, neutral = (tuple(toward(a, b).tolist()) for a, b in zip(cur_f, cand_f, strict=True))
    cur_s = np.asarray(current.system_weights, dtype=np.float64)
    cur_s = cur_s / cur_s.sum()
    cand_s = np.asarray(candidate.system_weights, dtype=np.float64)
    cand_s = cand_s / cand_s.sum()
    s0, s1, s2 = toward(cur_s, cand_s).tolist()
    return SignalWeights(
        feature_weights=(up, down, neutral),
        system_weights=(s0, s1, s2),
        method=candidate.method,
        horizon=candidate.horizon,
        samples=candidate.samples,
        fallback=candidate.fallback,
        fallback_parts=candidate.fallback_parts,
        feature_ics=candidate.feature_ics,
        system_ics=candidate.system_ics,
        ic_threshold=candidate.ic_threshold,
    )


def validation_score(
    weights: SignalWeights,
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    features: npt.ArrayLike,
    horizon: int,
    method: str = "spearman",
) -> float:
    """IC of the ensemble's net conviction with the forward return, on the given rows.

    Forward returns are matched by time and must end inside the rows given (so a held-out
    week never reads past its own end). NaN when fewer than two rows are usable or the
    net conviction is constant.
    """
    times = np.asarray(open_time, dtype=np.int64)
    z = np.asarray(features, dtype=np.float64)
    if times.shape[0] == 0:
        return math.nan
    decisions = SignalModel(weights).decide_batch(times, z)
    net = decisions.long_conviction - decisions.short_conviction
    returns, _ = forward_log_returns(times, close, horizon)
    usable = np.isfinite(returns) & np.isfinite(net)
    if int(usable.sum()) < 2 or float(np.ptp(net[usable])) == 0.0:
        return math.nan
    return correlation(net[usable], returns[usable], method)


@dataclass(frozen=True, slots=True)
class WeightUpdate:
    """The outcome of one weekly re-examination.

    Attributes:
        boundary: The weekly boundary (ms) it was made at; the weights apply from there.
        source: ``"refit"`` (the shrunk candidate won), ``"current"`` (kept),
            ``"heuristic"`` (fell back) or ``"skipped"`` (too little data; kept).
        weights: The weights to use from the boundary on.
        previous: The weights in use before.
        candidate: The shrunk candidate (None when skipped).
        scores: Validation IC per contender (``candidate``, ``current``, ``heuristic``;
            NaN when not measurable).
        fit_rows: Rows in the fit window.
        validation_rows: Rows in the held-out week.
        reason: One line on why.
    """

    boundary: int
    source: str
    weights: SignalWeights
    previous: SignalWeights
    candidate: SignalWeights | None
    scores: dict[str, float]
    fit_rows: int
    validation_rows: int
    reason: str

    @property
    def changed(self) -> bool:
        """Whether the weights in use change."""
        return self.weights != self.previous

    @property
    def validation_score(self) -> float:
        """The held-out score of the weights chosen (NaN when skipped or not measurable)."""
        contender = _CONTENDER_OF_SOURCE.get(self.source)
        return math.nan if contender is None else self.scores[contender]

    def summary(self) -> dict[str, Any]:
        """The update in a few plain values: source, system weights before / after, scores."""

        def f(v: float) -> float | None:
            return v if math.isfinite(v) else None

        def sw(w: SignalWeights) -> dict[str, float]:
            total = sum(w.system_weights)
            return {str(r): w.system_weights[i] / total for i, r in enumerate(SYSTEMS)}

        return {
            "boundary": self.boundary,
            "source": self.source,
            "changed": self.changed,
            "reason": self.reason,
            "fit_rows": self.fit_rows,
            "validation_rows": self.validation_rows,
            "scores": {k: f(v) for k, v in self.scores.items()},
            "validation_score": f(self.validation_score),
            "system_weights_before": sw(self.previous),
            "system_weights_after": sw(self.weights),
            "system_weights_candidate": sw(self.candidate) if self.candidate else None,
        }


#: Which validation score belongs to the weights each source keeps.
_CONTENDER_OF_SOURCE = {"refit": "candidate", "current": "current", "heuristic": "heuristic"}


def _beats(a: float, b: float) -> bool:
    """``a`` is a measured score strictly above ``b`` (an unmeasured ``b`` loses)."""
    if not math.isfinite(a):
        return False
    return not math.isfinite(b) or a > b


def choose_source(scores: dict[str, float]) -> str:
    """Which contender to use, from the held-out scores (module docstring).

    ``"refit"`` if the candidate beats both others; else ``"current"`` if the current
    weights were measured and the heuristic ones do not beat them; else ``"heuristic"``.
    """
    candidate, current, heuristic = scores["candidate"], scores["current"], scores["heuristic"]
    if _beats(candidate, current) and _beats(candidate, heuristic):
        return "refit"
    if math.isfinite(current) and not _beats(heuristic, current):
        return "current"
    return "heuristic"


def relearn(
    boundary: int,
    open_time: npt.ArrayLike,
    close: npt.ArrayLike,
    features: npt.ArrayLike,
    current: SignalWeights,
    settings: LearningSettings,
) -> WeightUpdate:
    """Re-examine the weights at ``boundary`` on the rows before it (module docstring).

    Args:
        boundary: The weekly boundary (ms).
        open_time: Strictly increasing open times of the rows seen so far (ready rows).
        close: Their closes.
        features: Their normalised features (T x F).
        current: The weights in use.
        settings: The learning settings.

    Raises:
        ValueError: If a row lies at or after ``boundary`` (that would be look-ahead) or the
            shapes disagree.
    """
    times = np.asarray(open_time, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    z = np.asarray(features, dtype=np.float64)
    if times.shape[0] and int(times[-1]) >= boundary:
        raise ValueError("rows at or after the boundary were passed: that is look-ahead")
    if closes.shape != times.shape or z.shape[0] != times.shape[0]:
        raise ValueError("open times, closes and features must have the same length")
    fit_start, purge_start, val_start = np.searchsorted(
        times,
        [
            boundary - settings.lookback_ms,
            boundary - WEEK_MS - settings.purge_minutes * MINUTE_MS,
            boundary - WEEK_MS,
        ],
    ).tolist()
    fit_rows = purge_start - fit_start
    val_rows = times.shape[0] - val_start
    heuristic = heuristic_weights(settings.horizon, settings.method)
    if val_rows < settings.min_validation_rows or fit_rows < settings.fit_min_samples:
        return WeightUpdate(
            boundary=boundary,
            source="skipped",
            weights=current,
            previous=current,
            candidate=None,
            scores={"candidate": math.nan, "current": math.nan, "heuristic": math.nan},
            fit_rows=fit_rows,
            validation_rows=val_rows,
            reason=(
                f"too little data: {fit_rows} fit rows (need {settings.fit_min_samples}), "
                f"{val_rows} held-out rows (need {settings.min_validation_rows})"
            ),
        )
    fitted = fit_weights(
        z[fit_start:purge_start],
        closes[fit_start:purge_start],
        settings.horizon,
        settings.method,
        min_samples=settings.fit_min_samples,
        system_floor=0.0,
    )
    candidate = shrink(current, fitted, settings.max_step)
    held = slice(val_start, None)

    def score(w: SignalWeights) -> float:
        return validation_score(
            w, times[held], closes[held], z[held], settings.horizon, settings.method
        )

    scores = {"candidate": score(candidate), "current": score(current)}
    scores["heuristic"] = scores["current"] if current == heuristic else score(heuristic)
    source = choose_source(scores)
    chosen = {"refit": candidate, "current": current, "heuristic": heuristic}[source]
    reason = {
        "refit": "the refit beat the current and the heuristic weights",
        "current": "the refit did not beat the current weights, which beat the heuristic",
        "heuristic": "neither the refit nor the current weights beat the heuristic ones",
    }[source]
    return WeightUpdate(
        boundary=boundary,
        source=source,
        weights=chosen,
        previous=current,
        candidate=candidate,
        scores=scores,
        fit_rows=fit_rows,
        validation_rows=val_rows,
        reason=reason,
    )
