"""Plan storage on SQLite and PostgreSQL: references, rights, changes and their reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, col, select

from storage.db import Database
from storage.plans import store as plans_store
from storage.plans.models import FollowUp, Plan, PlanStatus, Reminder, ReminderState
from storage.plans.store import PlanError, rights_for
from tests.plans.helpers import NOW, SCHEDULING, TODAY, add_staff

DAY = dt.date(2026, 12, 18)  # a Friday, three weeks ahead


def _team(db: Database) -> dict[str, int]:
    return {
        "anna": add_staff(db, 101, "Anna Ek", role="coordinator", municipality="Mellerud"),
        "bo": add_staff(db, 102, "Bo Al", municipality="Mellerud"),
        "cia": add_staff(db, 103, "Cia Berg", municipality="Åmål"),
        "dan": add_staff(db, 104, "Dan Ulf", municipality="Mellerud"),
        "region": add_staff(db, 105, "Rut Reg", municipality="region"),
        "amal_coord": add_staff(db, 106, "Åsa Ås", role="coordinator", municipality="Åmål"),
    }


def _create(db: Database, reference: str, responsible: int, **values: object) -> int:
    def run(session: Session) -> int:
        plan = plans_store.create_plan(
            session, reference=reference, plan_type=str(values.get("plan_type", "sip")),
            municipality=str(values.get("municipality", "Mellerud")),
            responsible_id=responsible,
            participant_ids=values.get("participants", ()),  # type: ignore[arg-type]
            next_follow_up=values.get("day", DAY),  # type: ignore[arg-type]
            follow_up_time=values.get("time"),  # type: ignore[arg-type]
            place=values.get("place"),  # type: ignore[arg-type]
            **SCHEDULING,
        )  # fmt: skip
        assert plan.id is not None
        return plan.id

    return db.call(run)


def _pending(db: Database, plan_id: int) -> set[tuple[int, str, dt.date, int]]:
    def run(session: Session) -> set[tuple[int, str, dt.date, int]]:
        rows = session.exec(
            select(Reminder).where(
                Reminder.plan_id == plan_id, Reminder.state == ReminderState.PENDING.value
            )
        )
        return {(r.staff_id, r.kind, r.follow_up_date, r.seq) for r in rows}

    return db.call(run)


def _pending_people(db: Database, plan_id: int) -> set[int]:
    return {staff_id for staff_id, kind, _day, _seq in _pending(db, plan_id) if kind == "before"}


def test_create_plan_stores_team_and_plans_reminders(db: Database) -> None:
    """A new plan has its team, and pending reminders for the responsible and participants."""
    team = _team(db)
    plan_id = _create(db, "BP-17", team["bo"], participants=[team["cia"], team["bo"]],
                      time=dt.time(13, 30), place="Familjecentralen")  # fmt: skip
    view = db.call(lambda s: plans_store.plan_view(s, plan_id=plan_id, viewer_id=team["bo"]))
    assert view is not None
    assert (view.reference, view.plan_type, view.municipality, view.status) == (
        "BP-17", "sip", "Mellerud", "active",
    )  # fmt: skip
    assert view.responsible.name == "Bo Al"
    assert [p.name for p in view.participants] == ["Cia Berg"]  # the responsible is not repeated
    assert (view.next_follow_up, view.follow_up_time, view.place) == (
        DAY, dt.time(13, 30), "Familjecentralen",
    )  # fmt: skip
    assert _pending_people(db, plan_id) == {team["bo"], team["cia"]}
    assert {seq for _s, kind, _d, seq in _pending(db, plan_id) if kind == "before"} == {7, 1, 0}


def test_references_are_unique_without_regard_to_case(db: Database) -> None:
    """BP-17 and bp-17 are the same plan: the second is refused, lookups ignore case."""
    team = _team(db)
    plan_id = _create(db, "BP-17", team["bo"])
    with pytest.raises(PlanError) as refused:
        _create(db, "bp-17", team["bo"])
    assert refused.value.key == "plans.ref_taken"
    found = db.call(lambda s: plans_store.get_plan_by_reference(s, reference=" bp-17 "))
    assert found is not None and found.id == plan_id
    assert db.call(lambda s: plans_store.get_plan_by_reference(s, reference="x")) is None


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("19900101-0017", "plans.ref_personnummer"),
        ("BP-900101-1234", "plans.ref_personnummer"),  # the shape, even with a wrong check digit
        ("B", "plans.ref_invalid"),
        ("BP 17", "plans.ref_invalid"),
    ],
)
def test_bad_references_are_refused_and_nothing_is_stored(
    db: Database, reference: str, key: str
) -> None:
    """A personnummer-like or malformed reference is refused with its reason."""
    team = _team(db)
    with pytest.raises(PlanError) as refused:
        _create(db, reference, team["bo"])
    assert refused.value.key == key
    assert db.call(lambda s: list(s.exec(select(Plan)))) == []


def test_create_refuses_past_date_foreign_responsible_and_identity_number_as_place(
    db: Database,
) -> None:
    """Past dates, a responsible from another municipality and a personnummer place fail."""
    team = _team(db)
    cases = [
        ({"day": TODAY - dt.timedelta(days=1)}, team["bo"], "plans.date_past"),
        ({}, team["cia"], "plans.responsible_municipality"),
        ({"place": "hos 19900101-0017"}, team["bo"], "plans.place_personnummer"),
        ({"participants": [9999]}, team["bo"], "plans.staff_unknown"),
    ]
    for values, responsible, key in cases:
        with pytest.raises(PlanError) as refused:
            _create(db, "BP-1", responsible, **values)
        assert refused.value.key == key
    # A region staff member may be responsible anywhere; today is not in the past.
    assert _create(db, "BP-2", team["region"], day=TODAY) > 0


def test_my_plans_by_next_follow_up_with_overdue_marked(db: Database) -> None:
    """/planer's data: mine only (responsible or participant), by date, overdue flagged."""
    team = _team(db)
    later = _create(db, "BP-later", team["bo"], day=dt.date(2027, 1, 15))
    soon = _create(db, "BP-soon", team["dan"], participants=[team["bo"]], day=dt.date(2026, 12, 1))
    timed = _create(db, "BP-timed", team["bo"], day=dt.date(2026, 12, 1), time=dt.time(9, 0))
    _create(db, "BP-other", team["dan"])
    closed = _create(db, "BP-closed", team["bo"])
    db.call(lambda s: plans_store.close_plan(s, plan_id=closed, by=None, **SCHEDULING))
    mine = db.call(
        lambda s: plans_store.plans_for_staff(s, staff_id=team["bo"], today=dt.date(2026, 12, 5))
    )
    # On one day, a follow-up without a time comes first (like an all-day event).
    assert [p.reference for p in mine] == ["BP-soon", "BP-timed", "BP-later"]
    assert [p.id for p in mine] == [soon, timed, later]
    assert [p.overdue for p in mine] == [True, True, False]


def test_rights_responsible_coordinators_participants_and_others() -> None:
    """Who may view, act (held, new date) and manage (team, close) a plan."""
    from storage.people.models import Staff

    plan = Plan(id=1, reference="BP-1", reference_key="BP-1", plan_type="sip",
                municipality="Mellerud", responsible_id=1)  # fmt: skip

    def person(staff_id: int, role: str = "staff", municipality: str = "Mellerud") -> Staff:
        return Staff(id=staff_id, telegram_id=staff_id, display_name="x", role=role,
                     municipality=municipality, organisation="skola")  # fmt: skip

    def rights(staff: Staff) -> tuple[bool, bool, bool]:
        found = rights_for(staff=staff, plan=plan, participant_ids={2})
        return found.view, found.act, found.manage

    assert rights(person(1)) == (True, True, True)  # responsible
    assert rights(person(2)) == (True, True, False)  # participant
    assert rights(person(3)) == (False, False, False)  # same municipality, not in the plan
    assert rights(person(4, "coordinator")) == (True, True, True)
    assert rights(person(5, "coordinator", "region")) == (True, True, True)
    assert rights(person(6, "coordinator", "Åmål")) == (False, False, False)
    assert rights(person(7, "admin", "region")) == (True, True, True)
    gone = person(1)
    gone.active = False
    assert rights(gone) == (False, False, False)


def test_team_changes_follow_rights_and_reminders(db: Database) -> None:
    """Adding and removing participants: managers only; reminders follow the team."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["cia"]])

    def add(who: int, by: int | None) -> bool:
        return db.call(lambda s: plans_store.add_participant(
            s, plan_id=plan_id, staff_id=who, by=by, **SCHEDULING))  # fmt: skip

    def remove(who: int, by: int | None) -> bool:
        return db.call(lambda s: plans_store.remove_participant(
            s, plan_id=plan_id, staff_id=who, by=by, **SCHEDULING))  # fmt: skip

    with pytest.raises(PlanError) as refused:
        add(team["dan"], team["cia"])  # a participant may not change the team
    assert refused.value.key == "plans.not_allowed"
    with pytest.raises(PlanError):
        add(team["dan"], team["amal_coord"])  # another municipality's coordinator
    assert add(team["dan"], team["anna"]) is True  # Mellerud's coordinator
    assert add(team["dan"], team["bo"]) is False  # already in
    assert add(team["bo"], team["bo"]) is False  # the responsible
    assert _pending_people(db, plan_id) == {team["bo"], team["cia"], team["dan"]}
    assert remove(team["cia"], team["bo"]) is True
    assert remove(team["cia"], team["bo"]) is False
    assert _pending_people(db, plan_id) == {team["bo"], team["dan"]}
    with pytest.raises(PlanError) as missing:
        db.call(lambda s: plans_store.add_participant(
            s, plan_id=999, staff_id=team["dan"], by=None, **SCHEDULING))  # fmt: skip
    assert missing.value.key == "plans.not_found"


def test_new_date_moves_the_reminders(db: Database) -> None:
    """A new date cancels the old pending reminders and plans the new ones."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["dan"]])
    new_day = dt.date(2027, 1, 15)
    db.call(
        lambda s: plans_store.set_next_follow_up(
            s,
            plan_id=plan_id,
            day=new_day,
            time=dt.time(13, 30),
            place="  Skolan  ",
            by=team["dan"],
            **SCHEDULING,
        )
    )  # fmt: skip  (a participant may book the next date)
    plan = db.call(lambda s: plans_store.get_plan(s, plan_id=plan_id))
    assert plan is not None
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (
        new_day, dt.time(13, 30), "Skolan",
    )  # fmt: skip
    assert {day for _s, _k, day, _q in _pending(db, plan_id)} == {new_day}
    with pytest.raises(PlanError) as past:
        yesterday = TODAY - dt.timedelta(days=1)
        db.call(lambda s: plans_store.set_next_follow_up(
            s, plan_id=plan_id, day=yesterday, by=None, **SCHEDULING))  # fmt: skip
    assert past.value.key == "plans.date_past"
    with pytest.raises(PlanError) as outsider:
        db.call(lambda s: plans_store.set_next_follow_up(
            s, plan_id=plan_id, day=new_day, by=team["cia"], **SCHEDULING))  # fmt: skip
    assert outsider.value.key == "plans.not_allowed"


def test_marking_held_records_history_and_waits_for_the_next_date(db: Database) -> None:
    """Held: a FollowUp row, no next date (no pending reminders); a second press is refused."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["dan"]], time=dt.time(9, 0))
    later = NOW + dt.timedelta(days=23)
    held = db.call(lambda s: plans_store.mark_follow_up_held(
        s, plan_id=plan_id, by=team["dan"], policy=SCHEDULING["policy"],
        calendar=SCHEDULING["calendar"], now=later))  # fmt: skip
    assert (held.scheduled_for, held.held_on, held.recorded_by) == (DAY, DAY, team["dan"])
    plan = db.call(lambda s: plans_store.get_plan(s, plan_id=plan_id))
    assert plan is not None and (plan.next_follow_up, plan.follow_up_time) == (None, None)
    assert _pending(db, plan_id) == set()
    with pytest.raises(PlanError) as again:
        db.call(lambda s: plans_store.mark_follow_up_held(
            s, plan_id=plan_id, by=team["bo"], **SCHEDULING))  # fmt: skip
    assert again.value.key == "plans.no_follow_up"
    view = db.call(lambda s: plans_store.plan_view(s, plan_id=plan_id, viewer_id=team["bo"]))
    assert view is not None and view.held_count == 1
    assert db.call(lambda s: len(list(s.exec(select(FollowUp))))) == 1


def test_close_cancels_reminders_and_reopen_makes_it_active(db: Database) -> None:
    """Closing cancels every pending reminder and refuses new dates; re-opening allows them."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["dan"]])
    with pytest.raises(PlanError) as refused:
        db.call(lambda s: plans_store.close_plan(s, plan_id=plan_id, by=team["dan"], **SCHEDULING))
    assert refused.value.key == "plans.not_allowed"
    assert db.call(lambda s: plans_store.close_plan(
        s, plan_id=plan_id, by=team["anna"], **SCHEDULING)) is True  # fmt: skip
    assert _pending(db, plan_id) == set()
    cancelled = db.call(lambda s: list(s.exec(select(Reminder.state).where(
        col(Reminder.plan_id) == plan_id))))  # fmt: skip
    assert cancelled and set(cancelled) == {ReminderState.CANCELLED.value}
    with pytest.raises(PlanError) as closed:
        db.call(lambda s: plans_store.set_next_follow_up(
            s, plan_id=plan_id, day=DAY, by=team["bo"], **SCHEDULING))  # fmt: skip
    assert closed.value.key == "plans.closed"
    assert db.call(lambda s: plans_store.reopen_plan(
        s, plan_id=plan_id, by=team["bo"], **SCHEDULING)) is True  # fmt: skip
    plan = db.call(lambda s: plans_store.get_plan(s, plan_id=plan_id))
    assert plan is not None and plan.status == PlanStatus.ACTIVE.value
    assert _pending_people(db, plan_id) == {team["bo"], team["dan"]}


def test_simultaneous_held_taps_record_one_follow_up(db: Database) -> None:
    """Five "held" presses at the same moment (a double tap, two phones): one FollowUp."""
    from concurrent.futures import ThreadPoolExecutor

    from storage.plans.models import FollowUp

    team = _team(db)
    plan_id = _create(db, "BP-9", team["bo"], participants=[team["dan"]], time=dt.time(9, 0))
    later = NOW + dt.timedelta(days=23)

    def press(_: int) -> str:
        try:
            db.call(lambda s: plans_store.mark_follow_up_held(
                s, plan_id=plan_id, by=team["dan"], policy=SCHEDULING["policy"],
                calendar=SCHEDULING["calendar"], now=later))  # fmt: skip
        except PlanError as exc:
            return exc.key
        return "held"

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(press, range(5)))
    assert outcomes.count("held") == 1
    assert set(outcomes) <= {"held", "plans.no_follow_up"}
    rows = db.call(lambda s: list(s.exec(select(FollowUp).where(FollowUp.plan_id == plan_id))))
    assert len(rows) == 1


def test_another_teams_reference_is_not_confirmed_to_exist(db: Database) -> None:
    """Trying a reference of a plan you may not see says only "cannot be used", as /plan
    hides it; its own team is told it is taken."""
    team = _team(db)
    _create(db, "BP-77", team["bo"])
    with pytest.raises(PlanError) as outsider:
        db.call(lambda s: plans_store.check_new_reference(s, reference="bp-77", by=team["cia"]))
    assert outsider.value.key == "plans.ref_unusable"
    with pytest.raises(PlanError) as insider:
        db.call(lambda s: plans_store.check_new_reference(s, reference="BP-77", by=team["anna"]))
    assert insider.value.key == "plans.ref_taken"


def test_held_names_its_follow_up_and_undo_brings_back_exactly_its_reminders(
    db: Database,
) -> None:
    """ "Held" for another follow-up than the plan's next is refused; undo within the limit
    books the same day, time and place with the same reminder rows pending (also when a
    next date was booked since: that booking is replaced); undo is refused when it is too
    late or for an older follow-up."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["dan"]], time=dt.time(9),
                      place="Skolan")  # fmt: skip
    before = _pending(db, plan_id)

    def held(day: dt.date, **when: object) -> FollowUp:
        return db.call(
            lambda s: plans_store.mark_follow_up_held(
                s, plan_id=plan_id, day=day, by=team["dan"], **{**SCHEDULING, **when}
            )
        )

    def undo(held_id: int, now: dt.datetime = NOW) -> FollowUp:
        return db.call(
            lambda s: plans_store.undo_follow_up_held(
                s, plan_id=plan_id, held_id=held_id, within=dt.timedelta(minutes=10),
                by=team["dan"], **{**SCHEDULING, "now": now},
            )
        )  # fmt: skip

    with pytest.raises(PlanError, match=r"^plans\.follow_up_moved$"):
        held(DAY + dt.timedelta(days=1))
    first = held(DAY)
    assert first.id is not None and _pending(db, plan_id) == set()
    undone = undo(first.id)
    assert undone.scheduled_for == DAY
    plan = db.call(lambda s: s.get(Plan, plan_id))
    assert plan is not None
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (DAY, dt.time(9), "Skolan")
    assert _pending(db, plan_id) == before
    second = held(DAY)
    assert second.id is not None
    with pytest.raises(PlanError, match=r"^plans\.undo_expired$"):
        undo(second.id, NOW + dt.timedelta(minutes=11))
    later = DAY + dt.timedelta(days=7)
    db.call(lambda s: plans_store.set_next_follow_up(
        s, plan_id=plan_id, day=later, by=team["dan"], **SCHEDULING))  # fmt: skip
    with pytest.raises(PlanError, match=r"^plans\.undo_gone$"):
        undo(second.id + 1)  # not the plan's last held follow-up
    assert undo(second.id).scheduled_for == DAY  # the booking on ``later`` is replaced
    plan = db.call(lambda s: s.get(Plan, plan_id))
    assert plan is not None
    assert (plan.next_follow_up, plan.follow_up_time, plan.place) == (DAY, dt.time(9), "Skolan")
    assert _pending(db, plan_id) == before


def test_responsible_moves_and_the_one_before_stays_in_the_team(db: Database) -> None:
    """The new responsible leaves the participants, the one before joins them; a responsible
    from another municipality is refused; the reminders follow the team."""
    team = _team(db)
    plan_id = _create(db, "BP-1", team["bo"], participants=[team["dan"]])
    changed = db.call(lambda s: plans_store.change_responsible(
        s, plan_id=plan_id, staff_id=team["dan"], by=team["anna"], **SCHEDULING))  # fmt: skip
    assert changed == plans_store.ResponsibleChange(team["bo"], team["dan"])
    view = db.call(lambda s: plans_store.plan_view(s, plan_id=plan_id, viewer_id=None))
    assert view is not None and view.responsible.id == team["dan"]
    assert [p.id for p in view.participants] == [team["bo"]]
    assert _pending_people(db, plan_id) >= {team["bo"], team["dan"]}
    with pytest.raises(PlanError, match=r"^plans\.responsible_municipality$"):
        db.call(lambda s: plans_store.change_responsible(
            s, plan_id=plan_id, staff_id=team["cia"], by=team["anna"], **SCHEDULING))  # fmt: skip
    with pytest.raises(PlanError, match=r"^plans\.not_allowed$"):
        db.call(lambda s: plans_store.set_plan_type(
            s, plan_id=plan_id, plan_type="annan", by=team["bo"], **SCHEDULING))  # fmt: skip
