"""Binance JSON payloads built from the simulator's state, field for field.

Field names, their order and the way numbers are printed follow the official docs and the
captured responses in ``shared/data/binance-fixtures``: spot prints prices and quantities with
the places of its filters (8 for BTCUSDT), futures with the tick/step places (``"50000.00"``,
``"0.001"``) and quote sums with both combined. A client parser that works here works on the
real venue.

The builders live in one module per part of the API; this module gathers them under one
name (``from adapters.simulated.emulator import payloads as pl``):

* :mod:`~adapters.simulated.emulator.payload_numbers`: number places and money;
* :mod:`~adapters.simulated.emulator.spot_payloads`: spot orders, trades and account;
* :mod:`~adapters.simulated.emulator.futures_payloads`: futures orders, trades, income,
  account, positions and premium index;
* :mod:`~adapters.simulated.emulator.symbol_payloads`: ``exchangeInfo``;
* :mod:`~adapters.simulated.emulator.kline_payloads`: klines.
"""

from __future__ import annotations

from adapters.simulated.emulator.futures_payloads import (
    MAX_NOTIONAL,
    futures_account,
    futures_balance,
    futures_order,
    futures_trade,
    income_row,
    position_risk,
    premium_index,
)
from adapters.simulated.emulator.kline_payloads import klines
from adapters.simulated.emulator.payload_numbers import MONEY_PLACES, ZERO, Places, money
from adapters.simulated.emulator.spot_payloads import (
    spot_account,
    spot_ack,
    spot_cancel,
    spot_order,
    spot_result,
    spot_trade,
)
from adapters.simulated.emulator.symbol_payloads import (
    STP_MODES,
    exchange_info,
    futures_symbol,
    spot_symbol,
)

__all__ = [
    "MAX_NOTIONAL",
    "MONEY_PLACES",
    "STP_MODES",
    "ZERO",
    "Places",
    "exchange_info",
    "futures_account",
    "futures_balance",
    "futures_order",
    "futures_symbol",
    "futures_trade",
    "income_row",
    "klines",
    "money",
    "position_risk",
    "premium_index",
    "spot_account",
    "spot_ack",
    "spot_cancel",
    "spot_order",
    "spot_result",
    "spot_symbol",
    "spot_trade",
]
