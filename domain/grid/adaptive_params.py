"""Parameters of the adaptive grid, validated once so the hot path never re-checks them.

The defaults follow the in-sample grid study (docs of issue 14): the one rule that held up
out of sample is a step that clears fees by a wide margin and scales with volatility, so
that is on; every rule driven by the signal's conviction (asymmetry, the entry filter,
proximity cancellation) and the grid-wide stop-loss are off until an ablation shows they
help.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class AdaptiveGridParams:
    """Everything the adaptive grid decides with besides the market.

    Attributes:
        levels: Entry levels per side (before asymmetry).
        round_trip_fee: Maker fee of one buy plus one sell, as a fraction (0.0004 futures VIP0).
        fee_multiple: The step is never below this many round-trip fees.
        atr_window: ATR window (1m candles) the step scales with; must be a market-facts window.
        atr_multiple: Step >= this many ATRs (as a fraction of price); 0 disables.
        volatility_window: Realised-volatility window (1m candles) for the step.
        volatility_multiple: Step >= this many 1m volatilities; 0 disables (default).
        min_step: Lower bound of the volatility step (the fee floor still wins).
        max_step: Upper bound of the volatility step (the fee floor still wins).
        recenter_steps: Re-centre when the close is more than this many steps from the centre.
        level_fraction: Each entry's notional as a fraction of equity at the last re-centre.
        max_exposure: Worst-case position per side, counting every resting order on that side
            as filled, as a multiple of equity.
        take_profit_steps: A leg's take-profit distance from its entry, in steps.
        stop_loss_steps: Flatten when the position's average entry is this many steps against
            the close (None: off).
        stop_loss_fraction: Flatten when the open loss reaches this fraction of equity (None: off).
        asymmetry: 0..1; with net conviction c, the favoured side gets
            ``round(asymmetry * |c| * levels)`` more levels and the other side as many fewer.
        confidence_sizing: 0..1; with the decision's calibrated confidence p, each entry on
            the side the net conviction favours is sized ``1 + confidence_sizing * (2p - 1)``
            times the level size (:mod:`domain.grid.confidence_sizing`); 0: off.
        entry_filter: Block new entries on a side when the net conviction against it is at
            least this (None: off). Exits and take-profits are never blocked.
        proximity_atr: Pull entries within this many ATRs of the close when conviction turns
            against their side (None: off).
        proximity_pull: Net conviction against a side at which its near entries are pulled.
        proximity_rearm: Net conviction against a side below which they are re-armed
            (< ``proximity_pull``: the hysteresis band).
        post_only: Entries and take-profits as post-only (GTX).
        price_tolerance_steps: A resting order within this many steps of its planned price
            is kept.
        quantity_tolerance: A resting entry within this fraction of its planned size is kept.
        orders_per_10s: New orders + modifies allowed in any 10 seconds.
        orders_per_minute: New orders + modifies allowed in any minute.
        max_modifications: Modifies of one order before it is replaced instead (Binance
            futures caps an order at 10,000).
        reprice_attempts: Post-only rejects answered by re-pricing per order before the next
            candle's plan takes over.
        price_band: Leave out orders further than this fraction from the close (pre-trade
            risk's ``price_band`` would refuse them); None: no band.
    """

    levels: int = 10
    round_trip_fee: Decimal = Decimal("0.0004")
    fee_multiple: Decimal = Decimal(3)
    atr_window: int = 60
    atr_multiple: Decimal = Decimal(4)
    volatility_window: int = 60
    volatility_multiple: Decimal = ZERO
    min_step: Decimal = ZERO
    max_step: Decimal = Decimal("0.05")
    recenter_steps: Decimal = Decimal(5)
    level_fraction: Decimal = Decimal("0.05")
    max_exposure: Decimal = ONE
    take_profit_steps: Decimal = ONE
    stop_loss_steps: Decimal | None = None
    stop_loss_fraction: Decimal | None = None
    asymmetry: Decimal = ZERO
    confidence_sizing: Decimal = ZERO
    entry_filter: Decimal | None = None
    proximity_atr: Decimal | None = None
    proximity_pull: Decimal = Decimal("0.5")
    proximity_rearm: Decimal = Decimal("0.3")
    post_only: bool = True
    price_tolerance_steps: Decimal = Decimal("0.1")
    quantity_tolerance: Decimal = Decimal("0.1")
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    max_modifications: int = 9_000
    reprice_attempts: int = 5
    price_band: Decimal | None = None

    def __post_init__(self) -> None:
        checks = (
            (self.levels >= 1, "levels must be >= 1"),
            (self.round_trip_fee >= 0, "round_trip_fee must be >= 0"),
            (self.fee_multiple >= 0, "fee_multiple must be >= 0"),
            (self.atr_window >= 1 and self.volatility_window >= 1, "windows must be >= 1"),
            (self.atr_multiple >= 0 and self.volatility_multiple >= 0, "multiples must be >= 0"),
            (ZERO <= self.min_step <= self.max_step < ONE, "need 0 <= min_step <= max_step < 1"),
            (self.recenter_steps > 0, "recenter_steps must be > 0"),
            (ZERO < self.level_fraction <= ONE, "level_fraction must be in (0, 1]"),
            (self.max_exposure > 0, "max_exposure must be > 0"),
            (self.take_profit_steps > 0, "take_profit_steps must be > 0"),
            (ZERO <= self.asymmetry <= ONE, "asymmetry must be in [0, 1]"),
            (ZERO <= self.confidence_sizing <= ONE, "confidence_sizing must be in [0, 1]"),
            (
                ZERO <= self.proximity_rearm < self.proximity_pull <= ONE,
                "need 0 <= proximity_rearm < proximity_pull <= 1",
            ),
            (self.price_tolerance_steps >= 0, "price_tolerance_steps must be >= 0"),
            (ZERO <= self.quantity_tolerance < ONE, "quantity_tolerance must be in [0, 1)"),
            (self.orders_per_10s >= 1 and self.orders_per_minute >= 1, "budgets must be >= 1"),
            (1 <= self.max_modifications <= 10_000, "max_modifications must be 1..10000"),
            (self.reprice_attempts >= 0, "reprice_attempts must be >= 0"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        for name in (
            "stop_loss_steps",
            "stop_loss_fraction",
            "entry_filter",
            "proximity_atr",
            "price_band",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None")
        if self.fee_multiple * self.round_trip_fee >= ONE:
            raise ValueError("fee floor (fee_multiple x round_trip_fee) must be < 1")

    @property
    def fee_floor(self) -> Decimal:
        """The smallest step ever used, as a fraction of price."""
        return self.fee_multiple * self.round_trip_fee
