"""Alembic environment for the journal, driven from code rather than an ``alembic.ini``.

:func:`adapters.persistence.migrate.upgrade_to_head` passes an open connection in
``config.attributes["connection"]`` so the upgrade runs inside the caller's transaction and
on the caller's engine (with its SQLite pragmas). Without one (the ``alembic`` command
line, given ``-x url=...`` or ``sqlalchemy.url``), a journal engine is created here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from adapters.persistence.engine import create_journal_engine
from adapters.persistence.schema import metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or set sqlalchemy.url")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead, so future
        # revisions written with op.batch_alter_table work on both backends.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the migration SQL as a script (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Apply migrations on the given connection, or on a new journal engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_journal_engine(_url())
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
