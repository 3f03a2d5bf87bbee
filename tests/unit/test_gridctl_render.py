"""gridctl's output: aligned tables from constructed messages, JSON forms, event lines."""

from __future__ import annotations

import json

import pytest

from adapters.control_client.render import (
    event_dict,
    message_dict,
    render_command_reply,
    render_config,
    render_event,
    render_flatten_reply,
    render_status,
    utc_time,
)
from adapters.control_client.tables import pairs, table
from proto.gridbot.v1 import control_pb2 as pb

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def _order(cid: str, side: str, price: str, tag: str, **extra: object) -> pb.OpenOrder:
    return pb.OpenOrder(
        client_order_id=cid,
        side=side,
        type=str(extra.get("type", "LIMIT")),
        status="NEW",
        price=price,
        stop_price=str(extra.get("stop_price", "")),
        quantity="0.004",
        executed_quantity=str(extra.get("executed", "0")),
        reduce_only=bool(extra.get("reduce_only", False)),
        tag=tag,
    )


def make_status(**overrides: object) -> pb.Status:
    status = pb.Status(
        state="RUNNING",
        run_id="abc123def456",
        exchange="simulated",
        market="USDM_FUTURES",
        symbol="BTCUSDT",
        last_candle_open_time=T0 + 35 * 60_000,
        last_price="41980.00",
        candles_processed=1234,
        telemetry_seq=102,
        started_at_ms=T0,
    )
    status.positions.append(
        pb.Position(
            symbol="BTCUSDT",
            quantity="0.008",
            entry_price="41900.10",
            mark_price="41980.00",
            unrealized_pnl="0.63920",
            realized_pnl="0.67440",
            funding="-0.01",
        )
    )
    status.open_orders.extend(
        [
            _order("gridbot-0", "BUY", "41954.40", "grid:1"),
            _order("gridbot-3", "SELL", "42206.70", "grid:2", executed="0.001"),
            _order("gridbot-n", "SELL", "42122.20", "tp", reduce_only=True),
            _order("gridbot-s", "SELL", "", "sl", type="STOP_MARKET", stop_price="41000.00"),
        ]
    )
    status.balances.extend(
        [pb.Balance(asset="USDT", amount="10000.539742880"), pb.Balance(asset="BNB", amount="1")]
    )
    status.pnl.CopyFrom(
        pb.Pnl(
            realized="0.67440",
            unrealized="0.63920",
            fees="0.134657120",
            funding="-0.01",
            equity="10001.16894288",
            peak_equity="10002.00000000",
            drawdown="0.0312",
        )
    )
    status.risk.CopyFrom(
        pb.Risk(level="NORMAL", leverage="0.1700", max_leverage="3", blocked_orders=2)
    )
    for key, value in overrides.items():
        if isinstance(value, pb.Conviction):
            status.conviction.CopyFrom(value)
        elif isinstance(value, pb.Brake):
            status.brake.CopyFrom(value)
        elif isinstance(value, pb.SignalWeights):
            status.weights.CopyFrom(value)
        else:
            setattr(status, key, value)
    return status


def _labels(text: str) -> dict[str, str]:
    head = text.split("\n\n")[0]
    result = {}
    for line in head.splitlines():
        label, _, value = line.partition("  ")
        result[label.strip()] = value.strip()
    return result


def test_status_summary_reads_top_to_bottom() -> None:
    text = render_status(make_status())
    labels = _labels(text)
    assert list(labels) == [
        "state",
        "symbol",
        "run",
        "last price",
        "position",
        "realized PnL",
        "unrealized PnL",
        "fees",
        "funding",
        "equity",
        "risk",
        "kill switch",
        "telemetry seq",
    ]
    assert labels["state"] == "RUNNING"
    assert labels["symbol"] == "BTCUSDT USDM_FUTURES on simulated"
    assert labels["run"] == "abc123def456, started 2024-01-01 00:00:00 UTC"
    assert labels["last price"] == (
        "41980.00 (candle 2024-01-01 00:35:00 UTC, 1,234 candles processed)"
    )
    assert labels["position"] == ("0.008 BTCUSDT @ 41900.10 (mark 41980.00, unrealized 0.63920)")
    assert labels["realized PnL"] == "0.67440"
    assert labels["funding"] == "-0.01"
    assert labels["equity"] == "10001.16894288 (peak 10002.00000000, drawdown 3.12 %)"
    assert labels["risk"] == "NORMAL; leverage 0.1700 of max 3; 2 orders blocked"
    assert labels["kill switch"] == "off"
    assert labels["telemetry seq"] == "102"
    assert "conviction" not in text  # not available: not shown


def test_status_values_share_one_column() -> None:
    head = render_status(make_status()).split("\n\n")[0].splitlines()
    starts = {len(line) - len(line.split("  ", 1)[1].lstrip()) for line in head}
    assert len(starts) == 1


def test_conviction_is_shown_when_available() -> None:
    conviction = pb.Conviction(available=True, open_time=T0, long=0.625, short=0.2, regime="trend")
    labels = _labels(render_status(make_status(conviction=conviction)))
    assert labels["conviction"] == (
        "long 0.625, short 0.200, regime trend (candle 2024-01-01 00:00:00 UTC)"
    )


def test_open_orders_form_an_aligned_price_ladder() -> None:
    text = render_status(make_status())
    section = text.split("\n\n")[1].splitlines()
    assert section[0] == "open orders (4)"
    header, *rows = section[1:]
    assert header.split() == [
        "CLIENT",
        "ORDER",
        "ID",
        "SIDE",
        "TYPE",
        "STATUS",
        "PRICE",
        "STOP",
        "QTY",
        "FILLED",
        "REDUCE",
        "TAG",
    ]
    assert [row.split()[0] for row in rows] == ["gridbot-3", "gridbot-n", "gridbot-0", "gridbot-s"]
    # Right-aligned numbers: every price ends in the same column as its header.
    price_end = header.index("PRICE") + len("PRICE")
    for row in rows[:3]:
        assert row[price_end - 8 : price_end] in ("42206.70", "42122.20", "41954.40")
    stop_row = rows[3]
    assert "STOP_MARKET" in stop_row and "41000.00" in stop_row
    assert rows[1].split()[-2:] == ["yes", "tp"]  # reduce-only
    assert rows[0].split()[7] == "0.001"  # filled


def test_balances_table_and_empty_sections() -> None:
    text = render_status(make_status())
    balances = text.split("\n\n")[2].splitlines()
    assert balances == [
        "balances",
        "ASSET           AMOUNT",
        "USDT   10000.539742880",
        "BNB                  1",
    ]
    empty = make_status(state="FLATTENED")
    del empty.open_orders[:]
    del empty.balances[:]
    del empty.positions[:]
    text = render_status(empty)
    assert "open orders: none" in text
    assert "balances: none" in text
    assert _labels(text)["position"] == "flat"


def test_zero_position_reads_flat_and_missing_times_read_dash() -> None:
    status = make_status(last_candle_open_time=0, started_at_ms=0)
    status.positions[0].quantity = "0.000"
    labels = _labels(render_status(status))
    assert labels["position"] == "flat (BTCUSDT)"
    assert labels["run"] == "abc123def456, started -"
    assert labels["last price"].startswith("41980.00 (no candle yet, ")


def test_kill_switch_and_unlimited_leverage() -> None:
    status = make_status()
    status.risk.kill_switch = True
    status.risk.level = "KILL_SWITCH"
    status.risk.max_leverage = ""
    labels = _labels(render_status(status))
    assert labels["kill switch"] == "ENGAGED"
    assert labels["risk"].startswith("KILL_SWITCH; leverage 0.1700 of max unlimited")


def test_unparseable_drawdown_is_shown_as_sent() -> None:
    status = make_status()
    status.pnl.drawdown = "n/a"
    assert "drawdown n/a)" in render_status(status)


def test_status_json_keeps_every_field_and_exact_decimals() -> None:
    status = make_status()
    del status.open_orders[:]
    data = json.loads(json.dumps(message_dict(status)))
    assert data["state"] == "RUNNING"
    assert data["open_orders"] == []  # present even when empty
    assert data["candles_processed"] == 1234  # an integer, not proto3's quoted int64
    assert data["pnl"]["fees"] == "0.134657120"
    assert data["risk"]["kill_switch"] is False
    assert "conviction" not in data  # a message field: absent until the bot has one
    conviction = pb.Conviction(available=True, open_time=T0, long=0.5, short=0.25, regime="x")
    data = message_dict(make_status(conviction=conviction))
    assert data["conviction"] == {
        "available": True,
        "open_time": T0,
        "long": 0.5,
        "short": 0.25,
        "regime": "x",
    }


def test_command_and_flatten_replies() -> None:
    assert render_command_reply(pb.CommandReply(state="PAUSED", changed=True, message="pause")) == (
        "PAUSED: pause"
    )
    assert render_command_reply(pb.CommandReply(state="PAUSED", message="already paused")) == (
        "PAUSED (no change): already paused"
    )
    flat = pb.FlattenReply(
        state="FLATTENED",
        canceled=20,
        closed_quantity="0.036",
        exchange_position="0.000",
        flat=True,
    )
    assert render_flatten_reply(flat).splitlines() == [
        "state              FLATTENED",
        "cancelled          20 open orders",
        "closed             0.036",
        "exchange position  0.000",
        "flat               yes, confirmed by the exchange",
    ]
    stuck = pb.FlattenReply(state="FLATTENED", exchange_position="0.004", still_open=["a", "b"])
    lines = render_flatten_reply(stuck).splitlines()
    assert lines[-2:] == ["flat               NO", "still open         a, b"]


def test_config_reads_as_dotted_keys() -> None:
    config = {
        "control": {"address": "127.0.0.1:50051", "enabled": True, "token_file": None},
        "grid": {"levels": 10, "spacing": "0.002"},
        "symbols": ["BTCUSDT"],
        "empty": {},
    }
    assert render_config(config).splitlines() == [
        "control.address     127.0.0.1:50051",
        "control.enabled     true",
        "control.token_file  null",
        "empty               {}",
        "grid.levels         10",
        "grid.spacing        0.002",
        'symbols             ["BTCUSDT"]',
    ]


def test_event_line_and_json_form() -> None:
    event = pb.TelemetryEvent(
        seq=17,
        time_ms=T0 + 61_500,
        kind="order",
        event="order.submit",
        fields_json=json.dumps(
            {"price": "41954.40", "side": "BUY", "stop_price": None, "note": "two words", "n": 2}
        ),
        run_id="abc",
    )
    assert render_event(event) == (
        "2024-01-01 00:01:01.500  #17      order    order.submit     "
        'n=2 note="two words" price=41954.40 side=BUY stop_price=null'
    )
    data = event_dict(event)
    assert data == {
        "seq": 17,
        "time_ms": T0 + 61_500,
        "kind": "order",
        "event": "order.submit",
        "run_id": "abc",
        "fields": {
            "price": "41954.40",
            "side": "BUY",
            "stop_price": None,
            "note": "two words",
            "n": 2,
        },
    }


def test_gap_event_line() -> None:
    gap = pb.TelemetryEvent(
        seq=127,
        time_ms=T0,
        kind="gap",
        event="telemetry.gap",
        fields_json=json.dumps({"first_missing_seq": 5, "missing": 123}),
    )
    assert render_event(gap).endswith("-- 123 events no longer buffered (seq 5..127) --")


def test_events_without_time_keep_their_columns() -> None:
    timed = pb.TelemetryEvent(seq=1, time_ms=T0, kind="state", event="state", fields_json="{}")
    untimed = pb.TelemetryEvent(seq=1, time_ms=0, kind="state", event="state", fields_json="{}")
    assert render_event(untimed).index("#1") == render_event(timed).index("#1")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("not json", {"raw": "not json"}), ("[1, 2]", {"value": [1, 2]}), ("", {})],
)
def test_malformed_event_fields_are_kept(payload: str, expected: dict[str, object]) -> None:
    event = pb.TelemetryEvent(seq=1, kind="system", event="x", fields_json=payload)
    assert event_dict(event)["fields"] == expected


def test_utc_time() -> None:
    assert utc_time(0) == "-"
    assert utc_time(T0) == "2024-01-01 00:00:00 UTC"
    assert utc_time(T0 + 7, millis=True) == "2024-01-01 00:00:00.007"


def test_tables() -> None:
    assert table(["A", "BB"], [["x", "1"], ["yyy", "22"]], [False, True]) == [
        "A    BB",
        "x     1",
        "yyy  22",
    ]
    assert table(["A"], []) == ["A"]
    with pytest.raises(ValueError, match="row has 1 cells for 2 columns"):
        table(["A", "B"], [["x"]])
    with pytest.raises(ValueError, match="one alignment per column"):
        table(["A", "B"], [], [True])
    assert pairs([("a", "1"), ("long", "")]) == ["a     1", "long"]
    assert pairs([]) == []


def test_brake_shows_level_peak_and_distance_to_the_next_level() -> None:
    assert "brake" not in _labels(render_status(make_status()))  # brakes off: no line
    reduced = pb.Brake(
        level="REDUCED",
        peak_equity="10500",
        equity="9900",
        drawdown="0.0571",
        next_level="REDUCE_ONLY",
        next_level_equity="9450",
        distance_to_next="0.0429",
    )
    labels = _labels(render_status(make_status(brake=reduced)))
    assert labels["brake"] == (
        "REDUCED; peak 10500, drawdown 5.71 %; REDUCE_ONLY in 4.29 % more (at equity 9450)"
    )
    halted = pb.Brake(level="HALTED", peak_equity="10500", drawdown="0.15", leverage_over_cap=True)
    labels = _labels(render_status(make_status(brake=halted)))
    assert labels["brake"] == (
        "HALTED; peak 10500, drawdown 15.00 %; flattened: `gridctl resume --ack` lifts it; "
        "leverage ABOVE the cap (reduce-only)"
    )


def test_weights_show_source_age_and_the_latest_weekly_update() -> None:
    assert "weights" not in _labels(render_status(make_status()))  # no signal: no line
    monday = 1_700_438_400_000  # 2023-11-20 00:00 UTC
    learned = pb.SignalWeights(
        source="journal; weekly refit at 1700438400000",
        since_ms=monday,
        age_ms=(3 * 24 + 4) * 3_600_000 + 59_999,
        learning=True,
        last_update_ms=monday,
        last_update_source="refit",
        validation_score=0.0312,
        next_update_ms=monday + 7 * 86_400_000,
    )
    labels = _labels(render_status(make_status(weights=learned)))
    assert labels["weights"] == (
        "journal; weekly refit at 1700438400000 (age 3d 4h, since 2023-11-20 00:00:00 UTC)"
    )
    assert labels["weekly update"] == (
        "refit at 2023-11-20 00:00:00 UTC, validation IC +0.0312; next 2023-11-27 00:00:00 UTC"
    )
    skipped = pb.SignalWeights(
        source="fitted on 10080 candles",
        age_ms=125 * 60_000,
        learning=True,
        last_update_ms=monday,
        last_update_source="skipped",
    )
    labels = _labels(render_status(make_status(weights=skipped)))
    assert labels["weights"] == "fitted on 10080 candles (age 2h 5m)"
    assert labels["weekly update"] == (
        "skipped at 2023-11-20 00:00:00 UTC, validation not measured"
    )
    fresh = pb.SignalWeights(source="heuristic (no history)", learning=True, age_ms=0)
    assert _labels(render_status(make_status(weights=fresh)))["weekly update"] == "none yet"
    frozen = pb.SignalWeights(source="journal", learning=False, age_ms=7 * 60_000)
    labels = _labels(render_status(make_status(weights=frozen)))
    assert labels["weights"] == "journal (age 7m)"
    assert labels["weekly update"] == "off"
