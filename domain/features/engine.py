"""The feature engine: every closed 1m candle in, one feature vector out, in O(1).

Pipeline per candle: validate and convert the candle's Decimals to floats (features are
statistics, not money), update the 1m features, feed the 5m / 15m / 1h aggregators and
update a timeframe's features when one of its bars closes (between closes they hold their
value), then normalise the whole vector.

**Ready rule.** A timeframe's features are all defined once it has closed
:data:`~domain.features.calculator.BARS_NEEDED` (26) bars. The normaliser starts sampling on
the candle where the last timeframe (1h) reaches that count — earlier samples would mix
neutral placeholders into the statistics — and the vector is ``ready`` once the normaliser
holds ``min_samples`` samples (default: a full window). Before sampling starts the
normalised vector is all zeros; between then and ready it is the z-score over the samples so
far. Once ready, always ready. :attr:`FeatureEngine.warmup_candles` is
``26 * 60 + min_samples - 1`` (2,999 with the defaults): exactly the candles a gap-free
stream starting on a UTC hour needs; one starting mid-hour needs fewer (its first, partial
1h bar closes early).

**Gaps.** Missing minutes are not filled and do not reset anything: the next candle is
treated as the next bar (its 1m return spans the gap), and a higher-timeframe bar whose last
minute is missing closes on the first candle of a later bucket (see
:mod:`domain.features.timeframes`). Lookbacks count bars, so a partly missing hour still
counts as an hourly bar (warm-up takes fewer candles) while a wholly missing hour does not
(warm-up ends an hour later, after the same number of candles); the normaliser counts
candles. After a long outage a caller
that wants fresh statistics creates a new engine.

**Input contract.** Open times strictly increasing and minute-aligned; prices and volumes
within the bounds of :mod:`domain.features.contract`. Anything else raises ValueError.
"""

from __future__ import annotations

import numpy as np

from domain.candles import MINUTE_MS, Candle
from domain.features.calculator import BARS_NEEDED, NEUTRAL, TimeframeFeatures
from domain.features.contract import (
    MAX_PRICE,
    MAX_VOLUME,
    MIN_PRICE,
    resolve_min_samples,
    warmup_candles,
)
from domain.features.names import BASE_FEATURES, FEATURE_NAMES, TIMEFRAMES
from domain.features.normaliser import RollingZScore
from domain.features.timeframes import BarAggregator
from domain.features.vector import FeatureVector

__all__ = ["FeatureEngine"]

_WIDTH = len(BASE_FEATURES)
_vector = tuple.__new__


class FeatureEngine:
    """Incremental features of the 1m stream and its 5m / 15m / 1h aggregates.

    Not thread-safe; one engine per instrument stream.
    """

    __slots__ = (
        "_calculators",
        "_higher",
        "_last_open_time",
        "_min_samples",
        "_normalise",
        "_raw",
        "_samples",
        "_sampling",
        "_update_1m",
        "_window",
        "_zeros",
    )

    def __init__(
        self, window: int = 1440, clip: float = 4.0, min_samples: int | None = None
    ) -> None:
        """Create an engine that has seen no candle.

        Args:
            window: Normalisation window, in 1m samples.
            clip: Bound on the absolute normalised value.
            min_samples: Normaliser samples required for ``ready``; defaults to ``window``
                (z-scores over a full window only).

        Raises:
            ValueError: A parameter is out of range.
        """
        self._min_samples = resolve_min_samples(window, min_samples)
        self._window = window
        self._normalise = RollingZScore(len(FEATURE_NAMES), window, clip).update
        self._calculators = tuple(TimeframeFeatures() for _ in TIMEFRAMES)
        # Bound methods and column ranges, looked up once rather than on every candle.
        self._update_1m = self._calculators[0].update
        self._higher = tuple(
            (
                BarAggregator(minutes).add,
                self._calculators[i].update,
                i * _WIDTH,
                (i + 1) * _WIDTH,
            )
            for i, (_, minutes) in enumerate(TIMEFRAMES)
            if i > 0
        )
        self._raw = np.array(NEUTRAL * len(TIMEFRAMES))
        self._zeros = np.zeros(len(FEATURE_NAMES))
        self._sampling = False
        self._samples = 0
        self._last_open_time = -1

    @property
    def window(self) -> int:
        """Normalisation window in 1m samples."""
        return self._window

    @property
    def min_samples(self) -> int:
        """Normaliser samples required before ``ready``."""
        return self._min_samples

    @property
    def warmup_candles(self) -> int:
        """Candles a gap-free stream needs to become ready.

        Exact for a stream starting on a UTC hour, an upper bound for one starting mid-hour.
        """
        return warmup_candles(self._min_samples)

    def update(self, candle: Candle) -> FeatureVector:
        """Consume the next closed 1m candle; return the features after it.

        Args:
            candle: The candle; open times must increase strictly from call to call.

        Returns:
            The feature vector; its arrays are new and never modified by the engine.

        Raises:
            ValueError: The candle breaks the input contract (order, alignment, bounds). The
                engine's state is unchanged in that case.
        """
        open_time, _, h, lo, c, v, _, _, _, tb, _ = candle
        if open_time <= self._last_open_time or open_time % MINUTE_MS:
            raise ValueError(
                f"candle open_time {open_time} is not minute-aligned and after "
                f"{self._last_open_time}"
            )
        high = float(h)
        low = float(lo)
        close = float(c)
        volume = float(v)
        taker = 0.5 * volume if tb is None else float(tb)
        if not (
            MIN_PRICE <= low <= MAX_PRICE
            and MIN_PRICE <= high <= MAX_PRICE
            and MIN_PRICE <= close <= MAX_PRICE
            and 0.0 <= volume <= MAX_VOLUME
            and 0.0 <= taker <= MAX_VOLUME
        ):
            raise ValueError(f"candle at {open_time} has a value outside the accepted range")
        self._last_open_time = open_time

        raw = self._raw
        raw[:_WIDTH] = self._update_1m(high, low, close, volume, taker)
        for add, update, start, stop in self._higher:
            closed = add(open_time, high, low, close, volume, taker)
            if closed:
                for bar in closed:
                    raw[start:stop] = update(*bar)

        if not self._sampling:
            if min(calc.bars for calc in self._calculators) < BARS_NEEDED:
                return _vector(FeatureVector, (open_time, raw.copy(), self._zeros.copy(), False))
            self._sampling = True
        samples = self._samples + 1
        self._samples = samples
        # tuple.__new__ skips the NamedTuple's Python-level __new__ (same object, cheaper).
        return _vector(
            FeatureVector,
            (open_time, raw.copy(), self._normalise(raw), samples >= self._min_samples),
        )
