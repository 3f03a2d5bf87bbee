"""A rolling order-rate budget: how many new orders and modifies may still go out now.

Binance counts every new order (and, on futures, every modify) against per-10-second and
per-minute limits (``exchangeInfo`` ``rateLimits`` of type ORDERS; the
``X-MBX-ORDER-COUNT-*`` headers report the running counts). A grid that re-centres by
rewriting twenty orders at once can hit them; this budget makes the strategy defer the
farthest requests to the next candle instead of having the exchange refuse them. Cancels are
not counted: Binance does not count them, and they only ever reduce exposure.

Time comes from the events the strategy sees (candle close times, event timestamps), never
from a clock.
"""

from __future__ import annotations

from collections import deque

TEN_SECONDS_MS = 10_000
MINUTE_MS = 60_000


class OrderBudget:
    """Counts requests in the last 10 s and 60 s against their limits.

    Args:
        per_10s: Requests allowed in any 10-second window.
        per_minute: Requests allowed in any 60-second window.
    """

    __slots__ = ("_sent", "per_10s", "per_minute")

    def __init__(self, per_10s: int, per_minute: int) -> None:
        if per_10s < 1 or per_minute < 1:
            raise ValueError("order budgets must be >= 1")
        self.per_10s = per_10s
        self.per_minute = per_minute
        self._sent: deque[int] = deque()

    def _evict(self, now_ms: int) -> None:
        sent = self._sent
        horizon = now_ms - MINUTE_MS
        while sent and sent[0] <= horizon:
            sent.popleft()

    def available(self, now_ms: int) -> int:
        """Requests that may go out at ``now_ms`` without breaking either window."""
        self._evict(now_ms)
        sent = self._sent
        horizon = now_ms - TEN_SECONDS_MS
        recent = 0
        for ts in reversed(sent):
            if ts <= horizon:
                break
            recent += 1
        return max(0, min(self.per_10s - recent, self.per_minute - len(sent)))

    def spend(self, now_ms: int, count: int) -> None:
        """Record ``count`` requests sent at ``now_ms``."""
        self._sent.extend([now_ms] * count)

    def snapshot(self) -> str:
        """The timestamps still inside the minute window, comma separated."""
        return ",".join(map(str, self._sent))

    def restore(self, text: str) -> None:
        """Resume from :meth:`snapshot`."""
        self._sent = deque(int(t) for t in text.split(",") if t)
