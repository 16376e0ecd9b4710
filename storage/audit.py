"""The audit log: one row per action on a plan or by an admin; exported with
``dalsbot audit export``.

Rows hold ids and an action name only (never a plan reference, a name or any text), so the
log itself needs no guard. Views are recorded once per person and plan per ten minutes, so
opening a card again after each tap does not flood the log.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.csvtext import csv_text
from storage.types import UTCDateTime, utcnow

ACTIONS: Final = frozenset(
    {
        "plan.created", "plan.viewed", "plan.date_set", "plan.held", "plan.closed",
        "plan.reopened", "plan.member_added", "plan.member_removed", "plan.imported",
        "plan.deleted", "plan.held_undone", "plan.responsible_changed", "plan.type_changed",
        "plan.follow_up_changed", "staff.role_changed", "staff.removed", "invite.created",
    }
)  # fmt: skip
VIEW_QUIET: Final = dt.timedelta(minutes=10)
EXPORT_COLUMNS: Final = ("at", "actor_staff_id", "action", "plan_id", "target_staff_id")


# AuditEvent: one action. The plan is named by its id, never its reference; a person by their
# staff id. No free text: ``action`` is one of storage.audit.ACTIONS.
class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    actor_id: int | None = Field(default=None, index=True)  # staff id; None: the system/CLI
    action: str = Field(max_length=32)
    plan_id: int | None = Field(default=None, index=True)
    target_id: int | None = None  # the staff member acted on (role, removal, plan team)


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None,
    plan_id: int | None = None,
    target_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Add one event (in the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    now = now or utcnow()
    if action == "plan.viewed" and _viewed_lately(session, actor_id, plan_id, now):
        return
    session.add(
        AuditEvent(at=now, actor_id=actor_id, action=action, plan_id=plan_id, target_id=target_id)
    )


def _viewed_lately(
    session: Session, actor_id: int | None, plan_id: int | None, now: dt.datetime
) -> bool:
    query = select(AuditEvent.id).where(
        AuditEvent.action == "plan.viewed",
        AuditEvent.actor_id == actor_id,
        AuditEvent.plan_id == plan_id,
        col(AuditEvent.at) > now - VIEW_QUIET,
    )
    return session.exec(query.limit(1)).first() is not None


def events(
    session: Session, *, since: dt.datetime | None = None, actor_id: int | None = None
) -> list[AuditEvent]:
    """The events, oldest first, optionally since a moment or by one person."""
    query = select(AuditEvent)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(session.exec(query.order_by(col(AuditEvent.at), col(AuditEvent.id))))


def export_csv(rows: list[AuditEvent]) -> str:
    """The events as CSV (UTC times, ISO 8601)."""
    return csv_text(
        EXPORT_COLUMNS,
        (
            (row.at.isoformat(), row.actor_id or "", row.action, row.plan_id or "",
             row.target_id or "")
            for row in rows
        ),
    )  # fmt: skip
