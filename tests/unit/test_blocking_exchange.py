"""BlockingExchange waits out transient refusals within its budget, never resends blindly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.binance.blocking_exchange import BlockingExchange
from adapters.binance.errors import (
    IpBanned,
    OutcomeUnresolved,
    RateLimited,
    ServerBusy,
    UnknownOutcome,
)
from adapters.live_runtime.loop_thread import LoopThread
from application.ports.exchange import AccountSnapshot, ExchangeUnavailable


class _Script:
    """An async 'exchange' whose calls fail as scripted, then answer."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0

    async def _next(self, answer: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return answer

    async def account(self) -> AccountSnapshot:
        return await self._next(AccountSnapshot({}))

    async def place_order(self, request: Any) -> list[Any]:
        return await self._next(["accepted"])

    async def cancel_all_orders(self, symbol: str) -> list[Any]:
        return await self._next(["canceled"])


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-io")
    yield thread
    thread.stop()


def _blocking(script: _Script, loop: LoopThread, budget: float = 60.0) -> tuple[Any, list[float]]:
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    exchange = BlockingExchange(script, loop, budget, sleep, lambda: clock[0])  # type: ignore[arg-type]
    return exchange, slept


def test_a_read_waits_out_rate_limits_bans_overload_and_lost_connections(
    loop: LoopThread,
) -> None:
    script = _Script(
        [
            RateLimited(-1003, "too many", retry_after=3),
            IpBanned(-1003, "banned", retry_after=7),
            ServerBusy(-1008, "busy", None),
            UnknownOutcome(0, "timeout"),
            OSError("reset"),
        ]
    )
    exchange, slept = _blocking(script, loop)
    assert exchange.account() == AccountSnapshot({})
    assert script.calls == 6
    assert slept[:2] == [3.0, 7.0]  # what Binance asked for


def test_a_write_is_repeated_only_when_nothing_was_executed(loop: LoopThread) -> None:
    script = _Script([RateLimited(-1015, "orders", retry_after=1), ServerBusy(-1008, "b", None)])
    exchange, _ = _blocking(script, loop)
    assert exchange.place_order(_Close(reduce_only=False)) == ["accepted"]
    assert script.calls == 3
    for unknown in (UnknownOutcome(-1007, "timeout"), OutcomeUnresolved("cid-1", "queries")):
        script = _Script([unknown])
        exchange, slept = _blocking(script, loop)
        with pytest.raises(ExchangeUnavailable):
            exchange.place_order(_Close(reduce_only=False))
        assert script.calls == 1 and slept == []  # never resent blindly


def test_the_budget_ends_the_wait(loop: LoopThread) -> None:
    script = _Script([RateLimited(-1003, "x", retry_after=20) for _ in range(10)])
    exchange, slept = _blocking(script, loop, budget=45.0)
    with pytest.raises(ExchangeUnavailable, match="account: RateLimited"):
        exchange.account()
    assert slept == [20.0, 20.0] and script.calls == 3


class _Close:
    """Just what ``place_order`` reads of a request."""

    def __init__(self, reduce_only: bool) -> None:
        self.reduce_only = reduce_only


def test_during_shutdown_safe_writes_are_repeated_after_unknown_outcomes(
    loop: LoopThread,
) -> None:
    failures: list[BaseException] = [
        UnknownOutcome(-1000, "500", 500),
        IpBanned(-1003, "banned", retry_after=120),
        OutcomeUnresolved("cid-1", "queries"),
    ]
    script = _Script(list(failures))
    exchange, slept = _blocking(script, loop, budget=60.0)
    exchange.begin_shutdown(300)
    assert exchange.cancel_all_orders("BTCUSDT") == ["canceled"]
    assert script.calls == 4 and 120.0 in slept  # the ban outlasts the per-call budget
    script = _Script(list(failures))
    exchange, _ = _blocking(script, loop)
    exchange.begin_shutdown(300)
    assert exchange.place_order(_Close(reduce_only=True)) == ["accepted"]
    assert script.calls == 4


def test_during_shutdown_an_order_that_could_add_exposure_is_still_never_resent(
    loop: LoopThread,
) -> None:
    script = _Script([UnknownOutcome(-1007, "timeout")])
    exchange, slept = _blocking(script, loop)
    exchange.begin_shutdown(300)
    with pytest.raises(ExchangeUnavailable):
        exchange.place_order(_Close(reduce_only=False))
    assert script.calls == 1 and slept == []


def test_the_shutdown_budget_is_one_deadline_for_every_call(loop: LoopThread) -> None:
    script = _Script([UnknownOutcome(-1000, "500", 500) for _ in range(100)])
    exchange, slept = _blocking(script, loop, budget=3600.0)
    exchange.begin_shutdown(30)
    with pytest.raises(ExchangeUnavailable, match="cancel_all_orders: UnknownOutcome"):
        exchange.cancel_all_orders("BTCUSDT")
    assert 20 < sum(slept) <= 30
