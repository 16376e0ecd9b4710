"""Two dispatchers (two processes' worth: own engines, own owners) on one PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import Counter
from typing import Any

import pytest
from telegram import Bot

from bot.shell.standin import BotApiStandIn
from handlers.plans.dispatcher import Dispatcher
from storage import migrate
from storage.db import Database
from storage.plans.duetimes import DEFAULT_POLICY, WorkCalendar
from storage.sendbudget import SendLimiter
from tests.helpers import new_staff
from tests.reminders.helpers import make_plan, rows, utc

NOW = utc(2026, 12, 2, 9)  # Wednesday, 10:00 in Stockholm
REFERENCE = re.compile(r"\bD-\d+\b")


async def test_two_dispatchers_on_postgresql_send_each_reminder_once(
    db_url: str, standin: BotApiStandIn
) -> None:
    """Both run at the same moment over 120 due reminders: every one arrives exactly once,
    and both did part of the work."""
    if not db_url.startswith("postgresql"):
        pytest.skip("several bot processes on one database is a PostgreSQL feature")
    first, second = Database(db_url), Database(db_url)
    migrate.upgrade(first)

    def build(session: Any) -> None:
        people = [new_staff(session, 3000 + i, f"P{i}") for i in range(40)]
        for i in range(120):
            make_plan(session, reference=f"D-{i}", responsible=people[i % 40],
                      next_follow_up=dt.date(2026, 12, 9), now=utc(2026, 11, 25, 9))  # fmt: skip

    first.call(build)
    for i in range(40):
        standin.user(3000 + i, f"P{i}")
    delivered: Counter[str] = Counter()
    standin.on_send = lambda _chat, message: delivered.update(
        REFERENCE.findall(str(message.get("text", "")))
    )
    bot = Bot("123456:" + "C" * 30, base_url=f"{standin.url}/bot")
    await bot.initialize()
    dispatchers = [
        Dispatcher(
            db=database,
            send=bot.send_message,
            clock=lambda: NOW,
            policy=DEFAULT_POLICY,
            calendar=WorkCalendar(),
            budget=SendLimiter(per_second=200, per_chat_interval=0.0),
            owner=f"process-{n}",
        )
        for n, database in enumerate((first, second))
    ]
    try:
        await asyncio.gather(*(d.run_once() for d in dispatchers))
    finally:
        await bot.shutdown()
    try:
        assert len(delivered) == 120 and set(delivered.values()) == {1}
        assert all(d.stats.sent > 0 for d in dispatchers)
        assert sum(d.stats.sent for d in dispatchers) == 120
        sent = [r for r in first.call(rows) if r.state == "sent"]
        assert len(sent) == 120
        assert {r.claimed_by for r in sent} == {"process-0", "process-1"}
    finally:
        first.dispose()
        second.dispose()
