"""``gridbot backtest`` end to end, as a user runs it: a subprocess, real argv, real exit codes.

Inputs are small (a 3000-minute generated market, a 300-row CSV) so each run takes well under
a few seconds. Bad input must end in one clear line on stderr naming the file and the line or
field, a non-zero exit code, an empty stdout and never a traceback.
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "config.example.json"

START = 1_735_689_600_000  # 2025-01-01 00:00 UTC
MINUTE = 60_000
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)

REPORT_LINES = (
    "candles",
    "orders",
    "fills",
    "fees",
    "funding",
    "realized PnL",
    "unrealized PnL",
    "final equity",
    "max drawdown",
)
DECIMAL_KEYS = (
    "fees",
    "funding",
    "realized_pnl",
    "unrealized_pnl",
    "initial_equity",
    "final_equity",
    "final_cash",
    "position",
    "last_price",
    "max_drawdown",
    "max_drawdown_amount",
)
INT_KEYS = (
    "candles",
    "gaps",
    "missing_candles",
    "orders",
    "fills",
    "maker_fills",
    "taker_fills",
    "rejects",
    "cancels",
)
TIMING_KEYS = ("seconds", "candles_per_second")

EXIT_DATA_ERROR = 1
EXIT_CONFIG_ERROR = 2


# --------------------------------------------------------------------------- helpers
def gridbot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bootstrap.cli backtest ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bootstrap.cli", "backtest", *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_json(*args: str | Path) -> dict[str, Any]:
    result = gridbot(*args, "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def write_config(tmp_path: Path, document: dict[str, Any], name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def small_market(tmp_path: Path, minutes: int = 3000) -> Path:
    """A config for a short built-in generated market (otherwise the embedded default)."""
    return write_config(tmp_path, {"backtest": {"generated": {"minutes": minutes}}})


def kline_rows(count: int = 300, start: int = START) -> list[str]:
    """Binance-layout 1m BTCUSDT rows around 100k with a sine-shaped price path."""
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


def write_csv(
    directory: Path, rows: list[str], name: str = "BTCUSDT-1m-2025-01.csv", header: bool = True
) -> Path:
    path = directory / name
    lines = ([HEADER] if header else []) + rows
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_clean_failure(
    result: subprocess.CompletedProcess[str], exit_code: int, *fragments: str
) -> str:
    """One line on stderr containing every fragment, nothing on stdout, no traceback."""
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message, "no error message"
    assert "\n" not in message, f"expected one line, got:\n{result.stderr}"
    assert message.startswith("gridbot: ")
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def parse_human(stdout: str) -> dict[str, str]:
    """The human report as {label: value} (labels are left-aligned, then two spaces)."""
    rows = {}
    for line in stdout.splitlines():
        label, _, value = line.partition("  ")
        rows[label.strip()] = value.strip()
    return rows


def without_timing(report: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in report.items() if k not in TIMING_KEYS}
    if "baselines" in out:
        out["baselines"] = {
            name: {k: v for k, v in run.items() if k != "seconds"}
            for name, run in out["baselines"].items()
        }
    return out


# --------------------------------------------------------------------------- happy paths
def test_human_report_of_a_default_run(tmp_path: Path) -> None:
    result = gridbot("--config", small_market(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = parse_human(result.stdout)
    for label in REPORT_LINES:
        assert label in rows, f"missing line {label!r} in:\n{result.stdout}"
    assert rows["symbol"] == "BTCUSDT (USDM_FUTURES)"
    assert rows["data"] == "built-in generated market"
    assert rows["candles"] == "3,000"
    assert "maker " in rows["fills"] and " taker " in rows["fills"]
    assert rows["max drawdown"].endswith(")") and " % (" in rows["max drawdown"]
    assert rows["initial equity"] == "10,000.00"
    assert "Traceback" not in result.stdout


def test_json_report_of_a_default_run(tmp_path: Path) -> None:
    report = run_json("--config", small_market(tmp_path))

    assert report["symbol"] == "BTCUSDT"
    assert report["market"] == "USDM_FUTURES"
    assert report["candles"] == 3000
    assert report["gaps"] == 0
    assert report["gap_list"] == []
    assert report["data"] == "built-in generated market"
    for key in INT_KEYS:
        assert type(report[key]) is int, key
    for key in DECIMAL_KEYS:
        assert isinstance(report[key], str), key
        Decimal(report[key])  # exact decimal text, not a float
    assert report["fills"] == report["maker_fills"] + report["taker_fills"]
    assert report["fills"] > 0
    assert Decimal(report["initial_equity"]) == Decimal(10_000)
    # funding is net received: equity change = realized + unrealized - fees + funding
    realized, unrealized, fees, funding = (
        Decimal(report[k]) for k in ("realized_pnl", "unrealized_pnl", "fees", "funding")
    )
    initial, final = Decimal(report["initial_equity"]), Decimal(report["final_equity"])
    assert final == initial + realized + unrealized - fees + funding
    assert report["last_open_time"] - report["first_open_time"] == 2999 * MINUTE
    assert isinstance(report["seconds"], float)
    assert isinstance(report["recenters"], int)
    Decimal(report["max_leverage"])


def test_json_carries_metrics_baselines_and_the_best_of_each(tmp_path: Path) -> None:
    report = run_json("--config", small_market(tmp_path))

    metrics = report["metrics"]
    assert metrics["final_equity"] == report["final_equity"]
    assert metrics["max_drawdown"] == report["max_drawdown"]
    assert metrics["fills"]["fees"] == report["fees"]
    for key in ("sharpe", "sortino", "calmar", "annualised_return"):
        assert metrics[key] is None or isinstance(metrics[key], (float, str)), key
    assert set(metrics["trades"]) >= {"count", "win_rate", "profit_factor", "median_duration_ms"}
    assert metrics["requests"]["within_limits"] in (True, False)
    assert set(report["baselines"]) == {
        "buy_and_hold",
        "neutral_grid",
        "volatility_grid",
        "static_grid",
    }
    for run in report["baselines"].values():
        assert run["report"]["candles"] == report["candles"]
        assert run["report"]["initial_equity"] == report["initial_equity"]
    names = {"adaptive_grid (configured)", *report["baselines"]}
    assert "total_return" in report["best"] and "max_drawdown" in report["best"]
    for winners in report["best"].values():
        assert set(winners) <= names


def test_no_baselines_flag(tmp_path: Path) -> None:
    report = run_json("--config", small_market(tmp_path), "--no-baselines")
    assert "baselines" not in report and "best" not in report
    assert "metrics" in report


def test_json_report_is_deterministic(tmp_path: Path) -> None:
    config = small_market(tmp_path)
    first = run_json("--config", config)
    second = run_json("--config", config)

    assert set(TIMING_KEYS) <= set(first)
    assert without_timing(first) == without_timing(second)


def test_data_file(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(300))
    report = run_json("--data", data)

    assert report["candles"] == 300
    assert report["gaps"] == 0
    assert report["missing_candles"] == 0
    assert report["first_open_time"] == START
    assert report["last_open_time"] == START + 299 * MINUTE
    assert report["data"] == str(data)
    assert report["orders"] > 0


def test_data_file_human_report(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(300))
    result = gridbot("--data", data)

    assert result.returncode == 0, result.stderr
    rows = parse_human(result.stdout)
    assert rows["candles"] == "300"
    assert rows["data"] == str(data)
    assert rows["period"] == "2025-01-01 00:00 -> 2025-01-01 04:59 UTC"


def test_data_file_without_header_in_gzip(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2025-01.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(kline_rows(300)) + "\n").encode()))
    assert run_json("--data", path)["candles"] == 300


def test_data_gap_is_reported_not_filled(tmp_path: Path) -> None:
    rows = kline_rows(300)
    del rows[100:103]
    report = run_json("--data", write_csv(tmp_path, rows))

    assert report["candles"] == 297
    assert report["gaps"] == 1
    assert report["missing_candles"] == 3
    assert report["gap_list"] == [
        {
            "source": "BTCUSDT-1m-2025-01.csv",
            "after_open_time": START + 99 * MINUTE,
            "resumes_at": START + 103 * MINUTE,
        }
    ]


def test_example_config_with_data_override(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(300))
    report = run_json("--config", EXAMPLE_CONFIG, "--data", data)

    assert report["candles"] == 300
    assert report["symbol"] == "BTCUSDT"
    assert report["market"] == "USDM_FUTURES"


def test_backtest_data_from_config(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(120))
    config = write_config(tmp_path, {"backtest": {"data": str(data)}})
    report = run_json("--config", config)

    assert report["candles"] == 120
    assert report["data"] == str(data)


def test_real_month_of_spot_klines(shared_data: Path) -> None:
    data = shared_data / "klines" / "spot" / "BTCUSDT" / "BTCUSDT-1m-2025-06.csv.gz"
    report = run_json("--data", data)

    assert report["candles"] == 43_200
    assert report["gaps"] == 0
    assert report["missing_candles"] == 0
    assert report["symbol"] == "BTCUSDT"


# --------------------------------------------------------------------------- bad data
def test_malformed_csv_price(tmp_path: Path) -> None:
    rows = kline_rows(300)
    fields = rows[100].split(",")
    fields[4] = "12x.5"
    rows[100] = ",".join(fields)
    data = write_csv(tmp_path, rows)

    message = assert_clean_failure(
        gridbot("--data", data), EXIT_DATA_ERROR, str(data), "line 102", "field close", "'12x.5'"
    )
    assert "data error" in message


def test_truncated_gzip(tmp_path: Path) -> None:
    data = tmp_path / "BTCUSDT-1m-2025-01.csv.gz"
    whole = gzip.compress(("\n".join([HEADER, *kline_rows(300)]) + "\n").encode())
    data.write_bytes(whole[: len(whole) // 2])

    assert_clean_failure(gridbot("--data", data), EXIT_DATA_ERROR, str(data), "truncated")


def test_gzip_that_is_not_gzip(tmp_path: Path) -> None:
    data = tmp_path / "BTCUSDT-1m-2025-01.csv.gz"
    data.write_text("\n".join([HEADER, *kline_rows(10)]) + "\n", encoding="utf-8")

    assert_clean_failure(gridbot("--data", data), EXIT_DATA_ERROR, str(data), "corrupt")


def test_wrong_column_count(tmp_path: Path) -> None:
    rows = kline_rows(300)
    rows[49] = rows[49].rsplit(",", 1)[0]  # drop the last column
    data = write_csv(tmp_path, rows)

    assert_clean_failure(
        gridbot("--data", data),
        EXIT_DATA_ERROR,
        str(data),
        "line 51",
        "expected 12 columns, found 11",
    )


def test_non_monotonic_timestamps(tmp_path: Path) -> None:
    rows = kline_rows(300)
    rows[200], rows[201] = rows[201], rows[200]
    data = write_csv(tmp_path, rows)

    assert_clean_failure(
        gridbot("--data", data),
        EXIT_DATA_ERROR,
        str(data),
        "line 203",
        "field open_time",
        "not monotonic",
    )


def test_duplicate_timestamp(tmp_path: Path) -> None:
    rows = kline_rows(300)
    rows.insert(10, rows[9])
    data = write_csv(tmp_path, rows)

    assert_clean_failure(
        gridbot("--data", data), EXIT_DATA_ERROR, str(data), "line 12", "duplicate open_time"
    )


def test_missing_data_file(tmp_path: Path) -> None:
    data = tmp_path / "BTCUSDT-1m-2025-01.csv"

    assert_clean_failure(gridbot("--data", data), EXIT_DATA_ERROR, str(data), "does not exist")


def test_data_directory_without_kline_files(tmp_path: Path) -> None:
    empty = tmp_path / "klines"
    empty.mkdir()

    assert_clean_failure(gridbot("--data", empty), EXIT_DATA_ERROR, str(empty))


def test_data_file_name_without_symbol_trades_the_configured_symbol(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(10), name="klines.csv")

    result = gridbot("--data", data, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["candles"] == 10


def test_data_files_naming_two_symbols_are_refused(tmp_path: Path) -> None:
    first = write_csv(tmp_path, kline_rows(10), name="BTCUSDT-1m-2024-01.csv")
    write_csv(tmp_path, kline_rows(10), name="ETHUSDT-1m-2024-01.csv")

    assert_clean_failure(gridbot("--data", str(Path(first).parent)), EXIT_DATA_ERROR, "mix symbols")


# --------------------------------------------------------------------------- bad config
def test_invalid_config_value(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"strategy": {"levels": 0}})

    message = assert_clean_failure(
        gridbot("--config", config), EXIT_CONFIG_ERROR, str(config), "$.strategy.levels"
    )
    assert "config error" in message


def test_unknown_config_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"strategy": {"levelz": 10}})

    assert_clean_failure(
        gridbot("--config", config),
        EXIT_CONFIG_ERROR,
        str(config),
        "$.strategy.levelz",
        "unknown key",
    )


def test_invalid_json_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"strategy": {"levels": 10,}}', encoding="utf-8")

    assert_clean_failure(
        gridbot("--config", config),
        EXIT_CONFIG_ERROR,
        str(config),
        "invalid JSON at line 1 column",
    )


def test_missing_config_file(tmp_path: Path) -> None:
    config = tmp_path / "nope.json"

    assert_clean_failure(
        gridbot("--config", config), EXIT_CONFIG_ERROR, str(config), "cannot read config"
    )


def test_config_file_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_bytes(b'{"_comment": "\xff"}')

    assert_clean_failure(gridbot("--config", config), EXIT_CONFIG_ERROR, str(config), "UTF-8")


def test_data_symbol_mismatch(tmp_path: Path) -> None:
    data = write_csv(tmp_path, kline_rows(300), name="ETHUSDT-1m-2025-01.csv")
    config = write_config(tmp_path, {"market": {"symbol": "BTCUSDT"}})

    assert_clean_failure(
        gridbot("--config", config, "--data", data),
        EXIT_CONFIG_ERROR,
        str(data),
        "ETHUSDT",
        "BTCUSDT",
    )


@pytest.mark.parametrize("with_data", [False, True])
def test_unknown_symbol(tmp_path: Path, with_data: bool) -> None:
    config = small_market(tmp_path)
    document = json.loads(config.read_text(encoding="utf-8"))
    config = write_config(tmp_path, {**document, "market": {"symbol": "DOGEUSDT"}})
    extra: list[str | Path] = []
    if with_data:
        extra = ["--data", write_csv(tmp_path, kline_rows(10), name="DOGEUSDT-1m-2025-01.csv")]

    assert_clean_failure(
        gridbot("--config", config, *extra),
        EXIT_CONFIG_ERROR,
        str(config),
        "$.market.symbol",
        "DOGEUSDT",
    )


def test_bad_funding_file(tmp_path: Path) -> None:
    funding = tmp_path / "BTCUSDT-funding.csv"
    funding.write_text("symbol,fundingTime,fundingRate\nBTCUSDT,1735689600000,oops\n", "utf-8")
    config = write_config(
        tmp_path,
        {
            "simulation": {"funding_file": str(funding)},
            "backtest": {"generated": {"minutes": 100}},
        },
    )

    assert_clean_failure(gridbot("--config", config), EXIT_DATA_ERROR, str(funding), ":2:")


def test_usage_error_exits_2() -> None:
    result = gridbot("--no-such-option")

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_levels_too_small_for_one_lot_are_reported_not_hidden(tmp_path: Path) -> None:
    config = tmp_path / "small.json"
    config.write_text(
        json.dumps(
            {
                "strategy": {"name": "static_grid", "quote_per_level": "10"},
                "backtest": {"generated": {"minutes": 300}},
            }
        )
    )
    result = gridbot("--config", config, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["skipped_levels"]["LOT_SIZE"] > 0
    assert "grid levels could not be placed: " in result.stderr
    assert "LOT_SIZE" in result.stderr
