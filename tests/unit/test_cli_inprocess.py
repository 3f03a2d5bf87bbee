"""``gridbot backtest`` called in-process: exit codes, messages, report rendering, progress bar.

The subprocess tests in tests/integration/test_cli_backtest.py check the user's view; these
call :func:`bootstrap.cli.main` and :func:`bootstrap.cli.run_backtest` directly so every
branch is measured. Runs use a 500-minute generated market or a small CSV.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from application.backtest import BacktestReport
from bootstrap.cli import EXIT_CONFIG_ERROR, EXIT_DATA_ERROR, main, render_report, run_backtest

START = 1_735_689_600_000  # 2025-01-01 00:00 UTC
MINUTE = 60_000
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
LABELS = [
    "symbol",
    "data",
    "period",
    "candles",
    "gaps",
    "orders",
    "fills",
    "fees",
    "funding",
    "realized PnL",
    "unrealized PnL",
    "position",
    "initial equity",
    "final equity",
    "final cash",
    "max drawdown",
    "max leverage",
    "brakes",
    "calendar",
    "grid re-centres",
    "skipped levels",
    "run time",
]


# --------------------------------------------------------------------------- helpers
def write_config(
    tmp_path: Path, document: dict[str, Any] | None = None, minutes: int = 500
) -> Path:
    """A config file for a short generated market, merged with ``document``'s sections."""
    doc: dict[str, Any] = {"backtest": {"generated": {"minutes": minutes}}}
    doc.update(document or {})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def kline_rows(count: int, start: int = START) -> list[str]:
    rows = []
    for i in range(count):
        open_ = Decimal(100_000 + 800 * math.sin(i / 15)).quantize(Decimal("0.01"))
        close = Decimal(100_000 + 800 * math.sin((i + 1) / 15)).quantize(Decimal("0.01"))
        high = max(open_, close) + Decimal("12.34")
        low = min(open_, close) - Decimal("11.11")
        open_time = start + i * MINUTE
        rows.append(
            f"{open_time},{open_},{high},{low},{close},12.345,{open_time + MINUTE - 1},"
            f"1234567.89,321,6.1,610000.12,0"
        )
    return rows


def write_csv(tmp_path: Path, rows: list[str], name: str = "BTCUSDT-1m-2025-01.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def parse_human(stdout: str) -> dict[str, str]:
    rows = {}
    for line in stdout.splitlines():
        label, _, value = line.partition("  ")
        rows[label.strip()] = value.strip()
    return rows


class TtyStream:
    """An error stream that claims to be a terminal."""

    def __init__(self) -> None:
        self.text = ""
        self.flushes = 0

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        self.flushes += 1

    def isatty(self) -> bool:
        return True


def namespace(config: Path | None, data: Path | None = None, **flags: bool) -> argparse.Namespace:
    return argparse.Namespace(
        command="backtest",
        config=None if config is None else str(config),
        data=None if data is None else str(data),
        json=flags.get("json", False),
        no_progress=flags.get("no_progress", False),
        baselines=flags.get("baselines", False),
    )


def plain(text: str) -> str:
    """Terminal output without its escape codes (colours, cursor, erase line)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def single_error_line(err: str) -> str:
    assert "Traceback" not in err
    message = err.strip()
    assert "\n" not in message, err
    assert message.startswith("gridbot: ")
    return message


# --------------------------------------------------------------------------- main: success
def test_human_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--config", str(write_config(tmp_path))])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    # The report's rows, then the metrics and the comparison with the baselines. The default
    # strategy (the adaptive grid) reports its counters before the run time.
    lines = captured.out.splitlines()[: len(LABELS) + 4]
    assert [line.split("  ")[0].strip() for line in lines] == [
        "market",
        "fee model",
        "funding model",
        *LABELS[:-1],
        "strategy counters",
        "run time",
    ]
    assert "Sharpe (daily, √365)" in captured.out and "buy_and_hold" in captured.out
    assert "static_grid" in captured.out  # the static grid is a baseline now
    # Labels are padded to the longest one ("strategy counters") plus two spaces.
    assert all(line[17:19] == "  " for line in lines)
    rows = parse_human(captured.out)
    assert rows["symbol"] == "BTCUSDT (USDM_FUTURES)"
    assert rows["data"] == "built-in generated market"
    assert rows["period"] == "2024-01-01 00:00 -> 2024-01-01 08:19 UTC"
    assert rows["candles"] == "500"
    assert rows["gaps"] == "0 (0 missing candles, not invented)"
    assert rows["initial equity"] == "10,000.00"
    # The adaptive grid counts what each plan left out (levels beyond the price band, ...).
    total, _, detail = rows["skipped levels"].partition(" ")
    counts = re.findall(r"([A-Z_]+) ([\d,]+)", detail)
    assert counts and sum(int(n.replace(",", "")) for _, n in counts) == int(total.replace(",", ""))
    assert rows["max drawdown"].endswith(")") and " % (" in rows["max drawdown"]
    assert rows["run time"].endswith(" candles/s)")


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", "--config", str(write_config(tmp_path)), "--json"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    report = json.loads(captured.out)
    assert report["symbol"] == "BTCUSDT"
    assert report["market"] == "USDM_FUTURES"
    assert report["candles"] == 500
    assert report["first_open_time"] == 1_704_067_200_000
    assert report["last_open_time"] == 1_704_067_200_000 + 499 * MINUTE
    assert report["data"] == "built-in generated market"
    assert report["gap_list"] == []
    assert report["strategy"] == "adaptive_grid"
    assert set(report["skipped_levels"]) <= {"PRICE_BAND", "CROSSES_MARKET", "EXPOSURE_CAP"}
    assert report["strategy_counters"]["plans"] > 0
    assert isinstance(report["recenters"], int)
    assert Decimal(report["max_leverage"]) >= 0
    assert report["fills"] == report["maker_fills"] + report["taker_fills"]
    assert isinstance(report["fees"], str) and Decimal(report["fees"]) >= 0
    assert report["candles_per_second"] > 0
    final = Decimal(report["final_equity"])
    expected = (
        Decimal(report["initial_equity"])
        + Decimal(report["realized_pnl"])
        + Decimal(report["unrealized_pnl"])
        - Decimal(report["fees"])
        + Decimal(report["funding"])
    )
    assert final == expected


def test_csv_data_with_a_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = kline_rows(200)
    del rows[100:103]  # three missing minutes
    data = write_csv(tmp_path, rows)

    code = main(
        ["backtest", "--config", str(write_config(tmp_path)), "--data", str(data), "--json"]
    )

    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["candles"] == 197
    assert report["data"] == str(data)
    assert report["gaps"] == 1
    assert report["missing_candles"] == 3
    [gap] = report["gap_list"]
    assert gap["after_open_time"] == START + 99 * MINUTE
    assert gap["resumes_at"] == START + 103 * MINUTE
    assert Path(gap["source"]).name == "BTCUSDT-1m-2025-01.csv"


def test_levels_too_big_advise_to_lower_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: a quote_per_level above the exchange's maximum lot advised to *raise* it."""
    config = write_config(
        tmp_path,
        {
            "strategy": {"name": "static_grid", "quote_per_level": "1e14"},
            "backtest": {"generated": {"minutes": 300}},
        },
    )

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 0
    message = single_error_line(captured.err)
    assert "LOT_SIZE max" in message
    assert "lower strategy.quote_per_level" in message
    assert "raise strategy.quote_per_level" not in message


def test_skipped_levels_warn_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Spot with only USDT cannot place the static grid's sell side: a warning, still exit 0."""
    config = write_config(
        tmp_path,
        {"market": {"type": "SPOT", "symbol": "BTCUSDT"}, "strategy": {"name": "static_grid"}},
    )

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 0
    message = single_error_line(captured.err)
    assert message.startswith("gridbot: warning: grid levels could not be placed: ")
    assert "INSUFFICIENT_BASE" in message
    assert message.endswith(
        "hold BTC in account.initial_balances to place the sell side "
        "(spot sells only what it holds)"
    )
    assert "raise strategy.quote_per_level" not in message
    rows = parse_human(captured.out)
    assert rows["symbol"] == "BTCUSDT (SPOT)"
    count = rows["skipped levels"].split(" ")[0]
    assert rows["skipped levels"] == f"{count} (INSUFFICIENT_BASE {count})"
    assert int(count.replace(",", "")) > 0


# --------------------------------------------------------------------------- main: errors
def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"

    code = main(["backtest", "--config", str(missing)])

    captured = capsys.readouterr()
    assert code == EXIT_CONFIG_ERROR == 2
    assert captured.out == ""
    message = single_error_line(captured.err)
    assert message.startswith(f"gridbot: config error: {missing}: cannot read config")


def test_invalid_config_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"strategy": {"levels": 0}})

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    message = single_error_line(captured.err)
    assert (
        message
        == f"gridbot: config error: {config}: $.strategy.levels: must be between 1 and 100, got 0"
    )


def test_unknown_symbol_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"market": {"symbol": "FOOUSDT"}})

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    message = single_error_line(captured.err)
    assert message.startswith(f"gridbot: config error: {config}: $.market.symbol: ")
    assert "FOOUSDT" in message


def test_data_for_another_symbol_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path, kline_rows(10), name="ETHUSDT-1m-2025-01.csv")

    code = main(["backtest", "--config", str(write_config(tmp_path)), "--data", str(data)])

    captured = capsys.readouterr()
    assert code == 2
    message = single_error_line(captured.err)
    assert message.startswith("gridbot: config error: ")
    assert "data is for ETHUSDT but the config trades BTCUSDT" in message


def test_empty_account_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, {"account": {"initial_balances": {"USDT": 0}}})

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    message = single_error_line(captured.err)
    assert message == (
        f"gridbot: config error: {config}: $.account.initial_balances: "
        "no USDT to trade BTCUSDT with"
    )


def test_malformed_data_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = kline_rows(20)
    rows[9] = rows[9].replace(",12.345,", ",not-a-volume,", 1)
    data = write_csv(tmp_path, rows)

    code = main(["backtest", "--config", str(write_config(tmp_path)), "--data", str(data)])

    captured = capsys.readouterr()
    assert code == EXIT_DATA_ERROR == 1
    assert captured.out == ""
    message = single_error_line(captured.err)
    assert message.startswith("gridbot: data error: ")
    assert "BTCUSDT-1m-2025-01.csv" in message
    assert "11" in message  # 1-based line number, header included


def test_missing_data_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "BTCUSDT-1m-2099-01.csv"

    code = main(["backtest", "--config", str(write_config(tmp_path)), "--data", str(data)])

    captured = capsys.readouterr()
    assert code == 1
    message = single_error_line(captured.err)
    assert message.startswith("gridbot: data error: ")
    assert str(data) in message


def test_data_file_without_candles_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path, [])

    code = main(["backtest", "--config", str(write_config(tmp_path)), "--data", str(data)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert single_error_line(captured.err) == f"gridbot: data error: {data}: no candles in the data"


def test_missing_funding_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    funding = tmp_path / "BTCUSDT-funding.csv"
    config = write_config(tmp_path, {"simulation": {"funding_file": str(funding)}})

    code = main(["backtest", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 1
    message = single_error_line(captured.err)
    assert message.startswith("gridbot: data error: ")
    assert "BTCUSDT-funding.csv" in message


def test_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])

    assert info.value.code == 2
    assert "usage: gridbot" in capsys.readouterr().err


# --------------------------------------------------------------------------- render_report
def report(**overrides: Any) -> BacktestReport:
    fields: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "market": "USDM_FUTURES",
        "candles": 1_440,
        "first_open_time": START,
        "last_open_time": START + 1_439 * MINUTE,
        "gaps": 2,
        "missing_candles": 1_234,
        "orders": 12_345,
        "fills": 3_000,
        "maker_fills": 2_900,
        "taker_fills": 100,
        "rejects": 3,
        "risk_blocks": 1,
        "cancels": 1_001,
        "fees": Decimal("12.345678"),
        "funding": Decimal("-1.5"),
        "realized_pnl": Decimal("123.45675"),
        "unrealized_pnl": Decimal("-0.00004"),
        "initial_equity": Decimal("10000"),
        "final_equity": Decimal("10109.6"),
        "final_cash": Decimal("1234567.891"),
        "position": Decimal("0.012"),
        "last_price": Decimal("100000.10"),
        "max_drawdown": Decimal("0.012345"),
        "max_drawdown_amount": Decimal("123.456"),
        "calendar": {"weekend_entered": 2, "weekend_left": 1, "cme_gaps": 1},
    }
    fields.update(overrides)
    return BacktestReport(**fields)


EXTRA: dict[str, Any] = {
    "data": "data/BTCUSDT-1m-2025-01.csv",
    "max_leverage": "1.2500",
    "recenters": 1_234,
    "skipped_levels": {"NOTIONAL": 2, "INSUFFICIENT_BASE": 1_500},
    "seconds": 1.234,
    "candles_per_second": 1166.9,
}


def test_render_report_rows() -> None:
    out = io.StringIO()

    render_report(report(), EXTRA, out)

    lines = out.getvalue().splitlines()
    assert [line[:15].rstrip() for line in lines] == LABELS
    assert dict(zip(LABELS, (line[17:] for line in lines), strict=True)) == {
        "symbol": "BTCUSDT (USDM_FUTURES)",
        "data": "data/BTCUSDT-1m-2025-01.csv",
        "period": "2025-01-01 00:00 -> 2025-01-01 23:59 UTC",
        "candles": "1,440",
        "gaps": "2 (1,234 missing candles, not invented)",
        "orders": "12,345 sent (3 rejected, of which 1 by pre-trade risk before sending; "
        "1,001 cancels)",
        "fills": "3,000 (maker 2,900 / taker 100)",
        "fees": "12.3457",
        "funding": "-1.5000",
        "realized PnL": "123.4568",
        "unrealized PnL": "-0.0000",
        "position": "0.012 @ last 100000.10",
        "initial equity": "10,000.00",
        "final equity": "10,109.60",
        "final cash": "1,234,567.89",
        "max drawdown": "1.23 % (123.46)",
        "max leverage": "1.2500",
        "brakes": "off",
        "calendar": "weekend mode entered 2, left 1; CME gaps 1",
        "grid re-centres": "1,234",
        "skipped levels": "1,502 (INSUFFICIENT_BASE 1,500, NOTIONAL 2)",
        "run time": "1.23 s (1,167 candles/s)",
    }


def test_render_report_without_candles() -> None:
    out = io.StringIO()
    empty = report(candles=0, first_open_time=None, last_open_time=None, last_price=None)

    render_report(empty, {**EXTRA, "skipped_levels": {}}, out)

    rows = parse_human(out.getvalue())
    assert rows["period"] == "- -> - UTC"
    assert rows["position"] == "0.012 @ last None"
    assert rows["skipped levels"] == "0"


# --------------------------------------------------------------------------- progress bar
def test_tty_stderr_draws_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = TtyStream()
    out = io.StringIO()

    code = run_backtest(namespace(write_config(tmp_path)), out, err)

    assert code == 0, err.text
    # The runner reports the final count; done == total always draws, close() ends the line.
    last = plain(err.text).rstrip("\n").split("\r")[-1]
    assert "100%" in last and "500/500 candles" in last and "ETA 0:00:00" in last
    assert err.text.count("\n") == 1
    assert err.flushes >= 1
    assert parse_human(out.getvalue())["candles"] == "500"
    assert capsys.readouterr() == ("", "")  # nothing went to the real streams


def test_tty_stderr_with_csv_data_draws_a_bar_of_the_bytes_read(tmp_path: Path) -> None:
    """A kline file's candle count is unknown up front: the bar follows its bytes read."""
    err = TtyStream()
    data = write_csv(tmp_path, kline_rows(50))
    size = data.stat().st_size / 1_000_000

    code = run_backtest(namespace(write_config(tmp_path), data, json=True), io.StringIO(), err)

    assert code == 0, err.text
    last = plain(err.text).rstrip("\n").split("\r")[-1]
    assert "100%" in last and "50 candles" in last and "ETA 0:00:00" in last
    assert f"({size:,.1f}/{size:,.1f} MB)" in last


def test_no_progress_flag_keeps_a_tty_quiet(tmp_path: Path) -> None:
    err = TtyStream()
    out = io.StringIO()

    code = run_backtest(namespace(write_config(tmp_path), json=True, no_progress=True), out, err)

    assert code == 0
    assert err.text == ""
    assert json.loads(out.getvalue())["candles"] == 500


def test_non_tty_stderr_gets_no_bar(tmp_path: Path) -> None:
    err = io.StringIO()

    code = run_backtest(namespace(write_config(tmp_path)), io.StringIO(), err)

    assert code == 0
    assert err.getvalue() == ""


def test_unknown_symbol_with_a_tty_closes_the_bar_cleanly(tmp_path: Path) -> None:
    """The CSV is read before the instrument is looked up, so the bar already exists."""
    config = write_config(tmp_path, {"market": {"symbol": "FOOUSDT"}})
    data = write_csv(tmp_path, kline_rows(10), name="FOOUSDT-1m-2025-01.csv")
    err = TtyStream()
    out = io.StringIO()

    code = run_backtest(namespace(config, data), out, err)

    assert code == 2
    assert out.getvalue() == ""
    message = single_error_line(err.text)
    assert message.startswith(f"gridbot: config error: {config}: $.market.symbol: ")
    assert "\r" not in err.text  # nothing was drawn, so close() wrote nothing


def test_empty_account_with_a_tty(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"account": {"initial_balances": {"USDT": 0}}})
    err = TtyStream()

    code = run_backtest(namespace(config), io.StringIO(), err)

    assert code == 2
    assert single_error_line(err.text).startswith("gridbot: config error: ")
    assert "\r" not in err.text


def test_data_error_mid_run_with_a_tty(tmp_path: Path) -> None:
    rows = kline_rows(30)
    rows[20] = rows[20].replace(",12.345,", ",x,", 1)
    data = write_csv(tmp_path, rows)
    err = TtyStream()
    out = io.StringIO()

    code = run_backtest(namespace(write_config(tmp_path), data), out, err)

    assert code == 1
    assert out.getvalue() == ""
    assert single_error_line(err.text).startswith("gridbot: data error: ")
    assert "\r" not in err.text


def test_bad_audit_minutes_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, {"exchange": {"audit_minutes": -5}})

    code = main(["run", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    message = single_error_line(captured.err)
    assert "$.exchange.audit_minutes: must be between 0 and 1440, got -5" in message
