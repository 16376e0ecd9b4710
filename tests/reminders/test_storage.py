"""Reminder rows on both engines: planning, re-planning, claiming, outcomes, snooze, digest."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import Session

from storage.db import Database
from storage.people.models import Staff
from storage.plans import reminders as store
from storage.plans.models import Plan, PlanParticipant, Reminder
from tests.helpers import new_staff
from tests.reminders.helpers import CALENDAR, POLICY, make_plan, resync, rows, snapshot, utc

NOW = utc(2026, 11, 25, 9)  # Wednesday 25 November 2026, 10:00 in Stockholm
FOLLOW_UP = dt.date(2026, 12, 9)  # a Wednesday


def _team(session: Session) -> tuple[Staff, Staff, Staff]:
    responsible = new_staff(session, 101, "Anna")
    participant = new_staff(session, 102, "Bo")
    coordinator = new_staff(session, 103, "Cia", role="coordinator")
    return responsible, participant, coordinator


def _plan(session: Session, **overrides: object) -> Plan:
    responsible, participant, _ = _team(session)
    arguments: dict[str, object] = {
        "reference": "BP-17",
        "responsible": responsible,
        "participants": [participant],
        "next_follow_up": FOLLOW_UP,
        "follow_up_time": dt.time(10, 0),
        "now": NOW,
    }
    arguments.update(overrides)
    return make_plan(session, **arguments)  # type: ignore[arg-type]


def _stored_plan(db: Database, **overrides: object) -> Plan:
    """:func:`_plan`, committed."""
    with db.session() as session:
        plan = _plan(session, **overrides)
        session.commit()
    return plan


def _keys(session: Session, state: str = "pending") -> set[tuple[int, str, int, dt.datetime]]:
    return {(r.staff_id, r.kind, r.seq, r.due_at) for r in rows(session) if r.state == state}


def test_sync_plans_before_overdue_and_escalation_rows(db: Database) -> None:
    """7 days, 1 day and the morning before, to both; 3 overdue notices; one escalation."""
    with db.session() as session:
        plan = _plan(session)
        anna, bo, cia = 1, 2, 3
        expected = {
            (anna, "before", 7, utc(2026, 12, 2, 7)),
            (bo, "before", 7, utc(2026, 12, 2, 7)),
            (anna, "before", 1, utc(2026, 12, 8, 7)),
            (bo, "before", 1, utc(2026, 12, 8, 7)),
            (anna, "before", 0, utc(2026, 12, 9, 7)),
            (bo, "before", 0, utc(2026, 12, 9, 7)),
            (anna, "overdue", 1, utc(2026, 12, 10, 7)),
            (anna, "overdue", 2, utc(2026, 12, 11, 7)),
            (anna, "overdue", 3, utc(2026, 12, 14, 7)),  # Monday: the weekend is skipped
            (cia, "escalation", 3, utc(2026, 12, 15, 7)),
        }
        assert _keys(session) == expected
        assert {r.plan_id for r in rows(session)} == {plan.id}


def test_sync_twice_changes_nothing(db: Database) -> None:
    """Calling the sync again, even later the same day, leaves every row as it was."""
    with db.session() as session:
        plan = _plan(session)
        before = snapshot(session)
        resync(session, plan, now=NOW)
        resync(session, plan, now=NOW + dt.timedelta(hours=3))
        assert snapshot(session) == before


def test_sync_skips_instants_already_past(db: Database) -> None:
    """A follow-up in two days gets no 7-day reminder; one today at 08:00 already passed."""
    with db.session() as session:
        _plan(session, next_follow_up=dt.date(2026, 11, 27))
        kinds = {(r.kind, r.seq) for r in rows(session)}
        assert ("before", 7) not in kinds
        assert {("before", 1), ("before", 0)} <= kinds


def test_due_reminder_is_kept_when_sync_runs_after_its_time(db: Database) -> None:
    """A due but not yet sent reminder is not cancelled by a sync a minute after its time."""
    with db.session() as session:
        plan = _plan(session)
        resync(session, plan, now=utc(2026, 12, 2, 7, 1))
        seven = [r for r in rows(session) if r.seq == 7]
        assert [r.state for r in seven] == ["pending", "pending"]


def test_reschedule_cancels_old_rows_and_plans_new_ones(db: Database) -> None:
    """Moving the date cancels the pending rows of the old date; sent rows stay sent."""
    with db.session() as session:
        plan = _plan(session)
        first = rows(session)[0]
        first.state = "sent"
        session.add(first)
        plan.next_follow_up = dt.date(2026, 12, 16)
        resync(session, plan, now=NOW)
        old = [r for r in rows(session) if r.follow_up_date == FOLLOW_UP]
        assert {r.state for r in old if r.id != first.id} == {"cancelled"}
        assert session.get(Reminder, first.id).state == "sent"  # type: ignore[union-attr]
        new = [r for r in rows(session) if r.follow_up_date == dt.date(2026, 12, 16)]
        assert len(new) == 10 and {r.state for r in new} == {"pending"}
        # And back again: the cancelled rows of the first date come back (no duplicates).
        plan.next_follow_up = FOLLOW_UP
        resync(session, plan, now=NOW)
        assert len(rows(session)) == 20
        assert sum(r.state == "pending" for r in rows(session)) == 9


def test_new_time_moves_the_day_of_reminder(db: Database) -> None:
    """A meeting moved to 07:30 gets its morning reminder at 07:00 instead of 08:00."""
    with db.session() as session:
        plan = _plan(session)
        plan.follow_up_time = dt.time(7, 30)
        resync(session, plan, now=NOW)
        day_of = [r for r in rows(session) if r.kind == "before" and r.seq == 0]
        assert {r.due_at for r in day_of} == {utc(2026, 12, 9, 6)}


def test_close_and_no_date_cancel_everything_pending(db: Database) -> None:
    """A closed plan, or one without a next follow-up, has no pending rows."""
    with db.session() as session:
        plan = _plan(session)
        plan.status = "closed"
        resync(session, plan, now=NOW)
        assert {r.state for r in rows(session)} == {"cancelled"}
        plan.status = "active"
        plan.next_follow_up = None
        resync(session, plan, now=NOW)
        assert {r.state for r in rows(session)} == {"cancelled"}


def test_removed_participant_and_inactive_staff_lose_their_rows(db: Database) -> None:
    """Taking someone out of the plan cancels their reminders only."""
    with db.session() as session:
        plan = _plan(session)
        link = session.get(PlanParticipant, (plan.id, 2))
        session.delete(link)
        resync(session, plan, now=NOW)
        assert {r.staff_id for r in rows(session) if r.state == "pending"} == {1, 3}
        session.add(PlanParticipant(plan_id=plan.id or 0, staff_id=2))
        resync(session, plan, now=NOW)
        assert {r.staff_id for r in rows(session) if r.state == "pending"} == {1, 2, 3}


def test_escalation_goes_to_admins_when_no_coordinator(db: Database) -> None:
    """Without a coordinator in the municipality the admins are told."""
    with db.session() as session:
        anna = new_staff(session, 101, "Anna")
        admin = new_staff(session, 900, "Astrid", role="admin", municipality="region")
        make_plan(session, reference="SIP-3", responsible=anna, next_follow_up=FOLLOW_UP, now=NOW)
        escalations = [r for r in rows(session) if r.kind == "escalation"]
        assert [r.staff_id for r in escalations] == [admin.id]


def _claim(db: Database, owner: str, now: dt.datetime, limit: int = 100) -> store.Claim:
    return db.call(store.claim_due, owner=owner, now=now, limit=limit)


def _bounce(db: Database, delivery: store.Delivery, now: dt.datetime) -> int | None:
    """Telegram refused ``delivery`` (403): who is told."""
    return db.call(
        store.mark_undeliverable,
        reminder_id=delivery.reminder_id,
        owner="p1",
        now=now,
        error="Forbidden",
    )


def _snooze(
    db: Database, delivery: store.Delivery, staff_id: int, now: dt.datetime
) -> store.SnoozeResult:
    """``staff_id`` taps "remind me tomorrow" on ``delivery`` at ``now``."""
    return db.call(
        store.snooze_reminder,
        reminder_id=delivery.reminder_id,
        staff_id=staff_id,
        now=now,
        policy=POLICY,
        calendar=CALENDAR,
    )


def test_claim_takes_due_rows_once(db: Database) -> None:
    """Due rows are claimed with the owner and time; a second claim finds nothing."""
    _stored_plan(db)
    claim = _claim(db, "p1", utc(2026, 12, 2, 7))
    assert [(d.staff_id, d.kind, d.seq) for d in claim.deliveries] == [
        (1, "before", 7),
        (2, "before", 7),
    ]
    assert claim.deliveries[0].reference == "BP-17" and claim.deliveries[0].chat_id == 101
    assert _claim(db, "p2", utc(2026, 12, 2, 7)).found == 0
    with db.session() as session:
        claimed = [r for r in rows(session) if r.state == "sending"]
        assert {r.claimed_by for r in claimed} == {"p1"}


def test_claim_skips_busy_chats(db: Database) -> None:
    """A recipient with a message in flight is left for the next claim."""
    _stored_plan(db)
    claim = db.call(store.claim_due, owner="p1", now=utc(2026, 12, 2, 7), limit=10, busy=[1])
    assert [d.staff_id for d in claim.deliveries] == [2]


def test_missed_reminders_collapse_and_go_stale(db: Database) -> None:
    """After down time only the latest useful reminder goes out; passed ones are stale."""
    _stored_plan(db)
    # Down from before 2 December until the morning of 8 December: 7-day and 1-day are due.
    claim = _claim(db, "p1", utc(2026, 12, 8, 9))
    assert sorted((d.staff_id, d.seq) for d in claim.deliveries) == [(1, 1), (2, 1)]
    assert claim.settled == 2
    # Down until after the meeting: the day-of reminder is stale, overdue 1 is not yet due.
    claim = _claim(db, "p1", utc(2026, 12, 9, 12))
    assert claim.deliveries == [] and claim.settled == 2
    with db.session() as session:
        states = {(r.seq, r.kind): r.state for r in rows(session) if r.staff_id == 2}
        assert states[(7, "before")] == "stale" and states[(0, "before")] == "stale"


def test_claim_cancels_rows_of_a_plan_closed_meanwhile(db: Database) -> None:
    """A row whose plan was closed after it was planned (without a sync) is not sent."""
    with db.session() as session:
        plan = _plan(session)
        plan.status = "closed"  # e.g. a race between the plan change and the claim
        session.add(plan)
        session.commit()
    claim = _claim(db, "p1", utc(2026, 12, 2, 7))
    assert claim.deliveries == [] and claim.settled == 2


def test_concurrent_claims_on_postgresql_never_share_a_row(db_url: str) -> None:
    """Two dispatchers (two engines, many threads) claiming at once: each row exactly once."""
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes on one database is a PostgreSQL feature")
    from storage import migrate

    first, second = Database(db_url), Database(db_url)
    migrate.upgrade(first)
    try:
        with first.session() as session:
            people = [new_staff(session, 1000 + i, f"P{i}") for i in range(50)]
            for i in range(100):
                make_plan(
                    session,
                    reference=f"R-{i}",
                    responsible=people[i % 50],
                    participants=[people[(i + 1) % 50]],
                    next_follow_up=FOLLOW_UP,
                    now=NOW,
                )
            session.commit()
        claimed: dict[str, list[int]] = {}
        barrier = threading.Barrier(8)

        def worker(name: str, database: Database) -> None:
            barrier.wait()
            mine: list[int] = []
            while True:
                claim = database.call(store.claim_due, owner=name, now=utc(2026, 12, 2, 7), limit=7)
                if not claim.found:
                    break
                mine += [d.reminder_id for d in claim.deliveries]
            claimed[name] = mine

        threads = [
            threading.Thread(target=worker, args=(f"w{i}", first if i % 2 else second))
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        every = [rid for ids in claimed.values() for rid in ids]
        assert len(every) == 200 and len(set(every)) == 200
        assert sum(1 for ids in claimed.values() if ids) > 1  # the work was really shared
        with first.session() as session:
            due = [r for r in rows(session) if r.due_at <= utc(2026, 12, 2, 7)]
            assert {r.state for r in due} == {"sending"}
            by_owner = {r.id: r.claimed_by for r in due}
            assert all(by_owner[rid] == name for name, ids in claimed.items() for rid in ids)
    finally:
        first.dispose()
        second.dispose()


def test_outcomes_sent_postpone_backoff(db: Database) -> None:
    """Sent is recorded with the message id; 429 and network errors give the row back."""
    _stored_plan(db)
    now = utc(2026, 12, 2, 7)
    one, two = _claim(db, "p1", now).deliveries
    assert db.call(store.mark_sent, reminder_id=one.reminder_id, owner="p1", message_id=55, now=now)
    assert not db.call(
        store.mark_sent, reminder_id=one.reminder_id, owner="p1", message_id=56, now=now
    )
    due = db.call(
        store.retry_later, reminder_id=two.reminder_id, owner="p1", now=now, error="NetworkError"
    )
    assert due == now + dt.timedelta(seconds=15)
    with db.session() as session:
        sent = session.get(Reminder, one.reminder_id)
        again = session.get(Reminder, two.reminder_id)
        assert sent is not None and again is not None
        assert (sent.state, sent.telegram_message_id, sent.sent_at) == ("sent", 55, now)
        assert (again.state, again.attempts, again.last_error) == ("pending", 1, "NetworkError")
    [retry] = _claim(db, "p1", now + dt.timedelta(seconds=15)).deliveries
    db.call(
        store.postpone,
        reminder_id=retry.reminder_id,
        owner="p1",
        until=now + dt.timedelta(seconds=30),
        error="429",
    )
    with db.session() as session:
        again = session.get(Reminder, two.reminder_id)
        assert again is not None and (again.state, again.attempts) == ("pending", 1)
    assert store.backoff_delay(3) == dt.timedelta(minutes=1)
    assert store.backoff_delay(30) == dt.timedelta(minutes=15)


def test_recover_stuck_returns_only_rows_past_the_lease(db: Database) -> None:
    """A claim older than the lease goes back to pending; a fresh one stays in flight."""
    _stored_plan(db)
    now = utc(2026, 12, 2, 7)
    _claim(db, "dead", now)
    lease = dt.timedelta(minutes=5)
    assert db.call(store.recover_stuck, now=now + dt.timedelta(minutes=1), lease=lease) == 0
    assert db.call(store.recover_stuck, now=now + dt.timedelta(minutes=6), lease=lease) == 2
    assert len(_claim(db, "alive", now + dt.timedelta(minutes=6)).deliveries) == 2


def test_undeliverable_tells_the_responsible_or_an_admin(db: Database) -> None:
    """A participant who blocked the bot: the responsible is told once; the responsible
    blocked: an admin is told."""
    with db.session() as session:
        plan = _plan(session)
        admin = new_staff(session, 900, "Astrid", role="admin", municipality="region")
        session.commit()
    now = utc(2026, 12, 2, 7)
    anna_row, bo_row = _claim(db, "p1", now).deliveries
    assert _bounce(db, bo_row, now) == plan.responsible_id
    assert _bounce(db, anna_row, now) == admin.id
    notices = _claim(db, "p1", now).deliveries
    assert sorted((d.staff_id, d.kind, d.unreachable_name) for d in notices) == sorted(
        [(1, "undelivered", "Bo"), (admin.id, "undelivered", "Anna")]
    )
    # A notice that bounces goes to an admin; the admin's bounce ends the chain.
    to_anna = next(d for d in notices if d.staff_id == 1)
    assert _bounce(db, to_anna, now) == admin.id
    with db.session() as session:
        assert session.get(Reminder, bo_row.reminder_id).state == "undeliverable"  # type: ignore[union-attr]


def test_snooze_rules(db: Database) -> None:
    """Only the recipient may snooze; once per follow-up; a moved plan's reminder is gone."""
    plan = _stored_plan(db)
    now = utc(2026, 12, 4, 7)  # Friday: "tomorrow" is Monday
    [anna_row, _] = _claim(db, "p1", utc(2026, 12, 2, 7)).deliveries
    assert _snooze(db, anna_row, 2, now).status is store.SnoozeStatus.NOT_YOURS
    result = _snooze(db, anna_row, 1, now)
    assert (result.status, result.due_at) == (store.SnoozeStatus.OK, utc(2026, 12, 7, 7))
    assert _snooze(db, anna_row, 1, now).status is store.SnoozeStatus.ALREADY
    with db.session() as session:
        moved = session.get(Plan, plan.id)
        assert moved is not None
        moved.next_follow_up = dt.date(2026, 12, 16)
        resync(session, moved, now=now)
        snoozes = [r for r in rows(session) if r.kind == "snooze"]
        assert [r.state for r in snoozes] == ["cancelled"]
        session.commit()
    assert _snooze(db, anna_row, 1, now).status is store.SnoozeStatus.GONE


def test_digest_is_claimed_once_a_day(db: Database) -> None:
    """Opted-in people are claimed once per day; a failed send gives the day back."""
    with db.session() as session:
        _plan(session, next_follow_up=dt.date(2026, 11, 27))
        db_today = dt.date(2026, 11, 25)
        store.set_daily_digest(session, staff_id=2, enabled=True)
        session.commit()
    [bo] = db.call(store.claim_digests, today=db_today)
    assert (bo.staff_id, bo.chat_id, bo.previous) == (2, 102, None)
    assert db.call(store.claim_digests, today=db_today) == []
    db.call(store.give_back_digest, staff_id=2, today=db_today, previous=None)
    assert len(db.call(store.claim_digests, today=db_today)) == 1
    assert len(db.call(store.claim_digests, today=db_today + dt.timedelta(days=1))) == 1
    items = db.call(store.digest_items, staff_id=2, start=db_today, end=dt.date(2026, 11, 29))
    assert [(i.reference, i.day, i.responsible) for i in items] == [
        ("BP-17", dt.date(2026, 11, 27), False)
    ]


def test_snooze_refused_for_someone_no_longer_in_the_plan(db: Database) -> None:
    """A participant taken out of the plan cannot plan a new reminder from an old one."""
    plan = _stored_plan(db)
    [_, bo_row] = _claim(db, "p1", utc(2026, 12, 2, 7)).deliveries
    assert bo_row.staff_id == 2
    with db.session() as session:
        link = session.get(PlanParticipant, (plan.id, 2))
        session.delete(link)
        moved = session.get(Plan, plan.id)
        assert moved is not None
        resync(session, moved, now=utc(2026, 12, 3, 9))
        session.commit()
    assert _snooze(db, bo_row, 2, utc(2026, 12, 3, 9)).status is store.SnoozeStatus.GONE
    with db.session() as session:
        assert [r for r in rows(session) if r.kind == "snooze"] == []


def test_escalation_goes_to_the_coordinators_of_the_day_it_is_sent(db: Database) -> None:
    """The escalation is planned with the follow-up, weeks ahead; when it falls due it goes to
    the municipality's coordinators at that time: one who left is not told (nor lost: the
    new one is), and each is told once."""
    plan = _stored_plan(db)  # Cia (id 3) is Mellerud's coordinator when it is planned
    escalation_day = utc(2026, 12, 15, 7)
    with db.session() as session:
        cia = session.get(Staff, 3)
        assert cia is not None
        cia.active = False  # Cia's access is taken away; Dora takes over
        session.add(cia)
        dora = new_staff(session, 104, "Dora", role="coordinator", municipality="region")
        session.commit()
        dora_id = dora.id
    claims = [_claim(db, "p1", escalation_day)]
    claims.append(_claim(db, "p1", escalation_day + dt.timedelta(seconds=1)))
    claims.append(_claim(db, "p1", escalation_day + dt.timedelta(seconds=2)))
    sent = [(d.staff_id, d.kind) for c in claims for d in c.deliveries]
    assert (dora_id, "escalation") in sent
    assert sent.count((dora_id, "escalation")) == 1
    assert all(staff_id != 3 for staff_id, _ in sent)
    with db.session() as session:
        escalations = {
            r.staff_id: r.state for r in rows(session, plan.id) if r.kind == "escalation"
        }
        assert escalations == {3: "cancelled", dora_id: "sending"}
