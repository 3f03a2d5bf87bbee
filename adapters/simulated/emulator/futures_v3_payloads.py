"""The v3 USD-M account payloads: ``/fapi/v3/account``, ``/balance`` and ``/positionRisk``.

Binance documents these as the current versions (the v2 ones stay served for older
clients). Their figures are the v2 ones; the shapes differ: v3 account drops the account
flags (fee tier, can-trade...) and each asset's ``marginAvailable``, and lists only the
symbols with a position or open orders, with fewer fields; v3 position risk drops
leverage, margin type and the notional cap, adds the margin figures and also lists only
symbols with a position or open orders. Field names and order follow the "Account
Information V3" and "Position Information V3" examples in ``shared/data/binance-spec``.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.simulated.emulator.futures_payloads import _Margin, futures_account, futures_balance
from adapters.simulated.emulator.payload_numbers import MONEY_PLACES, ZERO, Places, money
from adapters.simulated.emulator.state import Venue
from adapters.simulated.emulator.wire import fmt

#: Account flags v2 has and v3 does not.
_V2_ONLY_ACCOUNT = ("feeTier", "canTrade", "canDeposit", "canWithdraw", "updateTime")
_V2_ONLY_ACCOUNT += ("multiAssetsMargin", "tradeGroupId")


def _listed(m: _Margin) -> bool:
    """v3 lists a symbol only while it has a position or open orders."""
    return bool(m.qty) or bool(m.bid_notional) or bool(m.ask_notional)


def futures_account_v3(venues: Sequence[Venue]) -> dict[str, object]:
    """``GET /fapi/v3/account`` (single-asset mode; maintenance margin is not modelled)."""
    v2 = futures_account(venues)
    account = {k: v for k, v in v2.items() if k not in _V2_ONLY_ACCOUNT}
    assets = v2["assets"]
    assert isinstance(assets, list)
    account["assets"] = [{k: v for k, v in a.items() if k != "marginAvailable"} for a in assets]
    positions = []
    for venue in venues:
        m = _Margin(venue)
        if not _listed(m):
            continue
        positions.append(
            {
                "symbol": venue.symbol,
                "positionSide": "BOTH",
                "positionAmt": fmt(m.qty, Places(venue.instrument).qty),
                "unrealizedProfit": money(m.upnl),
                "isolatedMargin": money(ZERO),
                "notional": fmt(m.qty * m.mark, MONEY_PLACES),
                "isolatedWallet": "0",
                "initialMargin": money(m.position_im + m.order_im),
                "maintMargin": money(ZERO),
                "updateTime": venue.updated,
            }
        )
    account["positions"] = positions
    return account


def futures_balance_v3(venues: Sequence[Venue]) -> list[dict[str, object]]:
    """``GET /fapi/v3/balance``: the same rows as v2."""
    return futures_balance(venues)


def position_risk_v3(venues: Sequence[Venue]) -> list[dict[str, object]]:
    """``GET /fapi/v3/positionRisk`` rows: only symbols with a position or open orders."""
    rows = []
    for venue in venues:
        m = _Margin(venue)
        if not _listed(m):
            continue
        p = Places(venue.instrument)
        rows.append(
            {
                "symbol": venue.symbol,
                "positionSide": "BOTH",
                "positionAmt": fmt(m.qty, p.qty),
                "entryPrice": fmt(m.entry, p.price + 3),
                "breakEvenPrice": fmt(m.entry, p.price + 3),
                "markPrice": fmt(m.mark, MONEY_PLACES),
                "unRealizedProfit": fmt(m.upnl, MONEY_PLACES),
                "liquidationPrice": "0",
                "isolatedMargin": "0",
                "notional": fmt(m.qty * m.mark, MONEY_PLACES),
                "marginAsset": venue.instrument.quote_asset,
                "isolatedWallet": "0",
                "initialMargin": fmt(m.position_im + m.order_im, MONEY_PLACES),
                "maintMargin": fmt(ZERO, MONEY_PLACES),
                "positionInitialMargin": fmt(m.position_im, MONEY_PLACES),
                "openOrderInitialMargin": fmt(m.order_im, MONEY_PLACES),
                "adl": 0,
                "bidNotional": fmt(m.bid_notional, MONEY_PLACES),
                "askNotional": fmt(m.ask_notional, MONEY_PLACES),
                "updateTime": venue.updated,
            }
        )
    return rows
