"""Building staff, plans and reminder rows directly (the plan flows are tested elsewhere)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.people.models import Staff
from storage.plans.duetimes import DEFAULT_POLICY, ReminderPolicy, WorkCalendar
from storage.plans.models import Plan, PlanParticipant, Reminder
from storage.plans.reminders import sync_plan_reminders

CALENDAR = WorkCalendar()
POLICY = DEFAULT_POLICY
UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware UTC instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def plan_row(session: Session, *, reference: str, responsible_id: int, **columns: Any) -> Plan:
    """A plan row as stored, with its other ``columns`` (a SIP in Mellerud unless they say
    otherwise; ``next_follow_up``, ``follow_up_time``, ``place``...), flushed."""
    plan = Plan(
        reference=reference,
        reference_key=reference.upper(),
        responsible_id=responsible_id,
        **{"plan_type": "sip", "municipality": "Mellerud", **columns},
    )
    session.add(plan)
    session.flush()
    return plan


def make_plan(
    session: Session,
    *,
    responsible: Staff,
    participants: Sequence[Staff] = (),
    now: dt.datetime,
    policy: ReminderPolicy = POLICY,
    **columns: Any,
) -> Plan:
    """A plan (see :func:`plan_row`) with its team, and its reminders planned by
    :func:`sync_plan_reminders`."""
    plan = plan_row(session, responsible_id=responsible.id or 0, **columns)
    for person in participants:
        session.add(PlanParticipant(plan_id=plan.id or 0, staff_id=person.id or 0))
    session.flush()
    resync(session, plan, now=now, policy=policy)
    return plan


def resync(
    session: Session, plan: Plan, *, now: dt.datetime, policy: ReminderPolicy = POLICY
) -> None:
    """Re-plan after a change, as the plan flows do."""
    session.add(plan)
    session.flush()
    sync_plan_reminders(session, plan_id=plan.id or 0, policy=policy, calendar=CALENDAR, now=now)


def rows(session: Session, plan_id: int | None = None) -> list[Reminder]:
    """Reminder rows, by due time then id."""
    query = select(Reminder).order_by(col(Reminder.due_at), col(Reminder.id))
    if plan_id is not None:
        query = query.where(Reminder.plan_id == plan_id)
    return list(session.exec(query))


def snapshot(session: Session) -> list[tuple[object, ...]]:
    """Every row's identity and state, for before/after comparisons."""
    return [
        (r.id, r.staff_id, r.kind, r.seq, r.follow_up_date, r.due_at, r.state)
        for r in rows(session)
    ]


def daytime_zone(now: dt.datetime) -> str:
    """A fixed-offset zone where it is around noon at ``now``: a real bot process uses the
    real clock, and nothing is sent in the quiet hours (20:00–07:00)."""
    offset = now.hour - 12  # Etc/GMT+N is N hours *behind* UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'+' if offset > 0 else '-'}{abs(offset)}"


def due_burst(
    session: Session, owners: Sequence[int], *, count: int, days_before: int, now: dt.datetime
) -> None:
    """``count`` plans of the staff ``owners`` in turn (references ``R-0``, ``R-1``...), each
    with its ``days_before`` reminder due a minute before ``now`` (around noon, see
    :func:`daytime_zone`), for a follow-up that many days after today there."""
    follow_up = now.astimezone(ZoneInfo(daytime_zone(now))).date()
    follow_up += dt.timedelta(days=days_before)
    for i in range(count):
        owner = owners[i % len(owners)]
        plan = plan_row(session, reference=f"R-{i}", responsible_id=owner, next_follow_up=follow_up)
        session.add(
            Reminder(
                plan_id=plan.id or 0,
                staff_id=owner,
                kind="before",
                seq=days_before,
                follow_up_date=follow_up,
                due_at=now - dt.timedelta(minutes=1),
            )
        )


async def start_bot(
    *, token: str, api_url: str, database_url: str, workdir: Path, log: Path, **settings: str
) -> asyncio.subprocess.Process:
    """A real ``python -m bot run`` in ``workdir`` (also its data folder), talking to the
    stand-in at ``api_url`` and writing its output to ``log``. Its environment is this
    process's without any ``DALSBOT_`` setting, then the token, the database, ``settings``
    (``DALSBOT_...``) and warnings-only logging."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DALSBOT_")}
    env.update(
        DALSBOT_TELEGRAM_TOKEN=token,
        DALSBOT_TELEGRAM_API_URL=api_url,
        DALSBOT_DATABASE_URL=database_url,
        DALSBOT_DATA_DIR=str(workdir),
        DALSBOT_LOG_LEVEL="WARNING",
        PTB_TIMEDELTA="true",
        **settings,
    )
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=workdir, stdout=out, stderr=out
        )
