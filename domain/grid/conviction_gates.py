"""What the signal's conviction is allowed to do to a grid: two gates, both off by default.

* **Entry filter**: while the net conviction (long minus short) is at least ``entry_filter``
  against a side, that side gets no entries. Take-profits are never gated: exits always go.
* **Proximity cancellation**: when the conviction against a side reaches ``pull``, that
  side's entries within ``k x ATR`` of the price are pulled; they are re-armed only once the
  conviction against it falls below ``rearm`` (< ``pull``), so a conviction hovering near
  one threshold does not cancel and re-place the same orders every minute.

The in-sample study found no directional edge in the conviction out of sample, so neither
gate is on until an ablation shows it helps; both count what they do.
"""

from __future__ import annotations

from decimal import Decimal

from domain.enums import Side

_BOTH = (Side.BUY, Side.SELL)
_NONE: frozenset[Side] = frozenset()
_ONLY = {Side.BUY: frozenset({Side.BUY}), Side.SELL: frozenset({Side.SELL})}


def against(side: Side, conviction: float) -> float:
    """How strongly a net conviction (long minus short) argues against entries on ``side``."""
    return -conviction if side is Side.BUY else conviction


class ConvictionGates:
    """The entry filter and the proximity state per side, with their counters.

    Args:
        entry_filter: Net conviction against a side that blocks its entries (None: off).
        proximity: Whether proximity cancellation is on.
        pull: Conviction against a side at which its near entries are pulled.
        rearm: Conviction against a side below which they are re-armed.
    """

    __slots__ = (
        "_filter",
        "_proximity",
        "_pull",
        "_rearm",
        "filter_blocks",
        "pulled",
        "pulls",
        "rearms",
    )

    def __init__(
        self, entry_filter: Decimal | None, proximity: bool, pull: Decimal, rearm: Decimal
    ) -> None:
        self._filter = None if entry_filter is None else float(entry_filter)
        self._proximity = proximity
        self._pull = float(pull)
        self._rearm = float(rearm)
        #: Sides whose near entries are currently pulled.
        self.pulled: set[Side] = set()
        #: Candle-sides on which the entry filter blocked entries.
        self.filter_blocks = 0
        self.pulls = 0
        self.rearms = 0

    def update(self, conviction: float) -> frozenset[Side]:
        """Advance both gates with one candle's net conviction; returns the blocked sides."""
        blocked = _NONE
        threshold = self._filter
        if threshold is not None:
            if conviction <= -threshold:
                blocked = _ONLY[Side.BUY]
            elif conviction >= threshold:
                blocked = _ONLY[Side.SELL]
            if blocked:
                self.filter_blocks += 1
        if self._proximity:
            pulled = self.pulled
            for side in _BOTH:
                score = against(side, conviction)
                if side not in pulled and score >= self._pull:
                    pulled.add(side)
                    self.pulls += 1
                elif side in pulled and score < self._rearm:
                    pulled.discard(side)
                    self.rearms += 1
        return blocked
