"""USD-M futures account handlers and their routes.

Income, balances, positions (the current v3 routes and the older v2 ones) and account
setup (leverage, position mode, margin type, and the symbol configuration that reads the
latter back).
"""

from __future__ import annotations

from adapters.simulated.emulator import payloads as pl
from adapters.simulated.emulator.endpoint import FUTURES, Call, Endpoint, _signed
from adapters.simulated.emulator.futures_v3_payloads import (
    futures_account_v3,
    futures_balance_v3,
    position_risk_v3,
)
from adapters.simulated.emulator.state import Venue
from adapters.simulated.emulator.venue_orders import _DAY_MS, _limit, _window
from adapters.simulated.emulator.wire import (
    ApiError,
    invalid_value,
    mandatory,
    opt_bool,
    opt_int,
    req_str,
)

_INCOME_TYPES = frozenset(
    {
        "TRANSFER",
        "WELCOME_BONUS",
        "REALIZED_PNL",
        "FUNDING_FEE",
        "COMMISSION",
        "INSURANCE_CLEAR",
        "REFERRAL_KICKBACK",
        "COMMISSION_REBATE",
        "API_REBATE",
        "CONTEST_REWARD",
        "CROSS_COLLATERAL_TRANSFER",
        "OPTIONS_PREMIUM_FEE",
        "OPTIONS_SETTLE_PROFIT",
        "INTERNAL_TRANSFER",
        "AUTO_EXCHANGE",
        "DELIVERED_SETTELMENT",
        "COIN_SWAP_DEPOSIT",
        "COIN_SWAP_WITHDRAW",
        "POSITION_LIMIT_INCREASE_FEE",
        "STRATEGY_UMFUTURES_TRANSFER",
        "FEE_RETURN",
        "BFUSD_REWARD",
    }
)


def _futures_income(call: Call) -> object:
    p = call.params
    kind = p.get("incomeType")
    if kind is not None and kind not in _INCOME_TYPES:
        raise invalid_value("incomeType")
    start, end = _window(p, 10**15, 10**12)
    if start is None and end is None:
        start = call.state.now_ms() - 7 * _DAY_MS
    limit = _limit(p, 100, 1000)
    page = opt_int(p, "page") or 1
    rows = [
        (venue, r)
        for venue in call.venues()
        for r in venue.income
        if (kind is None or r.income_type == kind)
        and (start is None or r.time >= start)
        and (end is None or r.time <= end)
    ]
    rows.sort(key=lambda vr: (vr[1].time, vr[1].tran_id))
    chunk = rows[(page - 1) * limit : page * limit]
    return [pl.income_row(venue, r) for venue, r in chunk]


def _futures_account(call: Call) -> object:
    return pl.futures_account(call.state.venues_of(FUTURES))


def _futures_balance(call: Call) -> object:
    return pl.futures_balance(call.state.venues_of(FUTURES))


def _futures_position_risk(call: Call) -> object:
    return [pl.position_risk(venue) for venue in call.venues()]


def _futures_account_v3(call: Call) -> object:
    return futures_account_v3(call.state.venues_of(FUTURES))


def _futures_balance_v3(call: Call) -> object:
    return futures_balance_v3(call.state.venues_of(FUTURES))


def _futures_position_risk_v3(call: Call) -> object:
    return position_risk_v3(call.venues())


def _futures_leverage(call: Call) -> object:
    venue = call.venue()
    raw = req_str(call.params, "leverage")
    leverage = int(raw) if raw.isdigit() else 0
    if not 1 <= leverage <= 125:
        raise ApiError(-4028, f"Leverage {raw} is not valid")
    venue.set_leverage(leverage)
    return {"leverage": leverage, "maxNotionalValue": pl.MAX_NOTIONAL, "symbol": venue.symbol}


def _symbol_config(call: Call) -> object:
    """``GET /fapi/v1/symbolConfig``: margin type and leverage per symbol, as last set."""
    return [
        {
            "symbol": venue.symbol,
            "marginType": venue.margin_type,
            "isAutoAddMargin": "false",
            "leverage": venue.leverage,
            "maxNotionalValue": pl.MAX_NOTIONAL,
        }
        for venue in call.venues()
    ]


def _has_position(venue: Venue) -> bool:
    return any(pos.quantity != 0 for pos in venue.exchange.account().positions)


def _position_mode(call: Call) -> object:
    return {"dualSidePosition": call.state.dual_side_position}


def _set_position_mode(call: Call) -> object:
    """One-way <-> hedge, account-wide; only with no open orders and no positions."""
    dual = opt_bool(call.params, "dualSidePosition")
    if dual is None:
        raise mandatory("dualSidePosition")
    if dual == call.state.dual_side_position:
        raise ApiError(-4059, "No need to change position side.")
    venues = call.state.venues_of(FUTURES)
    if any(venue.open_orders() for venue in venues):
        raise ApiError(-4067, "Position side cannot be changed if there exists open orders.")
    if any(_has_position(venue) for venue in venues):
        raise ApiError(-4068, "Position side cannot be changed if there exists position.")
    call.state.dual_side_position = dual
    return {"code": 200, "msg": "success"}


def _set_margin_type(call: Call) -> object:
    """CROSSED / ISOLATED per symbol (recorded only; margin figures stay cross-margin)."""
    venue = call.venue()
    margin_type = req_str(call.params, "marginType")
    if margin_type not in ("CROSSED", "ISOLATED"):
        raise invalid_value("marginType")
    if margin_type == venue.margin_type:
        raise ApiError(-4046, "No need to change margin type.")
    if venue.open_orders():
        raise ApiError(-4047, "Margin type cannot be changed if there exists open orders.")
    if _has_position(venue):
        raise ApiError(-4048, "Margin type cannot be changed if there exists position.")
    venue.margin_type = margin_type
    return {"code": 200, "msg": "success"}


def futures_account_endpoints() -> list[Endpoint]:
    """The futures account routes, with their weights (reference 4.2)."""
    return [
        Endpoint(
            "GET",
            "/fapi/v1/income",
            FUTURES,
            _futures_income,
            30,
            signed=True,
            params=_signed("symbol", "incomeType", "startTime", "endTime", "page", "limit"),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/account",
            FUTURES,
            _futures_account,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/balance",
            FUTURES,
            _futures_balance,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v2/positionRisk",
            FUTURES,
            _futures_position_risk,
            5,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "GET",
            "/fapi/v3/account",
            FUTURES,
            _futures_account_v3,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v3/balance",
            FUTURES,
            _futures_balance_v3,
            5,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "GET",
            "/fapi/v3/positionRisk",
            FUTURES,
            _futures_position_risk_v3,
            5,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/leverage",
            FUTURES,
            _futures_leverage,
            1,
            signed=True,
            params=_signed("symbol", "leverage"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/symbolConfig",
            FUTURES,
            _symbol_config,
            5,
            signed=True,
            params=_signed("symbol"),
        ),
        Endpoint(
            "GET",
            "/fapi/v1/positionSide/dual",
            FUTURES,
            _position_mode,
            30,
            signed=True,
            params=_signed(),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/positionSide/dual",
            FUTURES,
            _set_position_mode,
            1,
            signed=True,
            params=_signed("dualSidePosition"),
        ),
        Endpoint(
            "POST",
            "/fapi/v1/marginType",
            FUTURES,
            _set_margin_type,
            1,
            signed=True,
            params=_signed("symbol", "marginType"),
        ),
    ]
