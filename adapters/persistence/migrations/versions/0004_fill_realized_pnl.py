"""The realized PnL the exchange booked on each fill.

Revision ID: 0004_fill_realized_pnl
Revises: 0003_fill_fee_quote
Create Date: 2026-11-24

Adds the nullable ``fills.realized_pnl`` (exact Decimal text): on futures, the realized PnL
the exchange reported for the trade, which the account books instead of its own
average-cost figure (fills can arrive out of execution order). Purely additive: older rows
keep NULL, which reads back as ``None`` (the bot's own figure), exactly what they meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_fill_realized_pnl"
down_revision: str | Sequence[str] | None = "0003_fill_fee_quote"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``fills.realized_pnl`` (nullable; existing rows get NULL)."""
    op.add_column("fills", sa.Column("realized_pnl", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop ``fills.realized_pnl`` (batch mode: older SQLite cannot drop a column in place)."""
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("realized_pnl")
