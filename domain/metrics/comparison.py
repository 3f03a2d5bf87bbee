"""Which run is best on each metric: the table a user reads to compare strategies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from domain.metrics.summary import RunMetrics


class Better(Enum):
    """Which way a metric improves."""

    HIGHER = "higher"
    LOWER = "lower"


class Compared(NamedTuple):
    """A metric the comparison ranks: its dotted name in :meth:`RunMetrics.flat`."""

    key: str
    label: str
    better: Better


#: The metrics compared, in table order.
COMPARED: tuple[Compared, ...] = (
    Compared("total_return", "total return", Better.HIGHER),
    Compared("annualised_return", "annualised return", Better.HIGHER),
    Compared("sharpe", "Sharpe (daily, √365)", Better.HIGHER),
    Compared("sortino", "Sortino (daily, √365)", Better.HIGHER),
    Compared("calmar", "Calmar", Better.HIGHER),
    Compared("max_drawdown", "max drawdown", Better.LOWER),
    Compared("max_drawdown_duration_ms", "max drawdown duration", Better.LOWER),
    Compared("trades.win_rate", "win rate (FIFO trades)", Better.HIGHER),
    Compared("trades.profit_factor", "profit factor (FIFO trades)", Better.HIGHER),
    Compared("fills.fees", "fees", Better.LOWER),
    Compared("fill_rate", "fill rate", Better.HIGHER),
    Compared("fills.maker_taker_ratio", "maker / taker", Better.HIGHER),
)


def _rankable(value: Any) -> float | Decimal | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal) and value.is_nan():
        return None
    if isinstance(value, (int, float, Decimal)):
        return value
    return None


def best_by_metric(runs: Mapping[str, RunMetrics]) -> dict[str, tuple[str, ...]]:
    """For each compared metric, the run(s) best on it (ties share; undefined values skip).

    Returns:
        ``{metric key: (run name, ...)}``; an empty tuple when no run has a defined value.
    """
    flats = {name: metrics.flat() for name, metrics in runs.items()}
    out: dict[str, tuple[str, ...]] = {}
    for metric in COMPARED:
        values = {
            name: v
            for name, flat in flats.items()
            if (v := _rankable(flat.get(metric.key))) is not None
        }
        if not values:
            out[metric.key] = ()
            continue
        pick = max if metric.better is Better.HIGHER else min
        best = pick(values.values())
        out[metric.key] = tuple(name for name, v in values.items() if v == best)
    return out
