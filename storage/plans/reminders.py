"""Reminder rows: planning them from a plan, and the dispatcher's claim/mark cycle.

The database is the source of truth. :func:`sync_plan_reminders` turns a plan's current
follow-up into pending rows (called in the same transaction as every plan change); the
dispatcher (``handlers/plans/dispatcher.py``) claims due rows with :func:`claim_due`, sends them and
records the outcome with :func:`mark_sent`, :func:`release` or :func:`mark_undeliverable`.
Each function takes the session first and does one unit of work.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypedDict, Unpack
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage import sendbudget
from storage.people import store as staff_store
from storage.people.models import Role, Staff
from storage.plans.duetimes import (
    STOCKHOLM,
    PlannedReminder,
    ReminderPolicy,
    WorkCalendar,
    overdue_schedule,
    reminder_schedule,
    snooze_until,
    still_useful,
    upcoming,
)
from storage.plans.models import (
    Plan,
    PlanParticipant,
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderState,
    StaffPreference,
)

logger = logging.getLogger(__name__)

# (staff_id, kind, follow_up_date, seq): the unique key of a row within one plan.
RowKey = tuple[int, str, dt.date, int]

PENDING: Final = ReminderState.PENDING.value
SENDING: Final = ReminderState.SENDING.value
PLANNED_KINDS: Final = frozenset(
    {ReminderKind.BEFORE.value, ReminderKind.OVERDUE.value, ReminderKind.ESCALATION.value}
)
# Kinds the recipient can act on from the message (held / remind me tomorrow / new date).
ACTIONABLE_KINDS: Final = frozenset(
    {ReminderKind.BEFORE.value, ReminderKind.OVERDUE.value, ReminderKind.SNOOZE.value}
)
# Rows a change stopped that the same follow-up booked again may bring back.
STOPPED: Final = frozenset({ReminderState.CANCELLED.value, ReminderState.HELD.value})
# Network errors back off exponentially from this, up to the cap; they are never dropped.
BACKOFF_BASE: Final = dt.timedelta(seconds=15)
BACKOFF_CAP: Final = dt.timedelta(minutes=15)
ERROR_MAX: Final = 64
# A row given back: pending again, held by no process.
UNCLAIMED: Final = {"state": PENDING, "claimed_by": None, "claimed_at": None}


class Scheduling(TypedDict):
    """What planning reminders needs besides the plan: the policy, the working calendar and
    the moment of the change (every plan change in storage/plans/store.py takes these)."""

    policy: ReminderPolicy
    calendar: WorkCalendar
    now: dt.datetime


def _stored_kind(planned: PlannedReminder) -> str:
    # A day-of reminder is stored as a ``before`` row with seq 0 (see PlannedReminder.seq).
    return ReminderKind.BEFORE.value if planned.kind == "day_of" else planned.kind


# -- planning --------------------------------------------------------------------------------


def _recipients(session: Session, plan: Plan) -> list[int]:
    """The active responsible and participants of ``plan``, responsible first."""
    participant_ids = session.exec(
        select(PlanParticipant.staff_id).where(PlanParticipant.plan_id == plan.id)
    ).all()
    wanted = [plan.responsible_id, *sorted(set(participant_ids) - {plan.responsible_id})]
    active = set(
        session.exec(
            select(Staff.id).where(col(Staff.id).in_(wanted), col(Staff.active).is_(True))
        ).all()
    )
    return [staff_id for staff_id in wanted if staff_id in active]


def planned_rows(
    session: Session,
    plan: Plan,
    *,
    policy: ReminderPolicy,
    calendar: WorkCalendar,
    recipients: list[int] | None = None,
) -> dict[RowKey, dt.datetime]:
    """Every row the plan's current follow-up calls for (past ones included), with due times."""
    day = plan.next_follow_up
    if plan.status != PlanStatus.ACTIVE.value or day is None:
        return {}
    if recipients is None:
        recipients = _recipients(session, plan)
    rows: dict[RowKey, dt.datetime] = {}
    for planned in reminder_schedule(day, plan.follow_up_time, policy, calendar):
        for staff_id in recipients:
            rows[(staff_id, _stored_kind(planned), day, planned.seq)] = planned.due_at
    coordinators: list[Staff] | None = None
    for planned in overdue_schedule(day, policy, calendar):
        if planned.kind == "overdue":
            if plan.responsible_id in recipients:
                rows[(plan.responsible_id, planned.kind, day, planned.seq)] = planned.due_at
            continue
        if coordinators is None:
            coordinators = staff_store.coordinators_of(session, municipality=plan.municipality)
        for coordinator in coordinators:
            assert coordinator.id is not None
            rows[(coordinator.id, planned.kind, day, planned.seq)] = planned.due_at
    return rows


def sync_plan_reminders(session: Session, *, plan_id: int, **when: Unpack[Scheduling]) -> None:
    """Bring a plan's pending reminder rows in line with its current follow-up.

    Pending rows the plan no longer calls for are cancelled (a moved date, a removed
    participant, a closed plan); pending rows it still calls for keep their row and get the
    current due time (even when that is already past: they are due and still wanted); missing
    rows are inserted only for instants still ahead (a cancelled one is revived). Sent,
    in-flight, stale and undeliverable rows are never touched, so nothing is sent twice.
    Calling it twice changes nothing. "Remind me tomorrow" rows stay while they concern the
    current follow-up and their recipient is still in the plan.
    """
    plan = session.get(Plan, plan_id)
    if plan is None:
        return
    active = plan.status == PlanStatus.ACTIVE.value and plan.next_follow_up is not None
    people = _recipients(session, plan) if active else []
    wanted = planned_rows(
        session, plan, policy=when["policy"], calendar=when["calendar"], recipients=people
    )
    fresh = {
        key
        for key, due_at in wanted.items()
        if upcoming([PlannedReminder("before", due_at)], when["now"])
    }
    current_day = plan.next_follow_up
    recipients = set(people)
    query = select(Reminder).where(Reminder.plan_id == plan_id)
    if current_day is not None:
        query = query.where(
            sa.or_(col(Reminder.state) == PENDING, col(Reminder.follow_up_date) == current_day)
        )
    else:
        query = query.where(Reminder.state == PENDING)
    seen: set[RowKey] = set()
    for row in session.exec(query):
        key: RowKey = (row.staff_id, row.kind, row.follow_up_date, row.seq)
        seen.add(key)
        if row.kind not in PLANNED_KINDS:
            _sync_extra_row(session, row, current_day, recipients)
        elif row.state == PENDING:
            _sync_pending_row(session, row, wanted.get(key))
        elif row.state in STOPPED and key in fresh:
            _revive(session, row, wanted[key])
    for key in sorted(fresh - seen):
        staff_id, kind, day, seq = key
        session.add(
            Reminder(
                plan_id=plan_id,
                staff_id=staff_id,
                kind=kind,
                seq=seq,
                follow_up_date=day,
                due_at=wanted[key],
            )
        )
    session.flush()


def _sync_pending_row(session: Session, row: Reminder, due_at: dt.datetime | None) -> None:
    if due_at is None:
        row.state = ReminderState.CANCELLED.value
        session.add(row)
    elif row.due_at != due_at and row.attempts == 0:
        # A row that is backing off after a network error keeps its retry time.
        row.due_at = due_at
        session.add(row)


def _sync_extra_row(
    session: Session, row: Reminder, current_day: dt.date | None, recipients: set[int]
) -> None:
    # Snoozes follow the follow-up they were asked for; bounce notices are left alone.
    if row.kind != ReminderKind.SNOOZE.value or row.state != PENDING:
        return
    if row.follow_up_date != current_day or row.staff_id not in recipients:
        row.state = ReminderState.CANCELLED.value
        session.add(row)


def _revive(session: Session, row: Reminder, due_at: dt.datetime) -> None:
    row.state, row.due_at, row.attempts = PENDING, due_at, 0
    row.claimed_by = row.claimed_at = row.last_error = None
    session.add(row)


def hold_reminders(session: Session, *, plan_id: int, day: dt.date) -> int:
    """The follow-up on ``day`` was recorded as held: its pending reminders (bounce notices
    apart) become ``held``, so :func:`release_held_reminders` can make exactly these pending
    again. How many."""
    table = Reminder.__table__  # type: ignore[attr-defined]
    result = session.execute(
        table.update()
        .where(table.c.plan_id == plan_id, table.c.follow_up_date == day)
        .where(table.c.state == PENDING, table.c.kind != ReminderKind.UNDELIVERED.value)
        .values(state=ReminderState.HELD.value)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_held_reminders(session: Session, *, plan_id: int, day: dt.date) -> int:
    """ "Held" was undone: the reminders it stopped are pending again, with their due times
    (rows already sent stay sent, so nothing goes out twice). How many."""
    table = Reminder.__table__  # type: ignore[attr-defined]
    result = session.execute(
        table.update()
        .where(table.c.plan_id == plan_id, table.c.follow_up_date == day)
        .where(table.c.state == ReminderState.HELD.value)
        .values(state=PENDING)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- the dispatcher's cycle ------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A claimed reminder, with everything needed to word it (plain values, no session)."""

    reminder_id: int
    kind: str
    seq: int
    plan_id: int
    reference: str
    plan_type: str
    follow_up_date: dt.date
    follow_up_time: dt.time | None
    place: str | None
    staff_id: int
    chat_id: int
    lang: str
    # For a bounce notice: the name of the person the reminder could not reach.
    unreachable_name: str | None = None


@dataclass(frozen=True)
class Claim:
    """What one claim found: rows to send, how many due rows it settled without sending, and
    whether due rows were left because their chat was busy (another message to it in flight
    or sent less than a second ago, in any process)."""

    deliveries: list[Delivery]
    settled: int
    blocked: bool = False

    @property
    def found(self) -> int:
        """How many due rows the claim took."""
        return len(self.deliveries) + self.settled


# The claim takes the most urgent first (see REMINDER_PRIORITY in storage/plans/models.py).
PRIORITIES: Final = (0, 1, 2)


def _due(table: sa.Table, *, priority: int, now: dt.datetime, limit: int) -> sa.Select[Any]:
    """The oldest due pending rows of one priority: a range of the partial index
    ``ix_reminder_claim`` (priority, due_at, id) WHERE state = 'pending'."""
    return (
        sa.select(table.c.id, table.c.staff_id)
        .where(table.c.state == PENDING, table.c.priority == priority, table.c.due_at <= now)
        .order_by(table.c.due_at, table.c.id)
        .limit(limit)
    )


def _claim_ids(
    session: Session,
    *,
    owner: str,
    now: dt.datetime,
    limit: int,
    busy: Iterable[int],
    gate: str | None,
    hold: float,
) -> tuple[list[int], bool, dict[int, int]]:
    """Atomically move up to ``limit`` due pending rows to ``sending`` for ``owner``, most
    urgent first; with ``gate`` (the shared send budget's key, PostgreSQL) at most one row
    per chat and only for chats whose gate is open, closing them for ``hold`` seconds.
    Returns the ids, whether due rows were left for a busy chat, and the chat whose gate
    each claimed row closed."""
    table = Reminder.__table__  # type: ignore[attr-defined]
    busy_ids = sorted(set(busy))
    postgres = session.get_bind().dialect.name == "postgresql"
    picked: list[tuple[int, int]] = []
    for priority in PRIORITIES:
        room = limit - len(picked)
        if room <= 0:
            break
        due = _due(table, priority=priority, now=now, limit=room)
        if busy_ids:
            # One message in flight per chat keeps the per-chat spacing short, leases honest.
            due = due.where(table.c.staff_id.not_in(busy_ids))
        if gate is not None:
            due = due.where(sendbudget.chat_open(gate, table.c.staff_id))
        if postgres:
            # Rows another dispatcher holds are skipped, not waited for; the UPDATE below
            # runs while this transaction holds the row locks: no two processes claim one row.
            locked = session.execute(due.with_for_update(skip_locked=True))
            picked.extend((row.id, row.staff_id) for row in locked)
        else:
            # SQLite (one process): one UPDATE statement is atomic under the write lock.
            ids = sa.select(due.subquery().c.id).scalar_subquery()
            claimed = session.execute(
                table.update()
                .where(table.c.id.in_(ids), table.c.state == PENDING)
                .values(state=SENDING, claimed_by=owner, claimed_at=now, last_error=None)
                .returning(table.c.id, table.c.staff_id)
            )
            picked.extend((row.id, row.staff_id) for row in claimed)
    if not postgres:
        return sorted(row_id for row_id, _ in picked), False, {}
    blocked = False
    if gate is not None:
        picked, blocked = _one_per_open_chat(session, picked, gate=gate, hold=hold)
        if not picked and not blocked:
            # Nothing taken: were due rows passed over because their chat was busy?
            waiting = sa.select(table.c.id).where(table.c.state == PENDING, table.c.due_at <= now)
            blocked = session.execute(waiting.limit(1)).first() is not None
    if not picked:
        return [], blocked, {}
    claimed = session.execute(
        table.update()
        .where(table.c.id.in_([row_id for row_id, _ in picked]), table.c.state == PENDING)
        .values(state=SENDING, claimed_by=owner, claimed_at=now, last_error=None)
        .returning(table.c.id)
    )
    chats = dict(picked) if gate is not None else {}
    return sorted(claimed.scalars()), blocked, chats


def _one_per_open_chat(
    session: Session, picked: list[tuple[int, int]], *, gate: str, hold: float
) -> tuple[list[tuple[int, int]], bool]:
    """The first row per staff member of ``picked`` whose chat gate this transaction could
    close (another process may have closed it since the select), with its chat instead of
    the staff member; whether any were left."""
    first: dict[int, int] = {}
    for row_id, staff_id in picked:
        first.setdefault(staff_id, row_id)
    staff = session.execute(
        sa.select(col(Staff.id), col(Staff.telegram_id)).where(col(Staff.id).in_(first))
    )
    chats: dict[int, int] = {row.id: row.telegram_id for row in staff}
    taken = sendbudget.close_chats(session, key=gate, chat_ids=chats.values(), hold=hold)
    kept = [(row_id, chats[staff]) for staff, row_id in first.items() if chats.get(staff) in taken]
    return kept, len(kept) < len(picked)


def claim_due(
    session: Session,
    *,
    owner: str,
    now: dt.datetime,
    limit: int,
    busy: Iterable[int] = (),
    tz: ZoneInfo = STOCKHOLM,
    gate: str | None = None,
    hold: float = sendbudget.HOLD_LIMIT,
) -> Claim:
    """Claim due rows, most urgent first, and settle those that should no longer go out.

    A claimed row whose plan was closed or moved, or whose recipient left, is cancelled; one
    that is no longer useful (``duetimes.still_useful``: a reminder missed while the
    bot was down whose follow-up has passed, an old overdue notice) or that a later reminder
    for the same follow-up supersedes is marked stale. The rest are returned to be sent.
    ``gate``: the shared send budget's key (PostgreSQL with several processes), see
    :func:`_claim_ids`.
    """
    ids, blocked, chats = _claim_ids(
        session, owner=owner, now=now, limit=limit, busy=busy, gate=gate, hold=hold
    )
    deliveries: list[Delivery] = []
    settled = 0
    claimed = _load_claimed(session, ids)
    earliest = _earliest_due(session, list(claimed.rows.values()), now=now)
    for reminder_id in ids:
        row = claimed.rows[reminder_id]
        delivery = _prepare(session, row, now=now, tz=tz, earliest=earliest)
        if delivery is None:
            settled += 1
            if gate is not None and reminder_id in chats:
                # Nothing goes to that chat after all: its gate opens again at once.
                sendbudget.open_chats(session, key=gate, after={chats[reminder_id]: 0.0})
        else:
            deliveries.append(delivery)
    return Claim(deliveries, settled, blocked)


@dataclass(frozen=True)
class _Claimed:
    """The claimed rows by id, and their plans and people (held here so that the session's
    identity map, which only keeps objects someone refers to, answers from memory)."""

    rows: dict[int, Reminder]
    plans: list[Plan]
    people: list[Staff]


def _load_claimed(session: Session, ids: list[int]) -> _Claimed:
    """The claimed rows with their plans and people, in three queries, not three per row."""
    if not ids:
        return _Claimed({}, [], [])
    rows = {r.id or 0: r for r in session.exec(select(Reminder).where(col(Reminder.id).in_(ids)))}
    plan_ids = {r.plan_id for r in rows.values()}
    wanted = {r.staff_id for r in rows.values()}
    wanted |= {r.seq for r in rows.values() if r.kind == ReminderKind.UNDELIVERED.value}
    plans = list(session.exec(select(Plan).where(col(Plan.id).in_(plan_ids))))
    people = list(session.exec(select(Staff).where(col(Staff.id).in_(wanted))))
    return _Claimed(rows, plans, people)


# (plan_id, staff_id, follow_up_date): the smallest ``seq`` of the "before" rows due by now.
Earliest = dict[tuple[int, int, dt.date], int]


def _earliest_due(session: Session, rows: list[Reminder], *, now: dt.datetime) -> Earliest:
    """For the claimed "before" rows: per plan, person and follow-up, the reminder nearest
    the follow-up (smallest ``seq``) already due and pending, in flight or sent. One query."""
    before = ReminderKind.BEFORE.value
    plan_ids = {r.plan_id for r in rows if r.kind == before}
    if not plan_ids:
        return {}
    table = Reminder.__table__  # type: ignore[attr-defined]
    key = (table.c.plan_id, table.c.staff_id, table.c.follow_up_date)
    found = session.execute(
        sa.select(*key, sa.func.min(table.c.seq))
        .where(
            table.c.plan_id.in_(plan_ids),
            table.c.kind == before,
            table.c.due_at <= now,
            table.c.state.in_([PENDING, SENDING, ReminderState.SENT.value]),
        )
        .group_by(*key)
    )
    return {(plan, staff, day): seq for plan, staff, day, seq in found}


def _prepare(
    session: Session, row: Reminder, *, now: dt.datetime, tz: ZoneInfo, earliest: Earliest
) -> Delivery | None:
    plan = session.get(Plan, row.plan_id)
    staff = session.get(Staff, row.staff_id)
    notice = row.kind == ReminderKind.UNDELIVERED.value
    if plan is None:
        _settle(session, row, ReminderState.CANCELLED)
        return None
    current = plan.status == PlanStatus.ACTIVE.value and plan.next_follow_up == row.follow_up_date
    if not notice and not current:
        # The plan was closed, held or moved after this row was claimable.
        _settle(session, row, ReminderState.CANCELLED)
        return None
    if row.kind == ReminderKind.ESCALATION.value and not _escalation_still_theirs(
        session, row, plan, now=now
    ):
        _settle(session, row, ReminderState.CANCELLED)
        return None
    if staff is None or not staff.active:
        _settle(session, row, ReminderState.CANCELLED)
        return None
    if not notice and not _useful(row, plan, now=now, tz=tz, earliest=earliest):
        _settle(session, row, ReminderState.STALE)
        return None
    unreachable = session.get(Staff, row.seq) if notice else None
    return Delivery(
        reminder_id=row.id or 0,
        kind=row.kind,
        seq=row.seq,
        plan_id=plan.id or 0,
        reference=plan.reference,
        plan_type=plan.plan_type,
        follow_up_date=row.follow_up_date,
        follow_up_time=plan.follow_up_time,
        place=plan.place,
        staff_id=staff.id or 0,
        chat_id=staff.telegram_id,
        lang=staff.language,
        unreachable_name=unreachable.display_name if unreachable is not None else None,
    )


def _escalation_still_theirs(
    session: Session, row: Reminder, plan: Plan, *, now: dt.datetime
) -> bool:
    """Whether the escalation row's recipient is still among the plan's coordinators.

    Escalations are planned with the follow-up, often weeks before they are due, for the
    coordinators (or, without any, the admins) of that day. When one falls due, the
    coordinators of *now* are told: a row is added, due at once, for each who has none for
    this follow-up yet (the unique key keeps it to one each, also with two processes), so
    neither a coordinator who left nor one who arrived makes the escalation go astray.
    """
    wanted = [c.id for c in staff_store.coordinators_of(session, municipality=plan.municipality)]
    for staff_id in wanted:
        if staff_id is None or staff_id == row.staff_id:
            continue
        escalation = ReminderKind.ESCALATION.value
        if _has_row(session, row, escalation, staff_id=staff_id, seq=row.seq):
            continue
        # Another process may add the same row at the same moment: the unique key turns that
        # into an IntegrityError, and its row is as good as ours.
        with contextlib.suppress(IntegrityError), session.begin_nested():
            session.add(_row_about(row, escalation, staff_id=staff_id, seq=row.seq, due_at=now))
    return row.staff_id in wanted


def _useful(
    row: Reminder, plan: Plan, *, now: dt.datetime, tz: ZoneInfo, earliest: Earliest
) -> bool:
    if row.kind == ReminderKind.SNOOZE.value:
        return True  # asked for by the person, about the current follow-up
    kind = "day_of" if row.kind == ReminderKind.BEFORE.value and row.seq == 0 else row.kind
    useful = still_useful(
        kind,  # type: ignore[arg-type]
        row.follow_up_date,
        plan.follow_up_time,
        now,
        due_at=row.due_at,
        tz=tz,
    )
    if not useful or row.kind != ReminderKind.BEFORE.value:
        return useful
    # After down time several reminders for one follow-up can be due at once: send the latest
    # (the one nearest the follow-up, the smallest seq).
    nearest = earliest.get((row.plan_id, row.staff_id, row.follow_up_date), row.seq)
    return nearest >= row.seq


def _about(row: Reminder, kind: str) -> tuple[ColumnElement[bool], ...]:
    """Where-conditions for the rows of ``kind`` about ``row``'s plan and follow-up."""
    return (
        col(Reminder.plan_id) == row.plan_id,
        col(Reminder.kind) == kind,
        col(Reminder.follow_up_date) == row.follow_up_date,
    )


def _has_row(session: Session, row: Reminder, kind: str, *, staff_id: int, seq: int) -> bool:
    """True when ``staff_id`` has a ``kind`` row numbered ``seq`` about ``row``'s follow-up."""
    query = select(Reminder.id).where(
        *_about(row, kind), Reminder.staff_id == staff_id, Reminder.seq == seq
    )
    return session.exec(query).first() is not None


def _row_about(
    row: Reminder, kind: str, *, staff_id: int, seq: int, due_at: dt.datetime
) -> Reminder:
    """A new ``kind`` row for ``staff_id`` about ``row``'s plan and follow-up."""
    return Reminder(
        plan_id=row.plan_id,
        staff_id=staff_id,
        kind=kind,
        seq=seq,
        follow_up_date=row.follow_up_date,
        due_at=due_at,
    )


def _settle(session: Session, row: Reminder, state: ReminderState) -> None:
    row.state = state.value
    session.add(row)


def _update_claimed(session: Session, *, reminder_id: int, owner: str, **values: object) -> bool:
    table = Reminder.__table__  # type: ignore[attr-defined]
    result = session.execute(
        table.update()
        .where(table.c.id == reminder_id, table.c.state == SENDING, table.c.claimed_by == owner)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_sent(
    session: Session, *, reminder_id: int, owner: str, message_id: int, now: dt.datetime
) -> bool:
    """Record that Telegram accepted the reminder; False if this process no longer held it."""
    return _update_claimed(
        session,
        reminder_id=reminder_id,
        owner=owner,
        state=ReminderState.SENT.value,
        sent_at=now,
        telegram_message_id=message_id,
    )


def postpone(
    session: Session, *, reminder_id: int, owner: str, until: dt.datetime, error: str
) -> bool:
    """Give the row back as pending until ``until`` without counting a failure (429)."""
    return _give_back(session, reminder_id=reminder_id, owner=owner, due_at=until, error=error)


def _give_back(
    session: Session, *, reminder_id: int, owner: str, due_at: dt.datetime, error: str, **more: Any
) -> bool:
    """The claimed row is pending again from ``due_at``, with the error that stopped it."""
    values = {**UNCLAIMED, "due_at": due_at, "last_error": error[:ERROR_MAX], **more}
    return _update_claimed(session, reminder_id=reminder_id, owner=owner, **values)


def backoff_delay(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed tries: 15 s, 30 s, 1 min... at most 15 min."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def retry_later(
    session: Session, *, reminder_id: int, owner: str, now: dt.datetime, error: str
) -> dt.datetime | None:
    """Count a failed try (network error) and give the row back with exponential backoff."""
    row = session.get(Reminder, reminder_id)
    if row is None or row.state != SENDING or row.claimed_by != owner:
        return None
    attempts = row.attempts + 1
    due_at = now + backoff_delay(attempts)
    _give_back(
        session, reminder_id=reminder_id, owner=owner, due_at=due_at, error=error, attempts=attempts
    )
    return due_at


def mark_undeliverable(
    session: Session, *, reminder_id: int, owner: str, now: dt.datetime, error: str
) -> int | None:
    """Mark a reminder the person cannot receive (403) and plan a notice about it.

    The notice goes to the plan's responsible, or to an admin when the responsible is the one
    who cannot be reached (or a notice itself bounced). It is a reminder row of its own
    (kind ``undelivered``, ``seq`` = the unreachable person), so it is retried like any
    other and, by the unique key, sent once per plan, follow-up and person. Returns the
    notice's recipient (staff id), or None when nobody is left to tell.
    """
    row = session.get(Reminder, reminder_id)
    if row is None or row.state != SENDING or row.claimed_by != owner:
        return None
    row.state, row.last_error = ReminderState.UNDELIVERABLE.value, error[:ERROR_MAX]
    session.add(row)
    plan = session.get(Plan, row.plan_id)
    if plan is None:
        return None
    notice = ReminderKind.UNDELIVERED.value
    bounced_notice = row.kind == notice
    unreachable = row.seq if bounced_notice else row.staff_id
    for target in _notice_targets(session, plan, row, bounced_notice=bounced_notice):
        if _has_row(session, row, notice, staff_id=target, seq=unreachable):
            return None if bounced_notice else target
        session.add(_row_about(row, notice, staff_id=target, seq=unreachable, due_at=now))
        session.flush()
        return target
    logger.warning("reminder %s is undeliverable and nobody could be told", reminder_id)
    return None


def _notice_targets(
    session: Session, plan: Plan, row: Reminder, *, bounced_notice: bool
) -> list[int]:
    candidates: list[int] = []
    if not bounced_notice:
        candidates.append(plan.responsible_id)
    admins = session.exec(
        select(Staff.id)
        .where(col(Staff.active).is_(True), Staff.role == Role.ADMIN.value)
        .order_by(col(Staff.id))
    ).all()
    candidates.extend(admin_id for admin_id in admins if admin_id is not None)
    if bounced_notice:
        # Skip admins already asked about this person, so a chain of bounces ends.
        asked = set(
            session.exec(
                select(Reminder.staff_id).where(
                    *_about(row, ReminderKind.UNDELIVERED.value), Reminder.seq == row.seq
                )
            ).all()
        )
        candidates = [c for c in candidates if c not in asked]
    active = set(
        session.exec(
            select(Staff.id).where(col(Staff.id).in_(candidates), col(Staff.active).is_(True))
        ).all()
    )
    seen: set[int] = set()
    ordered: list[int] = []
    for candidate in candidates:
        if candidate != row.staff_id and candidate in active and candidate not in seen:
            seen.add(candidate)
            ordered.append(candidate)
    return ordered


def recover_stuck(session: Session, *, now: dt.datetime, lease: dt.timedelta) -> int:
    """Give ``sending`` rows claimed longer than ``lease`` ago back as pending; how many.

    Such a row belonged to a process that died between claiming and marking it. It is sent
    again, which is the documented duplicate window when Telegram had already accepted it.
    """
    table = Reminder.__table__  # type: ignore[attr-defined]
    result = session.execute(
        table.update()
        .where(table.c.state == SENDING, table.c.claimed_at <= now - lease)
        .values(**UNCLAIMED, last_error="recovered")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- "remind me tomorrow" ----------------------------------------------------------------------


class SnoozeStatus(StrEnum):
    """The outcome of a "remind me tomorrow" press."""

    OK = "ok"
    ALREADY = "already"  # a snooze for this follow-up is already waiting
    NOT_YOURS = "not_yours"  # the presser is not the reminder's recipient
    GONE = "gone"  # the plan was closed or moved: the reminder is no longer current


@dataclass(frozen=True)
class SnoozeResult:
    """What happened, and when the new reminder is due."""

    status: SnoozeStatus
    due_at: dt.datetime | None = None
    plan_id: int | None = None


def snooze_reminder(
    session: Session,
    *,
    reminder_id: int,
    staff_id: int,
    now: dt.datetime,
    policy: ReminderPolicy,
    calendar: WorkCalendar,
) -> SnoozeResult:
    """Plan a ``snooze`` row for the recipient of ``reminder_id`` on the next working day."""
    row = session.get(Reminder, reminder_id)
    if row is None or row.staff_id != staff_id:
        return SnoozeResult(SnoozeStatus.NOT_YOURS)
    plan = session.get(Plan, row.plan_id)
    if (
        row.kind not in ACTIONABLE_KINDS
        or plan is None
        or plan.status != PlanStatus.ACTIVE.value
        or plan.next_follow_up != row.follow_up_date
        # Taken out of the plan (or its team) since the reminder went out: nothing to plan.
        or staff_id not in _recipients(session, plan)
    ):
        return SnoozeResult(SnoozeStatus.GONE)
    snooze = ReminderKind.SNOOZE.value
    earlier = session.exec(
        select(Reminder).where(*_about(row, snooze), Reminder.staff_id == staff_id)
    ).all()
    waiting = [r for r in earlier if r.state in (PENDING, SENDING)]
    if waiting:
        return SnoozeResult(SnoozeStatus.ALREADY, waiting[0].due_at, row.plan_id)
    due_at = snooze_until(now, policy, calendar)
    seq = max((r.seq for r in earlier), default=0) + 1
    session.add(_row_about(row, snooze, staff_id=staff_id, seq=seq, due_at=due_at))
    session.flush()
    return SnoozeResult(SnoozeStatus.OK, due_at, row.plan_id)


# -- the daily digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """One follow-up in a person's digest."""

    reference: str
    plan_type: str
    day: dt.date
    at: dt.time | None
    place: str | None
    responsible: bool


@dataclass(frozen=True)
class DigestRecipient:
    """A person whose digest for today this process has claimed."""

    staff_id: int
    chat_id: int
    lang: str
    previous: dt.date | None  # to give the day back when sending fails on the network


def get_preference(session: Session, *, staff_id: int) -> StaffPreference:
    """A person's preferences (the defaults when nothing was stored)."""
    return session.get(StaffPreference, staff_id) or StaffPreference(staff_id=staff_id)


def set_daily_digest(session: Session, *, staff_id: int, enabled: bool) -> StaffPreference:
    """Turn the daily digest on or off for one person."""
    preference = session.get(StaffPreference, staff_id) or StaffPreference(staff_id=staff_id)
    preference.daily_digest = enabled
    session.add(preference)
    session.flush()
    return preference


def claim_digests(session: Session, *, today: dt.date, limit: int = 500) -> list[DigestRecipient]:
    """Mark today's digest as taken for people who opted in and have not had it yet.

    The conditional UPDATE per person makes this safe with two processes: a digest is sent at
    most once a day, also across restarts (it is marked before it is sent).
    """
    table = StaffPreference.__table__  # type: ignore[attr-defined]
    rows = session.exec(
        select(StaffPreference, Staff)
        .join(Staff, col(Staff.id) == StaffPreference.staff_id)
        .where(
            col(StaffPreference.daily_digest).is_(True),
            col(Staff.active).is_(True),
            sa.or_(
                col(StaffPreference.last_digest_on).is_(None),
                col(StaffPreference.last_digest_on) < today,
            ),
        )
        .order_by(col(StaffPreference.staff_id))
        .limit(limit)
    ).all()
    claimed: list[DigestRecipient] = []
    for preference, staff in rows:
        taken = session.execute(
            table.update()
            .where(
                table.c.staff_id == preference.staff_id,
                sa.or_(table.c.last_digest_on.is_(None), table.c.last_digest_on < today),
            )
            .values(last_digest_on=today)
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            claimed.append(
                DigestRecipient(
                    staff_id=preference.staff_id,
                    chat_id=staff.telegram_id,
                    lang=staff.language,
                    previous=preference.last_digest_on,
                )
            )
    return claimed


def give_back_digest(
    session: Session, *, staff_id: int, today: dt.date, previous: dt.date | None
) -> None:
    """Undo a claim whose sending failed on the network, so the next run tries again."""
    table = StaffPreference.__table__  # type: ignore[attr-defined]
    session.execute(
        table.update()
        .where(table.c.staff_id == staff_id, table.c.last_digest_on == today)
        .values(last_digest_on=previous)
    )


def digest_items(
    session: Session, *, staff_id: int, start: dt.date, end: dt.date
) -> list[DigestItem]:
    """Active plans whose next follow-up is between ``start`` and ``end`` (inclusive) and in
    which the person is responsible or a participant, by date and time."""
    participating = select(PlanParticipant.plan_id).where(PlanParticipant.staff_id == staff_id)
    plans = session.exec(
        select(Plan).where(
            Plan.status == PlanStatus.ACTIVE.value,
            col(Plan.next_follow_up) >= start,
            col(Plan.next_follow_up) <= end,
            sa.or_(col(Plan.responsible_id) == staff_id, col(Plan.id).in_(participating)),
        )
    ).all()
    items = [
        DigestItem(
            plan.reference,
            plan.plan_type,
            plan.next_follow_up,
            plan.follow_up_time,
            plan.place,
            plan.responsible_id == staff_id,
        )
        for plan in plans
        if plan.next_follow_up is not None
    ]
    return sorted(items, key=lambda i: (i.day, i.at or dt.time(0), i.reference.upper()))
