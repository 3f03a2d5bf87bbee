"""The series an evaluation covers: which files, which market, which funding, which segments.

A data path is a kline file, a directory of kline files (one series), or a directory of such
directories (``shared/data/klines``: every series below it). The market is read from the
path (a ``spot`` or ``futures``/``futures-um`` component), else the config's; the symbol
from the file names. Funding rates come from ``<funding dir>/<SYMBOL>.csv`` when present
(futures only), else the config's constant rate, and the evaluation says which.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.market_data.kline_csv import KlineCsvReader
from application.walk_forward import Segment, segments
from domain.enums import MarketType

_KLINE_SUFFIXES = (".csv", ".csv.gz")


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """One instrument's candles on one market.

    Attributes:
        key: Display name and identity (``futures-um/BTCUSDT``).
        market: The market traded.
        symbol: Instrument symbol.
        files: Kline files in time order.
        funding_file: Funding-rate history for a futures series, or None.
    """

    key: str
    market: MarketType
    symbol: str
    files: tuple[str, ...]
    funding_file: str | None


@dataclass(frozen=True, slots=True)
class ScannedSeries:
    """A series and its continuous segments (from a full read of the files)."""

    spec: SeriesSpec
    candles: int
    segments: tuple[Segment, ...]
    missing: int


def _kline_files(directory: Path) -> list[Path]:
    return sorted(
        (p for p in directory.iterdir() if p.is_file() and p.name.endswith(_KLINE_SUFFIXES)),
        key=lambda p: p.name,
    )


def _market_of(path: Path, default: MarketType) -> MarketType:
    parts = [p.lower() for p in path.resolve().parts]
    if any(p.startswith("futures") or p in ("um", "usdm") for p in parts):
        return MarketType.USDM_FUTURES
    if "spot" in parts:
        return MarketType.SPOT
    return default


def _series_dirs(root: Path) -> Iterable[tuple[Path, list[Path]]]:
    files = _kline_files(root)
    if files:
        yield root, files
        return
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        yield from _series_dirs(child)


def discover(
    paths: Sequence[str], default_market: MarketType, funding_dir: str | None
) -> list[SeriesSpec]:
    """Every series under ``paths``, in a stable order.

    Raises:
        FileNotFoundError: A path does not exist.
        ValueError: A path holds no kline file, or one series mixes symbols.
    """
    found: list[SeriesSpec] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"kline path does not exist: {path}")
        groups = [(path.parent, [path])] if path.is_file() else list(_series_dirs(path))
        if not groups:
            raise ValueError(f"no *.csv or *.csv.gz kline files under {path}")
        for directory, files in groups:
            symbol = KlineCsvReader(files).symbol
            market = _market_of(directory, default_market)
            funding = None
            if market.is_futures and funding_dir is not None:
                candidate = Path(funding_dir) / f"{symbol}.csv"
                funding = str(candidate) if candidate.is_file() else None
            prefix = "spot" if market is MarketType.SPOT else "futures-um"
            key = f"{prefix}/{symbol}"
            if path.is_file():
                key = f"{key}/{path.name}"
            found.append(SeriesSpec(key, market, symbol, tuple(str(f) for f in files), funding))
    keys = [s.key for s in found]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"series given twice: {', '.join(duplicates)}")
    return found


def default_funding_dir(paths: Sequence[str]) -> str | None:
    """``<parent of klines>/funding`` when a data path lies under a ``klines`` directory."""
    for raw in paths:
        resolved = Path(raw).resolve()
        for parent in (resolved, *resolved.parents):
            if parent.name == "klines" and (parent.parent / "funding").is_dir():
                return str(parent.parent / "funding")
    return None


def scan(spec: SeriesSpec) -> ScannedSeries:
    """Read the series once (validating every row) to find its segments.

    Raises:
        KlineFormatError: A row is malformed.
        ValueError: The files hold no candle.
    """
    reader = KlineCsvReader(spec.files, symbol=spec.symbol)
    first: int | None = None
    last = 0
    count = 0
    for candle in reader:
        if first is None:
            first = candle.open_time
        last = candle.open_time
        count += 1
    if first is None:
        raise ValueError(f"{spec.key}: no candles in {spec.files[0]}")
    gaps = [(g.after_open_time, g.resumes_at) for g in reader.gaps]
    missing = sum(g.missing for g in reader.gaps)
    return ScannedSeries(spec, count, tuple(segments(first, last, gaps)), missing)
