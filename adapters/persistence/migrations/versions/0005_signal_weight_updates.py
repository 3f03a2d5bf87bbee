"""The history of the signal's weekly weight and calibration updates.

Revision ID: 0005_signal_weight_updates
Revises: 0004_fill_realized_pnl
Create Date: 2026-12-05

Adds ``signal_weight_updates``: one row per weekly re-examination of the signal weights
(accepted or not) with the weights and confidence calibration in use afterwards and the
validation scores. Purely additive; a journal without it simply has no learning history
and the bot continues from its ``signals.weights`` state record.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_signal_weight_updates"
down_revision: str | Sequence[str] | None = "0004_fill_realized_pnl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``signal_weight_updates``."""
    op.create_table(
        "signal_weight_updates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("boundary", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("weights", sa.Text(), nullable=False),
        sa.Column("calibration", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signal_weight_updates"),
    )


def downgrade() -> None:
    """Drop ``signal_weight_updates``."""
    op.drop_table("signal_weight_updates")
