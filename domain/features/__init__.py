"""Market features for the strategy engine: every closed 1m candle in, a feature vector out.

* :mod:`~domain.features.names` — the fixed layout: 12 features x (1m, 5m, 15m, 1h).
* :mod:`~domain.features.engine` — :class:`FeatureEngine`, the incremental O(1) path used
  live and in backtests (``update(candle) -> FeatureVector``).
* :mod:`~domain.features.batch` — :func:`compute_features`, the vectorised path over a
  whole history (research, weight fitting); same numbers as the engine.
* Building blocks: :mod:`~domain.features.calculator` (the twelve features of one bar
  series), :mod:`~domain.features.timeframes` (5m / 15m / 1h bars from 1m candles),
  :mod:`~domain.features.rolling` (sliding-window statistics),
  :mod:`~domain.features.indicators` (EMA / Wilder smoothing),
  :mod:`~domain.features.normaliser` (rolling clipped z-scores),
  :mod:`~domain.features.contract` (input bounds, warm-up length),
  :mod:`~domain.features.vector` (the output records).

Nothing is imported here, so ``import domain.features.names`` stays as light as it looks.
"""
