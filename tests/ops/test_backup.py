"""``dalsbot db backup`` and ``dalsbot db restore``: SQLite while the bot writes, PostgreSQL
through pg_dump and pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.shell.cli.main import main
from storage import backup
from storage.db import Database
from storage.migrate import at_head, open_database
from storage.people.models import Staff
from tests.conftest import POSTGRES_ENV, postgres_url_for_schema
from tests.helpers import new_staff


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI reads its settings from the environment: a fresh SQLite database file."""
    path = tmp_path / "dalsbot.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DALSBOT_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("DALSBOT_TELEGRAM_TOKEN", raising=False)
    return path


def telegram_ids(url: str) -> list[int]:
    """Every staff member's Telegram id, in order."""
    db = Database(url)
    try:
        return db.call(
            lambda s: list(s.exec(select(Staff.telegram_id).order_by(col(Staff.telegram_id))))
        )
    finally:
        db.dispose()


def add_people(db: Database, first: int, count: int) -> None:
    """Staff with Telegram ids ``first`` .. ``first + count - 1``, in one transaction."""

    def add(session: Session) -> None:
        for telegram_id in range(first, first + count):
            new_staff(session, telegram_id, f"Person {telegram_id}")

    db.call(add)


class Writer(threading.Thread):
    """The bot writing while the backup runs: one person per transaction, ids in order."""

    def __init__(self, db: Database, first: int) -> None:
        super().__init__(daemon=True)
        self.db, self.next_id = db, first
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.db.call(lambda s, t=self.next_id: new_staff(s, t, f"Person {t}"))
                self.next_id += 1
        except BaseException as exc:
            self.error = exc

    def wait_for(self, rows: int) -> None:
        """Until ``rows`` more people have been written."""
        target = self.next_id + rows
        while self.next_id < target and self.error is None:
            self.stop.wait(0.005)


def test_sqlite_backup_taken_while_the_bot_writes_restores_intact_and_at_head(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writes go on before, during and after the backup without an error; the copy is one
    moment of the database (every person up to some id, none missing), passes SQLite's
    integrity check, is readable by its owner only, and restores into a new file that is
    migrated to head."""
    url = f"sqlite:///{database_file}"
    db = open_database(url)
    add_people(db, 1, 5000)
    writer = Writer(db, 5001)
    writer.start()
    try:
        writer.wait_for(50)
        copy = tmp_path / "backups" / "dalsbot-2026-11-26.sqlite3"
        copy.parent.mkdir()
        assert main(["db", "backup", str(copy)]) == 0
        writer.wait_for(50)
    finally:
        writer.stop.set()
        writer.join(10)
        db.dispose()
    assert writer.error is None
    assert f"Backed up the database to {copy}" in capsys.readouterr().out
    assert copy.stat().st_mode & 0o777 == 0o600
    assert not copy.with_name(f"{copy.name}-wal").exists()
    with sqlite3.connect(copy) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    written = telegram_ids(url)
    restored_file = tmp_path / "restored" / "dalsbot.sqlite3"
    assert main(["db", "restore", str(copy), "--into", str(restored_file)]) == 0
    restored = telegram_ids(f"sqlite:///{restored_file}")
    # One moment: people 1..n, nothing missing; some written during the copy, not all.
    assert restored == list(range(1, len(restored) + 1))
    assert 5050 <= len(restored) < len(written)
    assert at_head(Database(f"sqlite:///{restored_file}"))
    out = capsys.readouterr().out
    assert f"Restored {copy} into {restored_file}; migrated to the current schema." in out


def test_restore_over_the_configured_database_needs_force_and_keeps_the_old_file(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Restoring over a database that holds data is refused without --force; with it, the
    database is the backup again and the replaced one is kept beside it."""
    url = f"sqlite:///{database_file}"
    db = open_database(url)
    add_people(db, 1, 3)
    copy = tmp_path / "backup.sqlite3"
    assert main(["db", "backup", str(copy)]) == 0
    add_people(db, 4, 2)  # written after the backup: lost by the restore, kept in the old file
    db.dispose()
    assert main(["db", "restore", str(copy)]) == 1
    assert "holds data" in capsys.readouterr().err
    assert telegram_ids(url) == [1, 2, 3, 4, 5]
    assert main(["db", "restore", str(copy), "--force"]) == 0
    assert telegram_ids(url) == [1, 2, 3]
    (kept,) = tmp_path.glob("dalsbot.sqlite3.before-restore-*")
    assert telegram_ids(f"sqlite:///{kept}") == [1, 2, 3, 4, 5]
    assert f"kept as {kept}" in capsys.readouterr().out


def test_restore_over_a_database_the_bot_has_open_is_refused(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While the bot (here: an open, idle connection in WAL mode) has the database open,
    ``restore --force`` is refused at once, the database is untouched and nothing is kept
    aside; the backup file being the database itself is refused too; once the bot has
    stopped, the same restore works."""
    url = f"sqlite:///{database_file}"
    db = open_database(url)
    add_people(db, 1, 2)
    copy = tmp_path / "backup.sqlite3"
    assert main(["db", "backup", str(copy)]) == 0
    add_people(db, 3, 1)  # the bot's pooled connection stays open, idle
    capsys.readouterr()
    try:
        assert main(["db", "restore", str(copy), "--force"]) == 1
        err = capsys.readouterr().err
        assert "is open in another process (is the bot running?)" in err.splitlines()[-1]
        assert main(["db", "restore", str(database_file), "--force"]) == 1
        assert "is the database itself" in capsys.readouterr().err
        add_people(db, 4, 1)  # the bot still writes
    finally:
        db.dispose()
    assert not list(tmp_path.glob("dalsbot.sqlite3.before-restore-*"))
    assert telegram_ids(url) == [1, 2, 3, 4]
    assert main(["db", "restore", str(copy), "--force"]) == 0
    assert telegram_ids(url) == [1, 2]


def test_backup_never_overwrites_a_file_and_restore_checks_what_it_is_given(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing backup file is kept unless --force; a file that is not a Dalsbot
    database is refused and the database is untouched; --into never overwrites."""
    open_database(f"sqlite:///{database_file}").dispose()
    existing = tmp_path / "old.sqlite3"
    existing.write_bytes(b"an older backup")
    assert main(["db", "backup", str(existing)]) == 1
    assert "add --force" in capsys.readouterr().err
    assert existing.read_bytes() == b"an older backup"
    assert main(["db", "backup", str(existing), "--force"]) == 0
    assert main(["db", "backup", str(tmp_path / "no-such-folder" / "b.sqlite3")]) == 1
    assert "No backup was made: unable to open database file" in capsys.readouterr().err
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("hej")
    assert main(["db", "restore", str(not_a_database), "--force"]) == 1
    assert "is not an SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    assert main(["db", "restore", str(other), "--into", str(tmp_path / "new.sqlite3")]) == 1
    assert "is not a Dalsbot database" in capsys.readouterr().err
    assert main(["db", "restore", str(existing), "--into", str(other)]) == 1
    assert "new file only" in capsys.readouterr().err
    assert at_head(Database(f"sqlite:///{database_file}"))


def test_backup_refuses_to_write_over_the_configured_database_or_its_files(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FILE naming the configured database, its -wal or -shm file, or a link to the
    database is refused (one line, exit code 1) even with --force; the running bot's open
    connection keeps writing and nothing is lost."""
    url = f"sqlite:///{database_file}"
    db = open_database(url)
    add_people(db, 1, 3)
    link = tmp_path / "link.sqlite3"
    link.symlink_to(database_file)
    try:
        for file in [
            database_file,
            Path("dalsbot.sqlite3"),  # relative to the working directory
            tmp_path / "dalsbot.sqlite3-wal",
            tmp_path / "dalsbot.sqlite3-shm",
            link,
        ]:
            for force in ([], ["--force"]):
                assert main(["db", "backup", str(file), *force]) == 1
                err = capsys.readouterr().err
                assert err.count("No backup was made") == 1
                assert "is the configured database itself" in err.splitlines()[-1]
        add_people(db, 4, 1)  # the bot's open connection still writes
    finally:
        db.dispose()
    assert telegram_ids(url) == [1, 2, 3, 4]
    assert not list(tmp_path.glob(".*.partial"))


def test_a_failed_backup_leaves_no_partial_copy_behind(
    database_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup that fails after the copy was written (here: FILE is an existing folder, so
    the final rename fails) reports the failure and leaves no hidden copy of the data."""
    db = open_database(f"sqlite:///{database_file}")
    add_people(db, 1, 3)
    db.dispose()
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["db", "backup", str(folder), "--force"]) == 1
    assert "No backup was made" in capsys.readouterr().err
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert not (tmp_path / ".backups.partial").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_postgresql_without_pg_dump_prints_the_recipe_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pg_dump on PATH: no file, exit code 1, and the commands to run, the password left
    to PGPASSWORD."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "DALSBOT_DATABASE_URL", "postgresql+psycopg://dalsbot:hemligt@db.example:5433/dalsbot"
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    target = tmp_path / "dalsbot.dump"
    assert main(["db", "backup", str(target)]) == 1
    out = capsys.readouterr().out
    assert not target.exists()
    assert "pg_dump is not on PATH" in out
    assert (
        "PGPASSWORD=... pg_dump --format=custom --file "
        f"{target} --host db.example --port 5433 --username dalsbot --dbname dalsbot"
    ) in out
    assert "pg_restore --no-owner --exit-on-error --single-transaction" in out
    assert "hemligt" not in out


@pytest.fixture
def postgres_server() -> str:
    """The PostgreSQL server the suite may use (the test makes its own databases there)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL runs need {POSTGRES_ENV}")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are needed")
    return base.replace("postgresql://", "postgresql+psycopg://", 1)


def test_postgresql_pg_dump_and_pg_restore_into_a_fresh_database_keep_every_row(
    postgres_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``db backup`` runs pg_dump -Fc; ``db restore`` into a new, empty database runs
    pg_restore and leaves every row and the schema at head; a second restore into the now
    used database is refused with the recipe."""
    base = sa.engine.make_url(postgres_server)
    names = [f"dalsbot_ops_backup_{os.getpid()}", f"dalsbot_ops_restore_{os.getpid()}"]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")

    def url(name: str) -> str:
        return base.set(database=name).render_as_string(hide_password=False)

    with admin.connect() as connection:
        for name in names:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DALSBOT_DATABASE_URL", url(names[0]))
        source = open_database(url(names[0]))
        add_people(source, 1, 250)
        source.dispose()
        dump = tmp_path / "dalsbot.dump"
        assert main(["db", "backup", str(dump)]) == 0
        assert dump.read_bytes()[:5] == b"PGDMP"
        assert dump.stat().st_mode & 0o777 == 0o600
        monkeypatch.setenv("DALSBOT_DATABASE_URL", url(names[1]))
        assert main(["db", "restore", str(dump)]) == 0
        assert telegram_ids(url(names[1])) == list(range(1, 251))
        restored = Database(url(names[1]))
        assert at_head(restored)
        restored.dispose()
        capsys.readouterr()
        assert main(["db", "restore", str(dump)]) == 1
        err = capsys.readouterr().err
        assert "the database is not empty" in err and "pg_restore --no-owner" in err
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_pg_dump_of_a_bot_in_its_own_schema_dumps_that_schema() -> None:
    """A database URL that puts the bot in a schema (``options=-csearch_path=...``, as the
    PostgreSQL tests do) dumps that schema only; the password stays out of the arguments."""
    url = postgres_url_for_schema("postgresql+psycopg://bot:pw@127.0.0.1:5432/test", "t_abc123")
    command = backup.pg_dump_command(url, Path("out.dump"))
    assert command.argv == [
        "pg_dump", "--format=custom", "--file", "out.dump", "--host", "127.0.0.1",
        "--port", "5432", "--username", "bot", "--dbname", "test", "--schema", "t_abc123",
    ]  # fmt: skip
    assert command.env == {"PGPASSWORD": "pw"}
    assert "pw" not in command.shell()
