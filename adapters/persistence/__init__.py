"""Durable journal: orders, events, fills, funding and state in SQLite or PostgreSQL.

The only package allowed to import SQLAlchemy. Domain objects are mapped explicitly (no ORM
classes), the schema is versioned with Alembic, and every journal call commits before it
returns unless it runs inside a unit of work.
"""

from adapters.persistence.factory import open_journal
from adapters.persistence.repository import SqlJournal, SqlUnitOfWork

__all__ = ["SqlJournal", "SqlUnitOfWork", "open_journal"]
