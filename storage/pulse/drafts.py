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
from dataclasses import dataclass
from typing import Any, Final

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


_DRAFTS: Final = PulseDraftRow.__table__  # type: ignore[attr-defined]
_LATE: Final = PulseLateComment.__table__  # type: ignore[attr-defined]
_PULSES: Final = Pulse.__table__  # type: ignore[attr-defined]

# Built once: the statements of a tap (every tap of every person runs them) are compiled once
# and executed on the session's connection, without the ORM's identity map and flush.
_READ: Final = (
    sa.select(_DRAFTS.c.pulse_id, _DRAFTS.c.data, _PULSES.c.template_snapshot)
    .join_from(_DRAFTS, _PULSES, _PULSES.c.id == _DRAFTS.c.pulse_id)
    .where(_DRAFTS.c.key == sa.bindparam("draft_key"))
)
_WRITE: Final = (
    _DRAFTS.update()
    .where(_DRAFTS.c.key == sa.bindparam("draft_key"), _DRAFTS.c.data == sa.bindparam("old"))
    .values(
        data=sa.bindparam("new_data"),
        at_comment=sa.bindparam("new_at_comment"),
        expires_at=sa.bindparam("new_expires_at"),
    )
)
_AWAITING: Final = (
    sa.select(_DRAFTS.c.key, _DRAFTS.c.pulse_id, _DRAFTS.c.data, _PULSES.c.template_snapshot)
    .join_from(_DRAFTS, _PULSES, _PULSES.c.id == _DRAFTS.c.pulse_id)
    .where(_DRAFTS.c.owner == sa.bindparam("owner"), _DRAFTS.c.at_comment.is_(True))
    .order_by(_DRAFTS.c.expires_at.desc())
    .limit(1)
)
_LATE_UNTIL: Final = sa.select(_LATE.c.until).where(_LATE.c.owner == sa.bindparam("owner"))
_DELETE_LATE: Final = _LATE.delete().where(_LATE.c.owner == sa.bindparam("owner"))
_DELETE: Final = _DRAFTS.delete().where(_DRAFTS.c.key == sa.bindparam("draft_key"))


@dataclass(frozen=True)
class DraftRead:
    """A stored draft as a tap reads it: its key, pulse, data, and the pulse's template
    snapshot (from the same statement, so no second query for the pulse)."""

    key: str
    pulse_id: int
    data: str
    template_snapshot: str


def _upsert(insert: Any) -> Any:
    """INSERT of a whole draft that replaces the draft with the same key."""
    replaced = [column.name for column in _DRAFTS.columns if column.name != "key"]
    return insert.on_conflict_do_update(
        index_elements=["key"], set_={name: insert.excluded[name] for name in replaced}
    )


# The upsert per dialect, built at its first save: the dialect's module is imported then, not
# with this module (the PostgreSQL one would cost a start on SQLite about 25 ms).
_SAVE: Final[dict[str, Any]] = {}


def _save_statement(dialect: str) -> Any:
    statement = _SAVE.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            statement = _upsert(postgresql.insert(_DRAFTS))
        else:
            from sqlalchemy.dialects import sqlite

            statement = _upsert(sqlite.insert(_DRAFTS))
        _SAVE[dialect] = statement
    return statement


def save(session: Session, row: PulseDraftRow) -> None:
    """Store ``row``, replacing the draft with the same key (one INSERT ... ON CONFLICT)."""
    connection = session.connection()
    values = {column.name: getattr(row, column.name) for column in _DRAFTS.columns}
    connection.execute(_save_statement(connection.dialect.name), values)


def load(session: Session, key: str) -> tuple[PulseDraftRow, Pulse] | None:
    """The draft with ``key`` and its pulse."""
    row = session.get(PulseDraftRow, key)
    pulse = session.get(Pulse, row.pulse_id) if row is not None else None
    return (row, pulse) if row is not None and pulse is not None else None


def change(
    session: Session,
    key: str,
    new_columns: Callable[[DraftRead], Mapping[str, object] | None],
) -> bool:
    """Read the draft with ``key`` and write the columns ``new_columns`` works out from it
    (None: leave it); False when there is no such draft.

    Two statements: a SELECT (the draft with its pulse's template) and an UPDATE that writes
    only if the draft is still as read. Should another process have changed it in between
    (a double tap reaching two replicas), it is read again and ``new_columns`` asked again,
    so no tap is lost or applied to a draft it did not see.
    """
    connection = session.connection()
    for _ in range(CHANGE_TRIES):
        found = connection.execute(_READ, {"draft_key": key}).first()
        if found is None:
            return False
        pulse_id, data, snapshot = found
        columns = new_columns(DraftRead(key, int(pulse_id), str(data), str(snapshot)))
        if not columns:
            return True
        written = connection.execute(
            _WRITE,
            {
                "draft_key": key,
                "old": data,
                "new_data": columns["data"],
                "new_at_comment": columns["at_comment"],
                "new_expires_at": columns["expires_at"],
            },
        )
        if written.rowcount == 1:
            return True
    # Changed under us again and again: give up rather than spin (the tap fails with the
    # error message, the draft stays as it was; pressing again works).
    raise DraftContention(f"the draft changed {CHANGE_TRIES} times while being written")


class DraftContention(RuntimeError):
    """A draft kept changing between its read and its conditional write."""


# Reads and conditional writes of one draft before :func:`change` gives up.
CHANGE_TRIES = 10


def awaiting_comment(session: Session, owner: str, now: dt.datetime) -> DraftRead | bool:
    """What a person's text is to the pulse: their draft waiting for a comment (the latest
    to expire), else True (once) if a draft of theirs was dropped while they were writing a
    comment (a late comment), else False. One transaction of read-only statements unless
    there is a late comment to take: every text message of every person runs this."""
    connection = session.connection()
    found = connection.execute(_AWAITING, {"owner": owner}).first()
    if found is not None:
        key, pulse_id, data, snapshot = found
        return DraftRead(str(key), int(pulse_id), str(data), str(snapshot))
    until = connection.execute(_LATE_UNTIL, {"owner": owner}).scalar()
    if until is None:
        return False
    connection.execute(_DELETE_LATE, {"owner": owner})
    return bool(until > now)


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
    result = session.connection().execute(_DELETE, {"draft_key": key})
    return bool(result.rowcount)


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


def count(session: Session) -> int:
    """How many unfinished answers there are (for tests and benchmarks)."""
    return int(session.exec(select(sa.func.count()).select_from(PulseDraftRow)).one())
