"""The weekly weight update in a live run: ``gridbot run`` against the emulator crosses a
Monday 00:00 UTC boundary, re-examines its weights on the past it read at start and the
candles it saw since, and journals, logs and shows the update.

The emulator serves two weeks of past before its replay start (Sunday 2025-02-16 23:00) and
the test closes the candles one by one up to 00:01 (no race with the bot's start-up), so
with ``trailing_weeks`` 1 the update at Monday 2025-02-17 00:00 has a full fit week and a
full held-out week: a real refit, not one skipped for lack of data.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import urllib.request
from pathlib import Path

from tests.integration.test_run_over_emulator import _emulator, _env
from tests.support.running_bot import running_bot

BOUNDARY = 1_739_750_400_000  # Monday 2025-02-17 00:00 UTC
TWO_WEEKS = 20_160


def _advance(url: str) -> None:
    """Close one more candle of the replay."""
    request = urllib.request.Request(f"{url}/_emulator/advance?n=1", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_the_bot_crosses_a_weekly_boundary_and_journals_the_update(
    shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / "klines" / "futures-um" / "BTCUSDT" / "BTCUSDT-1m-2025-02.csv.gz"
    emulator = ("--replay-start", "2025-02-16T23:00", "--history-minutes", str(TWO_WEEKS))
    config = {
        "market": {"type": "USDM_FUTURES", "symbol": "BTCUSDT"},
        "exchange": {"kind": "binance", "leverage": 3},
        "strategy": {"levels": 5, "spacing": 0.001, "quote_per_level": 200},
        "signals": {"history_minutes": TWO_WEEKS, "learning": {"trailing_weeks": 1}},
    }
    with _emulator(data, 0, *emulator) as url:  # speed 0: the test advances the replay
        config["exchange"]["base_url"] = url  # type: ignore[index]
        with running_bot(tmp_path, config, (), _env()) as bot:
            before = bot.status()
            assert before.weights.learning and before.weights.last_update_ms == 0
            for candles in range(1, 63):  # 23:00 .. 00:01, one candle at a time
                _advance(url)
                status = bot.wait_for(lambda s, n=candles: s.candles_processed >= n, 60)
                if status.last_candle_open_time < BOUNDARY:
                    assert status.weights.last_update_ms == 0, "an update before the boundary"
            after = bot.wait_for(lambda s: s.weights.last_update_ms == BOUNDARY, timeout=60)
            bot.process.send_signal(signal.SIGTERM)
            assert bot.wait_exit() == 0, bot.output
    shown = after.weights
    assert shown.last_update_source in ("refit", "current", "heuristic"), shown
    assert shown.HasField("validation_score")
    assert shown.next_update_ms == BOUNDARY + 7 * 86_400_000
    with sqlite3.connect(tmp_path / "data" / "gridbot.db") as db:
        rows = db.execute(
            "select boundary, source, summary from signal_weight_updates order by id"
        ).fetchall()
    assert [(b, s) for b, s, _ in rows] == [(BOUNDARY, shown.last_update_source)]
    summary = json.loads(rows[0][2])
    assert summary["fit_rows"] > 5000 and summary["validation_rows"] > 9000
    assert summary["validation_score"] == shown.validation_score
    log = [json.loads(line) for line in (tmp_path / "data" / "gridbot.log").open()]
    [logged] = [r for r in log if r["event"] == "signals.update"]
    assert logged["boundary"] == BOUNDARY and logged["source"] == shown.last_update_source
    assert set(logged["system_weights_before"]) == set(logged["system_weights_after"])
