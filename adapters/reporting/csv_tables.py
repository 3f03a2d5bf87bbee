"""CSV tables written in one go and renamed into place.

A research run writes tables of 100,000+ rows; a run interrupted half-way must not leave a
truncated CSV that looks complete, so each table goes to a temporary file in the same
directory first and is renamed over the target only once it is fully written.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["format_cell", "write_csv"]


def format_cell(value: object, float_digits: int | None) -> object:
    """A cell as the CSV module should see it.

    Floats are written with ``float_digits`` significant digits (None: Python's shortest
    round-trip repr); NaN and infinities become an empty cell, the usual spelling of
    "missing" for spreadsheets and pandas alike. Booleans become 1 / 0.
    """
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if float_digits is None:
            return repr(value)
        return f"{value:.{float_digits}g}"
    return value


def write_csv(
    path: Path | str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    float_digits: int | None = None,
) -> int:
    """Write ``header`` and ``rows`` to ``path`` atomically.

    Args:
        path: Target file; its directory must exist.
        header: Column names.
        rows: One sequence per row, as long as ``header``.
        float_digits: Significant digits for float cells (None: exact repr).

    Returns:
        Number of data rows written.

    Raises:
        OSError: If the directory is not writable.
        ValueError: If a row's length differs from the header's.
    """
    target = Path(path)
    width = len(header)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            for row in rows:
                if len(row) != width:
                    raise ValueError(f"row {count + 1} has {len(row)} cells, header has {width}")
                writer.writerow([format_cell(v, float_digits) for v in row])
                count += 1
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count
