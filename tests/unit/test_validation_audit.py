"""The emulator's validation ground truth: client ids, exact accounting, effective leverage,
and the request hook that lets a validation run kill its client mid-submission."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from adapters.simulated.emulator import EmulatorState, start_emulator
from adapters.simulated.emulator.audit import VenueAudit
from adapters.simulated.settings import SimulationSettings
from application.ports.exchange import OrderRequest
from bootstrap.instruments import builtin_instrument
from domain.candles import Candle
from domain.enums import MarketType, OrderType, Side, TimeInForce

D = Decimal
T0 = 1_700_000_000_000


def candle(i: int, o: str, h: str, low: str, c: str) -> Candle:
    t = T0 + i * 60_000
    return Candle(t, D(o), D(h), D(low), D(c), D("1000"), t + 59_999)


def futures_state(candles: list[Candle]) -> EmulatorState:
    inst = builtin_instrument(MarketType.USDM_FUTURES, "BTCUSDT")
    return EmulatorState(
        [inst],
        "k",
        "s",
        candles,
        balances={MarketType.USDM_FUTURES: {"USDT": D(1000)}},
        settings=SimulationSettings(leverage=5, max_volume_share=None),
    )


def test_client_ids_used_for_two_orders_are_reported() -> None:
    audit = VenueAudit(futures=True, wallet=D(1000))
    audit.accepted("gridbot-1", 11)
    audit.accepted("gridbot-1", 11)  # the same order acknowledged twice is one order
    audit.accepted("gridbot-2", 12)
    assert audit.reused_client_ids() == {}
    audit.accepted("gridbot-2", 13)
    assert audit.reused_client_ids() == {"gridbot-2": [12, 13]}
    assert audit.order_clients == {11: "gridbot-1", 12: "gridbot-2", 13: "gridbot-2"}


def test_effective_leverage_is_notional_over_equity_at_the_worst_moment() -> None:
    audit = VenueAudit(futures=True, wallet=D(1000))
    # 0.02 BTC long at 100000 = 2000 notional on 1000 - 1 fee equity: 2.002x at the fill.
    audit.filled(Side.BUY, D("0.02"), D(100000), D(1), "USDT", D(0), T0)
    assert audit.max_leverage is not None
    assert audit.max_leverage.leverage == D(2000) / D(999)
    # The price falls: notional 1960, equity 999 - 40 = 959, leverage rises above 2.04.
    audit.candle_closed(D(98000), T0 + 60_000)
    assert audit.max_leverage.leverage == D(1960) / D(959)
    assert audit.max_leverage.time == T0 + 60_000
    # It recovers: the maximum stays where it was.
    audit.candle_closed(D(101000), T0 + 120_000)
    assert audit.max_leverage.leverage == D(1960) / D(959)
    # Closing realizes +20 and pays 1 fee: flat, wallet 1018.
    audit.filled(Side.SELL, D("0.02"), D(101000), D(1), "USDT", D(20), T0 + 130_000)
    assert audit.position == 0
    assert audit.wallet == D(1018)
    assert audit.realized_pnl == D(20) and audit.fees == {"USDT": D(2)}
    audit.funded(D("-0.5"))
    assert audit.funding == D("-0.5") and audit.wallet == D("1017.5")
    assert audit.leverage_observations == 4


def test_spot_keeps_ids_and_fee_sums_but_no_leverage() -> None:
    audit = VenueAudit(futures=False)
    audit.filled(Side.BUY, D("0.01"), D(100000), D("0.00001"), "BTC", D(0), T0)
    audit.candle_closed(D(90000), T0)
    assert audit.max_leverage is None and audit.fees == {"BTC": D("0.00001")}


def test_venue_audit_matches_the_simulated_ledger_over_a_replay() -> None:
    state = futures_state(
        [
            candle(0, "100000", "100100", "99900", "100000"),
            candle(1, "100000", "100050", "95000", "96000"),  # the resting buy at 98000 fills
            candle(2, "96000", "103000", "96000", "102000"),  # the take-profit at 101000 fills
        ]
    )
    state.advance(1)
    venue = state.venue(MarketType.USDM_FUTURES, "BTCUSDT")
    assert venue is not None
    qty = D("0.02")
    buy = OrderRequest(
        "gridbot-0", "BTCUSDT", Side.BUY, OrderType.LIMIT, qty, D(98000), TimeInForce.GTC
    )
    sell = OrderRequest(
        "gridbot-1", "BTCUSDT", Side.SELL, OrderType.LIMIT, qty, D(101000), TimeInForce.GTC
    )
    venue.place(buy, "LIMIT", "GTC")
    state.advance(1)
    venue.place(sell, "LIMIT", "GTC")
    state.advance(1)
    audit = venue.audit
    ledger = venue.exchange.ledger  # type: ignore[attr-defined]
    assert audit.fills == 2 and audit.position == 0
    assert audit.wallet == ledger.wallet
    assert audit.realized_pnl == D(60)
    assert sorted(audit.client_orders) == ["gridbot-0", "gridbot-1"]
    # Long 0.02 @ 98000 valued at the close of 96000: 1920 / (1000 - buy fee - 40).
    maker, _ = SimulationSettings().fees_for(MarketType.USDM_FUTURES)
    fee = D(98000) * qty * maker
    assert audit.max_leverage is not None
    assert audit.max_leverage.leverage == D(1920) / (D(1000) - fee - 40)


def test_a_request_listener_sees_orders_and_can_drop_them() -> None:
    state = futures_state([candle(0, "100", "101", "99", "100")])
    state.advance(1)
    seen: list[tuple[str, str, bool]] = []
    answers: list[tuple[str, int]] = []

    def listener(method: str, path: str, new_order: bool) -> bool:
        seen.append((method, path, new_order))
        return not new_order  # drop every new order

    state.request_listeners.append(listener)
    state.response_listeners.append(lambda m, p, status, code: answers.append((p, status)))

    async def scenario() -> tuple[int, dict[str, object]]:
        runner, url = await start_emulator(state)
        try:
            async with httpx.AsyncClient() as client:
                await client.get(f"{url}/fapi/v1/time")
                answer = await client.post(f"{url}/fapi/v1/order?symbol=BTCUSDT")
                return answer.status_code, answer.json()
        finally:
            await runner.cleanup()

    status, body = asyncio.run(scenario())
    assert status == 503 and body["code"] == -1007
    assert seen == [("GET", "/fapi/v1/time", False), ("POST", "/fapi/v1/order", True)]
    assert answers == [("/fapi/v1/time", 200), ("/fapi/v1/order", 503)]
    venue = state.venue(MarketType.USDM_FUTURES, "BTCUSDT")
    assert venue is not None and venue.audit.client_orders == {}


def test_venue_audit_starts_from_the_wallet() -> None:
    state = futures_state([])
    venue = state.venue(MarketType.USDM_FUTURES, "BTCUSDT")
    assert venue is not None and venue.audit.wallet == D(1000) and venue.audit.futures
