"""Each Telegram update handled once, by whichever webhook replica got it.

Telegram re-delivers an update until a webhook call answers 2xx, and a replica answers only
after it has handled the update (bot/shell/webhook.py). So the same ``update_id`` can arrive
again: after a replica died mid-update, after a lost answer, or while it is still being
handled elsewhere. ``processed_update`` holds one row per update id:

- :func:`claim` before handling: a new id is claimed by this process for a lease; an id
  already done is :attr:`Claim.DONE` (answer 200, handle nothing); an id claimed by another
  live process within its lease is :attr:`Claim.BUSY` (answer non-2xx: Telegram tries again
  later); an expired lease (the holder died) is taken over.
- :func:`finish` after handling; :func:`release` when handling failed, so a re-delivery
  handles it afresh.
- :func:`prune` deletes old rows in bounded batches (nightly).

The rows hold the update id and times only: no user id, chat id or text.

``update_effect`` is the journal of what handling an update has done at the Bot API so far
(:func:`record_effect`: the method and, for a sent message, its message id; never a text or a
chat id). It is kept only while the update is in flight (:func:`finish` deletes it). When a
replica dies after sending a message but before marking the update done, the replica that
takes the update over replays the journal (:func:`effects`) instead of sending it again.

:class:`PersonLocks` (PostgreSQL) lets one update per person run at a time across processes:
a session advisory lock per Telegram user id, all held on one connection per process, so
PostgreSQL releases them the moment a process dies. Holding a person's lock also settles a
claim: whoever held a claim of that person's update without the lock is gone, so the claim
is taken over at once instead of waiting for its lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session, SQLModel

from storage.types import UTCDateTime

logger = logging.getLogger(__name__)

# Longer than any update takes; a claim older than this belongs to a process that died.
LEASE: Final = dt.timedelta(seconds=60)
# Rows of updates handled longer ago than this are deleted (Telegram keeps an unconfirmed
# update for 24 hours, so a re-delivery never comes later than that).
KEEP: Final = dt.timedelta(days=2)
PRUNE_BATCH: Final = 5000


class ProcessedUpdate(SQLModel, table=True):
    __tablename__ = "processed_update"

    update_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    )
    holder: str = Field(max_length=64)
    claimed_until: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    done_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), index=True)
    )


class UpdateEffect(SQLModel, table=True):
    __tablename__ = "update_effect"

    update_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    )
    seq: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    method: str = Field(max_length=40)
    # For a method that returned a Message: its id, Telegram's date and the chat's type.
    message_id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    sent_date: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    chat_type: str | None = Field(default=None, max_length=16)


class Claim(enum.Enum):
    """What :func:`claim` found."""

    NEW = "new"  # claimed now: handle it
    TAKEN_OVER = "taken_over"  # claimed before by a process that is gone: handle it again
    DONE = "done"  # handled already: confirm it, do nothing
    BUSY = "busy"  # another live process is handling it: let Telegram try again later


def _table() -> sa.Table:
    return ProcessedUpdate.__table__  # type: ignore[attr-defined]


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(_table())
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(_table())


def claim(
    session: Session,
    update_id: int,
    *,
    holder: str,
    now: dt.datetime,
    lease: dt.timedelta = LEASE,
    take_over: bool = False,
) -> Claim:
    """Claim ``update_id`` for ``holder`` (see the module docstring). ``take_over``: the
    caller holds the person's lock, so a claim by anyone else is stale whatever its lease."""
    table = _table()
    inserted = session.execute(
        _insert(session)
        .values(update_id=update_id, holder=holder, claimed_until=now + lease, done_at=None)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.update_id)
    ).first()
    if inserted is not None:
        return Claim.NEW
    row = session.execute(
        sa.select(table.c.holder, table.c.claimed_until, table.c.done_at)
        .where(table.c.update_id == update_id)
        .with_for_update()
    ).one_or_none()
    if row is None:  # pruned between the two statements: a stale re-delivery
        return Claim.DONE
    if row.done_at is not None:
        return Claim.DONE
    if row.holder == holder:
        return Claim.BUSY  # being handled in this very process right now
    if row.claimed_until > now and not take_over:
        return Claim.BUSY
    session.execute(
        sa.update(table)
        .where(table.c.update_id == update_id)
        .values(holder=holder, claimed_until=now + lease)
    )
    return Claim.TAKEN_OVER


def _effects() -> sa.Table:
    return UpdateEffect.__table__  # type: ignore[attr-defined]


def finish(session: Session, update_id: int, *, holder: str, now: dt.datetime) -> bool:
    """Mark ``update_id`` handled and drop its journal; False when ``holder`` no longer held
    the claim."""
    table = _table()
    result = session.execute(
        sa.update(table)
        .where(table.c.update_id == update_id, table.c.holder == holder)
        .values(done_at=now)
    )
    session.execute(sa.delete(_effects()).where(_effects().c.update_id == update_id))
    return bool(getattr(result, "rowcount", 0))


def record_effect(
    session: Session,
    update_id: int,
    seq: int,
    method: str,
    *,
    message_id: int | None = None,
    sent_date: int | None = None,
    chat_type: str | None = None,
) -> None:
    """Journal the ``seq``-th Bot API call made while handling ``update_id``."""
    session.add(
        UpdateEffect(
            update_id=update_id,
            seq=seq,
            method=method,
            message_id=message_id,
            sent_date=sent_date,
            chat_type=chat_type,
        )
    )


def effects(session: Session, update_id: int) -> dict[int, UpdateEffect]:
    """The journal of ``update_id`` by sequence number (see the module docstring)."""
    rows = session.execute(
        sa.select(UpdateEffect).where(_effects().c.update_id == update_id)
    ).scalars()
    return {row.seq: row for row in rows}


def release(session: Session, update_id: int, *, holder: str) -> None:
    """Give up the claim of an update that could not be handled (it is handled afresh when
    Telegram delivers it again)."""
    table = _table()
    deleted = session.execute(
        sa.delete(table).where(
            table.c.update_id == update_id, table.c.holder == holder, table.c.done_at.is_(None)
        )
    )
    if getattr(deleted, "rowcount", 0):
        session.execute(sa.delete(_effects()).where(_effects().c.update_id == update_id))


def prune(session: Session, now: dt.datetime, *, keep: dt.timedelta = KEEP) -> int:
    """Delete up to :data:`PRUNE_BATCH` rows handled before ``now - keep``, and claims whose
    lease ran out that long ago; the number deleted (call again while it is a full batch)."""
    table = _table()
    cutoff = now - keep
    old = (
        sa.select(table.c.update_id)
        .where(
            sa.or_(
                table.c.done_at < cutoff,
                sa.and_(table.c.done_at.is_(None), table.c.claimed_until < cutoff),
            )
        )
        .order_by(table.c.update_id)
        .limit(PRUNE_BATCH)
        # Every replica runs the nightly job: each takes rows nobody else is deleting.
        .with_for_update(skip_locked=True)
    )
    ids = list(session.execute(old).scalars())
    if not ids:
        return 0
    session.execute(sa.delete(_effects()).where(_effects().c.update_id.in_(ids)))
    result = session.execute(sa.delete(table).where(table.c.update_id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def count(session: Session) -> int:
    """Rows kept (for tests and the benchmark)."""
    return int(session.execute(sa.select(sa.func.count()).select_from(_table())).scalar_one())


# -- one update per person at a time across processes (PostgreSQL) -----------------------------

# Keys of our advisory locks: this namespace in the top bits, the Telegram user id (at most
# 52 bits) in the rest, so they never meet other advisory locks of the application.
PERSON_NAMESPACE: Final = 0x2D5 << 52


def person_key(user_id: int) -> int:
    """The advisory lock key of a Telegram user."""
    return PERSON_NAMESPACE | (user_id & ((1 << 52) - 1))


def psycopg_conninfo(url: str) -> str:
    """The psycopg connection string of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PersonLocks:
    """Session advisory locks per person, all on one autocommit connection of this process
    (which also writes the effect journal: :meth:`record_effect`).

    A lock is taken with ``pg_try_advisory_lock`` and, while another process holds it, tried
    again after a short pause (a blocking ``pg_advisory_lock`` would need a connection per
    waiting update). Callers serialise one person's updates inside the process themselves:
    the same session could take the same lock twice.
    """

    def __init__(self, url: str) -> None:
        self.conninfo = psycopg_conninfo(url)
        self._connection: Any = None
        self._connecting = asyncio.Lock()
        self.waits = 0  # tries that found the lock held by another process

    async def _execute(self, sql: str, key: int) -> bool:
        row = await self._run(sql, (key,))
        return bool(row[0]) if row is not None else False

    async def _run(self, sql: str, params: tuple[object, ...]) -> Any:
        import psycopg

        for attempt in (1, 2):
            async with self._connecting:
                if self._connection is None or self._connection.closed:
                    if self._connection is not None:
                        logger.warning("Lost the advisory lock connection; reconnecting")
                    self._connection = await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True
                    )
                connection = self._connection
            try:
                cursor = await connection.execute(sql, params)
                return await cursor.fetchone() if cursor.description is not None else None
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                await connection.close()
        return None

    async def acquire(self, user_id: int, timeout: float) -> bool:
        """Take the person's lock, waiting up to ``timeout`` seconds; False if not taken."""
        key = person_key(user_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = 0.005
        while True:
            if await self._execute("SELECT pg_try_advisory_lock(%s)", key):
                return True
            self.waits += 1
            if loop.time() + pause > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def record_effect(
        self,
        update_id: int,
        seq: int,
        method: str,
        *,
        message_id: int | None = None,
        sent_date: int | None = None,
        chat_type: str | None = None,
    ) -> None:
        """:func:`record_effect` on this connection: no worker thread to wait for, so the
        journal is written within a round trip of Telegram's answer."""
        await self._run(
            "INSERT INTO update_effect (update_id, seq, method, message_id, sent_date, chat_type)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (update_id, seq, method, message_id, sent_date, chat_type),
        )

    async def release(self, user_id: int) -> None:
        """Let the person's next update run, here or in another process."""
        await self._execute("SELECT pg_advisory_unlock(%s)", person_key(user_id))

    async def close(self) -> None:
        """Close the connection (every lock still held goes with it)."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
