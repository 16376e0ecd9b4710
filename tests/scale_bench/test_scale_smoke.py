"""The national-scale benchmark (benchmarks/scale.py) at a tiny scale, on PostgreSQL only: the
bulk-generated rows are the ones the bot itself plans, the claim is explained, and the
stand-in's paid-broadcast limits behave as Telegram's."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlmodel import col, select

from benchmarks import scale
from storage import migrate
from storage.db import Database
from storage.plans.models import Plan, Reminder
from storage.plans.reminders import sync_plan_reminders
from tests.conftest import POSTGRES_ENV

SHAPE = scale.Shape.at(0.0005)  # 290 plans


@pytest.fixture(scope="module")
def moment() -> scale.Moment:
    return scale.Moment.now()


@pytest.fixture(scope="module")
def url(moment: scale.Moment) -> Iterator[str]:
    """A tiny national deployment in a database of its own, with the morning due."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"the scale benchmark needs PostgreSQL ({POSTGRES_ENV})")
    base = base.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"dalsbot_scale_smoke_{uuid.uuid4().hex[:8]}"
    with scale.database(base, name, keep=False) as database_url:
        db = Database(database_url)
        migrate.upgrade(db)
        db.dispose()
        before = _reminder_indexes(database_url)
        scale.generate(database_url, SHAPE, moment)
        # The bulk load dropped and rebuilt the reminder indexes: they are as migrated.
        assert _reminder_indexes(database_url) == before
        yield database_url


def _reminder_indexes(url: str) -> list[str]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as connection:
        rows = connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'reminder' ORDER BY indexname"
        ).fetchall()
    return [str(row[0]) for row in rows]


def _rows(db: Database, plan_ids: list[int]) -> list[tuple[object, ...]]:
    with db.session() as session:
        found = session.exec(
            select(Reminder)
            .where(col(Reminder.plan_id).in_(plan_ids))
            .order_by(col(Reminder.plan_id), col(Reminder.staff_id), col(Reminder.kind))
            .order_by(col(Reminder.seq))
        )
        return [
            (r.plan_id, r.staff_id, r.kind, r.seq, r.follow_up_date, r.due_at, r.state)
            for r in found
        ]


def test_generated_rows_are_what_the_bot_plans(url: str, moment: scale.Moment) -> None:
    morning = scale.insert_morning(url, moment)
    assert scale.plan_count(url) == SHAPE.plans
    assert morning > 0
    assert scale.pending_rows(url) > 10 * SHAPE.plans  # about 13 rows a plan
    db = Database(url)
    try:
        with db.session() as session:
            plan_ids = [p or 0 for p in session.exec(select(Plan.id).order_by(col(Plan.id)))]
        sample = plan_ids[:: max(1, len(plan_ids) // 40)]
        before = _rows(db, sample)
        assert {row[6] for row in before} == {"pending"}
        calendar = scale.MorningCalendar(moment.today)
        with db.session() as session:
            for plan_id in sample:
                sync_plan_reminders(
                    session,
                    plan_id=plan_id,
                    policy=moment.policy,
                    calendar=calendar,
                    now=moment.planned_at,
                )
            session.commit()
        # The bot's own planning, as of when the rows were planned, adds or stops nothing.
        assert _rows(db, sample) == before
    finally:
        db.dispose()
    keys = scale.morning_keys(url, moment)
    assert len(keys) == morning
    assert all(scale.REFERENCE.fullmatch(reference) for _chat, reference in keys)


def test_the_claim_is_explained(url: str, moment: scale.Moment) -> None:
    scale.insert_morning(url, moment)
    claim = scale.measure_claim(url, moment, runs=2)
    assert claim["claimed"] > 0
    assert any("reminder" in line for line in claim["plan"])
    assert claim["execution_ms"] > 0
    # Rolled back: the morning is still all pending.
    assert scale.morning_states(url, moment) == {"pending": len(scale.morning_keys(url, moment))}
    sizes = scale.sizes(url)
    assert sizes["total"] > 0
    assert sizes["tables"][0][0] == "reminder"


def test_paid_broadcasts_go_faster_than_free_ones() -> None:
    limits = scale.BroadcastLimits()
    limits.paid = False
    free = [limits.check(chat, 100.0) for chat in range(40)]
    assert free.count(None) == 30  # 30 a second without paying
    limits = scale.BroadcastLimits()
    limits.paid = True
    paid = [limits.check(chat, 100.0) for chat in range(40)]
    assert paid.count(None) == 40 and limits.paid_requests == 40
    assert limits.check(0, 100.5) == 1  # still one a second per chat
    assert limits.per_chat_rejections == 1
