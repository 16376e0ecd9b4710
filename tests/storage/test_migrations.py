"""The hand-written migrations and the models describe the same schema, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import Database
from storage.schema import metadata


def test_models_match_migrations(db: Database) -> None:
    """After `upgrade heads`, autogenerate finds nothing to add, drop or change."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_is_idempotent(db: Database) -> None:
    """Running the migrations again (every start-up does) changes nothing."""
    from storage import migrate

    migrate.upgrade(db)
    migrate.upgrade(db)
