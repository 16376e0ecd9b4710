"""A coordinator's reply becoming an article's draft: never longer than `kb check` allows."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.kb.gaps import draft_of
from knowledge.articles import ARTICLES_DIR, first_paragraph, load_articles
from knowledge.check import MAX_SHORT_ANSWER
from storage.db import Database
from storage.knowledge import articles as store
from storage.people.models import Role
from tests.helpers import new_staff

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SENTENCE = "Kontakta barnets Barnkontakt och kom överens om vem som kallar till mötet. "


def test_a_long_reply_keeps_every_word_and_a_short_answer_that_fits() -> None:
    reply = SENTENCE * 14 + "\n\nSista stycket."
    draft = draft_of("vem kallar?", reply)
    body = str(draft["body"])
    short = first_paragraph(body)
    assert 0 < len(short) <= MAX_SHORT_ANSWER
    assert short.endswith(".")
    assert body.split() == reply.split()


def test_a_short_reply_is_the_short_answer_as_it_is() -> None:
    draft = draft_of("vem kallar till sip?", "Kommunen kallar.")
    assert draft["body"] == "Kommunen kallar."
    assert draft["title"] == "vem kallar till sip"


def test_a_short_answer_over_the_limit_is_refused(db: Database) -> None:
    db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)

    def propose(session: store.Session) -> None:
        admin = new_staff(session, 1, "Astrid", role=Role.ADMIN)
        assert admin.id is not None
        store.propose(
            session,
            article_id="sip",
            lang="sv",
            changes={"body": SENTENCE * 10},
            by_staff_id=admin.id,
            now=NOW,
        )

    with pytest.raises(store.ProposalError) as refused:
        db.call(propose)
    assert refused.value.key == "kb.proposal_too_long"
