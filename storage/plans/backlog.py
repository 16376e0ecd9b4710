"""The reminder queue as operations sees it (``/metrics``): how many are due, and for how long.

One query over the rows that are due or in flight, through the ``(state, due_at)`` index: it
reads only those rows, never the millions planned for later, so a scrape stays cheap at any
size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from storage.plans.models import Reminder, ReminderState


@dataclass(frozen=True)
class Backlog:
    """Pending reminders due by now (the oldest one's due time) and those being sent."""

    due: int
    oldest_due_at: dt.datetime | None
    sending: int

    def age(self, now: dt.datetime) -> float:
        """Seconds the oldest due reminder has waited (0 when none is due)."""
        if self.oldest_due_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_due_at).total_seconds())


def backlog_queries(now: dt.datetime) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The two queries of :func:`reminder_backlog` (the benchmark explains them)."""
    table = Reminder.__table__  # type: ignore[attr-defined]
    due = sa.select(sa.func.count(), sa.func.min(table.c.due_at)).where(
        table.c.state == ReminderState.PENDING.value, table.c.due_at <= now
    )
    sending = sa.select(sa.func.count()).where(table.c.state == ReminderState.SENDING.value)
    return due, sending


def reminder_backlog(session: Session, *, now: dt.datetime) -> Backlog:
    """The pending reminders due at ``now`` and the rows claimed for sending."""
    due_query, sending_query = backlog_queries(now)
    due, oldest = session.execute(due_query).one()
    sending = session.execute(sending_query).scalar_one()
    return Backlog(due=int(due), oldest_due_at=oldest, sending=int(sending))
