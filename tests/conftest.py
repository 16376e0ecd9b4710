"""Shared fixtures: settings, databases (SQLite and, when configured, PostgreSQL), the Bot API
stand-in and the real running ``Application`` against it."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.context import DalsbotApp
from bot.i18n import LANGUAGES, t
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn
from storage import migrate
from storage.db import Database

ADMIN_ID = 900
POSTGRES_ENV = "DALSBOT_TEST_POSTGRES_URL"


class FakeClock:
    """A clock the test controls; starts at a fixed Stockholm morning."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        """Move the clock forward."""
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, moment: dt.datetime) -> None:
        """Jump to ``moment``."""
        self.now = moment


def postgres_url_for_schema(base: str, schema: str) -> str:
    """``base`` with its search_path set to ``schema`` (one fresh schema per test)."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def _postgres_schema_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL runs need {POSTGRES_ENV} (the CI script sets it)")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_url_for_schema(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each engine."""
    database = Database(db_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database (for end-to-end tests, which test the chat, not the engine)."""
    database = Database(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings built explicitly, ignoring the environment's .env file."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path,
        admins=(ADMIN_ID,),  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
        pulse_secret="test-secret-for-hmac",
    )


@pytest.fixture(autouse=True)
def _private_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generated pulse secret goes to the test's own folder, never the user's config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def clock() -> FakeClock:
    """The controllable clock the bot uses in end-to-end tests."""
    return FakeClock()


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    """The local Bot API stand-in, served over HTTP on 127.0.0.1. After the test, every
    message the bot sent or edited must fit a phone (see :func:`too_long_for_a_phone`)."""
    server = BotApiStandIn()
    await server.start()
    yield server
    await server.stop()
    long_ones = too_long_for_a_phone(server)
    assert not long_ones, f"messages longer than {PHONE_LIMIT} characters: {long_ones}"


PHONE_LIMIT = 1200
"""Characters a message may show before a tap (an expandable quote counts collapsed)."""


def too_long_for_a_phone(server: BotApiStandIn) -> list[str]:
    """The start of every message the bot sent or edited that shows more than
    :data:`PHONE_LIMIT` characters before a tap, except an article the person chose to
    expand: it carries the button that shortens it again (or a test marked it with
    ``standin.allow_long(event)``)."""
    shorten = {t("ask.less_button", lang) for lang in LANGUAGES}
    found = []
    for events in server.events.values():
        for event in events:
            if event.kind not in ("send", "edit"):
                continue
            shown = event.visible_text
            key = (int(event.message["chat"]["id"]), int(event.message["message_id"]))
            expanded = key in server.long_allowed or shorten & {b["text"] for b in event.buttons}
            if len(shown) > PHONE_LIMIT and not expanded:
                labels = [b["text"] for b in event.buttons]
                found.append(f"{len(shown)} ({event.kind}, buttons {labels}): {shown[:60]!r}")
    return found


@pytest.fixture
async def app(
    settings: Settings, sqlite_db: Database, standin: BotApiStandIn, clock: FakeClock
) -> AsyncIterator[DalsbotApp]:
    """The real Application, polling the stand-in."""
    application = build_application(settings, db=sqlite_db, api_root=standin.url, clock=clock)
    async with running(application, poll_timeout=2):
        yield application
