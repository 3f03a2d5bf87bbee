"""Return and risk-adjusted return of an equity curve.

Sharpe and Sortino are computed on *daily* returns (end-of-UTC-day equity) and annualised
with √365 (crypto trades every day), with the definitions empyrical uses, so the tests can
check them against it: Sharpe = mean / std(ddof=1) × √365; Sortino = mean × √365 /
√mean(min(r, 0)²) (downside deviation against a zero target). A curve with no variation
(or no losing day, for Sortino) has no finite ratio: NaN and +inf are reported as such.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import numpy.typing as npt

DAY_MS = 86_400_000
YEAR_DAYS = 365
ANNUALISATION = math.sqrt(YEAR_DAYS)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def total_return(initial_equity: Decimal, final_equity: Decimal) -> Decimal:
    """``final / initial - 1``, exact. Zero when there was nothing to start with."""
    if initial_equity <= 0:
        return Decimal(0)
    return final_equity / initial_equity - 1


def annualised_return(total: float, days: float) -> float:
    """Compound annual growth rate of a ``total`` return earned over ``days`` days.

    Over less than a day the figure would be a wild extrapolation, so NaN is returned.
    A loss of everything (``total <= -1``) annualises to -1.
    """
    if days < 1:
        return math.nan
    if total <= -1:
        return -1.0
    return float((1.0 + total) ** (YEAR_DAYS / days) - 1.0)


def daily_returns(times_ms: IntArray, equity: FloatArray, initial_equity: float) -> FloatArray:
    """Returns from one UTC day's closing equity to the next (the first from the start).

    Args:
        times_ms: Sample times (ms, ascending).
        equity: Equity at each sample.
        initial_equity: Equity before the first sample.

    Days without samples (a gap in the data) are skipped, not invented: the next return
    runs from the last day that has one.
    """
    if len(times_ms) == 0 or initial_equity <= 0:
        return np.zeros(0)
    days = times_ms // DAY_MS
    # Index of the last sample of each day.
    last = np.flatnonzero(np.diff(days, append=days[-1] + 1))
    closes = equity[last]
    previous = np.concatenate(([initial_equity], closes[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(previous > 0, closes / previous - 1.0, 0.0)
    return out


def sharpe_ratio(daily: FloatArray) -> float:
    """Annualised Sharpe ratio of daily returns (risk-free rate zero); NaN if undefined."""
    if len(daily) < 2:
        return math.nan
    std = float(np.std(daily, ddof=1))
    if std == 0 or not math.isfinite(std):
        return math.nan
    return float(np.mean(daily)) / std * ANNUALISATION


def sortino_ratio(daily: FloatArray) -> float:
    """Annualised Sortino ratio (zero target); +inf when no day lost, NaN if empty."""
    if len(daily) < 2:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(daily, 0.0) ** 2)))
    mean = float(np.mean(daily))
    if downside == 0:
        return math.inf if mean > 0 else math.nan
    return mean * ANNUALISATION / downside


def calmar_ratio(annual_return: float, max_drawdown: float) -> float:
    """Annualised return over the maximum drawdown (a fraction); NaN without a drawdown."""
    if max_drawdown <= 0 or not math.isfinite(annual_return):
        return math.nan
    return annual_return / max_drawdown
