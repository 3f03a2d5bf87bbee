"""The emulator's books at the end of a run, copied out as plain data.

The ground-truth checks compare two plain records, this one and the bot's
(:mod:`.journal`), so they can be tested on doctored values without an emulator or a
database. :func:`read_books` must run on the emulator's loop thread (the state is not
thread-safe); the result is immutable and can be read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adapters.simulated.emulator import EmulatorState
from domain.enums import MarketType

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ExchangeTrade:
    """One of our executions as the emulator booked it."""

    trade_id: int
    order_id: int
    client_order_id: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    maker: bool
    realized_pnl: Decimal
    time: int


@dataclass(frozen=True)
class ExchangeBooks:
    """What the exchange says happened, for the whole run.

    Attributes:
        futures: USD-M futures (else spot).
        symbol: The traded symbol.
        quote_asset: Its quote asset.
        base_asset: Its base asset.
        step_size: Its lot step (what counts as dust when a spot account is flattened).
        client_orders: Every client order id ever accepted -> its exchange order ids.
        trades: Every execution, in trade-id order.
        trades_complete: The venue still holds every trade it booked (its history is
            bounded); the trade comparison is only conclusive when True.
        open_orders: Client ids of the orders still open.
        initial_balances: Balances at the start, per asset.
        balances: Balances now (free + locked), per asset.
        position: Futures net position (0 for spot).
        realized_pnl: Futures realized PnL, gross of fees, summed over every trade.
        fees: Commissions by asset, summed over every trade.
        funding: Futures funding received (negative: paid), summed.
        max_leverage: Highest effective leverage (position notional / equity) seen.
        max_leverage_at: Exchange time of it (ms), or None.
        leverage_observations: How many times leverage was measured.
        worst_case_leverage: The simulator's highest worst-case ratio (every open order
            filled), for comparison with the bot's pre-trade rule.
        last_price: The last close.
    """

    futures: bool
    symbol: str
    quote_asset: str
    base_asset: str
    step_size: Decimal
    client_orders: dict[str, list[int]]
    trades: list[ExchangeTrade]
    trades_complete: bool
    open_orders: list[str]
    initial_balances: dict[str, Decimal]
    balances: dict[str, Decimal]
    position: Decimal
    realized_pnl: Decimal
    fees: dict[str, Decimal]
    funding: Decimal
    max_leverage: Decimal | None
    max_leverage_at: int | None
    leverage_observations: int
    worst_case_leverage: Decimal
    last_price: Decimal
    extra: dict[str, object] = field(default_factory=dict)

    def reused_client_ids(self) -> dict[str, list[int]]:
        """Client ids that stood for more than one exchange order."""
        return {cid: ids for cid, ids in self.client_orders.items() if len(ids) > 1}


def read_books(
    state: EmulatorState,
    market: MarketType,
    symbol: str,
    initial_balances: dict[str, Decimal],
) -> ExchangeBooks:
    """Copy the venue's books (call on the emulator's loop thread).

    Raises:
        KeyError: The emulator does not trade ``symbol`` on ``market``.
    """
    venue = state.venue(market, symbol)
    if venue is None:
        raise KeyError(f"the emulator has no {market.value} {symbol}")
    audit = venue.audit
    inst = venue.instrument
    trades = [
        ExchangeTrade(
            t.trade_id,
            t.order_id,
            audit.order_clients.get(t.order_id, ""),
            t.side.value,
            t.price,
            t.quantity,
            t.commission,
            t.commission_asset,
            t.maker,
            t.realized_pnl,
            t.time,
        )
        for t in sorted(venue.trades, key=lambda t: t.trade_id)
    ]
    snapshot = venue.exchange.account()
    balances = {asset: free + locked for asset, (free, locked) in snapshot.balances.items()}
    position = sum((p.quantity for p in snapshot.positions if p.symbol == symbol), ZERO)
    best = audit.max_leverage
    return ExchangeBooks(
        futures=inst.is_futures,
        symbol=symbol,
        quote_asset=inst.quote_asset,
        base_asset=inst.base_asset,
        step_size=inst.lot_size.step_size,
        client_orders={cid: list(ids) for cid, ids in audit.client_orders.items()},
        trades=trades,
        trades_complete=len(trades) == audit.fills,
        open_orders=[meta.client_order_id for meta, _ in venue.open_orders()],
        initial_balances=dict(initial_balances),
        balances=balances,
        position=position,
        realized_pnl=audit.realized_pnl,
        fees=dict(audit.fees),
        funding=audit.funding,
        max_leverage=None if best is None else best.leverage,
        max_leverage_at=None if best is None else best.time,
        leverage_observations=audit.leverage_observations,
        worst_case_leverage=venue.exchange.max_leverage_seen,
        last_price=venue.mark_price,
        extra={
            "audit_wallet": str(audit.wallet),
            "audit_position": str(audit.position),
        },
    )
