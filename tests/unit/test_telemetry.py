"""TelemetryHub: numbered, bounded, resumable; FanOutSink; the redacting telemetry sink."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.logging.telemetry_sink import TelemetrySink
from adapters.memory.sinks import RecordingSink
from application.telemetry import KINDS, FanOutSink, TelemetryHub, kind_of


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("candle", "candle"),
        ("decision", "decision"),
        ("order.submit", "order"),
        ("order.canceled", "order"),
        ("fill", "fill"),
        ("funding", "pnl"),
        ("pnl", "pnl"),
        ("risk.block", "risk"),
        ("state", "state"),
        ("flatten", "state"),
        ("reconciliation", "state"),
        ("log.warning", "system"),
    ],
)
def test_kind_of(event: str, kind: str) -> None:
    assert kind_of(event) == kind
    assert kind in KINDS


def test_records_are_numbered_and_resumable() -> None:
    hub = TelemetryHub(capacity=100)
    assert hub.latest_seq == 0 and hub.since(0) == ([], 0)
    for i in range(10):
        hub.publish("candle", i, {"i": i})
    assert hub.latest_seq == 10
    records, missing = hub.since(0)
    assert [r.seq for r in records] == list(range(1, 11)) and missing == 0
    records, missing = hub.since(7)
    assert [r.fields["i"] for r in records] == [7, 8, 9] and missing == 0
    assert hub.since(10) == ([], 0)
    records, _ = hub.since(0, limit=3)
    assert [r.seq for r in records] == [1, 2, 3]


def test_a_client_too_far_behind_is_told_how_much_is_gone() -> None:
    hub = TelemetryHub(capacity=5)
    for i in range(12):
        hub.publish("order.submit", i, {})
    records, missing = hub.since(2)
    # Records 3..7 fell out of the buffer; 8..12 remain.
    assert missing == 5 and [r.seq for r in records] == [8, 9, 10, 11, 12]
    assert hub.since(0)[1] == 7


def test_listeners_are_called_after_each_record_until_removed() -> None:
    hub = TelemetryHub()
    calls: list[int] = []

    def listener() -> None:
        calls.append(hub.latest_seq)

    hub.add_listener(listener)
    hub.publish("fill", 1, {})
    hub.publish("fill", 2, {})
    hub.remove_listener(listener)
    hub.remove_listener(listener)  # twice is harmless
    hub.publish("fill", 3, {})
    assert calls == [1, 2]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TelemetryHub(capacity=0)


def test_fan_out_reaches_every_sink_in_order() -> None:
    a, b = RecordingSink(), RecordingSink()
    FanOutSink(a, b).emit("fill", 5, price=Decimal("1.5"))
    assert a.records == b.records == [("fill", 5, {"price": Decimal("1.5")})]


def test_telemetry_sink_redacts_and_converts() -> None:
    hub = TelemetryHub()
    sink = TelemetrySink(hub, secrets=["s3cr3t-value"])
    sink.emit(
        "order.submit",
        1,
        price=Decimal("0.00000001"),
        api_key="whatever",
        note="contains s3cr3t-value inside",
    )
    (record,), _ = hub.since(0)
    assert record.fields["price"] == "0.00000001"
    assert record.fields["api_key"] == "***"
    assert "s3cr3t-value" not in record.fields["note"]
    assert record.kind == "order"
