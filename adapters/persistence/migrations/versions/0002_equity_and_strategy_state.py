"""Equity curve and strategy state tables.

Revision ID: 0002_equity_and_strategy_state
Revises: 0001_initial
Create Date: 2025-01-02

Purely additive, so a journal written at 0001 upgrades in place without touching its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_equity_and_strategy_state"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``equity_curve`` and ``strategy_state``."""
    op.create_table(
        "equity_curve",
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("equity", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("timestamp", name="pk_equity_curve"),
    )
    op.create_table(
        "strategy_state",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_strategy_state"),
    )


def downgrade() -> None:
    """Drop the two tables (the 0001 data is untouched)."""
    op.drop_table("strategy_state")
    op.drop_table("equity_curve")
