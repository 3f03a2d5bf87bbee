"""The drawdown brake of a real ``gridbot run`` over loopback gRPC: status, kill -9, resume.

A paper bot with tight brakes (0.2 / 0.4 / 0.6 %) and a large grid on the generated market
halts within seconds. ``gridctl status`` shows the level, the peak and the distance to the
next level; ``gridctl resume`` without ``--ack`` is refused; a kill -9 while HALTED restarts
HALTED from the same peak (the journal, not memory, holds it); ``gridctl resume --ack`` lifts
it with the peak reset, logged as an OPERATOR transition.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from proto.gridbot.v1 import control_pb2 as pb
from tests.support.running_bot import ROOT, TOKEN, RunningBot, auth, running_bot

CONFIG = {
    "strategy": {"name": "static_grid", "levels": 10, "quote_per_level": 3000},
    "simulation": {"leverage": 10},
    "risk": {"max_leverage": 10},
    "brakes": {
        "reduced_at": "0.002",
        "reduce_only_at": "0.004",
        "halted_at": "0.006",
        "recover_by": "0.001",
        "hold_minutes": 600,
    },
}
_SCRIPT = Path(sys.executable).parent / "gridctl"
GRIDCTL = (
    [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "adapters.control_client.cli"]
)


def gridctl(bot: RunningBot, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBOT_", "GRIDCTL_"))}
    env.update(GRIDBOT_GRPC_ADDRESS=bot.address, GRIDBOT_API_TOKEN=TOKEN)
    return subprocess.run(
        [*GRIDCTL, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_halt_survives_kill_9_and_lifts_only_with_an_acknowledged_resume(tmp_path: Path) -> None:
    with running_bot(tmp_path, CONFIG) as bot:
        halted = bot.wait_for(lambda s: s.brake.level == "HALTED", timeout=60)
        assert halted.HasField("brake") and halted.brake.next_level == ""
        assert halted.risk.level == "HALTED"
        peak = halted.brake.peak_equity
        assert Decimal(halted.brake.drawdown) >= Decimal("0.006")
        # Flattened: nothing open, no position.
        flat = bot.wait_for(lambda s: not s.open_orders)
        assert all(Decimal(p.quantity) == 0 for p in flat.positions)
        shown = gridctl(bot, "status")
        assert shown.returncode == 0, shown.stderr
        assert "brake" in shown.stdout and "HALTED" in shown.stdout and peak in shown.stdout
        refused = gridctl(bot, "resume")
        assert refused.returncode != 0
        assert "--ack" in refused.stdout + refused.stderr
        assert bot.status().brake.level == "HALTED"
        bot.process.kill()  # kill -9 while HALTED
        bot.process.wait(10)

    with running_bot(tmp_path, CONFIG) as again:
        status = again.status()
        assert status.brake.level == "HALTED" and status.brake.peak_equity == peak
        candles = status.candles_processed
        later = again.wait_for(lambda s: s.candles_processed >= candles + 50)
        assert later.brake.level == "HALTED" and not later.open_orders  # still out
        lifted = gridctl(again, "--json", "resume", "--ack")
        assert lifted.returncode == 0, lifted.stdout + lifted.stderr
        reply = json.loads(lifted.stdout)
        assert reply["changed"] and "peak reset" in reply["message"]
        events = []
        stream = again.stub().StreamTelemetry(
            pb.StreamTelemetryRequest(kinds=["risk"]), metadata=auth()
        )
        for event in stream:
            if event.event == "brake.transition":
                events.append(json.loads(event.fields_json))
                if events[-1]["trigger"] == "OPERATOR":
                    stream.cancel()
                    break
        operator = events[-1]
        assert operator["previous"] == "HALTED" and operator["brake_level"] == "NORMAL"
        assert operator["peak_reset"] is True
        # Trading again from the reset peak (it may brake again on this market).
        again.wait_for(lambda s: s.brake.level != "HALTED" or s.brake.transitions > 1)
    # Every transition is also a JSON log line (both processes append to the same log).
    lines = [json.loads(x) for x in (tmp_path / "data" / "gridbot.log").read_text().splitlines()]
    logged = [x for x in lines if x.get("event") == "brake.transition"]
    levels = [x["brake_level"] for x in logged]
    assert "HALTED" in levels and levels[0] in ("REDUCED", "REDUCE_ONLY", "HALTED")
    assert all(x["level"] == "WARNING" for x in logged)  # the log line's severity
    assert any(x["trigger"] == "OPERATOR" and x["peak_reset"] for x in logged)
