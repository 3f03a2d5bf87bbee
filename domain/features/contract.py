"""What the feature engine accepts, and how long it needs before its output is ready.

Shared by the incremental engine and the batch path so both enforce one contract and agree
on the warm-up arithmetic.

Input bounds: prices (high, low, close) in [1e-30, 1e30], volume and taker-buy volume in
[0, 1e30]. They are far outside any market's range and are what guarantees every feature
finite: ratios of prices cannot overflow, sums of squared volumes cannot overflow. The open
price is not used by any feature and is not checked.
"""

from __future__ import annotations

from domain.features.calculator import BARS_NEEDED
from domain.features.names import TIMEFRAMES

__all__ = ["MAX_PRICE", "MAX_VOLUME", "MIN_PRICE", "resolve_min_samples", "warmup_candles"]

#: Smallest accepted price.
MIN_PRICE = 1e-30
#: Largest accepted price.
MAX_PRICE = 1e30
#: Largest accepted volume (and taker-buy volume).
MAX_VOLUME = 1e30

_LONGEST_MINUTES = max(minutes for _, minutes in TIMEFRAMES)


def resolve_min_samples(window: int, min_samples: int | None) -> int:
    """The normaliser's minimum sample count for ``ready``: ``window`` unless given.

    Raises:
        ValueError: ``min_samples`` is outside ``1 .. window``.
    """
    if min_samples is None:
        return window
    if not 1 <= min_samples <= window:
        raise ValueError(f"min_samples must be between 1 and window ({window}), got {min_samples}")
    return min_samples


def warmup_candles(min_samples: int) -> int:
    """Candles a gap-free stream starting on a UTC hour needs before it is ``ready``.

    The longest timeframe (1h) needs ``BARS_NEEDED`` closed bars before the normaliser
    starts, then the normaliser needs ``min_samples`` samples, the first taken on the candle
    that closes that last bar. A stream starting mid-hour gets there in fewer candles (its
    first 1h bar is partial); gaps can move the count either way (see the engine's notes).

    Args:
        min_samples: The normaliser's minimum sample count.
    """
    return BARS_NEEDED * _LONGEST_MINUTES + min_samples - 1
