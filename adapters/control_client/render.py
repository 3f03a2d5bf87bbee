"""What ``gridctl`` prints: human views of the bot's answers, and their JSON form.

Human output is for an operator at a terminal: the status reads top to bottom as state,
market, position, PnL and risk, then the open orders as a price ladder and the balances.
JSON output is for scripts: the protobuf JSON mapping with the ``.proto`` field names and
every field present (a script should not have to know proto3's "zero is omitted" rule).
Money stays the exact decimal string the bot sent; nothing here goes through a float.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from adapters.control_client.tables import pairs, table
from proto.gridbot.v1 import control_pb2 as pb

#: Width of the event-name column of a telemetry line.
_EVENT_WIDTH = 16


def message_dict(message: Message) -> dict[str, Any]:
    """A message as the protobuf JSON mapping, field names as in the ``.proto``."""
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        unquote_int64_if_possible=True,
    )


def dumps(value: Any) -> str:
    """One line of JSON (stable key order, so output can be diffed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def utc_time(ms: int, *, millis: bool = False) -> str:
    """Epoch milliseconds as a UTC time stamp ("-" for unset)."""
    if ms <= 0:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if millis:
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _percent(fraction: str) -> str:
    value = _decimal(fraction)
    if value is None:
        return fraction or "-"
    return f"{(value * 100).quantize(Decimal('0.01'))} %"


def _brake_line(brake: pb.Brake) -> str:
    """Level, peak and how far the next level is."""
    drawdown = _percent(brake.drawdown)
    line = f"{brake.level or '-'}; peak {brake.peak_equity or '-'}, drawdown {drawdown}"
    if brake.next_level:
        line += (
            f"; {brake.next_level} in {_percent(brake.distance_to_next)} more "
            f"(at equity {brake.next_level_equity or '-'})"
        )
    else:
        line += "; flattened: `gridctl resume --ack` lifts it"
    if brake.leverage_over_cap:
        line += "; leverage ABOVE the cap (reduce-only)"
    return line


def _duration(ms: int) -> str:
    """``3d 4h``, ``5h 12m`` or ``7m``: an age at a glance."""
    minutes = max(ms, 0) // 60_000
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _weights_lines(weights: pb.SignalWeights) -> list[tuple[str, str]]:
    """The weights' source and age, and the latest weekly update with its held-out score."""
    since = f", since {utc_time(weights.since_ms)}" if weights.since_ms else ""
    lines = [("weights", f"{weights.source or '-'} (age {_duration(weights.age_ms)}{since})")]
    if not weights.learning:
        lines.append(("weekly update", "off"))
        return lines
    if weights.last_update_ms:
        score = (
            f"validation IC {weights.validation_score:+.4f}"
            if weights.HasField("validation_score")
            else "validation not measured"
        )
        last = f"{weights.last_update_source or '-'} at {utc_time(weights.last_update_ms)}, {score}"
    else:
        last = "none yet"
    if weights.next_update_ms:
        last += f"; next {utc_time(weights.next_update_ms)}"
    lines.append(("weekly update", last))
    return lines


def _position_line(position: pb.Position) -> str:
    quantity = _decimal(position.quantity)
    if quantity is not None and quantity == 0:
        return f"flat ({position.symbol})"
    return (
        f"{position.quantity} {position.symbol} @ {position.entry_price} "
        f"(mark {position.mark_price}, unrealized {position.unrealized_pnl})"
    )


def _price_key(order: pb.OpenOrder) -> tuple[int, Decimal]:
    price = _decimal(order.price) or _decimal(order.stop_price)
    return (0, -price) if price is not None else (1, Decimal(0))


def orders_table(orders: list[pb.OpenOrder]) -> list[str]:
    """Open orders as a ladder, highest price first (sells above buys, as in a book)."""
    rows = [
        [
            order.client_order_id,
            order.side,
            order.type,
            order.status,
            order.price or "-",
            order.stop_price or "-",
            order.quantity,
            order.executed_quantity,
            "yes" if order.reduce_only else "",
            order.tag,
        ]
        for order in sorted(orders, key=_price_key)
    ]
    headers = ["CLIENT ORDER ID", "SIDE", "TYPE", "STATUS", "PRICE", "STOP", "QTY", "FILLED"]
    right = [False, False, False, False, True, True, True, True, False, False]
    return table([*headers, "REDUCE", "TAG"], rows, right)


def render_status(status: pb.Status) -> str:
    """The operator's view of ``GetStatus``."""
    if status.last_candle_open_time:
        candle = f"candle {utc_time(status.last_candle_open_time)}, "
    else:
        candle = "no candle yet, "
    summary: list[tuple[str, str]] = [
        ("state", status.state or "-"),
        ("symbol", f"{status.symbol} {status.market} on {status.exchange}"),
        ("run", f"{status.run_id}, started {utc_time(status.started_at_ms)}"),
        (
            "last price",
            f"{status.last_price or '-'} ({candle}{status.candles_processed:,} candles processed)",
        ),
    ]
    if status.positions:
        summary += [("position", _position_line(p)) for p in status.positions]
    else:
        summary.append(("position", "flat"))
    pnl = status.pnl
    summary += [
        ("realized PnL", pnl.realized or "0"),
        ("unrealized PnL", pnl.unrealized or "0"),
        ("fees", pnl.fees or "0"),
        ("funding", pnl.funding or "0"),
        (
            "equity",
            f"{pnl.equity or '-'} (peak {pnl.peak_equity or '-'}, "
            f"drawdown {_percent(pnl.drawdown)})",
        ),
    ]
    risk = status.risk
    summary += [
        (
            "risk",
            f"{risk.level or '-'}; leverage {risk.leverage or '-'} of max "
            f"{risk.max_leverage or 'unlimited'}; {risk.blocked_orders} orders blocked",
        ),
        ("kill switch", "ENGAGED" if risk.kill_switch else "off"),
    ]
    if status.HasField("brake"):
        summary.append(("brake", _brake_line(status.brake)))
    conviction = status.conviction
    if conviction.available:
        summary.append(
            (
                "conviction",
                f"long {conviction.long:.3f}, short {conviction.short:.3f}, "
                f"regime {conviction.regime or '-'} (candle {utc_time(conviction.open_time)})",
            )
        )
    if status.HasField("weights"):
        summary += _weights_lines(status.weights)
    summary.append(("telemetry seq", str(status.telemetry_seq)))
    lines = pairs(summary)
    orders = list(status.open_orders)
    lines.append("")
    if orders:
        lines.append(f"open orders ({len(orders)})")
        lines += orders_table(orders)
    else:
        lines.append("open orders: none")
    lines.append("")
    if status.balances:
        lines.append("balances")
        lines += table(
            ["ASSET", "AMOUNT"], [[b.asset, b.amount] for b in status.balances], [False, True]
        )
    else:
        lines.append("balances: none")
    return "\n".join(lines)


def render_command_reply(reply: pb.CommandReply) -> str:
    """One line: the state after the command, and whether it changed anything."""
    note = "" if reply.changed else " (no change)"
    message = f": {reply.message}" if reply.message else ""
    return f"{reply.state}{note}{message}"


def render_flatten_reply(reply: pb.FlattenReply) -> str:
    """What the flatten cancelled and closed, and whether the exchange confirms flat."""
    rows = [
        ("state", reply.state),
        ("cancelled", f"{reply.canceled} open orders"),
        ("closed", reply.closed_quantity or "0"),
        ("exchange position", reply.exchange_position or "0"),
        ("flat", "yes, confirmed by the exchange" if reply.flat else "NO"),
    ]
    if reply.still_open:
        rows.append(("still open", ", ".join(reply.still_open)))
    return "\n".join(pairs(rows))


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _flatten(value: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out.append((prefix or "(config)", _scalar(value)))


def render_config(config: Any) -> str:
    """The configuration as ``section.key  value`` lines, one per setting."""
    rows: list[tuple[str, str]] = []
    _flatten(config, "", rows)
    return "\n".join(pairs(rows))


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() for c in value) else json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def event_fields(event: pb.TelemetryEvent) -> dict[str, Any]:
    """The event's fields as an object (a malformed payload is kept as its raw text)."""
    try:
        fields = json.loads(event.fields_json) if event.fields_json else {}
    except json.JSONDecodeError:
        return {"raw": event.fields_json}
    return fields if isinstance(fields, dict) else {"value": fields}


def event_dict(event: pb.TelemetryEvent) -> dict[str, Any]:
    """A telemetry event for ``watch --json``: its fields as an object, not a string."""
    data = message_dict(event)
    del data["fields_json"]
    data["fields"] = event_fields(event)
    return data


def render_event(event: pb.TelemetryEvent) -> str:
    """One telemetry event on one line: time, seq, kind, event name, then key=value."""
    fields = event_fields(event)
    if event.kind == "gap":
        first = fields.get("first_missing_seq", "?")
        missing = fields.get("missing", "?")
        detail = f"-- {missing} events no longer buffered (seq {first}..{event.seq}) --"
    else:
        detail = " ".join(f"{key}={_field_text(fields[key])}" for key in sorted(fields))
    head = f"{utc_time(event.time_ms, millis=True):<23}  #{event.seq:<7} {event.kind:<8}"
    return f"{head} {event.event:<{_EVENT_WIDTH}} {detail}".rstrip()
