"""What the wizard offers, read from the database: the next generated reference and the
person's last place (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from storage.db import Database
from storage.plans import store as plans_store
from storage.plans import suggestions
from tests.plans.helpers import CALENDAR, NOW, POLICY, add_staff


def _plan(db: Database, reference: str, responsible: int, *, place: str | None, by: int) -> None:
    def run(session: Session) -> None:
        plans_store.create_plan(
            session, reference=reference, plan_type="sip", municipality="Mellerud",
            responsible_id=responsible, next_follow_up=dt.date(2026, 12, 18), place=place,
            created_by=by, policy=POLICY, calendar=CALENDAR, now=NOW,
        )  # fmt: skip

    db.call(run)


def test_the_next_reference_counts_past_the_highest_used(db: Database) -> None:
    """MEL-2026-001 and a typed mel-2026-7 taken: MEL-2026-008; other years and codes and
    non-numeric tails do not count; a municipality without a code gets none."""
    anna = add_staff(db, 101, "Anna Ek", role="coordinator")

    def suggest(municipality: str = "Mellerud", year: int = 2026) -> str | None:
        return db.call(
            lambda s: suggestions.suggest_reference(s, municipality=municipality, year=year)
        )

    assert suggest() == "MEL-2026-001"
    _plan(db, "MEL-2026-001", anna, place=None, by=anna)
    _plan(db, "mel-2026-7", anna, place=None, by=anna)
    _plan(db, "MEL-2026-x9", anna, place=None, by=anna)
    _plan(db, "MEL-2025-040", anna, place=None, by=anna)
    assert suggest() == "MEL-2026-008"
    assert suggest(year=2025) == "MEL-2025-041"
    assert suggest("Åmål") == "ÅML-2026-001"
    assert suggest("Oslo") is None


def test_the_last_place_is_that_of_the_plan_changed_last(db: Database) -> None:
    """The place of the latest plan the person made or is responsible for; none without."""
    anna = add_staff(db, 101, "Anna Ek", role="coordinator")
    bo = add_staff(db, 102, "Bo Al")
    dan = add_staff(db, 103, "Dan Ulf")

    def last(staff_id: int) -> str | None:
        return db.call(lambda s: suggestions.last_place(s, staff_id=staff_id))

    assert last(anna) is None
    _plan(db, "BP-1", anna, place="Skolan", by=anna)
    _plan(db, "BP-2", anna, place=None, by=anna)
    assert last(anna) == "Skolan"
    _plan(db, "BP-3", bo, place="Familjecentralen", by=anna)
    assert last(anna) == "Familjecentralen"
    assert last(bo) == "Familjecentralen"  # responsible
    assert last(dan) is None
