"""The journal's tables, declared with SQLAlchemy Core (imperative mapping, no ORM classes).

Domain objects never learn about the database: :mod:`adapters.persistence.repository` maps
rows to :class:`~domain.orders.Order`, :class:`~domain.orders.Fill` and
:class:`~domain.events.FundingPaid` explicitly. This module describes the schema at the
Alembic head revision; the migrations create it and a test checks that both agree.

Conventions:
    * Money and quantities are :class:`~adapters.persistence.types.ExactDecimal` (exact
      text), so SQLite and PostgreSQL hold identical values.
    * Unix-millisecond timestamps and exchange ids are ``BIGINT``.
    * Surrogate keys are ``BIGINT`` on PostgreSQL but ``INTEGER`` on SQLite, where only an
      ``INTEGER PRIMARY KEY`` is an auto-incrementing rowid alias.
    * ``order_events`` is append-only: the repository never updates or deletes it, and its
      foreign key (``ON DELETE RESTRICT``) keeps its orders from being deleted either.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from adapters.persistence.types import ExactDecimal

#: Auto-incrementing surrogate key: BIGINT, except INTEGER (the rowid alias) on SQLite.
SurrogateKey = BigInteger().with_variant(Integer(), "sqlite")

# Deterministic constraint names keep migrations portable (SQLite cannot rename unnamed ones).
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

runs = Table(
    "runs",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column("started_at", BigInteger, nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("market", String(32), nullable=False),
    Column("config_source", Text, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("client_order_id", String(64), primary_key=True),
    # Creation order: open_orders() and order_ids() must list orders as they were placed,
    # and client ids do not sort that way once the counter gains a digit.
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(8), nullable=False),
    Column("order_type", String(32), nullable=False),
    Column("time_in_force", String(8), nullable=True),
    Column("quantity", ExactDecimal, nullable=False),
    Column("price", ExactDecimal, nullable=True),
    Column("stop_price", ExactDecimal, nullable=True),
    Column("reduce_only", Boolean, nullable=False),
    Column("tag", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("exchange_order_id", BigInteger, nullable=True),
    Column("executed_quantity", ExactDecimal, nullable=False),
    Column("executed_quote", ExactDecimal, nullable=False),
    Column("trade_ids", Text, nullable=False),  # JSON list of ints
    Column("fee_totals", Text, nullable=False),  # JSON [[asset, "amount"], ...]
    Column("updated_at", BigInteger, nullable=False),  # journal time of the last write, ms
    Index("ix_orders_status", "status"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column(
        "client_order_id",
        String(64),
        ForeignKey("orders.client_order_id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("kind", String(32), nullable=False),  # the event class name, e.g. "OrderFilled"
    Column("payload", Text, nullable=False),  # JSON object, every field as a string
    Column("recorded_seq", BigInteger, nullable=False),  # 1, 2, ... per order
    Column("recorded_at", BigInteger, nullable=False),
    UniqueConstraint("client_order_id", "recorded_seq"),
)

fills = Table(
    "fills",
    metadata,
    # The simulator's trade ids are per account, Binance's per symbol; one journal holds
    # one bot on one symbol, so the trade id alone is the idempotency key.
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "client_order_id",
        String(64),
        ForeignKey("orders.client_order_id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("side", String(8), nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("fee", ExactDecimal, nullable=False),
    Column("fee_asset", String(16), nullable=False),
    Column("liquidity", String(8), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    # Added by revision 0003: the commission's quote value at trade time, set when the fee
    # asset is neither base nor quote (BNB). NULL for older rows and wherever it is derivable.
    Column("fee_quote", ExactDecimal, nullable=True),
    # Added by revision 0004: the realized PnL the exchange booked (futures), NULL otherwise.
    Column("realized_pnl", ExactDecimal, nullable=True),
    Index("ix_fills_client_order_id", "client_order_id"),
)

funding_payments = Table(
    "funding_payments",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column("symbol", String(32), nullable=False),
    Column("funding_time", BigInteger, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("rate", ExactDecimal, nullable=False),
    Column("mark_price", ExactDecimal, nullable=False),
    Column("position_quantity", ExactDecimal, nullable=False),
    UniqueConstraint("symbol", "funding_time"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),  # JSON
)

reports = Table(
    "reports",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_reports_kind", "kind"),
)

# Added by revision 0002 ------------------------------------------------------------------

equity_curve = Table(
    "equity_curve",
    metadata,
    Column("timestamp", BigInteger, primary_key=True, autoincrement=False),
    Column("equity", ExactDecimal, nullable=False),
)

strategy_state = Table(
    "strategy_state",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Added by revision 0005 ------------------------------------------------------------------

signal_weight_updates = Table(
    "signal_weight_updates",
    metadata,
    Column("id", SurrogateKey, primary_key=True, autoincrement=True),
    Column("boundary", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("changed", Boolean, nullable=False),
    Column("weights", Text, nullable=False),  # JSON of SignalWeights
    Column("calibration", Text, nullable=True),  # JSON of ConfidenceCalibration
    Column("summary", Text, nullable=False),  # JSON: before / after, validation scores
    Column("recorded_at", BigInteger, nullable=False),
)
