"""Backups (``dalsbot db backup`` / ``restore``).

SQLite: SQLite's online backup API (``sqlite3.Connection.backup``) copies the database in one
step from one read snapshot, so the bot may keep writing meanwhile (in WAL mode writers do not
wait for a reader, and the copy never sees half a transaction). The copy is checked
(``PRAGMA quick_check``; a backup is fully checked before it is restored), made a single
self-contained file (no ``-wal``), readable by its owner only, and moved into place only when
complete.

PostgreSQL: ``pg_dump --format=custom`` (consistent by itself: one transaction snapshot) and
``pg_restore`` into an empty database; the password goes through ``PGPASSWORD``, never the
command line. Without the client tools on PATH the commands are returned for the operator.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore cannot be done; the message is one line for the operator."""


@dataclass(frozen=True)
class Copied:
    """A finished SQLite copy: where, and its size in bytes."""

    path: Path
    size: int


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///`` URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up")
    return Path(database)


def _connect(path: Path, *, must_exist: bool) -> sqlite3.Connection:
    if must_exist and not path.is_file():
        raise BackupError(f"{path} does not exist")
    connection = sqlite3.connect(path, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


_SIDE_FILES = ("-wal", "-shm", "-journal")


def live_files(database: Path) -> list[Path]:
    """The SQLite database ``database`` and the files SQLite keeps beside it."""
    return [database] + [database.with_name(database.name + end) for end in _SIDE_FILES]


def is_live_file(path: Path, database: Path) -> bool:
    """Whether ``path`` is the database ``database`` or one of its side files (by resolved
    path, and by inode for a link to them)."""
    resolved = path.resolve()
    for live in live_files(database):
        if resolved == live.resolve():
            return True
        with contextlib.suppress(OSError):
            if path.exists() and live.exists() and os.path.samefile(path, live):
                return True
    return False


def backup_sqlite(source: Path, target: Path) -> Copied:
    """Copy the live database ``source`` to the new file ``target`` (replaced if present)."""
    if is_live_file(target, source):
        raise BackupError(f"{target} is the database itself; choose another file")
    source_db = _connect(source, must_exist=True)
    try:
        return _copy(source_db, target)
    finally:
        source_db.close()


def _copy(source_db: sqlite3.Connection, target: Path) -> Copied:
    """Copy the open database ``source_db`` to ``target``; on any failure nothing is left."""
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        partial_db = sqlite3.connect(partial)
        try:
            # pages=-1: everything in one step from one snapshot. A copy in several steps
            # starts over whenever the bot writes in between, and might never finish.
            source_db.backup(partial_db, pages=-1)
            partial_db.execute("PRAGMA journal_mode=DELETE")
            # quick_check: every page and record of the copy is sound (the full
            # integrity_check also compares each index with its table: ten times slower,
            # and run on the backup before a restore).
            _check_integrity(partial_db, partial, quick=True)
        finally:
            partial_db.close()
        os.chmod(partial, 0o600)  # personal data: readable by the bot's user only
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    finally:
        # A copy that failed is still a full copy of personal data: never left behind.
        partial.unlink(missing_ok=True)
    return Copied(target, target.stat().st_size)


def _check_integrity(connection: sqlite3.Connection, path: Path, *, quick: bool = False) -> None:
    check = "quick_check" if quick else "integrity_check"
    result = connection.execute(f"PRAGMA {check}").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result[0] if result else '?'}")


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def check_sqlite_backup(path: Path) -> None:
    """Raise :class:`BackupError` unless ``path`` is an intact Dalsbot SQLite database."""
    try:
        connection = _connect(path, must_exist=True)
        try:
            _check_integrity(connection, path)
            if "alembic_version" not in _tables(connection):
                raise BackupError(f"{path} is not a Dalsbot database (no migration record)")
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite database ({exc})") from None


def holds_data(path: Path) -> bool:
    """Whether the SQLite file ``path`` exists and has any table."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    connection = _connect(path, must_exist=True)
    try:
        return bool(_tables(connection))
    finally:
        connection.close()


def _lock(target: Path) -> sqlite3.Connection:
    """A connection to ``target`` holding SQLite's exclusive lock until it is closed.

    Refused at once (no waiting) while any other connection has the database open: in WAL
    mode, the bot's mode, every open connection holds a shared lock on the file, even idle
    (a database in the old rollback-journal mode is only seen while it is in a transaction).
    """
    connection = sqlite3.connect(target, timeout=0, isolation_level=None)
    try:
        # Exclusive locking mode: the lock taken by BEGIN EXCLUSIVE is kept after COMMIT,
        # so no one opens the database until the restore is done.
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        connection.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                f"{target} is open in another process (is the bot running?); stop it first"
            ) from None
        raise
    return connection


def restore_sqlite(backup: Path, target: Path, *, now: dt.datetime) -> Path | None:
    """Put the checked backup ``backup`` in place of the database ``target``.

    Refused while another process has ``target`` open (see :func:`_lock`), which is then
    kept locked until the restore is done. A ``target`` that holds data is first copied
    aside (returned: ``<name>.before-restore-<UTC time>``). The copy goes through the backup
    API into ``target`` itself, so it is never a mix of the old and the restored database.
    """
    if is_live_file(backup, target):
        raise BackupError(f"{backup} is the database itself; name a backup file")
    check_sqlite_backup(backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    target_db = _lock(target)
    try:
        kept = None
        if _tables(target_db):
            kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
            _copy(target_db, kept)
        source_db = _connect(backup, must_exist=True)
        try:
            source_db.backup(target_db, pages=-1)
        finally:
            source_db.close()
        _check_integrity(target_db, target, quick=True)
    finally:
        target_db.close()
    os.chmod(target, 0o600)
    return kept


# -- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgCommand:
    """A pg_dump or pg_restore call: its arguments and the environment it needs."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        """The command as an operator would type it (the password left to ``PGPASSWORD``)."""
        prefix = "PGPASSWORD=... " if "PGPASSWORD" in self.env else ""
        return prefix + shlex.join(self.argv)


def _connection_args(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """libpq options of a SQLAlchemy PostgreSQL URL: arguments, environment, schema."""
    parsed = make_url(url)
    args: list[str] = []
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    if not parsed.database:
        raise BackupError("the database URL names no database")
    args += ["--dbname", parsed.database]
    # The tests (and some deployments) put the bot in a schema: options=-csearch_path=NAME.
    schema = None
    options = parsed.query.get("options")
    for option in [options] if isinstance(options, str) else list(options or ()):
        text = unquote(option)
        if "search_path=" in text:
            schema = text.split("search_path=", 1)[1].split()[0].split(",")[0]
    return args, env, schema


def pg_dump_command(url: str, target: Path) -> PgCommand:
    """``pg_dump --format=custom`` of the database (or its schema) at ``url`` into ``target``."""
    args, env, schema = _connection_args(url)
    argv = ["pg_dump", "--format=custom", "--file", str(target), *args]
    if schema:
        argv += ["--schema", schema]
    return PgCommand(argv, env)


def pg_restore_command(url: str, backup: Path) -> PgCommand:
    """``pg_restore`` of ``backup`` into the (empty) database at ``url``."""
    args, env, _schema = _connection_args(url)
    argv = ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", *args]
    return PgCommand([*argv, str(backup)], env)


def check_pg_backup(path: Path) -> None:
    """Raise :class:`BackupError` unless ``path`` is a pg_dump custom-format archive."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    with path.open("rb") as archive:
        if archive.read(5) != b"PGDMP":
            raise BackupError(f"{path} is not a pg_dump archive (made with --format=custom)")


def have(tool: str) -> bool:
    """Whether ``tool`` (pg_dump, pg_restore) is on PATH."""
    return shutil.which(tool) is not None


def run_pg(command: PgCommand) -> None:
    """Run ``command``; its error output becomes a :class:`BackupError`."""
    result = subprocess.run(
        command.argv,
        env={**os.environ, **command.env},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {result.returncode}"
        raise BackupError(f"{command.argv[0]} failed: {reason}")


def pg_dump(url: str, target: Path) -> Copied:
    """Dump the database at ``url`` into ``target`` (replaced only when the dump is complete)."""
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        run_pg(pg_dump_command(url, partial))
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # a failed dump leaves no copy behind
    return Copied(target, target.stat().st_size)
