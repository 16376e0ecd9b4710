"""The learned topic model: the shipped file, its training data, and how answers use it."""

from __future__ import annotations

import numpy as np

from knowledge.service import KnowledgeBase
from knowledge.topic_model import NONE, default_model
from knowledge.topic_train import train
from knowledge.training import TRAINING_SETS


def test_the_shipped_topic_model_is_what_the_listed_sets_train() -> None:
    """Deterministic training: the committed topic_model.npz is reproducible (float16)."""
    shipped = default_model()
    assert shipped is not None
    assert shipped.trained_on == TRAINING_SETS
    fresh = train()
    assert fresh.classes == shipped.classes
    assert np.allclose(fresh.weights, shipped.weights, atol=2e-2)
    assert np.allclose(fresh.biases, shipped.biases, atol=1e-6)


def test_every_article_and_none_is_a_class(kb: KnowledgeBase) -> None:
    """The model knows every article id and "none"."""
    model = default_model()
    assert model is not None
    assert set(model.classes) == {*kb.ids(), NONE}


def test_a_situation_without_the_articles_words_finds_its_article(kb: KnowledgeBase) -> None:
    """A message that describes repeated absence is about school absence."""
    answer = kb.answer(
        "hon går hem efter lunch typ tre dagar i veckan sen jullovet och vh svarar inte, "
        "hur går jag vidare?",
        "sv",
    )
    assert answer.article_id == "skolfranvaro"


def test_a_knowledge_base_of_other_articles_has_no_topic_model(kb: KnowledgeBase) -> None:
    """Synthetic knowledge bases (benchmarks, tests) answer by retrieval alone."""
    other = KnowledgeBase.from_articles([], kb.glossary)
    assert other.topic_model is None
