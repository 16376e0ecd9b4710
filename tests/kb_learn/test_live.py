"""Every bot process teaches its topic model the database's example questions: after the
index rebuild a worker thread refits and swaps the model in, the knowledge base answering
with the previous model meanwhile; two processes on one database end with the same model."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np

from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.service import KnowledgeBase
from knowledge.topic_live import TopicLearner
from knowledge.topic_model import TopicModel, default_model
from storage.db import Database
from storage.knowledge import articles as store
from storage.people.models import Role
from tests.helpers import new_staff

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
TAUGHT = "ska jag kalla hela gänget runt familjen till ett gemensamt möte om planen"
ARTICLE = "sip"


def _process(db: Database) -> KnowledgeBase:
    """A knowledge base as a bot process makes it: the shipped model, the database's articles."""
    kb = KnowledgeBase()
    assert kb.use_source(store.DatabaseSource(db), check_every=0.0)
    return kb


def _accept(db: Database, text: str) -> int:
    def accept(session: store.Session) -> int:
        editor = new_staff(session, 1, "Astrid", role=Role.ADMIN)
        return store.add_example_question(
            session, article_id=ARTICLE, lang="sv", text=text, by_staff_id=editor.id, now=NOW
        ).revision

    return db.call(accept)


def test_an_accepted_example_question_reaches_every_process_topic_model(db: Database) -> None:
    db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)
    here, there = _process(db), _process(db)
    shipped = default_model()
    assert here.learner is not None and there.learner is not None
    # The seed's articles are the shipped model's: nothing to learn.
    assert here.topic_model is shipped and here.learner.wait(0) and here.learner.refits == 0
    assert _accept(db, TAUGHT) == 2
    for kb in (here, there):
        assert kb.refresh()
        assert kb.learner is not None and kb.learner.wait(120)
        assert kb.learner.refits == 1
    assert isinstance(here.topic_model, TopicModel) and isinstance(there.topic_model, TopicModel)
    assert here.topic_model is not shipped
    assert np.array_equal(here.topic_model.weights, there.topic_model.weights)
    likely = here.topic_model.probabilities(TAUGHT)
    assert max(likely, key=lambda name: likely[name]) == ARTICLE
    # A rebuild that changes no article row (a review date, say) refits nothing.
    assert not here.learner.articles_changed(db.call(store.current_articles))
    assert here.learner.refits == 1


def test_the_knowledge_base_answers_with_the_previous_model_during_a_refit(
    sqlite_db: Database,
) -> None:
    """The refit runs in its own thread; the rebuild returns at once and answers go on."""
    sqlite_db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)
    kb = _process(sqlite_db)
    shipped = kb.topic_model
    installed = threading.Event()
    release = threading.Event()
    assert kb.learner is not None

    def install(model: TopicModel) -> None:
        # Hold the swap until the test has answered with the previous model.
        installed.set()
        release.wait(120)
        kb._install_model(model)

    learner = TopicLearner(install, kb.learner.base, kb.learner.corpus)
    kb.learner = learner
    _accept(sqlite_db, TAUGHT)
    assert kb.refresh()
    assert not learner.wait(0), "the rebuild waited for the refit"
    assert installed.wait(120)
    answer = kb.answer("vem kallar till SIP-mötet", "sv")
    assert answer.answered and answer.article_id == ARTICLE
    assert kb.topic_model is shipped
    release.set()
    assert learner.wait(120)
    assert kb.topic_model is not shipped


def test_a_change_during_a_refit_is_learnt_after_it(sqlite_db: Database) -> None:
    """The latest articles win: a second example accepted while the first refit runs is
    refitted right after it."""
    sqlite_db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)
    kb = _process(sqlite_db)
    assert kb.learner is not None
    second = "hur bjuder jag in alla som jobbar med familjen till en gemensam planering"
    _accept(sqlite_db, TAUGHT)
    assert kb.refresh()
    sqlite_db.call(
        lambda session: store.add_example_question(
            session, article_id=ARTICLE, lang="sv", text=second, by_staff_id=None, now=NOW
        )
    )
    assert kb.refresh()
    assert kb.learner.wait(120)
    assert kb.learner.refits in (1, 2)
    model = kb.topic_model
    assert model is not None
    for text in (TAUGHT, second):
        likely = model.probabilities(text)
        assert max(likely, key=lambda name: likely[name]) == ARTICLE


def test_a_failed_refit_keeps_the_model_and_the_next_rebuild_tries_again(
    sqlite_db: Database,
) -> None:
    """A model that does not fit the features (a truncated file, say) cannot be refitted: the
    error is logged, nothing is swapped in, and the same articles are tried again later."""
    sqlite_db.call(store.import_articles, load_articles(ARTICLES_DIR), NOW)
    kb = _process(sqlite_db)
    assert kb.learner is not None
    shipped = kb.topic_model
    assert shipped is not None
    broken = TopicModel(shipped.weights[:100], shipped.biases, shipped.classes, ())
    installed: list[TopicModel] = []
    learner = TopicLearner(installed.append, broken, kb.learner.corpus)
    _accept(sqlite_db, TAUGHT)
    articles = sqlite_db.call(store.current_articles)
    assert learner.articles_changed(articles)
    assert learner.wait(120)
    assert installed == [] and learner.refits == 0
    assert learner.articles_changed(articles)
    assert learner.wait(120)
    assert installed == []
