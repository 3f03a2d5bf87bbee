"""The gRPC control plane of a real ``gridbot run`` process, over loopback.

Auth on every call, health without a token, reflection, commands that change what the bot
does, a telemetry stream that resumes across reconnects, graceful SIGTERM and Stop.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from proto.gridbot.v1 import control_pb2 as pb
from tests.support.running_bot import ROOT, TOKEN, RunningBot, auth, running_bot


def _journal(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / "gridbot.db")


def test_every_call_needs_the_token_but_health_does_not(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        stub = bot.stub()
        for metadata, detail in (
            ((), "missing bearer token"),
            (auth("wrong-token"), "invalid bearer token"),
            ([("authorization", "Basic " + TOKEN)], "missing bearer token"),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetStatus(pb.GetStatusRequest(), metadata=metadata, timeout=10)
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert detail in (refused.value.details() or "")
            with pytest.raises(grpc.RpcError) as stream_refused:
                list(stub.StreamTelemetry(pb.StreamTelemetryRequest(), metadata=metadata))
            assert stream_refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        # A refused Pause changed nothing.
        with pytest.raises(grpc.RpcError):
            stub.Pause(pb.PauseRequest(), metadata=auth("nope"), timeout=10)
        assert bot.status().state == "RUNNING"
        channel = grpc.insecure_channel(bot.address)
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "gridbot.v1.ControlService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answers = list(reflect.ServerReflectionInfo(iter([request]), metadata=auth(), timeout=10))
        names = {s.name for s in answers[0].list_services_response.service}
        assert "gridbot.v1.ControlService" in names and "grpc.health.v1.Health" in names
        config = json.loads(
            bot.stub().GetConfig(pb.GetConfigRequest(), metadata=auth()).config_json
        )
        assert config["symbol"] == "BTCUSDT" and config["control"]["address"] == "127.0.0.1:0"
        assert TOKEN not in json.dumps(config)


def _trading(status: pb.Status) -> bool:
    """The default adaptive grid has a ladder out (its position cap may leave one side short)."""
    return len(status.open_orders) >= 5


def test_pause_flatten_start_and_stop_change_what_the_bot_does(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        stub = bot.stub()
        bot.wait_for(_trading)
        reply = stub.Pause(pb.PauseRequest(), metadata=auth())
        assert (reply.state, reply.changed) == ("PAUSED", True)
        paused = bot.status()
        after = bot.wait_for(lambda s: s.candles_processed >= paused.candles_processed + 30)
        submits = [
            e for e in _events(bot, paused.telemetry_seq, after.telemetry_seq) if e.kind == "order"
        ]
        assert not [e for e in submits if e.event == "order.submit"], "paused bot placed orders"
        assert stub.Resume(pb.ResumeRequest(), metadata=auth()).state == "RUNNING"
        flat = stub.Flatten(pb.FlattenRequest(), metadata=auth(), timeout=30)
        assert flat.flat and flat.state == "FLATTENED" and list(flat.still_open) == []
        status = bot.status()
        assert status.state == "FLATTENED" and not status.open_orders
        assert all(Decimal(p.quantity) == 0 for p in status.positions)
        flattened = bot.wait_for(lambda s: s.candles_processed >= status.candles_processed + 20)
        assert not flattened.open_orders, "a flattened bot traded before Start"
        assert stub.Start(pb.StartRequest(), metadata=auth()).state == "RUNNING"
        bot.wait_for(_trading)
        stop = stub.Stop(pb.StopRequest(flatten=True), metadata=auth())
        assert stop.state == "STOPPING"
        assert bot.wait_exit() == 0, bot.output
    assert "flat confirmed by the exchange" in bot.output
    with _journal(tmp_path) as db:
        statuses = {row[0] for row in db.execute("select status from orders")}
    assert "NEW" not in statuses and "PARTIALLY_FILLED" not in statuses


def _events(bot: RunningBot, after: int, until: int) -> list[pb.TelemetryEvent]:
    events: list[pb.TelemetryEvent] = []
    stream = bot.stub().StreamTelemetry(pb.StreamTelemetryRequest(after_seq=after), metadata=auth())
    for event in stream:
        events.append(event)
        if event.seq >= until:
            stream.cancel()
            break
    return events


def test_telemetry_stream_resumes_after_a_client_reconnect(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        stub = bot.stub()
        first = stub.StreamTelemetry(pb.StreamTelemetryRequest(), metadata=auth())
        seen = []
        for event in first:
            seen.append(event)
            if len(seen) == 150:
                break
        first.cancel()
        # The client is away while the bot keeps trading.
        gone = bot.wait_for(lambda s: s.telemetry_seq > seen[-1].seq + 100)
        channel = grpc.insecure_channel(bot.address)  # a new connection
        second = bot.stub(channel).StreamTelemetry(
            pb.StreamTelemetryRequest(after_seq=seen[-1].seq), metadata=auth()
        )
        for event in second:
            seen.append(event)
            if event.seq >= gone.telemetry_seq:
                break
        second.cancel()
        seqs = [e.seq for e in seen]
        assert seqs == list(range(1, len(seqs) + 1)), "events lost or repeated"
        kinds = {e.kind for e in seen}
        assert {"state", "order", "candle", "pnl"} <= kinds
        assert len({e.run_id for e in seen}) == 1
        fields = json.loads(next(e for e in seen if e.event == "order.submit").fields_json)
        assert {"client_order_id", "side", "price", "quantity"} <= set(fields)
        filtered = bot.stub().StreamTelemetry(
            pb.StreamTelemetryRequest(kinds=["fill"]), metadata=auth()
        )
        fill = next(iter(filtered))
        filtered.cancel()
        assert fill.kind == "fill"
        with pytest.raises(grpc.RpcError) as bad:
            list(
                bot.stub().StreamTelemetry(
                    pb.StreamTelemetryRequest(kinds=["nonsense"]), metadata=auth()
                )
            )
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_sigterm_with_open_orders_and_a_position_ends_flat(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        bot.wait_for(
            lambda s: s.open_orders and any(Decimal(p.quantity) != 0 for p in s.positions),
            timeout=60,
        )
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 0, bot.output
    out = bot.output
    assert "flat confirmed by the exchange" in out and "open orders cancelled" in out
    with _journal(tmp_path) as db:
        open_orders = db.execute(
            "select count(*) from orders where status in ('NEW','PARTIALLY_FILLED')"
        ).fetchone()[0]
        snapshot = json.loads(
            db.execute("select payload from snapshots order by id desc limit 1").fetchone()[0]
        )
    assert open_orders == 0
    assert Decimal(snapshot["bot"]["position"]) == 0
    assert all(Decimal(p["quantity"]) == 0 for p in snapshot["exchange"]["positions"])


def test_a_remote_address_without_tls_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"control": {"address": "0.0.0.0:0"}}))
    env = {"GRIDBOT_DATA_DIR": str(tmp_path / "data"), "GRIDBOT_API_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "run", "--config", str(tmp_path / "config.json")],
        cwd=ROOT,
        env={**_base_env(), **env, "GRIDBOT_GRPC_ADDRESS": "0.0.0.0:0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "without TLS" in result.stderr and "allow_insecure_remote" in result.stderr


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_remote_address_with_explicit_consent_warns(tmp_path: Path) -> None:
    config = {"control": {"allow_insecure_remote": True}}
    with running_bot(tmp_path, config, env={"GRIDBOT_GRPC_ADDRESS": "0.0.0.0:0"}) as bot:
        port = bot.address.rsplit(":", 1)[1]
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        status = bot.stub(channel).GetStatus(pb.GetStatusRequest(), metadata=auth(), timeout=10)
        assert status.state == "RUNNING"
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 0
    log = (tmp_path / "data" / "gridbot.log").read_text()
    assert "WITHOUT TLS" in log


def test_conviction_and_decision_records_reach_status_telemetry_and_journal(
    tmp_path: Path,
) -> None:
    config = {"signals": {"window": 20, "horizon": 5}}
    with running_bot(tmp_path, config, args=("--speed", "0")) as bot:
        status = bot.wait_for(lambda s: s.conviction.available, timeout=90)
        conviction = status.conviction
        assert 0 <= conviction.long <= 1 and 0 <= conviction.short <= 1
        assert conviction.regime in ("UP", "DOWN", "NEUTRAL")
        shown = status.weights  # the weights' source and age; no weekly update yet
        assert shown.source == "heuristic (no history)" and shown.learning
        assert shown.since_ms > 0 and shown.age_ms >= 0 and shown.last_update_ms == 0
        assert not shown.HasField("validation_score")
        stream = bot.stub().StreamTelemetry(
            pb.StreamTelemetryRequest(kinds=["decision"]), metadata=auth()
        )
        decision = next(iter(stream))
        stream.cancel()
        fields = json.loads(decision.fields_json)
        assert decision.kind == "decision" and len(fields["features"]) == 48
        assert set(fields["systems"]) == {"UP", "DOWN", "NEUTRAL"}
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait_exit() == 0, bot.output
    assert "signal weights: heuristic (no history)" in bot.output
    with _journal(tmp_path) as db:
        stored = db.execute("select count(*) from reports where kind = 'decision'").fetchone()[0]
        weights = db.execute(
            "select value from strategy_state where key = 'signals.weights'"
        ).fetchone()
    assert stored > 0 and weights is not None
