"""The simulated market of backtests, paper runs and the emulator: settings and candles."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.market_data.generated import GeneratedMarket
from adapters.market_data.kline_csv import KlineCsvReader, SymbolNotInferred
from adapters.simulated.funding import FundingSchedule
from adapters.simulated.settings import SimulationSettings
from application.ports.market_data import HistoricalCandles
from bootstrap.config import AppConfig
from bootstrap.instruments import builtin_instrument


class DataMismatch(ValueError):
    """The data file's symbol differs from the configured symbol."""


def simulation_settings(config: AppConfig) -> SimulationSettings:
    """Simulated-exchange settings from the ``simulation`` section."""
    sim = config.simulation
    funding = (
        FundingSchedule.from_csv(sim.funding_file)
        if sim.funding_file
        else FundingSchedule(sim.funding_rate)
    )
    return SimulationSettings(
        maker_fee=sim.maker_fee,
        taker_fee=sim.taker_fee,
        touch_fills=sim.touch_fills,
        trade_through=sim.trade_through,
        max_volume_share=sim.max_volume_share,
        leverage=sim.leverage,
        funding=funding,
        latency_ms=sim.latency_ms,
        reject_probability=float(sim.reject_probability),
        seed=sim.seed,
    )


def candle_source(config: AppConfig, data: str | Sequence[str] | None) -> HistoricalCandles:
    """A kline file/directory when one is given, else the built-in generated market.

    Raises:
        DataMismatch: The file is for another symbol than the configured one.
    """
    path = data or config.backtest.data
    if path:
        try:
            reader = KlineCsvReader(path)
        except SymbolNotInferred:
            # Not a Binance-style name (e.g. a file mounted as /market): the config says.
            reader = KlineCsvReader(path, symbol=config.symbol)
        if reader.symbol != config.symbol:
            raise DataMismatch(
                f"{path}: data is for {reader.symbol} but the config trades {config.symbol} "
                "(set market.symbol)"
            )
        return reader
    gen = config.backtest.generated
    return GeneratedMarket(
        symbol=config.symbol,
        start_open_time=gen.start_open_time,
        minutes=gen.minutes,
        seed=gen.seed,
        start_price=gen.start_price,
        tick=builtin_instrument(config.market, config.symbol).price_filter.tick_size,
    )
