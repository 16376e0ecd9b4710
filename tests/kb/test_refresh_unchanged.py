"""A restarted bot built its index from the files; switching to a database that holds exactly
those articles adopts the database's revision without building the index again, and any
difference is rebuilt as before."""

from __future__ import annotations

import datetime as dt

from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.glossary import load_glossary
from knowledge.service import KnowledgeBase
from storage.db import Database
from storage.knowledge import articles as store

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
QUESTION = "får en vikarie vara med på tisdagsträffen med logopeden"


def test_the_same_articles_adopt_the_revision_and_a_change_is_rebuilt(db: Database) -> None:
    articles = load_articles(ARTICLES_DIR)
    db.call(store.import_articles, articles, NOW)
    kb = KnowledgeBase.from_articles(articles, load_glossary())
    built = kb.index
    before = kb.answer(QUESTION, "sv")
    assert kb.use_source(store.DatabaseSource(db), check_every=0.0)
    assert kb.revision == db.call(store.kb_revision) == 1
    assert kb.index is built  # not built again
    assert kb.answer(QUESTION, "sv") == before
    added = db.call(
        lambda s: store.add_example_question(
            s, article_id="barnteam", lang="sv", text=QUESTION, by_staff_id=None, now=NOW
        )
    )
    assert kb.refresh()
    assert kb.revision == added.revision == 2
    assert kb.index is not built
    assert kb.answer(QUESTION, "sv").article_id == "barnteam" != before.article_id
    # One article fewer than the database holds: rebuilt from the database's articles.
    smaller = KnowledgeBase.from_articles(articles[1:], load_glossary())
    partial = smaller.index
    assert smaller.use_source(store.DatabaseSource(db))
    assert smaller.index is not partial
    assert smaller.get(articles[0].id, articles[0].lang) is not None
