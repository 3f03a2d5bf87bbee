"""The venues ``gridbot run`` can trade on, built from the configuration.

``exchange.kind`` chooses one (see :class:`bootstrap.containers.LiveContainer`):

* ``simulated``: paper trading on the in-process simulated exchange, replaying the
  configured kline file or the built-in generated market. A flat paper account resumes
  from the journal (its balances, the replay after its last candle); its trade ids always
  continue after the journal's.
* ``binance``: the Binance adapter against Binance, its testnet, or any compatible server
  at ``exchange.base_url`` (the emulator).
"""

from __future__ import annotations

from dataclasses import replace

from adapters.binance.live_venue import BinanceVenue, BinanceVenueSettings, IoLoop
from adapters.market_data.kline_csv import KlineFormatError
from adapters.persistence.repository import SqlJournal
from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.paper_venue import PaperVenue
from application.paper_resume import candles_after, resume_point
from application.peeked_candles import PeekedCandles
from bootstrap.config import AppConfig
from bootstrap.instruments import builtin_instrument
from bootstrap.secrets import Credentials, MissingCredentials
from bootstrap.simulation import candle_source, simulation_settings


def paper_venue(
    config: AppConfig, data: str | None, journal: SqlJournal, speed: float, max_candles: int
) -> PaperVenue:
    """The in-process simulated exchange and its replay (resuming a flat paper account).

    Raises:
        KlineFormatError: The data holds no candle (and there is no paper account to resume).
    """
    instrument = builtin_instrument(config.market, config.symbol)
    balances = dict(config.initial_balances)
    source = candle_source(config, data)
    resume = resume_point(journal, instrument)
    if resume is not None:
        balances, last = resume
        source = candles_after(source, last)
    candles = PeekedCandles(source)
    if candles.first is None and resume is None:
        path = data or config.backtest.data or "the generated market"
        raise KlineFormatError(str(path), None, None, "no candles in the data")
    settings = replace(simulation_settings(config), first_id=journal.last_trade_id() + 1)
    exchange = SimulatedExchange(instrument, dict(balances), settings)
    return PaperVenue(
        exchange,
        instrument,
        candles,
        candles.first,
        config.initial_balances,
        config.source,
        speed,
        max_candles,
    )


def binance_venue(config: AppConfig, credentials: Credentials | None, io: IoLoop) -> BinanceVenue:
    """The Binance adapter (or the emulator at ``exchange.base_url``), connected and set up.

    Raises:
        MissingCredentials: No credentials (the command checks before composing).
        BinanceError: exchangeInfo, the account or the futures set-up failed.
        ExchangeUnavailable: The exchange stayed unavailable for the retry budget.
    """
    if credentials is None:
        raise MissingCredentials("the binance exchange needs API credentials")
    ex = config.exchange
    settings = BinanceVenueSettings(
        market=config.market,
        symbol=config.symbol,
        api_key=credentials.api_key.reveal(),
        api_secret=credentials.api_secret.reveal(),
        testnet=ex.testnet,
        base_url=ex.base_url,
        ws_url=ex.ws_url,
        recv_window=ex.recv_window,
        retry_budget=float(ex.retry_budget),
        leverage=ex.leverage,
        margin_type=ex.margin_type,
    )
    return BinanceVenue.connect(settings, io)
