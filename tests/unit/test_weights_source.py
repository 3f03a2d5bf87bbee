"""The weights source a start reports says why a fit fell back: too few rows, or (on
enough rows) no correlation that cleared the threshold for some part."""

from __future__ import annotations

from decimal import Decimal

from adapters.market_data.generated import GeneratedMarket
from application.signals import SignalSettings, choose_weights

#: Small windows so the features are ready after a few dozen candles.
SETTINGS = SignalSettings(window=20, clip=4.0, horizon=5, method="spearman", fit_min_samples=50)
#: A random walk: no feature predicts it, so some part always falls back on enough rows.
CANDLES = list(GeneratedMarket(minutes=2400, seed=3, start_price=Decimal("42000")))


def test_too_few_rows_is_reported_as_too_little_data() -> None:
    weights, source = choose_weights(SETTINGS, None, CANDLES[:60])
    assert weights.fallback and weights.samples < 150  # 30 independent samples x horizon 5
    assert source == "fitted on 60 candles (fallback: too little data)"


def test_enough_rows_without_a_clear_correlation_says_which_parts_fell_back() -> None:
    weights, source = choose_weights(SETTINGS, None, CANDLES)
    assert weights.fallback and weights.samples >= 150
    assert "too little data" not in source
    assert source.startswith(f"fitted on 2400 candles ({weights.samples} samples; fallback for ")
    assert ", ".join(weights.fallback_parts) in source
