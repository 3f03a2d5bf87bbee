"""Binance's request-weight and order-count limits, with 429 back-off and the 418 ban.

A client that ignores limits works against a quiet testnet and fails in production, so the
emulator counts exactly what Binance counts: request weight per IP per minute and new orders
per account per 10 s and per day (spot) or minute (futures), in fixed windows that reset at
the window boundary. Breaking a limit answers 429 with ``Retry-After``; carrying on after
being told answers 418, an IP ban that lasts ``ban_seconds``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from adapters.simulated.emulator.wire import ApiError

MINUTE_MS = 60_000
TEN_SECONDS_MS = 10_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits of one market (spot and futures are separate hosts with separate limits).

    Attributes:
        weight_per_minute: REQUEST_WEIGHT per IP per minute.
        orders_per_10s: ORDERS per account per 10 seconds.
        orders_per_long: ORDERS per account per ``long_interval``.
        long_interval: ``"1D"`` (spot) or ``"1M"`` (futures): the second order window.
        ban_after_429s: 429 answers in one window after which the next request bans the IP.
        ban_seconds: Length of the 418 ban (Binance starts at 2 minutes).
    """

    weight_per_minute: int
    orders_per_10s: int
    orders_per_long: int
    long_interval: str
    ban_after_429s: int = 3
    ban_seconds: int = 120

    @classmethod
    def spot(cls) -> RateLimits:
        """Binance spot defaults (6000 weight/min; 100 orders/10 s; 200000 orders/day)."""
        return cls(6000, 100, 200_000, "1D")

    @classmethod
    def futures(cls) -> RateLimits:
        """USD-M futures defaults (2400 weight/min; 300 orders/10 s; 1200 orders/min)."""
        return cls(2400, 300, 1200, "1M")

    @property
    def long_window_ms(self) -> int:
        """Length of the second order window in ms."""
        return DAY_MS if self.long_interval == "1D" else MINUTE_MS

    def exchange_info(self) -> list[dict[str, object]]:
        """The ``rateLimits`` array of exchangeInfo."""
        long_name, long_num = ("DAY", 1) if self.long_interval == "1D" else ("MINUTE", 1)
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.weight_per_minute,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": self.orders_per_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": long_name,
                "intervalNum": long_num,
                "limit": self.orders_per_long,
            },
        ]


class _Window:
    """A counter over fixed windows of ``length_ms`` (resets at each boundary)."""

    __slots__ = ("count", "key", "length_ms")

    def __init__(self, length_ms: int) -> None:
        self.length_ms = length_ms
        self.key = -1
        self.count = 0

    def current(self, now_ms: float) -> int:
        key = int(now_ms // self.length_ms)
        if key != self.key:
            self.key = key
            self.count = 0
        return self.count

    def add(self, now_ms: float, amount: int) -> int:
        self.current(now_ms)
        self.count += amount
        return self.count

    def seconds_left(self, now_ms: float) -> int:
        end = (int(now_ms // self.length_ms) + 1) * self.length_ms
        return max(1, math.ceil((end - now_ms) / 1000))


class RateLimiter:
    """Counters and bans of one market; the clock is real time (limits are about real load)."""

    def __init__(self, limits: RateLimits, futures: bool, clock_ms: Callable[[], float]) -> None:
        self.limits = limits
        self._futures = futures
        self._clock = clock_ms
        self._weight: dict[str, _Window] = {}
        self._throttled: dict[str, _Window] = {}
        self._banned_until: dict[str, float] = {}
        self._orders_10s = _Window(TEN_SECONDS_MS)
        self._orders_long = _Window(limits.long_window_ms)

    def reset(self) -> None:
        """Forget every counter and ban (emulator control)."""
        self._weight.clear()
        self._throttled.clear()
        self._banned_until.clear()
        self._orders_10s = _Window(TEN_SECONDS_MS)
        self._orders_long = _Window(self.limits.long_window_ms)

    # ------------------------------------------------------------------ weight
    def used_weight(self, ip: str) -> int:
        """Weight used by ``ip`` in the current minute (the X-MBX-USED-WEIGHT-1M value)."""
        window = self._weight.get(ip)
        return 0 if window is None else window.current(self._clock())

    def check_ban(self, ip: str) -> None:
        """Answer 418 while ``ip`` is banned.

        Raises:
            ApiError: HTTP 418 with Retry-After until the ban ends.
        """
        until = self._banned_until.get(ip)
        if until is None:
            return
        now = self._clock()
        if now >= until:
            del self._banned_until[ip]
            return
        raise self._ban_error(until, now)

    def ban(self, ip: str) -> None:
        """Ban ``ip`` for ``ban_seconds``."""
        self._banned_until[ip] = self._clock() + self.limits.ban_seconds * 1000

    def ban_answer(self) -> ApiError:
        """A single 418 as a fresh ban would answer it (the ``ban_418`` fault)."""
        now = self._clock()
        return self._ban_error(now + self.limits.ban_seconds * 1000, now)

    def add_weight(self, ip: str, weight: int) -> None:
        """Count a request; over the limit answer 429, and ban a client that keeps going.

        Raises:
            ApiError: 429 (-1003) over the limit, 418 (-1003) after ``ban_after_429s``.
        """
        now = self._clock()
        window = self._weight.setdefault(ip, _Window(MINUTE_MS))
        used = window.add(now, weight)
        if used <= self.limits.weight_per_minute:
            return
        throttled = self._throttled.setdefault(ip, _Window(MINUTE_MS))
        if throttled.current(now) >= self.limits.ban_after_429s:
            self.ban(ip)
            raise self._ban_error(self._banned_until[ip], now)
        throttled.add(now, 1)
        raise self.too_many_requests(window.seconds_left(now))

    def too_many_requests(self, retry_after: int) -> ApiError:
        """The 429 answer for request weight (also the ``rate_limit_429`` fault)."""
        limit = self.limits.weight_per_minute
        if self._futures:
            msg = (
                f"Too many requests; current limit is {limit} requests per minute. Please use "
                "the websocket for live updates to avoid polling the API."
            )
        else:
            msg = (
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
            )
        return ApiError(-1003, msg, status=429, headers={"Retry-After": str(retry_after)})

    def _ban_error(self, until: float, now: float) -> ApiError:
        until_ms = int(until)
        if self._futures:
            msg = (
                f"Way too many requests; IP banned until {until_ms}. Please use the websocket "
                "for live updates to avoid bans."
            )
        else:
            msg = (
                f"Way too much request weight used; IP banned until {until_ms}. Please use "
                "WebSocket Streams for live updates to avoid bans."
            )
        retry = max(1, math.ceil((until - now) / 1000))
        return ApiError(-1003, msg, status=418, headers={"Retry-After": str(retry)})

    # ------------------------------------------------------------------ orders
    def add_order(self) -> None:
        """Count a new order (or futures modify) against both order windows.

        Raises:
            ApiError: 429 (-1015) when either window is full; the order is not counted.
        """
        now = self._clock()
        lim = self.limits
        checks = (
            (self._orders_10s, lim.orders_per_10s, "10 SECOND"),
            (self._orders_long, lim.orders_per_long, self._long_label()),
        )
        for window, limit, label in checks:
            if window.current(now) >= limit:
                raise ApiError(
                    -1015,
                    f"Too many new orders; current limit is {limit} orders per {label}.",
                    status=429,
                    headers={"Retry-After": str(window.seconds_left(now))},
                )
        self._orders_10s.add(now, 1)
        self._orders_long.add(now, 1)

    def order_headers(self) -> dict[str, str]:
        """``X-MBX-ORDER-COUNT-10S`` and ``-1D`` (spot) / ``-1M`` (futures)."""
        now = self._clock()
        return {
            "X-MBX-ORDER-COUNT-10S": str(self._orders_10s.current(now)),
            f"X-MBX-ORDER-COUNT-{self.limits.long_interval}": str(self._orders_long.current(now)),
        }

    def _long_label(self) -> str:
        return "1 DAY" if self.limits.long_interval == "1D" else "1 MINUTE"
