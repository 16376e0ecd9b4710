"""Keeping the knowledge base true: review reminders to article owners, and the gap list.

Two tables of their own, beside kb-store's articles (storage/knowledge/articles.py):

- ``kb_review_notice``: the one message an article's owner gets for one due date (one for
  both languages: the owner reads it in theirs). The row is claimed (inserted, unique per
  article and due date) *before* the message is sent,
  so two processes, two runs of the daily job or a restart never send it twice. A send that
  fails on the network gives the claim back (the next working day tries again); an owner who
  blocked the bot keeps the claim marked ``unreachable`` and the admins see the article as
  overdue in /kb_review.
- ``kb_gap_done``: a question of the gap list that an editor handled (added as an example
  question, turned into a proposal, or ignored). It holds no text: the key is a hash of the
  question as /kb_gaps groups it, and the row goes after :data:`GAPS_DAYS` days, when every
  question it hid has left the 30-day list anyway.

Plain date rules live here too (:func:`due_date`, :func:`months_overdue`), so the answer card
and the daily job agree on what "overdue" means.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from knowledge import topic_model
from knowledge.service import KnowledgeBase
from storage.knowledge import articles
from storage.knowledge.models import (
    KbCoordinatorQuestion,
    KbFeedback,
    KbQuestion,
    QuestionKind,
)
from storage.knowledge.store import GAPS_DAYS, normalise_question
from storage.people.models import Staff
from storage.types import UTCDateTime


class NoticeState(StrEnum):
    """Where one review reminder stands."""

    SENDING = "sending"  # claimed; the message is on its way
    SENT = "sent"  # the owner has it and has not answered yet
    REVIEWED = "reviewed"  # "Still correct"
    CHANGE = "change"  # "Needs a change": a proposal was opened
    NOT_MINE = "not_mine"  # handed to the admins
    UNREACHABLE = "unreachable"  # the owner blocked the bot or left Telegram
    UNOWNED = "unowned"  # no owner: the admins were told instead


# KbReviewNotice: the one reminder the owner of an article gets for one due date (claimed
# before sending: never twice, also across processes and restarts).
class KbReviewNotice(SQLModel, table=True):
    __tablename__ = "kb_review_notice"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "due_date", name="uq_kb_review_notice_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=64)
    lang: str = Field(max_length=2)
    due_date: dt.date
    staff_id: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    state: str = Field(default=NoticeState.SENDING.value, max_length=12)
    created_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    answered_at: dt.datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


class GapOutcome(StrEnum):
    """What an editor did with a question of the gap list."""

    EXAMPLE = "example"  # added as an example question to an article
    ARTICLE = "article"  # a coordinator's reply became a proposed new article
    IGNORED = "ignored"


# KbGapDone: a question of /kb_gaps an editor handled; no text, only the question's hash.
class KbGapDone(SQLModel, table=True):
    __tablename__ = "kb_gap_done"

    key: str = Field(primary_key=True, max_length=64)
    outcome: str = Field(max_length=8)
    article_id: str | None = Field(default=None, max_length=64)
    by_staff_id: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    done_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


# -- dates ------------------------------------------------------------------------------------


def due_date(reviewed: dt.date, review_days: int) -> dt.date:
    """The day an article reviewed on ``reviewed`` falls due for review again."""
    return reviewed + dt.timedelta(days=review_days)


def is_overdue(reviewed: dt.date, review_days: int, today: dt.date) -> bool:
    """True from the due day on."""
    return today >= due_date(reviewed, review_days)


def whole_months(since: dt.date, today: dt.date) -> int:
    """Whole calendar months from ``since`` to ``today`` (0 when ``today`` is earlier)."""
    months = (today.year - since.year) * 12 + today.month - since.month
    if today.day < since.day:
        months -= 1
    return max(months, 0)


def months_overdue(reviewed: dt.date, review_days: int, today: dt.date) -> int | None:
    """For an overdue article, X in "reviewed more than X months ago" (at least 1); None when
    the article is not due yet."""
    if not is_overdue(reviewed, review_days, today):
        return None
    return max(whole_months(reviewed, today), 1)


# -- review reminders ---------------------------------------------------------------------------


def claim_notice(
    session: Session,
    *,
    article_id: str,
    lang: str,
    due: dt.date,
    staff_id: int | None,
    now: dt.datetime,
) -> int | None:
    """Claim the reminder of this article's due date for its owner ``staff_id`` (None: the
    article has no owner, and the admins are told instead). Returns the row id, or None when
    it was claimed before (by this process, another one, or a run before a restart).

    A due date claimed while the article had no owner, or handed back with "Not mine", is
    claimed again for the owner an admin chose since: that person gets it once too.
    """
    state = NoticeState.SENDING if staff_id is not None else NoticeState.UNOWNED
    existing = session.exec(
        select(KbReviewNotice).where(
            KbReviewNotice.article_id == article_id, KbReviewNotice.due_date == due
        )
    ).first()
    if existing is None:
        notice = KbReviewNotice(
            article_id=article_id,
            lang=lang,
            due_date=due,
            staff_id=staff_id,
            state=state.value,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(notice)
                session.flush()
        except sa.exc.IntegrityError:
            return None
        assert notice.id is not None
        return notice.id
    handed_back = (NoticeState.UNOWNED.value, NoticeState.NOT_MINE.value)
    if staff_id is None or existing.state not in handed_back or existing.staff_id == staff_id:
        return None
    table = KbReviewNotice.__table__  # type: ignore[attr-defined]
    taken = session.execute(
        table.update()
        .where(table.c.id == existing.id, table.c.state == existing.state)
        .values(state=state.value, staff_id=staff_id, lang=lang, created_at=now)
    )
    return existing.id if taken.rowcount else None  # type: ignore[attr-defined]


def notice_sent(session: Session, *, notice_id: int) -> None:
    """The reminder reached the owner."""
    _set_state(session, notice_id, NoticeState.SENDING, NoticeState.SENT)


def notice_unreachable(session: Session, *, notice_id: int) -> None:
    """The owner cannot be reached (blocked the bot): the claim stays, nothing is resent."""
    _set_state(session, notice_id, NoticeState.SENDING, NoticeState.UNREACHABLE)


def release_notice(session: Session, *, notice_id: int) -> None:
    """A send that failed on the network: give the claim back, to be tried another day."""
    table = KbReviewNotice.__table__  # type: ignore[attr-defined]
    session.execute(
        table.delete().where(table.c.id == notice_id, table.c.state == NoticeState.SENDING.value)
    )


def _set_state(session: Session, notice_id: int, old: NoticeState, new: NoticeState) -> bool:
    table = KbReviewNotice.__table__  # type: ignore[attr-defined]
    updated = session.execute(
        table.update().where(table.c.id == notice_id, table.c.state == old.value).values(state=new)
    )
    return bool(updated.rowcount)  # type: ignore[attr-defined]


def get_notice(session: Session, *, notice_id: int) -> KbReviewNotice | None:
    """One reminder row."""
    return session.get(KbReviewNotice, notice_id)


def answer_notice(
    session: Session, *, notice_id: int, staff_id: int, state: NoticeState, now: dt.datetime
) -> bool:
    """The owner's answer to a reminder, once: True for the first answer (sent → ``state``) by
    the person it was sent to; False for anybody else, a second tap or an old reminder."""
    table = KbReviewNotice.__table__  # type: ignore[attr-defined]
    updated = session.execute(
        table.update()
        .where(
            table.c.id == notice_id,
            table.c.staff_id == staff_id,
            table.c.state == NoticeState.SENT.value,
        )
        .values(state=state.value, answered_at=now)
    )
    return bool(updated.rowcount)  # type: ignore[attr-defined]


# -- the gap list -----------------------------------------------------------------------------


def gap_key(text: str) -> str:
    """The key of a question in the gap list: a hash of its grouped form (no text is kept)."""
    return hashlib.sha256(normalise_question(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Gap:
    """One question of the gap list: how often it went unanswered (or its answer got 👎, or
    was passed on to a coordinator), its latest wording and card (the row a button refers to),
    the article a 👎'd answer showed, and a coordinator's reply to it, if there is one."""

    question_id: int
    text: str
    lang: str
    count: int
    last_asked: dt.datetime
    coordinator_question_id: int | None = None
    disliked_article: str | None = None


def open_gaps(
    session: Session, *, now: dt.datetime, days: int = GAPS_DAYS, limit: int = 50
) -> list[Gap]:
    """The questions of the last ``days`` days the knowledge base did not answer well, that no
    editor handled since they were last asked, most frequent first (grouped as /kb_gaps always
    has): unanswered ones, answers that got a 👎, and questions passed on to a coordinator."""
    since = now - dt.timedelta(days=days)
    disliked = select(KbFeedback.question_id).where(col(KbFeedback.vote) < 0)
    forwarded = select(KbCoordinatorQuestion.question_id).where(
        col(KbCoordinatorQuestion.question_id).is_not(None)
    )
    rows = session.exec(
        select(KbQuestion)
        .where(
            sa.or_(
                col(KbQuestion.answered).is_(False),
                col(KbQuestion.id).in_(disliked),
                col(KbQuestion.id).in_(forwarded),
            ),
            KbQuestion.kind == QuestionKind.QUESTION.value,
            col(KbQuestion.question).is_not(None),
            KbQuestion.created_at >= since,
        )
        .order_by(col(KbQuestion.created_at), col(KbQuestion.id))
    )
    groups: dict[str, list[KbQuestion]] = defaultdict(list)
    for row in rows:
        if row.question and normalise_question(row.question):
            groups[gap_key(row.question)].append(row)
    done = {
        row.key: row.done_at
        for row in session.exec(select(KbGapDone).where(col(KbGapDone.key).in_(list(groups))))
    }
    ids = [q.id for rows in groups.values() for q in rows if q.id]
    replies = _replies(session, ids)
    down = _disliked(session, ids)
    gaps = []
    for key, asked in groups.items():
        latest = asked[-1]
        if key in done and latest.created_at <= done[key]:
            continue
        assert latest.id is not None and latest.question is not None
        reply = next((replies[q.id] for q in reversed(asked) if q.id in replies), None)
        article = next((q.article_id for q in reversed(asked) if q.id in down), None)
        gaps.append(
            Gap(
                latest.id,
                latest.question,
                latest.lang,
                len(asked),
                latest.created_at,
                reply,
                article,
            )
        )
    gaps.sort(key=lambda gap: (-gap.count, -gap.last_asked.timestamp(), gap.question_id))
    return gaps[:limit]


def _disliked(session: Session, question_ids: list[int]) -> set[int]:
    """The question log ids among ``question_ids`` whose answer got a 👎."""
    if not question_ids:
        return set()
    rows = session.exec(
        select(KbFeedback.question_id).where(
            col(KbFeedback.question_id).in_(question_ids), col(KbFeedback.vote) < 0
        )
    )
    return {int(i) for i in rows}


def _replies(session: Session, question_ids: list[int]) -> dict[int, int]:
    """Question log id → the coordinator question that holds an answer to it."""
    if not question_ids:
        return {}
    rows = session.exec(
        select(KbCoordinatorQuestion).where(
            col(KbCoordinatorQuestion.question_id).in_(question_ids),
            col(KbCoordinatorQuestion.answer).is_not(None),
        )
    )
    return {row.question_id: row.id for row in rows if row.question_id and row.id}


SUGGESTIONS = 3


def suggest_articles(
    kb: KnowledgeBase, question: str, lang: str, exclude: str | None = None
) -> list[str]:
    """The articles nearest to a question of the gap list, best first (at most
    :data:`SUGGESTIONS`): the search's ranking, then the topic model's likeliest articles when
    the search found fewer (the two opinions the bot itself answers with). ``exclude``: the
    article whose answer got a 👎."""
    ranked = [
        article_id
        for article_id, _score in kb.index.search(question, lang).ranked
        if article_id != exclude
    ]
    model = kb.topic_model
    if model is not None and len(ranked) < SUGGESTIONS:
        likely = model.probabilities(question)
        likely.pop(topic_model.NONE, None)
        ranked += sorted(likely, key=lambda article_id: -likely[article_id])
    found: list[str] = []
    for article_id in ranked:
        if article_id not in (*found, exclude) and kb.get(article_id, lang) is not None:
            found.append(article_id)
    return found[:SUGGESTIONS]


def gap_of(session: Session, *, question_id: int, now: dt.datetime) -> Gap | None:
    """The open gap that question log row ``question_id`` belongs to (None: no such row, its
    text was purged, it is older than the list, it was answered well, or it was handled)."""
    row = session.get(KbQuestion, question_id)
    if row is None or not row.question:
        return None
    key = gap_key(row.question)
    return next(
        (gap for gap in open_gaps(session, now=now, limit=10_000) if gap_key(gap.text) == key),
        None,
    )


def mark_gap_done(
    session: Session,
    *,
    text: str,
    outcome: GapOutcome,
    by_staff_id: int,
    now: dt.datetime,
    article_id: str | None = None,
) -> None:
    """Take a question off the gap list (until it is asked again unanswered)."""
    key = gap_key(text)
    row = session.get(KbGapDone, key)
    if row is None:
        row = KbGapDone(key=key, outcome=outcome.value, done_at=now)
    row.outcome, row.article_id, row.by_staff_id, row.done_at = (
        outcome.value,
        article_id,
        by_staff_id,
        now,
    )
    session.add(row)


def purge_done_gaps(session: Session, *, now: dt.datetime, days: int = GAPS_DAYS) -> int:
    """Delete handled-gap rows older than the list's window (nothing they hide is left)."""
    table = KbGapDone.__table__  # type: ignore[attr-defined]
    cutoff = now - dt.timedelta(days=days)
    return int(session.execute(table.delete().where(table.c.done_at < cutoff)).rowcount)  # type: ignore[attr-defined]


def coordinator_reply(session: Session, *, coordinator_question_id: int) -> tuple[str, str] | None:
    """A forwarded question and the coordinator's stored reply, or None (none, or purged)."""
    row = session.get(KbCoordinatorQuestion, coordinator_question_id)
    if row is None or not row.question or not row.answer:
        return None
    return row.question, row.answer


# -- which articles are due ------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleReview:
    """One article (both languages) as review sees it: its owner, its earliest review date
    and due date, and its title and short answer per language."""

    article_id: str
    owner_staff_id: int | None
    reviewed: dt.date
    due: dt.date
    titles: dict[str, str]
    shorts: dict[str, str]

    def title(self, lang: str) -> str:
        """The title in ``lang``, else in another language."""
        return self.titles.get(lang) or next(iter(self.titles.values()), self.article_id)

    def short(self, lang: str) -> str:
        """The short answer in ``lang``, else in another language."""
        return self.shorts.get(lang) or next(iter(self.shorts.values()), "")

    def lang_for(self, lang: str) -> str:
        """``lang`` if the article has it, else a language it has."""
        return lang if lang in self.titles else next(iter(self.titles), lang)


def review_overview(session: Session, *, default_days: int) -> list[ArticleReview]:
    """Every approved article with its owner and due date, the soonest due first. An article's
    languages are reviewed together: the earliest date of either counts."""
    by_id: dict[str, list[articles.ArticleMeta]] = defaultdict(list)
    for meta in articles.article_meta(session):
        by_id[meta.id].append(meta)
    found = []
    for article_id, metas in by_id.items():
        metas.sort(key=lambda meta: (meta.lang != "sv", meta.lang))
        owner = next((m.owner_staff_id for m in metas if m.owner_staff_id is not None), None)
        due = min(due_date(m.reviewed, m.review_days or default_days) for m in metas)
        found.append(
            ArticleReview(
                article_id,
                owner,
                min(m.reviewed for m in metas),
                due,
                {m.lang: m.title for m in metas},
                {m.lang: m.short_answer for m in metas},
            )
        )
    found.sort(key=lambda review: (review.due, review.article_id))
    return found


def due_articles(session: Session, *, today: dt.date, default_days: int) -> list[ArticleReview]:
    """The articles whose review is due on ``today`` or earlier."""
    return [r for r in review_overview(session, default_days=default_days) if r.due <= today]


def article_review(session: Session, *, article_id: str, default_days: int) -> ArticleReview | None:
    """One article as review sees it, or None."""
    found = review_overview(session, default_days=default_days)
    return next((review for review in found if review.article_id == article_id), None)


def mark_article_reviewed(
    session: Session, *, article_id: str, by_staff_id: int, today: dt.date, now: dt.datetime
) -> bool:
    """Every language of the article is still correct as of ``today``; False: no article."""
    langs = [m.lang for m in articles.article_meta(session) if m.id == article_id]
    for lang in langs:
        articles.mark_reviewed(
            session, article_id=article_id, lang=lang, by_staff_id=by_staff_id, today=today, now=now
        )
    return bool(langs)


def owner_candidates(session: Session) -> list[Staff]:
    """Who may own an article: the active editors and admins (an owner's "Needs a change"
    opens the editors' proposal flow), by name."""
    editors = set(articles.editor_ids(session))
    query = select(Staff).where(col(Staff.active), col(Staff.removed_at).is_(None))
    return sorted(
        (s for s in session.exec(query) if s.id in editors),
        key=lambda s: (s.display_name.casefold(), s.id or 0),
    )
