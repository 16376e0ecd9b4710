"""Storage of the knowledge base's upkeep, on SQLite and PostgreSQL: reminders claimed once,
the work list's grouping and hiding, review dates per article."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from knowledge.articles import ARTICLES_DIR, load_articles
from storage.db import Database
from storage.knowledge import articles as kb_articles
from storage.knowledge import store as kb_store
from storage.knowledge import verification as v
from storage.knowledge.models import KbCoordinatorQuestion
from storage.people.models import Role
from tests.helpers import new_staff

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def test_overdue_months_are_whole_months_from_the_review_date() -> None:
    """Due on the interval's last day; X counts whole months (at least 1)."""
    reviewed = dt.date(2026, 1, 31)
    assert v.due_date(reviewed, 180) == dt.date(2026, 7, 30)
    assert v.months_overdue(reviewed, 180, dt.date(2026, 7, 29)) is None
    assert v.months_overdue(reviewed, 180, dt.date(2026, 7, 30)) == 5
    assert v.months_overdue(reviewed, 180, dt.date(2026, 11, 25)) == 9
    assert v.months_overdue(dt.date(2026, 10, 20), 7, dt.date(2026, 11, 1)) == 1
    assert v.whole_months(dt.date(2026, 3, 15), dt.date(2026, 4, 14)) == 0
    assert v.whole_months(dt.date(2026, 3, 15), dt.date(2026, 4, 15)) == 1


def test_a_reminder_is_claimed_once_and_again_only_for_a_new_owner(db: Database) -> None:
    """The second claim of one article and due date fails (another process, a restart); after
    "Not mine" or without an owner, the owner an admin chose claims it once."""
    due = dt.date(2026, 11, 20)

    def run(session: Session) -> None:
        anna = new_staff(session, 1, "Anna").id
        bo = new_staff(session, 2, "Bo").id
        assert anna is not None and bo is not None
        claim = dict(article_id="sip", lang="sv", due=due, now=NOW)
        first = v.claim_notice(session, staff_id=anna, **claim)  # type: ignore[arg-type]
        assert first is not None
        assert v.claim_notice(session, staff_id=anna, **claim) is None  # type: ignore[arg-type]
        v.notice_sent(session, notice_id=first)
        assert not v.answer_notice(
            session, notice_id=first, staff_id=bo, state=v.NoticeState.REVIEWED, now=NOW
        )
        assert v.answer_notice(
            session, notice_id=first, staff_id=anna, state=v.NoticeState.NOT_MINE, now=NOW
        )
        assert not v.answer_notice(
            session, notice_id=first, staff_id=anna, state=v.NoticeState.REVIEWED, now=NOW
        )
        assert v.claim_notice(session, staff_id=bo, **claim) == first  # type: ignore[arg-type]
        assert v.claim_notice(session, staff_id=bo, **claim) is None  # type: ignore[arg-type]
        unowned = v.claim_notice(
            session, article_id="samtycke", lang="sv", due=due, staff_id=None, now=NOW
        )
        assert unowned is not None
        assert (
            v.claim_notice(
                session, article_id="samtycke", lang="sv", due=due, staff_id=None, now=NOW
            )
            is None
        )
        assert (
            v.claim_notice(
                session, article_id="samtycke", lang="en", due=due, staff_id=anna, now=NOW
            )
            == unowned
        )
        # A send that failed on the network gives its claim back: tried again later.
        v.release_notice(session, notice_id=unowned)
        assert v.get_notice(session, notice_id=unowned) is None
        assert (
            v.claim_notice(
                session, article_id="samtycke", lang="sv", due=due, staff_id=anna, now=NOW
            )
            is not None
        )
        # A sent reminder is never given back.
        v.notice_sent(session, notice_id=first)
        v.release_notice(session, notice_id=first)
        assert v.get_notice(session, notice_id=first) is not None

    db.call(run)


def test_the_work_list_groups_questions_and_hides_handled_ones_until_asked_again(
    db: Database,
) -> None:
    """Unanswered, 👎'd and forwarded questions are listed, grouped by wording, most frequent
    first; a handled question is hidden until someone asks it unanswered again."""

    def run(session: Session) -> None:
        asker = new_staff(session, 1, "Anna").id
        coordinator = new_staff(session, 2, "Bo", role=Role.COORDINATOR).id
        assert asker is not None and coordinator is not None

        def ask(text: str, answered: bool, minutes: int, article: str | None = None) -> int:
            return kb_store.log_question(
                session, staff_id=asker, question=text, answered=answered, article_id=article,
                lang="sv", confidence=0.1, now=NOW + dt.timedelta(minutes=minutes),
            )  # fmt: skip

        ask("Hur bokar man tolk?", False, 1)
        ask("hur bokar man tolk", False, 2)
        liked = ask("vem kallar till sip", True, 3, "sip")
        disliked = ask("vem skriver planen", True, 4, "sip")
        forwarded = ask("får vi ringa mamman", True, 5, "samtycke")
        ask("gammal fråga", False, -60 * 24 * 31)
        kb_store.record_vote(session, question_id=liked, staff_id=asker, vote="up", now=NOW)
        kb_store.record_vote(session, question_id=disliked, staff_id=asker, vote="down", now=NOW)
        session.add(
            KbCoordinatorQuestion(
                question_id=forwarded, asker_id=asker, municipality="Mellerud",
                question="får vi ringa mamman", answered_by=coordinator, answer="Ja, med samtycke.",
                created_at=NOW, answered_at=NOW,
            )
        )  # fmt: skip
        session.flush()
        later = NOW + dt.timedelta(hours=1)
        gaps = v.open_gaps(session, now=later)
        assert [(g.text, g.count, g.disliked_article) for g in gaps] == [
            ("hur bokar man tolk", 2, None),
            ("får vi ringa mamman", 1, None),
            ("vem skriver planen", 1, "sip"),
        ]
        assert gaps[1].coordinator_question_id is not None
        assert v.coordinator_reply(
            session, coordinator_question_id=gaps[1].coordinator_question_id
        ) == ("får vi ringa mamman", "Ja, med samtycke.")
        v.mark_gap_done(
            session, text="HUR bokar man tolk?", outcome=v.GapOutcome.IGNORED,
            by_staff_id=asker, now=later,
        )  # fmt: skip
        assert [g.text for g in v.open_gaps(session, now=later)] == [
            "får vi ringa mamman",
            "vem skriver planen",
        ]
        assert v.gap_of(session, question_id=gaps[0].question_id, now=later) is None
        ask("Hur bokar man tolk", False, 120)
        again = v.open_gaps(session, now=later + dt.timedelta(hours=2))
        assert (again[0].text, again[0].count) == ("Hur bokar man tolk", 3)
        assert v.purge_done_gaps(session, now=later + dt.timedelta(days=31)) == 1

    db.call(run)


def test_review_overview_takes_the_earliest_date_and_each_articles_interval(
    db: Database,
) -> None:
    """An article's languages are reviewed together; its own interval beats the default."""

    def run(session: Session) -> None:
        kb_articles.import_articles(session, load_articles(ARTICLES_DIR), NOW)
        editor = new_staff(session, 1, "Anna", role=Role.ADMIN).id
        kb_articles.set_owner(session, article_id="sip", lang=None, owner_staff_id=editor)
        for row in session.exec(
            kb_articles.select(kb_articles.KbArticle).where(kb_articles.KbArticle.id == "sip")
        ):
            row.reviewed = dt.date(2026, 1, 1) if row.lang == "en" else dt.date(2026, 6, 1)
            session.add(row)
        kb_articles.set_review_days(session, article_id="sip", lang="sv", review_days=30)
        session.flush()
        review = v.article_review(session, article_id="sip", default_days=180)
        assert review is not None
        assert (review.owner_staff_id, review.reviewed) == (editor, dt.date(2026, 1, 1))
        assert review.due == dt.date(2026, 6, 30)  # sv: 1 June + 30 days beats en's 30 June
        due = v.due_articles(session, today=dt.date(2026, 11, 25), default_days=180)
        assert "sip" in [r.article_id for r in due]
        assert editor is not None
        assert v.mark_article_reviewed(
            session, article_id="sip", by_staff_id=editor, today=dt.date(2026, 11, 25), now=NOW
        )
        after = v.article_review(session, article_id="sip", default_days=180)
        assert after is not None and after.reviewed == dt.date(2026, 11, 25)
        assert [s.display_name for s in v.owner_candidates(session)] == ["Anna"]

    db.call(run)
