"""Conversions between the application's views and the ``gridbot.v1`` messages.

Decimals travel as their exact string (``str(Decimal)``), never through a float.
"""

from __future__ import annotations

import json
from decimal import Decimal

from application.ports.control import (
    BotState,
    CommandResult,
    FlattenReport,
    StatusView,
    TelemetryRecord,
)
from proto.gridbot.v1 import control_pb2 as pb


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def command_reply(result: CommandResult) -> pb.CommandReply:
    """An operator command's answer."""
    return pb.CommandReply(state=str(result.state), changed=result.changed, message=result.message)


def flatten_reply(state: BotState, report: FlattenReport) -> pb.FlattenReply:
    """What a flatten did and what the exchange confirms."""
    return pb.FlattenReply(
        state=str(state),
        canceled=report.canceled,
        closed_quantity=str(report.closed_quantity),
        exchange_position=str(report.exchange_position),
        flat=report.flat,
        still_open=list(report.still_open),
    )


def status_message(view: StatusView, telemetry_seq: int) -> pb.Status:
    """The full status."""
    ident = view.identity
    message = pb.Status(
        state=str(view.state),
        run_id=ident.run_id,
        exchange=ident.exchange,
        market=ident.market,
        symbol=ident.symbol,
        last_candle_open_time=view.last_candle_open_time,
        last_price=str(view.last_price),
        candles_processed=view.candles_processed,
        telemetry_seq=telemetry_seq,
        started_at_ms=view.started_at_ms,
    )
    if view.position_quantity or view.realized_pnl or view.funding:
        message.positions.append(
            pb.Position(
                symbol=ident.symbol,
                quantity=str(view.position_quantity),
                entry_price=str(view.entry_price),
                mark_price=str(view.last_price),
                unrealized_pnl=str(view.pnl.unrealized),
                realized_pnl=str(view.realized_pnl),
                funding=str(view.funding),
            )
        )
    for order in view.open_orders:
        message.open_orders.append(
            pb.OpenOrder(
                client_order_id=order.client_order_id,
                side=str(order.side),
                type=str(order.order_type),
                status=str(order.status),
                price=_text(order.price),
                stop_price=_text(order.stop_price),
                quantity=str(order.quantity),
                executed_quantity=str(order.executed_quantity),
                reduce_only=order.reduce_only,
                tag=order.tag or "",
            )
        )
    for asset, amount in view.balances:
        message.balances.append(pb.Balance(asset=asset, amount=str(amount)))
    pnl = view.pnl
    message.pnl.CopyFrom(
        pb.Pnl(
            realized=str(pnl.realized),
            unrealized=str(pnl.unrealized),
            fees=str(pnl.fees),
            funding=str(pnl.funding),
            equity=str(pnl.equity),
            peak_equity=str(pnl.peak_equity),
            drawdown=str(pnl.drawdown),
        )
    )
    risk = view.risk
    message.risk.CopyFrom(
        pb.Risk(
            level=risk.level,
            kill_switch=risk.kill_switch,
            leverage=str(risk.leverage),
            max_leverage=_text(risk.max_leverage),
            blocked_orders=risk.blocked_orders,
        )
    )
    brake = view.brake
    if brake is not None:
        message.brake.CopyFrom(
            pb.Brake(
                level=brake.level,
                peak_equity=str(brake.peak),
                equity=str(brake.equity),
                drawdown=str(brake.drawdown),
                next_level=brake.next_level,
                next_level_equity=_text(brake.next_level_equity),
                distance_to_next=_text(brake.distance),
                leverage_over_cap=brake.leverage_over_cap,
                transitions=brake.transitions,
            )
        )
    weights = view.weights
    if weights is not None:
        message.weights.CopyFrom(
            pb.SignalWeights(
                source=weights.source,
                since_ms=weights.since_ms,
                age_ms=weights.age_ms,
                learning=weights.learning,
                last_update_ms=weights.last_update_ms,
                last_update_source=weights.last_update_source,
                validation_score=weights.validation_score,
                next_update_ms=weights.next_update_ms,
            )
        )
    conviction = view.conviction
    if conviction is not None:
        message.conviction.CopyFrom(
            pb.Conviction(
                available=True,
                open_time=conviction.open_time,
                long=conviction.long,
                short=conviction.short,
                regime=conviction.regime,
            )
        )
    return message


def telemetry_event(record: TelemetryRecord, run_id: str) -> pb.TelemetryEvent:
    """One telemetry record (fields as a JSON object; non-JSON values as strings)."""
    return pb.TelemetryEvent(
        seq=record.seq,
        time_ms=record.time_ms,
        kind=record.kind,
        event=record.event,
        fields_json=json.dumps(record.fields, default=str, sort_keys=True),
        run_id=run_id,
    )


def gap_event(first_missing: int, missing: int, time_ms: int, run_id: str) -> pb.TelemetryEvent:
    """Announces records the buffer no longer holds (the client asked from too far back)."""
    return pb.TelemetryEvent(
        seq=first_missing + missing - 1,
        time_ms=time_ms,
        kind="gap",
        event="telemetry.gap",
        fields_json=json.dumps({"first_missing_seq": first_missing, "missing": missing}),
        run_id=run_id,
    )
