"""Plain-text, aligned tables for a terminal (no third-party table library).

Two shapes are enough for the operator's views: label/value pairs for a summary and
column tables for lists (open orders, balances). Numbers are right-aligned so decimal
strings of equal precision line up on the point.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Column gap.
GAP = "  "


def pairs(rows: Sequence[tuple[str, str]]) -> list[str]:
    """``label  value`` lines with the values in one column."""
    if not rows:
        return []
    width = max(len(label) for label, _ in rows)
    return [f"{label.ljust(width)}{GAP}{value}".rstrip() for label, value in rows]


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] | None = None
) -> list[str]:
    """A header line and one line per row, columns padded to their widest cell.

    Args:
        headers: Column titles.
        rows: Cells as text; each row has one cell per header.
        right: Per column, whether to right-align it (numbers); default all left.

    Raises:
        ValueError: A row's length differs from the headers'.
    """
    align = list(right) if right is not None else [False] * len(headers)
    if len(align) != len(headers):
        raise ValueError("one alignment per column")
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells for {len(headers)} columns")
    widths = [
        max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, align, strict=True)
        ]
        return GAP.join(parts).rstrip()

    return [line(headers), *(line(row) for row in rows)]
