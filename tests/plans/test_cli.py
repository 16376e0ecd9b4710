"""``dalsbot plans import`` and ``dalsbot plans export --csv``: all rows or none, line-numbered
errors, re-import updates, and an export that imports again unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.settings import Settings
from bot.shell.cli.main import main
from bot.shell.cli.plans import import_plans_csv
from storage.db import Database
from storage.migrate import open_database
from storage.people import store as staff_store
from storage.plans import store as plans_store
from storage.plans.csvfile import plans_to_csv
from storage.plans.models import Plan, PlanParticipant, Reminder
from tests.plans.helpers import CALENDAR, POLICY, add_staff

HEADER = "reference,plan_type,municipality,responsible,participants,next_follow_up,follow_up_time"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads its settings from the environment: a fresh data folder and database."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DALSBOT_DATABASE_URL", url)
    monkeypatch.delenv("DALSBOT_TELEGRAM_TOKEN", raising=False)
    return Settings(_env_file=None, data_dir=tmp_path, database_url=url)  # type: ignore[call-arg]


@pytest.fixture
def cli_db(cli_env: Settings) -> Database:
    """The CLI's database with staff: 11 and @bo_al in Mellerud, 13 (@cia_b) in Åmål, 15 region."""
    db = open_database(cli_env.database_url)
    add_staff(db, 11, "Anna Ek", role="coordinator")
    add_staff(db, 12, "Bo Al", username="bo_al")
    add_staff(db, 13, "Cia Berg", municipality="Åmål", username="cia_b")
    add_staff(db, 15, "Rut Reg", municipality="region")
    yield db
    db.dispose()


def _write(tmp_path: Path, *lines: str, name: str = "plans.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _plans(db: Database) -> dict[str, tuple[object, ...]]:
    def run(session: Session) -> dict[str, tuple[object, ...]]:
        found = {}
        for plan in session.exec(select(Plan)):
            query = select(PlanParticipant.staff_id).where(PlanParticipant.plan_id == plan.id)
            team = tuple(sorted(session.exec(query)))
            found[plan.reference] = (
                plan.plan_type,
                plan.municipality,
                plan.responsible_id,
                team,
                plan.next_follow_up,
                plan.follow_up_time,
            )
        return found

    return db.call(run)


def test_import_creates_plans_with_their_reminders(
    cli_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid file creates every plan (staff by id or @username) and plans reminders."""
    path = _write(
        tmp_path,
        HEADER,
        "BP-1,Barnets plan,mellerud,11,@bo_al;13,2030-03-15,13:30",
        "SIP-2,sip,Åmål,@cia_b,,2030-04-01,",
    )
    assert main(["plans", "import", str(path)]) == 0
    assert capsys.readouterr().out == "Imported 2 plan(s): 2 created, 0 updated.\n"
    plans = _plans(cli_db)
    assert set(plans) == {"BP-1", "SIP-2"}
    assert plans["BP-1"][:2] == ("barnets_plan", "Mellerud")
    assert plans["BP-1"][4:] == (dt.date(2030, 3, 15), dt.time(13, 30))
    assert len(plans["BP-1"][3]) == 2  # type: ignore[arg-type]
    reminders = cli_db.call(lambda s: len(list(s.exec(select(Reminder)))))
    assert reminders > 0


def test_every_error_is_reported_by_line_and_nothing_is_imported(
    cli_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Format and database errors alike, each with its line; a valid row is not imported
    either; the exit code is 1."""
    path = _write(
        tmp_path,
        HEADER,
        "BP-1,sip,Mellerud,11,,2030-03-15,",  # valid
        "19900101-0017,sip,Mellerud,11,,2030-03-15,",  # a personnummer as reference
        "BP-3,sip,Mellerud,13,,2030-03-15,",  # responsible from Åmål
        "BP-4,sip,Mellerud,11,@nobody;12,2030-03-15,25:00",  # unknown participant, bad time
        "BP-5,sip,Mellerud,11,,2020-01-01,",  # in the past
        "bp-1,sip,Mellerud,11,,2030-03-15,",  # the same reference as line 2
    )
    assert main(["plans", "import", str(path)]) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert errors == [
        "line 3: reference looks like a personal identity number",
        "line 4: responsible 13 works in Åmål, not in Mellerud or the region",
        "line 5: participant '@nobody' is not a registered staff member",
        "line 5: follow_up_time '25:00' is not a time HH:MM",
        "line 6: next_follow_up 2020-01-01 is in the past",
        "line 7: reference 'bp-1' is already on line 2",
        "Nothing was imported: 6 error(s).",
    ]
    assert "19900101" not in captured.err
    assert _plans(cli_db) == {}


def test_reimporting_a_reference_updates_that_plan(
    cli_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A known reference (any case) updates the plan: type, responsible, team, date, time."""
    first = _write(tmp_path, HEADER, "BP-1,sip,Mellerud,11,12;13,2030-03-15,13:30")
    assert main(["plans", "import", str(first)]) == 0
    second = _write(
        tmp_path,
        HEADER,
        "bp-1,annan,Mellerud,15,12,2030-05-02,",
        "BP-2,sip,region,15,,2030-06-01,08:00",
        name="again.csv",
    )
    capsys.readouterr()
    assert main(["plans", "import", str(second)]) == 0
    assert capsys.readouterr().out == "Imported 2 plan(s): 1 created, 1 updated.\n"
    plans = _plans(cli_db)
    bo, rut = (cli_db.call(lambda s, u=u: plans_store.staff_store.get_staff(s, telegram_id=u))
               for u in (12, 15))  # fmt: skip
    assert bo is not None and rut is not None
    assert plans["BP-1"] == ("annan", "Mellerud", rut.id, (bo.id,), dt.date(2030, 5, 2), None)
    assert set(plans) == {"BP-1", "BP-2"}  # BP-1 keeps the reference as first typed


def test_export_imports_again_unchanged(
    cli_db: Database, cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """export --csv writes the import's columns; importing it again changes nothing, also for
    an overdue plan (its own past date); a plan waiting for a date is counted, not written."""
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    source = "\n".join(
        [
            HEADER,
            "BP-1,sip,Mellerud,11,12;13,2026-12-15,13:30",
            "Åmål-7,barnets_plan,Åmål,13,,2027-01-04,",
            "BP-over,annan,Mellerud,12,11,2026-11-30,09:00",
            "BP-wait,sip,Mellerud,12,,2026-12-01,",
        ]
    )
    outcome = import_plans_csv(cli_db, source, settings=cli_env, now=now)
    assert outcome.errors == [] and outcome.result is not None

    def age(session: Session) -> None:
        over = plans_store.get_plan_by_reference(session, reference="BP-over")
        assert over is not None
        over.next_follow_up = dt.date(2026, 11, 20)  # overdue: never marked held
        waiting = plans_store.get_plan_by_reference(session, reference="BP-wait")
        assert waiting is not None and waiting.id is not None
        plans_store.mark_follow_up_held(
            session, plan_id=waiting.id, by=None, policy=POLICY, calendar=CALENDAR, now=now
        )

    cli_db.call(age)
    before = _plans(cli_db)
    output = tmp_path / "export.csv"
    assert main(["plans", "export", "--csv", "--output", str(output)]) == 0
    assert "1 active plan(s) without a booked follow-up were left out" in capsys.readouterr().err
    exported = output.read_text(encoding="utf-8")
    assert exported.splitlines() == [
        HEADER,
        "BP-1,sip,Mellerud,11,12;13,2026-12-15,13:30",
        "BP-over,annan,Mellerud,12,11,2026-11-20,09:00",
        "Åmål-7,barnets_plan,Åmål,13,,2027-01-04,",
    ]
    later = now + dt.timedelta(days=3)  # BP-over's date is in the past now
    again = import_plans_csv(cli_db, exported, settings=cli_env, now=later)
    assert again.errors == [] and again.result is not None
    assert (again.result.created, again.result.updated) == (0, 3)
    assert _plans(cli_db) == before
    # A past date that is not the plan's own is still refused.
    moved = exported.replace("2026-11-20", "2026-11-21")
    refused = import_plans_csv(cli_db, moved, settings=cli_env, now=later)
    assert refused.errors == ["line 3: next_follow_up 2026-11-21 is in the past"]

    assert main(["plans", "export", "--csv"]) == 0
    assert capsys.readouterr().out == exported


def test_unreadable_file_and_missing_format(
    cli_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not UTF-8 is refused with a hint; export needs --csv."""
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\nÅmål-1,sip,Åmål,13,,2030-01-01,\n").encode("latin-1"))
    assert main(["plans", "import", str(path)]) == 2
    assert "CSV UTF-8" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["plans", "export"])


def test_export_leaves_out_participants_whose_access_was_taken_away(
    cli_db: Database, cli_env: Settings
) -> None:
    """A participant removed from Dalsbot is not in the team the card shows, so the export
    does not list them either, and the export still imports again."""
    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    source = f"{HEADER}\nBP-1,sip,Mellerud,11,12;13,2026-12-15,13:30\n"
    assert import_plans_csv(cli_db, source, settings=cli_env, now=now).errors == []
    bo = cli_db.call(lambda s: staff_store.get_staff(s, telegram_id=12))
    assert bo is not None and bo.id is not None
    bo_id = bo.id
    cli_db.call(lambda s: staff_store.remove_staff(s, staff_id=bo_id))
    exported = plans_to_csv(cli_db.call(plans_store.export_rows).rows)
    assert exported.splitlines()[1] == "BP-1,sip,Mellerud,11,13,2026-12-15,13:30"
    again = import_plans_csv(cli_db, exported, settings=cli_env, now=now)
    assert again.errors == [] and again.result is not None
