"""Joint plans (known only by a pseudonymous reference), their follow-ups and reminders."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class PlanType(StrEnum):
    """The kind of joint plan."""

    CHILD_PLAN = "barnets_plan"
    SIP = "sip"
    OTHER = "annan"


class PlanStatus(StrEnum):
    """Whether the plan is still followed up."""

    ACTIVE = "active"
    CLOSED = "closed"


class ReminderKind(StrEnum):
    """Why a reminder is sent."""

    BEFORE = "before"  # offset_days before the follow-up (0 = the morning of the day)
    OVERDUE = "overdue"  # the follow-up date passed without being marked held (seq 1..3)
    ESCALATION = "escalation"  # to the municipality's coordinators after the third notice
    SNOOZE = "snooze"  # "remind me tomorrow"
    UNDELIVERED = "undelivered"  # tells the responsible (or an admin) a reminder bounced (403)


class ReminderState(StrEnum):
    """A reminder row's life: pending → sending → sent, or cancelled/undeliverable/stale."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    UNDELIVERABLE = "undeliverable"
    STALE = "stale"
    # Stopped because the follow-up was recorded as held: kept apart from other cancellations
    # so that "undo" makes exactly these pending again.
    HELD = "held"


# Plan: no child's name, no notes; the reference is chosen by the coordinator and checked by
# the personal-data guard. reference_key is the upper-cased reference, unique.
class Plan(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32)
    reference_key: str = Field(max_length=32, unique=True)
    plan_type: str = Field(max_length=16)
    municipality: str = Field(max_length=16, index=True)
    responsible_id: int = Field(foreign_key="staff.id", index=True)
    next_follow_up: dt.date | None = Field(default=None, index=True)
    follow_up_time: dt.time | None = None
    place: str | None = Field(default=None, max_length=100)
    status: str = Field(default=PlanStatus.ACTIVE.value, max_length=8, index=True)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


# PlanParticipant: a staff member in the plan's team (the responsible is not repeated here).
class PlanParticipant(SQLModel, table=True):
    plan_id: int = Field(foreign_key="plan.id", primary_key=True, ondelete="CASCADE")
    # Indexed on its own for "the plans I take part in" (/planer; migration 0017).
    staff_id: int = Field(foreign_key="staff.id", primary_key=True, index=True)


# FollowUp: the history of follow-ups held (with the time and place booked, for "undo").
class FollowUp(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    scheduled_for: dt.date
    scheduled_time: dt.time | None = None
    scheduled_place: str | None = Field(default=None, max_length=100)
    held_on: dt.date
    recorded_by: int | None = Field(default=None, foreign_key="staff.id")
    recorded_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


# The order reminders are claimed in when more are due than the send budget allows at once:
# 0 escalations to coordinators and notices that a reminder bounced, 1 day-of reminders,
# overdue notices and "remind me tomorrow", 2 reminders days before (digests come after all).
REMINDER_PRIORITY = (
    "CASE WHEN kind IN ('escalation', 'undelivered') THEN 0"
    " WHEN kind IN ('overdue', 'snooze') OR (kind = 'before' AND seq = 0) THEN 1"
    " ELSE 2 END"
)


# The claim's order (migration 0016): one range per priority over the pending rows only. Its
# predicate is a keyword for SQLite; for PostgreSQL it is added when the index is created from
# these models (_pending_only_on_postgresql): a ``postgresql_where=`` keyword would make
# SQLAlchemy import its PostgreSQL dialect to check it, on SQLite too (about 25 ms of a start).
PENDING_ONLY = "state = 'pending'"
CLAIM_INDEX = sa.Index(
    "ix_reminder_claim", "priority", "due_at", "id", sqlite_where=sa.text(PENDING_ONLY)
)


def _pending_only_on_postgresql(index: sa.Index, connection: Any, **_: Any) -> None:
    if connection.dialect.name == "postgresql":
        index.dialect_options["postgresql"]["where"] = sa.text(PENDING_ONLY)


sa.event.listen(CLAIM_INDEX, "before_create", _pending_only_on_postgresql)


# Reminder: the database is the source of truth for what is sent when. A dispatcher claims
# due pending rows atomically (FOR UPDATE SKIP LOCKED on PostgreSQL), sends, and marks them.
# The unique key stops the same reminder from being planned twice for one follow-up date.
class Reminder(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint(
            "plan_id", "staff_id", "kind", "follow_up_date", "seq", name="uq_reminder_once"
        ),
        sa.Index("ix_reminder_due", "state", "due_at"),
        CLAIM_INDEX,
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    staff_id: int = Field(foreign_key="staff.id")
    kind: str = Field(max_length=12)
    seq: int = Field(default=0)  # offset days for BEFORE, notice number for OVERDUE, etc.
    follow_up_date: dt.date
    due_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    state: str = Field(default=ReminderState.PENDING.value, max_length=14)
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    sent_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    telegram_message_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    last_error: str | None = Field(default=None, max_length=64)
    # Computed by the database from kind and seq (0 first; see REMINDER_PRIORITY).
    priority: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.SmallInteger, sa.Computed(REMINDER_PRIORITY, persisted=True), nullable=False
        ),
    )


# StaffPreference: per-person settings from /installningar (the daily digest is opt-in).
class StaffPreference(SQLModel, table=True):
    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    daily_digest: bool = Field(default=False)
    last_digest_on: dt.date | None = None
