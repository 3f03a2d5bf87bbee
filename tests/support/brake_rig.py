"""What the brake tests share: a strategy that keeps buying, price paths, and the audit.

:class:`Accumulator` tries a new entry on every candle (a BUY below the close, tagged
``entry``) and keeps one take-profit (a reduce-only SELL above the close, tagged ``tp``) for
the whole position, so on a falling market it piles up a losing long and the brakes must
step in. :func:`audit` replays a sink's records in order and checks the brake's promise:
no entry order is ever submitted while the level is REDUCE_ONLY or HALTED (or leverage is
above the cap), and entries at REDUCED are at most ``reduced_size`` of a normal one. An
entry is any order that does not reduce the position the fills so far add up to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from application.brakes import is_exit
from domain.candles import Candle
from domain.commands import Command, PlaceOrder
from domain.enums import OrderType, Side, TimeInForce
from domain.events import ExecutionEvent
from domain.orders import Order
from domain.strategy import StrategyDefaults, TradingContext

D = Decimal
MINUTE = 60_000
#: Tags of reduce-only closing orders (the brake's flatten and leverage reduction).
CLOSING_TAGS = frozenset({"flatten", "leverage"})
QUOTE = D("1500")
BELOW = D("0.999")
START = D("40000")


class Accumulator(StrategyDefaults):
    """Buys a fixed quote amount below every close; one take-profit for the position."""

    def __init__(
        self, symbol: str = "BTCUSDT", quote: Decimal = QUOTE, below: Decimal = BELOW
    ) -> None:
        self.symbol = symbol
        self.quote = quote
        self.below = below
        self.asked = 0

    def on_candle(self, candle: Candle, context: TradingContext) -> Sequence[Command]:
        self.asked += 1
        inst = context.instrument
        tags = {o.tag for o in context.open_orders.values()}
        commands: list[Command] = []
        if "entry" not in tags:
            price = inst.round_price(candle.close * self.below)
            qty = inst.quantity_for_notional(self.quote, price)
            commands.append(
                PlaceOrder(
                    self.symbol, Side.BUY, OrderType.LIMIT, qty, price, TimeInForce.GTC, tag="entry"
                )
            )
        position = context.account.position.quantity
        if position > 0 and "tp" not in tags:
            price = inst.round_price(candle.close * D("1.05"))
            commands.append(
                PlaceOrder(
                    self.symbol,
                    Side.SELL,
                    OrderType.LIMIT,
                    position,
                    price,
                    TimeInForce.GTC,
                    reduce_only=inst.is_futures,
                    tag="tp",
                )
            )
        return commands

    def on_execution(
        self, event: ExecutionEvent, order: Order | None, context: TradingContext
    ) -> Sequence[Command]:
        return ()

    def snapshot(self) -> dict[str, str]:
        return {"asked": str(self.asked)}

    def restore(self, state: Mapping[str, str]) -> None:
        self.asked = int(state.get("asked", "0"))


def candles_from_returns(
    returns_bp: Iterable[int], start: Decimal = START, open_time: int = 1_700_000_040_000
) -> list[Candle]:
    """1m candles whose closes move by the given basis points, one candle each."""
    out: list[Candle] = []
    price = start
    for i, bp in enumerate(returns_bp):
        close = (price * (1 + D(bp) / 10_000)).quantize(D("0.1"))
        high = max(price, close) * D("1.0005")
        low = min(price, close) * D("0.9995")
        t = open_time + i * MINUTE
        out.append(
            Candle(
                t, price, high.quantize(D("0.1")), low.quantize(D("0.1")), close, D(50), t + 59_999
            )
        )
        price = close
    return out


@dataclass
class Audit:
    """What :func:`audit` found in a run's records."""

    levels: list[str] = field(default_factory=list)
    entries_by_level: dict[str, int] = field(default_factory=dict)
    entry_notionals: dict[str, list[Decimal]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)


def audit(records: Iterable[tuple[str, int, dict[str, Any]]], start: str = "NORMAL") -> Audit:
    """Replay the sink's records: the level in force when each entry was submitted.

    Args:
        records: A recording sink's records, in order.
        start: The level in force before the first record (a restarted process's).
    """
    result = Audit()
    level = start
    over_cap = False
    position = D(0)
    for event, timestamp, fields in records:
        if event == "brake.transition":
            assert fields["previous"] == level, (fields, level)
            level = fields["brake_level"]
            result.levels.append(level)
        elif event == "risk.leverage_cap":
            over_cap = bool(fields["over_cap"])
        elif event == "fill":
            quantity = D(fields["quantity"])
            position += quantity if fields["side"] == Side.BUY else -quantity
        elif event == "order.submit" and not is_exit(
            Side(fields["side"]),
            D(fields["quantity"]),
            fields.get("tag") in CLOSING_TAGS,
            position,
        ):
            result.entries_by_level[level] = result.entries_by_level.get(level, 0) + 1
            notional = D(fields["quantity"]) * D(fields["price"])
            result.entry_notionals.setdefault(level, []).append(notional)
            if level in ("REDUCE_ONLY", "HALTED") or over_cap:
                result.violations.append(f"entry at {timestamp} while {level}, over cap {over_cap}")
    return result
