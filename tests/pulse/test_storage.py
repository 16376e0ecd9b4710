"""Pulse storage on SQLite and PostgreSQL: the anonymous schema, markers, results, closing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from storage.db import Database
from storage.pulse import store as pulse_store
from storage.pulse.logic import aggregate, answer_key
from storage.pulse.models import Pulse, PulseAnswer, PulseRespondent, PulseScore
from storage.schema import metadata
from tests.helpers import add_staff
from tests.pulse.helpers import TEMPLATES, open_pulse

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
SECRET = b"0123456789abcdef0123456789abcdef"
# Any column whose name hints at a person, an account, a message or a moment.
IDENTIFYING = re.compile(
    r"user|chat|message|telegram|time|_at$|created|updated|hash|staff|respondent|organiser"
    r"|person|name|phone|mail|ip|device|session|token|key_hash",
    re.IGNORECASE,
)
ALLOWED = {
    "pulse_answer": {"id", "pulse_id", "answered_on", "comment"},
    "pulse_score": {"answer_id", "question_key", "pulse_id", "score"},
}


def _columns(db: Database, table: str) -> dict[str, sa.types.TypeEngine[object]]:
    inspector = sa.inspect(db.engine)
    return {column["name"]: column["type"] for column in inspector.get_columns(table)}


def test_answer_tables_hold_nothing_that_identifies_a_person(db: Database) -> None:
    """The real answer and score tables have exactly the allowed columns, none of them
    names a person, an account or a time, and the date is a DATE, not a timestamp."""
    for table, allowed in ALLOWED.items():
        columns = _columns(db, table)
        assert set(columns) == allowed, table
        assert [name for name in columns if IDENTIFYING.search(name)] == [], table
        assert set(metadata.tables[table].columns.keys()) == allowed, table
    answered_on = _columns(db, "pulse_answer")["answered_on"]
    assert isinstance(answered_on, sa.Date) and not isinstance(answered_on, sa.DateTime)
    for table in ALLOWED:
        targets = {fk["referred_table"] for fk in sa.inspect(db.engine).get_foreign_keys(table)}
        assert targets <= {"pulse", "pulse_answer"}, table


def test_markers_are_kept_apart_from_the_answers(db: Database) -> None:
    """The who-has-answered table has only the pulse and the keyed hash: no reference to an
    answer, no time; on SQLite none of the three tables has an insertion-ordered rowid."""
    assert set(_columns(db, "pulse_respondent")) == {"pulse_id", "key_hash"}
    foreign = sa.inspect(db.engine).get_foreign_keys("pulse_respondent")
    assert {fk["referred_table"] for fk in foreign} == {"pulse"}
    if db.dialect == "sqlite":
        with db.engine.connect() as connection:
            for table in ("pulse_answer", "pulse_score", "pulse_respondent"):
                with pytest.raises(sa.exc.OperationalError, match="rowid"):
                    connection.execute(sa.text(f"SELECT rowid FROM {table}"))


def test_answer_ids_are_random_not_sequential(db: Database) -> None:
    """Answer keys are random UUIDs, so their order says nothing about who came first."""
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW)
    assert pulse.id is not None
    pulse_id = pulse.id
    for _ in range(20):
        db.call(
            lambda s: pulse_store.store_answer(
                s, pulse_id=pulse_id, scores={"syfte": 3}, comment="",
                answered_on=NOW.date(), now=NOW,
            )
        )  # fmt: skip
    ids = db.call(lambda s: list(s.exec(select(PulseAnswer.id))))
    assert len(set(ids)) == 20 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert sorted(ids) != ids or sorted(ids, reverse=True) != ids


def test_claiming_twice_is_refused_and_closed_pulses_take_nothing(db: Database) -> None:
    """The second claim with the same keyed hash is refused; a closed pulse refuses both the
    marker and the answer; closing deletes the pulse's markers."""
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW, hours=2)
    assert pulse.id is not None
    pulse_id = pulse.id
    key = answer_key(SECRET, pulse_id, 555)

    def claim(now: dt.datetime, key_hash: str = key) -> pulse_store.ClaimResult:
        return db.call(
            lambda s: pulse_store.claim_respondent(s, pulse_id=pulse_id, key_hash=key_hash, now=now)
        )

    assert claim(NOW) is pulse_store.ClaimResult.CLAIMED
    assert claim(NOW) is pulse_store.ClaimResult.ALREADY
    assert db.call(lambda s: pulse_store.has_answered(s, pulse_id=pulse_id, key_hash=key))
    later = NOW + dt.timedelta(hours=2)
    assert claim(later, answer_key(SECRET, pulse_id, 556)) is pulse_store.ClaimResult.CLOSED
    stored = db.call(
        lambda s: pulse_store.store_answer(
            s, pulse_id=pulse_id, scores={}, comment="", answered_on=later.date(), now=later
        )
    )
    assert stored is False
    assert db.call(lambda s: pulse_store.close_due_pulses(s, now=later)) == [pulse_id]
    assert db.call(lambda s: s.exec(select(PulseRespondent)).all()) == []
    assert db.call(lambda s: pulse_store.close_due_pulses(s, now=later)) == []


def test_results_come_from_group_by_and_hide_below_k(db: Database) -> None:
    """SQL aggregation gives what the pure aggregation gives; k − 1 answers show nothing."""
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW, k=4)
    assert pulse.id is not None
    pulse_id = pulse.id
    keys = TEMPLATES["barnteam"].question_keys
    answers: list[dict[str, int | None]] = [
        dict(zip(keys, scores, strict=True))
        for scores in ((5, 4, None, 3, 2), (1, 2, 3, 4, 5), (3, 3, 3, None, 3), (4, 4, 4, 4, 4))
    ]
    for number, scores in enumerate(answers, start=1):
        db.call(
            lambda s, sc=scores: pulse_store.store_answer(
                s, pulse_id=pulse_id, scores=sc, comment="", answered_on=NOW.date(), now=NOW
            )
        )
        results = db.call(lambda s: pulse_store.pulse_results(s, pulse=pulse))
        assert results == aggregate(keys, answers[:number], k=4)
        assert results.visible is (number >= 4)
        if number < 4:
            assert results.questions == ()


def test_closing_and_notifying_happen_once(db: Database) -> None:
    """Only one caller gets to send a closed pulse's results."""
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW, hours=1)
    assert pulse.id is not None
    pulse_id = pulse.id
    later = NOW + dt.timedelta(hours=1)
    db.call(lambda s: pulse_store.close_due_pulses(s, now=later))
    assert db.call(pulse_store.pulses_to_notify) == [pulse_id]
    claims = [
        db.call(lambda s: pulse_store.claim_notification(s, pulse_id=pulse_id, now=later))
        for _ in range(2)
    ]
    assert claims == [True, False]
    assert db.call(pulse_store.pulses_to_notify) == []
    assert db.call(lambda s: pulse_store.close_pulse(s, pulse_id=pulse_id, now=later)) is None


def test_a_template_edit_does_not_change_an_open_pulse(db: Database) -> None:
    """The pulse keeps the snapshot and version it was opened with."""
    template = TEMPLATES["sip"]
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW, template=template)
    assert pulse.id is not None
    pulse_id = pulse.id

    def edit(session: Session) -> None:
        stored = session.get(Pulse, pulse_id)
        assert stored is not None
        assert pulse_store.pulse_template(stored) == template
        assert stored.template_version == template.version

    db.call(edit)
    in_use = db.call(pulse_store.template_versions_in_use)
    assert in_use == [("sip", template.version, 1)]


def test_trend_scope_follows_the_role() -> None:
    """Admins: all of Dalsland; coordinators: their municipality (region: all); staff: own."""
    from storage.people.models import Staff

    def person(role: str, municipality: str = "Mellerud") -> Staff:
        return Staff(id=7, telegram_id=7, display_name="x", role=role,
                     municipality=municipality, organisation="skola")  # fmt: skip

    assert pulse_store.trend_scope(person("admin")) == pulse_store.TrendScope(None, None)
    assert pulse_store.trend_scope(person("coordinator")) == pulse_store.TrendScope(
        "Mellerud", None
    )
    assert pulse_store.trend_scope(person("coordinator", "region")) == pulse_store.TrendScope(
        None, None
    )
    assert pulse_store.trend_scope(person("staff")) == pulse_store.TrendScope(None, 7)


def test_scores_table_counts_match_answers(db: Database) -> None:
    """A skipped question has no score row; every other one has exactly one."""
    pulse = open_pulse(db, add_staff(db, 1, "Olle"), now=NOW)
    assert pulse.id is not None
    pulse_id = pulse.id
    db.call(
        lambda s: pulse_store.store_answer(
            s, pulse_id=pulse_id, scores={"syfte": 5, "ansvar": None}, comment="Bra",
            answered_on=NOW.date(), now=NOW,
        )
    )  # fmt: skip
    rows = db.call(lambda s: [(r.question_key, r.score) for r in s.exec(select(PulseScore))])
    assert rows == [("syfte", 5)]
    assert db.call(lambda s: pulse_store.pulse_comments(s, pulse_id=pulse_id)) == ["Bra"]


def test_an_answer_racing_the_close_is_refused_in_the_same_statement(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check and the write are one statement: an answer whose check ran just before the
    pulse closed (on SQLite the check is outside the write transaction) is still refused,
    and so is its marker, so the count never changes after the results were sent."""
    from storage.pulse import store

    now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
    organiser = add_staff(db, 60, "Olle")
    pulse = open_pulse(db, organiser, label="Race", now=now)
    assert pulse.id is not None
    pulse_id = pulse.id
    db.call(lambda s: store.close_pulse(s, pulse_id=pulse_id, now=now))
    # The check ran before the close committed: it still saw the pulse open.
    monkeypatch.setattr(store, "_open_pulse_for_answer", lambda session, pid, at: pulse)
    first_key = TEMPLATES["barnteam"].question_keys[0]
    stored = db.call(
        lambda s: store.store_answer(
            s, pulse_id=pulse_id, scores={first_key: 4}, comment="", answered_on=now.date(), now=now
        )
    )
    claimed = db.call(
        lambda s: store.claim_respondent(s, pulse_id=pulse_id, key_hash="x" * 64, now=now)
    )
    assert stored is False and claimed == store.ClaimResult.CLOSED
    assert db.call(lambda s: store.answer_count(s, pulse_id=pulse_id)) == 0
