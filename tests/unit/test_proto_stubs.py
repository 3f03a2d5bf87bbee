"""The checked-in gRPC stubs are exactly what the pinned grpcio-tools generates."""

from __future__ import annotations

from pathlib import Path

from proto.generate import ROOT, generate


def test_generated_stubs_are_current(tmp_path: Path) -> None:
    generated = generate(tmp_path)
    assert generated, "nothing was generated"
    for path in generated:
        checked_in = ROOT / path.relative_to(tmp_path)
        assert checked_in.exists(), f"{checked_in} is missing: run python -m proto.generate"
        assert checked_in.read_bytes() == path.read_bytes(), (
            f"{checked_in.relative_to(ROOT)} is stale: run python -m proto.generate"
        )


def test_service_is_versioned() -> None:
    from proto.gridbot.v1 import control_pb2

    service = control_pb2.DESCRIPTOR.services_by_name["ControlService"]
    assert service.full_name == "gridbot.v1.ControlService"
    assert {m.name for m in service.methods} == {
        "Start",
        "Stop",
        "Pause",
        "Resume",
        "Flatten",
        "GetStatus",
        "StreamTelemetry",
        "GetConfig",
    }
