"""Settings of the simulated exchange, with Binance VIP0 fee defaults per market."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adapters.simulated.funding import FundingSchedule
from domain.enums import MarketType

DEFAULT_FEES: dict[MarketType, tuple[Decimal, Decimal]] = {
    MarketType.SPOT: (Decimal("0.001"), Decimal("0.001")),
    MarketType.USDM_FUTURES: (Decimal("0.0002"), Decimal("0.0005")),
}


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    """How the simulated exchange matches, charges and misbehaves.

    Attributes:
        maker_fee: Fee rate for resting orders that get hit (None = market default).
        taker_fee: Fee rate for marketable and triggered orders (None = market default).
        touch_fills: Fill a resting limit when price merely touches it (default: only when
            price trades through, the conservative choice for queue position).
        trade_through: How far beyond its price the candle path must trade before a resting
            limit fills, as a fraction of the price (0.0003 = 3 bp); 0 = any amount beyond
            (or a touch, with ``touch_fills``). The pessimistic fill model sets it: a queue
            position at the back means a level only fills when the market pushes through it.
        max_volume_share: Cap on the base quantity resting limit orders may fill in one
            candle, as a share of its volume; None removes the cap.
        leverage: Futures leverage used for the margin check.
        funding: Funding rates (futures only).
        latency_ms: Upper bound of the seeded acknowledgement latency; 0 disables it.
        reject_probability: Chance that a new order is refused with -1008 (seeded).
        seed: Seed for latency and random rejects.
        first_id: First order id and trade id handed out. Exchange ids only ever grow; a
            fresh simulated account that joins a journal written against an earlier one
            starts after the ids that journal already holds.
        closed_order_retention: Closed orders kept for queries (oldest forgotten first).
        trade_history_retention: Fills kept for ``trades_since`` (oldest forgotten first).
    """

    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None
    touch_fills: bool = False
    trade_through: Decimal = Decimal(0)
    max_volume_share: Decimal | None = Decimal("0.25")
    leverage: int = 1
    funding: FundingSchedule = field(default_factory=FundingSchedule)
    latency_ms: int = 0
    reject_probability: float = 0.0
    seed: int = 0
    first_id: int = 1
    closed_order_retention: int = 10_000
    trade_history_retention: int = 20_000

    def fees_for(self, market: MarketType) -> tuple[Decimal, Decimal]:
        """``(maker, taker)`` rates for ``market``, falling back to Binance's defaults."""
        maker, taker = DEFAULT_FEES[market]
        return (
            self.maker_fee if self.maker_fee is not None else maker,
            self.taker_fee if self.taker_fee is not None else taker,
        )
