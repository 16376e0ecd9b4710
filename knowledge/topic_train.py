"""Train the topic model (``topic_model.npz``) from the labelled sets and the articles.

Run from the repository root after a labelled set or an article is added or changed:
``python -m knowledge.topic_train``. It writes the model and, beside it, the corpus it was
trained on (``topic_corpus.npz``: a running bot refits from it, see ``knowledge.topic_live``).
It uses the same training sets as the emergency model
(``knowledge/training.py``), so the newest blind set stays out of both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from knowledge import learning
from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.topic_model import (
    BUCKETS,
    CORPUS_PATH,
    EPOCHS,
    MODEL_PATH,
    NONE,
    Corpus,
    TopicModel,
    article_rows,
)
from knowledge.training import SETS_DIR, TRAINING_SETS, labelled_items, run


def corpus(
    sets: tuple[str, ...] = TRAINING_SETS,
    sets_dir: Path = SETS_DIR,
    articles_dir: Path = ARTICLES_DIR,
) -> Corpus:
    """The training rows: the labelled ``sets`` (no emergencies) and the articles' own rows."""
    items = [item for item in labelled_items(sets, sets_dir) if not item.emergency]
    labelled = tuple((item.question, item.expect or NONE) for item in items)
    return Corpus(labelled, tuple(article_rows(load_articles(articles_dir))))


def train(
    sets: tuple[str, ...] = TRAINING_SETS,
    sets_dir: Path = SETS_DIR,
    articles_dir: Path = ARTICLES_DIR,
) -> TopicModel:
    """Fit the model on the labelled ``sets`` and the articles' own titles, questions, tags."""
    return fit_corpus(corpus(sets, sets_dir, articles_dir), sets)


def fit_corpus(rows: Corpus, sets: tuple[str, ...] = TRAINING_SETS) -> TopicModel:
    """Fit the model from zeros on ``rows`` (every class for ``EPOCHS``)."""
    texts = [text for text, _ in rows.rows]
    labels = [label for _, label in rows.rows]
    classes = tuple(sorted(set(labels)))
    design = learning.Design(texts, BUCKETS)
    columns = []
    biases = []
    for name in classes:
        weights, bias = learning.fit(design, [label == name for label in labels], epochs=EPOCHS)
        columns.append(weights)
        biases.append(bias)
    return TopicModel(np.stack(columns, axis=1), np.array(biases), classes, sets)


def main() -> int:
    """Train on the shared training sets; write ``topic_model.npz`` and ``topic_corpus.npz``."""
    rows = corpus()
    rows.save(CORPUS_PATH)
    print(
        f"Wrote {CORPUS_PATH.name}: "
        f"{len(rows.labelled)} labelled rows, {len(rows.articles)} article rows"
    )
    return run(
        lambda: fit_corpus(rows),
        MODEL_PATH,
        lambda model: f"{len(model.classes)} classes, {len(TRAINING_SETS)} sets",
    )


if __name__ == "__main__":
    sys.exit(main())
