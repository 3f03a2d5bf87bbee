"""Schema migrations, run from code: the journal upgrades its own database on start.

Alembic is configured here without an ``alembic.ini`` (the installed package carries its
migration scripts as package data), so a bot started from a wheel migrates the same way as a
checkout. Upgrades are additive and versioned; a journal written by an older release is
brought to the head revision in one transaction without losing rows.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at this package's migrations.

    Args:
        url: Database URL for command-line style use (``command.upgrade(cfg, ...)`` without
            an engine); :func:`upgrade_to_head` passes its connection instead.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats "%" specially (URL-encoded passwords).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to(engine: Engine, revision: str) -> None:
    """Upgrade the database to ``revision`` in one transaction (a no-op if already there)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema; safe to call on every start."""
    upgrade_to(engine, "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision these migrations define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head
