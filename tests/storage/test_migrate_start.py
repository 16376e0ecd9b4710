"""Start-up's migration step: skipped without alembic at head, run once under a lock on
PostgreSQL when several processes start together."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from storage import migrate
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]

# One process's start-up migration step; prints whether it migrated and whether alembic was
# imported.
UPGRADE_SCRIPT = """
import sys
from storage.db import Database
from storage.migrate import upgrade
db = Database(sys.argv[1])
ran = upgrade(db)
db.dispose()
print("migrated" if ran else "skipped", "alembic" in sys.modules)
"""


def _upgrade_process(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", UPGRADE_SCRIPT, url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


def test_script_heads_are_alembics_heads() -> None:
    """The heads read from the scripts without alembic are the ones alembic computes."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.script_heads() == frozenset(scripts.get_heads())
    assert len(migrate.script_heads()) > 1  # feature branches: several heads


def test_new_database_migrates_then_start_up_skips_alembic(db_url: str) -> None:
    """A new database is migrated (alembic imported); the next start finds it at head and
    does not import alembic at all."""
    assert _finish(_upgrade_process(db_url)) == "migrated True"
    assert _finish(_upgrade_process(db_url)) == "skipped False"
    database = Database(db_url)
    try:
        assert migrate.at_head(database)
        with database.engine.connect() as connection:
            assert migrate.stored_revisions(connection) == migrate.script_heads()
    finally:
        database.dispose()


def test_a_missing_branch_head_is_migrated(db: Database) -> None:
    """A database one revision behind on one branch is not at head, and upgrade brings it
    there (so a new migration in a release is never skipped)."""
    from alembic import command

    head = max(migrate.script_heads())
    _, (parent,) = migrate._script_revisions(migrate.VERSIONS_DIR / f"{head}.py")
    config = migrate.alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, parent)
    assert not migrate.at_head(db)
    assert migrate.upgrade(db) is True
    assert migrate.at_head(db)
    assert migrate.upgrade(db) is False


def test_two_processes_starting_together_on_postgresql_migrate_once() -> None:
    """Two processes upgrade a new PostgreSQL schema at the same moment: both succeed, one
    runs the migrations, the other waits on the advisory lock and then finds the schema at
    head."""
    from tests.conftest import _postgres_schema_url

    urls = _postgres_schema_url()
    url = next(urls)
    holder = sa.create_engine(url)
    try:
        with holder.connect() as connection:
            # Hold the lock so that both processes are waiting on it before either may go on.
            connection.execute(
                sa.text("SELECT pg_advisory_lock(hashtext(:name || current_schema()))"),
                {"name": migrate.LOCK_NAME},
            )
            processes = [_upgrade_process(url), _upgrade_process(url)]
            _wait_for_waiters(connection, 2)
            connection.execute(
                sa.text("SELECT pg_advisory_unlock(hashtext(:name || current_schema()))"),
                {"name": migrate.LOCK_NAME},
            )
            connection.commit()
            outcomes = sorted(_finish(process) for process in processes)
        assert [outcome.split()[0] for outcome in outcomes] == ["migrated", "skipped"]
        database = Database(url)
        try:
            assert migrate.at_head(database)
        finally:
            database.dispose()
    finally:
        holder.dispose()
        with pytest.raises(StopIteration):
            next(urls)  # drops the schema


def _wait_for_waiters(connection: sa.Connection, count: int) -> None:
    """Until ``count`` other sessions wait for this schema's migration lock."""
    key = connection.execute(
        sa.text("SELECT hashtext(:name || current_schema())"), {"name": migrate.LOCK_NAME}
    ).scalar_one()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted "
                "AND d.datname = current_database() AND l.objid::bigint = :low"
            ),
            {"low": key & 0xFFFFFFFF},
        ).scalar_one()
        if waiting >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} processes waited for the migration lock")
