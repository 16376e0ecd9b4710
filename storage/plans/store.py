"""Storage functions for joint plans: create, look up, list, change, close, import, export.

Each function takes the session first and everything else by keyword, and does one unit of
work inside the caller's transaction. Every change that moves a plan's next follow-up, its
responsible or participants, records a follow-up as held, or closes or re-opens the plan
calls :func:`storage.plans.reminders.sync_plan_reminders` in the same transaction, so the pending
reminder rows always match the plan (the database is the source of truth for reminders); so
every change takes the keywords of :class:`storage.plans.reminders.Scheduling` (``policy``,
``calendar``, ``now``).

Who may do what (checked here, in the transaction that changes the plan, when ``by`` is
given; ``by=None`` is the admin command line):

- **view** (the card, the calendar file): the responsible, the participants, coordinators
  of the plan's municipality or of the region, and admins;
- **act** (mark the follow-up held, set the next date, time and place): the same people.
  Participants may act because the reminder reaches them and they must be able to act on it
  at once (the issue's "can act from the reminder itself");
- **manage** (add or remove participants, close, re-open): the responsible, coordinators of
  the plan's municipality or of the region, and admins.

Errors a person can fix are raised as :class:`PlanError` with a catalogue key.
"""

from __future__ import annotations

import calendar as calendar_module
import datetime as dt
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Unpack

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.guard import contains_identity_number, normalise_line
from storage import audit
from storage.people import store as staff_store
from storage.people.models import Municipality, Role, Staff
from storage.plans.csvfile import PlanRow
from storage.plans.models import FollowUp, Plan, PlanParticipant, PlanStatus, PlanType
from storage.plans.references import (
    ReferenceError_,
    first_name_in,
    reference_key,
    validate_reference,
)
from storage.plans.reminders import (
    Scheduling,
    hold_reminders,
    release_held_reminders,
    sync_plan_reminders,
)

logger = logging.getLogger(__name__)

MAX_PLACE_LENGTH = 100
MAX_PARTICIPANTS = 30
REGION = Municipality.REGION.value


class PlanError(ValueError):
    """A plan change that may not be made; ``key`` is the catalogue text to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class PlanRights:
    """What one staff member may do with one plan."""

    view: bool = False
    act: bool = False
    manage: bool = False


NO_RIGHTS = PlanRights()
ALL_RIGHTS = PlanRights(view=True, act=True, manage=True)


@dataclass(frozen=True)
class Person:
    """A staff member as a plan shows them."""

    id: int
    name: str
    telegram_id: int
    municipality: str
    language: str = "sv"


@dataclass(frozen=True)
class PlanView:
    """A plan with the names it shows and the viewer's rights (plain values, no session)."""

    id: int
    reference: str
    plan_type: str
    municipality: str
    status: str
    responsible: Person
    participants: tuple[Person, ...]
    next_follow_up: dt.date | None
    follow_up_time: dt.time | None
    place: str | None
    held_count: int
    rights: PlanRights
    created_at: dt.datetime
    updated_at: dt.datetime
    # The plan's last follow-up recorded as held (its row id, when it was recorded and the
    # day it had been booked for), for the card's "undo" while it may still be undone.
    last_held_id: int | None = None
    last_held_at: dt.datetime | None = None
    last_held_for: dt.date | None = None

    @property
    def active(self) -> bool:
        """True while the plan is followed up."""
        return self.status == PlanStatus.ACTIVE.value

    def overdue(self, today: dt.date) -> bool:
        """True when the next follow-up date has passed without being marked held."""
        return self.active and self.next_follow_up is not None and self.next_follow_up < today


@dataclass(frozen=True)
class PlanSummary:
    """One line of "my plans"."""

    id: int
    reference: str
    plan_type: str
    next_follow_up: dt.date | None
    follow_up_time: dt.time | None
    overdue: bool


@dataclass(frozen=True)
class PlanExport:
    """The plans a CSV export holds, and how many active plans it could not hold."""

    rows: list[PlanRow]
    without_date: int


@dataclass(frozen=True)
class ImportResult:
    """How many plans an import created and updated."""

    created: int
    updated: int


# -- rights -------------------------------------------------------------------------------------


def rights_for(*, staff: Staff | None, plan: Plan, participant_ids: Collection[int]) -> PlanRights:
    """What ``staff`` may do with ``plan`` (see the module docstring)."""
    if staff is None or not staff.active:
        return NO_RIGHTS
    if staff.role == Role.ADMIN.value or staff.id == plan.responsible_id:
        return ALL_RIGHTS
    if staff.role == Role.COORDINATOR.value and staff.municipality in (plan.municipality, REGION):
        return ALL_RIGHTS
    if staff.id in participant_ids:
        return PlanRights(view=True, act=True, manage=False)
    return NO_RIGHTS


def responsible_fits(staff: Staff, municipality: str) -> bool:
    """A responsible works in the plan's municipality or across the region."""
    return staff.municipality in (municipality, REGION)


# -- reading ------------------------------------------------------------------------------------


def get_plan(session: Session, *, plan_id: int) -> Plan | None:
    """The plan with this id, or None."""
    return session.get(Plan, plan_id)


def get_plan_by_reference(session: Session, *, reference: str) -> Plan | None:
    """The plan with this reference (compared without regard to case), or None."""
    try:
        key = reference_key(reference)
    except ReferenceError_:
        return None
    return session.exec(select(Plan).where(Plan.reference_key == key)).first()


def participant_ids(session: Session, *, plan_id: int) -> list[int]:
    """The staff ids of the plan's participants."""
    query = select(PlanParticipant.staff_id).where(PlanParticipant.plan_id == plan_id)
    return list(session.exec(query))


def _person(staff: Staff) -> Person:
    assert staff.id is not None
    return Person(
        staff.id, staff.display_name, staff.telegram_id, staff.municipality, staff.language
    )


def plan_view(session: Session, *, plan_id: int, viewer_id: int | None) -> PlanView | None:
    """The plan as ``viewer_id`` (a staff id; None: the system) sees it, or None."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        return None
    assert plan.id is not None
    members = participant_ids(session, plan_id=plan.id)
    viewer = session.get(Staff, viewer_id) if viewer_id is not None else None
    rights = (
        ALL_RIGHTS
        if viewer_id is None
        else rights_for(staff=viewer, plan=plan, participant_ids=members)
    )
    if viewer_id is not None and rights.view:
        audit.record(session, "plan.viewed", actor_id=viewer_id, plan_id=plan.id)
    responsible = session.get(Staff, plan.responsible_id)
    assert responsible is not None
    people = (
        list(
            session.exec(
                select(Staff)
                .where(col(Staff.id).in_(members), col(Staff.active).is_(True))
                .order_by(col(Staff.display_name), col(Staff.id))
            )
        )
        if members
        else []
    )
    held = session.exec(
        select(func.count()).select_from(FollowUp).where(FollowUp.plan_id == plan.id)
    ).one()
    last = session.exec(
        select(FollowUp).where(FollowUp.plan_id == plan.id).order_by(col(FollowUp.id).desc())
    ).first()
    return PlanView(
        id=plan.id,
        reference=plan.reference,
        plan_type=plan.plan_type,
        municipality=plan.municipality,
        status=plan.status,
        responsible=_person(responsible),
        participants=tuple(_person(p) for p in people),
        next_follow_up=plan.next_follow_up,
        follow_up_time=plan.follow_up_time,
        place=plan.place,
        held_count=int(held),
        rights=rights,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
        last_held_id=last.id if last is not None else None,
        last_held_at=last.recorded_at if last is not None else None,
        last_held_for=last.scheduled_for if last is not None else None,
    )


def plans_for_staff(
    session: Session, *, staff_id: int, today: dt.date, include_closed: bool = False
) -> list[PlanSummary]:
    """The plans ``staff_id`` is responsible for or takes part in, by next follow-up.

    Plans without a next date (held, no new date chosen yet) come last; ``overdue`` is set
    when the next follow-up is before ``today`` (the local date).
    """
    # A union of two index lookups: an OR across both tables makes PostgreSQL read every plan.
    mine = select(Plan.id).where(Plan.responsible_id == staff_id)
    member_of = select(PlanParticipant.plan_id).where(PlanParticipant.staff_id == staff_id)
    query = select(Plan).where(col(Plan.id).in_(sa.union(mine, member_of)))
    if not include_closed:
        query = query.where(Plan.status == PlanStatus.ACTIVE.value)
    plans = list(session.exec(query))
    plans.sort(
        key=lambda p: (
            p.next_follow_up is None,
            p.next_follow_up or dt.date.max,
            p.follow_up_time or dt.time.min,
            p.reference_key,
        )
    )
    return [
        PlanSummary(
            id=p.id or 0,
            reference=p.reference,
            plan_type=p.plan_type,
            next_follow_up=p.next_follow_up,
            follow_up_time=p.follow_up_time,
            overdue=p.status == PlanStatus.ACTIVE.value
            and p.next_follow_up is not None
            and p.next_follow_up < today,
        )
        for p in plans
    ]


def people(session: Session, *, staff_ids: Collection[int]) -> list[Person]:
    """The active staff members with these ids, in the order given."""
    found = (
        {
            s.id: s
            for s in session.exec(
                select(Staff).where(col(Staff.id).in_(list(staff_ids)), col(Staff.active).is_(True))
            )
        }
        if staff_ids
        else {}
    )
    return [_person(found[i]) for i in staff_ids if i in found]


def staff_to_pick(
    session: Session, *, municipality: str, exclude: Collection[int] = ()
) -> list[Person]:
    """Active staff of ``municipality`` and of the region, by name, except ``exclude``."""
    people = staff_store.list_staff(session, municipality=None)
    return [
        _person(p)
        for p in people
        if p.municipality in (municipality, REGION) and p.id not in exclude
    ]


# -- checks -------------------------------------------------------------------------------------


def _local_today(when: Scheduling) -> dt.date:
    return when["now"].astimezone(when["policy"].tz).date()


def check_place(text: str | None) -> str | None:
    """A place as it will be stored (None when empty), or :class:`PlanError`."""
    place = normalise_line(text or "")
    if not place:
        return None
    if contains_identity_number(place):
        raise PlanError("plans.place_personnummer")
    # Sent to the whole team: a child's first name must not be in it ("Hos Lisa hemma").
    if first_name_in(place, genitive=True) is not None:
        raise PlanError("plans.place_first_name")
    if len(place) > MAX_PLACE_LENGTH or place.startswith("/"):
        raise PlanError("plans.place_invalid")
    return place


def check_new_reference(session: Session, *, reference: str, by: int | None = None) -> str:
    """A reference that may be used for a new plan, or :class:`PlanError`.

    A taken reference is "taken" only to someone who may see that plan (as ``/plan`` would
    show it); to anyone else it is just not usable, so another team's plans cannot be
    probed for by trying references.
    """
    try:
        checked = validate_reference(reference)
    except ReferenceError_ as exc:
        raise PlanError(exc.key) from None
    existing = get_plan_by_reference(session, reference=checked)
    if existing is not None:
        if by is None:
            raise PlanError("plans.ref_taken")
        assert existing.id is not None
        rights = rights_for(
            staff=session.get(Staff, by),
            plan=existing,
            participant_ids=participant_ids(session, plan_id=existing.id),
        )
        raise PlanError("plans.ref_taken" if rights.view else "plans.ref_unusable")
    return checked


def _active_staff(session: Session, staff_id: int) -> Staff:
    staff = staff_store.get_staff_by_id(session, staff_id=staff_id)
    if staff is None:
        raise PlanError("plans.staff_unknown")
    return staff


def _check_follow_up(day: dt.date | None, today: dt.date) -> None:
    if day is not None and day < today:
        raise PlanError("plans.date_past")


def time_has_passed(day: dt.date, time: dt.time | None, now: dt.datetime) -> bool:
    """True when ``time`` on ``day`` is already past at ``now`` (in local time, to the
    minute): a follow-up booked for then could never be reminded of."""
    if time is None:
        return False
    local = now.replace(tzinfo=None, second=0, microsecond=0)
    return dt.datetime.combine(day, time) < local


def _check_time(day: dt.date, time: dt.time | None, when: Scheduling) -> None:
    if time_has_passed(day, time, when["now"].astimezone(when["policy"].tz)):
        raise PlanError("plans.time_past")


def _plan_for(
    session: Session, plan_id: int, by: int | None, need: str, *, active: bool = False
) -> Plan:
    """The plan, locked for the change, if ``by`` has the right ``need`` (view/act/manage)
    and, with ``active``, while the plan is active."""
    plan = session.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).first()
    if plan is None:
        raise PlanError("plans.not_found")
    if by is not None:
        staff = session.get(Staff, by)
        rights = rights_for(
            staff=staff, plan=plan, participant_ids=participant_ids(session, plan_id=plan_id)
        )
        if not getattr(rights, need):
            raise PlanError("plans.not_allowed")
    if active and plan.status != PlanStatus.ACTIVE.value:
        raise PlanError("plans.closed")
    return plan


def _changed(
    session: Session,
    plan: Plan,
    action: str,
    *,
    by: int | None,
    target_id: int | None = None,
    **when: Unpack[Scheduling],
) -> None:
    """What follows every change: the plan's time stamp, its reminders planned again in line
    with it, and the audit event ``action``."""
    plan.updated_at = when["now"]
    session.add(plan)
    session.flush()
    assert plan.id is not None
    sync_plan_reminders(session, plan_id=plan.id, **when)
    audit.record(
        session, action, actor_id=by, plan_id=plan.id, target_id=target_id, now=when["now"]
    )


# -- changes ------------------------------------------------------------------------------------


def create_plan(
    session: Session,
    *,
    reference: str,
    plan_type: str,
    municipality: str,
    responsible_id: int,
    participant_ids: Iterable[int] = (),
    next_follow_up: dt.date | None,
    follow_up_time: dt.time | None = None,
    place: str | None = None,
    created_by: int | None = None,
    **when: Unpack[Scheduling],
) -> Plan:
    """Store a new active plan with its team, and plan its reminders."""
    checked = check_new_reference(session, reference=reference, by=created_by)
    if plan_type not in {t.value for t in PlanType}:
        raise PlanError("plans.type_invalid")
    if municipality not in {m.value for m in Municipality}:
        raise PlanError("plans.municipality_invalid")
    responsible = _active_staff(session, responsible_id)
    if not responsible_fits(responsible, municipality):
        raise PlanError("plans.responsible_municipality")
    _check_follow_up(next_follow_up, _local_today(when))
    members = [i for i in dict.fromkeys(participant_ids) if i != responsible_id]
    if len(members) > MAX_PARTICIPANTS:
        raise PlanError("plans.too_many_participants")
    for member in members:
        _active_staff(session, member)
    plan = Plan(
        reference=checked,
        reference_key=checked.upper(),
        plan_type=plan_type,
        municipality=municipality,
        responsible_id=responsible_id,
        next_follow_up=next_follow_up,
        follow_up_time=follow_up_time if next_follow_up else None,
        place=check_place(place) if next_follow_up else None,
        created_by=created_by,
        created_at=when["now"],
        updated_at=when["now"],
    )
    session.add(plan)
    try:
        session.flush()
    except IntegrityError as exc:
        # Someone else took the reference between our check and the insert.
        raise PlanError("plans.ref_taken") from exc
    assert plan.id is not None
    for member in members:
        session.add(PlanParticipant(plan_id=plan.id, staff_id=member))
    _changed(session, plan, "plan.created", by=created_by, **when)
    # The id only: a reference is never logged.
    logger.info("Plan %s created with %d participant(s)", plan.id, len(members))
    return plan


def add_participant(
    session: Session, *, plan_id: int, staff_id: int, by: int | None, **when: Unpack[Scheduling]
) -> bool:
    """Add a staff member to the plan's team; False when they are already in it."""
    plan = _plan_for(session, plan_id, by, "manage")
    _active_staff(session, staff_id)
    members = participant_ids(session, plan_id=plan_id)
    if staff_id == plan.responsible_id or staff_id in members:
        return False
    if len(members) >= MAX_PARTICIPANTS:
        raise PlanError("plans.too_many_participants")
    session.add(PlanParticipant(plan_id=plan_id, staff_id=staff_id))
    _changed(session, plan, "plan.member_added", by=by, target_id=staff_id, **when)
    return True


def remove_participant(
    session: Session, *, plan_id: int, staff_id: int, by: int | None, **when: Unpack[Scheduling]
) -> bool:
    """Take a staff member out of the plan's team; False when they were not in it."""
    plan = _plan_for(session, plan_id, by, "manage")
    row = session.get(PlanParticipant, (plan_id, staff_id))
    if row is None:
        return False
    session.delete(row)
    _changed(session, plan, "plan.member_removed", by=by, target_id=staff_id, **when)
    return True


def set_next_follow_up(
    session: Session,
    *,
    plan_id: int,
    day: dt.date,
    time: dt.time | None = None,
    place: str | None = None,
    by: int | None,
    **when: Unpack[Scheduling],
) -> Plan:
    """Book the plan's next follow-up (a past day is refused); reminders move with it."""
    plan = _plan_for(session, plan_id, by, "act", active=True)
    _check_follow_up(day, _local_today(when))
    _check_time(day, time, when)
    plan.next_follow_up, plan.follow_up_time, plan.place = day, time, check_place(place)
    _changed(session, plan, "plan.date_set", by=by, **when)
    return plan


def mark_follow_up_held(
    session: Session,
    *,
    plan_id: int,
    day: dt.date | None = None,
    by: int | None,
    **when: Unpack[Scheduling],
) -> FollowUp:
    """Record the booked follow-up as held today; the plan waits for its next date.

    ``day`` is the follow-up the person meant (the one their button was about): when the
    plan's next follow-up is another one, ``plans.follow_up_moved`` is raised and nothing
    changes. A second press (the date is already cleared) raises ``plans.no_follow_up``, so
    a double tap records one follow-up. The follow-up's pending reminders are kept aside
    (state ``held``) for :func:`undo_follow_up_held`.
    """
    plan = _plan_for(session, plan_id, by, "act", active=True)
    if plan.next_follow_up is None:
        raise PlanError("plans.no_follow_up")
    if day is not None and plan.next_follow_up != day:
        raise PlanError("plans.follow_up_moved")
    assert plan.id is not None
    scheduled = (plan.next_follow_up, plan.follow_up_time, plan.place)
    # Clearing the date is the claim, in one conditional UPDATE: of five taps at the same
    # moment (on SQLite each read the date before any wrote) exactly one records the follow-up.
    table = Plan.__table__  # type: ignore[attr-defined]
    claimed = session.execute(
        table.update()
        .where(table.c.id == plan.id, table.c.next_follow_up == plan.next_follow_up)
        .where(table.c.status == PlanStatus.ACTIVE.value)
        .values(next_follow_up=None, follow_up_time=None, place=None)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PlanError("plans.no_follow_up")
    held = FollowUp(
        plan_id=plan.id,
        scheduled_for=scheduled[0],
        scheduled_time=scheduled[1],
        scheduled_place=scheduled[2],
        held_on=_local_today(when),
        recorded_by=by,
        recorded_at=when["now"],
    )
    session.add(held)
    hold_reminders(session, plan_id=plan.id, day=scheduled[0])
    plan.next_follow_up, plan.follow_up_time, plan.place = None, None, None
    _changed(session, plan, "plan.held", by=by, **when)
    return held


def undo_follow_up_held(
    session: Session,
    *,
    plan_id: int,
    held_id: int,
    within: dt.timedelta,
    by: int | None,
    **when: Unpack[Scheduling],
) -> FollowUp:
    """Undo "held" recorded less than ``within`` ago: the follow-up is booked again as it
    was (day, time, place) and the reminders "held" stopped are pending again, with their
    due times; the returned row (no longer stored) says which follow-up it was.

    When a next follow-up was booked in the meantime (the person picked a date after "held"
    and then changed their mind), undo still wins: that booking is replaced by the restored
    follow-up and its pending reminders are cancelled (the team is told by the caller), so
    "undo" means the same thing for the whole time it is offered.

    Refused (:class:`PlanError`) when it is not the plan's last held follow-up
    (``plans.undo_gone``) or when the time is up (``plans.undo_expired``);
    ``plans.undo_booked`` only when another change raced this one.
    """
    plan = _plan_for(session, plan_id, by, "act", active=True)
    last = session.exec(
        select(FollowUp).where(FollowUp.plan_id == plan_id).order_by(col(FollowUp.id).desc())
    ).first()
    if last is None or last.id != held_id:
        raise PlanError("plans.undo_gone")
    if last.recorded_at < when["now"] - within:
        raise PlanError("plans.undo_expired")
    table = Plan.__table__  # type: ignore[attr-defined]
    booked = (
        table.c.next_follow_up.is_(None)
        if plan.next_follow_up is None
        else table.c.next_follow_up == plan.next_follow_up
    )
    restored = session.execute(
        table.update()
        .where(table.c.id == plan_id, booked)
        .values(
            next_follow_up=last.scheduled_for,
            follow_up_time=last.scheduled_time,
            place=last.scheduled_place,
        )
    )
    if restored.rowcount != 1:  # type: ignore[attr-defined]
        raise PlanError("plans.undo_booked")
    plan.next_follow_up, plan.follow_up_time = last.scheduled_for, last.scheduled_time
    plan.place = last.scheduled_place
    session.delete(last)
    release_held_reminders(session, plan_id=plan_id, day=last.scheduled_for)
    _changed(session, plan, "plan.held_undone", by=by, **when)
    return last


def close_plan(
    session: Session, *, plan_id: int, by: int | None, **when: Unpack[Scheduling]
) -> bool:
    """Close the plan: no more follow-ups or reminders. False when it was already closed.

    The booked date is kept as it was, so the history shows where the plan stood.
    """
    return _set_status(session, plan_id, by, PlanStatus.CLOSED, when)


def reopen_plan(
    session: Session, *, plan_id: int, by: int | None, **when: Unpack[Scheduling]
) -> bool:
    """Make a closed plan active again; a booked date already past is dropped so no
    overdue notices start for it. False when it was already active."""
    return _set_status(session, plan_id, by, PlanStatus.ACTIVE, when)


def _set_status(
    session: Session, plan_id: int, by: int | None, status: PlanStatus, when: Scheduling
) -> bool:
    plan = _plan_for(session, plan_id, by, "manage")
    if plan.status == status.value:
        return False
    plan.status = status.value
    reopened = status is PlanStatus.ACTIVE
    if reopened and plan.next_follow_up is not None and plan.next_follow_up < _local_today(when):
        plan.next_follow_up, plan.follow_up_time, plan.place = None, None, None
    _changed(session, plan, "plan.reopened" if reopened else "plan.closed", by=by, **when)
    if not reopened:
        logger.info("Plan %s closed", plan_id)
    return True


# -- editing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsibleChange:
    """Who was responsible before (now in the team) and who is now; None when unchanged."""

    before: int
    after: int


def change_responsible(
    session: Session, *, plan_id: int, staff_id: int, by: int | None, **when: Unpack[Scheduling]
) -> ResponsibleChange | None:
    """Make ``staff_id`` responsible (they must work in the plan's municipality or the
    region). The one responsible before stays in the team as a participant, the new one
    leaves the participants. None when they were responsible already."""
    plan = _plan_for(session, plan_id, by, "manage", active=True)
    person = _active_staff(session, staff_id)
    if not responsible_fits(person, plan.municipality):
        raise PlanError("plans.responsible_municipality")
    before = plan.responsible_id
    if staff_id == before:
        return None
    row = session.get(PlanParticipant, (plan_id, staff_id))
    if row is not None:
        session.delete(row)
    previous = staff_store.get_staff_by_id(session, staff_id=before)
    if previous is not None and session.get(PlanParticipant, (plan_id, before)) is None:
        session.add(PlanParticipant(plan_id=plan_id, staff_id=before))
    plan.responsible_id = staff_id
    _changed(session, plan, "plan.responsible_changed", by=by, target_id=staff_id, **when)
    return ResponsibleChange(before, staff_id)


def set_plan_type(
    session: Session, *, plan_id: int, plan_type: str, by: int | None, **when: Unpack[Scheduling]
) -> bool:
    """Change the kind of plan; False when it was that already."""
    if plan_type not in {t.value for t in PlanType}:
        raise PlanError("plans.type_invalid")
    plan = _plan_for(session, plan_id, by, "manage", active=True)
    if plan.plan_type == plan_type:
        return False
    plan.plan_type = plan_type
    _changed(session, plan, "plan.type_changed", by=by, **when)
    return True


def change_follow_up(
    session: Session,
    *,
    plan_id: int,
    day: dt.date,
    time: dt.time | None = None,
    place: str | None = None,
    fields: Collection[str],
    by: int | None,
    **when: Unpack[Scheduling],
) -> bool:
    """Change the time and/or place (``fields``: ``time``, ``place``) of the follow-up on
    ``day``, which must still be the plan's next one (``plans.follow_up_moved``). Its
    reminders move with the time. False when nothing changed."""
    plan = _plan_for(session, plan_id, by, "act", active=True)
    if plan.next_follow_up is None:
        raise PlanError("plans.no_follow_up_booked")
    if plan.next_follow_up != day:
        raise PlanError("plans.follow_up_moved")
    before = (plan.follow_up_time, plan.place)
    if "time" in fields and time != plan.follow_up_time:
        _check_time(day, time, when)
        plan.follow_up_time = time
    if "place" in fields:
        plan.place = check_place(place)
    if (plan.follow_up_time, plan.place) == before:
        return False
    _changed(session, plan, "plan.follow_up_changed", by=by, **when)
    return True


def team_ids(session: Session, *, plan_id: int) -> list[int]:
    """The active responsible and participants of the plan, responsible first."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        return []
    members = participant_ids(session, plan_id=plan_id)
    wanted = [plan.responsible_id, *sorted(set(members) - {plan.responsible_id})]
    return [p.id for p in people(session, staff_ids=wanted)]


# -- retention ----------------------------------------------------------------------------------


def retention_cutoff(now: dt.datetime, months: int) -> dt.datetime:
    """The moment ``months`` calendar months before ``now`` (the day clamped to the month)."""
    month_index = now.year * 12 + now.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(now.day, calendar_module.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def purge_closed_plans(session: Session, *, months: int, now: dt.datetime) -> int:
    """Delete every plan closed more than ``months`` months ago, with its team, follow-ups
    and reminders; the audit log keeps "plan.deleted" with the plan's id. The count."""
    cutoff = retention_cutoff(now, months)
    # One statement decides and deletes (the team, follow-ups and reminders go by cascade),
    # so a plan reopened a moment before is never deleted with its new reminders.
    old = [
        int(plan_id)
        for (plan_id,) in session.execute(
            sa.delete(Plan)
            .where(col(Plan.status) == PlanStatus.CLOSED.value, col(Plan.updated_at) < cutoff)
            .returning(col(Plan.id))
        )
    ]
    for plan_id in old:
        audit.record(session, "plan.deleted", actor_id=None, plan_id=plan_id, now=now)
    if old:
        logger.info("Deleted %d closed plan(s) past retention", len(old))
    return len(old)


# -- import and export --------------------------------------------------------------------------


def _staff_by_telegram_ids(session: Session, ids: Iterable[int]) -> dict[int, Staff]:
    wanted = set(ids)
    if not wanted:
        return {}
    query = select(Staff).where(col(Staff.telegram_id).in_(wanted), col(Staff.active).is_(True))
    return {s.telegram_id: s for s in session.exec(query)}


def import_problems(session: Session, *, rows: Sequence[PlanRow], today: dt.date) -> list[str]:
    """What the database says against rows the CSV parser accepted, ``line N: ...`` each.

    The responsible must be an active staff member of the plan's municipality or of the
    region; participants any active staff member. A date before ``today`` is allowed only
    when it is the plan's booked date already (an export of an overdue plan imports again).
    """
    staff = _staff_by_telegram_ids(
        session, [r.responsible for r in rows] + [p for r in rows for p in r.participants]
    )
    problems: list[str] = []
    for row in rows:
        where = f"line {row.line}: "
        responsible = staff.get(row.responsible)
        if responsible is None:
            problems.append(f"{where}responsible {row.responsible} is not registered staff")
        elif not responsible_fits(responsible, row.municipality):
            problems.append(
                where + f"responsible {row.responsible} works in {responsible.municipality}, "
                f"not in {row.municipality} or the region"
            )
        for member in row.participants:
            if member not in staff:
                problems.append(where + f"participant {member} is not a registered staff member")
        if len(row.participants) > MAX_PARTICIPANTS:
            problems.append(where + f"more than {MAX_PARTICIPANTS} participants")
        if row.next_follow_up < today:
            existing = get_plan_by_reference(session, reference=row.reference)
            if existing is None or existing.next_follow_up != row.next_follow_up:
                problems.append(where + f"next_follow_up {row.next_follow_up} is in the past")
    return problems


def import_rows(
    session: Session,
    *,
    rows: Sequence[PlanRow],
    created_by: int | None,
    **when: Unpack[Scheduling],
) -> ImportResult:
    """Create or update (by reference) one plan per row; staff are Telegram user ids.

    Check the rows with :func:`import_problems` first: any problem found here raises
    :class:`PlanError` and the caller's transaction is rolled back, so nothing is imported.
    An updated plan gets the row's type, municipality, responsible, participants (the row's
    list replaces the team), date and time; its place is kept only while the date and time
    stay the same; a closed plan is re-opened.
    """
    staff = _staff_by_telegram_ids(
        session, [r.responsible for r in rows] + [p for r in rows for p in r.participants]
    )
    created = updated = 0
    for row in rows:
        responsible = staff.get(row.responsible)
        members = [staff.get(p) for p in row.participants]
        if responsible is None or any(m is None for m in members):
            raise PlanError("plans.staff_unknown")
        assert responsible.id is not None
        member_ids = [m.id for m in members if m is not None and m.id is not None]
        plan = get_plan_by_reference(session, reference=row.reference)
        if plan is None:
            create_plan(
                session, reference=row.reference, plan_type=row.plan_type,
                municipality=row.municipality, responsible_id=responsible.id,
                participant_ids=member_ids, next_follow_up=row.next_follow_up,
                follow_up_time=row.follow_up_time, created_by=created_by, **when,
            )  # fmt: skip
            created += 1
        else:
            _update_from_row(session, plan, row, responsible, member_ids)
            _changed(session, plan, "plan.imported", by=created_by, **when)
            updated += 1
    return ImportResult(created, updated)


def _update_from_row(
    session: Session, plan: Plan, row: PlanRow, responsible: Staff, member_ids: list[int]
) -> None:
    assert plan.id is not None and responsible.id is not None
    if not responsible_fits(responsible, row.municipality):
        raise PlanError("plans.responsible_municipality")
    if (plan.next_follow_up, plan.follow_up_time) != (row.next_follow_up, row.follow_up_time):
        plan.place = None
    plan.plan_type, plan.municipality = row.plan_type, row.municipality
    plan.responsible_id, plan.status = responsible.id, PlanStatus.ACTIVE.value
    plan.next_follow_up, plan.follow_up_time = row.next_follow_up, row.follow_up_time
    wanted = [i for i in dict.fromkeys(member_ids) if i != responsible.id]
    current = set(participant_ids(session, plan_id=plan.id))
    for staff_id in current - set(wanted):
        row_ = session.get(PlanParticipant, (plan.id, staff_id))
        if row_ is not None:
            session.delete(row_)
    for staff_id in wanted:
        if staff_id not in current:
            session.add(PlanParticipant(plan_id=plan.id, staff_id=staff_id))


def export_rows(session: Session) -> PlanExport:
    """Every active plan with a booked date as a CSV row (staff as Telegram user ids), by
    reference. Closed plans and plans waiting for a new date cannot be written in the
    import's columns; the latter are counted."""
    plans = list(
        session.exec(
            select(Plan)
            .where(Plan.status == PlanStatus.ACTIVE.value)
            .order_by(col(Plan.reference_key))
        )
    )
    telegram_ids = {s.id: s.telegram_id for s in session.exec(select(Staff))}
    active = set(session.exec(select(Staff.id).where(col(Staff.active).is_(True))))
    members: dict[int, list[int]] = {}
    for link in session.exec(select(PlanParticipant).order_by(col(PlanParticipant.staff_id))):
        # As on the card: someone whose access was taken away is no longer in the team (and
        # would make the export fail to import again).
        if link.staff_id in active:
            members.setdefault(link.plan_id, []).append(telegram_ids[link.staff_id])
    rows: list[PlanRow] = []
    without_date = 0
    for plan in plans:
        if plan.next_follow_up is None:
            without_date += 1
            continue
        assert plan.id is not None
        rows.append(
            PlanRow(
                reference=plan.reference,
                plan_type=plan.plan_type,
                municipality=plan.municipality,
                responsible=telegram_ids[plan.responsible_id],
                participants=tuple(members.get(plan.id, [])),
                next_follow_up=plan.next_follow_up,
                follow_up_time=plan.follow_up_time,
            )
        )
    return PlanExport(rows, without_date)
