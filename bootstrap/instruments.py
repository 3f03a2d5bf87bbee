"""Built-in instrument definitions for runs without a live exchangeInfo (backtests)."""

from __future__ import annotations

import json
from importlib import resources

from adapters.binance.exchange_info import instrument_from_exchange_info
from domain.enums import MarketType
from domain.instruments import Instrument


class UnknownInstrument(LookupError):
    """No built-in definition exists for the requested symbol and market."""


def builtin_instrument(market: MarketType, symbol: str) -> Instrument:
    """The embedded exchangeInfo entry for ``symbol`` on ``market``.

    Raises:
        UnknownInstrument: The symbol is not among the embedded definitions.
    """
    text = resources.files("bootstrap").joinpath("defaults/instruments.json").read_text("utf-8")
    entries = json.loads(text)[market.value]
    for entry in entries:
        if entry["symbol"] == symbol:
            return instrument_from_exchange_info(entry, market)
    known = ", ".join(e["symbol"] for e in entries)
    raise UnknownInstrument(f"no built-in {market.value} instrument {symbol!r} (known: {known})")
