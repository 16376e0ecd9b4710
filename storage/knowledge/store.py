"""Storage functions for the knowledge base's question log, feedback and coordinator questions.

Each takes the session first. Question and answer texts arrive here only after the
personal-data guard (the functions refuse them otherwise, as a second line of defence).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.guard import contains_identity_number, normalise
from storage.knowledge.models import (
    KbCoordinatorQuestion,
    KbCoordinatorRecipient,
    KbFeedback,
    KbQuestion,
    QuestionKind,
)
from storage.people import store as staff_store
from storage.people.models import Role, Staff

RETENTION_DAYS = 90
GAPS_DAYS = 30
VOTES = {"up": 1, "down": -1}


class VoteOutcome(StrEnum):
    """What a press on 👍/👎 did."""

    NEW = "new"
    CHANGED = "changed"
    SAME = "same"
    # Someone else's card (a forged or a group's button): only the asker rates an answer.
    NOT_YOURS = "not_yours"


class ForwardStatus(StrEnum):
    """Whether a question could be forwarded to coordinators."""

    OK = "ok"
    ALREADY = "already"  # this answer card's question was forwarded before
    GONE = "gone"  # no such question, or its text was deleted
    NOT_ASKER = "not_asker"  # only the person who asked may forward their question
    NOBODY = "nobody"  # no coordinator or admin to send it to


class ReplyStatus(StrEnum):
    """Whether a coordinator may (still) reply to a forwarded question."""

    OK = "ok"
    NOT_RECIPIENT = "not_recipient"
    ANSWERED = "answered"
    GONE = "gone"


@dataclass(frozen=True)
class Person:
    """A staff member as the chat needs them: where to write, in which language, who they are."""

    staff_id: int
    telegram_id: int
    name: str
    role: str
    language: str
    municipality: str


@dataclass(frozen=True)
class Forwarded:
    """The outcome of forwarding a question to coordinators."""

    status: ForwardStatus
    coordinator_question_id: int | None = None
    question: str = ""
    article_id: str | None = None
    asker: Person | None = None
    recipients: tuple[Person, ...] = ()


@dataclass(frozen=True)
class ReplyCheck:
    """The outcome of checking (or saving) a coordinator's reply."""

    status: ReplyStatus
    question: str = ""
    asker: Person | None = None
    responder: Person | None = None


def _person(staff: Staff) -> Person:
    assert staff.id is not None
    return Person(
        staff.id,
        staff.telegram_id,
        staff.display_name,
        staff.role,
        staff.language,
        staff.municipality,
    )


def _refuse_identity_numbers(text: str | None) -> None:
    if contains_identity_number(text):
        raise ValueError("text with an identity number must never be stored")


def log_question(
    session: Session,
    *,
    staff_id: int,
    question: str | None,
    answered: bool,
    article_id: str | None,
    lang: str,
    confidence: float | None,
    emergency: bool = False,
    kind: QuestionKind = QuestionKind.QUESTION,
    chat_id: int | None = None,
    now: dt.datetime,
) -> int:
    """Store one answer card (its question text, already guarded) and return its id."""
    question = normalise(question) if question is not None else None
    _refuse_identity_numbers(question)
    row = {
        "staff_id": staff_id,
        "question": question,
        "kind": kind.value,
        "answered": answered,
        "emergency": emergency,
        "article_id": article_id,
        "lang": lang,
        "confidence": confidence,
        "created_at": now,
        "chat_id": chat_id,
    }
    # One INSERT ... RETURNING, not the unit of work: one is written per question.
    return int(session.execute(_insert_question(), row).scalar_one())


@functools.cache
def _insert_question() -> sa.Insert:
    table = KbQuestion.__table__  # type: ignore[attr-defined]
    return sa.insert(table).returning(table.c.id)


def record_vote(
    session: Session,
    *,
    question_id: int,
    staff_id: int,
    vote: str,
    now: dt.datetime,
    chat_id: int | None = None,
) -> VoteOutcome | None:
    """Store one person's 👍/👎 on an answer card (one per person, changeable); None if no card."""
    card = session.get(KbQuestion, question_id)
    if card is None or card.article_id is None or vote not in VOTES:
        return None
    # The asker rates their card; in a group, so may the members who were shown it (the
    # press comes from that group's chat). A card id forged elsewhere is refused.
    in_its_group = chat_id is not None and chat_id < 0 and card.chat_id == chat_id
    if card.staff_id != staff_id and not in_its_group:
        return VoteOutcome.NOT_YOURS
    value = VOTES[vote]
    query = select(KbFeedback).where(
        KbFeedback.question_id == question_id, KbFeedback.staff_id == staff_id
    )
    existing = session.exec(query).first()
    if existing is None:
        try:
            # A double tap may race us to the insert; the unique constraint settles it.
            with session.begin_nested():
                session.add(
                    KbFeedback(
                        question_id=question_id,
                        staff_id=staff_id,
                        vote=value,
                        created_at=now,
                        updated_at=now,
                    )
                )
            return VoteOutcome.NEW
        except sa.exc.IntegrityError:
            existing = session.exec(query).one()
    if existing.vote == value:
        return VoteOutcome.SAME
    existing.vote, existing.updated_at = value, now
    session.add(existing)
    return VoteOutcome.CHANGED


@dataclass(frozen=True)
class CardRow:
    """What an answer card is drawn from again when one of its buttons is pressed."""

    article_id: str
    lang: str
    emergency: bool
    asked: bool  # asked in words (a forward to a coordinator is possible), not browsed
    municipality: str | None  # the asker's, for an emergency card's numbers


def card_of(session: Session, *, question_id: int) -> CardRow | None:
    """The logged answer card ``question_id`` (None: no such card, or it showed no article)."""
    card = session.get(KbQuestion, question_id)
    if card is None or card.article_id is None or not card.answered:
        return None
    asker = staff_store.get_staff_by_id(session, staff_id=card.staff_id) if card.staff_id else None
    return CardRow(
        card.article_id,
        card.lang,
        card.emergency,
        card.kind == QuestionKind.QUESTION.value,
        asker.municipality if asker is not None else None,
    )


def votes_of(session: Session, *, question_id: int) -> dict[int, int]:
    """Staff id → vote on one answer card."""
    rows = session.exec(select(KbFeedback).where(KbFeedback.question_id == question_id))
    return {row.staff_id: row.vote for row in rows}


def _recipients(session: Session, asker: Staff) -> list[Staff]:
    found = [
        s
        for s in staff_store.coordinators_of(session, municipality=asker.municipality)
        if s.id != asker.id
    ]
    if found:
        return found
    # The asker may be their municipality's only coordinator: then the admins answer.
    admins = select(Staff).where(
        col(Staff.active).is_(True), Staff.role == Role.ADMIN.value, Staff.id != asker.id
    )
    return list(session.exec(admins.order_by(col(Staff.id))))


def forward_question(
    session: Session, *, question_id: int, asker_id: int, now: dt.datetime
) -> Forwarded:
    """Send the asker's question on to their municipality's coordinators (once per card)."""
    card = session.get(KbQuestion, question_id)
    asker = staff_store.get_staff_by_id(session, staff_id=asker_id)
    if card is None or asker is None or not card.question:
        return Forwarded(ForwardStatus.GONE)
    if card.staff_id != asker_id:
        return Forwarded(ForwardStatus.NOT_ASKER)
    _refuse_identity_numbers(card.question)
    existing = session.exec(
        select(KbCoordinatorQuestion).where(KbCoordinatorQuestion.question_id == question_id)
    ).first()
    if existing is not None:
        return Forwarded(ForwardStatus.ALREADY)
    recipients = _recipients(session, asker)
    if not recipients:
        return Forwarded(ForwardStatus.NOBODY)
    forwarded = KbCoordinatorQuestion(
        question_id=question_id,
        asker_id=asker_id,
        municipality=asker.municipality,
        question=card.question,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(forwarded)
            session.flush()
    except sa.exc.IntegrityError:
        return Forwarded(ForwardStatus.ALREADY)
    assert forwarded.id is not None
    for person in recipients:
        assert person.id is not None
        session.add(
            KbCoordinatorRecipient(coordinator_question_id=forwarded.id, staff_id=person.id)
        )
    return Forwarded(
        ForwardStatus.OK,
        forwarded.id,
        card.question,
        card.article_id,
        _person(asker),
        tuple(_person(p) for p in recipients),
    )


def withdraw_forward(session: Session, *, coordinator_question_id: int) -> None:
    """Undo a forward that reached nobody (every send failed), so the asker may try again."""
    recipients = KbCoordinatorRecipient.__table__  # type: ignore[attr-defined]
    forwarded = KbCoordinatorQuestion.__table__  # type: ignore[attr-defined]
    session.execute(
        recipients.delete().where(recipients.c.coordinator_question_id == coordinator_question_id)
    )
    session.execute(
        forwarded.delete().where(
            forwarded.c.id == coordinator_question_id, forwarded.c.answered_by.is_(None)
        )
    )


def check_reply(session: Session, *, coordinator_question_id: int, staff_id: int) -> ReplyCheck:
    """May this staff member reply to the forwarded question (they received it, nobody answered)?"""
    forwarded = session.get(KbCoordinatorQuestion, coordinator_question_id)
    responder = staff_store.get_staff_by_id(session, staff_id=staff_id)
    if forwarded is None or responder is None or not forwarded.question:
        return ReplyCheck(ReplyStatus.GONE)
    received = session.get(KbCoordinatorRecipient, (coordinator_question_id, staff_id))
    if received is None or responder.role not in (Role.COORDINATOR.value, Role.ADMIN.value):
        return ReplyCheck(ReplyStatus.NOT_RECIPIENT)
    if forwarded.answered_by is not None:
        earlier = session.get(Staff, forwarded.answered_by)
        return ReplyCheck(
            ReplyStatus.ANSWERED,
            forwarded.question,
            responder=_person(earlier) if earlier else None,
        )
    asker = staff_store.get_staff_by_id(session, staff_id=forwarded.asker_id)
    if asker is None:
        return ReplyCheck(ReplyStatus.GONE)
    return ReplyCheck(ReplyStatus.OK, forwarded.question, _person(asker), _person(responder))


def save_reply(
    session: Session,
    *,
    coordinator_question_id: int,
    staff_id: int,
    answer: str,
    now: dt.datetime,
) -> ReplyCheck:
    """Store a coordinator's reply if they may give it and nobody answered first."""
    answer = normalise(answer)
    _refuse_identity_numbers(answer)
    checked = check_reply(
        session, coordinator_question_id=coordinator_question_id, staff_id=staff_id
    )
    if checked.status is not ReplyStatus.OK:
        return checked
    table = KbCoordinatorQuestion.__table__  # type: ignore[attr-defined]
    # Two coordinators may reply at the same moment: only the first one's reply is kept.
    updated = session.execute(
        table.update()
        .where(table.c.id == coordinator_question_id, table.c.answered_by.is_(None))
        .values(answered_by=staff_id, answer=answer, answered_at=now)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        session.expire_all()
        return check_reply(
            session, coordinator_question_id=coordinator_question_id, staff_id=staff_id
        )
    return checked


@dataclass(frozen=True)
class ThreadTurn:
    """Whether a staff member may write in a coordinator thread now, and to whom.

    A thread is a forwarded question: until it is answered, any coordinator who received it
    may answer (the first answer is stored and decides the thread's coordinator); after that,
    only the asker and that coordinator write, each to the other (passed on, not stored).
    """

    status: ReplyStatus
    question: str = ""
    sender: Person | None = None
    recipient: Person | None = None
    first: bool = False  # the coordinator's first answer, stored as the question's reply
    answered_by: Person | None = None  # who answered, when ``status`` is ANSWERED
    to_asker: bool = True  # the coordinator writes to the asker (else the asker writes back)


def thread_turn(session: Session, *, coordinator_question_id: int, staff_id: int) -> ThreadTurn:
    """May ``staff_id`` write in thread ``coordinator_question_id`` now, and to whom?"""
    forwarded = session.get(KbCoordinatorQuestion, coordinator_question_id)
    me = staff_store.get_staff_by_id(session, staff_id=staff_id)
    if forwarded is None or me is None or not forwarded.question:
        return ThreadTurn(ReplyStatus.GONE)
    asker = staff_store.get_staff_by_id(session, staff_id=forwarded.asker_id)
    if asker is None:
        return ThreadTurn(ReplyStatus.GONE)
    if forwarded.answered_by is None:
        checked = check_reply(
            session, coordinator_question_id=coordinator_question_id, staff_id=staff_id
        )
        if checked.status is not ReplyStatus.OK:
            return ThreadTurn(checked.status)
        return ThreadTurn(ReplyStatus.OK, forwarded.question, _person(me), _person(asker), True)
    responder = session.get(Staff, forwarded.answered_by)
    coordinator = me.role in (Role.COORDINATOR.value, Role.ADMIN.value)
    if staff_id == forwarded.answered_by and coordinator:
        return ThreadTurn(ReplyStatus.OK, forwarded.question, _person(me), _person(asker))
    if staff_id == forwarded.asker_id:
        if responder is None or not responder.active:
            return ThreadTurn(ReplyStatus.GONE)
        return ThreadTurn(
            ReplyStatus.OK, forwarded.question, _person(me), _person(responder), to_asker=False
        )
    if session.get(KbCoordinatorRecipient, (coordinator_question_id, staff_id)) is not None:
        earlier = _person(responder) if responder is not None else None
        return ThreadTurn(ReplyStatus.ANSWERED, forwarded.question, answered_by=earlier)
    return ThreadTurn(ReplyStatus.NOT_RECIPIENT)


def take_turn(
    session: Session,
    *,
    coordinator_question_id: int,
    staff_id: int,
    text: str,
    now: dt.datetime,
) -> ThreadTurn:
    """Check ``staff_id``'s turn in the thread and, for a coordinator's first answer, store it
    (only the first of two answers at the same moment is kept; the second gets ANSWERED)."""
    _refuse_identity_numbers(normalise(text))
    turn = thread_turn(session, coordinator_question_id=coordinator_question_id, staff_id=staff_id)
    if turn.status is not ReplyStatus.OK or not turn.first:
        return turn
    saved = save_reply(
        session,
        coordinator_question_id=coordinator_question_id,
        staff_id=staff_id,
        answer=text,
        now=now,
    )
    if saved.status is ReplyStatus.OK:
        return turn
    return ThreadTurn(saved.status, saved.question, answered_by=saved.responder)


def purge_old_questions(session: Session, *, now: dt.datetime, days: int = RETENTION_DAYS) -> int:
    """Delete question and reply texts (and who asked) older than ``days``; returns how many."""
    cutoff = now - dt.timedelta(days=days)
    questions = KbQuestion.__table__  # type: ignore[attr-defined]
    forwarded = KbCoordinatorQuestion.__table__  # type: ignore[attr-defined]
    purged = session.execute(
        questions.update()
        .where(questions.c.created_at < cutoff)
        .where(sa.or_(questions.c.question.is_not(None), questions.c.staff_id.is_not(None)))
        .values(question=None, staff_id=None)
    ).rowcount  # type: ignore[attr-defined]
    purged += session.execute(
        forwarded.update()
        .where(forwarded.c.created_at < cutoff)
        .where(sa.or_(forwarded.c.question.is_not(None), forwarded.c.answer.is_not(None)))
        .values(question=None, answer=None)
    ).rowcount  # type: ignore[attr-defined]
    return int(purged)


_SPACES = re.compile(r"\s+")


def normalise_question(text: str) -> str:
    """A question as /kb_gaps groups it: lower case, single spaces, no closing punctuation."""
    return _SPACES.sub(" ", text.lower()).strip().rstrip("?!.… ").strip()


def unanswered_questions(
    session: Session, *, now: dt.datetime, days: int = GAPS_DAYS, limit: int = 10
) -> list[tuple[str, int]]:
    """The most frequent questions the knowledge base could not answer, with their counts."""
    since = now - dt.timedelta(days=days)
    rows = session.exec(
        select(KbQuestion.question).where(
            col(KbQuestion.answered).is_(False),
            KbQuestion.kind == QuestionKind.QUESTION.value,
            col(KbQuestion.question).is_not(None),
            KbQuestion.created_at >= since,
        )
    )
    counts = Counter(normalise_question(text) for text in rows if text)
    counts.pop("", None)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def disliked_articles(
    session: Session, *, now: dt.datetime, days: int = GAPS_DAYS, limit: int = 5
) -> list[tuple[str, int, int]]:
    """Articles with the most 👎 (votes changed in the period): ``(article_id, down, up)``."""
    since = now - dt.timedelta(days=days)
    down = sa.func.sum(sa.case((col(KbFeedback.vote) < 0, 1), else_=0))
    up = sa.func.sum(sa.case((col(KbFeedback.vote) > 0, 1), else_=0))
    query = (
        sa.select(col(KbQuestion.article_id), down.label("down"), up.label("up"))
        .select_from(KbFeedback)
        .join(KbQuestion, col(KbQuestion.id) == col(KbFeedback.question_id))
        .where(col(KbFeedback.updated_at) >= since, col(KbQuestion.article_id).is_not(None))
        .group_by(col(KbQuestion.article_id))
        .having(down > 0)
        .order_by(down.desc(), up.asc(), col(KbQuestion.article_id))
        .limit(limit)
    )
    return [(str(a), int(d), int(u)) for a, d, u in session.execute(query)]
