"""Which market a run trades, said plainly: ``--market``, fee and funding model, data warnings.

Spot and USD-M futures differ in fees, in funding (futures only) and in what a sell means,
so a backtest of spot klines with the default (futures) configuration is a different
experiment from the one the user meant. The first lines of every run say which one it is,
and a kline path under a ``spot`` or ``futures`` directory that disagrees is warned about.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from pathlib import PurePath

from adapters.simulated.settings import DEFAULT_FEES
from bootstrap.config import AppConfig
from domain.enums import MarketType

#: ``--market`` choices.
MARKETS = {"spot": MarketType.SPOT, "futures": MarketType.USDM_FUTURES}
_NAMES = {MarketType.SPOT: "spot", MarketType.USDM_FUTURES: "USD-M futures"}
#: Path parts that say which market a kline file belongs to (Binance's own layout).
_PATH_MARKERS = {
    "spot": MarketType.SPOT,
    "futures": MarketType.USDM_FUTURES,
    "futures-um": MarketType.USDM_FUTURES,
    "um": MarketType.USDM_FUTURES,
}


def with_market(config: AppConfig, market: str | None) -> AppConfig:
    """``config`` with ``market.type`` replaced by ``--market`` (unchanged when None)."""
    if market is None:
        return config
    return dataclasses.replace(config, market=MARKETS[market])


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def market_lines(config: AppConfig, market_flag: str | None = None) -> list[tuple[str, str]]:
    """(label, text) rows: market, fee model and funding model of this run."""
    market = config.market
    origin = "--market" if market_flag else "market.type"
    sim = config.simulation
    maker, taker = DEFAULT_FEES[market]
    configured = sim.maker_fee is not None or sim.taker_fee is not None
    maker = sim.maker_fee if sim.maker_fee is not None else maker
    taker = sim.taker_fee if sim.taker_fee is not None else taker
    fee_origin = "simulation.maker_fee / taker_fee" if configured else "Binance's VIP0 default"
    if not market.is_futures:
        funding = "none (spot has no funding)"
    elif sim.funding_file:
        funding = f"every 8 h from {sim.funding_file} (simulation.funding_file)"
    else:
        funding = (
            f"constant {_percent(sim.funding_rate)} every 8 h, longs pay when positive "
            "(simulation.funding_rate)"
        )
    return [
        ("market", f"{config.symbol} {_NAMES[market]} (from {origin})"),
        ("fee model", f"maker {_percent(maker)} / taker {_percent(taker)} ({fee_origin})"),
        ("funding model", funding),
    ]


def data_market_warning(
    config: AppConfig, data: str | Sequence[str] | None, market_flag: str | None = None
) -> str | None:
    """A warning when a kline path names the other market's directory, else None."""
    paths = [data] if isinstance(data, str) else list(data or [])
    for path in paths:
        named = {_PATH_MARKERS[p] for p in PurePath(path).parts if p in _PATH_MARKERS}
        if len(named) == 1 and config.market not in named:
            other = next(iter(named))
            flag = "spot" if other is MarketType.SPOT else "futures"
            fix = "" if market_flag else f"; pass --market {flag} to trade it as {_NAMES[other]}"
            return (
                f"gridbot: warning: {path} looks like {_NAMES[other]} data but this run trades "
                f"{_NAMES[config.market]} (fees and funding of {_NAMES[config.market]}){fix}"
            )
    return None
