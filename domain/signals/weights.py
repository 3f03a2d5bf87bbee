"""Initial weights from information coefficients (ICs) over a warm-up window.

**Forward returns and no look-ahead.** The fit reads a feature matrix ``features`` (T x F,
normalised, row t known at the close of candle t), the closes and a ``horizon`` h. Row t's
target is the forward log return ``log(close[t + h] / close[t])``. The fit uses the window
``[start, end)`` of the arrays, and only rows t with ``start <= t`` and ``t + h < end``:
every close it reads has an index below ``end``, every feature row an index below
``end - h``.
Nothing at or after ``end`` can change the result (tested), so weights fitted on
``[start, end)`` may be applied from row ``end`` on — never to rows inside the window,
which would be in-sample. Applying them only after ``end`` is the caller's duty.

**Feature weights** (per system). ``IC_i`` is the correlation (Spearman by default,
Pearson optional) of feature i with the forward return over the usable rows. For system s
with feature signs ``sign_s,i`` (see :mod:`domain.signals.systems`), a feature keeps
weight ``sign_s,i * IC_i`` if the system uses it and that value is at least the IC
threshold, else 0; the kept weights are normalised to sum 1. So a system only keeps the
features that predicted in *its* direction: a momentum feature with a negative IC is
dropped by the trend systems and never flipped. The IC threshold is
``max(MIN_IC, NOISE_SIGMAS / sqrt(samples / h))``: about two standard errors of an IC
measured on ``samples / h`` independent forward returns (overlapping h-candle returns are
not independent), so weights are not fitted to noise.

**System weights.** With those feature weights each system's score is computed over the
same rows and correlated with the forward return (``IC_s``). A system whose IC is below
the threshold gets raw weight 0, the others ``IC_s``; the weights are
``SYSTEM_WEIGHT_FLOOR + (1 - 3 * SYSTEM_WEIGHT_FLOOR) * raw_s / sum(raw)``, so each is at
least the floor (0.05: a system may be weak in the warm-up and strong later, and must keep
a voice) and they sum to 1. The score ICs are in-sample (the feature weights were fitted on
the same rows); they rank systems, they do not estimate out-of-sample skill.

**Fallback.** With fewer than ``max(min_samples, MIN_INDEPENDENT_SAMPLES * h)`` usable rows
(default ``min_samples`` = MIN_SAMPLES = 1000) nothing is fitted: every system uses its
heuristic feature weights (:meth:`SystemSpec.heuristic_weights`) and the system weights
are equal (1/3 each). With enough rows, a system none of whose features clears the
threshold falls back to its heuristic weights alone, and if no system's score IC clears
it the system weights are equal. :attr:`SignalWeights.fallback_parts` names what fell
back; the measured ICs are reported either way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.features.names import FEATURE_NAMES
from domain.signals.correlation import METHODS, column_correlations
from domain.signals.regime import SYSTEM_INDEX, SYSTEMS, Regime
from domain.signals.systems import N_FEATURES, SPECS, Systems

FloatArray = npt.NDArray[np.float64]
Triple = tuple[float, float, float]

#: Default minimum number of usable rows for a fit.
MIN_SAMPLES = 1000

#: A fit also needs at least this many non-overlapping horizons (rows / horizon).
MIN_INDEPENDENT_SAMPLES = 30

#: Smallest IC that can earn a weight, however much data there is.
MIN_IC = 0.01

#: IC threshold in standard errors of an IC on ``rows / horizon`` independent samples.
NOISE_SIGMAS = 2.0

#: Minimum weight of each system after a successful system-weight fit.
SYSTEM_WEIGHT_FLOOR = 0.05

#: Names that can appear in :attr:`SignalWeights.fallback_parts`.
FALLBACK_PARTS: tuple[str, ...] = (*(str(r) for r in SYSTEMS), "systems")


def ic_threshold(samples: int, horizon: int) -> float:
    """``max(MIN_IC, NOISE_SIGMAS / sqrt(samples / horizon))``, capped at 1."""
    if samples <= 0:
        return 1.0
    return min(1.0, max(MIN_IC, NOISE_SIGMAS / math.sqrt(samples / horizon)))


def forward_returns(closes: npt.ArrayLike, horizon: int) -> FloatArray:
    """``log(close[t + horizon] / close[t])`` per row; NaN where undefined.

    The last ``horizon`` rows have no forward close and are NaN, as are rows where either
    close is missing or not positive.
    """
    c = np.asarray(closes, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"closes must be 1-D, got shape {c.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    out = np.full(c.shape[0], np.nan)
    if c.shape[0] > horizon:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            r = np.log(c[horizon:] / c[:-horizon])
        out[:-horizon] = np.where(np.isfinite(r), r, np.nan)
    return out


def _as_triple(values: Any, what: str) -> Triple:
    items = [float(v) for v in values]
    if len(items) != len(SYSTEMS):
        raise ValueError(f"{what}: expected {len(SYSTEMS)} values, got {len(items)}")
    return items[0], items[1], items[2]


@dataclass(frozen=True, slots=True)
class SignalWeights:
    """Feature weights per system and system weights, with how they were obtained.

    Attributes:
        feature_weights: Per system (``SYSTEMS`` order), non-negative magnitudes over all
            features in ``FEATURE_NAMES`` order, zero where the system reads nothing; the
            system's signs are applied by :class:`~domain.signals.systems.System`.
        system_weights: Non-negative, summing to 1, ``SYSTEMS`` order.
        method: ``"spearman"`` or ``"pearson"``.
        horizon: Forward-return horizon in candles.
        samples: Usable rows the fit saw (0 for pure heuristics).
        fallback: Whether any part uses the fallback heuristic.
        fallback_parts: Which parts: ``"UP"``, ``"DOWN"``, ``"NEUTRAL"`` (that system's
            feature weights), ``"systems"`` (the system weights).
        feature_ics: The IC of every feature with the forward return (0 if unmeasured).
        system_ics: The IC of every system's score with the forward return.
        ic_threshold: The IC a weight had to reach.
    """

    feature_weights: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    system_weights: Triple
    method: str
    horizon: int
    samples: int
    fallback: bool
    fallback_parts: tuple[str, ...]
    feature_ics: tuple[float, ...]
    system_ics: Triple
    ic_threshold: float

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon}")
        if self.samples < 0:
            raise ValueError(f"samples must be >= 0, got {self.samples}")
        if len(self.feature_weights) != len(SYSTEMS):
            raise ValueError(f"expected {len(SYSTEMS)} feature weight vectors")
        # Systems validates each vector (length, finite, >= 0, zero where unused, sum > 0).
        Systems([np.asarray(v, dtype=np.float64) for v in self.feature_weights])
        weights = self.system_weights
        if len(weights) != len(SYSTEMS) or any(not math.isfinite(w) or w < 0.0 for w in weights):
            raise ValueError(f"system weights must be 3 finite values >= 0, got {weights}")
        if not sum(weights) > 0.0:
            raise ValueError("system weights sum to zero")
        unknown = set(self.fallback_parts) - set(FALLBACK_PARTS)
        if unknown:
            raise ValueError(f"unknown fallback parts {sorted(unknown)}")
        if self.fallback != bool(self.fallback_parts):
            raise ValueError("fallback must be True exactly when fallback_parts is not empty")
        if len(self.feature_ics) != N_FEATURES or len(self.system_ics) != len(SYSTEMS):
            raise ValueError("expected one IC per feature and per system")
        for ic in (*self.feature_ics, *self.system_ics):
            if not -1.0 <= ic <= 1.0:
                raise ValueError(f"ICs must be in [-1, 1], got {ic}")
        if not 0.0 < self.ic_threshold <= 1.0:
            raise ValueError(f"ic_threshold must be in (0, 1], got {self.ic_threshold}")

    def feature_weight_vector(self, regime: Regime) -> FloatArray:
        """The magnitudes of ``regime``'s system as an array over all features."""
        return np.array(self.feature_weights[SYSTEM_INDEX[regime]], dtype=np.float64)

    def feature_weight_vectors(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """All three systems' magnitudes as arrays, ``SYSTEMS`` order."""
        up, down, neutral = (np.array(v, dtype=np.float64) for v in self.feature_weights)
        return up, down, neutral

    def to_dict(self) -> dict[str, Any]:
        """Plain str / int / float / bool / list / dict values; floats kept exact.

        ``feature_names`` is stored so :meth:`from_dict` can refuse weights written for a
        different feature layout instead of silently misaligning them.
        """
        return {
            "method": self.method,
            "horizon": self.horizon,
            "samples": self.samples,
            "ic_threshold": self.ic_threshold,
            "fallback": self.fallback,
            "fallback_parts": list(self.fallback_parts),
            "feature_names": list(FEATURE_NAMES),
            "feature_weights": {
                str(regime): list(self.feature_weights[i]) for i, regime in enumerate(SYSTEMS)
            },
            "system_weights": {
                str(regime): self.system_weights[i] for i, regime in enumerate(SYSTEMS)
            },
            "feature_ics": list(self.feature_ics),
            "system_ics": {str(regime): self.system_ics[i] for i, regime in enumerate(SYSTEMS)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignalWeights:
        """Rebuild weights written by :meth:`to_dict`.

        Raises:
            ValueError: If a key is missing, a value is invalid, or the stored feature
                layout differs from ``FEATURE_NAMES``.
        """
        try:
            names = list(data["feature_names"])
            if names != list(FEATURE_NAMES):
                raise ValueError("stored weights use a different feature layout")
            fw = data["feature_weights"]
            up, down, neutral = (tuple(float(v) for v in fw[str(regime)]) for regime in SYSTEMS)
            return cls(
                feature_weights=(up, down, neutral),
                system_weights=_as_triple(
                    [data["system_weights"][str(r)] for r in SYSTEMS], "system_weights"
                ),
                method=str(data["method"]),
                horizon=int(data["horizon"]),
                samples=int(data["samples"]),
                fallback=bool(data["fallback"]),
                fallback_parts=tuple(str(p) for p in data["fallback_parts"]),
                feature_ics=tuple(float(v) for v in data["feature_ics"]),
                system_ics=_as_triple([data["system_ics"][str(r)] for r in SYSTEMS], "system_ics"),
                ic_threshold=float(data["ic_threshold"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not serialised signal weights: {exc!r}") from exc


def heuristic_weights(horizon: int, method: str = "spearman") -> SignalWeights:
    """Pure fallback weights (no data): heuristic feature weights, equal system weights.

    What a bot starts with before it has a warm-up window; ``samples`` is 0, every IC 0 and
    ``ic_threshold`` 1.0 (nothing measured could have cleared it).
    """
    return SignalWeights(
        feature_weights=_tuples(spec.heuristic_weights() for spec in SPECS),
        system_weights=(1 / 3, 1 / 3, 1 / 3),
        method=method,
        horizon=horizon,
        samples=0,
        fallback=True,
        fallback_parts=FALLBACK_PARTS,
        feature_ics=(0.0,) * N_FEATURES,
        system_ics=(0.0, 0.0, 0.0),
        ic_threshold=1.0,
    )


def _tuples(
    vectors: Iterable[FloatArray],
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    up, down, neutral = (tuple(float(x) for x in v) for v in vectors)
    return up, down, neutral


def fit_weights(
    features: npt.ArrayLike,
    closes: npt.ArrayLike,
    horizon: int,
    method: str = "spearman",
    *,
    start: int = 0,
    end: int | None = None,
    min_samples: int = MIN_SAMPLES,
    system_floor: float = SYSTEM_WEIGHT_FLOOR,
) -> SignalWeights:
    """Fit feature and system weights on the window ``[start, end)`` (module docstring).

    Args:
        features: T x F normalised features, row t known at the close of candle t. Pass
            only rows where the feature engine was ready. NaN entries are skipped per
            feature (and read as 0 by the systems).
        closes: The T closes, aligned with ``features``.
        horizon: Forward-return horizon h in candles (>= 1).
        method: ``"spearman"`` (default, robust to fat tails) or ``"pearson"``.
        start: First row of the window.
        end: One past the last row of the window (default T). Rows t with
            ``t + horizon < end`` are used; nothing at index ``end`` or later is read.
        min_samples: Fewer usable rows than ``max(min_samples, 30 * horizon)`` means the
            full fallback.
        system_floor: Minimum weight of each system after a successful system-weight fit
            (default :data:`SYSTEM_WEIGHT_FLOOR`); the weekly re-weighting passes 0 so a
            system whose evidence says it hurts can lose its voice entirely.

    Returns:
        The fitted weights; apply them only to candles from ``end`` on.

    Raises:
        ValueError: On shape mismatches, a bad window, horizon or method.
    """
    z = np.asarray(features, dtype=np.float64)
    c = np.asarray(closes, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != N_FEATURES:
        raise ValueError(f"features must be T x {N_FEATURES}, got shape {z.shape}")
    if c.shape != (z.shape[0],):
        raise ValueError(f"closes must have shape ({z.shape[0]},), got {c.shape}")
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if min_samples < 2:
        raise ValueError(f"min_samples must be >= 2, got {min_samples}")
    if not 0.0 <= system_floor < 1.0 / len(SYSTEMS):
        raise ValueError(f"system_floor must be in [0, 1/3), got {system_floor}")
    stop = z.shape[0] if end is None else end
    if not 0 <= start <= stop <= z.shape[0]:
        raise ValueError(f"window [{start}, {stop}) is not inside 0..{z.shape[0]}")

    rows = max(0, stop - horizon - start)  # rows start .. start + rows - 1 satisfy t + h < end
    window_features = z[start : start + rows]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        target = np.log(c[start + horizon : start + horizon + rows] / c[start : start + rows])
    usable = np.isfinite(target)
    x = window_features[usable]
    y = target[usable]
    samples = int(y.shape[0])

    feature_ics = column_correlations(x, y, method) if samples >= 2 else np.zeros(N_FEATURES)
    threshold = ic_threshold(samples, horizon)
    enough = samples >= max(min_samples, MIN_INDEPENDENT_SAMPLES * horizon)

    parts: list[str] = []
    vectors: list[FloatArray] = []
    for spec in SPECS:
        if enough:
            aligned = spec.signs() * feature_ics
            raw = np.where(spec.used() & (aligned >= threshold), aligned, 0.0)
            total = float(raw.sum())
            if total > 0.0:
                vectors.append(raw / total)
                continue
        parts.append(str(spec.regime))
        vectors.append(spec.heuristic_weights())

    systems = Systems(vectors)
    if samples >= 2:
        system_ics = column_correlations(systems.evaluate_batch(x).scores, y, method)
    else:
        system_ics = np.zeros(len(SYSTEMS))

    system_weights: Triple = (1 / 3, 1 / 3, 1 / 3)
    raw_systems = np.where(system_ics >= threshold, system_ics, 0.0)
    if enough and float(raw_systems.sum()) > 0.0:
        share = raw_systems / float(raw_systems.sum())
        system_weights = _as_triple(
            system_floor + (1.0 - len(SYSTEMS) * system_floor) * share,
            "system weights",
        )
    else:
        parts.append("systems")

    return SignalWeights(
        feature_weights=_tuples(vectors),
        system_weights=system_weights,
        method=method,
        horizon=horizon,
        samples=samples,
        fallback=bool(parts),
        fallback_parts=tuple(parts),
        feature_ics=tuple(float(v) for v in feature_ics),
        system_ics=_as_triple(system_ics, "system ICs"),
        ic_threshold=threshold,
    )
