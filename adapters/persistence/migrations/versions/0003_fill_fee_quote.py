"""The commission's quote value on each fill.

Revision ID: 0003_fill_fee_quote
Revises: 0002_equity_and_strategy_state
Create Date: 2025-01-03

Adds the nullable ``fills.fee_quote`` (exact Decimal text): the commission's value in the
quote asset at trade time, recorded when the fee asset is neither base nor quote (BNB).
Purely additive: rows written at 0002 keep ``fee_quote`` NULL, which reads back as ``None``,
exactly what those fills meant.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_fill_fee_quote"
down_revision: str | Sequence[str] | None = "0002_equity_and_strategy_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``fills.fee_quote`` (nullable; existing rows get NULL)."""
    op.add_column("fills", sa.Column("fee_quote", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop ``fills.fee_quote`` (batch mode: older SQLite cannot drop a column in place)."""
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("fee_quote")
