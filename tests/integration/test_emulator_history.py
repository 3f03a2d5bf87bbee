"""The emulator's past at start-up, and its v3 USD-M account routes, over real HTTP.

A client starting up on Binance sees klines, funding rates and a mark price from before
it connected; the emulator serves the stretch of its data before the replay start the same
way (Binance's kline semantics: ``startTime`` / ``endTime`` / ``limit``, only closed
candles, nothing after the current time). The v3 account, balance and position routes
answer with the shapes of Binance's "V3" documentation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.simulated.emulator import EmulatorState
from adapters.simulated.funding import FUNDING_INTERVAL_MS
from tests.integration.test_emulator import KEY, SECRET, T0, Emu, make_state, run
from tests.integration.test_emulator import candle as make_candle

MINUTE = 60_000
HISTORY = 2_000  # minutes of past (two settlement boundaries and more)
CANDLES = [
    make_candle(i, str(30_000 + i), str(30_005 + i), str(29_995 + i), str(30_001 + i))
    for i in range(HISTORY + 30)
]
REPLAY_START = T0 + HISTORY * MINUTE


def _state(**kwargs: Any) -> EmulatorState:
    return make_state(candles=CANDLES, history_minutes=HISTORY, **kwargs)


def test_klines_before_the_replay_start_are_served_at_start_up() -> None:
    async def test(emu: Emu) -> None:
        # The clock stands at the replay start (and runs at real speed from there).
        assert REPLAY_START <= emu.state.now_ms() < REPLAY_START + MINUTE
        assert emu.state.candles_fed == 0
        status, rows, _ = await emu.public("/api/v3/klines", symbol="BTCUSDT", interval="1m")
        assert status == 200 and len(rows) == 500  # Binance's default limit
        assert rows[-1][0] == REPLAY_START - MINUTE  # the newest closed candle
        assert rows[-1][6] < emu.state.server_time_ms()
        assert [r[0] for r in rows] == [REPLAY_START - (500 - i) * MINUTE for i in range(500)]
        status, rows, _ = await emu.public(
            "/api/v3/klines", symbol="BTCUSDT", interval="1m", limit=5000
        )
        assert len(rows) == 1000  # the spot maximum
        status, rows, _ = await emu.public(
            "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=5000
        )
        assert len(rows) == 1500  # the futures maximum
        status, rows, _ = await emu.public(
            "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=0, limit=3
        )
        assert [r[0] for r in rows] == [T0, T0 + MINUTE, T0 + 2 * MINUTE]  # the oldest
        status, rows, _ = await emu.public(
            "/fapi/v1/klines",
            symbol="BTCUSDT",
            interval="1m",
            startTime=T0 + 100 * MINUTE,
            endTime=T0 + 109 * MINUTE,
        )
        assert [r[0] for r in rows] == [T0 + (100 + i) * MINUTE for i in range(10)]
        assert rows[0][1] == "30100"  # the data's own candle
        status, rows, _ = await emu.public(
            "/api/v3/klines", symbol="BTCUSDT", interval="1h", limit=2
        )
        # 09:20 now: the 08:00 hour closed, the 09:00 one is in progress (its first 20
        # minutes), as Binance answers the current kline with its close time ahead.
        hour = REPLAY_START // 3_600_000 * 3_600_000
        assert [r[0] for r in rows] == [hour - 3_600_000, hour]
        assert rows[1][4] == str(CANDLES[HISTORY - 1].close)

    run(test, _state())


def test_no_candle_after_the_current_time_until_the_replay_reaches_it() -> None:
    async def test(emu: Emu) -> None:
        far = REPLAY_START + 1_000 * MINUTE
        for path in ("/api/v3/klines", "/fapi/v1/klines"):
            status, rows, _ = await emu.public(
                path, symbol="BTCUSDT", interval="1m", startTime=REPLAY_START, endTime=far
            )
            assert (status, rows) == (200, [])
        status, control, _ = await emu.public("/_emulator/status")
        assert (control["historyStart"], control["candlesFed"]) == (T0, 0)
        await emu.advance(3)
        status, rows, _ = await emu.public(
            "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", startTime=REPLAY_START
        )
        assert [r[0] for r in rows] == [REPLAY_START + i * MINUTE for i in range(3)]
        assert all(r[6] < emu.state.server_time_ms() for r in rows)

    run(test, _state())


def test_funding_rate_history_and_mark_price_at_start_up() -> None:
    async def test(emu: Emu) -> None:
        status, rows, _ = await emu.public("/fapi/v1/fundingRate", symbol="BTCUSDT")
        assert status == 200
        first = ((T0 - 1) // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS  # T0 itself
        expected = list(range(first, REPLAY_START, FUNDING_INTERVAL_MS))
        assert len(expected) >= 4
        assert [r["fundingTime"] for r in rows] == expected
        for row in rows:  # the simulator's convention: the open of the settlement's candle
            minute = (row["fundingTime"] - T0) // MINUTE
            assert Decimal(row["markPrice"]) == CANDLES[minute].open
            assert Decimal(row["fundingRate"]) == Decimal("0.0001")
        status, rows, _ = await emu.public(
            "/fapi/v1/fundingRate", symbol="BTCUSDT", startTime=first + 1, limit=2
        )
        assert [r["fundingTime"] for r in rows] == expected[1:3]
        status, premium, _ = await emu.public("/fapi/v1/premiumIndex", symbol="BTCUSDT")
        assert Decimal(premium["markPrice"]) == CANDLES[HISTORY - 1].close
        assert premium["nextFundingTime"] > REPLAY_START
        status, marks, _ = await emu.public(
            "/fapi/v1/markPriceKlines", symbol="BTCUSDT", interval="1m", limit=2
        )
        assert [m[4] for m in marks] == [
            str(CANDLES[HISTORY - 2].close),
            str(CANDLES[HISTORY - 1].close),
        ]
        assert {m[5] for m in marks} == {"0"}

    run(test, _state())


def test_replay_start_chooses_where_the_history_ends() -> None:
    start = T0 + 1_000 * MINUTE
    state = make_state(candles=CANDLES, history_minutes=100, replay_start_ms=start)
    assert [state.history[0].open_time, state.history[-1].open_time] == [
        start - 100 * MINUTE,
        start - MINUTE,
    ]
    assert start <= state.now_ms() < start + MINUTE
    assert state.advance(1) == 1 and state.history[-1].open_time == start


def test_without_history_the_replay_starts_at_the_first_candle() -> None:
    state = EmulatorState([], KEY, SECRET, CANDLES)
    assert state.history == [] and T0 <= state.now_ms() < T0 + MINUTE


# --------------------------------------------------------------------- v3 account
#: Field order of the "Position Information V3" example (one-way mode).
V3_POSITION_FIELDS = [
    "symbol",
    "positionSide",
    "positionAmt",
    "entryPrice",
    "breakEvenPrice",
    "markPrice",
    "unRealizedProfit",
    "liquidationPrice",
    "isolatedMargin",
    "notional",
    "marginAsset",
    "isolatedWallet",
    "initialMargin",
    "maintMargin",
    "positionInitialMargin",
    "openOrderInitialMargin",
    "adl",
    "bidNotional",
    "askNotional",
    "updateTime",
]
#: Fields of an "Account Information V3" position and of the account itself.
V3_ACCOUNT_POSITION_FIELDS = [
    "symbol",
    "positionSide",
    "positionAmt",
    "unrealizedProfit",
    "isolatedMargin",
    "notional",
    "isolatedWallet",
    "initialMargin",
    "maintMargin",
    "updateTime",
]
V3_ACCOUNT_FIELDS = [
    "totalInitialMargin",
    "totalMaintMargin",
    "totalWalletBalance",
    "totalUnrealizedProfit",
    "totalMarginBalance",
    "totalPositionInitialMargin",
    "totalOpenOrderInitialMargin",
    "totalCrossWalletBalance",
    "totalCrossUnPnl",
    "availableBalance",
    "maxWithdrawAmount",
    "assets",
    "positions",
]
V3_BALANCE_FIELDS = [
    "accountAlias",
    "asset",
    "balance",
    "crossWalletBalance",
    "crossUnPnl",
    "availableBalance",
    "maxWithdrawAmount",
    "marginAvailable",
    "updateTime",
]
BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "newClientOrderId": "v3-1",
}


def test_v3_account_balance_and_position_risk() -> None:
    async def test(emu: Emu) -> None:
        status, risk, _ = await emu.signed("GET", "/fapi/v3/positionRisk")
        assert (status, risk) == (200, [])  # v3 lists only symbols with a position or orders
        status, account, _ = await emu.signed("GET", "/fapi/v3/account")
        assert list(account) == V3_ACCOUNT_FIELDS and account["positions"] == []
        assert account["totalWalletBalance"] == "10000.00000000"
        assert "marginAvailable" not in account["assets"][0]
        status, balance, _ = await emu.signed("GET", "/fapi/v3/balance")
        assert [list(b) for b in balance] == [V3_BALANCE_FIELDS]
        assert balance[0]["balance"] == "10000.00000000"

        low = CANDLES[HISTORY].low  # the first replayed candle trades through this bid
        order = {**BUY, "price": str(low + 1)}
        status, placed, _ = await emu.signed("POST", "/fapi/v1/order", order)
        assert status == 200, placed
        status, risk, _ = await emu.signed("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
        [row] = risk  # listed for its open order, flat
        assert list(row) == V3_POSITION_FIELDS
        assert Decimal(row["positionAmt"]) == 0 and Decimal(row["openOrderInitialMargin"]) > 0

        await emu.advance()
        status, risk, _ = await emu.signed("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
        [row] = risk
        assert row["positionAmt"] == "0.010" and row["marginAsset"] == "USDT"
        notional, margin = Decimal(row["notional"]), Decimal(row["positionInitialMargin"])
        assert notional == Decimal("0.010") * Decimal(row["markPrice"])
        assert notional / margin == emu.state.settings.leverage
        status, account, _ = await emu.signed("GET", "/fapi/v3/account")
        [position] = account["positions"]
        assert list(position) == V3_ACCOUNT_POSITION_FIELDS
        assert position["positionAmt"] == "0.010"
        status, v2, _ = await emu.signed("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
        assert v2[0]["positionAmt"] == "0.010" and "leverage" in v2[0]  # v2 is still served

    run(test, _state())
