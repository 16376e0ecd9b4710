"""One send budget per bot token, shared by every bot process on it.

Telegram allows a bot about 30 messages a second overall and one a second per chat, counted
per token, not per process. Each process pacing itself is not enough: two processes each at
27.5 a second drew 429s on 44% of their sends. So the pacing lives in the database.

**Overall: one row per token, a virtual-time token bucket** (the generic cell rate algorithm).
The row ``send_budget`` holds ``next_at``, the moment the next message may start. A grant of
``n`` messages is one atomic statement::

    next_at := GREATEST(next_at, clock_timestamp()) + n * interval  RETURNING ...

and the process gets the ``n`` start times ``next_at - n·interval``, ``... + interval``, ...,
each a full interval after the one before, whichever process holds it. Row locking makes the
statement atomic; no two grants overlap, so all processes together start at most
``1 / interval`` messages a second, evenly spread (a batch is spread too: it saves round trips
without bunching). The slots are instants on the database's clock, so processes on several
machines agree; each process places them on its own clock through the measured offset
between the two (:meth:`SharedBudget._take_slots`). A slot a process could not use in time
(its event loop was busy for more than :data:`MAX_LATE`) is skipped, never sent late next to
the slots of the others.

Why not one elected sender (an advisory lock, with fail-over)? It would pace exactly, but
every message would go through one process: the others would hand their rows over (or it
would claim them all) and a sender that stalls or dies stops every reminder until the lock
moves. With the shared bucket each process keeps sending what it claimed, a dead process
costs nothing but its in-flight rows (leases), and the price is one small UPDATE per eight
messages on one row, which PostgreSQL does thousands of times a second.

**Per chat: a gate row per chat** (``send_chat``: ``next_at`` per token and chat). The claim of
reminder rows (storage/plans/reminders.py) only takes rows whose chat gate is open and, in the
same transaction, closes the gate of every chat it takes (for the longest a send may take);
when Telegram answers, the gate opens again a little over a second later (:func:`open_chats`).
Two processes can therefore never have messages to one chat in flight together, nor send to
it twice within a second. A 429 keeps the chat's gate closed for ``retry_after`` and pauses
the whole budget briefly, for every process.

SQLite is one process: :class:`SendLimiter` paces in memory behind the same interface
(:class:`SharedBudget` is its PostgreSQL form).

Interactive replies (answers to what people write) are sent by the handlers directly and are
not drawn from this budget; the reminders leave room for them (:func:`reminder_rate`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlmodel import Field, Session, SQLModel

from storage.db import Database
from storage.people.models import Staff
from storage.types import UTCDateTime

# Telegram's limits for a bot without paid broadcasts (messages a second) and with them.
FREE_LIMIT: Final = 30.0
FREE_RATE: Final = 27.5
PAID_LIMIT: Final = 1000.0
# Left to interactive replies: at least this many messages a second, or this share of the rate.
RESERVE_MIN: Final = 2.5
RESERVE_SHARE: Final = 0.05
# One message per chat starts this long after the previous one to it was answered.
PER_CHAT_INTERVAL: Final = 1.05
# A slot more than this late is skipped (sending it would bunch it with the next one).
MAX_LATE: Final = 0.05
# The most slots taken in one grant (one round trip for several messages).
MAX_BATCH: Final = 8
# Seconds the database clock's offset from ours is estimated over (clocks drift apart), and
# the fewest readings of it a grant's slots are placed with.
OFFSET_MEMORY: Final = 60.0
CALIBRATION_SAMPLES: Final = 5
# Answered chats' gates are opened together, this many seconds' worth at a time.
OPEN_BATCH: Final = 0.05
# After a 429 the whole budget pauses this many intervals.
PAUSE_INTERVALS: Final = 4
# The gate of a chat in flight is closed for at most this long (the longest a send is held,
# the dispatcher's MAX_HOLD): a process that died while sending holds it no longer.
HOLD_LIMIT: Final = 90.0


class SendBudgetRow(SQLModel, table=True):
    """The overall budget of one bot token: when its next message may start."""

    __tablename__ = "send_budget"

    bot_key: str = Field(primary_key=True, max_length=32)
    next_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ChatGate(SQLModel, table=True):
    """When the next message of one bot token to one chat may start."""

    __tablename__ = "send_chat"

    bot_key: str = Field(primary_key=True, max_length=32)
    chat_id: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    next_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


def bot_key(token: str | None) -> str:
    """The budget's key: the bot's numeric id (the part of the token before the colon), so
    the secret part of the token is never stored."""
    return (token or "local").split(":", 1)[0][:32]


def total_rate(send_rate: float, *, paid_broadcast: bool) -> float:
    """Messages a second the bot may send: ``send_rate``, at most 27.5 without paid
    broadcasts (Telegram allows 30) and at most 1,000 with them."""
    return min(send_rate, PAID_LIMIT if paid_broadcast else FREE_RATE)


def reminder_rate(send_rate: float, *, paid_broadcast: bool) -> float:
    """What the reminders draw: the total less a reserve for interactive replies (2.5 a
    second, or 5% of the rate when that is more): 25 a second by default, 950 at 1,000."""
    total = total_rate(send_rate, paid_broadcast=paid_broadcast)
    return max(total - max(RESERVE_MIN, RESERVE_SHARE * total), 0.5)


# -- statements (PostgreSQL) -------------------------------------------------------------------

_GRANT = sa.text(
    """
    INSERT INTO send_budget (bot_key, next_at)
    VALUES (:key, clock_timestamp() + make_interval(secs => :span))
    ON CONFLICT (bot_key) DO UPDATE
        SET next_at = GREATEST(send_budget.next_at, clock_timestamp())
                      + make_interval(secs => :span)
    RETURNING next_at - make_interval(secs => :span) AS first, clock_timestamp() AS at
    """
).columns(sa.column("first", UTCDateTime()), sa.column("at", UTCDateTime()))


@dataclass(frozen=True)
class Grant:
    """Slots taken from a budget: the first starts at ``first``, the rest an interval apart;
    ``at`` is when they were taken (both on the database's clock)."""

    first: dt.datetime
    at: dt.datetime

    @property
    def wait(self) -> float:
        """Seconds from when they were taken until the first (0 or less: at once)."""
        return (self.first - self.at).total_seconds()


def grant(session: Session, *, key: str, count: int, interval: float) -> Grant:
    """Take ``count`` consecutive slots ``interval`` seconds apart from ``key``'s budget."""
    row = session.execute(_GRANT, {"key": key, "span": count * interval}).one()
    return Grant(row.first, row.at)


def database_clock(session: Session) -> dt.datetime:
    """The database's clock now (``clock_timestamp()``, not the transaction's start)."""
    return session.execute(
        sa.text("SELECT clock_timestamp() AS at").columns(sa.column("at", UTCDateTime()))
    ).scalar_one()


def pause(session: Session, *, key: str, seconds: float) -> None:
    """No message of ``key`` starts within ``seconds`` from now (after a 429)."""
    session.execute(
        sa.text(
            "UPDATE send_budget SET next_at = GREATEST(next_at, clock_timestamp()"
            " + make_interval(secs => :seconds)) WHERE bot_key = :key"
        ),
        {"key": key, "seconds": seconds},
    )


def chat_open(key: str, staff_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """A where-condition: the chat of the staff member ``staff_id`` has an open gate (for
    the claim; one primary-key lookup in ``staff`` and one in ``send_chat`` per row)."""
    gate = ChatGate.__table__  # type: ignore[attr-defined]
    staff = Staff.__table__  # type: ignore[attr-defined]
    closed = (
        sa.select(sa.literal(1))
        .select_from(staff.join(gate, gate.c.chat_id == staff.c.telegram_id))
        .where(staff.c.id == staff_id, gate.c.bot_key == key, gate.c.next_at > sa.func.now())
    )
    return ~sa.exists(closed)


def close_chats(session: Session, *, key: str, chat_ids: Iterable[int], hold: float) -> set[int]:
    """Close the gates of ``chat_ids`` that are open, for ``hold`` seconds; returns the chats
    taken. A chat another process holds is left out (its row waits for the next claim).

    One statement; the gates are taken in chat order, so two processes never deadlock."""
    # PostgreSQL only: its dialect is imported here, not with the module (a start on SQLite
    # would load it for nothing, about 25 ms).
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    chats = sorted(set(chat_ids))
    if not chats:
        return set()
    gate = ChatGate.__table__  # type: ignore[attr-defined]
    until = sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, hold)
    statement = pg_insert(gate).values(
        [{"bot_key": key, "chat_id": chat, "next_at": until} for chat in chats]
    )
    taking = statement.on_conflict_do_update(
        index_elements=[gate.c.bot_key, gate.c.chat_id],
        set_={"next_at": until},
        where=gate.c.next_at <= sa.func.now(),
    ).returning(gate.c.chat_id)
    return set(session.execute(taking).scalars())


def open_chats(session: Session, *, key: str, after: Mapping[int, float]) -> None:
    """Messages to these chats were answered: the gate of each (closed while its message was
    in flight) opens its ``after`` seconds from now, for every process. One round trip."""
    if not after:
        return
    session.execute(
        sa.text(
            "UPDATE send_chat SET next_at = clock_timestamp() + make_interval(secs => :after)"
            " WHERE bot_key = :key AND chat_id = :chat"
        ),
        [{"key": key, "chat": chat, "after": seconds} for chat, seconds in sorted(after.items())],
    )


def chat_wait(session: Session, *, key: str, chat_id: int, hold: float) -> float:
    """Take one chat's gate for ``hold`` seconds (a message outside the claim, e.g. a digest):
    0 when taken, else the seconds until it opens."""
    if close_chats(session, key=key, chat_ids=[chat_id], hold=hold):
        return 0.0
    wait = session.execute(
        sa.text(
            "SELECT EXTRACT(EPOCH FROM next_at - clock_timestamp()) FROM send_chat"
            " WHERE bot_key = :key AND chat_id = :chat"
        ),
        {"key": key, "chat": chat_id},
    ).scalar()
    return max(float(wait or 0.0), 0.01)


# -- the pacers ----------------------------------------------------------------------------------


class SendLimiter:
    """Paces one process's sends in memory (SQLite, or tests): the same interface as
    :class:`SharedBudget`.

    Overall, sends start at least ``1/per_second`` apart. Per chat, a send starts
    ``per_chat_interval`` after the previous one to that chat was *answered*, so jitter
    cannot bring two closer than a second at Telegram's end. A 429 pushes that chat's next
    send back by ``retry_after``.
    """

    gate: str | None = None  # the claim needs no chat gates: one process

    def __init__(
        self,
        *,
        per_second: float = FREE_RATE,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.interval = 1.0 / per_second
        self.per_chat_interval = per_chat_interval
        self._clock = clock
        self._next_slot = 0.0
        self._chat_ready: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self.skipped = 0  # slots skipped because they came too late (shared budget)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may start."""
        ready = self._chat_ready.get(chat_id, 0.0)
        delay = ready - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        # Sends queue here one by one (the lock is fair), in slot order.
        async with self._lock:
            await self._overall()

    async def _overall(self) -> None:
        # Each start at least one interval after the previous one actually started, so a late
        # wake-up never bunches the next.
        delay = self._next_slot - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        self._next_slot = self._clock() + self.interval

    async def hold(self, chat_id: int) -> None:
        """Take ``chat_id`` for a message outside the claim (a digest); in one process the
        per-chat spacing of :meth:`acquire` is enough."""

    async def flush(self) -> None:
        """Write what is kept for a moment (the shared budget's gates): nothing here."""

    async def done(self, chat_id: int) -> None:
        """The send to ``chat_id`` was answered (or failed): space the next one from now."""
        ready = self._clock() + self.per_chat_interval
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), ready)
        if len(self._chat_ready) > 10_000:
            now = self._clock()
            self._chat_ready = {c: r for c, r in self._chat_ready.items() if r > now}

    async def back_off(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429 for ``chat_id``: nothing more to it for ``seconds``."""
        self._chat_ready[chat_id] = self._clock() + seconds
        # Slow everyone down a little too: the 429 may be the overall limit.
        self._next_slot = max(self._next_slot, self._clock() + self.interval * PAUSE_INTERVALS)


class SharedBudget(SendLimiter):
    """The budget of one bot token shared through PostgreSQL by every process on it (see the
    module doc); in-process per-chat spacing as :class:`SendLimiter`, plus the chat gates."""

    def __init__(
        self,
        db: Database,
        *,
        key: str,
        per_second: float,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        batch: int = MAX_BATCH,
        max_late: float = MAX_LATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(per_second=per_second, per_chat_interval=per_chat_interval, clock=clock)
        self.db = db
        self.key = key
        self.gate = key
        self.batch = batch
        self.max_late = max_late
        self._slots: deque[float] = deque()
        self._offsets: deque[tuple[float, float]] = deque()
        self._opening: dict[int, float] = {}
        self._opener: asyncio.Task[None] | None = None
        self._waiting = 0

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may start (a slot of the shared budget)."""
        self._waiting += 1
        try:
            await super().acquire(chat_id)
        finally:
            self._waiting -= 1

    async def _overall(self) -> None:
        while True:
            if not self._slots:
                await self._take_slots()
            slot = self._slots.popleft()
            delay = slot - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
                delay = slot - self._clock()
            if delay < -self.max_late:
                # Too late (this process was held up): sent now it would bunch with the slots
                # of the other processes that follow. Skipped; the budget loses one slot.
                self.skipped += 1
                continue
            return

    async def _take_slots(self) -> None:
        # The slots are instants on the database's clock: on ours they are those instants
        # less the offset between the two clocks. A reading of the database's clock was taken
        # before its answer arrived, so the offset is at least ``at - answered``; the largest
        # such bound of the last minute (a quick round trip) is close to the true offset.
        # Taking ``answered + wait`` instead would move the slots as late as the answer was
        # slow (a busy machine), onto the slots of the other processes.
        now = self._clock()
        while self._offsets and self._offsets[0][0] < now - OFFSET_MEMORY:
            self._offsets.popleft()
        while len(self._offsets) < CALIBRATION_SAMPLES:
            # At start and after a quiet minute: a few readings before the slots land.
            at = await self.db.run(database_clock)
            answered = self._clock()
            self._offsets.append((answered, at.timestamp() - answered))
        count = max(1, min(self.batch, self._waiting))
        taken = await self.db.run(grant, key=self.key, count=count, interval=self.interval)
        answered = self._clock()
        self._offsets.append((answered, taken.at.timestamp() - answered))
        offset = max(bound for _, bound in self._offsets)
        first = taken.first.timestamp() - offset
        self._slots.extend(first + i * self.interval for i in range(count))

    async def hold(self, chat_id: int) -> None:
        """Wait until this process holds ``chat_id``'s gate."""
        while True:
            wait = await self.db.run(chat_wait, key=self.key, chat_id=chat_id, hold=HOLD_LIMIT)
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, 5.0))

    async def done(self, chat_id: int) -> None:
        """Answered: the chat's gate opens a little over a second from now (or when a 429's
        ``retry_after`` has passed), for every process. Written with the others answered
        within :data:`OPEN_BATCH` seconds, in one round trip (a gate opening a little late
        is safe)."""
        await super().done(chat_id)
        self._opening[chat_id] = self._chat_ready[chat_id]
        if self._opener is None or self._opener.done():
            self._opener = asyncio.create_task(self._open_gates())

    async def _open_gates(self) -> None:
        await asyncio.sleep(OPEN_BATCH)
        ready, self._opening = self._opening, {}
        now = self._clock()
        after = {chat: max(at - now, 0.0) for chat, at in ready.items()}
        await self.db.run(open_chats, key=self.key, after=after)

    async def flush(self) -> None:
        """Write the gates still to be opened (at the end of a dispatcher run)."""
        if self._opener is not None:
            await self._opener

    async def back_off(self, chat_id: int, seconds: float) -> None:
        """429: the chat waits ``seconds`` (its gate says so at :meth:`done`, which follows
        every send) and the whole budget pauses, for every process."""
        await super().back_off(chat_id, seconds)
        self._slots.clear()
        await self.db.run(pause, key=self.key, seconds=self.interval * PAUSE_INTERVALS)


def budget_for(
    db: Database, *, token: str | None, send_rate: float, paid_broadcast: bool
) -> SendLimiter:
    """The reminders' budget: shared on PostgreSQL, in memory on SQLite (one process)."""
    rate = reminder_rate(send_rate, paid_broadcast=paid_broadcast)
    if db.dialect == "postgresql":
        return SharedBudget(db, key=bot_key(token), per_second=rate)
    return SendLimiter(per_second=rate)
