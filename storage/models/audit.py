"""The audit log: who created, changed, viewed or closed a plan, and every admin action."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


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
