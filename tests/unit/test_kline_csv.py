"""Tests for the Binance kline CSV reader (adapters.market_data.kline_csv)."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.market_data.kline_csv import KlineCsvReader, KlineFormatError
from application.ports.market_data import CandleGap
from domain.candles import Candle

HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
T0 = 1_748_736_000_000  # 2025-06-01 00:00 UTC
MIN = 60_000


def row(
    open_time: int,
    o: str = "100.00",
    h: str = "101.00",
    lo: str = "99.00",
    c: str = "100.50",
    v: str = "1.50000000",
    close_time: int | None = None,
    extra: str = ",,,,",
) -> str:
    """One CSV line; ``extra`` holds the last five columns (quote_volume .. ignore)."""
    ct = open_time + 59_999 if close_time is None else close_time
    return f"{open_time},{o},{h},{lo},{c},{v},{ct},{extra}"


def write(path: Path, lines: Sequence[str], header: bool = True) -> Path:
    text = "\n".join([HEADER, *lines] if header else lines) + "\n"
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def series(start: int, count: int) -> list[str]:
    return [row(start + i * MIN) for i in range(count)]


# --------------------------------------------------------------------------- happy paths


def test_header_csv_ohlcv_only(tmp_path: Path) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2025-06.csv", series(T0, 3))
    reader = KlineCsvReader(path)
    candles = list(reader)
    assert reader.symbol == "BTCUSDT"
    assert [c.open_time for c in candles] == [T0, T0 + MIN, T0 + 2 * MIN]
    first = candles[0]
    assert isinstance(first, Candle)
    assert first.open == Decimal("100.00")
    assert str(first.volume) == "1.50000000"  # string-exact, no float round trip
    assert first.close_time == T0 + 59_999
    assert first.quote_volume is None
    assert first.trades is None
    assert first.taker_buy_base is None
    assert first.taker_buy_quote is None
    assert reader.gaps == []


def test_no_header_gz_all_columns(tmp_path: Path) -> None:
    extra = "107451.0165,208,5452.3,23199.1103,0"
    path = write(
        tmp_path / "FILUSDT-1m-2023-08.csv.gz",
        [row(T0, "4.255", "4.256", "4.252", "4.252", "25259.1", extra=extra), row(T0 + MIN)],
        header=False,
    )
    candles = list(KlineCsvReader(path))
    assert len(candles) == 2  # the first line is data, not mistaken for a header
    assert candles[0] == Candle(
        T0,
        Decimal("4.255"),
        Decimal("4.256"),
        Decimal("4.252"),
        Decimal("4.252"),
        Decimal("25259.1"),
        T0 + 59_999,
        Decimal("107451.0165"),
        208,
        Decimal("5452.3"),
        Decimal("23199.1103"),
    )


def test_microsecond_timestamps_are_converted_exactly(tmp_path: Path) -> None:
    us = T0 * 1000
    lines = [
        row(us, close_time=us + 59_999_999, extra="1,2,3,4,0"),
        row(us + MIN * 1000, close_time=us + MIN * 1000 + 59_999_999),
    ]
    candles = list(KlineCsvReader(write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", lines)))
    assert [(c.open_time, c.close_time) for c in candles] == [
        (T0, T0 + 59_999),
        (T0 + MIN, T0 + MIN + 59_999),
    ]


def test_ms_file_followed_by_us_file(tmp_path: Path) -> None:
    write(tmp_path / "BTCUSDT-1m-2024-12.csv", [row(T0 - MIN)])
    us = T0 * 1000
    write(tmp_path / "BTCUSDT-1m-2025-01.csv", [row(us, close_time=us + 59_999_999)])
    reader = KlineCsvReader(tmp_path)
    assert [c.open_time for c in reader] == [T0 - MIN, T0]
    assert reader.gaps == []


def test_directory_reads_files_sorted_by_name(tmp_path: Path) -> None:
    # Created out of order on purpose; non-kline files are ignored.
    write(tmp_path / "BTCUSDT-1m-2025-07.csv.gz", series(T0 + 2 * MIN, 2))
    write(tmp_path / "BTCUSDT-1m-2025-05.csv", series(T0, 1), header=False)
    write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", series(T0 + MIN, 1))
    (tmp_path / "README.md").write_text("not a kline file", encoding="utf-8")
    reader = KlineCsvReader(tmp_path)
    assert reader.symbol == "BTCUSDT"
    assert [c.open_time for c in reader] == [T0 + i * MIN for i in range(4)]
    assert reader.gaps == []


def test_sequence_of_files_and_directories(tmp_path: Path) -> None:
    first = write(tmp_path / "ETHUSDT-1m-2025-05.csv", series(T0, 2))
    sub = tmp_path / "more"
    sub.mkdir()
    write(sub / "ETHUSDT-1m-2025-06.csv", series(T0 + 2 * MIN, 2))
    reader = KlineCsvReader([str(first), sub])
    assert reader.symbol == "ETHUSDT"
    assert [c.open_time for c in reader] == [T0 + i * MIN for i in range(4)]


def test_explicit_symbol_overrides_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", series(T0, 1))
    assert KlineCsvReader(path, symbol="SOLUSDT").symbol == "SOLUSDT"


def test_symbol_inference_refuses_to_guess(tmp_path: Path) -> None:
    write(tmp_path / "BTCUSDT-1m-2025-05.csv", series(T0, 1))
    write(tmp_path / "ETHUSDT-1m-2025-05.csv", series(T0, 1))
    with pytest.raises(ValueError, match="mix symbols"):
        KlineCsvReader(tmp_path)
    lone = write(tmp_path / "klines.csv", series(T0, 1))
    with pytest.raises(ValueError, match="symbol="):
        KlineCsvReader(lone)


def test_bad_paths_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KlineCsvReader(tmp_path / "BTCUSDT-1m-2099-01.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no \*\.csv"):
        KlineCsvReader(empty)
    with pytest.raises(ValueError, match="at least one"):
        KlineCsvReader([])


def test_empty_and_header_only_files_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "BTCUSDT-1m-2025-05.csv").write_text("", encoding="utf-8")
    write(tmp_path / "BTCUSDT-1m-2025-06.csv", [])
    write(tmp_path / "BTCUSDT-1m-2025-07.csv", series(T0, 1))
    assert [c.open_time for c in KlineCsvReader(tmp_path)] == [T0]


def test_crlf_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2025-06.csv"
    text = "\ufeff" + "\r\n".join([row(T0), "", row(T0 + MIN)]) + "\r\n\r\n"
    path.write_bytes(text.encode("utf-8"))
    assert [c.open_time for c in KlineCsvReader(path)] == [T0, T0 + MIN]


def test_reader_streams_lazily(tmp_path: Path) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2025-06.csv", [row(T0), row(T0 + MIN), "garbage"])
    it = iter(KlineCsvReader(path))
    assert next(it).open_time == T0  # rows before the bad one are delivered first
    assert next(it).open_time == T0 + MIN
    with pytest.raises(KlineFormatError, match="line 4"):
        next(it)


# --------------------------------------------------------------------------- gaps


def test_gap_is_reported_and_not_filled(tmp_path: Path) -> None:
    lines = [row(T0), row(T0 + MIN), row(T0 + 5 * MIN), row(T0 + 6 * MIN)]
    reader = KlineCsvReader(write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", lines))
    candles = list(reader)
    assert [c.open_time for c in candles] == [T0, T0 + MIN, T0 + 5 * MIN, T0 + 6 * MIN]
    assert reader.gaps == [CandleGap("BTCUSDT-1m-2025-06.csv.gz", T0 + MIN, T0 + 5 * MIN)]
    assert reader.gaps[0].missing == 3


def test_gap_across_files_names_the_resuming_file(tmp_path: Path) -> None:
    write(tmp_path / "BTCUSDT-1m-2025-05.csv", series(T0, 2))
    write(tmp_path / "BTCUSDT-1m-2025-06.csv", series(T0 + 10 * MIN, 2))
    reader = KlineCsvReader(tmp_path)
    assert len(list(reader)) == 4
    assert reader.gaps == [CandleGap("BTCUSDT-1m-2025-06.csv", T0 + MIN, T0 + 10 * MIN)]


def test_gaps_are_reset_on_each_iteration(tmp_path: Path) -> None:
    reader = KlineCsvReader(write(tmp_path / "BTCUSDT-1m-x.csv", [row(T0), row(T0 + 3 * MIN)]))
    list(reader)
    list(reader)
    assert len(reader.gaps) == 1


# --------------------------------------------------------------------------- validation

# (case id, bad row placed on line 3 after header + one good row, field, message fragment)
BAD_ROWS: list[tuple[str, str, str | None, str]] = [
    ("too_few_columns", row(T0 + MIN, extra=",,,"), None, "expected 12 columns, found 11"),
    ("too_many_columns", row(T0 + MIN, extra=",,,,,"), None, "expected 12 columns, found 13"),
    ("open_time_not_int", row(T0 + MIN).replace(str(T0 + MIN), "17x", 1), "open_time", "'17x'"),
    ("close_time_not_int", f"{T0 + MIN},100,101,99,100.5,1,abc,,,,,", "close_time", "'abc'"),
    ("open_unparsable", row(T0 + MIN, o="abc"), "open", "'abc' is not a decimal"),
    ("high_unparsable", row(T0 + MIN, h="1e"), "high", "'1e' is not a decimal"),
    ("volume_unparsable", row(T0 + MIN, v="1.2.3"), "volume", "not a decimal"),
    ("close_nan", row(T0 + MIN, c="NaN"), "close", "not a finite number"),
    ("high_infinite", row(T0 + MIN, h="Infinity"), "high", "not a finite number"),
    ("quote_volume_unparsable", row(T0 + MIN, extra="zz,,,,"), "quote_volume", "'zz'"),
    ("count_unparsable", row(T0 + MIN, extra="1,2.5,,,"), "count", "'2.5'"),
    ("taker_buy_unparsable", row(T0 + MIN, extra=",,x,,"), "taker_buy_volume", "'x'"),
    ("low_zero", row(T0 + MIN, lo="0"), "low", "must be positive"),
    ("all_negative", row(T0 + MIN, "-1", "-1", "-1", "-1"), "open", "must be positive"),
    ("high_below_close", row(T0 + MIN, h="100.40"), "high", "below max(open, close, low)"),
    ("high_below_low", row(T0 + MIN, "100", "100", "100.5", "100"), "high", "below max"),
    ("low_above_open", row(T0 + MIN, lo="100.20"), "low", "above min(open, close)"),
    ("negative_volume", row(T0 + MIN, v="-0.1"), "volume", "must not be negative"),
    (
        "open_time_off_minute",
        row(T0 + MIN + 1),
        "open_time",
        f"{T0 + MIN + 1} is not on a minute boundary",
    ),
    ("close_time_wrong", row(T0 + MIN, close_time=T0 + MIN + 60_000), "close_time", "59999"),
    ("duplicate_open_time", row(T0), "open_time", f"duplicate open_time {T0}"),
    ("earlier_open_time", row(T0 - MIN), "open_time", "not monotonic"),
    (
        "us_open_time_not_whole_ms",
        row((T0 + MIN) * 1000 + 5, close_time=(T0 + MIN) * 1000 + 59_999_999),
        "open_time",
        "microsecond timestamp",
    ),
    (
        "us_close_time_not_last_us",
        row((T0 + MIN) * 1000, close_time=(T0 + MIN) * 1000 + 59_999_000),
        "close_time",
        "microsecond timestamp",
    ),
]


@pytest.mark.parametrize(
    ("bad", "field", "fragment"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS]
)
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_validation_errors_name_file_line_and_field(
    tmp_path: Path, suffix: str, bad: str, field: str | None, fragment: str
) -> None:
    path = write(tmp_path / f"BTCUSDT-1m-2025-06{suffix}", [row(T0), bad, row(T0 + 9 * MIN)])
    with pytest.raises(KlineFormatError) as info:
        list(KlineCsvReader(path))
    err = info.value
    message = str(err)
    assert isinstance(err, ValueError)
    assert f"BTCUSDT-1m-2025-06{suffix}" in message
    assert "line 3" in message
    assert err.file == str(path)
    assert err.line == 3
    assert err.field == field
    if field is not None:
        assert f"field {field}" in message
    assert fragment in message


def test_line_numbers_without_header_count_from_one(tmp_path: Path) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2025-06.csv", [row(T0), row(T0, v="-1")], header=False)
    with pytest.raises(KlineFormatError, match=r"BTCUSDT-1m-2025-06\.csv, line 2, field volume"):
        list(KlineCsvReader(path))


def test_non_monotonic_across_files(tmp_path: Path) -> None:
    write(tmp_path / "BTCUSDT-1m-2025-05.csv.gz", series(T0, 5))
    write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", series(T0 + 2 * MIN, 5))
    with pytest.raises(KlineFormatError) as info:
        list(KlineCsvReader(tmp_path))
    message = str(info.value)
    assert "BTCUSDT-1m-2025-06.csv.gz, line 2, field open_time" in message
    assert f"previous candle's open_time {T0 + 4 * MIN}" in message


def test_duplicate_across_files(tmp_path: Path) -> None:
    write(tmp_path / "BTCUSDT-1m-2025-05.csv", series(T0, 2))
    write(tmp_path / "BTCUSDT-1m-2025-06.csv", series(T0 + MIN, 2), header=False)
    with pytest.raises(KlineFormatError, match=r"2025-06\.csv, line 1, field open_time: duplicate"):
        list(KlineCsvReader(tmp_path))


def test_truncated_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", series(T0, 5_000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(KlineFormatError, match=r"BTCUSDT-1m-2025-06\.csv\.gz: truncated") as info:
        list(KlineCsvReader(path))
    assert info.value.line is None


def test_gzip_with_corrupt_trailer(tmp_path: Path) -> None:
    path = write(tmp_path / "BTCUSDT-1m-2025-06.csv.gz", series(T0, 10))
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # CRC32 of the trailer
    path.write_bytes(bytes(data))
    with pytest.raises(KlineFormatError, match=r"2025-06\.csv\.gz: truncated or corrupt"):
        list(KlineCsvReader(path))


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2025-06.csv.gz"
    path.write_text(HEADER + "\n" + row(T0) + "\n", encoding="utf-8")
    with pytest.raises(KlineFormatError, match=r"2025-06\.csv\.gz: truncated or corrupt"):
        list(KlineCsvReader(path))


# --------------------------------------------------------------------------- real data


def test_real_spot_btcusdt_june_2025(shared_data: Path) -> None:
    path = shared_data / "klines" / "spot" / "BTCUSDT" / "BTCUSDT-1m-2025-06.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        fh.readline()  # header
        first_row = fh.readline().rstrip("\n").split(",")
    reader = KlineCsvReader(path)
    count = 0
    first: Candle | None = None
    last: Candle | None = None
    for candle in reader:
        if first is None:
            first = candle
        last = candle
        count += 1
    assert count == 43_200
    assert reader.gaps == []
    assert reader.symbol == "BTCUSDT"
    assert first is not None and last is not None
    assert first.open_time == 1_748_736_000_000 == int(first_row[0])
    assert (first.open, first.high, first.low, first.close, first.volume) == tuple(
        Decimal(x) for x in first_row[1:6]
    )
    assert str(first.open) == first_row[1]
    assert first.quote_volume is None and first.trades is None
    assert last.open_time == 1_748_736_000_000 + (43_200 - 1) * MIN


def test_a_gzip_file_without_a_binance_name_or_suffix_is_read(tmp_path: Path) -> None:
    import gzip as _gzip

    from adapters.market_data.kline_csv import SymbolNotInferred

    row = "1704067200000,42000.1,42010.0,41990.0,42005.0,1.5,1704067259999,0,0,0,0,0\n"
    path = tmp_path / "market"
    path.write_bytes(_gzip.compress(row.encode()))
    with pytest.raises(SymbolNotInferred):
        KlineCsvReader(path)
    (candle,) = list(KlineCsvReader(path, symbol="BTCUSDT"))
    assert str(candle.close) == "42005.0"


# --------------------------------------------------------------------------- progress in bytes


def test_bytes_read_follows_the_files_as_stored(tmp_path: Path) -> None:
    """The candle count is unknown up front; the compressed bytes consumed measure progress."""
    first = write(tmp_path / "BTCUSDT-1m-2025-05.csv.gz", series(T0, 3))
    second = write(tmp_path / "BTCUSDT-1m-2025-06.csv", series(T0 + 3 * MIN, 2))
    reader = KlineCsvReader(tmp_path)
    sizes = (first.stat().st_size, second.stat().st_size)
    assert reader.size_bytes == sum(sizes)
    assert reader.bytes_read == 0

    seen = []
    for candle in reader:
        seen.append((candle.open_time, reader.bytes_read))

    # Inside the first file: some of it, never more; inside the second: all of the first.
    assert all(0 < read <= sizes[0] for _, read in seen[:3])
    assert all(sizes[0] < read <= sum(sizes) for _, read in seen[3:])
    assert reader.bytes_read == reader.size_bytes
    # A new iteration starts from zero again.
    next(iter(reader))
    assert 0 < reader.bytes_read <= sizes[0]
