"""A plain BM25 baseline for comparison with Dalsbot's retrieval.

No stemming, no synonyms, no compound splitting, no typo handling, no field weights and no
language detection: each article's title, questions, tags and body are one bag of words,
and the question is searched among the articles of the person's preferred language. The
same stop-word lists are used, to keep the comparison about the mechanisms, not the lists.
It abstains when the best score is below a threshold (tuned on the evaluation set, see
``tune_threshold``). Its emergency check is the plain keyword list a first version of a bot
would have ("akut", "112", "självmord", "suicide", "emergency", "urgent"): the thing the
realistic sets show to be insufficient.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from knowledge.articles import Article
from knowledge.evaluation import EvalItem, Prediction
from knowledge.text import content_tokens

K1 = 1.2
B = 0.75
KEYWORDS = re.compile(
    r"\b(akut\w*|akutt\w*|112|självmord\w*|selvmord\w*|suicid\w*|emergency|urgent|nödläge)\b",
    re.IGNORECASE,
)


class PlainBM25:
    """Classic Okapi BM25 over whole articles, one index per language."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.threshold = 0.0
        self._docs: dict[str, list[tuple[str, Counter[str], int]]] = defaultdict(list)
        for article in articles:
            text = "\n".join([article.title, *article.questions, *article.tags, article.body])
            tokens = content_tokens(text, article.lang)
            self._docs[article.lang].append((article.id, Counter(tokens), len(tokens)))
        self._df: dict[str, Counter[str]] = {}
        self._avg: dict[str, float] = {}
        for lang, docs in self._docs.items():
            df: Counter[str] = Counter()
            for _, counts, _ in docs:
                df.update(counts.keys())
            self._df[lang] = df
            self._avg[lang] = sum(length for *_, length in docs) / max(1, len(docs))

    def scores(self, question: str, lang: str) -> list[tuple[str, float]]:
        """All articles of ``lang`` with their BM25 score, best first."""
        docs, df, avg = (
            self._docs.get(lang, []),
            self._df.get(lang, Counter()),
            self._avg.get(lang, 1.0),
        )
        n = len(docs)
        terms = content_tokens(question, lang)
        ranked = []
        for doc_id, counts, length in docs:
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    idf = math.log(1.0 + (n - df[term] + 0.5) / (df[term] + 0.5))
                    score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
            ranked.append((doc_id, score))
        ranked.sort(key=lambda item: -item[1])
        return ranked

    def predict(self, question: str, preferred: str) -> Prediction:
        """The baseline as an evaluation system (answers in the preferred language)."""
        ranked = [item for item in self.scores(question, preferred) if item[1] > 0]
        best = ranked[0][0] if ranked and ranked[0][1] >= self.threshold else None
        emergency = KEYWORDS.search(question) is not None
        ranked_ids = [doc_id for doc_id, _ in ranked[:5]]
        if emergency:
            return Prediction("akut-lage", ["akut-lage", *ranked_ids], preferred, emergency=True)
        return Prediction(best, ranked_ids, preferred)

    def tune_threshold(self, items: Sequence[EvalItem]) -> float:
        """Pick the abstention threshold that maximises correct decisions on ``items``.

        Tuned on the same questions it is evaluated on, which flatters the baseline: a
        deliberately generous choice so that the comparison is fair to it.
        """
        results = []
        for item in items:
            if item.emergency:
                continue
            ranked = [entry for entry in self.scores(item.question, item.preferred) if entry[1] > 0]
            top_id, top = ranked[0] if ranked else (None, 0.0)
            results.append((item.expect, top_id, top))
        best_threshold, best_correct = 0.0, -1
        for threshold in sorted({top for *_, top in results} | {0.0}):
            correct = sum(
                (expect is None and top < threshold)
                or (expect is not None and top >= threshold and top_id == expect)
                for expect, top_id, top in results
            )
            if correct > best_correct:
                best_threshold, best_correct = threshold, correct
        self.threshold = best_threshold
        return best_threshold
