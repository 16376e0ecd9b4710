"""The topic model learns what the editors teach, in every running process.

The shipped model (``topic_model.npz``) was trained on the labelled sets and the articles as
they were in the repository (``topic_corpus.npz`` holds those rows). In the running bot the
articles live in the database, and editors add example questions from the /kb_gaps work list,
approve new questions on articles, or approve new articles. Example questions alone only
reach the search index, which matches close wordings; the topic model, over words and word
pieces, is what can carry an accepted question over to other phrasings of the same need.

:func:`refit` makes the model for the present articles: the shipped corpus's labelled rows
plus the present articles' own rows (titles, questions with the accepted example questions,
tags). The rows that are new since the shipped model (``corpus.articles``) count
``NEW_ROW_WEIGHT`` times: an editor confirmed each. Only the classes the change touches are
fitted again, each warm-started from its shipped weights for ``WARM_EPOCHS`` epochs:

- the classes that gained or lost a row (an article that got an example question);
- the classes the shipped model gives a new row at least ``TOUCHED`` (the article it was
  wrongly answered with, and "none" for a question the bot could not answer): the new row is
  one of their negatives now;
- a new article, fitted from zeros for the full ``EPOCHS``.

Every other class keeps its shipped weights: a new row it already scores near zero changes
its gradient by almost nothing. Every process starts from the same shipped model with the same
rows, so every process computes the same model.

:class:`TopicLearner` runs it: ``KnowledgeBase.refresh`` tells it the articles after each
rebuild; when their rows differ from those of the model in use, a daemon thread refits and
swaps the new model in with one assignment. The knowledge base answers with the previous
model meanwhile. A change arriving during a refit is refitted right after it (the latest
articles win).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

from knowledge import learning
from knowledge.articles import Article
from knowledge.topic_model import (
    BUCKETS,
    EPOCHS,
    NONE,
    Corpus,
    Row,
    TopicModel,
    article_rows,
    default_corpus,
    default_model,
)

logger = logging.getLogger(__name__)

# How many epochs a touched class goes on from its shipped weights.
WARM_EPOCHS = 30
# How many times a row that is new since the shipped model counts (an editor confirmed it).
NEW_ROW_WEIGHT = 5.0
# A class whose shipped probability for a new row is at least this is fitted again.
TOUCHED = 0.3


@lru_cache(maxsize=2)
def _labelled_features(labelled: tuple[Row, ...]) -> tuple[list[int], ...]:
    """The labelled rows' feature rows (hashed once per process)."""
    return tuple(learning.features(text, BUCKETS) for text, _ in labelled)


def new_rows(corpus: Corpus, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """The article rows in ``rows`` but not in the corpus, and those gone from it."""
    now, then = Counter(rows), Counter(corpus.articles)
    return list((now - then).elements()), list((then - now).elements())


def refit(base: TopicModel, corpus: Corpus, articles: Sequence[Article]) -> TopicModel:
    """The topic model for ``articles``: ``base`` (trained on ``corpus``) taught the rows that
    changed since (see the module's description). ``base`` itself when nothing changed."""
    import numpy as np  # not at import (see knowledge.learning)

    # Sorted: the database's order must not change a single weight.
    rows = sorted(article_rows(articles))
    added, removed = new_rows(corpus, rows)
    if not added and not removed:
        return base
    ids = {article.id for article in articles}
    keep = [i for i, (_, label) in enumerate(corpus.labelled) if label == NONE or label in ids]
    labelled_features = _labelled_features(corpus.labelled)
    texts = [corpus.labelled[i][0] for i in keep] + [text for text, _ in rows]
    labels = [corpus.labelled[i][1] for i in keep] + [label for _, label in rows]
    features = [labelled_features[i] for i in keep]
    features += [learning.features(text, BUCKETS) for text, _ in rows]
    design = learning.Design(texts, BUCKETS, rows=features)
    fresh = set(added)
    weights = np.ones(len(texts), dtype=np.float64)
    weights[len(keep) :] = [NEW_ROW_WEIGHT if row in fresh else 1.0 for row in rows]
    classes = tuple(sorted(set(labels)))
    touched = {label for _, label in (*added, *removed)}
    for text, _ in added:
        likely = base.probabilities(text)
        touched.update(name for name, p in likely.items() if p >= TOUCHED)
    position = {name: i for i, name in enumerate(base.classes)}
    columns = []
    biases = []
    for name in classes:
        old = position.get(name)
        if old is not None and name not in touched:
            columns.append(base.weights[:, old])
            biases.append(float(base.biases[old]))
            continue
        start = None if old is None else (base.weights[:, old], float(base.biases[old]))
        column, bias = learning.fit(
            design,
            [label == name for label in labels],
            epochs=EPOCHS if start is None else WARM_EPOCHS,
            start=start,
            row_weights=weights,
        )
        columns.append(column)
        biases.append(bias)
    return TopicModel(np.stack(columns, axis=1), np.array(biases), classes, base.trained_on)


class TopicLearner:
    """Keeps a knowledge base's topic model taught with its present articles (see module).

    ``install(model)`` is called with each new model (the knowledge base assigns it)."""

    def __init__(
        self,
        install: Callable[[TopicModel], None],
        base: TopicModel,
        corpus: Corpus,
    ) -> None:
        self._install = install
        self.base = base
        self.corpus = corpus
        self._lock = threading.Lock()
        # The article rows of the model in use, and of the latest articles asked for.
        self._rows: list[Row] = list(corpus.articles)
        self._target: Counter[Row] = Counter(self._rows)
        self._wanted: tuple[list[Row], list[Article]] | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.refits = 0
        self.last_seconds: float | None = None

    @classmethod
    def shipped(cls, install: Callable[[TopicModel], None]) -> TopicLearner | None:
        """A learner from the shipped model and corpus (None when either is missing)."""
        base, corpus = default_model(), default_corpus()
        if base is None or corpus is None:
            return None
        return cls(install, base, corpus)

    def articles_changed(self, articles: Sequence[Article]) -> bool:
        """Called after every index rebuild (cheap: no fitting here). True when a refit was
        started or queued because the articles' rows differ from those of the model in use."""
        rows = article_rows(articles)
        with self._lock:
            if Counter(rows) == self._target:
                return False
            self._target = Counter(rows)
            self._wanted = (rows, list(articles))
            if self._thread is None:
                self._idle.clear()
                self._thread = threading.Thread(target=self._run, name="topic-refit", daemon=True)
                self._thread.start()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no refit is running or queued (tests, benchmarks); False on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                wanted, self._wanted = self._wanted, None
                if wanted is None:
                    self._thread = None
                    self._idle.set()
                    return
            rows, articles = wanted
            if Counter(rows) == Counter(self._rows):
                continue
            started = time.perf_counter()
            try:
                model = refit(self.base, self.corpus, articles)
            except Exception:
                logger.exception("Topic model refit failed; the previous model stays")
                with self._lock:
                    if self._wanted is None:
                        # The next rebuild tries again.
                        self._target = Counter(self._rows)
                continue
            seconds = time.perf_counter() - started
            with self._lock:
                self._rows = rows
                self.refits += 1
                self.last_seconds = seconds
            self._install(model)
            added, removed = new_rows(self.corpus, rows)
            logger.info(
                "Topic model refitted in %.1f s: %d rows added, %d gone since the shipped model",
                seconds,
                len(added),
                len(removed),
            )
