"""Train the topic model (``topic_model.npz``) from the labelled sets and the articles.

Run from the repository root after a labelled set or an article is added or changed:
``python -m knowledge.topic_train``. It uses the same training sets as the emergency model
(``knowledge/emergency/train.py``), so the newest blind set stays out of both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from knowledge import learning
from knowledge.articles import ARTICLES_DIR, load_articles
from knowledge.emergency.train import SETS_DIR, TRAINING_SETS
from knowledge.evaluation import load_eval_set
from knowledge.topic_model import BUCKETS, EPOCHS, MODEL_PATH, NONE, TopicModel


def train(
    sets: tuple[str, ...] = TRAINING_SETS,
    sets_dir: Path = SETS_DIR,
    articles_dir: Path = ARTICLES_DIR,
) -> TopicModel:
    """Fit the model on the labelled ``sets`` and the articles' own titles, questions, tags."""
    texts: list[str] = []
    labels: list[str] = []
    for name in sets:
        for item in load_eval_set(sets_dir / f"{name}.yaml"):
            if not item.emergency:
                texts.append(item.question)
                labels.append(item.expect or NONE)
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
    """Train on the emergency model's training sets and write ``topic_model.npz``."""
    model = train()
    model.save(MODEL_PATH)
    print(f"Wrote {MODEL_PATH.name}: {len(model.classes)} classes, {len(TRAINING_SETS)} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
