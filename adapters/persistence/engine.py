"""Engines for the journal: SQLite tuned for crash safety, or PostgreSQL as given.

SQLite is the default store of a single bot. Three settings make it a write-ahead journal
rather than a cache: ``journal_mode=WAL`` (a crash mid-write never corrupts committed data
and readers such as a report tool do not block the bot), ``synchronous=FULL`` (a commit
has reached the disk when it returns, so an acknowledged intent survives a power cut) and
``foreign_keys=ON`` (SQLite ignores foreign keys unless asked, per connection).

The Python ``sqlite3`` driver also skips ``BEGIN`` before reads and DDL (its "legacy
transaction control"), which would let a migration half-apply and let a unit of work read
outside its transaction. The engine takes over transaction control instead, as
SQLAlchemy's SQLite documentation recommends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url

DATABASE_FILE = "gridbot.db"


def sqlite_url(data_dir: Path) -> str:
    """The journal URL for a data directory: ``sqlite:///<data_dir>/gridbot.db``."""
    return f"sqlite:///{Path(data_dir).expanduser().resolve() / DATABASE_FILE}"


def create_journal_engine(url: str) -> Engine:
    """Create the engine for a journal URL (``sqlite:///...`` or ``postgresql+psycopg://...``).

    For a SQLite file the parent directory is created, so a fresh data directory works on
    the first start. Every new SQLite connection gets the WAL / FULL / foreign-key pragmas.

    Args:
        url: A SQLAlchemy database URL.

    Returns:
        The engine; the caller disposes it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    _create_parent_directory(parsed)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _create_parent_directory(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Stop sqlite3 from issuing BEGIN/COMMIT on its own; _begin_sqlite_transaction does it.
    # PRAGMA journal_mode cannot run inside a transaction, which is why this happens here.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
