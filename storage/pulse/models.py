"""Anonymous pulse feedback: pulses, their answers and scores, and who-has-answered markers.

What makes the answers anonymous in the database itself, not just on screen:

- ``pulse_answer`` and ``pulse_score`` hold no user id, chat id, message id, staff id or time
  of day; an answer carries only the date it was given (``answered_on``). A schema test fails
  if either table gains a column that could identify a person.
- ``pulse_respondent`` is what stops a second answer: the HMAC-SHA256 of pulse and Telegram
  user under a server secret (:func:`storage.pulse.logic.answer_key`). It has no reference to an
  answer. Without the secret the hash cannot be turned back into a user id, even by trying
  every id, so the database alone cannot link a person to an answer.
- Row order must not link them either. An answer's primary key is a random UUID, never an
  auto-incremented number that would run in step with the markers; on SQLite all three tables
  are ``WITHOUT ROWID``, so they have no hidden insertion counter and are stored in key order
  (random UUIDs, hashes). The marker and the answer are written in two separate transactions
  (see handlers/pulse/), so on PostgreSQL they never share a transaction id. PostgreSQL
  still writes rows roughly in arrival order, which someone holding both the database files
  and the server secret could use while a pulse is open; that is why a pulse's markers are
  deleted when it closes: from then on nothing in the database relates any person to it.
- A pulse keeps the template version and a JSON snapshot of the template it was opened
  with, so editing a template file never changes the meaning of answers already given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

# SQLite tables without the implicit, insertion-ordered rowid (see the module docstring).
NO_ROWID = {"sqlite_with_rowid": False}


def digest_key() -> Any:
    """A primary key that is a SHA-256 or HMAC-SHA256 hex digest, never an id."""
    return Field(primary_key=True, max_length=64)


# Pulse: one survey after one meeting, opened by a staff member (the organiser). ``token``
# is the unguessable part of the deep link (``pulse_<token>``).
class Pulse(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, unique=True)
    template_key: str = Field(max_length=24, index=True)
    template_version: str = Field(max_length=12)
    template_snapshot: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    label: str = Field(max_length=60)
    municipality: str = Field(max_length=16, index=True)
    organiser_id: int = Field(foreign_key="staff.id", index=True)
    k: int = Field(default=3)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    closes_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    closed_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    notified_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    # Invited only: answers come only through personal one-time links (PulseInvite), which
    # the bot sends to each person itself, so the organiser cannot answer twice.
    invited_only: bool = Field(default=False)
    # The organiser's own personal link was made (one per pulse, ever).
    own_link_sent: bool = Field(default=False)


# PulseInvite: one personal, one-time link to an invited-only pulse. Only the token's
# SHA-256 is kept, never who it was sent to; it is deleted when used and when the pulse
# closes.
class PulseInvite(SQLModel, table=True):
    __tablename__ = "pulse_invite"
    __table_args__ = NO_ROWID

    token_hash: str = digest_key()
    pulse_id: int = Field(foreign_key="pulse.id", index=True, ondelete="CASCADE")


# PulseSentToPlan: the pulse's link(s) went to this plan's team (once per pulse and plan, so
# an organiser cannot collect a second set of personal links).
class PulseSentToPlan(SQLModel, table=True):
    __tablename__ = "pulse_sent_to_plan"

    pulse_id: int = Field(foreign_key="pulse.id", primary_key=True, ondelete="CASCADE")
    plan_id: int = Field(primary_key=True)


# PulseAnswer: one submitted answer. A random UUID key, the date only, a redacted comment.
class PulseAnswer(SQLModel, table=True):
    __tablename__ = "pulse_answer"
    __table_args__ = NO_ROWID

    id: str = Field(primary_key=True, max_length=32)
    pulse_id: int = Field(foreign_key="pulse.id", index=True, ondelete="CASCADE")
    answered_on: dt.date
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))


# PulseScore: one question's score (1–5) in one answer; a skipped question has no row.
# pulse_id is repeated here so the results are one index-only GROUP BY.
class PulseScore(SQLModel, table=True):
    __tablename__ = "pulse_score"
    __table_args__ = (
        sa.Index("ix_pulse_score_group", "pulse_id", "question_key", "score"),
        NO_ROWID,
    )

    answer_id: str = Field(
        foreign_key="pulse_answer.id", primary_key=True, max_length=32, ondelete="CASCADE"
    )
    question_key: str = Field(primary_key=True, max_length=16)
    pulse_id: int = Field(foreign_key="pulse.id", ondelete="CASCADE")
    score: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))


# PulseRespondent: "someone with this keyed hash has answered this pulse". No link to an
# answer, no time; deleted when the pulse closes.
class PulseRespondent(SQLModel, table=True):
    __tablename__ = "pulse_respondent"
    __table_args__ = NO_ROWID

    pulse_id: int = Field(foreign_key="pulse.id", primary_key=True, ondelete="CASCADE")
    key_hash: str = digest_key()
