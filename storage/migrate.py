"""Apply the alembic migrations (``dalsbot db upgrade``; also run at start-up).

Every start-up asks whether the schema is at the newest revision of every feature branch. That
question is answered without alembic (whose import, with mako and pygments, costs more than
the rest of the check): the revision ids are read from the scripts in ``migrations/versions``
(each sets ``revision, down_revision = "<id>", "<parent>"``) and compared with the rows of
``alembic_version``. Only when they differ is alembic imported and run.

On PostgreSQL the upgrade runs in one transaction under an advisory lock (one key per database
and schema), and the revisions are compared again once the lock is held: when several replicas
start together, one migrates and the others wait for it, find the schema at head and go on.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
VERSION_TABLE = "alembic_version"
# The advisory lock's key: this text and the schema, hashed by PostgreSQL (hashtext), so that
# replicas of one database and schema share it and other schemas (tests) do not wait.
LOCK_NAME = "dalsbot-migrate:"


def alembic_config(url: str) -> Config:
    """An alembic configuration for ``url`` without an ini file."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# The line every script of ours declares its ids with; another form is parsed as Python.
_REVISION_LINE = re.compile(
    r'^revision, down_revision = "([^"\\]+)", (?:None|"([^"\\]+)")[ \t]*(?:#.*)?$', re.MULTILINE
)
_EITHER_NAME = re.compile(r"^(?:down_)?revision\b", re.MULTILINE)


def _script_revisions(path: Path) -> tuple[str, tuple[str, ...]]:
    """The ``revision`` and ``down_revision`` ids one migration script declares."""
    text = path.read_text(encoding="utf-8")
    lines = _REVISION_LINE.findall(text)
    if len(lines) == 1 and len(_EITHER_NAME.findall(text)) == 1:
        # The usual line, and no other line starting with either name: no need to parse
        # the whole script (parsing them all was half of the start-up check).
        revision, down = lines[0]
        return revision, (down,) if down else ()
    found: dict[str, object] = {}
    for node in ast.parse(text, str(path)).body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        for target in targets:
            if isinstance(target, ast.Name):
                found[target.id] = value
            elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                for name, item in zip(target.elts, value.elts, strict=True):
                    if isinstance(name, ast.Name):
                        found[name.id] = item
    if "revision" not in found or "down_revision" not in found:
        raise ValueError(f"{path.name}: no revision, down_revision = ... assignment")
    revision = ast.literal_eval(found["revision"])  # type: ignore[arg-type]
    down = ast.literal_eval(found["down_revision"])  # type: ignore[arg-type]
    parents = () if down is None else (down,) if isinstance(down, str) else tuple(down)
    return str(revision), tuple(str(parent) for parent in parents)


@lru_cache(maxsize=4)
def script_heads(versions_dir: Path = VERSIONS_DIR) -> frozenset[str]:
    """The newest revision of every branch: the scripts' revisions no other script follows."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(versions_dir.glob("*.py")):
        revision, down = _script_revisions(path)
        revisions.add(revision)
        parents.update(down)
    return frozenset(revisions - parents)


def stored_revisions(connection: sa.Connection) -> frozenset[str]:
    """The revisions ``alembic_version`` holds (empty on a new database)."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(str(row[0]) for row in rows)


def at_head(database: Database) -> bool:
    """True if the database's schema is at the newest revision of every branch."""
    with database.engine.connect() as connection:
        return stored_revisions(connection) == script_heads()


def upgrade(database: Database) -> bool:
    """Bring the schema to the newest revision of every feature branch.

    Returns True if this call ran migrations, False if the schema was already at head
    (alembic is then not imported at all).
    """
    database.check()
    heads = script_heads()
    with database.engine.connect() as connection:
        if stored_revisions(connection) == heads:
            return False
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held until this transaction ends; a replica that waited here sees the other's
            # committed upgrade in the statement after it.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:name || current_schema()))"),
                {"name": LOCK_NAME},
            )
            if stored_revisions(connection) == heads:
                logger.info("Another process has migrated the database")
                return False
        _run_alembic(database.url, connection)
    logger.info("Migrated the database to %s", ", ".join(sorted(heads)))
    return True


def _run_alembic(url: str, connection: sa.Connection) -> None:
    from alembic import command

    config = alembic_config(url)
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
