"""USD-M futures account setup before trading: one-way position mode, margin type, leverage.

The grid bot sends every futures order with ``positionSide=BOTH`` (one-way mode), so the
account must not be in hedge mode; the margin type and the leverage of the traded symbol are
set to what the configuration asks. Every setting is read first and changed only when it
differs, so a restart sends no change request at all: Binance answers an unchanged setting
with an error (-4046 / -4059), and those answers count against the API error rate even
though nothing went wrong (reference sections 4.2 and 10):

* ``GET /fapi/v1/positionSide/dual`` [30]; when it answers ``dualSidePosition: true`` (hedge
  mode), ``POST`` it to ``false``. -4059 "No need to change position side." (a race with
  another client) counts as success; -4067 / -4068 (open orders / open position) raise
  :class:`PositionModeChangeRefused`.
* ``GET /fapi/v1/symbolConfig?symbol=`` [5] -> ``[{symbol, marginType, leverage,
  maxNotionalValue, ...}]``: the symbol's current margin type and leverage. A row missing
  from the answer leaves both unknown, and both are then sent.
* ``POST /fapi/v1/marginType`` [1] when it differs: -4046 "No need to change margin type."
  counts as success; -4047 / -4048 (open orders / open position) raise
  :class:`MarginTypeChangeRefused`.
* ``POST /fapi/v1/leverage`` [1] when it differs -> ``{leverage, maxNotionalValue, symbol}``;
  -4028 (invalid leverage) raises :class:`InvalidLeverage`.

Every other refusal propagates as the client's typed error unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from adapters.binance.errors import BinanceParseError, ExchangeRejected
from adapters.binance.rest import BinanceRestClient

MarginType = Literal["CROSSED", "ISOLATED"]

POSITION_SIDE_NO_CHANGE = -4059
POSITION_SIDE_OPEN_ORDERS = -4067
POSITION_SIDE_POSITION = -4068
MARGIN_TYPE_NO_CHANGE = -4046
MARGIN_TYPE_OPEN_ORDERS = -4047
MARGIN_TYPE_POSITION = -4048
INVALID_LEVERAGE = -4028

_DUAL_PATH = "/fapi/v1/positionSide/dual"
_MARGIN_TYPE_PATH = "/fapi/v1/marginType"
_LEVERAGE_PATH = "/fapi/v1/leverage"
_SYMBOL_CONFIG_PATH = "/fapi/v1/symbolConfig"


class AccountSetupRefused(ExchangeRejected):
    """Binance refused an account setting; the message says why and what to do."""


class PositionModeChangeRefused(AccountSetupRefused):
    """Hedge -> one-way mode was refused because of open orders (-4067) or a position (-4068)."""


class MarginTypeChangeRefused(AccountSetupRefused):
    """The margin type change was refused: open orders (-4047) or a position (-4048)."""


class InvalidLeverage(AccountSetupRefused):
    """-4028: the leverage is not valid for the symbol (1..125, capped by its brackets)."""


@dataclass(frozen=True, slots=True)
class FuturesSetup:
    """The futures settings in force after :func:`configure_futures`.

    Attributes:
        symbol: The symbol configured.
        leverage: Leverage Binance reports for it.
        max_notional_value: Largest position notional allowed at that leverage.
        margin_type: ``CROSSED`` or ``ISOLATED``.
        position_mode_changed: The account was in hedge mode and was switched to one-way.
        margin_type_changed: The margin type was changed (False: it already was this one).
    """

    symbol: str
    leverage: int
    max_notional_value: Decimal
    margin_type: str
    position_mode_changed: bool
    margin_type_changed: bool


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """A symbol's futures settings as ``GET /fapi/v1/symbolConfig`` reports them.

    Attributes:
        margin_type: ``CROSSED`` or ``ISOLATED``.
        leverage: The leverage in force.
        max_notional_value: Largest position notional allowed at that leverage.
    """

    margin_type: str
    leverage: int
    max_notional_value: Decimal


def _refused(
    cls: type[AccountSetupRefused], error: ExchangeRejected, why: str
) -> AccountSetupRefused:
    return cls(
        error.code, f"{why} (Binance: {error.message})", error.reason, error.status, error.payload
    )


async def ensure_one_way_mode(client: BinanceRestClient) -> bool:
    """Switch the account to one-way position mode; True when it was in hedge mode.

    Raises:
        PositionModeChangeRefused: Open orders or positions prevent the switch.
    """
    answer = await client.signed("GET", _DUAL_PATH, weight=30)
    dual = answer.get("dualSidePosition") if isinstance(answer, dict) else None
    if isinstance(dual, str) and dual.lower() in ("true", "false"):
        dual = dual.lower() == "true"
    if not isinstance(dual, bool):
        raise BinanceParseError(f"GET {_DUAL_PATH}: no boolean dualSidePosition in {answer!r}")
    if not dual:
        return False
    try:
        await client.signed("POST", _DUAL_PATH, {"dualSidePosition": "false"}, weight=1)
    except ExchangeRejected as exc:
        if exc.code == POSITION_SIDE_NO_CHANGE:
            return False
        if exc.code == POSITION_SIDE_OPEN_ORDERS:
            raise _refused(
                PositionModeChangeRefused,
                exc,
                "cannot switch the account from hedge to one-way position mode while it has "
                "open orders; cancel them (on every symbol) and start again",
            ) from exc
        if exc.code == POSITION_SIDE_POSITION:
            raise _refused(
                PositionModeChangeRefused,
                exc,
                "cannot switch the account from hedge to one-way position mode while it holds "
                "a position; close every position and start again",
            ) from exc
        raise
    return True


async def read_symbol_config(client: BinanceRestClient, symbol: str) -> SymbolConfig | None:
    """``symbol``'s current margin type and leverage; None when the answer has no row for it.

    Raises:
        BinanceParseError: The row is there but malformed.
    """
    answer = await client.signed("GET", _SYMBOL_CONFIG_PATH, {"symbol": symbol}, weight=5)
    rows = answer if isinstance(answer, list) else [answer]
    row = next((r for r in rows if isinstance(r, dict) and r.get("symbol") == symbol), None)
    if row is None:
        return None
    try:
        margin_type = str(row["marginType"]).upper()
        leverage = row["leverage"]
        if isinstance(leverage, bool) or margin_type not in ("CROSSED", "ISOLATED"):
            raise ValueError(margin_type)
        return SymbolConfig(margin_type, int(leverage), Decimal(str(row["maxNotionalValue"])))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BinanceParseError(f"GET {_SYMBOL_CONFIG_PATH}: unexpected row {row!r}") from exc


async def set_margin_type(client: BinanceRestClient, symbol: str, margin_type: str) -> bool:
    """Set ``symbol``'s margin type; True when it changed, False when it already was.

    Raises:
        ValueError: ``margin_type`` is neither CROSSED nor ISOLATED (nothing sent).
        MarginTypeChangeRefused: Open orders or a position prevent the change.
    """
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise ValueError(f"margin_type must be CROSSED or ISOLATED, not {margin_type!r}")
    params = {"symbol": symbol, "marginType": margin_type}
    try:
        await client.signed("POST", _MARGIN_TYPE_PATH, params, weight=1)
    except ExchangeRejected as exc:
        if exc.code == MARGIN_TYPE_NO_CHANGE:
            return False
        if exc.code in (MARGIN_TYPE_OPEN_ORDERS, MARGIN_TYPE_POSITION):
            what = "open orders" if exc.code == MARGIN_TYPE_OPEN_ORDERS else "an open position"
            raise _refused(
                MarginTypeChangeRefused,
                exc,
                f"cannot change the margin type of {symbol} to {margin_type} while it has "
                f"{what}; close them, or configure the margin type it already has",
            ) from exc
        raise
    return True


async def set_leverage(
    client: BinanceRestClient, symbol: str, leverage: int
) -> tuple[int, Decimal]:
    """Set ``symbol``'s leverage; returns (leverage, maxNotionalValue) as Binance reports them.

    Raises:
        ValueError: ``leverage`` is not an integer (nothing sent).
        InvalidLeverage: Binance refused it (-4028): outside 1..125 or above the symbol's
            brackets. The range is left to Binance, which knows the brackets.
    """
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise ValueError(f"leverage must be an integer, not {leverage!r}")
    params: dict[str, Any] = {"symbol": symbol, "leverage": leverage}
    try:
        answer = await client.signed("POST", _LEVERAGE_PATH, params, weight=1)
    except ExchangeRejected as exc:
        if exc.code == INVALID_LEVERAGE:
            raise _refused(
                InvalidLeverage,
                exc,
                f"leverage {leverage} is not valid for {symbol} (above its maximum bracket?)",
            ) from exc
        raise
    try:
        return int(answer["leverage"]), Decimal(str(answer["maxNotionalValue"]))
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BinanceParseError(f"POST {_LEVERAGE_PATH}: unexpected answer {answer!r}") from exc


async def configure_futures(
    client: BinanceRestClient, symbol: str, leverage: int, margin_type: str = "CROSSED"
) -> FuturesSetup:
    """One-way position mode, then ``symbol``'s margin type, then its leverage.

    Each is changed only when the account's current value differs (see the module).

    Args:
        client: A futures :class:`BinanceRestClient`.
        symbol: e.g. ``BTCUSDT``.
        leverage: 1..125 and within the symbol's brackets (checked by Binance).
        margin_type: ``CROSSED`` (default) or ``ISOLATED``.

    Raises:
        ValueError: Not a futures client, or a bad ``leverage`` / ``margin_type`` (nothing sent).
        PositionModeChangeRefused, MarginTypeChangeRefused, InvalidLeverage: See the module.
    """
    if client.market != "futures":
        raise ValueError("configure_futures needs a futures client")
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise ValueError(f"margin_type must be CROSSED or ISOLATED, not {margin_type!r}")
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise ValueError(f"leverage must be an integer, not {leverage!r}")
    mode_changed = await ensure_one_way_mode(client)
    current = await read_symbol_config(client, symbol)
    margin_changed = False
    if current is None or current.margin_type != margin_type:
        margin_changed = await set_margin_type(client, symbol, margin_type)
    if current is not None and current.leverage == leverage:
        actual, max_notional = current.leverage, current.max_notional_value
    else:
        actual, max_notional = await set_leverage(client, symbol, leverage)
    return FuturesSetup(symbol, actual, max_notional, margin_type, mode_changed, margin_changed)
