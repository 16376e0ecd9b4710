"""Building staff, plans and reminder rows directly (the plan flows are tested elsewhere)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot.duetimes import DEFAULT_POLICY, ReminderPolicy, WorkCalendar
from storage.models import Plan, PlanParticipant, Reminder, Staff
from storage.reminders import sync_plan_reminders

CALENDAR = WorkCalendar()
POLICY = DEFAULT_POLICY
UTC = dt.UTC


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware UTC instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_staff(
    session: Session,
    telegram_id: int,
    name: str = "Anna",
    *,
    role: str = "staff",
    municipality: str = "Mellerud",
    language: str = "sv",
) -> Staff:
    """A registered, active staff member."""
    staff = Staff(
        telegram_id=telegram_id,
        display_name=name,
        role=role,
        municipality=municipality,
        organisation="skola",
        language=language,
    )
    session.add(staff)
    session.flush()
    return staff


def make_plan(
    session: Session,
    *,
    reference: str,
    responsible: Staff,
    participants: Sequence[Staff] = (),
    day: dt.date | None,
    at: dt.time | None = None,
    place: str | None = None,
    municipality: str = "Mellerud",
    plan_type: str = "sip",
    now: dt.datetime,
    policy: ReminderPolicy = POLICY,
) -> Plan:
    """A plan with its reminders planned by :func:`sync_plan_reminders`."""
    plan = Plan(
        reference=reference,
        reference_key=reference.upper(),
        plan_type=plan_type,
        municipality=municipality,
        responsible_id=responsible.id or 0,
        next_follow_up=day,
        follow_up_time=at,
        place=place,
    )
    session.add(plan)
    session.flush()
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
