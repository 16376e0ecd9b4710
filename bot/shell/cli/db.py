"""``dalsbot db upgrade``, ``dalsbot db backup FILE`` and ``dalsbot db restore FILE``.

Backup, SQLite: an online copy through SQLite's backup API, safe while the bot runs and
writes (storage/backup.py). PostgreSQL: ``pg_dump --format=custom`` when pg_dump is on PATH,
otherwise the command to run is printed (exit code 1: no backup was made).

Restore, SQLite: the backup is checked first (integrity, a Dalsbot database). ``--into PATH``
restores into a new file, never over one; without it the configured database is replaced,
which needs ``--force`` when it holds data and is refused while the bot (any process) has the
database open (stop the bot first; the old file is kept beside it as
``<name>.before-restore-<time>``). PostgreSQL: ``pg_restore`` into the configured database
only when it is empty (a new database); otherwise the commands are printed. Either way the
restored database is then migrated to the current schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.shell.cli import Subcommands

if TYPE_CHECKING:
    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``db upgrade``, ``db backup`` and ``db restore`` to ``subparsers``."""
    db = subparsers.add_parser("db", help="database: migrations, backup and restore")
    commands = db.add_subparsers(dest="db_command", required=True)
    commands.add_parser("upgrade", help="apply the migrations").set_defaults(handler=run_upgrade)
    save = commands.add_parser(
        "backup", help="copy the database to FILE (SQLite: while the bot runs; PostgreSQL: pg_dump)"
    )
    save.add_argument("file", type=Path, metavar="FILE")
    save.add_argument("--force", action="store_true", help="replace FILE if it exists")
    save.set_defaults(handler=run_backup)
    restore = commands.add_parser("restore", help="restore a backup made with 'db backup'")
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument(
        "--into", type=Path, metavar="PATH", help="SQLite: restore into this new file instead"
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="SQLite: replace the configured database although it holds data (stop the bot first)",
    )
    restore.set_defaults(handler=run_restore)


def run_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """Apply the migrations."""
    from storage.migrate import open_database

    open_database(settings.database_url).dispose()
    print("The database is up to date.")
    return 0


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} kB"


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the database to FILE."""
    from storage import backup

    target: Path = args.file
    if settings.is_sqlite:
        try:
            live = backup.sqlite_path(settings.database_url)
        except backup.BackupError as exc:
            print(f"No backup was made: {exc}", file=sys.stderr)
            return 1
        if backup.is_live_file(target, live):
            print(
                f"No backup was made: {target} is the configured database itself (or one of "
                "its files); choose another file",
                file=sys.stderr,
            )
            return 1
    if target.exists() and not args.force:
        print(f"{target} exists; choose a new name or add --force to replace it", file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        if settings.is_sqlite:
            copied = backup.backup_sqlite(backup.sqlite_path(settings.database_url), target)
        elif backup.have("pg_dump"):
            copied = backup.pg_dump(settings.database_url, target)
        else:
            _print_pg_recipe(settings, target, missing="pg_dump")
            return 1
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        print(f"No backup was made: {exc}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    print(f"Backed up the database to {copied.path} ({_size(copied.size)}, {took:.1f} s)")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore FILE (see the module documentation for the rules)."""
    from storage import backup

    try:
        if settings.is_sqlite:
            return _restore_sqlite(args, settings)
        return _restore_postgres(args.file, settings)
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        print(f"Not restored: {exc}", file=sys.stderr)
        return 1


def _restore_sqlite(args: argparse.Namespace, settings: Settings) -> int:
    from storage import backup
    from storage.migrate import open_database

    if args.into is not None:
        target: Path = args.into
        if target.exists():
            print(f"{target} exists: --into restores into a new file only", file=sys.stderr)
            return 1
    else:
        target = backup.sqlite_path(settings.database_url)
        if backup.holds_data(target) and not args.force:
            print(
                f"The database {target} holds data. Stop the bot, then add --force to replace "
                "it (the current file is kept beside it), or restore with --into PATH.",
                file=sys.stderr,
            )
            return 1
    kept = backup.restore_sqlite(args.file, target, now=dt.datetime.now(dt.UTC))
    open_database(f"sqlite:///{target}").dispose()
    if kept is not None:
        print(f"The database as it was is kept as {kept}")
    print(f"Restored {args.file} into {target}; migrated to the current schema.")
    if args.into is not None:
        print(f"To use it: DALSBOT_DATABASE_URL=sqlite:///{target.resolve()}")
    return 0


def _restore_postgres(file: Path, settings: Settings) -> int:
    import sqlalchemy as sa

    from storage import backup
    from storage.db import Database
    from storage.migrate import open_database

    backup.check_pg_backup(file)
    db = Database(settings.database_url)
    try:
        db.check()
        with db.engine.connect() as connection:
            used = sa.inspect(connection).has_table("alembic_version")
    finally:
        db.dispose()
    if used or not backup.have("pg_restore"):
        reason = "the database is not empty" if used else "pg_restore is not on PATH"
        print(f"Not restored: {reason}. Restore into a new, empty database:", file=sys.stderr)
        _print_pg_recipe(settings, file, missing=None, out=sys.stderr)
        return 1
    started = time.perf_counter()
    backup.run_pg(backup.pg_restore_command(settings.database_url, file))
    open_database(settings.database_url).dispose()
    took = time.perf_counter() - started
    print(f"Restored {file} ({took:.1f} s); migrated to the current schema.")
    return 0


def _print_pg_recipe(
    settings: Settings, file: Path, *, missing: str | None, out: TextIO | None = None
) -> None:
    from storage import backup

    dump = backup.pg_dump_command(settings.database_url, file)
    restore = backup.pg_restore_command(settings.database_url, file)
    lines = []
    if missing:
        lines.append(f"{missing} is not on PATH (install postgresql-client). The recipe:")
    lines += [
        f"  backup:  {dump.shell()}",
        "  restore: createdb NEW_DATABASE, then",
        f"           {restore.shell()}   (with --dbname NEW_DATABASE)",
        "           DALSBOT_DATABASE_URL=...NEW_DATABASE dalsbot db upgrade",
    ]
    print("\n".join(lines), file=out or sys.stdout)
