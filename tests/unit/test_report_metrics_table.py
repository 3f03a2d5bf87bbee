from __future__ import annotations

import math
from decimal import Decimal

from application.report.metrics_table import format_metric


def test_values_read_as_a_user_expects() -> None:
    assert format_metric("total_return", Decimal("-0.0302")) == "-3.02 %"
    assert format_metric("trades.win_rate", None) == "n/a"
    assert format_metric("sharpe", math.nan) == "n/a"
    assert format_metric("fills.maker_taker_ratio", Decimal("Infinity")) == "∞"
    assert format_metric("trades.profit_factor", Decimal("NaN")) == "n/a"
    assert format_metric("trades.average_duration_ms", 24_840_000.0) == "6 h 54 min"
    assert format_metric("max_drawdown_duration_ms", 5.8 * 86_400_000) == "5.8 days"
    assert format_metric("trades.median_duration_ms", 25 * 60_000) == "25 min"
    assert format_metric("fills.fills", 3716) == "3,716"
    assert format_metric("fills.fees", Decimal("144.8012")) == "144.80"
    assert format_metric("sortino", -2.8161) == "-2.816"
