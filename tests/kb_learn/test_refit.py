"""The topic model is refitted with the articles' present rows (accepted example questions,
new articles) from the corpus shipped inside the package, warm-started from the shipped
weights; only the classes the change touches move."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from knowledge import topic_live
from knowledge.articles import ARTICLES_DIR, Article, load_articles
from knowledge.topic_model import (
    CORPUS_PATH,
    NONE,
    Corpus,
    TopicModel,
    article_rows,
    default_corpus,
    default_model,
)
from knowledge.topic_train import corpus as training_corpus

# A month question the shipped model does not place under its need's article (it came to the
# /kb_gaps work list unanswered); an editor accepts it for "sip".
TAUGHT = "ska jag kalla hela gänget runt familjen till ett gemensamt möte om planen"
ARTICLE = "sip"


@pytest.fixture(scope="module")
def base() -> TopicModel:
    model = default_model()
    assert model is not None
    return model


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    shipped = default_corpus()
    assert shipped is not None
    return shipped


@pytest.fixture(scope="module")
def seed() -> list[Article]:
    return load_articles(ARTICLES_DIR)


def _with_question(articles: list[Article], article_id: str, text: str) -> list[Article]:
    return [
        dataclasses.replace(a, questions=(*a.questions, text))
        if (a.id, a.lang) == (article_id, "sv")
        else a
        for a in articles
    ]


def test_the_shipped_corpus_is_inside_the_package_and_is_what_the_trainer_uses(
    corpus: Corpus, seed: list[Article]
) -> None:
    """The running bot needs no test set: the rows ship in knowledge/, and they are exactly
    the rows ``python -m knowledge.topic_train`` trains on (the shipped model's rows)."""
    assert CORPUS_PATH.parent.name == "knowledge"
    assert training_corpus() == corpus
    assert corpus.articles == tuple(article_rows(seed))
    assert {label for _, label in corpus.labelled} >= {NONE, ARTICLE}


def test_unchanged_articles_keep_the_shipped_model(
    base: TopicModel, corpus: Corpus, seed: list[Article]
) -> None:
    assert topic_live.refit(base, corpus, seed) is base
    # The order the database lists them in does not matter.
    assert topic_live.refit(base, corpus, list(reversed(seed))) is base


def test_an_accepted_example_question_teaches_its_article(
    base: TopicModel, corpus: Corpus, seed: list[Article]
) -> None:
    before = base.probabilities(TAUGHT)
    taught = topic_live.refit(base, corpus, _with_question(seed, ARTICLE, TAUGHT))
    after = taught.probabilities(TAUGHT)
    assert after[ARTICLE] > before[ARTICLE] + 0.2
    assert max(after, key=lambda name: after[name]) == ARTICLE
    assert taught.classes == base.classes
    # The classes the new row does not touch keep their shipped weights exactly.
    touched = {ARTICLE} | {name for name, p in before.items() if p >= topic_live.TOUCHED}
    for i, name in enumerate(base.classes):
        same = np.array_equal(taught.weights[:, i], base.weights[:, i])
        assert same == (name not in touched), name


def test_the_same_articles_give_the_same_model(
    base: TopicModel, corpus: Corpus, seed: list[Article]
) -> None:
    """Every process refits from the shipped model with the same rows: the same model."""
    articles = _with_question(seed, ARTICLE, TAUGHT)
    one = topic_live.refit(base, corpus, articles)
    two = topic_live.refit(base, corpus, list(reversed(articles)))
    assert one.classes == two.classes
    assert np.array_equal(one.weights, two.weights)
    assert np.array_equal(one.biases, two.biases)


def test_a_new_article_becomes_a_class_and_a_removed_one_goes(
    base: TopicModel, corpus: Corpus, seed: list[Article]
) -> None:
    template = next(a for a in seed if (a.id, a.lang) == (ARTICLE, "sv"))
    new = dataclasses.replace(
        template,
        id="julfest",
        title="Julfesten för personalen i Dalsland",
        questions=("när är julfesten för personalen", "vem ordnar julbordet i år"),
        tags=("julfest", "julbord"),
    )
    gone = "skolfranvaro"
    articles = [a for a in seed if a.id != gone] + [new]
    model = topic_live.refit(base, corpus, articles)
    assert "julfest" in model.classes and gone not in model.classes
    likely = model.probabilities("när är julbordet för oss som jobbar i projektet")
    assert max(likely, key=lambda name: likely[name]) == "julfest"
