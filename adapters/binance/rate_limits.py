"""Client-side request-weight and order-count throttling for the Binance REST API.

Binance counts request weight per IP and new orders per account in fixed windows, reports
the running totals in response headers (``X-MBX-USED-WEIGHT-1M``,
``X-MBX-ORDER-COUNT-10S``/``-1M``/``-1D``), answers 429 with ``Retry-After`` when a limit is
broken and escalates to an IP ban (418, 2 minutes to 3 days) when 429s are ignored
(reference section 3). Being banned stops the bot completely, so the limiter:

* waits *before* sending a request that would push a counter past its limit, until the
  window has certainly rolled over;
* after a 429 holds every request back until ``Retry-After`` has passed;
* after a 418 refuses every request (raising :class:`IpBanned` without sending) until the
  ban ends, instead of sleeping silently for up to three days.

Windows are fixed on Binance's side (aligned to the server clock) but only a monotonic
clock is available here, so a counter is assumed to reset no later than one interval after
it was first seen non-zero. That is conservative: it may wait a little longer than needed,
never less. The clock and the sleep are injected so tests move time without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.binance.errors import IpBanned

REQUEST_WEIGHT = "REQUEST_WEIGHT"
ORDERS = "ORDERS"
_INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
_INTERVAL_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_HEADER_PREFIX = {REQUEST_WEIGHT: "x-mbx-used-weight-", ORDERS: "x-mbx-order-count-"}

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One limit from exchangeInfo ``rateLimits``.

    Attributes:
        kind: ``REQUEST_WEIGHT`` (per IP) or ``ORDERS`` (per account).
        interval: ``SECOND``, ``MINUTE``, ``HOUR`` or ``DAY``.
        interval_num: Number of intervals in the window (10 for a 10-second window).
        limit: Maximum weight or order count in one window.
    """

    kind: str
    interval: str
    interval_num: int
    limit: int

    @property
    def seconds(self) -> float:
        """Window length in seconds."""
        return float(_INTERVAL_SECONDS[self.interval] * self.interval_num)

    @property
    def header(self) -> str:
        """The (lower-case) response header reporting this counter, e.g. x-mbx-used-weight-1m."""
        suffix = f"{self.interval_num}{_INTERVAL_LETTER[self.interval]}".lower()
        return _HEADER_PREFIX[self.kind] + suffix


#: Spot: 6000 weight/min (since 2023-08-25); order counts from the docs' examples.
SPOT_DEFAULT_LIMITS = (
    RateLimit(REQUEST_WEIGHT, "MINUTE", 1, 6000),
    RateLimit(ORDERS, "SECOND", 10, 100),
    RateLimit(ORDERS, "DAY", 1, 200_000),
)
#: USD-M futures: 2400 weight/min, 1200 orders/min; the 10 s order bucket is commonly 300.
FUTURES_DEFAULT_LIMITS = (
    RateLimit(REQUEST_WEIGHT, "MINUTE", 1, 2400),
    RateLimit(ORDERS, "SECOND", 10, 300),
    RateLimit(ORDERS, "MINUTE", 1, 1200),
)


def rate_limits_from_exchange_info(entries: Iterable[Mapping[str, Any]]) -> list[RateLimit]:
    """The weight and order limits of an exchangeInfo ``rateLimits`` list.

    ``RAW_REQUESTS`` (61000 per 5 minutes on spot) has no response header and is far beyond
    what a grid bot sends, so it is not tracked. Unknown kinds and intervals are skipped.
    """
    out: list[RateLimit] = []
    for entry in entries:
        kind = entry.get("rateLimitType")
        interval = entry.get("interval")
        if kind not in _HEADER_PREFIX or interval not in _INTERVAL_SECONDS:
            continue
        out.append(
            RateLimit(str(kind), str(interval), int(entry["intervalNum"]), int(entry["limit"]))
        )
    return out


class _Counter:
    """Our estimate of one server-side counter."""

    __slots__ = ("last_header", "limit", "used", "window_end")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.used = 0
        #: Monotonic time by which the server's window has certainly rolled over.
        self.window_end: float | None = None
        self.last_header: int | None = None

    def roll(self, now: float) -> None:
        if self.window_end is not None and now >= self.window_end:
            self.used = 0
            self.window_end = None
            self.last_header = None

    def add(self, cost: int, now: float) -> None:
        self.used += cost
        if self.window_end is None:
            self.window_end = now + self.limit.seconds

    def observe(self, value: int, now: float) -> None:
        self.roll(now)
        if self.last_header is not None and value < self.last_header:
            # The server's window rolled over since the previous answer: a new window began
            # at or before now, so it ends no later than one interval from now.
            self.window_end = now + self.limit.seconds
        # The server's count is authoritative; it already includes this request.
        self.used = value
        if self.window_end is None and value > 0:
            self.window_end = now + self.limit.seconds
        self.last_header = value


class RateLimiter:
    """Throttles requests against Binance's weight and order-count limits (see module doc).

    Args:
        limits: The limits to enforce (exchangeInfo ``rateLimits``, or a market default).
        clock: Monotonic seconds.
        sleep: Async sleep, awaited while a request must wait.
        default_backoff: Seconds to hold back after a 429 that carried no ``Retry-After``.
        default_ban: Seconds to assume for a 418 that said nothing about its duration
            (Binance's shortest ban is two minutes).
    """

    def __init__(
        self,
        limits: Iterable[RateLimit],
        clock: Monotonic,
        sleep: Sleep,
        default_backoff: float = 10.0,
        default_ban: float = 120.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._default_backoff = default_backoff
        self._default_ban = default_ban
        self._counters: dict[tuple[str, float], _Counter] = {}
        self._blocked_until = 0.0
        self._banned_until = 0.0
        self._lock = asyncio.Lock()
        self.set_limits(limits)

    @classmethod
    def for_market(cls, futures: bool, clock: Monotonic, sleep: Sleep) -> RateLimiter:
        """A limiter with the documented default limits of spot or USD-M futures."""
        return cls(FUTURES_DEFAULT_LIMITS if futures else SPOT_DEFAULT_LIMITS, clock, sleep)

    # ------------------------------------------------------------------ config
    def set_limits(self, limits: Iterable[RateLimit]) -> None:
        """Replace the enforced limits (e.g. with exchangeInfo's), keeping current usage."""
        counters: dict[tuple[str, float], _Counter] = {}
        for limit in limits:
            key = (limit.kind, limit.seconds)
            counter = _Counter(limit)
            old = self._counters.get(key)
            if old is not None:
                counter.used, counter.window_end = old.used, old.window_end
                counter.last_header = old.last_header
            counters[key] = counter
        self._counters = counters

    @property
    def limits(self) -> list[RateLimit]:
        """The limits being enforced."""
        return [c.limit for c in self._counters.values()]

    def used(self, kind: str, seconds: float) -> int:
        """Current estimate of a counter (0 when the window has rolled over or is unknown)."""
        counter = self._counters.get((kind, float(seconds)))
        if counter is None:
            return 0
        counter.roll(self._clock())
        return counter.used

    @property
    def banned_for(self) -> float:
        """Seconds left of an IP ban (0 when not banned)."""
        return max(0.0, self._banned_until - self._clock())

    @property
    def blocked_for(self) -> float:
        """Seconds left of a 429 back-off (0 when none)."""
        return max(0.0, self._blocked_until - self._clock())

    # ------------------------------------------------------------------ gate
    async def acquire(self, weight: int, orders: int = 0) -> None:
        """Wait until a request of ``weight`` placing ``orders`` new orders may be sent.

        The cost is reserved before returning, so concurrent callers see it at once.

        Raises:
            IpBanned: The IP is banned (nothing may be sent until the ban ends).
            ValueError: The request alone exceeds a limit and could never be sent.
        """
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._banned_until:
                    left = self._banned_until - now
                    raise IpBanned(
                        -1003, f"IP banned for another {left:.0f} s; request not sent", left
                    )
                wait = self._blocked_until - now
                for counter in self._counters.values():
                    cost = weight if counter.limit.kind == REQUEST_WEIGHT else orders
                    if cost <= 0:
                        continue
                    if cost > counter.limit.limit:
                        raise ValueError(
                            f"a request costing {cost} can never fit {counter.limit.header} "
                            f"limit {counter.limit.limit}"
                        )
                    counter.roll(now)
                    if counter.used + cost > counter.limit.limit:
                        end = counter.window_end if counter.window_end is not None else now
                        wait = max(wait, end - now)
                if wait <= 0:
                    for counter in self._counters.values():
                        cost = weight if counter.limit.kind == REQUEST_WEIGHT else orders
                        if cost > 0:
                            counter.add(cost, now)
                    return
                await self._sleep(wait)

    def observe(
        self, status: int, headers: Mapping[str, str], retry_after: float | None = None
    ) -> None:
        """Update the counters from a response's headers; record a 429 back-off or 418 ban.

        Args:
            status: HTTP status of the response.
            headers: Response headers (looked up case-insensitively).
            retry_after: Seconds to wait, from ``Retry-After`` (or a ban's end time).
        """
        now = self._clock()
        lowered = {k.lower(): v for k, v in headers.items()}
        for counter in self._counters.values():
            raw = lowered.get(counter.limit.header)
            if raw is None:
                continue
            try:
                counter.observe(int(raw), now)
            except ValueError:
                continue
        if status == 418:
            seconds = retry_after if retry_after is not None else self._default_ban
            self._banned_until = max(self._banned_until, now + seconds)
        elif status == 429:
            seconds = retry_after if retry_after is not None else self._default_backoff
            self._blocked_until = max(self._blocked_until, now + seconds)
