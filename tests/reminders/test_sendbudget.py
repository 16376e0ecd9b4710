"""The send budget shared by every process on one bot token, and the claim's priority order."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, RateLimits
from handlers.plans.dispatcher import Dispatcher
from storage import sendbudget
from storage.db import Database
from storage.plans import reminders as store
from storage.plans.models import Reminder
from tests.helpers import new_staff
from tests.reminders.helpers import daytime_zone, due_burst, make_plan, plan_row, utc

NOW = utc(2026, 12, 2, 9)  # Wednesday, 10:00 in Stockholm
REFERENCE = re.compile(r"\bR-\d+\b")


@pytest.fixture
def pg_url(db: Database) -> str:
    """A fresh, migrated PostgreSQL schema (the shared budget is a PostgreSQL feature)."""
    if db.dialect != "postgresql":
        pytest.skip("the shared send budget is for several processes on PostgreSQL")
    return db.url


def _draw(url: str, key: str, interval: float, until: float, start: threading.Barrier) -> list:
    """One process's worth: its own engine, drawing batches of 1–8 slots until ``until``
    seconds have passed on the database's clock (as seen from the first grant)."""
    database = Database(url)
    rng = random.Random(id(start) ^ threading.get_ident())
    taken: list[tuple[dt.datetime, int]] = []
    try:
        start.wait()
        while True:
            count = rng.randint(1, 8)
            grant = database.call(sendbudget.grant, key=key, count=count, interval=interval)
            taken.append((grant.first, count))
            if grant.wait > until:
                return taken
    finally:
        database.dispose()


def test_grants_from_many_processes_never_exceed_the_rate(pg_url: str) -> None:
    """Six connections take slots from one budget at once: no two slots closer than the
    interval, so no one-second window ever holds more than the rate (plus the edge)."""
    rate, interval = 40, 1 / 40
    start = threading.Barrier(6)
    results: list[list[tuple[dt.datetime, int]]] = []
    threads = [
        threading.Thread(target=lambda: results.append(_draw(pg_url, "4242", interval, 1.5, start)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 6 and all(results)
    step = dt.timedelta(seconds=interval)
    slots = sorted(
        first + i * step for taken in results for first, count in taken for i in range(count)
    )
    assert len(slots) >= 60
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(slots)]
    assert min(gaps) >= interval - 1e-5
    for n, slot in enumerate(slots):
        in_window = sum(1 for other in slots[n:] if other - slot < dt.timedelta(seconds=1))
        assert in_window <= rate + 1


def test_a_chat_gate_is_taken_by_one_connection_only(pg_url: str) -> None:
    """Five connections close overlapping sets of chat gates at the same moment: every chat
    is taken exactly once; an answered chat opens again after its interval."""
    start = threading.Barrier(5)
    taken: list[set[int]] = []

    def close(offset: int) -> None:
        database = Database(pg_url)
        try:
            chats = [(offset * 7 + n) % 40 for n in range(25)]
            start.wait()
            taken.append(database.call(sendbudget.close_chats, key="1", chat_ids=chats, hold=60))
        finally:
            database.dispose()

    threads = [threading.Thread(target=close, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    counted = Counter(chat for chats in taken for chat in chats)
    assert set(counted) == set(range(40)) and set(counted.values()) == {1}
    database = Database(pg_url)
    try:
        assert database.call(sendbudget.chat_wait, key="1", chat_id=3, hold=60) > 50
        database.call(sendbudget.open_chats, key="1", after={3: 0.0, 4: 30.0})
        assert database.call(sendbudget.chat_wait, key="1", chat_id=3, hold=60) == 0.0
        assert 25 < database.call(sendbudget.chat_wait, key="1", chat_id=4, hold=60) <= 30
    finally:
        database.dispose()


def _priority_rows(session: Session) -> None:
    anna = new_staff(session, 501, "Anna")
    cia = new_staff(session, 503, "Cia", role="coordinator")
    follow_ups = {"P-1": 9, "P-2": 2, "P-3": 4, "P-4": 1, "P-5": 1}
    plans = {
        ref: plan_row(
            session,
            reference=ref,
            responsible_id=anna.id or 0,
            next_follow_up=dt.date(2026, 12, day),
            follow_up_time=dt.time(14, 0),
        )
        for ref, day in follow_ups.items()
    }
    # The least urgent are due first, so only the priority can put the others ahead.
    wanted = [
        ("P-1", anna, "before", 3, 50),
        ("P-2", anna, "before", 0, 40),
        ("P-3", anna, "snooze", 1, 30),
        ("P-4", anna, "overdue", 1, 20),
        ("P-5", cia, "escalation", 1, 10),
        ("P-1", anna, "undelivered", cia.id or 0, 5),
    ]
    for ref, person, kind, seq, minutes in wanted:
        session.add(
            Reminder(
                plan_id=plans[ref].id or 0,
                staff_id=person.id or 0,
                kind=kind,
                seq=seq,
                follow_up_date=plans[ref].next_follow_up or dt.date(2026, 12, 1),
                due_at=NOW - dt.timedelta(minutes=minutes),
            )
        )


def _all(session: Session) -> list[Reminder]:
    return list(session.exec(select(Reminder)))


def test_claim_takes_escalations_then_day_of_then_earlier_reminders(db: Database) -> None:
    """One row per claim: escalation and bounce notice first, then the day-of reminder,
    "remind me tomorrow" and the overdue notice, the reminder days before last."""
    db.call(_priority_rows)
    priorities = {
        (r.kind, r.seq if r.kind != "undelivered" else 0): r.priority for r in db.call(_all)
    }
    assert priorities == {
        ("before", 3): 2,
        ("before", 0): 1,
        ("snooze", 1): 1,
        ("overdue", 1): 1,
        ("escalation", 1): 0,
        ("undelivered", 0): 0,
    }
    order = []
    for _ in range(6):
        pending = {r.id for r in db.call(_all) if r.state == "pending"}
        db.call(store.claim_due, owner="p", now=NOW, limit=1)
        taken = [r for r in db.call(_all) if r.id in pending and r.state != "pending"]
        assert len(taken) == 1
        order.append((taken[0].kind, taken[0].seq))
    assert [kind for kind, _ in order] == [
        "escalation",
        "undelivered",
        "before",
        "snooze",
        "overdue",
        "before",
    ]
    assert [seq for kind, seq in order if kind == "before"] == [0, 3]


class RecordingStandIn(BotApiStandIn):
    """The stand-in, also keeping the parameters of every sendMessage."""

    def __init__(self) -> None:
        super().__init__()
        self.send_params: list[dict[str, Any]] = []

    async def call(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """As :meth:`BotApiStandIn.call`; records sendMessage parameters."""
        if method == "sendMessage":
            self.send_params.append(dict(params))
        return await super().call(method, params, files)


@pytest.mark.parametrize("paid", [True, False])
async def test_allow_paid_broadcast_reaches_send_message(
    paid: bool, settings: Settings, sqlite_db: Database
) -> None:
    """With settings.allow_paid_broadcast every reminder says allow_paid_broadcast, and the
    budget takes send_rate (less the reserve); without it, neither."""
    server = RecordingStandIn()
    await server.start()
    try:
        configured = settings.model_copy(update={"allow_paid_broadcast": paid, "send_rate": 400})
        app = build_application(configured, db=sqlite_db, api_root=server.url, clock=lambda: NOW)

        def build(session: Session) -> None:
            anna = new_staff(session, 601, "Anna")
            for i in range(3):
                make_plan(
                    session,
                    reference=f"PB-{i}",
                    responsible=anna,
                    next_follow_up=dt.date(2026, 12, 9),
                    now=utc(2026, 11, 25, 9),
                )

        sqlite_db.call(build)
        server.user(601, "Anna")
        async with running(app, poll_timeout=1):
            dispatcher = app.bot_data.services.get(Dispatcher)
            await dispatcher.run_once()
        assert len(server.send_params) == 3
        flags = {str(p.get("allow_paid_broadcast", "")).lower() for p in server.send_params}
        assert flags == ({"true"} if paid else {""})
        assert dispatcher.budget.per_second == (380.0 if paid else 25.0)
    finally:
        await server.stop()


async def test_three_applications_on_postgresql_share_one_budget(
    pg_url: str, tmp_path: Path
) -> None:
    """Three real Applications (three processes' worth: own engines, own dispatchers) send
    90 due reminders to 30 chats (three each) through a stand-in enforcing 30 a second and
    one a second per chat: every reminder arrives once, no 429, and all three took part."""
    now = dt.datetime.now(dt.UTC)

    def build(session: Session) -> None:
        people = [new_staff(session, 7000 + i, f"P{i}").id or 0 for i in range(30)]
        due_burst(session, people, count=90, days_before=3, now=now)

    databases = [Database(pg_url) for _ in range(3)]
    databases[0].call(build)
    server = BotApiStandIn()
    await server.start()
    limits = RateLimits()
    server.rate_limits = limits
    for i in range(30):
        server.user(7000 + i, f"P{i}")
    delivered: Counter[str] = Counter()
    server.on_send = lambda _chat, message: delivered.update(
        REFERENCE.findall(str(message.get("text", "")))
    )
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, database_url=pg_url, timezone=daytime_zone(now)
    )
    apps = [build_application(settings, db=d, api_root=server.url) for d in databases]
    try:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(running(app, poll_timeout=1))
            await server.wait_for(lambda: len(delivered) >= 90, timeout=40)
            await asyncio.sleep(0.5)
        dispatchers = [app.bot_data.services.get(Dispatcher) for app in apps]
        assert all(isinstance(d.budget, sendbudget.SharedBudget) for d in dispatchers)
        assert limits.rejected == 0
        assert len(delivered) == 90 and set(delivered.values()) == {1}
        assert sum(d.stats.sent for d in dispatchers) == 90
        assert all(d.stats.sent > 0 for d in dispatchers)
        assert all(d.stats.rate_limited == 0 for d in dispatchers)
    finally:
        await server.stop()
        for database in databases:
            database.dispose()


async def test_a_digest_waits_for_a_chat_another_process_is_sending_to(pg_url: str) -> None:
    """A message outside the claim (a digest) takes the chat's gate: another process waits
    until the first one's message was answered and the chat's second has passed."""
    first, second = Database(pg_url), Database(pg_url)
    try:
        budgets = [sendbudget.SharedBudget(d, key="77", per_second=20) for d in (first, second)]
        await budgets[0].hold(5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(budgets[1].hold(5), 0.3)
        await budgets[0].acquire(5)
        await budgets[0].done(5)
        await budgets[0].flush()
        answered = time.monotonic()
        await asyncio.wait_for(budgets[1].hold(5), 10)
        assert time.monotonic() - answered >= 0.9
    finally:
        first.dispose()
        second.dispose()
