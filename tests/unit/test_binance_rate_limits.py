"""The REST rate limiter, driven by a fake clock: no test sleeps for real."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from adapters.binance.errors import IpBanned
from adapters.binance.rate_limits import (
    FUTURES_DEFAULT_LIMITS,
    ORDERS,
    REQUEST_WEIGHT,
    SPOT_DEFAULT_LIMITS,
    RateLimit,
    RateLimiter,
    rate_limits_from_exchange_info,
)


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (or a test says)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _limiter(clock: FakeClock, *limits: RateLimit) -> RateLimiter:
    return RateLimiter(limits or SPOT_DEFAULT_LIMITS, clock, clock.sleep)


WEIGHT_10 = RateLimit(REQUEST_WEIGHT, "MINUTE", 1, 10)
ORDERS_3_PER_10S = RateLimit(ORDERS, "SECOND", 10, 3)


def test_limits_are_read_from_exchange_info(shared_data: Path) -> None:
    relative = "binance-fixtures/spot/rest/nautilus-py__http_spot_market_exchange_info.json"
    info = json.loads((shared_data / relative).read_text(encoding="utf-8"))
    limits = rate_limits_from_exchange_info(info["rateLimits"])
    assert limits == [
        RateLimit(REQUEST_WEIGHT, "MINUTE", 1, 1200),
        RateLimit(ORDERS, "SECOND", 10, 50),
        RateLimit(ORDERS, "DAY", 1, 160000),
    ]  # RAW_REQUESTS has no header and is not tracked
    assert [limit.header for limit in limits] == [
        "x-mbx-used-weight-1m",
        "x-mbx-order-count-10s",
        "x-mbx-order-count-1d",
    ]
    assert [limit.seconds for limit in limits] == [60.0, 10.0, 86400.0]
    relative = "binance-fixtures/futures/rest/nautilus-py__http_futures_market_exchange_info.json"
    info = json.loads((shared_data / relative).read_text(encoding="utf-8"))
    assert [lim.header for lim in rate_limits_from_exchange_info(info["rateLimits"])] == [
        "x-mbx-used-weight-1m",
        "x-mbx-order-count-1m",
        "x-mbx-order-count-10s",
    ]


def test_documented_defaults() -> None:
    clock = FakeClock()
    spot = RateLimiter.for_market(False, clock, clock.sleep)
    futures = RateLimiter.for_market(True, clock, clock.sleep)
    assert spot.limits == list(SPOT_DEFAULT_LIMITS)
    assert futures.limits == list(FUTURES_DEFAULT_LIMITS)
    assert (SPOT_DEFAULT_LIMITS[0].limit, FUTURES_DEFAULT_LIMITS[0].limit) == (6000, 2400)


def test_requests_under_the_limit_do_not_wait() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)

    async def run() -> None:
        for _ in range(100):
            await limiter.acquire(20, orders=1)

    asyncio.run(run())
    assert clock.sleeps == []
    assert limiter.used(REQUEST_WEIGHT, 60) == 2000
    assert limiter.used(ORDERS, 86400) == 100


def test_a_request_that_would_exceed_the_header_count_waits_for_the_window() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(200, {"X-MBX-USED-WEIGHT-1M": "5990"})
    clock.now += 15  # 15 s into the (assumed) window

    async def run() -> None:
        await limiter.acquire(20)

    asyncio.run(run())
    assert clock.sleeps == [45.0]  # until one full interval after the count was seen
    assert limiter.used(REQUEST_WEIGHT, 60) == 20  # a fresh window holds only this request


def test_local_accounting_throttles_between_headers() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, WEIGHT_10)

    async def run() -> None:
        await limiter.acquire(4)
        clock.now += 1
        await limiter.acquire(4)
        await limiter.acquire(4)  # 12 > 10: waits for the window opened by the first

    asyncio.run(run())
    assert clock.sleeps == [59.0]
    assert limiter.used(REQUEST_WEIGHT, 60) == 4


def test_order_count_limit_applies_only_to_order_requests() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, WEIGHT_10, ORDERS_3_PER_10S)

    async def run() -> None:
        for _ in range(3):
            await limiter.acquire(1, orders=1)
        await limiter.acquire(1)  # a query places no order: no wait
        assert clock.sleeps == []
        await limiter.acquire(1, orders=1)

    asyncio.run(run())
    assert clock.sleeps == [10.0]


def test_a_falling_header_means_the_server_window_rolled_over() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, WEIGHT_10)
    limiter.observe(200, {"x-mbx-used-weight-1m": "9"})
    clock.now += 50
    limiter.observe(200, {"x-mbx-used-weight-1m": "1"})  # new window began by now
    clock.now += 30  # the first window would have ended; the new one has not

    async def run() -> None:
        await limiter.acquire(9)  # 1 + 9 fits
        await limiter.acquire(1)  # 11 does not: wait for the new window's end

    asyncio.run(run())
    assert clock.sleeps == [30.0]


def test_429_holds_every_request_back_for_retry_after() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(429, {}, retry_after=7)
    assert limiter.blocked_for == 7

    async def run() -> None:
        await limiter.acquire(1)
        await limiter.acquire(1)

    asyncio.run(run())
    assert clock.sleeps == [7.0]
    assert limiter.blocked_for == 0


def test_429_without_retry_after_backs_off_by_default() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(429, {})

    asyncio.run(limiter.acquire(1))
    assert clock.sleeps == [10.0]


def test_418_refuses_every_request_until_the_ban_ends() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(418, {"X-MBX-USED-WEIGHT-1M": "6100"}, retry_after=120)

    with pytest.raises(IpBanned) as caught:
        asyncio.run(limiter.acquire(1))
    assert caught.value.retry_after == 120
    assert clock.sleeps == []  # fails fast instead of sleeping through a ban
    clock.now += 119
    with pytest.raises(IpBanned):
        asyncio.run(limiter.acquire(1))
    clock.now += 1
    assert limiter.banned_for == 0
    asyncio.run(limiter.acquire(1))


def test_418_without_duration_assumes_the_shortest_ban() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(418, {})
    assert limiter.banned_for == 120


def test_a_request_larger_than_a_limit_is_refused() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, WEIGHT_10)
    with pytest.raises(ValueError):
        asyncio.run(limiter.acquire(11))


def test_new_limits_keep_the_current_usage() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(200, {"X-MBX-USED-WEIGHT-1M": "1000"})
    limiter.set_limits([RateLimit(REQUEST_WEIGHT, "MINUTE", 1, 1200)])
    assert limiter.used(REQUEST_WEIGHT, 60) == 1000

    asyncio.run(limiter.acquire(300))
    assert clock.sleeps == [60.0]


def test_concurrent_requests_are_serialised_through_the_gate() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, WEIGHT_10)

    async def run() -> None:
        await asyncio.gather(*(limiter.acquire(5) for _ in range(4)))

    asyncio.run(run())
    assert clock.sleeps == [60.0]  # two fit in the first window, two in the next
    assert limiter.used(REQUEST_WEIGHT, 60) == 10


def test_garbage_headers_are_ignored() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.observe(200, {"X-MBX-USED-WEIGHT-1M": "lots"})
    assert limiter.used(REQUEST_WEIGHT, 60) == 0
