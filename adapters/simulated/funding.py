"""Funding rates for the simulated USD-M exchange: a constant or Binance's history file."""

from __future__ import annotations

import bisect
import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

FUNDING_INTERVAL_MS = 8 * 60 * 60 * 1000


class FundingFileError(ValueError):
    """The funding-rate file is malformed (the message names the file and line)."""


class FundingSchedule:
    """Funding settlements every 8 h (00:00, 08:00, 16:00 UTC) at a known rate.

    Either a constant rate, or the rates from a file in the layout of
    ``shared/data/funding/<SYMBOL>.csv`` (``symbol,fundingTime,fundingRate,...``). Between two
    recorded settlements the most recent earlier rate applies, so a file with holes never
    invents a zero rate. Before the file's first settlement the constant rate applies.
    """

    def __init__(self, constant_rate: Decimal = Decimal("0.0001")) -> None:
        self._constant = constant_rate
        self._times: list[int] = []
        self._rates: list[Decimal] = []

    @classmethod
    def from_csv(cls, path: Path | str) -> FundingSchedule:
        """Load a Binance funding history CSV.

        Raises:
            FundingFileError: Missing columns, unparsable values or unordered times.
        """
        schedule = cls()
        p = Path(path)
        try:
            with p.open(newline="") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"fundingTime", "fundingRate"} <= set(
                    reader.fieldnames
                ):
                    raise FundingFileError(f"{p}: needs columns fundingTime and fundingRate")
                for line, row in enumerate(reader, start=2):
                    try:
                        t = int(row["fundingTime"])
                        rate = Decimal(row["fundingRate"])
                    except (ValueError, TypeError, InvalidOperation) as exc:
                        raise FundingFileError(f"{p}:{line}: bad funding row: {exc}") from exc
                    if schedule._times and t <= schedule._times[-1]:
                        raise FundingFileError(f"{p}:{line}: fundingTime not increasing")
                    schedule._times.append(t)
                    schedule._rates.append(rate)
        except OSError as exc:
            raise FundingFileError(f"{p}: cannot read funding file: {exc}") from exc
        if not schedule._times:
            raise FundingFileError(f"{p}: no funding rows")
        return schedule

    def rate_at(self, funding_time: int) -> Decimal:
        """The rate settled at ``funding_time`` (the latest recorded one at or before it)."""
        if not self._times:
            return self._constant
        i = bisect.bisect_right(self._times, funding_time) - 1
        return self._constant if i < 0 else self._rates[i]

    @staticmethod
    def next_settlement(after_ms: int) -> int:
        """The first settlement time strictly after ``after_ms``."""
        return (after_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
