"""Unfinished pulse answers, kept so a restart or another bot process loses no tap.

A draft is found by ``key`` = HMAC(secret, pulse and person) and a person's drafts by
``owner`` = HMAC(secret, person): neither holds a Telegram user id or chat id, so the
database alone cannot tell whose draft it is (the same keyed hashes as the who-has-answered
markers, under the same secret). A draft lives at most 15 minutes after the last tap; it is
deleted when the answer is sent (in the marker's transaction, never the answer's), when it
expires and when its pulse closes. After a draft is dropped while its person was writing a
comment, a ``pulse_late_comment`` row (owner and time only) catches the late comment for two
hours, so it is never taken as a question.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.pulse.models import NO_ROWID, Pulse, digest_key
from storage.types import UTCDateTime

# How long after a dropped answer a late comment is still caught.
LATE_COMMENT_WINDOW: Final = dt.timedelta(hours=2)


class PulseDraftRow(SQLModel, table=True):
    __tablename__ = "pulse_draft"
    __table_args__ = NO_ROWID

    key: str = digest_key()
    owner: str = Field(max_length=64, index=True)
    pulse_id: int = Field(foreign_key="pulse.id", index=True, ondelete="CASCADE")
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # At the comment step or waiting for the comment: a late comment must be caught.
    at_comment: bool = False
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class PulseLateComment(SQLModel, table=True):
    __tablename__ = "pulse_late_comment"
    __table_args__ = NO_ROWID

    owner: str = digest_key()
    until: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


def draft_key(secret: bytes, pulse_id: int, user_id: int) -> str:
    """The keyed hash that finds one person's draft of one pulse."""
    message = f"pulse-draft:{int(pulse_id)}:user:{int(user_id)}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def owner_key(secret: bytes, user_id: int) -> str:
    """The keyed hash that finds one person's drafts."""
    message = f"pulse-draft-owner:{int(user_id)}".encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def save(session: Session, row: PulseDraftRow) -> None:
    """Store ``row``, replacing the draft with the same key."""
    session.merge(row)


def load(session: Session, key: str) -> tuple[PulseDraftRow, Pulse] | None:
    """The draft with ``key`` and its pulse."""
    row = session.get(PulseDraftRow, key)
    pulse = session.get(Pulse, row.pulse_id) if row is not None else None
    return (row, pulse) if row is not None and pulse is not None else None


def change(
    session: Session,
    key: str,
    new_columns: Callable[[PulseDraftRow, Pulse], Mapping[str, object] | None],
) -> bool:
    """Read the draft with ``key`` and write the columns ``new_columns`` works out from it
    (None: leave it): one transaction, one UPDATE of the row just read. False when there is no
    such draft."""
    found = load(session, key)
    if found is None:
        return False
    row, pulse = found
    columns = new_columns(row, pulse)
    if columns:
        for column, value in columns.items():
            setattr(row, column, value)
        session.add(row)
    return True


def of_owner(session: Session, owner: str) -> list[tuple[PulseDraftRow, Pulse]]:
    """Every draft of one person with its pulse, the latest to expire first."""
    rows = session.exec(
        select(PulseDraftRow, Pulse)
        .join(Pulse, col(Pulse.id) == col(PulseDraftRow.pulse_id))
        .where(PulseDraftRow.owner == owner)
        .order_by(col(PulseDraftRow.expires_at).desc())
    )
    return [(row, pulse) for row, pulse in rows]


def delete(session: Session, key: str) -> bool:
    """Delete the draft; False when it was already gone (a double tap, another process)."""
    result = session.execute(sa.delete(PulseDraftRow).where(col(PulseDraftRow.key) == key))
    return bool(getattr(result, "rowcount", 0))


def _drop(session: Session, rows: Sequence[PulseDraftRow], now: dt.datetime) -> None:
    for row in rows:
        if row.at_comment:
            session.merge(PulseLateComment(owner=row.owner, until=now + LATE_COMMENT_WINDOW))
        session.delete(row)
    session.execute(sa.delete(PulseLateComment).where(col(PulseLateComment.until) <= now))


def drop_expired(session: Session, now: dt.datetime) -> list[PulseDraftRow]:
    """Delete and return every draft whose time is up."""
    rows = list(session.exec(select(PulseDraftRow).where(col(PulseDraftRow.expires_at) <= now)))
    _drop(session, rows, now)
    return rows


def drop_of_pulses(
    session: Session, pulse_ids: Sequence[int], now: dt.datetime
) -> list[PulseDraftRow]:
    """Delete and return every draft of the pulses in ``pulse_ids`` (they closed)."""
    if not pulse_ids:
        return []
    query = select(PulseDraftRow).where(col(PulseDraftRow.pulse_id).in_(pulse_ids))
    rows = list(session.exec(query))
    _drop(session, rows, now)
    return rows


def take_late_comment(session: Session, owner: str, now: dt.datetime) -> bool:
    """True (once) if the person's answer was dropped while they were writing a comment."""
    row = session.get(PulseLateComment, owner)
    if row is None:
        return False
    session.delete(row)
    return row.until > now


def count(session: Session) -> int:
    """How many unfinished answers there are (for tests and benchmarks)."""
    return int(session.exec(select(sa.func.count()).select_from(PulseDraftRow)).one())
