"""Train the topic model (``topic_model.npz``) from the labelled sets and the articles.

Run from the repository root after a labelled set or an article is added or changed:
``python -m knowledge.topic_train``. It uses the same training sets as the emergency model
(``knowledge/training.py``), so the newest blind set stays out of both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from knowledge import learning
from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.topic_model import BUCKETS, EPOCHS, MODEL_PATH, NONE, TopicModel
from knowledge.training import SETS_DIR, TRAINING_SETS, labelled_items, run


def train(
    sets: tuple[str, ...] = TRAINING_SETS,
    sets_dir: Path = SETS_DIR,
    articles_dir: Path = ARTICLES_DIR,
) -> TopicModel:
    """Fit the model on the labelled ``sets`` and the articles' own titles, questions, tags."""
    items = [item for item in labelled_items(sets, sets_dir) if not item.emergency]
    texts = [item.question for item in items]
    labels = [item.expect or NONE for item in items]
    for article in load_articles(articles_dir):
        for text in (article.title, *article.questions, " ".join(article.tags)):
            texts.append(text)
            labels.append(article.id)
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
    """Train on the shared training sets and write ``topic_model.npz``."""
    return run(
        train, MODEL_PATH, lambda model: f"{len(model.classes)} classes, {len(TRAINING_SETS)} sets"
    )


if __name__ == "__main__":
    sys.exit(main())
