"""The event log: line format, levels, rotation, and that no secret ever reaches a file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum, IntEnum
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from adapters.logging import MASK, HumanConsoleSink, JsonLinesSink, level_for
from application.ports.event_sink import EventSink
from bootstrap.cli import main
from bootstrap.config import load_config
from bootstrap.containers import BacktestContainer
from bootstrap.secrets import API_KEY_ENV, API_SECRET_ENV, Secret, require_credentials
from domain.enums import Liquidity, Side

T0 = 1_704_067_200_000  # 2024-01-01 00:00:00.000 UTC
PLANTED = "PLANTEDvalueZ9x8c7v6b5n4m3QWERTYuiop1234567890asdfghjklLKJHGFD"
PLANTED_KEY = "PLANTEDkeyA1s2d3f4g5h6j7k8l9ZXCVBNMqwertyuiop0987654321mnbvcxz"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[JsonLinesSink]:
    sink = JsonLinesSink(tmp_path / "logs" / "gridbot.log", run_id="run-1", secrets=[PLANTED])
    yield sink
    sink.close()


class _Colour(Enum):
    RED = "red"


class _Priority(IntEnum):
    HIGH = 1


class _Thing:
    def __str__(self) -> str:
        return "thing#7"


class _Broken:
    def __str__(self) -> str:
        raise RuntimeError("no")


# --------------------------------------------------------------------------- format
def test_one_json_object_per_line_with_the_header_first(log: JsonLinesSink) -> None:
    log.emit("order.submit", T0 + 123, client_order_id="gridbot-0", price=Decimal("42000.10"))
    log.emit("fill", T0 + 60_000, client_order_id="gridbot-0")

    text = log.path.read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 2
    first, second = _lines(log.path)
    assert list(first) == ["time", "level", "event", "run_id", "client_order_id", "price"]
    assert first == {
        "time": "2024-01-01T00:00:00.123Z",
        "level": "INFO",
        "event": "order.submit",
        "run_id": "run-1",
        "client_order_id": "gridbot-0",
        "price": "42000.10",
    }
    assert second["time"] == "2024-01-01T00:01:00.000Z"


def test_sink_implements_the_port(tmp_path: Path) -> None:
    sinks: list[EventSink] = [
        JsonLinesSink(tmp_path / "a.log", run_id="r"),
        HumanConsoleSink(io.StringIO()),
    ]
    for sink in sinks:
        sink.emit("x", T0)
    assert isinstance(sinks[0], JsonLinesSink)
    sinks[0].close()


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (T0 + 999, "2024-01-01T00:00:00.999Z"),
        (1_735_689_599_001, "2024-12-31T23:59:59.001Z"),
    ],
)
def test_time_is_the_event_timestamp_in_utc_with_milliseconds(
    log: JsonLinesSink, timestamp: int, expected: str
) -> None:
    log.emit("tock", timestamp)
    assert _lines(log.path)[0]["time"] == expected


def test_value_conversion(log: JsonLinesSink) -> None:
    log.emit(
        "fill",
        T0,
        quantity=Decimal("0.00000001"),
        scientific=Decimal("1E+2"),
        side=Side.BUY,
        liquidity=Liquidity.MAKER,
        colour=_Colour.RED,
        priority=_Priority.HIGH,
        count=3,
        ratio=0.5,
        nan=float("nan"),
        flag=True,
        nothing=None,
        when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        thing=_Thing(),
        broken=_Broken(),
        error=ValueError("bad price"),
        nested={"prices": [Decimal("1.10"), (Decimal("2"), Side.SELL)], 7: "int key"},
        tags={"b", "a"},
    )
    record = _lines(log.path)[0]
    assert record["quantity"] == "0.00000001"
    assert record["scientific"] == "100"
    assert record["side"] == "BUY"
    assert record["liquidity"] == Liquidity.MAKER.value
    assert record["colour"] == "red"
    assert record["priority"] == 1
    assert record["count"] == 3 and record["ratio"] == 0.5
    assert record["nan"] == "nan"
    assert record["flag"] is True and record["nothing"] is None
    assert record["when"] == "2024-01-02T03:04:05+00:00"
    assert record["thing"] == "thing#7"
    assert record["broken"] == "<unprintable _Broken>"
    assert record["error"] == "ValueError: bad price"
    assert record["nested"] == {"prices": ["1.10", ["2", "SELL"]], "7": "int key"}
    assert record["tags"] == ["a", "b"]


def test_fields_cannot_overwrite_the_header(log: JsonLinesSink) -> None:
    log.emit("fill", T0, time="later", level="low", run_id="other")
    record = _lines(log.path)[0]
    assert record["time"] == "2024-01-01T00:00:00.000Z"
    assert record["level"] == "INFO" and record["run_id"] == "run-1"
    assert record["field.time"] == "later"
    assert record["field.level"] == "low"
    assert record["field.run_id"] == "other"


def test_a_structure_that_contains_itself_is_cut_off(log: JsonLinesSink) -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    log.emit("fill", T0, loop=loop)
    assert _lines(log.path)[0]["loop"][0] == 1


# --------------------------------------------------------------------------- levels
@pytest.mark.parametrize(
    ("event", "level"),
    [
        ("order.submit", "INFO"),
        ("fill", "INFO"),
        ("funding", "INFO"),
        ("order.rejected", "WARNING"),
        ("order.cancel_rejected", "WARNING"),
        ("risk.blocked", "WARNING"),
        ("risk.block", "WARNING"),
        ("kill_switch.on", "WARNING"),
        ("reconcile.unknown_order", "WARNING"),
        ("reconcile.mismatch", "WARNING"),
        ("http.retry", "WARNING"),
        ("exchange.error", "ERROR"),
        ("bot.fatal", "ERROR"),
        ("order.reject_error", "ERROR"),
        ("candle", "DEBUG"),
        ("candle.closed", "DEBUG"),
        ("tick", "DEBUG"),
        ("book.update", "DEBUG"),
        ("heartbeat", "DEBUG"),
        ("bookkeeping.done", "INFO"),
    ],
)
def test_level_from_the_event_name(event: str, level: str) -> None:
    assert level_for(event) == level


def test_level_overrides_by_exact_name() -> None:
    assert level_for("fill", {"fill": "DEBUG"}) == "DEBUG"
    assert level_for("fill.partial", {"fill": "DEBUG"}) == "INFO"


def test_records_below_the_level_are_dropped(tmp_path: Path) -> None:
    with JsonLinesSink(tmp_path / "w.log", run_id="r", level="WARNING") as sink:
        sink.emit("candle", T0)
        sink.emit("fill", T0)
        sink.emit("order.rejected", T0, code=-2010)
        sink.emit("exchange.error", T0)
    assert [r["event"] for r in _lines(tmp_path / "w.log")] == ["order.rejected", "exchange.error"]
    assert [r["level"] for r in _lines(tmp_path / "w.log")] == ["WARNING", "ERROR"]


def test_debug_level_keeps_everything(tmp_path: Path) -> None:
    with JsonLinesSink(tmp_path / "d.log", run_id="r", level="DEBUG") as sink:
        sink.emit("candle", T0)
        sink.emit("fill", T0)
    assert [r["level"] for r in _lines(tmp_path / "d.log")] == ["DEBUG", "INFO"]


def test_default_level_drops_debug(log: JsonLinesSink) -> None:
    log.emit("candle", T0)
    log.emit("tick", T0)
    assert log.path.read_text() == ""


def test_overrides_change_what_is_kept(tmp_path: Path) -> None:
    with JsonLinesSink(tmp_path / "o.log", run_id="r", levels={"candle": "INFO"}) as sink:
        sink.emit("candle", T0)
    assert _lines(tmp_path / "o.log")[0]["level"] == "INFO"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"level": "info"},
        {"level": "TRACE"},
        {"levels": {"x": "LOUD"}},
        {"max_bytes": 0},
        {"backups": -1},
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        JsonLinesSink(tmp_path / "x.log", run_id="r", **kwargs)


# --------------------------------------------------------------------------- file handling
def test_each_line_is_on_disk_when_emit_returns(log: JsonLinesSink) -> None:
    log.emit("fill", T0, n=1)
    # Another reader sees it without close(): a crash right now would lose nothing.
    assert _lines(log.path) == [_lines(log.path)[0]]
    log.emit("fill", T0, n=2)
    assert [r["n"] for r in _lines(log.path)] == [1, 2]


def test_directory_is_created_and_an_existing_log_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gridbot.log"
    with JsonLinesSink(path, run_id="first") as sink:
        sink.emit("fill", T0)
    with JsonLinesSink(path, run_id="second") as sink:
        sink.emit("fill", T0)
    assert [r["run_id"] for r in _lines(path)] == ["first", "second"]


def test_close_is_idempotent_and_emit_after_close_fails(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "c.log", run_id="r")
    assert not sink.closed
    sink.close()
    sink.close()
    assert sink.closed
    with pytest.raises(ValueError, match="closed"):
        sink.emit("fill", T0)


def test_size_based_rotation(tmp_path: Path) -> None:
    path = tmp_path / "gridbot.log"
    with JsonLinesSink(path, run_id="r", max_bytes=1024, backups=3) as sink:
        for n in range(200):
            sink.emit("fill", T0 + n, n=n, pad="x" * 40)

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["gridbot.log", "gridbot.log.1", "gridbot.log.2", "gridbot.log.3"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 1024
    # Newest in the live file, then .1, .2, .3; together a contiguous run ending at 199.
    numbers = [r["n"] for name in reversed(files) for r in _lines(tmp_path / name)]
    assert numbers == list(range(numbers[0], 200))
    assert numbers[0] > 0  # the oldest records were dropped with the oldest backup


def test_rotation_counts_what_was_already_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gridbot.log"
    path.write_text("x" * 1000 + "\n")
    with JsonLinesSink(path, run_id="r", max_bytes=1024, backups=1) as sink:
        sink.emit("fill", T0, pad="y" * 100)
    assert (tmp_path / "gridbot.log.1").read_text() == "x" * 1000 + "\n"
    assert len(_lines(path)) == 1


def test_rotation_without_backups_truncates(tmp_path: Path) -> None:
    path = tmp_path / "gridbot.log"
    with JsonLinesSink(path, run_id="r", max_bytes=1024, backups=0) as sink:
        for n in range(100):
            sink.emit("fill", T0, n=n, pad="x" * 40)
    assert [p.name for p in tmp_path.iterdir()] == ["gridbot.log"]
    assert path.stat().st_size <= 1024
    assert _lines(path)[-1]["n"] == 99


def test_a_line_larger_than_max_bytes_is_still_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "gridbot.log"
    with JsonLinesSink(path, run_id="r", max_bytes=100, backups=1) as sink:
        sink.emit("fill", T0, pad="x" * 500)
    assert _lines(path)[0]["pad"] == "x" * 500


# --------------------------------------------------------------------------- redaction
@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "X-MBX-APIKEY",
        "api_secret",
        "secret",
        "client_secret",
        "signature",
        "password",
        "passwd",
        "token",
        "listenKey",
        "Authorization",
    ],
)
def test_sensitive_keys_are_masked(log: JsonLinesSink, key: str) -> None:
    log.emit("http.request", T0, **{key: "abc123", "nested": {key: {"deep": 1}}})
    record = _lines(log.path)[0]
    assert record[key] == MASK
    assert record["nested"] == {key: MASK}


def test_ordinary_keys_are_not_masked(log: JsonLinesSink) -> None:
    fields = {"client_order_id": "gridbot-1", "keys": 2, "key_count": 3, "trade_id": 9}
    log.emit("fill", T0, **fields)
    record = _lines(log.path)[0]
    assert {k: record[k] for k in fields} == fields


def test_planted_values_are_masked_everywhere(log: JsonLinesSink) -> None:
    log.emit(
        f"event.{PLANTED}",
        T0,
        url=f"https://api.binance.com/api/v3/order?signature=1&x={PLANTED}&y=2",
        nested={"headers": [{"value": PLANTED}, f"pre{PLANTED}post"], PLANTED: "as a key"},
        error=RuntimeError(f"request failed: {PLANTED}"),
        obj=_Thing(),
        secret_object=Secret(PLANTED),
        as_tuple=(PLANTED,),
        as_set={PLANTED},
    )
    text = log.path.read_text(encoding="utf-8")
    assert PLANTED not in text
    record = _lines(log.path)[0]
    assert record["event"] == f"event.{MASK}"
    assert record["url"] == f"https://api.binance.com/api/v3/order?signature=1&x={MASK}&y=2"
    assert record["nested"] == {"headers": [{"value": MASK}, f"pre{MASK}post"], MASK: "as a key"}
    assert record["error"] == f"RuntimeError: request failed: {MASK}"
    assert record["secret_object"] == MASK
    assert record["as_tuple"] == [MASK] and record["as_set"] == [MASK]


def test_a_secret_hidden_in_a_number_withholds_the_record(tmp_path: Path) -> None:
    path = tmp_path / "n.log"
    with JsonLinesSink(path, run_id="r", secrets=["31415926"]) as sink:
        sink.emit("fill", T0, trade_id=27_314_159_265, note="kept?")
    text = path.read_text()
    assert "31415926" not in text
    record = _lines(path)[0]
    assert record == {
        "time": "2024-01-01T00:00:00.000Z",
        "level": "INFO",
        "event": "fill",
        "run_id": "r",
        "withheld": "record contained a secret",
    }


def test_empty_secrets_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "e.log"
    with JsonLinesSink(path, run_id="r", secrets=["", PLANTED]) as sink:
        sink.emit("fill", T0, note="plain text")
    assert _lines(path)[0]["note"] == "plain text"


def test_longer_secret_is_masked_whole(tmp_path: Path) -> None:
    path = tmp_path / "l.log"
    with JsonLinesSink(path, run_id="r", secrets=["abc", "abcdef"]) as sink:
        sink.emit("fill", T0, note="xabcdefx abc")
    assert _lines(path)[0]["note"] == "x***x ***"


def test_a_secret_with_json_special_characters(tmp_path: Path) -> None:
    secret = 'q"w\\e/r'
    path = tmp_path / "j.log"
    with JsonLinesSink(path, run_id="r", secrets=[secret]) as sink:
        sink.emit("fill", T0, note=f"<{secret}>")
    assert _lines(path)[0]["note"] == "<***>"
    assert json.dumps(secret)[1:-1] not in path.read_text()


# --------------------------------------------------------------------------- console
def test_console_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    console = HumanConsoleSink(stream, secrets=[PLANTED])
    console.emit(
        "fill",
        T0 + 5,
        side=Side.BUY,
        price=Decimal("42000.10"),
        note="two words",
        empty="",
        nothing=None,
        api_key="abc",
        leak=f"x{PLANTED}",
        nested={"a": [1, "b"]},
    )
    console.emit("candle", T0)
    console.emit("order.rejected", T0, code=-2010)
    lines = stream.getvalue().splitlines()
    assert lines == [
        '2024-01-01T00:00:00.005Z INFO    fill side=BUY price=42000.10 note="two words" '
        'empty="" nothing=null api_key=*** leak=x*** nested={"a":[1,"b"]}',
        "2024-01-01T00:00:00.000Z WARNING order.rejected code=-2010",
    ]


def test_console_level_and_withheld_fields() -> None:
    stream = io.StringIO()
    console = HumanConsoleSink(stream, level="DEBUG", secrets=["31415926"])
    console.emit("candle", T0, trade_id=27_314_159_265)
    assert stream.getvalue() == (
        "2024-01-01T00:00:00.000Z DEBUG   candle (fields withheld: they contained a secret)\n"
    )
    with pytest.raises(ValueError):
        HumanConsoleSink(stream, level="LOUD")


# --------------------------------------------------------------------------- planted secret
def _grep(directory: Path, *needles: str) -> list[str]:
    """Every file under ``directory`` (rotated ones too) that contains one of ``needles``."""
    hits = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path.name}: {n[:8]}..." for n in needles if n.encode() in data]
    return hits


def test_planted_environment_secret_never_reaches_the_log_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's acceptance check: plant a secret, log it in every shape, grep the logs."""
    monkeypatch.setenv(API_KEY_ENV, PLANTED_KEY)
    monkeypatch.setenv(API_SECRET_ENV, PLANTED)
    monkeypatch.setenv("GRIDBOT_DATA_DIR", str(tmp_path / "data"))
    config = load_config(None)
    credentials = require_credentials(config)
    log_dir = config.log_path.parent

    sink = JsonLinesSink(
        config.log_path,
        run_id="planted",
        secrets=credentials.secret_values(),
        max_bytes=1024,
        backups=2,
        level="DEBUG",
    )
    for n in range(40):
        sink.emit(
            "http.request",
            T0 + n,
            n=n,
            credentials=credentials,
            api_key=credentials.api_key.reveal(),
            query=f"symbol=BTCUSDT&timestamp={T0}&signature=abc&secret={PLANTED}",
            headers={"X-MBX-APIKEY": PLANTED_KEY, "note": [f"key {PLANTED_KEY}"]},
            error=PermissionError(f"denied for {PLANTED_KEY}:{PLANTED}"),
            environ={API_SECRET_ENV: PLANTED},
        )
        sink.emit("exchange.error", T0 + n, message=f"bad secret {PLANTED}")
    sink.close()

    assert (log_dir / "gridbot.log.2").exists(), "rotation should have happened"
    assert len(list(log_dir.iterdir())) == 3
    assert _grep(tmp_path, PLANTED, PLANTED_KEY) == []
    assert MASK in config.log_path.read_text()


def test_backtest_events_logged_in_process_hold_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real backtest through ``bootstrap.cli.main`` with the JSON sink in place of the default.

    The CLI does not wire the JSON sink yet, so the test overrides the container's sink; the
    planted secret comes from the environment and its value is the sink's redaction list.
    """
    monkeypatch.setenv(API_KEY_ENV, PLANTED_KEY)
    monkeypatch.setenv(API_SECRET_ENV, PLANTED)
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps(
            {
                "storage": {"data_dir": str(tmp_path / "data")},
                "bot": {"client_order_id_prefix": "planted"},
                "backtest": {"generated": {"minutes": 600}},
            }
        )
    )
    config = load_config(config_path)
    credentials = require_credentials(config)
    sink = JsonLinesSink(
        config.log_path,
        run_id=f"run-{PLANTED}",  # even a run id built from the secret is masked
        secrets=credentials.secret_values(),
        max_bytes=4096,
        backups=3,
    )
    with BacktestContainer.sink.override(providers.Object(sink)):
        code = main(["backtest", "--config", str(config_path), "--no-progress", "--json"])
    sink.close()

    assert code == 0, capsys.readouterr().err
    records = [r for p in sorted(config.log_path.parent.iterdir()) for r in _lines(p)]
    events = {r["event"] for r in records}
    assert {"order.submit", "fill"} <= events
    assert all(r["run_id"] == f"run-{MASK}" for r in records)
    fill = next(r for r in records if r["event"] == "fill")
    Decimal(fill["price"])  # exact decimal text
    assert fill["side"] in ("BUY", "SELL")
    assert _grep(tmp_path / "data", PLANTED, PLANTED_KEY) == []
