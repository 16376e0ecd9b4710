"""Alembic environment: runs on the connection handed in by storage.migrate, or the URL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from storage.schema import metadata

config = context.config


def run_migrations() -> None:
    """Run the migrations online (there is no offline SQL generation in this project)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
