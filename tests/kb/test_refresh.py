"""The search index follows the database's revision without a restart (every process checks
the revision at most every few seconds; an approval in another process is picked up)."""

from __future__ import annotations

import datetime as dt

from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.glossary import load_glossary
from knowledge.service import KnowledgeBase
from storage.db import Database
from storage.knowledge import articles as store
from storage.people.models import Role
from tests.helpers import new_staff

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
QUESTION = "får en vikarie vara med på tisdagsträffen med logopeden"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


def _kb(db: Database, ticks: Ticks) -> KnowledgeBase:
    kb = KnowledgeBase.from_articles(load_articles(ARTICLES_DIR), load_glossary())
    kb._monotonic = ticks
    assert kb.use_source(store.DatabaseSource(db), check_every=3.0)
    return kb


def test_two_processes_see_an_example_question_after_the_check_interval(db: Database) -> None:
    db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)
    ticks = Ticks()
    here, there = _kb(db, ticks), _kb(db, ticks)
    assert here.revision == there.revision == 1
    assert here.answer(QUESTION, "sv").article_id != "barnteam"

    def accept(session: store.Session) -> store.ExampleAdded:
        editor = new_staff(session, 1, "Astrid", role=Role.ADMIN)
        return store.add_example_question(
            session,
            article_id="barnteam",
            lang="sv",
            text=QUESTION,
            by_staff_id=editor.id,
            now=NOW,
        )

    assert db.call(accept).revision == 2
    # Within the interval nobody looks; after it, one cheap read and a rebuild.
    ticks.value = 1.0
    assert not there.due() and not there.refresh()
    ticks.value = 3.5
    assert there.due() and there.refresh()
    assert there.revision == 2
    assert there.answer(QUESTION, "sv").article_id == "barnteam"
    # Nothing changed since: the next check reads the revision only.
    ticks.value = 7.0
    assert not there.refresh()
    # /kb_reload forces it at once.
    here.reload()
    assert here.revision == 2 and here.answer(QUESTION, "sv").article_id == "barnteam"
