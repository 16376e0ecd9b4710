"""Question log, votes, coordinator questions and the 90-day purge, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, select

from storage.db import Database
from storage.knowledge import store as kb_store
from storage.knowledge.models import (
    KbCoordinatorQuestion,
    KbCoordinatorRecipient,
    KbFeedback,
    KbQuestion,
)
from storage.knowledge.store import ForwardStatus, ReplyStatus, VoteOutcome
from storage.people.models import Role, Staff

# The group chat the cards are shown in (group chat ids are negative).
GROUP = -100
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _staff(
    db: Database, telegram_id: int, role: Role = Role.STAFF, municipality: str = "Mellerud"
) -> int:
    def add(session: Session) -> int:
        person = Staff(
            telegram_id=telegram_id,
            display_name=f"P{telegram_id}",
            role=role.value,
            municipality=municipality,
            organisation="skola",
            language="sv",
        )
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id

    return db.call(add)


def _ask(
    db: Database,
    staff_id: int,
    question: str | None,
    *,
    answered: bool = True,
    article_id: str | None = "sip",
    at: dt.datetime = NOW,
    chat_id: int | None = GROUP,
) -> int:
    return db.call(
        lambda s: kb_store.log_question(
            s,
            staff_id=staff_id,
            question=question,
            answered=answered,
            article_id=article_id if answered else None,
            lang="sv",
            confidence=0.5,
            now=at,
            chat_id=chat_id,
        )
    )


def test_identity_numbers_are_never_stored(db: Database) -> None:
    """The storage layer refuses a question or a reply with a personnummer."""
    asker = _staff(db, 1)
    with pytest.raises(ValueError, match="identity number"):
        _ask(db, asker, "gäller 19900101-0017 SIP?")
    assert db.call(lambda s: list(s.exec(select(KbQuestion)))) == []


def test_one_vote_per_person_and_answer_and_it_can_change(db: Database) -> None:
    """A second 👍 changes nothing, 👎 replaces it; another member of the group the card was
    shown in votes separately; from any other chat, only the asker may vote."""
    first, second = _staff(db, 1), _staff(db, 2)
    card = _ask(db, first, "vem kallar till SIP?")

    def vote(staff_id: int, choice: str, chat_id: int = GROUP) -> VoteOutcome | None:
        return db.call(
            lambda s: kb_store.record_vote(
                s, question_id=card, staff_id=staff_id, vote=choice, now=NOW, chat_id=chat_id
            )
        )

    assert vote(second, "up", chat_id=2) is VoteOutcome.NOT_YOURS
    assert vote(second, "up", chat_id=-999) is VoteOutcome.NOT_YOURS

    assert vote(first, "up") is VoteOutcome.NEW
    assert vote(first, "up") is VoteOutcome.SAME
    assert vote(first, "down") is VoteOutcome.CHANGED
    assert vote(second, "up") is VoteOutcome.NEW
    assert db.call(lambda s: kb_store.votes_of(s, question_id=card)) == {first: -1, second: 1}
    assert (
        db.call(
            lambda s: kb_store.record_vote(s, question_id=999, staff_id=first, vote="up", now=NOW)
        )
        is None
    )
    unanswered = _ask(db, first, "väder?", answered=False)
    assert (
        db.call(
            lambda s: kb_store.record_vote(
                s, question_id=unanswered, staff_id=first, vote="up", now=NOW
            )
        )
        is None
    )


def test_forwarding_goes_to_own_municipality_once_and_only_recipients_reply(db: Database) -> None:
    """Coordinators of the asker's municipality get it; one reply wins; others are refused."""
    asker = _staff(db, 1)
    mellerud = _staff(db, 2, Role.COORDINATOR)
    region = _staff(db, 3, Role.COORDINATOR, "region")
    amal = _staff(db, 4, Role.COORDINATOR, "Åmål")
    card = _ask(db, asker, "vem kallar till SIP?")
    assert (
        db.call(
            lambda s: kb_store.forward_question(s, question_id=card, asker_id=mellerud, now=NOW)
        ).status
        is ForwardStatus.NOT_ASKER
    )
    sent = db.call(
        lambda s: kb_store.forward_question(s, question_id=card, asker_id=asker, now=NOW)
    )
    assert sent.status is ForwardStatus.OK and sent.question == "vem kallar till SIP?"
    assert [p.staff_id for p in sent.recipients] == [mellerud, region]
    again = db.call(
        lambda s: kb_store.forward_question(s, question_id=card, asker_id=asker, now=NOW)
    )
    assert again.status is ForwardStatus.ALREADY
    forwarded = sent.coordinator_question_id
    assert forwarded is not None
    assert (
        db.call(
            lambda s: kb_store.check_reply(s, coordinator_question_id=forwarded, staff_id=amal)
        ).status
        is ReplyStatus.NOT_RECIPIENT
    )
    saved = db.call(
        lambda s: kb_store.save_reply(
            s,
            coordinator_question_id=forwarded,
            staff_id=mellerud,
            answer="Den som ser behovet.",
            now=NOW,
        )
    )
    assert saved.status is ReplyStatus.OK and saved.asker is not None
    assert saved.asker.staff_id == asker
    late = db.call(
        lambda s: kb_store.save_reply(
            s, coordinator_question_id=forwarded, staff_id=region, answer="Också jag.", now=NOW
        )
    )
    assert late.status is ReplyStatus.ANSWERED and late.responder is not None
    assert late.responder.staff_id == mellerud
    row = db.call(lambda s: s.get(KbCoordinatorQuestion, forwarded))
    assert (row.answered_by, row.answer) == (mellerud, "Den som ser behovet.")


def test_the_only_coordinator_asking_goes_to_the_admins(db: Database) -> None:
    """A coordinator's own question is not sent back to them: the admins get it."""
    coordinator = _staff(db, 1, Role.COORDINATOR)
    admin = _staff(db, 2, Role.ADMIN, "region")
    card = _ask(db, coordinator, "vem kallar till SIP?")
    sent = db.call(
        lambda s: kb_store.forward_question(s, question_id=card, asker_id=coordinator, now=NOW)
    )
    assert [p.staff_id for p in sent.recipients] == [admin]


def test_purge_deletes_question_and_reply_texts_after_90_days(db: Database) -> None:
    """Texts older than 90 days (and who asked) go; newer ones and the statistics stay."""
    asker, coordinator = _staff(db, 1), _staff(db, 2, Role.COORDINATOR)
    old = _ask(db, asker, "gammal fråga", answered=False, at=NOW - dt.timedelta(days=91))
    recent = _ask(db, asker, "ny fråga", answered=False, at=NOW - dt.timedelta(days=89))
    sent = db.call(
        lambda s: kb_store.forward_question(
            s, question_id=old, asker_id=asker, now=NOW - dt.timedelta(days=91)
        )
    )
    assert sent.coordinator_question_id is not None
    forwarded = sent.coordinator_question_id
    db.call(
        lambda s: kb_store.save_reply(
            s,
            coordinator_question_id=forwarded,
            staff_id=coordinator,
            answer="Svar.",
            now=NOW - dt.timedelta(days=90),
        )
    )
    assert db.call(lambda s: kb_store.purge_old_questions(s, now=NOW)) == 2
    rows = {r.id: r for r in db.call(lambda s: list(s.exec(select(KbQuestion))))}
    assert (rows[old].question, rows[old].staff_id, rows[old].answered) == (None, None, False)
    assert (rows[recent].question, rows[recent].staff_id) == ("ny fråga", asker)
    old_forward = db.call(lambda s: s.get(KbCoordinatorQuestion, forwarded))
    assert (old_forward.question, old_forward.answer) == (None, None)
    assert db.call(lambda s: kb_store.purge_old_questions(s, now=NOW)) == 0
    assert (
        db.call(
            lambda s: kb_store.forward_question(s, question_id=old, asker_id=asker, now=NOW)
        ).status
        is ForwardStatus.GONE
    )
    assert (
        db.call(
            lambda s: kb_store.check_reply(
                s, coordinator_question_id=forwarded, staff_id=coordinator
            )
        ).status
        is ReplyStatus.GONE
    )
    assert db.call(lambda s: len(list(s.exec(select(KbCoordinatorRecipient))))) == 1


def test_gaps_count_unanswered_questions_and_disliked_articles_in_30_days(db: Database) -> None:
    """Unanswered questions are grouped case- and punctuation-insensitively; 👎 are counted."""
    first, second = _staff(db, 1), _staff(db, 2)
    for text in ("Vad kostar det?", "vad kostar  det", "Väder i morgon?"):
        _ask(db, first, text, answered=False)
    _ask(db, first, "gammal lucka", answered=False, at=NOW - dt.timedelta(days=31))
    sip, samtycke = _ask(db, first, "sip?"), _ask(db, first, "samtycke?", article_id="samtycke")
    for staff_id, card, choice in (
        (first, sip, "down"),
        (second, sip, "down"),
        (first, samtycke, "down"),
        (second, samtycke, "up"),
    ):
        db.call(
            lambda s, st=staff_id, c=card, v=choice: kb_store.record_vote(
                s, question_id=c, staff_id=st, vote=v, now=NOW, chat_id=GROUP
            )
        )
    unanswered = db.call(lambda s: kb_store.unanswered_questions(s, now=NOW))
    assert unanswered == [("vad kostar det", 2), ("väder i morgon", 1)]
    disliked = db.call(lambda s: kb_store.disliked_articles(s, now=NOW))
    assert disliked == [("sip", 2, 0), ("samtycke", 1, 1)]
    assert db.call(lambda s: len(list(s.exec(select(KbFeedback))))) == 4
