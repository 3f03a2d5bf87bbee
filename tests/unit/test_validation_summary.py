"""Figures of a validation run that are computed, not copied: the market-time uptime."""

from __future__ import annotations

import math

from bootstrap.validation.summary import market_uptime


def test_market_uptime_counts_the_candles_a_reconciled_process_saw() -> None:
    walls = [float(t) for t in range(10)]  # one candle a second
    # Up from 0 to 4 (killed), again from 6 (reconciled) to the end.
    assert market_uptime(walls, [(0.0, 4.0), (6.0, math.inf)]) == 0.8
    assert market_uptime(walls, []) == 0.0
    assert market_uptime([], [(0.0, 1.0)]) == 0.0


def test_a_held_replay_misses_no_candle_however_long_the_restart() -> None:
    # The replay was held from the kill at 4.5 s until the successor reconciled at 30 s.
    walls = [0.0, 1.0, 2.0, 3.0, 4.0, 30.5, 31.0]
    assert market_uptime(walls, [(0.0, 4.5), (30.0, math.inf)]) == 1.0
