"""A static grid whose step is set by recent volatility and always clears the fees.

The 0.2 % reference grid bleeds fees: a round trip earns one step and pays two
commissions, and in quiet markets its levels churn for almost nothing. This grid measures
the volatility of 1-minute log returns (an exponentially weighted mean square over
``window`` minutes; a return across a gap in the data is left out: it is not a
one-minute move) and, at every (re)build, spaces the levels by

    max(fee_floor, multiplier × σ₁ₘ × √horizon)

where ``fee_floor = 2 × fee + margin`` is the smallest step whose round trip still earns
``margin`` after paying the maker fee twice, and ``horizon`` the minutes over which a level
should be reached (60: about once an hour). The band that triggers a rebuild is the grid's
own edge (``levels × spacing``). It trades nothing until ``warmup`` candles have been seen.
Everything else is :class:`~domain.grid.static_grid.StaticGrid`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from domain.candles import Candle
from domain.commands import Command
from domain.events import ExecutionEvent
from domain.grid.static_grid import StaticGrid, StaticGridParams
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

ZERO = Decimal(0)
_SPACING_PLACES = Decimal("0.000001")
_MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class VolatilityGridParams:
    """Parameters of the volatility-spaced grid.

    Attributes:
        levels: Orders per side.
        quote_per_level: Quote value of each level's order.
        fee: Maker fee rate paid on each side of a round trip.
        margin: What a round trip must earn after fees, as a fraction of price.
        multiplier: Step as a multiple of the expected move over ``horizon`` minutes.
        horizon: Minutes over which a level should be reached.
        window: Minutes of the volatility estimate (EWMA span).
        warmup: Candles seen before the first grid is laid.
        post_only: Send orders post-only.
    """

    levels: int = 10
    quote_per_level: Decimal = Decimal("200")
    fee: Decimal = Decimal("0.0002")
    margin: Decimal = Decimal("0.0002")
    multiplier: Decimal = Decimal("1")
    horizon: int = 60
    window: int = 1440
    warmup: int = 60
    post_only: bool = False

    def __post_init__(self) -> None:
        if self.fee < 0 or self.margin < 0 or self.multiplier <= 0:
            raise ValueError("fee and margin must be >= 0, multiplier > 0")
        if self.horizon < 1 or self.window < 2 or self.warmup < 2:
            raise ValueError("horizon >= 1, window >= 2 and warmup >= 2 are required")

    @property
    def fee_floor(self) -> Decimal:
        """The smallest step whose round trip clears two maker fees plus the margin."""
        return 2 * self.fee + self.margin


class VolatilityGrid(StrategyDefaults):
    """Static grid re-spaced by volatility at every rebuild (see the module docstring)."""

    def __init__(self, symbol: str, params: VolatilityGridParams) -> None:
        self.params = params
        self._alpha = 2.0 / (params.window + 1)
        self._variance = 0.0
        self._seen = 0
        self._previous: float | None = None
        self._previous_open = 0
        self.spacing = params.fee_floor
        self.grid = StaticGrid(
            symbol,
            StaticGridParams(
                levels=params.levels,
                spacing=self.spacing,
                quote_per_level=params.quote_per_level,
                recenter_threshold=self.spacing * params.levels,
                post_only=params.post_only,
            ),
        )

    @property
    def recenters(self) -> int:
        """Rebuilds after the first grid."""
        return self.grid.recenters

    @property
    def skipped_levels(self) -> dict[str, int]:
        """Levels that could not become valid orders, by filter."""
        return self.grid.skipped_levels

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        """Update the volatility; re-space the grid whenever it is (re)built."""
        close = float(candle.close)
        previous = self._previous
        contiguous = candle.open_time - self._previous_open == _MINUTE_MS
        if previous is not None and contiguous and previous > 0 and close > 0:
            r = math.log(close / previous)
            self._variance += self._alpha * (r * r - self._variance)
        self._previous = close
        self._previous_open = candle.open_time
        self._seen += 1
        if self._seen < self.params.warmup:
            return ()
        grid = self.grid
        center = grid.center
        band = grid.params.recenter_threshold
        if center is not None and band is not None and abs(candle.close - center) <= center * band:
            return ()
        self.spacing = self._spacing()
        grid.params = replace(
            grid.params,
            spacing=self.spacing,
            recenter_threshold=min(self.spacing * self.params.levels, Decimal("0.99")),
        )
        return grid.on_candle(candle, context)

    def _spacing(self) -> Decimal:
        params = self.params
        move = math.sqrt(self._variance * params.horizon)
        wanted = Decimal(repr(move)) * params.multiplier
        spacing = max(params.fee_floor, wanted).quantize(_SPACING_PLACES)
        return min(max(spacing, _SPACING_PLACES), Decimal("0.2"))

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        """Take-profits as the static grid places them, one (current) step away."""
        return self.grid.on_execution(event, order, context)

    def snapshot(self) -> dict[str, str]:
        """The inner grid's state plus the volatility estimate and the current step."""
        state = dict(self.grid.snapshot())
        state.update(
            variance=repr(self._variance),
            seen=str(self._seen),
            previous="" if self._previous is None else repr(self._previous),
            previous_open=str(self._previous_open),
            spacing=str(self.spacing),
        )
        return state

    def restore(self, state: Mapping[str, str]) -> None:
        """Resume from :meth:`snapshot`.

        Raises:
            ValueError: A required key is missing or not a number.
        """
        try:
            self._variance = float(state["variance"])
            self._seen = int(state["seen"])
            self._previous = float(state["previous"]) if state["previous"] else None
            self._previous_open = int(state.get("previous_open", "0"))
            self.spacing = Decimal(state["spacing"])
        except (KeyError, ArithmeticError) as exc:
            raise ValueError(f"volatility grid state is incomplete or malformed: {exc!r}") from exc
        self.grid.params = replace(
            self.grid.params,
            spacing=self.spacing,
            recenter_threshold=min(self.spacing * self.params.levels, Decimal("0.99")),
        )
        self.grid.restore(state)
