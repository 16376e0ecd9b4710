"""The reminder dispatcher: claims due reminder rows, sends them within Telegram's limits and
records the outcome. The database is the source of truth; the JobQueue only wakes this.

How a reminder travels: ``pending`` → (claimed atomically) ``sending`` → ``sent``, or back to
``pending`` (429, network error), or ``undeliverable`` (403), ``cancelled`` (the plan changed)
or ``stale`` (no longer useful). Nothing is dropped: a row leaves ``pending``/``sending`` only
for a final state.

Claiming. PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` and, in the same transaction, an
UPDATE to ``sending`` with this process's ``claimed_by`` and ``claimed_at``: any number of bot
processes may share one database and never claim the same row. SQLite: one conditional
``UPDATE ... WHERE state = 'pending' AND due_at <= now`` claims the rows atomically; SQLite is
supported for **one bot process** only (the file lives on one machine, and at start-up every
``sending`` row is taken to belong to a previous, dead run of that one process).

Leases and start-up. A row stays ``sending`` only while this process sends it (at most
:data:`MAX_HOLD` seconds, far below the lease). A ``sending`` row whose claim is older than the
lease (:data:`LEASE`, 5 minutes) belongs to a process that died: it goes back to ``pending``
and is sent again. On SQLite that recovery happens at once at start-up; on PostgreSQL when the
lease runs out (another live process may still hold the row until then). Reminders that fell
due while the bot was down are sent at start-up while still useful
(``still_useful`` in storage/plans/duetimes.py); several missed reminders for one
follow-up collapse into the latest; the rest are marked ``stale``. Nothing is sent in the
quiet hours (20:00–07:00 local): rows due then wait until 07:00.

**The duplicate window.** A reminder is sent twice only if Telegram accepted the
``sendMessage`` but the row was not committed as ``sent`` afterwards: the process died (or was
killed, or lost its database connection) in the instant between Telegram's answer and the
commit of ``sent`` — a few milliseconds per message — or the answer itself was lost on the
network (a time-out or dropped connection after Telegram had received the request). In both
cases the bot cannot know whether the message arrived; it sends it again rather than risk
losing it. At most one extra copy per reminder and incident; the rows that can be affected
are only those in flight at that moment (at most :data:`MAX_IN_FLIGHT`).

Telegram errors. 429 ``RetryAfter``: the chat (and the pacing) waits ``retry_after`` and the
message is retried; not counted as a failure; a long wait gives the row back as ``pending``
until then. 403 ``Forbidden`` (and 400 "chat not found"): the row is ``undeliverable`` and a
notice row is planned for the plan's responsible, or an admin when the responsible is the one
who cannot be reached. ``NetworkError``/``TimedOut``: back to ``pending`` with exponential
backoff (15 s doubling, at most 15 minutes), ``attempts`` counted; never given up.

Throughput. Messages to different chats go out concurrently, paced by the send budget
(storage/sendbudget.py): on PostgreSQL one budget per bot token shared by every process
(a token-bucket row in the database, and per-chat gates the claim respects), on SQLite one
process paced in memory. The reminders draw ``send_rate`` less a reserve for interactive
replies (25 a second by default, below Telegram's 30), one a second per chat after the
previous one to it was answered, at most one message per chat in flight, so 429s stay rare.
With ``allow_paid_broadcast`` the sends say so and ``send_rate`` may go up to 1,000.

Priority. When more is due than the budget sends at once (a national morning), the claim
takes escalations and bounce notices first, then day-of reminders, overdue notices and
"remind me tomorrow", then earlier reminders; the daily digests follow once nothing is due.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from handlers.plans.reminder_texts import digest_text, reminder_buttons, reminder_text
from storage.db import Database
from storage.plans import reminders as store
from storage.plans.duetimes import ReminderPolicy, WorkCalendar
from storage.sendbudget import HOLD_LIMIT, SendLimiter

logger = logging.getLogger(__name__)

T = TypeVar("T", covariant=True)
R = TypeVar("R")


class Failure(Protocol[T]):
    """How a failed send is recorded: store.retry_later or store.mark_undeliverable."""

    def __call__(
        self, session: Session, /, *, reminder_id: int, owner: str, now: dt.datetime, error: str
    ) -> T: ...


LEASE: Final = dt.timedelta(minutes=5)
MAX_IN_FLIGHT: Final = 48
# The longest a claimed row is held while sending: budget waits, HTTP time-outs and short
# in-place 429 waits. Kept far below LEASE so a live process never loses a row it holds; the
# chat's gate in the shared budget is closed for as long.
MAX_HOLD: Final = HOLD_LIMIT
MAX_IN_PLACE_WAIT: Final = 5.0
MAX_IN_PLACE_RETRIES: Final = 3
# The daily digest goes out from the send time until noon, on working days.
DIGEST_UNTIL: Final = dt.time(12, 0)
# Due rows left only because their chat is busy (PostgreSQL, another process): look again.
BLOCKED_PAUSE: Final = 0.25


def process_id() -> str:
    """Who claims rows: host, process id and a random part (a restarted pid is new)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def retry_seconds(error: RetryAfter) -> float:
    """``retry_after`` in seconds, whatever PTB's int/timedelta setting."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


@dataclass
class DispatchStats:
    """Counters since start-up (for logs, the benchmark and tests)."""

    sent: int = 0
    rate_limited: int = 0
    network_errors: int = 0
    undeliverable: int = 0
    settled: int = 0
    recovered: int = 0
    digests: int = 0
    lost_claims: int = 0
    # Seconds sends waited for the send budget (overall and per chat), summed.
    budget_wait_seconds: float = 0.0
    # Claims that found due rows only for chats busy in another process (then a short pause).
    busy_chat_pauses: int = 0
    # Budget slots this process could not use in time (a busy machine), left unused.
    budget_slots_skipped: int = 0


class Dispatcher:
    """Sends due reminders; one per process, woken by the JobQueue (see the module doc)."""

    def __init__(
        self,
        *,
        db: Database,
        send: Callable[..., Awaitable[Message]],
        clock: Callable[[], dt.datetime],
        policy: ReminderPolicy,
        calendar: WorkCalendar,
        is_running: Callable[[], bool] = lambda: True,
        budget: SendLimiter | None = None,
        paid_broadcast: bool = False,
        owner: str | None = None,
        lease: dt.timedelta = LEASE,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.db, self._send, self.clock = db, send, clock
        self.policy, self.calendar = policy, calendar
        self.is_running = is_running
        self.budget = budget or SendLimiter()
        # Telegram's paid broadcasts (settings.allow_paid_broadcast): said on every send.
        self._paid = {"allow_paid_broadcast": True} if paid_broadcast else {}
        self.owner = owner or process_id()
        self.lease = lease
        self.max_in_flight = max_in_flight
        self.stats = DispatchStats()
        self._lock = asyncio.Lock()
        self._started = False
        self._again = False

    @property
    def busy(self) -> bool:
        """True while a run is in progress."""
        return self._lock.locked()

    def wake(self, spawn: Callable[..., object]) -> None:
        """Start a run with ``spawn`` (e.g. ``application.create_task``) unless one runs; a
        running one then makes another pass, so no wake-up is lost."""
        if self.busy:
            self._again = True
            return
        spawn(self.run_once())

    async def run_once(self) -> None:
        """Recover, send everything due, then the daily digests. Runs one at a time."""
        async with self._lock:
            self._again = True
            while self._again and self.is_running():
                self._again = False
                await self._recover()
                if self.policy.is_quiet(self._local_now().time()):
                    return
                try:
                    await self._drain()
                    await self._send_digests()
                finally:
                    await self.budget.flush()

    # -- steps --------------------------------------------------------------------------------

    async def _recover(self) -> None:
        startup = not self._started
        self._started = True
        # SQLite: one process, so at start-up every in-flight row is an orphan of a dead run.
        lease = dt.timedelta(0) if startup and self.db.dialect == "sqlite" else self.lease
        count = await self.db.run(store.recover_stuck, now=self.clock(), lease=lease)
        if count:
            self.stats.recovered += count
            logger.warning("recovered %d reminders left in flight by a stopped process", count)

    async def _drain(self) -> None:
        in_flight: dict[asyncio.Task[None], int] = {}
        while True:
            room = self.max_in_flight - len(in_flight)
            found, blocked = 0, False
            if room > 0 and self.is_running():
                claim = await self.db.run(
                    store.claim_due,
                    owner=self.owner,
                    now=self.clock(),
                    limit=room,
                    busy=in_flight.values(),
                    tz=self.policy.tz,
                    gate=self.budget.gate,
                    hold=MAX_HOLD,
                )
                found, blocked = claim.found, claim.blocked
                self.stats.settled += claim.settled
                for delivery in claim.deliveries:
                    task = asyncio.create_task(self._deliver_bounded(delivery))
                    in_flight[task] = delivery.staff_id
            if not in_flight:
                if found:
                    continue  # the claim only settled stale/cancelled rows: look again
                if blocked and self.is_running():
                    # Due rows wait for chats another process is sending to: soon free.
                    self.stats.busy_chat_pauses += 1
                    await asyncio.sleep(BLOCKED_PAUSE)
                    continue
                return
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                in_flight.pop(task)
                if not task.cancelled() and task.exception() is not None:
                    logger.error("sending a reminder failed", exc_info=task.exception())

    async def _deliver_bounded(self, delivery: store.Delivery) -> None:
        try:
            await asyncio.wait_for(self._deliver(delivery), MAX_HOLD)
        except TimeoutError:
            # Telegram may or may not have it (the duplicate window); give it back to retry.
            self.stats.network_errors += 1
            await self._failed(store.retry_later, delivery.reminder_id, "hold time exceeded")

    async def _deliver(self, delivery: store.Delivery) -> None:
        today = self._local_now().date()
        text = reminder_text(delivery, today, overdue_notices=self.policy.overdue_notices)
        markup = reminder_buttons(delivery, today)
        outcome = await self._send_paced(delivery.chat_id, text, markup, html=True)
        rid, owner = delivery.reminder_id, self.owner
        if isinstance(outcome, Message):
            marked = await self.db.run(
                store.mark_sent,
                reminder_id=rid,
                owner=owner,
                message_id=outcome.message_id,
                now=self.clock(),
            )
            self.stats.sent += 1
            if not marked:
                self.stats.lost_claims += 1
                logger.warning("reminder %s was sent but its claim had been taken back", rid)
        elif isinstance(outcome, RetryAfter):
            until = self.clock() + dt.timedelta(seconds=retry_seconds(outcome))
            await self.db.run(
                store.postpone, reminder_id=rid, owner=owner, until=until, error="429 retry after"
            )
        elif isinstance(outcome, Forbidden | BadRequest):
            self.stats.undeliverable += 1
            target = await self._failed(store.mark_undeliverable, rid, type(outcome).__name__)
            logger.info(
                "reminder %s undeliverable (%s); notice to staff %s",
                rid,
                type(outcome).__name__,
                target,
            )
            self._again = True  # the notice row is due now
        else:
            self.stats.network_errors += 1
            due = await self._failed(store.retry_later, rid, type(outcome).__name__)
            logger.info("reminder %s hit %s; retry at %s", rid, type(outcome).__name__, due)

    async def _failed(self, record: Failure[R], reminder_id: int, error: str) -> R:
        """Record with ``record`` (store.retry_later or store.mark_undeliverable) that sending
        the claimed reminder failed with ``error``."""
        return await self.db.run(
            record, reminder_id=reminder_id, owner=self.owner, now=self.clock(), error=error
        )

    async def _send_paced(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None, *, html: bool = False
    ) -> Message | TelegramError:
        """Send once within the limits (``html``: a formatted text); short 429 waits are
        retried in place."""
        options: dict[str, object] = {"parse_mode": ParseMode.HTML} if html else {}
        options.update(self._paid)
        try:
            for attempt in range(MAX_IN_PLACE_RETRIES + 1):
                waited = time.monotonic()
                await self.budget.acquire(chat_id)
                self.stats.budget_wait_seconds += time.monotonic() - waited
                self.stats.budget_slots_skipped = self.budget.skipped
                try:
                    return await self._send(
                        chat_id=chat_id, text=text, reply_markup=markup, **options
                    )
                except RetryAfter as error:
                    wait = retry_seconds(error)
                    self.stats.rate_limited += 1
                    await self.budget.back_off(chat_id, wait)
                    if wait > MAX_IN_PLACE_WAIT or attempt == MAX_IN_PLACE_RETRIES:
                        return error
                except TelegramError as error:
                    # Forbidden, BadRequest, NetworkError/TimedOut...: the caller decides.
                    return error
        finally:
            # Only now, not between in-place retries: the chat is this process's until then.
            await self.budget.done(chat_id)
        raise AssertionError("unreachable")

    async def _send_digests(self) -> None:
        local = self._local_now()
        today = local.date()
        window = self.policy.clamp(self.policy.send_at) <= local.time() < DIGEST_UNTIL
        if not window or not self.calendar.is_working_day(today):
            return
        week_end = today + dt.timedelta(days=6 - today.weekday())
        while self.is_running():
            batch = await self.db.run(store.claim_digests, today=today, limit=100)
            if not batch:
                return
            await asyncio.gather(*(self._send_digest(r, today, week_end) for r in batch))

    async def _send_digest(
        self, recipient: store.DigestRecipient, today: dt.date, week_end: dt.date
    ) -> None:
        items = await self.db.run(
            store.digest_items, staff_id=recipient.staff_id, start=today, end=week_end
        )
        text = digest_text(items, today, recipient.lang)
        if text is None:
            return  # nothing this week: no message (the day still counts as done)
        await self.budget.hold(recipient.chat_id)  # no reminder to that chat meanwhile
        outcome = await self._send_paced(recipient.chat_id, text, None)
        if isinstance(outcome, Message):
            self.stats.digests += 1
        elif isinstance(outcome, NetworkError | RetryAfter) and not isinstance(outcome, BadRequest):
            await self.db.run(
                store.give_back_digest,
                staff_id=recipient.staff_id,
                today=today,
                previous=recipient.previous,
            )

    def _local_now(self) -> dt.datetime:
        return self.clock().astimezone(self.policy.tz)
