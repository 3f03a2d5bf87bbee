"""The three trading systems: UP and DOWN trend followers and a NEUTRAL range mean-reverter.

Each system reads the normalised feature vector ``z`` (rolling z-scores, clipped, in
:data:`~domain.features.names.FEATURE_NAMES` order) and returns a **score** in [-1, 1]
(positive = long) and a **confidence** in [0, 1]. The same arithmetic serves every system:

* **Signed weights.** A system declares the features it uses and the sign each should
  carry (:class:`SystemSpec`). Its weight vector over all F features is
  ``w = sign * magnitude``: magnitudes are non-negative, sum to 1 and are zero on features
  the system does not use. Magnitudes come from the correlation fit
  (:mod:`domain.signals.weights`) or, without enough data, from the spec's heuristic.
* **Score.** ``u = w . z`` is a weighted mean of signed z-scores, and
  ``score = tanh(u / SCORE_SCALE)`` bounds it: half a standard deviation of agreement
  (``u = 0.5``) maps to 0.76, a full one to 0.96. A trend system's bias halves scores
  against its direction (UP's negative scores, DOWN's positive ones, factor
  :data:`COUNTER_BIAS`): a trend follower may warn against its side, but it is a weak
  witness for the opposite trade.
* **Agreement.** ``|w . z| / sum_i |w_i z_i|`` in [0, 1]: 1 when every contributing
  feature points the same way, near 0 when they cancel. A large score built from a few
  loud features fighting the rest deserves less trust than the same score from a chorus.
* **Regime gate** in [0, 1], from two market-state measures shared by the systems: the
  trend ``T`` (mean z of EMA spread, EMA slope and 20-bar return on 15m and 1h) and the
  volatility ``V`` (mean z of realised volatility and ATR on 15m and 1h). With
  ``h = tanh(T / TREND_SCALE)``: UP's gate is ``(1 + h) / 2`` (open in up-trends), DOWN's
  ``(1 - h) / 2``, NEUTRAL's ``(1 - |h|) * (1 - tanh(V / VOLATILITY_SCALE)) / 2`` (open when
  the trend is weak, wider when volatility is below its recent norm, since ranges break in
  volatility expansions).
* **Confidence** ``= gate * sqrt(|score| * agreement)``: zero when the system is out of
  its regime, says nothing, or is internally split.

Inputs are sanitised, not trusted: a NaN feature counts as 0 (no information), and every
value is clipped to ±:data:`INPUT_BOUND`, far outside any normalised z-score, only so that
no finite input can overflow. Ordinary vectors take a fast path on which this clipping is
provably a no-op (their absolute sum is within the bound). On the per-candle path a
non-finite or overflowing input also makes numpy emit its RuntimeWarning before the
vector is sanitised (suppressing it would cost an ``errstate`` on every candle); the
result is still the sanitised one.

:class:`System` evaluates one system; :class:`Systems` evaluates the three together with
two small matrix-vector products, which is what the per-candle path uses. Both have a
vectorised ``evaluate_batch`` (T x F in) that gives the per-candle numbers up to
floating-point summation order (tested to 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import sqrt, tanh
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from domain.features.names import BASE_FEATURES, FEATURE_INDEX, FEATURE_NAMES, TIMEFRAMES
from domain.signals.regime import SYSTEM_INDEX, Regime

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Number of features in every vector.
N_FEATURES = len(FEATURE_NAMES)

#: ``score = tanh(u / SCORE_SCALE)`` with ``u`` the weighted mean signed z-score.
SCORE_SCALE = 0.5

#: ``h = tanh(T / TREND_SCALE)`` for the trend measure ``T`` of the regime gates.
TREND_SCALE = 0.5

#: NEUTRAL's volatility factor is ``(1 - tanh(V / VOLATILITY_SCALE)) / 2``.
VOLATILITY_SCALE = 1.0

#: Factor applied to a trend system's scores against its bias (UP < 0, DOWN > 0).
COUNTER_BIAS = 0.5

#: Every input value is clipped to ±INPUT_BOUND (NaN -> 0) before use.
INPUT_BOUND = 1000.0

#: Trend measure T: equal-weight mean of these z-scores (slow timeframes: the regime).
TREND_FEATURES: tuple[str, ...] = (
    "15m.ema_spread_12_26",
    "1h.ema_spread_12_26",
    "15m.ema_slope_20",
    "1h.ema_slope_20",
    "15m.logret_20",
    "1h.logret_20",
)

#: Volatility measure V: equal-weight mean of these z-scores.
VOLATILITY_FEATURES: tuple[str, ...] = ("15m.rvol_20", "1h.rvol_20", "15m.atr_14", "1h.atr_14")

_BATCH_CHUNK = 16384
_VECTOR_SHAPE = (N_FEATURES,)

Triple = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class FeatureUse:
    """One base feature a system reads, on every timeframe.

    Attributes:
        feature: Base feature name (an entry of ``BASE_FEATURES``).
        sign: +1.0 if a high value argues long for this system, -1.0 if it argues short.
        weight: Heuristic magnitude (before the timeframe factor and normalisation), used
            when the correlation fit has too little data.
    """

    feature: str
    sign: float
    weight: float


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """What a system reads and how: features with signs, heuristic weights, bias.

    Attributes:
        regime: The regime the system is built for (and its position in every array).
        uses: The base features it reads, each on every timeframe.
        timeframe_weights: Heuristic factor per timeframe label, multiplying ``uses``'
            weights: trend lives on slow bars, range reversion on fast ones.
        long_factor: Multiplier for positive scores (1.0, or COUNTER_BIAS for DOWN).
        short_factor: Multiplier for negative scores (1.0, or COUNTER_BIAS for UP).
    """

    regime: Regime
    uses: tuple[FeatureUse, ...]
    timeframe_weights: tuple[tuple[str, float], ...]
    long_factor: float
    short_factor: float

    def __post_init__(self) -> None:
        labels = {label for label, _ in TIMEFRAMES}
        if {label for label, _ in self.timeframe_weights} != labels:
            raise ValueError(f"{self.regime}: timeframe_weights must cover {sorted(labels)}")
        if any(not factor > 0 for _, factor in self.timeframe_weights):
            raise ValueError(f"{self.regime}: timeframe weights must be > 0")
        seen: set[str] = set()
        for use in self.uses:
            if use.feature not in BASE_FEATURES:
                raise ValueError(f"{self.regime}: unknown base feature {use.feature!r}")
            if use.feature in seen:
                raise ValueError(f"{self.regime}: feature {use.feature!r} listed twice")
            seen.add(use.feature)
            if use.sign not in (1.0, -1.0):
                raise ValueError(f"{self.regime}: sign of {use.feature} must be +1 or -1")
            if not use.weight > 0:
                raise ValueError(f"{self.regime}: weight of {use.feature} must be > 0")
        for factor in (self.long_factor, self.short_factor):
            if not 0.0 < factor <= 1.0:
                raise ValueError(f"{self.regime}: score factors must be in (0, 1]")

    def feature_names(self) -> tuple[str, ...]:
        """Full names (``"<timeframe>.<feature>"``) of the features used, in layout order."""
        used = self.used()
        return tuple(name for name, flag in zip(FEATURE_NAMES, used, strict=True) if flag)

    def used(self) -> BoolArray:
        """Mask over all features: True where the system reads the feature."""
        mask: BoolArray = self.signs() != 0.0
        return mask

    def signs(self) -> FloatArray:
        """Sign of each feature for this system: +1 / -1 where used, 0 elsewhere."""
        out = np.zeros(N_FEATURES, dtype=np.float64)
        for label, _ in TIMEFRAMES:
            for use in self.uses:
                out[FEATURE_INDEX[f"{label}.{use.feature}"]] = use.sign
        return out

    def heuristic_weights(self) -> FloatArray:
        """Fallback magnitudes: feature weight x timeframe factor, normalised to sum 1."""
        out = np.zeros(N_FEATURES, dtype=np.float64)
        for label, factor in self.timeframe_weights:
            for use in self.uses:
                out[FEATURE_INDEX[f"{label}.{use.feature}"]] = use.weight * factor
        normalised: FloatArray = out / float(out.sum())
        return normalised


UP_SPEC = SystemSpec(
    regime=Regime.UP,
    uses=(
        FeatureUse("logret_5", +1.0, 1.0),
        FeatureUse("logret_20", +1.0, 1.0),
        FeatureUse("ema_slope_20", +1.0, 1.0),
        FeatureUse("ema_spread_12_26", +1.0, 1.5),
        FeatureUse("rsi_14", +1.0, 0.75),
        FeatureUse("range_pos_20", +1.0, 0.75),
        FeatureUse("taker_buy_ratio_20", +1.0, 0.5),
        FeatureUse("volume_z_20", +1.0, 0.25),
    ),
    timeframe_weights=(("1m", 0.5), ("5m", 1.0), ("15m", 1.5), ("1h", 2.0)),
    long_factor=1.0,
    short_factor=COUNTER_BIAS,
)
"""UP: trend follower with a long bias.

Reads positive momentum (5- and 20-bar returns), the EMA slope and the 12/26 EMA spread
(the spread weighted highest: it is the smoothest trend measure), RSI and range position
(strength within the recent range), the taker-buy ratio (aggressive buyers) and volume
(participation confirms an advance), all with sign +1. Slow timeframes weigh most
(1m 0.5, 5m 1, 15m 1.5, 1h 2): trends are a property of hours, the 1m bar is mostly noise.
Negative scores are halved (long bias); the gate opens in up-trends.
"""

DOWN_SPEC = SystemSpec(
    regime=Regime.DOWN,
    uses=(
        FeatureUse("logret_1", +1.0, 0.5),
        FeatureUse("logret_5", +1.0, 1.0),
        FeatureUse("logret_20", +1.0, 1.0),
        FeatureUse("ema_slope_20", +1.0, 1.0),
        FeatureUse("ema_spread_12_26", +1.0, 1.5),
        FeatureUse("rsi_14", +1.0, 0.5),
        FeatureUse("range_pos_20", +1.0, 0.75),
        FeatureUse("taker_buy_ratio_20", +1.0, 0.75),
        FeatureUse("volume_z_20", -1.0, 0.25),
        FeatureUse("rvol_20", -1.0, 0.5),
        FeatureUse("atr_14", -1.0, 0.25),
    ),
    timeframe_weights=(("1m", 1.0), ("5m", 1.5), ("15m", 1.5), ("1h", 1.0)),
    long_factor=COUNTER_BIAS,
    short_factor=1.0,
)
"""DOWN: trend follower with a short bias.

Directional features carry the same sign as UP's (falling returns, slope, spread, RSI,
range position and taker-buy ratio push the score negative), plus the 1-bar return:
declines are faster than advances, so the fast timeframes weigh more than for UP
(1m 1, 5m 1.5, 15m 1.5, 1h 1). Volume, realised volatility and ATR carry sign -1:
sell-offs come with volume spikes and volatility expansion (liquidations), so their
expansion argues short. Positive scores are halved (short bias); the gate opens in
down-trends.
"""

NEUTRAL_SPEC = SystemSpec(
    regime=Regime.NEUTRAL,
    uses=(
        FeatureUse("bb_pctb_20", -1.0, 1.5),
        FeatureUse("range_pos_20", -1.0, 1.0),
        FeatureUse("rsi_14", -1.0, 1.0),
        FeatureUse("logret_1", -1.0, 0.5),
        FeatureUse("logret_5", -1.0, 0.5),
        FeatureUse("taker_buy_ratio_20", -1.0, 0.25),
    ),
    timeframe_weights=(("1m", 1.5), ("5m", 1.5), ("15m", 1.0), ("1h", 0.5)),
    long_factor=1.0,
    short_factor=1.0,
)
"""NEUTRAL: mean reversion inside a range.

Every feature carries sign -1: price high in its Bollinger band (%b) or its 20-bar range,
an overbought RSI, a short-term spike (1- and 5-bar returns) or a burst of aggressive
buying argue for a move back (short), and their mirror images for long. Fast timeframes
weigh most (1m 1.5, 5m 1.5, 15m 1, 1h 0.5): reversion plays out over minutes. No
directional bias; the gate opens when the trend is weak and volatility low.
"""

#: The three specs, in :data:`SYSTEMS` order.
SPECS: tuple[SystemSpec, SystemSpec, SystemSpec] = (UP_SPEC, DOWN_SPEC, NEUTRAL_SPEC)

SPEC_BY_REGIME: dict[Regime, SystemSpec] = {spec.regime: spec for spec in SPECS}


def _mean_vector(names: Sequence[str]) -> FloatArray:
    out = np.zeros(N_FEATURES, dtype=np.float64)
    for name in names:
        out[FEATURE_INDEX[name]] = 1.0 / len(names)
    return out


#: Row vectors of the market-state measures: ``T = TREND_VECTOR . z``, ``V = ...``.
TREND_VECTOR: FloatArray = _mean_vector(TREND_FEATURES)
VOLATILITY_VECTOR: FloatArray = _mean_vector(VOLATILITY_FEATURES)


def gates(trend: float, volatility: float) -> tuple[float, float, float]:
    """Regime gates (UP, DOWN, NEUTRAL), each in [0, 1], from the market-state measures.

    Args:
        trend: ``T``, the mean trend z-score (see the module docstring).
        volatility: ``V``, the mean volatility z-score.
    """
    h = math.tanh(trend / TREND_SCALE)
    calm = 0.5 * (1.0 - math.tanh(volatility / VOLATILITY_SCALE))
    return 0.5 * (1.0 + h), 0.5 * (1.0 - h), (1.0 - abs(h)) * calm


def gates_batch(trend: FloatArray, volatility: FloatArray) -> FloatArray:
    """Vectorised :func:`gates`: T x 3 (UP, DOWN, NEUTRAL) from length-T measures."""
    h = np.tanh(trend / TREND_SCALE)
    calm = 0.5 * (1.0 - np.tanh(volatility / VOLATILITY_SCALE))
    return np.stack((0.5 * (1.0 + h), 0.5 * (1.0 - h), (1.0 - np.abs(h)) * calm), axis=1)


def sanitise(normalised: npt.ArrayLike) -> FloatArray:
    """The input as the systems read it: NaN -> 0, everything clipped to ±INPUT_BOUND."""
    z = np.nan_to_num(
        np.asarray(normalised, dtype=np.float64),
        nan=0.0,
        posinf=INPUT_BOUND,
        neginf=-INPUT_BOUND,
    )
    return np.clip(z, -INPUT_BOUND, INPUT_BOUND)


def score_confidence(
    u: float, spread: float, long_factor: float, short_factor: float, gate: float
) -> tuple[float, float]:
    """A system's score and confidence from its pre-activation and absolute contribution.

    Args:
        u: ``w . z``, the weighted mean signed z-score.
        spread: ``sum_i |w_i z_i|`` (>= |u|), the total absolute contribution.
        long_factor: Multiplier for positive scores.
        short_factor: Multiplier for negative scores.
        gate: The system's regime gate in [0, 1].

    Returns:
        ``(score, confidence)``, in [-1, 1] and [0, 1].
    """
    x = math.tanh(u / SCORE_SCALE)
    score = x * long_factor if x > 0.0 else x * short_factor
    agreement = abs(u) / spread if spread > 0.0 else 0.0
    if agreement > 1.0:
        agreement = 1.0
    return score, gate * math.sqrt(abs(score) * agreement)


def score_confidence_batch(
    u: FloatArray,
    spread: FloatArray,
    long_factor: FloatArray | float,
    short_factor: FloatArray | float,
    gate: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`score_confidence`; factors broadcast against ``u`` (e.g. shape (3,))."""
    x = np.tanh(u / SCORE_SCALE)
    score = np.where(x > 0.0, x * long_factor, x * short_factor)
    agreement = np.zeros_like(u)
    np.divide(np.abs(u), spread, out=agreement, where=spread > 0.0)
    np.minimum(agreement, 1.0, out=agreement)
    return score, gate * np.sqrt(np.abs(score) * agreement)


def _validated_magnitudes(spec: SystemSpec, magnitudes: npt.ArrayLike | None) -> FloatArray:
    """Magnitudes as a normalised float vector; the spec's heuristic when None."""
    if magnitudes is None:
        return spec.heuristic_weights()
    m = np.array(magnitudes, dtype=np.float64)
    if m.shape != (N_FEATURES,):
        raise ValueError(f"{spec.regime}: expected {N_FEATURES} feature weights, got {m.shape}")
    if not np.isfinite(m).all() or (m < 0.0).any():
        raise ValueError(f"{spec.regime}: feature weights must be finite and >= 0")
    unused = ~spec.used()
    if (m[unused] != 0.0).any():
        names = [FEATURE_NAMES[i] for i in np.flatnonzero(unused & (m != 0.0))]
        raise ValueError(f"{spec.regime}: weights on features it does not use: {names[:5]}")
    total = float(m.sum())
    if not total > 0.0:
        raise ValueError(f"{spec.regime}: feature weights sum to zero")
    return m / total


def _check_vector(normalised: npt.NDArray[np.generic]) -> None:
    if normalised.shape != (N_FEATURES,):
        raise ValueError(
            f"expected a feature vector of shape ({N_FEATURES},), got {normalised.shape}"
        )


def _check_matrix(normalised: npt.ArrayLike) -> FloatArray:
    z = np.asarray(normalised, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != N_FEATURES:
        raise ValueError(f"expected a T x {N_FEATURES} feature matrix, got shape {z.shape}")
    return z


class System:
    """One system with its feature weights (see the module docstring for the rules).

    Args:
        spec: What the system reads (:data:`UP_SPEC`, :data:`DOWN_SPEC`, :data:`NEUTRAL_SPEC`).
        magnitudes: Non-negative feature weights over all features, zero where the spec
            does not read; normalised to sum 1. None uses the spec's heuristic weights.
    """

    __slots__ = ("_absolute", "_gate_index", "_magnitudes", "_signed", "spec")

    def __init__(self, spec: SystemSpec, magnitudes: npt.ArrayLike | None = None) -> None:
        self.spec = spec
        self._magnitudes = _validated_magnitudes(spec, magnitudes)
        self._signed = np.vstack((spec.signs() * self._magnitudes, TREND_VECTOR, VOLATILITY_VECTOR))
        self._absolute = np.vstack((self._magnitudes, np.ones(N_FEATURES)))
        self._gate_index = SYSTEM_INDEX[spec.regime]

    @property
    def weight_vector(self) -> FloatArray:
        """Signed weights ``sign * magnitude`` over all features (a copy)."""
        row: FloatArray = self._signed[0].copy()
        return row

    @property
    def magnitudes(self) -> FloatArray:
        """Non-negative feature weights, summing to 1 (a copy)."""
        return self._magnitudes.copy()

    def evaluate(self, normalised: npt.NDArray[np.generic]) -> tuple[float, float]:
        """Score in [-1, 1] and confidence in [0, 1] for one normalised feature vector."""
        _check_vector(normalised)
        u, trend, vol = np.dot(self._signed, normalised).tolist()
        spread, total = np.dot(self._absolute, np.abs(normalised)).tolist()
        if not total <= INPUT_BOUND:
            clean = sanitise(normalised)
            u, trend, vol = np.dot(self._signed, clean).tolist()
            spread, total = np.dot(self._absolute, np.abs(clean)).tolist()
        gate = gates(trend, vol)[self._gate_index]
        return score_confidence(u, spread, self.spec.long_factor, self.spec.short_factor, gate)

    def evaluate_batch(self, normalised: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Scores and confidences (each length T) for a T x F matrix; equals :meth:`evaluate`."""
        z = _check_matrix(normalised)
        scores = np.empty(z.shape[0], dtype=np.float64)
        confidences = np.empty(z.shape[0], dtype=np.float64)
        for rows in _chunks(z.shape[0]):
            u, spread = _pre_activations(z[rows], self._signed, self._absolute)
            g = gates_batch(u[:, 1], u[:, 2])[:, self._gate_index]
            scores[rows], confidences[rows] = score_confidence_batch(
                u[:, 0], spread[:, 0], self.spec.long_factor, self.spec.short_factor, g
            )
        return scores, confidences


def _chunks(n: int) -> Iterator[slice]:
    """Row slices of at most _BATCH_CHUNK rows: every temporary stays in cache."""
    for lo in range(0, n, _BATCH_CHUNK):
        yield slice(lo, min(n, lo + _BATCH_CHUNK))


def _pre_activations(
    block: FloatArray, signed: FloatArray, absolute: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``block @ signed.T`` and ``|block| @ absolute.T``, sanitising rows that need it.

    The last row of ``absolute`` is all ones, so its column is ``sum |z|``: a row whose
    sum is within INPUT_BOUND needs no clipping; the others are recomputed from
    :func:`sanitise`, exactly as the per-candle path does.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # such rows are redone below
        u = block @ signed.T
        spread = np.abs(block) @ absolute.T
    bad = ~(spread[:, -1] <= INPUT_BOUND)
    if bad.any():
        clean = sanitise(block[bad])
        u[bad] = clean @ signed.T
        spread[bad] = np.abs(clean) @ absolute.T
    return u, spread


class SystemOutputs(NamedTuple):
    """The three systems' outputs for one candle, each a triple in :data:`SYSTEMS` order."""

    scores: Triple
    confidences: Triple
    gates: Triple


class SystemBatch(NamedTuple):
    """The three systems' outputs over T candles: T x 3 arrays in :data:`SYSTEMS` order."""

    scores: FloatArray
    confidences: FloatArray
    gates: FloatArray


class Systems:
    """UP, DOWN and NEUTRAL evaluated together: the per-candle hot path.

    Stacks the three signed weight vectors with the trend and volatility rows into one
    5 x F matrix, and the three magnitude vectors with a row of ones into a 4 x F matrix,
    so a candle costs two matrix-vector products and an ``abs``, then plain float math.

    Args:
        feature_weights: Magnitudes per system in :data:`SYSTEMS` order (see
            :class:`System`); None for all three uses the heuristic weights.
    """

    __slots__ = ("_absolute", "_factors", "_long", "_short", "_signed", "systems")

    def __init__(self, feature_weights: Sequence[npt.ArrayLike] | None = None) -> None:
        if feature_weights is None:
            self.systems = tuple(System(spec) for spec in SPECS)
        else:
            if len(feature_weights) != len(SPECS):
                raise ValueError(
                    f"expected {len(SPECS)} weight vectors, got {len(feature_weights)}"
                )
            self.systems = tuple(
                System(spec, m) for spec, m in zip(SPECS, feature_weights, strict=True)
            )
        self._signed = np.vstack(
            [s.weight_vector for s in self.systems] + [TREND_VECTOR, VOLATILITY_VECTOR]
        )
        self._absolute = np.vstack([s.magnitudes for s in self.systems] + [np.ones(N_FEATURES)])
        self._factors = tuple((s.spec.long_factor, s.spec.short_factor) for s in self.systems)
        self._long = np.array([s.spec.long_factor for s in self.systems])
        self._short = np.array([s.spec.short_factor for s in self.systems])

    def system(self, regime: Regime) -> System:
        """The system for ``regime``."""
        return self.systems[SYSTEM_INDEX[regime]]

    def evaluate(self, normalised: npt.NDArray[np.generic]) -> SystemOutputs:
        """The three systems' scores, confidences and gates for one feature vector."""
        scores, confidences, g = self.evaluate_triples(normalised)
        return SystemOutputs(scores, confidences, g)

    def evaluate_triples(
        self, normalised: npt.NDArray[np.generic]
    ) -> tuple[Triple, Triple, Triple]:
        """:meth:`evaluate` as a plain tuple ``(scores, confidences, gates)``.

        The per-candle hot path: two matrix-vector products, then float arithmetic
        (:func:`score_confidence` inlined; it is the reference the tests compare with).
        """
        if normalised.shape != _VECTOR_SHAPE:
            _check_vector(normalised)
        u0, u1, u2, trend, vol = np.dot(self._signed, normalised).tolist()
        s0, s1, s2, total = np.dot(self._absolute, np.abs(normalised)).tolist()
        if not total <= INPUT_BOUND:
            clean = sanitise(normalised)
            u0, u1, u2, trend, vol = np.dot(self._signed, clean).tolist()
            s0, s1, s2, total = np.dot(self._absolute, np.abs(clean)).tolist()
        h = tanh(trend / TREND_SCALE)
        g0 = 0.5 * (1.0 + h)
        g1 = 0.5 * (1.0 - h)
        g2 = (1.0 - (h if h >= 0.0 else -h)) * (0.5 * (1.0 - tanh(vol / VOLATILITY_SCALE)))
        (l0, h0), (l1, h1), (l2, h2) = self._factors
        x0 = tanh(u0 / SCORE_SCALE)
        x0 = x0 * l0 if x0 > 0.0 else x0 * h0
        x1 = tanh(u1 / SCORE_SCALE)
        x1 = x1 * l1 if x1 > 0.0 else x1 * h1
        x2 = tanh(u2 / SCORE_SCALE)
        x2 = x2 * l2 if x2 > 0.0 else x2 * h2
        a0 = (u0 if u0 >= 0.0 else -u0) / s0 if s0 > 0.0 else 0.0
        a1 = (u1 if u1 >= 0.0 else -u1) / s1 if s1 > 0.0 else 0.0
        a2 = (u2 if u2 >= 0.0 else -u2) / s2 if s2 > 0.0 else 0.0
        c0 = g0 * sqrt((x0 if x0 >= 0.0 else -x0) * (a0 if a0 < 1.0 else 1.0))
        c1 = g1 * sqrt((x1 if x1 >= 0.0 else -x1) * (a1 if a1 < 1.0 else 1.0))
        c2 = g2 * sqrt((x2 if x2 >= 0.0 else -x2) * (a2 if a2 < 1.0 else 1.0))
        return (x0, x1, x2), (c0, c1, c2), (g0, g1, g2)

    def evaluate_batch(self, normalised: npt.ArrayLike) -> SystemBatch:
        """Vectorised :meth:`evaluate` over a T x F matrix (T x 3 outputs)."""
        z = _check_matrix(normalised)
        n = z.shape[0]
        scores = np.empty((n, 3), dtype=np.float64)
        confidences = np.empty((n, 3), dtype=np.float64)
        g = np.empty((n, 3), dtype=np.float64)
        for rows in _chunks(n):
            u, spread = _pre_activations(z[rows], self._signed, self._absolute)
            g[rows] = gates_batch(u[:, 3], u[:, 4])
            scores[rows], confidences[rows] = score_confidence_batch(
                u[:, :3], spread[:, :3], self._long, self._short, g[rows]
            )
        return SystemBatch(scores, confidences, g)
