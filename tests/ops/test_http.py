"""/healthz and /metrics over HTTP, from the real Application polling the Bot API stand-in.

The metrics registry is one per process, so every check compares a scrape before with a scrape
after (other tests in the same process count too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from bot.context import DalsbotApp
from bot.metrics import Liveness
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.ops import DISPATCH_LATE, PROBE_TIMEOUT, OpsServer
from bot.shell.standin import BotApiStandIn, RateLimits
from handlers.plans.dispatcher import Dispatcher
from storage import migrate
from storage.db import Database
from tests.conftest import ADMIN_ID, POSTGRES_ENV, FakeClock
from tests.helpers import add_staff, eventually, new_staff
from tests.pulse.helpers import answer, open_pulse
from tests.reminders.helpers import make_plan

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ops_settings(settings: Settings) -> Settings:
    """The test settings with /healthz and /metrics on a free port."""
    return settings.model_copy(update={"ops_port": free_port()})


@pytest.fixture
async def ops_app(
    ops_settings: Settings, sqlite_db: Database, standin: BotApiStandIn, clock: FakeClock
) -> AsyncIterator[DalsbotApp]:
    """The real Application in polling mode, serving /healthz and /metrics."""
    application = build_application(ops_settings, db=sqlite_db, api_root=standin.url, clock=clock)
    async with running(application, poll_timeout=2):
        yield application


def ops_url(app: DalsbotApp) -> str:
    """Where the running bot serves /healthz and /metrics."""
    return app.bot_data.services.get(OpsServer).url


async def scrape(app: DalsbotApp) -> Samples:
    """GET /metrics, parsed with prometheus_client's own parser."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{ops_url(app)}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as for a counter not yet seen)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape_until(
    app: DalsbotApp, condition: Callable[[Samples], bool], seconds: float = 10.0
) -> Samples:
    """Scrape until ``condition`` holds (a histogram is observed after the reply is sent)."""
    for _ in range(int(seconds * 10)):
        samples = await scrape(app)
        if condition(samples):
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"the metrics never matched; last scrape: {samples}")


async def get_health(app: DalsbotApp) -> tuple[int, dict[str, object], str]:
    """GET /healthz: status, JSON body and raw text."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{ops_url(app)}/healthz")
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, response.json(), response.text


KINDS = ("message", "command", "callback_query", "edited", "other")


async def test_updates_are_counted_by_kind_and_their_handling_timed(
    ops_app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A command, two messages, a button press and an edit move exactly their own counters,
    and the handling-time histogram counts each of the five updates."""
    before = await scrape(ops_app)
    admin = standin.user(ADMIN_ID, "Ada")
    helped = await admin.ask("/help")
    await admin.tap(helped, 0)
    sent = await admin.send("Vad gör jag vid oro för ett barn?")
    await admin.next()
    await admin.send("Tack")
    await admin.next()
    await admin.edit(sent, "Vad gör jag vid oro?")
    await admin.next()  # the hint that an edit is not read as a new message
    expected = {"command": 1, "callback_query": 1, "message": 2, "edited": 1, "other": 0}

    def moved(samples: Samples) -> bool:
        return all(
            value(samples, "dalsbot_update_handling_seconds_count", kind=kind)
            - value(before, "dalsbot_update_handling_seconds_count", kind=kind)
            == count
            for kind, count in expected.items()
        )

    after = await scrape_until(ops_app, moved)
    for kind in KINDS:
        received = value(after, "dalsbot_updates_total", kind=kind) - value(
            before, "dalsbot_updates_total", kind=kind
        )
        assert received == expected[kind], kind
    took = value(after, "dalsbot_update_handling_seconds_sum", kind="command") - value(
        before, "dalsbot_update_handling_seconds_sum", kind="command"
    )
    assert 0 < took < 10
    slow = value(after, "dalsbot_update_handling_seconds_bucket", kind="command", le="30.0")
    assert (
        slow - value(before, "dalsbot_update_handling_seconds_bucket", kind="command", le="30.0")
        == 1
    )
    assert value(after, "dalsbot_database_up") == 1
    assert value(after, "dalsbot_seconds_since_last_update") < 10
    assert value(after, "process_cpu_seconds_total") > 0


async def test_reminders_due_sent_failed_and_429_are_reported(
    ops_app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three reminders due (queue age from the oldest), then one dispatcher run: two sent,
    one undeliverable (a blocked chat) and its notice to an admin sent, a 429 counted, and
    the queue empty again."""
    db = ops_app.bot_data.db
    # The dispatcher runs once, below, when the test says: the JobQueue's own wake-ups (every
    # 30 s, and any a busy machine delays) must not send the reminders before the first scrape.
    assert ops_app.job_queue is not None
    ops_app.job_queue.scheduler.pause()
    dispatcher = ops_app.bot_data.services.get(Dispatcher)
    # A run started before the pause (at start-up) ends first.
    await standin.wait_for(lambda: not dispatcher.busy)
    follow_up = dt.date(2026, 12, 9)

    def plans(session: sa.orm.Session) -> None:
        for number, telegram_id in enumerate((301, 302, 303)):
            person = new_staff(session, telegram_id, f"Person {number}")
            make_plan(
                session,
                reference=f"OPS-{number}",
                responsible=person,
                next_follow_up=follow_up,
                follow_up_time=dt.time(10, 0),
                place="Skolan",
                now=clock.now,
            )

    db.call(plans)
    for telegram_id in (301, 302, 303, ADMIN_ID):
        standin.user(telegram_id, "Person")
    standin.blocked.add(303)
    # Wednesday 2 December 08:00 in Stockholm: the 7-day reminders fell due at 07:00 UTC.
    clock.set(dt.datetime(2026, 12, 2, 7, 10, tzinfo=dt.UTC))
    before = await scrape(ops_app)
    assert value(before, "dalsbot_reminders_due") == 3
    assert value(before, "dalsbot_reminders_queue_age_seconds") == 600
    # One 429: a message to 301 just now uses that chat's one message a second.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else PTB warns about int retry_after
    standin.rate_limits = RateLimits()
    await ops_app.bot.send_message(301, "Hej!")
    await dispatcher.run_once()
    after = await scrape(ops_app)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Two reminders, and the notice to an admin that 303's responsible cannot be reached.
    assert moved("dalsbot_reminders_sent_total") == 3
    assert moved("dalsbot_reminders_failed_total", reason="undeliverable") == 1
    assert moved("dalsbot_reminders_failed_total", reason="network") == 0
    assert moved("dalsbot_telegram_rate_limited_total") == standin.rate_limits.rejected >= 1
    assert value(after, "dalsbot_reminders_due") == 0
    assert value(after, "dalsbot_reminders_queue_age_seconds") == 0
    assert value(after, "dalsbot_reminders_sending") == 0


async def test_pulse_answers_are_counted_without_a_label(
    ops_app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    """Two people answer a pulse: the counter moves by two and names no pulse."""
    db = ops_app.bot_data.db
    pulse = open_pulse(db, add_staff(db, 50, "Olle"), now=clock.now, label="Nätverket")
    before = await scrape(ops_app)
    for user_id in (121, 122):
        await answer(standin, user_id, pulse, [4, 4, 4, 4, 4])
    after = await scrape(ops_app)
    assert (
        value(after, "dalsbot_pulse_answers_total") - value(before, "dalsbot_pulse_answers_total")
        == 2
    )
    pulse_series = [key for key in after if key[0].startswith("dalsbot_pulse")]
    assert all(not labels for _name, labels in pulse_series)


async def test_healthz_is_200_with_no_personal_data(
    ops_app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Healthy: the process runs, the database answers, the dispatcher has been woken; the
    body holds checks, counts and seconds, nothing about a person."""
    admin = standin.user(ADMIN_ID, "Ada")
    await admin.ask("/help")
    woken = ops_app.bot_data.services.get(Dispatcher)
    assert woken is not None
    for _ in range(100):
        status, body, text = await get_health(ops_app)
        reminders = body["reminders"]
        assert isinstance(reminders, dict)
        if reminders["seconds_since_dispatch"] is not None:
            break
        await asyncio.sleep(0.05)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"] == {
        "process": "ok",
        "database": "ok",
        "updates": "ok",
        "reminders": "ok",
    }
    updates = body["updates"]
    assert isinstance(updates, dict) and updates["mode"] == "polling"
    assert 0 <= updates["seconds_since_last"] < 10
    assert reminders["seconds_since_dispatch"] is not None
    assert str(ADMIN_ID) not in text and "Ada" not in text


async def test_healthz_is_503_when_the_dispatcher_is_no_longer_woken(ops_app: DalsbotApp) -> None:
    """The JobQueue stopped (paused here) and its last wake-up of the reminder dispatcher
    more than 120 s ago: 503 with the reminders check late; the database is still fine."""
    assert ops_app.job_queue is not None
    liveness = ops_app.bot_data.services.get(Liveness)
    await eventually(lambda: liveness.last_dispatch is not None)
    ops_app.job_queue.scheduler.pause()
    try:
        assert liveness.last_dispatch is not None
        liveness.last_dispatch -= DISPATCH_LATE + 1
        status, body, _text = await get_health(ops_app)
    finally:
        ops_app.job_queue.scheduler.resume()
    assert status == 503
    assert body["checks"] == {
        "process": "ok",
        "database": "ok",
        "updates": "ok",
        "reminders": "late",
    }
    reminders = body["reminders"]
    assert isinstance(reminders, dict) and reminders["seconds_since_dispatch"] > DISPATCH_LATE


async def test_healthz_is_503_when_polling_has_stopped(ops_app: DalsbotApp) -> None:
    """The updater stopped fetching (as after an invalid token): 503, updates not polling."""
    assert ops_app.updater is not None
    await ops_app.updater.stop()
    status, body, _text = await get_health(ops_app)
    assert status == 503
    checks = body["checks"]
    assert isinstance(checks, dict) and checks["updates"] == "not polling"
    assert checks["database"] == "ok"


async def test_healthz_is_503_when_the_sqlite_file_is_gone(
    ops_app: DalsbotApp, sqlite_db: Database, tmp_path: Path
) -> None:
    """The database file deleted under the running bot (a new empty file has no tables):
    /healthz says 503 and which check failed; /metrics still answers, database down."""
    status, _body, _text = await get_health(ops_app)
    assert status == 200
    sqlite_db.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"e2e.sqlite3{suffix}").unlink(missing_ok=True)
    status, body, _text = await get_health(ops_app)
    assert status == 503 and body["status"] == "unhealthy"
    checks = body["checks"]
    assert isinstance(checks, dict) and checks["database"] == "unreachable"
    assert checks["process"] == "ok"
    samples = await scrape(ops_app)
    assert value(samples, "dalsbot_database_up") == 0


@pytest.fixture
def postgres_database() -> str:
    """The PostgreSQL server's URL (the test makes a database of its own there)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL runs need {POSTGRES_ENV}")
    return base.replace("postgresql://", "postgresql+psycopg://", 1)


async def test_healthz_is_503_when_postgresql_loses_the_database(
    postgres_database: str,
    settings: Settings,
    standin: BotApiStandIn,
    clock: FakeClock,
) -> None:
    """On PostgreSQL: healthy; a database that hangs (the probed table locked by another
    session) is 503 'timeout' after the 2 s time-out, not a hanging check, and healthy again
    once the lock is gone; the bot's database dropped under it is 503 'unreachable'."""
    base = sa.engine.make_url(postgres_database)
    name = f"dalsbot_ops_health_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = Database(base.set(database=name).render_as_string(hide_password=False))
    try:
        migrate.upgrade(db)
        ops = settings.model_copy(update={"ops_port": free_port(), "database_url": db.url})
        application = build_application(ops, db=db, api_root=standin.url, clock=clock)
        async with running(application, poll_timeout=2):
            status, body, _text = await get_health(application)
            assert status == 200, body
            with db.engine.connect() as locker:
                locker.execute(sa.text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
                started = time.perf_counter()
                status, body, _text = await get_health(application)
                waited = time.perf_counter() - started
                locker.rollback()
            assert status == 503 and body["checks"] == {
                "process": "ok",
                "database": "timeout",
                "updates": "ok",
                "reminders": "ok",
            }
            assert PROBE_TIMEOUT <= waited < PROBE_TIMEOUT + 1.5
            for _ in range(50):  # the probe that waited for the lock finishes first
                status, body, _text = await get_health(application)
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200, body
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            status, body, _text = await get_health(application)
            assert status == 503
            checks = body["checks"]
            assert isinstance(checks, dict) and checks["database"] == "unreachable"
    finally:
        db.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
