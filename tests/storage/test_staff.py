"""Staff and invitation storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.people import store as staff_store
from storage.people.models import Role, Staff
from storage.people.store import InviteStatus

NOW = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def _redeem(db: Database, code: str, telegram_id: int) -> InviteStatus:
    status, _ = db.call(
        lambda s: staff_store.redeem_invitation(
            s,
            code=code,
            telegram_id=telegram_id,
            display_name=f"P{telegram_id}",
            username=None,
            organisation="skola",
            language="sv",
            now=NOW,
        )
    )
    return status


def test_migrations_create_tables_with_wal_on_sqlite(db: Database) -> None:
    """The schema exists; SQLite runs in WAL mode with foreign keys on."""
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"staff", "invitation", "alembic_version"} <= tables
    if db.dialect == "sqlite":
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_invitation_codes_are_unguessable_and_url_safe(db: Database) -> None:
    """Codes are at most 64 characters of [A-Za-z0-9_-] and never repeat."""
    codes = {
        db.call(
            lambda s: staff_store.create_invitation(
                s, role=Role.STAFF, municipality="Åmål", now=NOW
            )
        ).code
        for _ in range(50)
    }
    assert len(codes) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{30,64}", code) for code in codes)


def test_single_use_invitation_registers_once(db: Database) -> None:
    """The first redeem registers the person with the invitation's role; the second is refused."""
    invitation = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.COORDINATOR, municipality="Dals-Ed", now=NOW
        )
    )
    assert _redeem(db, invitation.code, 1) == InviteStatus.OK
    assert _redeem(db, invitation.code, 2) == InviteStatus.USED
    person = db.call(lambda s: staff_store.get_staff(s, telegram_id=1))
    assert person is not None
    assert (person.role, person.municipality) == ("coordinator", "Dals-Ed")
    assert db.call(lambda s: staff_store.get_staff(s, telegram_id=2)) is None


def test_expired_and_unknown_invitations(db: Database) -> None:
    """An invitation past its expiry, or a code never issued, registers nobody."""
    invitation = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.STAFF, municipality="Åmål", expires_days=1, now=NOW
        )
    )
    late = NOW + dt.timedelta(days=1, seconds=1)
    status, staff = db.call(
        lambda s: staff_store.redeem_invitation(
            s,
            code=invitation.code,
            telegram_id=5,
            display_name="X",
            username=None,
            organisation="skola",
            language="sv",
            now=late,
        )
    )
    assert (status, staff) == (InviteStatus.EXPIRED, None)
    assert _redeem(db, "inv_unknown", 6) == InviteStatus.UNKNOWN


def test_concurrent_redeems_of_the_last_use_let_exactly_one_in(db: Database) -> None:
    """Eight people racing for a 3-use invitation: exactly three get in."""
    invitation = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.STAFF, municipality="Mellerud", uses=3, now=NOW
        )
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda uid: _redeem(db, invitation.code, uid), range(100, 108)))
    assert results.count(InviteStatus.OK) == 3
    assert len(db.call(lambda s: staff_store.list_staff(s))) == 3


def test_invitation_limits_are_checked(db: Database) -> None:
    """Uses and expiry outside the allowed ranges are refused."""
    with pytest.raises(ValueError, match="uses"):
        db.call(
            lambda s: staff_store.create_invitation(s, role=Role.STAFF, municipality="Åmål", uses=0)
        )
    with pytest.raises(ValueError, match="expires-days"):
        db.call(
            lambda s: staff_store.create_invitation(
                s, role=Role.STAFF, municipality="Åmål", expires_days=365
            )
        )


def test_removed_staff_are_hidden_and_can_rejoin(db: Database) -> None:
    """Removal hides the person everywhere; a new invitation registers them again as a new
    person row (nothing of the old one comes back)."""
    first = db.call(
        lambda s: staff_store.create_invitation(s, role=Role.STAFF, municipality="Åmål", now=NOW)
    )
    _redeem(db, first.code, 7)
    person = db.call(lambda s: staff_store.get_staff(s, telegram_id=7))
    assert person is not None and person.id is not None
    person_id = person.id
    db.call(lambda s: staff_store.remove_staff(s, staff_id=person_id, now=NOW))
    assert db.call(lambda s: staff_store.get_staff(s, telegram_id=7)) is None
    assert db.call(lambda s: staff_store.list_staff(s)) == []
    second = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.COORDINATOR, municipality="Mellerud", now=NOW + dt.timedelta(minutes=1)
        )
    )
    assert _redeem(db, second.code, 7) == InviteStatus.OK
    again = db.call(lambda s: staff_store.get_staff(s, telegram_id=7))
    assert again is not None and again.id != person_id and again.role == "coordinator"


def test_coordinators_of_a_municipality_fall_back_to_admins(db: Database) -> None:
    """Coordinators of the municipality (and region) are found; with none, the admins."""
    db.call(lambda s: staff_store.ensure_admin(s, telegram_id=1, display_name="Admin"))
    assert [
        p.telegram_id
        for p in db.call(lambda s: staff_store.coordinators_of(s, municipality="Åmål"))
    ] == [1]
    invitation = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.COORDINATOR, municipality="Åmål", uses=2, now=NOW
        )
    )
    _redeem(db, invitation.code, 2)
    found = db.call(lambda s: staff_store.coordinators_of(s, municipality="Åmål"))
    assert [p.telegram_id for p in found] == [2]


def test_find_staff_by_id_or_username(db: Database) -> None:
    """CSV import finds people by Telegram id or @username (any case)."""
    invitation = db.call(
        lambda s: staff_store.create_invitation(s, role=Role.STAFF, municipality="Åmål", now=NOW)
    )
    db.call(
        lambda s: staff_store.redeem_invitation(
            s,
            code=invitation.code,
            telegram_id=77,
            display_name="Maja",
            username="Maja_K",
            organisation="skola",
            language="sv",
            now=NOW,
        )
    )
    by_id = db.call(lambda s: staff_store.find_staff(s, handle="77"))
    by_name = db.call(lambda s: staff_store.find_staff(s, handle="@maja_k"))
    assert by_id is not None and by_name is not None and by_id.id == by_name.id
    assert db.call(lambda s: staff_store.find_staff(s, handle="nobody")) is None


async def test_database_work_runs_off_the_event_loop(db: Database) -> None:
    """Database.run executes in a worker thread, not on the event loop's thread."""
    import threading

    loop_thread = threading.get_ident()
    worker_thread = await db.run(lambda _s: threading.get_ident())
    assert worker_thread != loop_thread


def test_database_errors_never_carry_the_values_written(db: Database) -> None:
    """An error's text (which the error handler logs) holds no name or other value."""
    db.call(lambda s: s.add(Staff(telegram_id=5, display_name="Hemliga Hilda", **_PERSON)))
    with pytest.raises(sa.exc.IntegrityError) as caught:
        db.call(lambda s: s.add(Staff(telegram_id=5, display_name="Hemliga Hilda", **_PERSON)))
    assert "Hemliga" not in str(caught.value)


_PERSON = {"role": "staff", "municipality": "Åmål", "organisation": "skola"}


def test_username_lookup_is_exact_not_a_pattern(db: Database) -> None:
    """ "_" and "%" are literal: @anna_ek never finds annaxek, "@%" finds nobody."""
    for telegram_id, username in ((81, "annaxek"), (82, "anna_ek")):
        invitation = db.call(
            lambda s: staff_store.create_invitation(
                s, role=Role.STAFF, municipality="Åmål", now=NOW
            )
        )
        db.call(
            lambda s, code=invitation.code, tid=telegram_id, name=username: (
                staff_store.redeem_invitation(
                    s, code=code, telegram_id=tid, display_name="Anna", username=name,
                    organisation="skola", language="sv", now=NOW,
                )
            )
        )  # fmt: skip
    found = db.call(lambda s: staff_store.find_staff(s, handle="@Anna_Ek"))
    assert found is not None and found.telegram_id == 82
    assert db.call(lambda s: staff_store.find_staff(s, handle="@anna%")) is None
    assert db.call(lambda s: staff_store.find_staff(s, handle="@%")) is None
    assert db.call(lambda s: staff_store.find_staff(s, handle="9" * 30)) is None


def test_stored_names_hold_no_identity_number_or_bidi_controls(db: Database) -> None:
    invitation = db.call(
        lambda s: staff_store.create_invitation(s, role=Role.STAFF, municipality="Åmål", now=NOW)
    )
    person = db.call(
        lambda s: staff_store.redeem_invitation(
            s, code=invitation.code, telegram_id=83, display_name="Eva\u202e 121212\u200b-1212",
            username="eva\u200b_k", organisation="skola", language="sv", now=NOW,
        )
    )  # fmt: skip
    _status, staff = person
    assert staff is not None
    assert staff.display_name == "Eva […]"
    assert staff.username == "eva_k"


def test_removal_means_removal(db: Database) -> None:
    """A removed person cannot come back through an invitation made before the removal (a
    multi-use one used to register them again); their plan roles and the invitations they
    made are gone; a new invitation brings them back without their old plan access."""
    from storage.people.models import Invitation
    from storage.plans.models import PlanParticipant

    shared = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.COORDINATOR, municipality="Åmål", uses=10, now=NOW
        )
    )
    assert _redeem(db, shared.code, 91) == InviteStatus.OK
    person = db.call(lambda s: staff_store.get_staff(s, telegram_id=91))
    assert person is not None and person.id is not None
    person_id = person.id
    made = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.STAFF, municipality="Åmål", uses=5, created_by=91, now=NOW
        )
    )
    db.call(lambda s: s.add(PlanParticipant(plan_id=_plan(s, person_id), staff_id=person_id)))
    later = NOW + dt.timedelta(hours=1)
    db.call(lambda s: staff_store.remove_staff(s, staff_id=person_id, now=later))
    assert _redeem(db, shared.code, 91) == InviteStatus.REVOKED
    assert db.call(lambda s: staff_store.get_staff(s, telegram_id=91)) is None
    assert db.call(lambda s: s.get(Invitation, made.id)).uses_left == 0
    assert _redeem(db, made.code, 92) == InviteStatus.USED
    assert db.call(lambda s: s.exec(sa.select(PlanParticipant)).all()) == []
    # Someone else may still use the shared invitation.
    assert _redeem(db, shared.code, 93) == InviteStatus.OK
    fresh = db.call(
        lambda s: staff_store.create_invitation(
            s, role=Role.STAFF, municipality="Åmål", now=later + dt.timedelta(minutes=5)
        )
    )
    assert _redeem(db, fresh.code, 91) == InviteStatus.OK
    back = db.call(lambda s: staff_store.get_staff(s, telegram_id=91))
    assert back is not None and back.removed_at is None and back.id != person_id
    # The plan they were responsible for stays out of reach.
    from storage.plans import store as plans_store

    view = db.call(lambda s: plans_store.plan_view(s, plan_id=_first_plan(s), viewer_id=back.id))
    assert view is not None and not view.rights.view


def _plan(session: object, responsible_id: int) -> int:
    """A plan row for the participant test."""
    from sqlmodel import Session

    from storage.plans.models import Plan

    assert isinstance(session, Session)
    plan = Plan(
        reference="BP-1", reference_key="BP-1", plan_type="sip", municipality="Åmål",
        responsible_id=responsible_id, created_by=responsible_id,
    )  # fmt: skip
    session.add(plan)
    session.flush()
    assert plan.id is not None
    return plan.id


def _first_plan(session: object) -> int:
    from sqlmodel import Session, select

    from storage.plans.models import Plan

    assert isinstance(session, Session)
    plan_id = session.exec(select(Plan.id)).first()
    assert plan_id is not None
    return plan_id


def test_the_last_admin_stays(db: Database) -> None:
    """Neither a new role nor a removal may leave Dalsbot without an admin; with two admins,
    either may go."""
    first = db.call(lambda s: staff_store.ensure_admin(s, telegram_id=7001, display_name="A"))
    assert first.id is not None
    first_id = first.id
    with pytest.raises(staff_store.LastAdminError):
        db.call(lambda s: staff_store.set_role(s, staff_id=first_id, role=Role.STAFF))
    with pytest.raises(staff_store.LastAdminError):
        db.call(lambda s: staff_store.remove_staff(s, staff_id=first_id))
    db.call(lambda s: staff_store.ensure_admin(s, telegram_id=7002, display_name="B"))
    changed = db.call(lambda s: staff_store.set_role(s, staff_id=first_id, role=Role.STAFF))
    assert changed is not None and changed.role == "staff"


def test_two_admins_demoting_each_other_at_once_leave_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both changes are tried at the same moment (each waits, after writing, until the other
    has written too, or two seconds): one goes through, the other is refused."""
    ids = [
        db.call(lambda s, tid=tid: staff_store.ensure_admin(s, telegram_id=tid, display_name="A"))
        for tid in (7101, 7102)
    ]
    together = threading.Barrier(2, timeout=2)
    counted = staff_store.count_admins

    def count_when_both_wrote(session: object) -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()
        return counted(session)  # type: ignore[arg-type]

    monkeypatch.setattr(staff_store, "count_admins", count_when_both_wrote)

    def demote(staff_id: int | None) -> str:
        assert staff_id is not None
        try:
            db.call(lambda s: staff_store.set_role(s, staff_id=staff_id, role=Role.STAFF))
        except staff_store.LastAdminError:
            return "refused"
        return "done"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(demote, [ids[1].id, ids[0].id]))
    assert outcomes == ["done", "refused"]
    monkeypatch.setattr(staff_store, "count_admins", counted)
    assert db.call(staff_store.count_admins) == 1
