"""Futures account setup (position mode, margin type, leverage) against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from adapters.binance.account_setup import (
    FuturesSetup,
    InvalidLeverage,
    MarginTypeChangeRefused,
    PositionModeChangeRefused,
    configure_futures,
)
from adapters.binance.errors import ExchangeRejected
from adapters.binance.exchange import BinanceExchange
from adapters.binance.rest import BinanceRestClient
from adapters.simulated.emulator.server import start_emulator
from adapters.simulated.emulator.state import EmulatorState
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce
from domain.events import ExecutionEvent, OrderAccepted, OrderRejected

D = Decimal
KEY, SECRET = "setup-key", "setup-secret"
FUT = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
T0 = 1_704_067_200_000

Scenario = Callable[[EmulatorState, BinanceRestClient], Awaitable[None]]


Answer = tuple[str, str, int, int | None]


def _run(scenario: Scenario, answers: list[Answer] | None = None) -> EmulatorState:
    async def main() -> EmulatorState:
        price = D("50000")
        candle = Candle(T0, price, price, price, price, D("100"), T0 + 59_999)
        state = EmulatorState(
            [FUT], KEY, SECRET, [candle], balances={MarketType.USDM_FUTURES: {"USDT": D("1e6")}}
        )
        if answers is not None:
            state.response_listeners.append(
                lambda method, path, status, code: answers.append((method, path, status, code))
            )
        state.advance(1)
        runner, url = await start_emulator(state)
        client = BinanceRestClient("futures", url, KEY, SECRET)
        try:
            await scenario(state, client)
        finally:
            await client.aclose()
            await runner.cleanup()
        return state

    return asyncio.run(main())


async def _rest_order(client: BinanceRestClient) -> ExecutionEvent:
    exchange = BinanceExchange(client)
    request = OrderRequest(
        "setup-1", "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.010"), D("40000.0"), TimeInForce.GTC
    )
    return (await exchange.place_order(request))[0]


def test_hedge_mode_is_switched_to_one_way_and_leverage_reported() -> None:
    results: list[FuturesSetup] = []

    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        await client.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
        assert (await client.signed("GET", "/fapi/v1/positionSide/dual"))["dualSidePosition"]
        results.append(await configure_futures(client, "BTCUSDT", 7))
        answer = await client.signed("GET", "/fapi/v1/positionSide/dual")
        assert answer == {"dualSidePosition": False}

    state = _run(scenario)
    (setup,) = results
    assert setup.position_mode_changed is True
    assert setup.margin_type_changed is False  # -4046 "No need to change margin type." = ok
    assert setup.leverage == 7 and setup.symbol == "BTCUSDT" and setup.margin_type == "CROSSED"
    assert setup.max_notional_value > 0
    assert state.dual_side_position is False
    assert state.venue(MarketType.USDM_FUTURES, "BTCUSDT").leverage == 7  # type: ignore[union-attr]


def test_one_way_account_is_a_no_op_and_setup_is_idempotent() -> None:
    results: list[FuturesSetup] = []

    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        results.append(await configure_futures(client, "BTCUSDT", 3, "ISOLATED"))
        results.append(await configure_futures(client, "BTCUSDT", 3, "ISOLATED"))

    state = _run(scenario)
    first, second = results
    assert not first.position_mode_changed and first.margin_type_changed
    assert not second.position_mode_changed and not second.margin_type_changed
    assert second.leverage == 3
    assert state.venue(MarketType.USDM_FUTURES, "BTCUSDT").margin_type == "ISOLATED"  # type: ignore[union-attr]


def test_a_restart_sends_no_change_and_gets_no_error_answer() -> None:
    """The second start reads the settings back and finds nothing to change (no -4046)."""
    results: list[FuturesSetup] = []
    answers: list[Answer] = []
    first_start: list[int] = []

    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        results.append(await configure_futures(client, "BTCUSDT", 4, "ISOLATED"))
        first_start.append(len(answers))
        results.append(await configure_futures(client, "BTCUSDT", 4, "ISOLATED"))

    _run(scenario, answers)
    first, second = results
    assert first.margin_type_changed and first.leverage == 4
    assert not second.margin_type_changed and not second.position_mode_changed
    assert second.leverage == 4 and second.max_notional_value == first.max_notional_value
    restart = answers[first_start[0] :]
    assert [(m, p) for m, p, _, _ in restart] == [
        ("GET", "/fapi/v1/positionSide/dual"),
        ("GET", "/fapi/v1/symbolConfig"),
    ]
    assert all(status == 200 for _, _, status, _ in answers), answers


def test_the_default_margin_type_is_not_sent_again() -> None:
    """A fresh account is already CROSSED: only the leverage differs, and only it is sent."""
    answers: list[Answer] = []

    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        setup = await configure_futures(client, "BTCUSDT", 9)
        assert not setup.margin_type_changed and setup.leverage == 9

    state = _run(scenario, answers)
    assert [(m, p) for m, p, _, _ in answers if m == "POST"] == [("POST", "/fapi/v1/leverage")]
    assert all(status == 200 for _, _, status, _ in answers), answers
    assert state.venue(MarketType.USDM_FUTURES, "BTCUSDT").leverage == 9  # type: ignore[union-attr]


def test_symbol_config_reports_what_was_set() -> None:
    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        await configure_futures(client, "BTCUSDT", 6, "ISOLATED")
        (row,) = await client.signed("GET", "/fapi/v1/symbolConfig", {"symbol": "BTCUSDT"})
        assert (row["symbol"], row["marginType"], row["leverage"]) == ("BTCUSDT", "ISOLATED", 6)
        assert D(row["maxNotionalValue"]) > 0
        with pytest.raises(ExchangeRejected) as info:
            await client.signed("GET", "/fapi/v1/symbolConfig", {"symbol": "NOPEUSDT"})
        assert info.value.code == -1121

    _run(scenario)


@pytest.mark.parametrize("leverage", [0, 126, 200])
def test_invalid_leverage_is_refused_with_4028(leverage: int) -> None:
    errors: list[InvalidLeverage] = []

    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        with pytest.raises(InvalidLeverage) as info:
            await configure_futures(client, "BTCUSDT", leverage)
        errors.append(info.value)

    _run(scenario)
    (error,) = errors
    assert error.code == -4028
    assert f"leverage {leverage} is not valid" in str(error)
    assert f"Leverage {leverage} is not valid" in error.message


def test_hedge_switch_with_open_orders_raises_a_typed_error() -> None:
    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        assert isinstance(await _rest_order(client), OrderAccepted)
        state.dual_side_position = True  # an account left in hedge mode with an open order
        with pytest.raises(PositionModeChangeRefused) as info:
            await configure_futures(client, "BTCUSDT", 5)
        assert info.value.code == -4067
        assert "open orders" in str(info.value) and "cancel them" in str(info.value)

    state = _run(scenario)
    assert state.dual_side_position is True


def test_margin_type_change_with_open_orders_raises_a_typed_error() -> None:
    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        assert isinstance(await _rest_order(client), OrderAccepted)
        with pytest.raises(MarginTypeChangeRefused) as info:
            await configure_futures(client, "BTCUSDT", 5, "ISOLATED")
        assert info.value.code == -4047
        assert "open orders" in str(info.value)

    _run(scenario)


def test_emulator_position_mode_and_margin_type_codes() -> None:
    async def scenario(state: EmulatorState, client: BinanceRestClient) -> None:
        for path, params, code in (
            ("/fapi/v1/positionSide/dual", {"dualSidePosition": "false"}, -4059),
            ("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "CROSSED"}, -4046),
            ("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "CROSS"}, -1130),
            ("/fapi/v1/positionSide/dual", {}, -1102),
        ):
            with pytest.raises(ExchangeRejected) as info:
                await client.signed("POST", path, params)
            assert info.value.code == code, (path, params)
        # Hedge mode is recorded; orders are then refused (-4061), not modelled.
        await client.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
        refused = await _rest_order(client)
        assert isinstance(refused, OrderRejected) and refused.code == -4061

    _run(scenario)


def test_futures_only() -> None:
    async def main() -> None:
        client = BinanceRestClient("spot", "http://127.0.0.1:9", KEY, SECRET)
        try:
            with pytest.raises(ValueError, match="futures client"):
                await configure_futures(client, "BTCUSDT", 5)
            with pytest.raises(ValueError, match="CROSSED or ISOLATED"):
                await configure_futures(
                    BinanceRestClient("futures", "http://127.0.0.1:9", KEY, SECRET),
                    "BTCUSDT",
                    5,
                    "cross",
                )
        finally:
            await client.aclose()

    asyncio.run(main())
