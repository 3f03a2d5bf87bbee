"""The order that closes the bot's position: one rule for an operator's flatten and a brake's.

An operator's ``gridctl flatten``, a stop that flattens and the drawdown brake's HALTED all
close the position the same way, so they are built here once:

* futures: a reduce-only MARKET order for the whole position (the caller passes the
  exchange's position when it can read it, the truth a reduce-only close must match);
* spot: a MARKET sell of the base held beyond ``keep_base`` (the user's own holding from
  before the bot's first start is not the bot's to sell), rounded down to the lot; dust
  below one lot cannot be sold and is left.
"""

from __future__ import annotations

from decimal import Decimal

from domain.commands import PlaceOrder
from domain.enums import OrderType, Side
from domain.errors import FilterViolation
from domain.instruments import Instrument

ZERO = Decimal(0)
FLATTEN_TAG = "flatten"


def closing_order(
    instrument: Instrument,
    position: Decimal,
    base_balance: Decimal,
    keep_base: Decimal,
    tag: str = FLATTEN_TAG,
) -> PlaceOrder | None:
    """The MARKET order that closes the position, or None when there is nothing to close.

    Args:
        instrument: The traded instrument.
        position: Futures: the signed position to close (base units).
        base_balance: Spot: the base the bot's account holds.
        keep_base: Spot: the base that is not the bot's to sell.
        tag: The order's tag.
    """
    symbol = instrument.symbol
    if instrument.is_futures:
        if not position:
            return None
        side = Side.SELL if position > ZERO else Side.BUY
        return PlaceOrder(symbol, side, OrderType.MARKET, abs(position), reduce_only=True, tag=tag)
    if base_balance <= keep_base:
        return None
    try:
        quantity = instrument.round_quantity(base_balance - keep_base, OrderType.MARKET)
    except FilterViolation:
        return None  # dust below one lot
    return PlaceOrder(symbol, Side.SELL, OrderType.MARKET, quantity, tag=tag)
