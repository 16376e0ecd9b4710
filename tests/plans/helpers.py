"""Helpers for the plan tests: staff registered straight in the database, the clock's day."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from storage.db import Database
from storage.people import store as staff_store
from storage.people.models import Role
from storage.plans.duetimes import ReminderPolicy, WorkCalendar

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)  # a Wednesday, as the FakeClock starts
TODAY = dt.date(2026, 11, 25)
POLICY = ReminderPolicy()
CALENDAR = WorkCalendar()


def add_staff(
    db: Database,
    telegram_id: int,
    name: str,
    *,
    role: str = "staff",
    municipality: str = "Mellerud",
    username: str | None = None,
) -> int:
    """Register a staff member through an invitation (as the chat does); their staff id."""

    def run(session: Session) -> int:
        invitation = staff_store.create_invitation(
            session, role=Role(role), municipality=municipality
        )
        _status, staff = staff_store.redeem_invitation(
            session, code=invitation.code, telegram_id=telegram_id, display_name=name,
            username=username, organisation="skola", language="sv",
        )  # fmt: skip
        assert staff is not None and staff.id is not None
        return staff.id

    return db.call(run)


SCHEDULING = {"policy": POLICY, "calendar": CALENDAR, "now": NOW}
