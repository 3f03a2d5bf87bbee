"""One call from a URL to a ready journal: engine, schema migration, repository.

The composition root calls :func:`open_journal` on start. Migrating here, every time, means
a bot upgraded to a release with a newer schema never runs against an old database.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.persistence.engine import create_journal_engine
from adapters.persistence.migrate import upgrade_to_head
from adapters.persistence.repository import SqlJournal


def open_journal(url: str, now_ms: Callable[[], int] | None = None) -> SqlJournal:
    """Open (creating or upgrading as needed) the journal at ``url``.

    Args:
        url: Database URL, e.g. :func:`adapters.persistence.engine.sqlite_url` of the data
            directory, or ``postgresql+psycopg://user:password@host/db``.
        now_ms: Clock for the journal's bookkeeping timestamps (wall time by default).

    Returns:
        The journal; dispose ``journal.engine`` when the bot stops.
    """
    engine = create_journal_engine(url)
    try:
        upgrade_to_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlJournal(engine, now_ms)
