"""A learned topic model: which article (or none) a message is about.

BM25F with the glossary finds articles that share the message's words; staff often describe
a situation in words no article uses ("hon har gått hem efter lunch tre dagar i veckan").
This model learns from labelled messages which words and word pieces go with which article:
the labelled blind sets' in-scope and off-topic messages, and every article's title, example
questions and tags. It is one logistic regression per article plus one for "none" over the
hashed features of ``knowledge.learning`` (2^14 buckets), trained in seconds and shipped as
``topic_model.npz`` (weights as float16), trained by ``python -m knowledge.topic_train``.
Beside it ships ``topic_corpus.npz``, what it was trained on (the labelled messages and the
articles' own rows), so a running bot can teach it the example questions editors accept
(``knowledge.topic_live``) without the repository's test sets.

``KnowledgeBase.answer`` uses it as a second opinion on retrieval: it takes an article the
search abstained on when the model is sure of it, switches to another article when the
model is much surer of that one, and abstains when the model is sure the message is about
none of them (thresholds at the end, chosen on R7 before R8 was read).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge import learning
from knowledge.articles import Article

if TYPE_CHECKING:
    from knowledge.learning import FloatArray

MODEL_PATH = Path(__file__).with_name("topic_model.npz")
CORPUS_PATH = Path(__file__).with_name("topic_corpus.npz")
BUCKETS = 1 << 14
NONE = "none"
EPOCHS = 150


@dataclass(frozen=True, slots=True)
class TopicModel:
    """One weight column and bias per class (article ids and ``NONE``)."""

    weights: FloatArray
    biases: FloatArray
    classes: tuple[str, ...]
    trained_on: tuple[str, ...]

    def probabilities(self, text: str) -> dict[str, float]:
        """Each class's probability for ``text`` (one-versus-rest, not normalised)."""
        import numpy as np  # loaded with the model; not at import (knowledge.learning)

        index = learning.features(text, BUCKETS)
        scores = self.weights[index].sum(axis=0) + self.biases if index else self.biases
        values = 1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))
        return dict(zip(self.classes, (float(v) for v in values), strict=True))

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the model (weights as float16) to ``path``."""
        import numpy as np

        meta = {"classes": list(self.classes), "trained_on": list(self.trained_on)}
        learning.save(
            path,
            meta,
            weights=self.weights.astype(np.float16),
            biases=self.biases.astype(np.float64),
        )


def load_model(path: Path = MODEL_PATH) -> TopicModel | None:
    """The model at ``path``, or None when there is none (retrieval then works alone)."""
    return learning.load(
        path,
        lambda meta, weights: weights.shape == (BUCKETS, len(meta["classes"])),
        lambda meta, arrays: TopicModel(
            arrays["weights"], arrays["biases"], tuple(meta["classes"]), tuple(meta["trained_on"])
        ),
    )


@lru_cache(maxsize=1)
def default_model() -> TopicModel | None:
    """The model shipped with Dalsbot (loaded once)."""
    return load_model()


# One training row: a text and its class (an article id or ``NONE``).
Row = tuple[str, str]


def article_rows(articles: Iterable[Article]) -> list[Row]:
    """The rows an article teaches about itself: its title, each question, its tags."""
    return [
        (text, article.id)
        for article in articles
        for text in (article.title, *article.questions, " ".join(article.tags))
    ]


@dataclass(frozen=True, slots=True)
class Corpus:
    """What the shipped model was trained on, in training order: the labelled sets' messages
    (in scope and off topic, no emergencies) and the articles' own rows at training time."""

    labelled: tuple[Row, ...]
    articles: tuple[Row, ...]

    @property
    def rows(self) -> tuple[Row, ...]:
        """Every row, in the order the trainer used."""
        return self.labelled + self.articles

    def save(self, path: Path = CORPUS_PATH) -> None:
        """Write the corpus (texts and classes as JSON in a compressed ``.npz``)."""
        meta = {
            "labelled": [list(r) for r in self.labelled],
            "articles": [list(r) for r in self.articles],
        }
        learning.save(path, meta)


def load_corpus(path: Path = CORPUS_PATH) -> Corpus | None:
    """The corpus at ``path``, or None when there is none (the model then cannot learn)."""
    if not path.exists():
        return None
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    return Corpus(
        tuple((str(t), str(c)) for t, c in meta["labelled"]),
        tuple((str(t), str(c)) for t, c in meta["articles"]),
    )


@lru_cache(maxsize=1)
def default_corpus() -> Corpus | None:
    """The corpus shipped beside the model (loaded once)."""
    return load_corpus()


# How ``KnowledgeBase.answer`` uses the model. A search abstention is replaced by the model's
# article from TAKE on (while "none" stays below NONE_CEILING); another article replaces the
# search's from SWITCH on when it is SWITCH_MARGIN surer; "none" from NONE_FLOOR abstains
# when no article reaches ARTICLE_FLOOR.
TAKE = 0.6
NONE_CEILING = 0.5
SWITCH = 0.6
SWITCH_MARGIN = 0.2
NONE_FLOOR = 0.6
ARTICLE_FLOOR = 0.3
