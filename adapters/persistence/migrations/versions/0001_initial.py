"""Initial journal: runs, orders, order events, fills, funding, snapshots, reports.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01

Columns are spelled out with plain SQL types (TEXT for exact decimals) instead of being
imported from ``schema.py``: a revision must keep describing the schema as it was when it
was written, whatever the current schema looks like.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT surrogate keys, except SQLite's INTEGER PRIMARY KEY (the auto-incrementing rowid).
SURROGATE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the initial tables."""
    op.create_table(
        "runs",
        sa.Column("id", SURROGATE, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("market", sa.String(32), nullable=False),
        sa.Column("config_source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(32), nullable=False),
        sa.Column("time_in_force", sa.String(8), nullable=True),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("price", sa.Text(), nullable=True),
        sa.Column("stop_price", sa.Text(), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("exchange_order_id", sa.BigInteger(), nullable=True),
        sa.Column("executed_quantity", sa.Text(), nullable=False),
        sa.Column("executed_quote", sa.Text(), nullable=False),
        sa.Column("trade_ids", sa.Text(), nullable=False),
        sa.Column("fee_totals", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_orders"),
        sa.UniqueConstraint("seq", name="uq_orders_seq"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "order_events",
        sa.Column("id", SURROGATE, autoincrement=True, nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_seq", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_events"),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name="fk_order_events_client_order_id_orders",
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint(
            "client_order_id",
            "recorded_seq",
            name="uq_order_events_client_order_id_recorded_seq",
        ),
    )
    op.create_table(
        "fills",
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("quantity", sa.Text(), nullable=False),
        sa.Column("price", sa.Text(), nullable=False),
        sa.Column("fee", sa.Text(), nullable=False),
        sa.Column("fee_asset", sa.String(16), nullable=False),
        sa.Column("liquidity", sa.String(8), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id", name="pk_fills"),
        sa.ForeignKeyConstraint(
            ["client_order_id"],
            ["orders.client_order_id"],
            name="fk_fills_client_order_id_orders",
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_fills_client_order_id", "fills", ["client_order_id"])
    op.create_table(
        "funding_payments",
        sa.Column("id", SURROGATE, autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("funding_time", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("rate", sa.Text(), nullable=False),
        sa.Column("mark_price", sa.Text(), nullable=False),
        sa.Column("position_quantity", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_funding_payments"),
        sa.UniqueConstraint(
            "symbol", "funding_time", name="uq_funding_payments_symbol_funding_time"
        ),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", SURROGATE, autoincrement=True, nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
    )
    op.create_table(
        "reports",
        sa.Column("id", SURROGATE, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_kind", "reports", ["kind"])


def downgrade() -> None:
    """Drop every initial table (children before parents)."""
    op.drop_index("ix_reports_kind", table_name="reports")
    op.drop_table("reports")
    op.drop_table("snapshots")
    op.drop_table("funding_payments")
    op.drop_index("ix_fills_client_order_id", table_name="fills")
    op.drop_table("fills")
    op.drop_table("order_events")
    op.drop_index("ix_orders_status", table_name="orders")
    op.drop_table("orders")
    op.drop_table("runs")
