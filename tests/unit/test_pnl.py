"""PnL of the account projection: hand-worked examples and captured Binance payloads.

Definitions (Binance USD-M futures'): realized PnL by average cost, gross of commission
(Binance's ``realizedPnl`` / ``rp``); unrealized PnL of the open quantity at the mark price
(``unRealizedProfit`` / ``up``); commissions booked in the asset charged plus their quote
value at trade time; funding booked apart from trading PnL; equity = cash + unrealized.

Every amount is an exact Decimal. The hand-worked examples spell out the arithmetic in
comments. The payload tests read the JSON in ``binance-fixtures`` (via the ``shared_data``
fixture; they skip where the data is absent) directly, without adapter code; each states
what its payload proves and, where a payload cannot prove something, why.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.simulated.exchange import SimulatedExchange
from adapters.simulated.ledgers import FuturesLedger
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.account import AccountProjection, MissingFeeValue
from domain.candles import MINUTE_MS, Candle
from domain.enums import Liquidity, MarketType, OrderType, Side
from domain.errors import DomainError
from domain.events import FundingPaid, OrderFilled
from domain.instruments import Instrument
from domain.orders import Fill
from domain.positions import Position

D = Decimal
ZERO = D(0)
BUY, SELL = Side.BUY, Side.SELL
MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
T0 = 1_704_067_200_000
BTC_FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
ETH_FUT = builtin_instrument(MarketType.USDM_FUTURES, "ETHUSDT")
BTC_SPOT = builtin_instrument(MarketType.SPOT, "BTCUSDT")
ETH_SPOT = builtin_instrument(MarketType.SPOT, "ETHUSDT")


def fill(
    trade_id: int,
    side: Side,
    qty: str,
    price: str,
    fee: str,
    fee_asset: str = "USDT",
    liquidity: Liquidity = TAKER,
    fee_quote: str | None = None,
) -> Fill:
    return Fill(
        trade_id,
        f"gb-{trade_id}",
        side,
        D(qty),
        D(price),
        D(fee),
        fee_asset,
        liquidity,
        T0 + trade_id,
        None if fee_quote is None else D(fee_quote),
    )


def funding(account: AccountProjection, rate: str, mark: str, amount: str) -> None:
    """Book a funding settlement whose hand-worked ``amount`` must match Binance's formula."""
    position = account.position
    # Binance: funding = position x mark x rate, paid by longs when the rate is positive.
    assert -(position.quantity * D(mark) * D(rate)) == D(amount)
    account.apply_funding(
        FundingPaid(position.symbol, D(amount), D(rate), D(mark), position.quantity, T0)
    )


def check_futures_identities(account: AccountProjection, initial: Decimal, mark: str) -> None:
    """cash = initial + realized - fees + funding (USDT fees only); equity = cash + unrealized."""
    position = account.position
    assert account.cash == initial + position.realized_pnl - account.fees_quote + position.funding
    assert account.equity(D(mark)) == account.cash + position.unrealized_pnl(D(mark))


# ------------------------------------------------------------- hand-worked: USD-M futures
def test_futures_open_add_partial_close_flip_close_with_funding() -> None:
    initial = D("10000")
    acct = AccountProjection(BTC_FUT, initial)
    pos = acct.position

    # Open: BUY 0.010 @ 50000, taker fee 500 x 0.0004 = 0.2.
    assert acct.apply_fill(fill(1, BUY, "0.010", "50000", "0.2")) == 0
    assert (pos.quantity, pos.cost, pos.entry_price) == (D("0.010"), D("500"), D("50000"))
    assert acct.cash == D("9999.8")
    assert pos.unrealized_pnl(D("50500")) == D("5")  # 0.010 x 50500 - 500
    assert acct.equity(D("50500")) == D("10004.8")
    check_futures_identities(acct, initial, "50500")

    # Add: BUY 0.020 @ 53000, maker fee 1060 x 0.0002 = 0.212. Cost 500 + 1060 = 1560,
    # entry 1560 / 0.030 = 52000.
    assert acct.apply_fill(fill(2, BUY, "0.020", "53000", "0.212", liquidity=MAKER)) == 0
    assert (pos.quantity, pos.cost, pos.entry_price) == (D("0.030"), D("1560"), D("52000"))
    assert acct.cash == D("9999.588")
    assert pos.unrealized_pnl(D("51000")) == D("-30")  # 1530 - 1560
    assert acct.equity(D("51000")) == D("9969.588")
    check_futures_identities(acct, initial, "51000")

    # Funding, positive rate 0.0001 at mark 51000: the long pays 0.030 x 51000 x 0.0001.
    funding(acct, "0.0001", "51000", "-0.153")
    assert acct.cash == D("9999.435")
    assert pos.realized_pnl == 0  # funding is not trading PnL

    # Partial close: SELL 0.012 @ 54000 (fee 648 x 0.0004 = 0.2592). Released cost
    # 1560 x 0.012 / 0.030 = 624, realized 648 - 624 = 24; the entry stays 52000.
    assert acct.apply_fill(fill(3, SELL, "0.012", "54000", "0.2592")) == D("24")
    assert (pos.quantity, pos.cost, pos.entry_price) == (D("0.018"), D("936"), D("52000"))
    assert acct.cash == D("10023.1758")  # 9999.435 + 24 - 0.2592
    check_futures_identities(acct, initial, "54000")

    # Funding, negative rate -0.0002 at mark 54000: the long receives 0.018 x 54000 x 0.0002.
    funding(acct, "-0.0002", "54000", "0.1944")
    assert acct.cash == D("10023.3702")

    # Flip: SELL 0.030 @ 50000 (fee 1500 x 0.0004 = 0.6). Closes 0.018: 900 - 936 = -36;
    # opens 0.012 short at 50000 (cost 600).
    assert acct.apply_fill(fill(4, SELL, "0.030", "50000", "0.6")) == D("-36")
    assert (pos.quantity, pos.cost, pos.entry_price) == (D("-0.012"), D("600"), D("50000"))
    assert acct.cash == D("9986.7702")
    assert pos.unrealized_pnl(D("49000")) == D("12")  # short: 600 - 0.012 x 49000
    assert acct.equity(D("49000")) == D("9998.7702")
    check_futures_identities(acct, initial, "49000")

    # Funding, positive rate 0.0001 at mark 49000: the short receives 0.012 x 49000 x 0.0001.
    funding(acct, "0.0001", "49000", "0.0588")
    assert acct.cash == D("9986.829")

    # Close: BUY 0.012 @ 48500 (maker fee 582 x 0.0002 = 0.1164); realized 600 - 582 = 18.
    assert acct.apply_fill(fill(5, BUY, "0.012", "48500", "0.1164", liquidity=MAKER)) == D("18")
    assert pos.is_flat and pos.cost == 0 and pos.entry_price == 0
    assert acct.cash == D("10004.7126")
    assert acct.equity(D("1")) == acct.cash  # flat: no unrealized at any mark
    check_futures_identities(acct, initial, "48000")

    # Totals: realized 24 - 36 + 18 = 6; fees 1.3876; funding -0.153 + 0.1944 + 0.0588.
    assert pos.realized_pnl == D("6")
    assert acct.fees_quote == pos.fees == D("1.3876")
    assert acct.fees_by_asset == {"USDT": D("1.3876")}
    assert pos.funding == D("0.1002")
    assert acct.cash == initial + D("6") - D("1.3876") + D("0.1002")


def test_short_open_add_and_close_at_a_loss() -> None:
    acct = AccountProjection(BTC_FUT, D("1000"))
    acct.apply_fill(fill(1, SELL, "0.002", "60000", "0.048"))  # cost 120
    acct.apply_fill(fill(2, SELL, "0.001", "63000", "0.0252"))  # cost 183, entry 61000
    assert acct.position.entry_price == D("61000")
    assert acct.position.unrealized_pnl(D("62000")) == D("-3")  # 183 - 186
    assert acct.equity(D("62000")) == D("1000") - D("0.0732") - D("3")
    # BUY 0.003 @ 61500: realized 183 - 184.5 = -1.5.
    assert acct.apply_fill(fill(3, BUY, "0.003", "61500", "0.0738")) == D("-1.5")
    assert acct.cash == D("1000") - D("1.5") - D("0.147")


# ----------------------------------------------------------- third-asset (BNB) commission
def test_futures_bnb_commission_leaves_the_usdt_wallet_alone() -> None:
    acct = AccountProjection(BTC_FUT, D("10000"))
    # BUY 0.001 @ 60000 with the commission paid in BNB: 0.0001 BNB, worth 0.06 USDT then.
    bnb = fill(1, BUY, "0.001", "60000", "0.0001", "BNB", fee_quote="0.06")
    assert acct.apply_fill(bnb) == 0
    assert acct.cash == D("10000")  # Binance takes it from the BNB balance
    assert acct.fees_by_asset == {"BNB": D("0.0001")}
    assert acct.fees_quote == D("0.06")
    assert acct.position.fees == D("0.06")
    assert acct.position.entry_price == D("60000")  # the commission is not part of the cost
    assert acct.equity(D("60000")) == D("10000")

    # Close with a USDT commission: only that one comes out of the wallet.
    assert acct.apply_fill(fill(2, SELL, "0.001", "61000", "0.0244")) == D("1")
    assert acct.cash == D("10000") + D("1") - D("0.0244")
    assert acct.fees_by_asset == {"BNB": D("0.0001"), "USDT": D("0.0244")}
    assert acct.fees_quote == D("0.0844")
    # Net of every commission: realized + unrealized + funding - fees_quote.
    assert acct.position.realized_pnl - acct.fees_quote == D("0.9156")


def test_spot_bnb_commission_changes_neither_cash_nor_base() -> None:
    acct = AccountProjection(BTC_SPOT, D("1000"))
    acct.apply_fill(fill(1, BUY, "0.01", "50000", "0.00075", "BNB", MAKER, fee_quote="0.375"))
    assert acct.cash == D("500")  # the notional only
    assert acct.base_balance == D("0.01")  # the full quantity
    assert acct.position.quantity == D("0.01") and acct.position.cost == D("500")
    assert acct.fees_by_asset == {"BNB": D("0.00075")}
    assert acct.fees_quote == D("0.375")


def test_third_asset_commission_without_a_quote_value_is_refused() -> None:
    acct = AccountProjection(BTC_FUT, D("10000"))
    with pytest.raises(MissingFeeValue) as caught:
        acct.apply_fill(fill(42, BUY, "0.001", "60000", "0.0001", "BNB"))
    error = caught.value
    assert isinstance(error, DomainError)
    assert (error.asset, error.trade_id) == ("BNB", 42)
    assert "BNB" in str(error) and "42" in str(error)
    # Nothing was booked.
    assert acct.position.is_flat and acct.cash == D("10000")
    assert acct.fees_quote == 0 and acct.fees_by_asset == {}


def test_zero_third_asset_commission_needs_no_quote_value() -> None:
    acct = AccountProjection(BTC_FUT, D("10000"))
    acct.apply_fill(fill(1, BUY, "0.001", "60000", "0", "BNB"))
    assert acct.fees_quote == 0 and acct.fees_by_asset == {}
    assert acct.position.quantity == D("0.001")


def test_fee_quote_is_only_read_for_a_third_asset() -> None:
    # For a quote or base commission the value follows from the fill itself.
    acct = AccountProjection(BTC_SPOT, D("1000"))
    acct.apply_fill(fill(1, BUY, "0.01", "50000", "0.00001", "BTC", fee_quote="999"))
    acct.apply_fill(fill(2, SELL, "0.005", "50000", "0.25", "USDT", fee_quote="999"))
    assert acct.fees_quote == D("0.5") + D("0.25")


# ------------------------------------------------------------------- simulated exchange
def simulated_fills(
    instrument: Instrument, balances: dict[str, Decimal]
) -> tuple[SimulatedExchange, list[Fill]]:
    """A market BUY then a smaller market SELL on the simulator, at 50000."""
    sim = SimulatedExchange(instrument, balances)
    price = D("50000")
    sim.on_candle(Candle(0, price, price, price, price, D("1000"), MINUTE_MS - 1))
    trades: list[Fill] = []
    for cid, side, qty in (("b", BUY, "0.010"), ("s", SELL, "0.004")):
        request = OrderRequest(cid, instrument.symbol, side, OrderType.MARKET, D(qty))
        trades += [e.fill for e in sim.place_order(request) if isinstance(e, OrderFilled)]
    assert [f.side for f in trades] == [BUY, SELL]
    return sim, trades


def test_simulated_spot_fills_carry_their_fee_value_and_match_the_projection() -> None:
    sim, trades = simulated_fills(BTC_SPOT, {"USDT": D("1000"), "BTC": D("0")})
    buy, sell = trades
    assert buy.fee_asset == "BTC" and buy.fee_quote == buy.fee * buy.price
    assert sell.fee_asset == "USDT" and sell.fee_quote == sell.fee
    acct = AccountProjection(BTC_SPOT, D("1000"))
    for trade in trades:
        acct.apply_fill(trade)
    balances = sim.account().balances
    assert acct.cash == sum(balances["USDT"], ZERO)
    assert acct.base_balance == sum(balances["BTC"], ZERO)
    assert acct.fees_quote == buy.fee_quote + sell.fee_quote


def test_simulated_futures_fills_carry_their_fee_value_and_match_the_projection() -> None:
    sim, trades = simulated_fills(BTC_FUT, {"USDT": D("10000")})
    assert all(t.fee_asset == "USDT" and t.fee_quote == t.fee for t in trades)
    acct = AccountProjection(BTC_FUT, D("10000"))
    for trade in trades:
        acct.apply_fill(trade)
    ledger = sim.ledger
    assert isinstance(ledger, FuturesLedger)
    assert acct.cash == ledger.wallet
    assert acct.position.quantity == ledger.position.quantity == D("0.006")
    assert acct.fees_quote == ledger.position.fees
    assert acct.equity(D("51000")) == ledger.equity(D("51000"))


# ------------------------------------------------------------------- hand-worked: spot
def test_spot_base_commission_on_buy_and_quote_commission_on_sell() -> None:
    acct = AccountProjection(BTC_SPOT, D("1000"))
    pos = acct.position

    # BUY 0.010 @ 50000, commission 0.1% in BTC: 0.00001 BTC (worth 0.5 USDT).
    assert acct.apply_fill(fill(1, BUY, "0.010", "50000", "0.00001", "BTC", MAKER)) == 0
    assert acct.cash == D("500")  # 1000 - 500: nothing else leaves the quote balance
    assert acct.base_balance == D("0.00999")  # 0.010 - 0.00001
    assert pos.quantity == D("0.00999") and pos.cost == D("500")  # the fee raises the entry
    assert acct.fees_quote == D("0.5")
    # equity - initial = realized + unrealized - quote commissions (none yet):
    # 500 + 0.00999 x 50000 - 1000 = -0.5 = 0.00999 x 50000 - 500.
    assert acct.equity(D("50000")) == D("999.5")
    assert acct.equity(D("50000")) - acct.initial_equity == pos.unrealized_pnl(D("50000"))

    # SELL everything @ 51000, commission 0.1% in USDT: 509.49 x 0.001 = 0.50949.
    assert acct.apply_fill(fill(2, SELL, "0.00999", "51000", "0.50949", "USDT")) == D("9.49")
    assert acct.cash == D("1008.98051")  # 500 + 509.49 - 0.50949
    assert acct.base_balance == 0 and pos.is_flat
    assert acct.fees_by_asset == {"BTC": D("0.00001"), "USDT": D("0.50949")}
    assert acct.fees_quote == D("1.00949")
    assert acct.equity(D("1")) - acct.initial_equity == pos.realized_pnl - D("0.50949")


def test_spot_sell_with_base_commission() -> None:
    acct = AccountProjection(BTC_SPOT, D("0"), D("1"), D("40000"))
    # SELL 0.5 @ 42000 with the commission taken in BTC: 0.0005 BTC on top of the 0.5 sold.
    assert acct.apply_fill(fill(1, SELL, "0.5", "42000", "0.0005", "BTC")) == D("1000")
    assert acct.cash == D("21000")
    assert acct.base_balance == D("0.4995")
    assert acct.fees_quote == D("21")  # 0.0005 x 42000
    # The consumed units keep their cost: 20000 / 0.4995 is the new entry.
    assert acct.position.cost == D("20000")
    # Unrealized 0.4995 x 42000 - 20000 = 979: the 0.5 BTC left, less the 21 USDT of fee.
    assert acct.position.unrealized_pnl(D("42000")) == D("979")
    # equity - initial = realized + unrealized - quote commissions (none): 41979 - 40000.
    assert acct.equity(D("42000")) - acct.initial_equity == D("1000") + D("979")


# ----------------------------------------------------------- captured Binance payloads
def load(shared_data: Path, relative: str) -> Any:
    path = shared_data / "binance-fixtures" / relative
    if not path.is_file():
        pytest.skip(f"fixture {relative} not found under {shared_data}")
    payload = json.loads(path.read_text("utf-8"))
    return payload["data"] if isinstance(payload, dict) and "data" in payload else payload


def futures_trade_fill(trade: dict[str, Any]) -> Fill:
    """A ``GET /fapi/v1/userTrades`` entry as a Fill (read here: no adapter exists yet)."""
    return Fill(
        int(trade["id"]),
        str(trade["orderId"]),
        Side(trade["side"]),
        D(trade["qty"]),
        D(trade["price"]),
        D(trade["commission"]),
        trade["commissionAsset"],
        MAKER if trade["maker"] else TAKER,
        int(trade["time"]),
    )


def order_update_fill(o: dict[str, Any]) -> Fill:
    """The trade in an ``ORDER_TRADE_UPDATE`` order object (``o``) as a Fill."""
    return Fill(
        int(o["t"]),
        o["c"],
        Side(o["S"]),
        D(o["l"]),
        D(o["L"]),
        D(o["n"]),
        o["N"],
        MAKER if o["m"] else TAKER,
        int(o["T"]),
    )


def test_futures_user_trades_realized_pnl_and_commission(shared_data: Path) -> None:
    """``futures/rest/nautilus-py__http_futures_account_trades.json`` (ETHUSDT, Feb 2022).

    Proves, exactly: (1) our average-cost realized PnL of each trade equals Binance's
    ``realizedPnl`` (0 for the SELL that opens the short from flat, -0.00325 for the BUY that
    closes it: (2778.35 - 2779) x 0.005); (2) the commission is ``quoteQty`` x 0.0004, the
    taker rate then, with ``quoteQty`` = price x qty; (3) the wallet moves by
    ``realizedPnl - commission`` per trade (USDT commission), i.e. realized PnL is gross of it.
    Assumes the account was flat before the first trade, which its ``realizedPnl`` of 0 and
    the equal quantities of the two trades bear out.
    """
    trades = load(shared_data, "futures/rest/nautilus-py__http_futures_account_trades.json")
    assert [(t["symbol"], t["side"], t["qty"]) for t in trades] == [
        ("ETHUSDT", "SELL", "0.005"),
        ("ETHUSDT", "BUY", "0.005"),
    ]
    acct = AccountProjection(ETH_FUT, D("100"))
    for trade in trades:
        quote_qty = D(trade["quoteQty"])
        assert quote_qty == D(trade["price"]) * D(trade["qty"])
        assert D(trade["commission"]) == quote_qty * D("0.0004")
        assert not trade["maker"]  # taker: the 0.0004 rate applies
        cash_before = acct.cash
        realized = acct.apply_fill(futures_trade_fill(trade))
        assert realized == D(trade["realizedPnl"])
        assert acct.cash - cash_before == D(trade["realizedPnl"]) - D(trade["commission"])
    assert acct.position.is_flat
    assert acct.position.realized_pnl == D("-0.00325000")
    assert acct.fees_quote == D("0.00555670") + D("0.00555800")
    assert acct.fees_by_asset == {"USDT": D("0.01111470")}
    assert acct.cash == D("100") - D("0.00325") - D("0.0111147")


def test_position_risk_unrealized_at_mark(shared_data: Path) -> None:
    """``futures/rest/nautilus-rs__position_risk.json`` (Binance docs example, one-way).

    Proves: our unrealized PnL of a 0.001 BTC long entered at 50000 equals
    ``unRealizedProfit`` (1.0) at ``markPrice`` 51000, and our notional equals ``notional``.
    """
    [risk] = load(shared_data, "futures/rest/nautilus-rs__position_risk.json")
    assert risk["positionSide"] == "BOTH"
    pos = Position(risk["symbol"])
    amount = D(risk["positionAmt"])
    pos.apply_fill(BUY if amount > 0 else SELL, abs(amount), D(risk["entryPrice"]))
    mark = D(risk["markPrice"])
    assert pos.entry_price == D(risk["entryPrice"])
    assert pos.unrealized_pnl(mark) == D(risk["unRealizedProfit"])
    assert pos.notional(mark) == D(risk["notional"])


def test_position_information_unrealized_at_mark(shared_data: Path) -> None:
    """``futures/rest/nautilus-py__http_futures_account_positions_{hedge,one_way}.json``.

    Proves, exactly to Binance's 8 decimals: the hedge-mode LONG leg (20 BTC at 6563.665)
    has unrealized (6679.50671178 - 6563.665) x 20 = 2316.83423560 at its ``markPrice``; the
    flat one-way position has 0. The SHORT leg is not checked: its ``entryPrice`` is the
    placeholder 0.00000 with a non-zero ``positionAmt`` (a hand-edited resource), which no
    real position has.
    """
    hedge = load(shared_data, "futures/rest/nautilus-py__http_futures_account_positions_hedge.json")
    [long_leg] = [p for p in hedge if p["positionSide"] == "LONG"]
    pos = Position(long_leg["symbol"])
    pos.apply_fill(BUY, D(long_leg["positionAmt"]), D(long_leg["entryPrice"]))
    assert pos.unrealized_pnl(D(long_leg["markPrice"])) == D(long_leg["unRealizedProfit"])

    [flat] = load(
        shared_data, "futures/rest/nautilus-py__http_futures_account_positions_one_way.json"
    )
    assert D(flat["positionAmt"]) == 0
    assert Position(flat["symbol"]).unrealized_pnl(D(flat["markPrice"])) == D(
        flat["unRealizedProfit"]
    )


def test_account_information_equity_is_wallet_plus_unrealized(shared_data: Path) -> None:
    """``futures/rest/nautilus-rs__account_info_v2.json`` (flat account).

    Proves Binance's identity ``marginBalance = walletBalance + unrealizedProfit`` that our
    ``equity = cash + unrealized`` mirrors, for the account total and the USDT asset, and
    that a flat projection of that wallet has exactly that equity.
    """
    info = load(shared_data, "futures/rest/nautilus-rs__account_info_v2.json")
    wallet = D(info["totalWalletBalance"])
    assert D(info["totalMarginBalance"]) == wallet + D(info["totalUnrealizedProfit"])
    [usdt] = [a for a in info["assets"] if a["asset"] == "USDT"]
    assert D(usdt["marginBalance"]) == D(usdt["walletBalance"]) + D(usdt["unrealizedProfit"])
    assert all(D(p["positionAmt"]) == 0 for p in info["positions"])
    acct = AccountProjection(BTC_FUT, wallet)
    assert acct.equity(D("50000")) == D(info["totalMarginBalance"])


def test_account_update_positions_sign_convention(shared_data: Path) -> None:
    """``futures/user-data/nautilus-rs__account_update.json`` (Binance docs example).

    ACCOUNT_UPDATE carries ``pa``/``ep``/``up`` but no mark price, so an exact check is not
    possible. What it does prove: with ``up = (mark - ep) x pa`` for both legs, the LONG leg
    implies a mark of 6706.1106 and the SHORT leg 6706.1156, the same market within 0.005
    (the docs example is not exact to the cent), so our short PnL at the long's mark is within
    0.05 USDT of ``up``; a sign error for shorts would miss by about 2846 USDT. The BOTH
    leg is flat: entry 0 and unrealized 0, as for our flat position.
    """
    update = load(shared_data, "futures/user-data/nautilus-rs__account_update.json")
    legs = {p["ps"]: p for p in update["a"]["P"]}
    long_leg, short_leg, both = legs["LONG"], legs["SHORT"], legs["BOTH"]
    implied_mark = D(long_leg["ep"]) + D(long_leg["up"]) / D(long_leg["pa"])
    assert implied_mark == D("6706.1106")

    pos = Position(long_leg["s"])
    pos.apply_fill(BUY, D(long_leg["pa"]), D(long_leg["ep"]))
    assert pos.unrealized_pnl(implied_mark) == D(long_leg["up"])

    short = Position(short_leg["s"])
    short.apply_fill(SELL, -D(short_leg["pa"]), D(short_leg["ep"]))
    assert short.quantity == D(short_leg["pa"])
    assert abs(short.unrealized_pnl(implied_mark) - D(short_leg["up"])) <= D("0.05")

    flat = Position(both["s"])
    assert D(both["pa"]) == 0 and flat.entry_price == D(both["ep"])
    assert flat.unrealized_pnl(implied_mark) == D(both["up"])


#: ORDER_TRADE_UPDATE payloads whose trade closes (part of) a position, with the commission
#: rate ``n / (l x L)`` each implies. nautilus-rs files are Binance-docs examples (or
#: documented derivations); nautilus-py files are nautilus test resources.
CLOSING_TRADES = [
    ("nautilus-rs__order_update_calculated.json", "0.0005"),  # liquidation, long
    ("nautilus-rs__order_update_adl.json", "0.0005"),  # ADL, short
    ("nautilus-rs__order_update_insurance.json", "0.0005"),  # insurance-fund close, long
    ("nautilus-rs__order_update_settlement.json", "0.0005"),  # settlement close, long
    ("nautilus-py__ws_futures_order_update_adl.json", "0.001"),
    ("nautilus-py__ws_futures_order_update_adl_filled.json", "0.001"),
    ("nautilus-py__ws_futures_order_update_liquidation.json", "0.001"),
    ("nautilus-py__ws_futures_order_update_settlement.json", "0.001"),
    ("nautilus-py__ws_futures_order_update_trade_reduce_only_qty.json", "0.0002"),
]


@pytest.mark.parametrize(("name", "rate"), CLOSING_TRADES)
def test_order_trade_update_closing_trade(shared_data: Path, name: str, rate: str) -> None:
    """A closing trade's ``rp`` (realized profit) and ``n``/``N`` (commission).

    None of these payloads says what the position's entry was, so the average-cost rule
    itself is proven by the userTrades test above, not here. What these prove, per payload:
    (1) the commission is charged on the trade's own notional ``l x L`` (not on ``ap`` or the
    order price) at the rate listed, in the quote asset ``N``=USDT, and our fee value equals
    ``n``; (2) there is an entry, ``L - rp/l`` for a long and ``L + rp/l`` for a short, that is
    on the instrument's price grid, and closing a position held at it books exactly ``rp``,
    flattens it, and moves the wallet by ``rp - n``: ``rp`` is gross of commission and signed
    as our realized PnL. The side being closed is ``ps`` in hedge mode, or the opposite of
    ``S`` for a reduce-only order in one-way mode (``ps`` BOTH).

    Not used: ``order_update_trade``/``_partial`` (a BUY on the LONG side opens, yet reports
    ``rp`` 12.34: a derived variant per the fixture's SOURCES.md, and its ``n`` is no whole
    rate of ``l x L``); ``order_update_delivery`` (COIN-M, no commission fields); and the
    NEW/zero-quantity updates, which carry no trade.
    """
    o = load(shared_data, f"futures/user-data/{name}")["o"]
    trade = order_update_fill(o)
    assert o["N"] == "USDT"
    assert trade.fee == trade.quantity * trade.price * D(rate)

    if o["ps"] == "BOTH":
        assert o["R"] is True  # one-way: only a reduce-only order is known to close
        closes_long = trade.side is SELL
    else:
        assert trade.side is (SELL if o["ps"] == "LONG" else BUY)  # the trade closes that leg
        closes_long = o["ps"] == "LONG"
    rp = D(o["rp"])
    per_unit = rp / trade.quantity
    entry = trade.price - per_unit if closes_long else trade.price + per_unit
    instrument = BTC_FUT if o["s"] == "BTCUSDT" else ETH_FUT
    assert o["s"] == instrument.symbol
    assert entry % D("0.01") == 0  # a price on a 0.01 grid (both symbols' tick or finer)

    acct = AccountProjection(instrument, D("100000"))
    opening = Fill(1, "open", BUY if closes_long else SELL, trade.quantity, entry, ZERO,
                   "USDT", MAKER, trade.timestamp - 1)  # fmt: skip
    acct.apply_fill(opening)
    cash_before = acct.cash
    assert acct.apply_fill(trade) == rp
    assert acct.position.is_flat
    assert acct.cash - cash_before == rp - D(o["n"])
    assert acct.fees_quote == D(o["n"])
    assert acct.fees_by_asset == {"USDT": D(o["n"])}


def spot_instrument(symbol: str, base: str, quote: str) -> Instrument:
    """Filters do not matter to the account; only the symbol and its two assets do."""
    return dataclasses.replace(ETH_SPOT, symbol=symbol, base_asset=base, quote_asset=quote)


@pytest.mark.parametrize(
    "name",
    [
        "spot/user-data/nautilus-py__ws_spot_execution_report_trade.json",
        "spot/user-data/nautilus-rs__execution_report_trade.json",
    ],
)
def test_spot_execution_report_base_commission(shared_data: Path, name: str) -> None:
    """Spot ``executionReport`` TRADE events: a BUY with the commission in the base (ETH).

    Proves: the cumulative quote ``Z`` is ``l x L`` (the quote balance falls by exactly the
    notional), the commission is 0.1% of the quantity, and the base balance rises by
    ``l - n`` while the fee's value ``n x L`` is booked in ``fees_quote``.
    """
    event = load(shared_data, name)
    event = event.get("event", event)
    assert (event["e"], event["x"], event["S"], event["N"]) == (
        "executionReport",
        "TRADE",
        "BUY",
        "ETH",
    )
    qty, price, fee = D(event["l"]), D(event["L"]), D(event["n"])
    assert D(event["z"]) == qty  # the first fill of the order
    assert D(event["Z"]) == qty * price
    assert fee == qty * D("0.001")
    acct = AccountProjection(spot_instrument(event["s"], "ETH", "USDT"), D("10000"))
    acct.apply_fill(
        Fill(event["t"], event["c"], BUY, qty, price, fee, event["N"], MAKER, event["T"])
    )
    assert acct.cash == D("10000") - D(event["Z"])
    assert acct.base_balance == qty - fee
    assert acct.fees_quote == fee * price
    assert acct.fees_by_asset == {"ETH": fee}


def test_spot_my_trades_base_commission(shared_data: Path) -> None:
    """``spot/rest/nautilus-rs__account_trades_response.json`` (Binance docs example).

    A BNBBTC BUY of 12 BNB charged 10.1 BNB: here BNB is the base asset, so the commission
    reduces the bought quantity. Proves ``quoteQty`` = price x qty (what leaves the BTC
    balance) and the base balance ends at qty - commission (the docs' commission is a
    placeholder, far above any real rate, but the arithmetic is the same).
    """
    [trade] = load(shared_data, "spot/rest/nautilus-rs__account_trades_response.json")
    assert (trade["symbol"], trade["commissionAsset"], trade["isBuyer"]) == ("BNBBTC", "BNB", True)
    qty, price, fee = D(trade["qty"]), D(trade["price"]), D(trade["commission"])
    assert D(trade["quoteQty"]) == qty * price
    acct = AccountProjection(spot_instrument("BNBBTC", "BNB", "BTC"), D("100"))
    liquidity = MAKER if trade["isMaker"] else TAKER
    acct.apply_fill(Fill(trade["id"], "x", BUY, qty, price, fee, "BNB", liquidity, trade["time"]))
    assert acct.cash == D("100") - D(trade["quoteQty"])
    assert acct.base_balance == D("1.9")
    assert acct.fees_quote == fee * price
