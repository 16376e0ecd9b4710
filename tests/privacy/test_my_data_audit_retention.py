"""/mina_data, the audit log and the retention of closed plans."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import select

from bot.context import DalsbotApp
from bot.shell.cli.main import main
from bot.shell.standin import BotApiStandIn
from storage import audit
from storage.audit import AuditEvent
from storage.db import Database
from storage.plans import store as plans_store
from storage.plans.models import Plan
from tests.conftest import FakeClock
from tests.helpers import add_staff
from tests.plans.helpers import CALENDAR, NOW, POLICY, TODAY
from tests.plans.helpers import add_staff as add_plan_staff


async def test_my_data_lists_what_is_stored_and_sends_it_as_a_file(
    app: DalsbotApp, standin: BotApiStandIn, clock: FakeClock
) -> None:
    staff_id = add_staff(app.bot_data.db, 701, "Mira Ek").id
    app.bot_data.db.call(
        lambda s: plans_store.create_plan(
            s, reference="MD-1", plan_type="sip", municipality="Mellerud",
            responsible_id=staff_id, next_follow_up=clock.now.date() + dt.timedelta(days=9),
            created_by=staff_id, policy=POLICY, calendar=CALENDAR, now=clock.now,
        )
    )  # fmt: skip
    person = standin.user(701, "Mira")
    await person.ask("vem kallar till SIP?")
    await person.send("/mina_data")
    summary, document = await person.next(2)
    assert summary.text.startswith("Det här finns sparat om dig, Mira Ek. Planer: 1, frågor: 1,")
    assert document.file_name is not None and document.file_name.startswith("mina-data-")
    stored = standin.files[document.message["document"]["file_id"]]
    data = json.loads(stored.content.decode("utf-8"))
    assert data["person"]["name"] == "Mira Ek"
    assert [p["reference"] for p in data["plans"]] == ["MD-1"]
    assert data["questions"][0]["text"] == "vem kallar till SIP?"
    assert "not linked" in data["pulse_answers"]
    assert [e["action"] for e in data["audit_events"]] == ["plan.created"]


def test_the_audit_log_records_plan_and_admin_actions_by_id(db: Database, tmp_path: object) -> None:
    """Created, viewed (once per ten minutes), date set, held, closed, a role change and a
    removal: who and which plan by id only."""
    from storage.people import store as staff_store
    from storage.people.models import Role

    bo = add_plan_staff(db, 801, "Bo Al", municipality="Mellerud")
    admin = add_plan_staff(db, 802, "Ada Admin", role="admin", municipality="region")
    plan = db.call(
        lambda s: plans_store.create_plan(
            s, reference="AU-1", plan_type="sip", municipality="Mellerud", responsible_id=bo,
            next_follow_up=TODAY + dt.timedelta(days=10), created_by=bo,
            policy=POLICY, calendar=CALENDAR, now=NOW,
        )
    )  # fmt: skip
    assert plan.id is not None
    plan_id = plan.id
    for _ in range(3):
        db.call(lambda s: plans_store.plan_view(s, plan_id=plan_id, viewer_id=admin))
    db.call(lambda s: plans_store.set_next_follow_up(
        s, plan_id=plan_id, day=TODAY + dt.timedelta(days=20), by=bo,
        policy=POLICY, calendar=CALENDAR, now=NOW))  # fmt: skip
    db.call(lambda s: plans_store.close_plan(
        s, plan_id=plan_id, by=bo, policy=POLICY, calendar=CALENDAR, now=NOW))  # fmt: skip
    db.call(lambda s: staff_store.set_role(s, staff_id=bo, role=Role.COORDINATOR, by=admin))
    db.call(lambda s: staff_store.remove_staff(s, staff_id=bo, now=NOW, by=admin))
    # (The helper registers people through invitations: those events are left out here.)
    rows = sorted(
        (r for r in db.call(lambda s: audit.events(s)) if r.action != "invite.created"),
        key=lambda r: r.id or 0,
    )
    assert [(r.actor_id, r.action, r.plan_id, r.target_id) for r in rows] == [
        (bo, "plan.created", plan_id, None),
        (admin, "plan.viewed", plan_id, None),
        (bo, "plan.date_set", plan_id, None),
        (bo, "plan.closed", plan_id, None),
        (admin, "staff.role_changed", None, bo),
        (admin, "staff.removed", None, bo),
    ]
    text = db.call(lambda s: audit.export_csv(audit.events(s)))
    assert text.splitlines()[0] == "at,actor_staff_id,action,plan_id,target_staff_id"
    assert "AU-1" not in text and "Bo Al" not in text


def test_closed_plans_are_deleted_after_the_retention_period(db: Database) -> None:
    bo = add_plan_staff(db, 811, "Bo Al", municipality="Mellerud")

    def make(reference: str) -> int:
        plan = db.call(
            lambda s: plans_store.create_plan(
                s, reference=reference, plan_type="sip", municipality="Mellerud",
                responsible_id=bo, next_follow_up=TODAY + dt.timedelta(days=10),
                created_by=bo, policy=POLICY, calendar=CALENDAR, now=NOW,
            )
        )  # fmt: skip
        assert plan.id is not None
        return plan.id

    old, recent, active = make("RT-1"), make("RT-2"), make("RT-3")
    closed_long_ago = NOW - dt.timedelta(days=400)
    db.call(lambda s: plans_store.close_plan(
        s, plan_id=old, by=bo, policy=POLICY, calendar=CALENDAR, now=closed_long_ago))  # fmt: skip
    db.call(lambda s: plans_store.close_plan(
        s, plan_id=recent, by=bo, policy=POLICY, calendar=CALENDAR, now=NOW))  # fmt: skip
    deleted = db.call(lambda s: plans_store.purge_closed_plans(s, months=12, now=NOW))
    assert deleted == 1
    left = db.call(lambda s: sorted(p.id for p in s.exec(select(Plan))))
    assert left == sorted([recent, active])
    events = db.call(lambda s: [(e.action, e.plan_id) for e in s.exec(select(AuditEvent))])
    assert ("plan.deleted", old) in events


def test_retention_cutoff_counts_calendar_months() -> None:
    now = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    assert plans_store.retention_cutoff(now, 1) == dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    assert plans_store.retention_cutoff(now, 12) == dt.datetime(2025, 3, 31, 12, tzinfo=dt.UTC)


def test_audit_export_cli(tmp_path: object, monkeypatch: object, capsys: object) -> None:
    """``dalsbot audit export`` prints the CSV header even with no events."""
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DALSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("DALSBOT_TELEGRAM_TOKEN", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert main(["audit", "export"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "at,actor_staff_id,action,plan_id,target_staff_id" in out
    assert main(["retention", "run"]) == 0


def test_retention_never_deletes_a_plan_that_is_active_again(db: Database) -> None:
    """The deletion itself checks the status: a plan reopened between the choice and the
    delete (here: active with an old update time) stays, with its reminders."""
    import sqlalchemy as sa

    bo = add_plan_staff(db, 821, "Bo Al", municipality="Mellerud")
    plan = db.call(
        lambda s: plans_store.create_plan(
            s, reference="RT-9", plan_type="sip", municipality="Mellerud", responsible_id=bo,
            next_follow_up=TODAY + dt.timedelta(days=10), created_by=bo,
            policy=POLICY, calendar=CALENDAR, now=NOW - dt.timedelta(days=500),
        )
    )  # fmt: skip
    plan_id = plan.id
    db.call(lambda s: s.execute(sa.update(Plan).where(Plan.id == plan_id).values(status="active")))
    assert db.call(lambda s: plans_store.purge_closed_plans(s, months=12, now=NOW)) == 0
    assert db.call(lambda s: s.get(Plan, plan_id)) is not None


def test_a_removed_configured_admin_comes_back_as_a_new_person(db: Database) -> None:
    """DALSBOT_ADMINS re-creates a removed admin at start-up, but not their old row (and so
    not the plans they were responsible for)."""
    from storage.people import store as staff_store

    first = db.call(lambda s: staff_store.ensure_admin(s, telegram_id=4242, display_name="A"))
    db.call(lambda s: staff_store.ensure_admin(s, telegram_id=4343, display_name="B"))
    assert first.id is not None
    first_id = first.id
    # Removed by the other admin (the last admin cannot be removed).
    db.call(lambda s: staff_store.remove_staff(s, staff_id=first_id, now=NOW))
    again = db.call(lambda s: staff_store.ensure_admin(s, telegram_id=4242, display_name="A"))
    assert again.id != first_id and again.active and again.role == "admin"
