"""Apply the alembic migrations (``dalsbot db upgrade``; also run at start-up)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    """An alembic configuration for ``url`` without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision of every feature branch."""
    database.check()
    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def open_database(url: str) -> Database:
    """Open the database at ``url`` and apply the migrations (DatabaseError: one line)."""
    db = Database(url)
    upgrade(db)
    return db


@contextlib.contextmanager
def migrated(url: str) -> Iterator[Database]:
    """The migrated database at ``url`` for one piece of work, closed afterwards."""
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()
