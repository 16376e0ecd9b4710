"""Retrieval: a BM25F index over the articles of both languages, with Swedish-aware analysis.

Analysis (the same for articles and questions): normalise → tokenise → stem (Snowball,
per language) → drop stop words → add glossary concepts → add compound parts. At query
time unknown words are additionally split into known compound parts or, failing that,
matched to a close index word (small typos) with ``rapidfuzz``. Three query-only rules
follow the question's shape rather than its words: glossary *cues* (question shapes such
as "får X prata med Y" or "vem kallar ...") add their concept at a raised weight; words
about wording ("förkortningen", "står ... för", "kallas") are ignored; and a word after
"utan"/"without" counts half (a condition, not the topic). Place names (glossary
``place``) count little in the coverage, so "simhallen i Mellerud" is no contacts question.

Scoring is BM25F with field weights title > questions > tags > body. Per-term document
weights are precomputed at build time, so a query is a handful of vectorised additions.
The question's language is searched in full; the other language contributes through its
titles and tags only (shared tags such as "SIP" or "named person").

Confidence combines three signals: how much of the question (IDF-weighted) the best article
covers, how far it is ahead of the runner-up, and its absolute score. Below
``ABSTAIN_THRESHOLD`` the index abstains (``article_id`` None). It also abstains when the
best article lacks *domain evidence*: no question word other than a place name or a
generic word (glossary ``generic``: möte, plan, Teams, tid, öppet, boka ...) matches the
article's title, example questions or tags. "När har biblioteket i Bengtsfors öppet" is
then no reading question, and "Teams-mötet laggar" no Barnteam question. Generic words
weigh less in the score and the coverage, place names less still.

numpy is imported by the functions that build and score, not with the module (see
``knowledge.learning``): the bot imports this module before it fetches updates and builds
the index after.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, TypeAlias

from knowledge.articles import Article
from knowledge.glossary import GLOSSARY_PREFIX, Glossary
from knowledge.text import (
    STOP_WORDS,
    SUPPORTED_LANGS,
    is_stop_word,
    split_compound,
    stem,
    tokenize,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray: TypeAlias = npt.NDArray[np.float64]
    IntArray: TypeAlias = npt.NDArray[np.int32]

logger = logging.getLogger(__name__)

# BM25F parameters: field weight and length normalisation per field.
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "questions": 2.2, "tags": 2.0, "body": 1.0}
FIELD_B: dict[str, float] = {"title": 0.3, "questions": 0.5, "tags": 0.3, "body": 0.5}
CROSS_FIELDS: tuple[str, ...] = ("title", "tags")
_DOMAIN_FIELDS: tuple[str, ...] = ("title", "questions", "tags")
# A high k1 (weak tf saturation) works best here: the field weights already scale tf, and a
# title or example-question match should keep counting (tuned on the evaluation set).
K1 = 10.0
CROSS_LANGUAGE_WEIGHT = 0.4

# Weights of derived terms, relative to a literal term (1.0).
COMPOUND_PART_WEIGHT_INDEX = 0.5
COMPOUND_PART_WEIGHT_KNOWN = 0.35
COMPOUND_PART_WEIGHT_UNKNOWN = 0.8
GLOSSARY_WEIGHT = 1.0
SYNONYM_WEIGHT = 0.9
PHRASE_WORD_WEIGHT = 0.3
FUZZY_WEIGHT = 0.8

# A matched place name counts this much of its weight in the coverage: "simhallen i
# Mellerud" shares only a place with the contacts article, which is no answer. In the
# BM25F score it counts this much of a topic word, so "orosanmälan i Bengtsfors" ranks the
# reporting article above the contacts article that lists every municipality.
PLACE_MATCH_SHARE = 0.25
PLACE_SCORE_WEIGHT = 0.3
# A matched generic word (glossary ``generic``: möte, plan, team, tid, öppet, boka ...)
# counts this much of its weight in the coverage: it is everyday language as much as the
# domain's.
GENERIC_MATCH_SHARE = 0.5
# ... and this much of a topic word in the BM25F score: "SIP på Teams" is about SIP.
GENERIC_SCORE_WEIGHT = 0.7
# A word after "utan"/"without" states a condition ("får jag berätta ... utan samtycke"),
# so it weighs less than the question's topic.
CONDITION_WEIGHT = 0.5
_WITHOUT = frozenset(("utan", "without", "uden", "uten"))
# Cue units (question shapes that signal a concept, see Glossary.cue_keys) are named so.
CUE_PREFIX = "cue:"

MIN_COMPOUND_LENGTH = 7
MIN_FUZZY_LENGTH = 5
FUZZY_CUTOFF_SHORT = 88.0  # words of 5 letters: only one inserted/deleted letter
FUZZY_CUTOFF = 85.0
# Question words whose typo correction or compound split an index keeps (each index its own).
CACHED_WORDS = 20000

# Confidence calibration (fitted on tests/knowledge/eval_questions.yaml, see calibrate()).
CAL_COVERAGE = 2.2
CAL_SCORE = 2.6
CAL_MARGIN = 0.4
CAL_BIAS = -8.2
ABSTAIN_THRESHOLD = 0.5
# An article that matches less than this share of the question (IDF-weighted) is no answer,
# however strongly it matches the rest: "recommend a thriller to read" is not about reading
# promotion.
MIN_COVERAGE = 0.2
TOP_K = 5
# The best RERANK_K articles by BM25F are re-ranked with their question coverage.
RERANK_K = 8
RERANK_FLOOR = 0.5
QUERY_CACHE_SIZE = 4096
# An article whose concept the question names gets its re-ranked score raised this much (the
# first concept named) or that much (any later one); a concept must be named with at least
# this weight (a literal word, not a compound part or a typo guess).
FIRST_TOPIC_BOOST = 1.15
TOPIC_BOOST = 1.05
NAMED_TOPIC_MIN_WEIGHT = 0.9
MAX_RELATED = 3


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best article (None when abstaining), its confidence, related ids and the top 5."""

    article_id: str | None
    confidence: float
    related: list[str]
    ranked: list[tuple[str, float]]


@dataclass(frozen=True, slots=True)
class QueryUnit:
    """One word of the question with the weighted index terms it was expanded to.

    ``context`` marks a place name: it narrows a question down ("... i Mellerud") but is
    not its topic, so matching it counts for little in the score and the coverage.
    ``generic`` marks an everyday word the domain also uses ("möte", "Teams", "öppet"):
    matching it ranks articles but is no evidence that the question is about the domain.
    """

    token: str
    terms: tuple[tuple[str, float], ...]
    context: bool = False
    generic: bool = False

    @property
    def evidence(self) -> bool:
        """True if matching this word in an article's title, questions or tags is evidence."""
        return not (self.context or self.generic)


@dataclass(slots=True)
class _FieldIndex:
    """Precomputed BM25F postings for one language over a set of fields."""

    postings: dict[str, tuple[IntArray, FloatArray]]
    idf: dict[str, float]
    size: int

    def scores(self, units: Iterable[QueryUnit], n_docs: int) -> FloatArray:
        """Score every document: the sum over question words of their best term's weight.

        Taking the maximum within a word means expansions (synonyms, compound parts, typo
        corrections) can help a word match, but never make one word count several times.
        """
        import numpy as np

        total = np.zeros(n_docs, dtype=np.float64)
        for unit in units:
            scale = PLACE_SCORE_WEIGHT if unit.context else 1.0
            if unit.generic:
                scale = GENERIC_SCORE_WEIGHT
            postings = [
                (self.postings[term], weight * scale)
                for term, weight in unit.terms
                if term in self.postings
            ]
            if len(postings) == 1:
                (docs, weights), factor = postings[0]
                total[docs] += factor * weights
            elif postings:
                best = np.zeros(n_docs, dtype=np.float64)
                for (docs, weights), factor in postings:
                    best[docs] = np.maximum(best[docs], factor * weights)
                total += best
        return total

    def contains(self, term: str, doc: int) -> bool:
        """Return True if document ``doc`` contains ``term``."""
        posting = self.postings.get(term)
        if posting is None:
            return False
        docs = posting[0]
        pos = int(docs.searchsorted(doc))
        return pos < len(docs) and int(docs[pos]) == doc


@dataclass(slots=True)
class _LangIndex:
    """Everything the index knows about one language."""

    lang: str
    full: _FieldIndex
    cross: _FieldIndex
    vocabulary: frozenset[str]
    # Per document position: the terms of its title, example questions and tags (the words
    # that say what the article is about), for the domain-evidence check.
    domain_terms: dict[int, frozenset[str]]
    fuzzy_buckets: dict[str, list[str]]
    related: dict[int, tuple[str, ...]]
    # Every word the articles (and the stop-word list) use, and the same words typed without
    # å/ä/ö ("uppfoljning" → "uppföljning"), for repairing a question before analysis.
    surface: frozenset[str] = frozenset()
    restore: dict[str, str] = field(default_factory=dict)
    fuzzy_cache: dict[str, tuple[str, float] | None] = field(default_factory=dict)
    # A question word's compound parts (its word, its stem, whether parts may be stems): a
    # question is analysed two or three times (whole, its asking part, each of two
    # questions), and the split tries every part of a word, stemming each. Like the typo
    # cache, it keeps question words (not those with a digit) until the index is rebuilt,
    # at most CACHED_WORDS; the questions themselves are in the question log anyway.
    split_cache: dict[tuple[str, str, bool], list[str] | None] = field(default_factory=dict)


class KnowledgeIndex:
    """A searchable index over articles in Swedish and English, built with a glossary."""

    def __init__(self, articles: Sequence[Article], glossary: Glossary) -> None:
        self.glossary = glossary
        self.doc_ids: list[str] = sorted({a.id for a in articles})
        self._position = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        self._langs: dict[str, _LangIndex] = {}
        self._query_cache: dict[tuple[str, str], tuple[QueryUnit, ...]] = {}
        for lang in SUPPORTED_LANGS:
            subset = [a for a in articles if a.lang == lang]
            self._langs[lang] = _build_lang_index(lang, subset, self._position, glossary)
        logger.info("Built knowledge index: %d ids", len(self.doc_ids))

    def search(self, question: str, lang: str, *, foreign: bool = False) -> SearchResult:
        """Find the article that answers ``question``, searching ``lang`` first.

        ``foreign`` marks a question in a language the index does not know: its unknown
        words are then expected and do not lower the confidence.
        """
        lang = lang if lang in self._langs else "sv"
        primary = self._langs[lang]
        units = self.analyze_query(question, lang)
        n_docs = len(self.doc_ids)
        if not units or n_docs == 0:
            return SearchResult(None, 0.0, [], [])
        scores = primary.full.scores(units, n_docs)
        for other_lang, other in self._langs.items():
            if other_lang != lang:
                other_units = self.analyze_query(question, other_lang)
                cross = other.cross.scores(other_units, n_docs)
                scores += CROSS_LANGUAGE_WEIGHT * cross
        return self._result(scores, units, primary, foreign)

    def analyze_query(self, question: str, lang: str) -> list[QueryUnit]:
        """Expand the words of ``question`` into weighted index terms of ``lang``."""
        key = (question, lang)
        cached = self._query_cache.get(key)
        if cached is None:
            cached = _analyze_query(self._langs[lang], self.glossary, question, lang)
            if len(self._query_cache) >= QUERY_CACHE_SIZE:
                self._query_cache.clear()
            self._query_cache[key] = cached
        return list(cached)

    def _result(
        self, scores: FloatArray, units: list[QueryUnit], index: _LangIndex, foreign: bool
    ) -> SearchResult:
        candidates = [i for i in _top_indices(scores, RERANK_K) if scores[i] > 0]
        if not candidates:
            return SearchResult(None, 0.0, [], [])
        coverages = {i: _coverage(units, i, index, foreign) for i in candidates}
        topics = self._named_topics(units)
        adjusted = {
            i: _rerank_score(float(scores[i]), coverages[i]) * topics.get(i, 1.0)
            for i in candidates
        }
        order = sorted(candidates, key=lambda i: -adjusted[i])[:TOP_K]
        ranked = [(self.doc_ids[i], round(adjusted[i], 4)) for i in order]
        best = order[0]
        # Calibration uses the raw BM25F score (what it was fitted on) and the margin
        # after re-ranking.
        top = float(scores[best])
        ratio = adjusted[order[1]] / adjusted[best] if len(order) > 1 and adjusted[best] else 0.0
        confidence = calibrate(top, top * ratio, coverages[best])
        related = self._related(best, ranked, index)
        if (
            confidence < ABSTAIN_THRESHOLD
            or coverages[best] < MIN_COVERAGE
            or not _has_domain_evidence(units, best, index)
        ):
            return SearchResult(None, confidence, related, ranked)
        return SearchResult(self.doc_ids[best], confidence, related, ranked)

    def _named_topics(self, units: list[QueryUnit]) -> dict[int, float]:
        """Articles whose topic the question names, with their boost (the first named most).

        "sekretess mot vh för en 15-åring" is about secrecy even though the consent article
        matches its words as well: a concept the question names literally (not a compound
        part or a typo guess) points to its own article, and the first one named most.
        """
        boosts: dict[int, float] = {}
        for unit in units:
            for term, weight in unit.terms:
                if not term.startswith(GLOSSARY_PREFIX) or weight < NAMED_TOPIC_MIN_WEIGHT:
                    continue
                entry = self.glossary.entries.get(term[len(GLOSSARY_PREFIX) :])
                doc = self._position.get(entry.article) if entry and entry.article else None
                if doc is not None and doc not in boosts:
                    boosts[doc] = FIRST_TOPIC_BOOST if not boosts else TOPIC_BOOST
        return boosts

    def _related(self, best: int, ranked: list[tuple[str, float]], index: _LangIndex) -> list[str]:
        own = index.related.get(best) or self._any_related(best)
        result: list[str] = []
        best_id = self.doc_ids[best]
        for candidate in [*own, *(doc_id for doc_id, _ in ranked)]:
            if candidate != best_id and candidate in self._position and candidate not in result:
                result.append(candidate)
            if len(result) == MAX_RELATED:
                break
        return result

    def _any_related(self, doc: int) -> tuple[str, ...]:
        for index in self._langs.values():
            if doc in index.related:
                return index.related[doc]
        return ()


def calibrate(top: float, runner_up: float, coverage: float) -> float:
    """Map raw evidence to a confidence in [0, 1] (a logistic model).

    Inputs: ``coverage``, the IDF-weighted share of the question the best article matches;
    the best BM25F score (log-scaled); and the relative margin over the runner-up. The
    weights were fitted by logistic regression on the evaluation set (in-scope questions
    answered correctly versus off-topic ones) and rounded.
    """
    if top <= 0:
        return 0.0
    margin = max(0.0, (top - runner_up) / top)
    z = CAL_COVERAGE * coverage + CAL_SCORE * math.log1p(top) + CAL_MARGIN * margin + CAL_BIAS
    return float(1.0 / (1.0 + math.exp(-z)))


def _rerank_score(score: float, coverage: float) -> float:
    """The BM25F score, discounted for the share of the question the article leaves unmatched.

    Two articles can reach similar BM25F scores, one by matching a single frequent word
    very strongly ("elev" in the student-health article), the other by matching most of
    the question's words; the second is the better answer. The discount is mild, so a
    strong title match still wins over a scattered body match.
    """
    return score * (RERANK_FLOOR + (1.0 - RERANK_FLOOR) * coverage)


def _top_indices(scores: FloatArray, k: int) -> list[int]:
    import numpy as np

    if len(scores) <= k:
        return [int(i) for i in np.argsort(-scores, kind="stable")]
    part = np.argpartition(-scores, k)[:k]
    return [int(i) for i in part[np.argsort(-scores[part], kind="stable")]]


def _has_domain_evidence(units: list[QueryUnit], doc: int, index: _LangIndex) -> bool:
    """True if a topic word of the question matches what the article is about.

    The article must match, in its title, example questions or tags, a question word that
    is neither a place name nor a generic word, or a question-shape cue. "När har
    biblioteket i Bengtsfors öppet" matches the reading article and "Teams-mötet laggar"
    the Barnteam article only through such words, and gets no answer.
    """
    strong = index.domain_terms.get(doc, frozenset())
    return any(unit.evidence and any(term in strong for term, _ in unit.terms) for unit in units)


def _coverage(units: list[QueryUnit], doc: int, index: _LangIndex, foreign: bool) -> float:
    """IDF-weighted share of question words that the document matches.

    A word the index has never seen weighs as much as the rarest known word: a question
    full of unknown words is probably about something else (unless ``foreign``).
    """
    unknown_idf = 0.0 if foreign else inverse_document_frequency(index.full.size, 1)
    total = matched = 0.0
    for unit in units:
        known = [index.full.idf[t] for t, _ in unit.terms if t in index.full.idf]
        weight = max(known) if known else unknown_idf
        total += weight
        if any(index.full.contains(term, doc) for term, _ in unit.terms):
            share = 1.0
            if unit.context:
                share = PLACE_MATCH_SHARE
            elif unit.generic:
                share = GENERIC_MATCH_SHARE
            matched += weight * share
    return matched / total if total else 0.0


# --------------------------------------------------------------------------- query analysis


def _analyze_query(
    lang_index: _LangIndex, glossary: Glossary, question: str, lang: str
) -> tuple[QueryUnit, ...]:
    """Turn a question into units: one per content word, or one per glossary phrase."""
    tokens = repair_tokens(tokenize(question), lang_index, glossary)
    stemmed = [stem(tok, lang) for tok in tokens]
    groups, concepts = _phrase_groups(glossary, stemmed, lang)
    meta = _meta_positions(tokens)
    units: list[QueryUnit] = []
    for positions in groups:
        terms: dict[str, float] = {}
        # The words of a multi-word glossary term stand for the concept together; alone
        # they would match unrelated text ("plan" in "samordnad individuell plan").
        word_weight = 1.0 if len(positions) == 1 else PHRASE_WORD_WEIGHT
        if len(positions) == 1 and positions[0] in meta:
            continue
        # "utan samtycke" is the condition of the question, not its topic.
        first = positions[0]
        scale = CONDITION_WEIGHT if first > 0 and tokens[first - 1] in _WITHOUT else 1.0
        for pos in positions:
            if not is_stop_word(tokens[pos], lang):
                _add(terms, stemmed[pos], word_weight)
                if len(positions) == 1:
                    _expand_word(tokens[pos], stemmed[pos], lang, lang_index, glossary, terms)
        for key in concepts.get(positions[0], ()):
            _add_concept(key, GLOSSARY_WEIGHT, lang, glossary, terms, synonyms=True)
        if terms and scale != 1.0:
            terms = {term: weight * scale for term, weight in terms.items()}
        if terms:
            keys = concepts.get(positions[0], ())
            place = bool(keys) and all(glossary.is_place(key) for key in keys)
            # A glossary phrase of generic words ("ett barn en plan") is a domain term.
            generic = (
                not place
                and len(positions) == 1
                and glossary.is_generic(stemmed[positions[0]], lang)
            )
            text = " ".join(tokens[p] for p in positions)
            units.append(QueryUnit(text, tuple(terms.items()), context=place, generic=generic))
    for key, weight in glossary.cue_keys(question):
        term = GLOSSARY_PREFIX + key
        named = [i for i, unit in enumerate(units) if any(t == term for t, _ in unit.terms)]
        if not named:
            units.append(QueryUnit(CUE_PREFIX + key, ((term, weight),)))
        for i in named:
            # The question names the concept and has its shape: the cue's weight applies.
            unit = units[i]
            raised = tuple((t, max(w, weight) if t == term else w) for t, w in unit.terms)
            units[i] = QueryUnit(unit.token, raised, unit.context, unit.generic)
    return tuple(units)


_ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o"})
# A word split in two by voice-to-text or a phone keyboard ("sam tycke", "oros anmälan")
# is joined again when the joined word is one the articles use and at least this long.
MIN_JOINED_LENGTH = 7


def repair_tokens(
    tokens: Sequence[str], index: _LangIndex, glossary: Glossary | None = None
) -> list[str]:
    """Restore å/ä/ö to words typed without them and join words split in two.

    A word is restored only when it is unknown as typed and known with the letters
    ("nar" → "när", "orosanmalan" → "orosanmälan"); two neighbours are joined only when
    the joined word is known and at least one of the two is not ("barn kontakt" →
    "barnkontakt", but "barn team" stays as typed if "barnteam" is unknown), or when the
    joined word is a glossary term ("behovs kompassen" → "behovskompassen").
    """
    restored = [_restore(token, index) for token in tokens]
    repaired: list[str] = []
    i = 0
    while i < len(restored):
        if i + 1 < len(restored):
            joined = _restore(restored[i] + restored[i + 1], index)
            if len(joined) >= MIN_JOINED_LENGTH and joined in index.surface:
                halves_known = restored[i] in index.surface and restored[i + 1] in index.surface
                short_half = min(len(restored[i]), len(restored[i + 1])) <= 3
                # The glossary (a stem) is looked up last: most neighbours join into no word.
                if not halves_known or short_half or _glossary_term(joined, index, glossary):
                    repaired.append(joined)
                    i += 2
                    continue
        repaired.append(restored[i])
        i += 1
    return repaired


def _glossary_term(word: str, index: _LangIndex, glossary: Glossary | None) -> bool:
    return glossary is not None and bool(glossary.keys_for([stem(word, index.lang)], index.lang))


def _restore(token: str, index: _LangIndex) -> str:
    if token in index.surface:
        return token
    return index.restore.get(token, token)


# Words about the question itself rather than its topic: "vad står förkortningen GIRFEC
# för", "varför kallas det Skottlandsmodellen", "what does SIP stand for".
_META_WORDS = frozenset(
    ("förkortning", "förkortningen", "förkortningar", "akronym", "abbreviation", "acronym")
)
_STANDS_FOR = frozenset(("står", "stand", "stands"))
_FOR = frozenset(("för", "for"))
_NAMING = frozenset(("kallas", "kallad", "kallat", "heter", "called", "named"))
# "vem kallas till mötet" is about invitations, not about a name.
_NOT_NAMING_AFTER = frozenset(("till", "to", "in", "for", "för"))


def _meta_positions(tokens: Sequence[str]) -> set[int]:
    """Positions of words that ask about wording (names, abbreviations), not content."""
    found: set[int] = set()
    for pos, token in enumerate(tokens):
        following = tokens[pos + 1 : pos + 6]
        if token in _META_WORDS:
            found.add(pos)
        elif token in _STANDS_FOR and any(word in _FOR for word in following):
            found.add(pos)
            found.add(pos + 1 + next(i for i, w in enumerate(following) if w in _FOR))
        elif token in _NAMING and (not following or following[0] not in _NOT_NAMING_AFTER):
            found.add(pos)
    return found


def _phrase_groups(
    glossary: Glossary, stemmed: Sequence[str], lang: str
) -> tuple[list[list[int]], dict[int, set[str]]]:
    """Group token positions so that a multi-word glossary term is one unit.

    Returns the groups in order and the concept keys per group (keyed by first position).
    """
    owner = list(range(len(stemmed)))
    concepts: dict[int, set[str]] = defaultdict(set)
    covered_until = -1
    covering = ""
    for match in sorted(glossary.match(stemmed, lang), key=lambda m: (m.start, -m.length)):
        end = match.start + match.length
        # A term inside a longer term of another concept is part of that term, not a
        # concept of its own ("samordnad" in "samordnad individuell plan" is no coordinator).
        if end <= covered_until and match.key != covering:
            continue
        if end > covered_until:
            covered_until, covering = end, match.key
        head = owner[match.start]
        for pos in range(match.start, match.start + match.length):
            if owner[pos] == pos or owner[pos] == head:
                owner[pos] = head
        concepts[head].add(match.key)
    groups: dict[int, list[int]] = defaultdict(list)
    for pos, head in enumerate(owner):
        groups[head].append(pos)
    return [groups[head] for head in sorted(groups)], concepts


def _add_concept(
    key: str,
    weight: float,
    lang: str,
    glossary: Glossary,
    terms: dict[str, float],
    synonyms: bool = False,
) -> None:
    """Add a glossary concept and, for words the person typed, its one-word synonyms."""
    _add(terms, GLOSSARY_PREFIX + key, weight)
    if synonyms:
        for synonym in glossary.synonyms(key, lang):
            _add(terms, synonym, weight * SYNONYM_WEIGHT)


def _add(terms: dict[str, float], term: str, weight: float) -> None:
    if weight > terms.get(term, 0.0):
        terms[term] = weight


def _expand_word(
    token: str,
    term: str,
    lang: str,
    index: _LangIndex,
    glossary: Glossary,
    terms: dict[str, float],
) -> None:
    """Add compound parts and typo corrections for one question word to ``terms``."""
    known = term in index.full.idf
    if len(token) >= MIN_COMPOUND_LENGTH:
        parts = _split(token, term, index, stem_parts=not known)
        weight = COMPOUND_PART_WEIGHT_KNOWN if known else COMPOUND_PART_WEIGHT_UNKNOWN
        for part in parts or ():
            _add(terms, part, weight)
            for key in glossary.keys_for([part], lang):
                _add_concept(key, weight, lang, glossary, terms)
    if known or len(token) < MIN_FUZZY_LENGTH or token.isdigit():
        return
    corrected = _fuzzy(token, index)
    if corrected is not None:
        word, score = corrected
        corrected_stem = stem(word, lang)
        weight = FUZZY_WEIGHT * score / 100.0
        _add(terms, corrected_stem, weight)
        for key in glossary.keys_for([corrected_stem], lang):
            _add_concept(key, weight, lang, glossary, terms)


def _split(token: str, term: str, index: _LangIndex, stem_parts: bool) -> list[str] | None:
    key = (token, term, stem_parts)
    if key in index.split_cache:
        return index.split_cache[key]
    vocabulary, lang = index.vocabulary, index.lang
    result = split_compound(token, vocabulary, lang, stem_parts=stem_parts) or split_compound(
        term, vocabulary, lang, stem_parts=stem_parts
    )
    if len(index.split_cache) < CACHED_WORDS and not _has_digit(token):
        index.split_cache[key] = result
    return result


def _has_digit(token: str) -> bool:
    """Whether ``token`` holds a digit: such a word (a number, a reference) is never kept in
    the per-index caches, which otherwise hold a question's words as long as the index."""
    return any(char.isdigit() for char in token)


def _fuzzy(token: str, index: _LangIndex) -> tuple[str, float] | None:
    if token in index.fuzzy_cache:
        return index.fuzzy_cache[token]
    from rapidfuzz import fuzz, process  # at the first unknown word, not at start-up

    cutoff = FUZZY_CUTOFF_SHORT if len(token) <= MIN_FUZZY_LENGTH else FUZZY_CUTOFF
    choices = index.fuzzy_buckets.get(token[0], [])
    found = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    result = (str(found[0]), float(found[1])) if found else None
    if len(index.fuzzy_cache) < CACHED_WORDS and not _has_digit(token):
        index.fuzzy_cache[token] = result
    return result


# --------------------------------------------------------------------------- index building


def _build_lang_index(
    lang: str, articles: Sequence[Article], position: dict[str, int], glossary: Glossary
) -> _LangIndex:
    fields = [_article_fields(article) for article in articles]
    tokenised = [{name: tokenize(text) for name, text in doc.items()} for doc in fields]
    vocabulary, surface_words = _vocabulary(tokenised, lang)
    cache = _TokenCache(vocabulary, lang, glossary)
    counts = [
        {name: _field_terms(tokens, lang, glossary, cache) for name, tokens in doc.items()}
        for doc in tokenised
    ]
    doc_positions = [position[a.id] for a in articles]
    full = _field_index(counts, doc_positions, tuple(FIELD_WEIGHTS))
    cross = _field_index(counts, doc_positions, CROSS_FIELDS)
    buckets: dict[str, list[str]] = defaultdict(list)
    for word in sorted(w for w in vocabulary if len(w) >= MIN_FUZZY_LENGTH - 1 and w.isalpha()):
        buckets[word[0]].append(word)
    related = {position[a.id]: a.related for a in articles}
    surface = surface_words | STOP_WORDS.get(lang, frozenset())
    restore: dict[str, str] = {}
    for word in sorted(w for w in surface if not w.isascii()):
        plain = word.translate(_ASCII)
        if plain != word and plain not in surface:
            restore.setdefault(plain, word)
    domain_terms = {
        pos: frozenset(term for name in _DOMAIN_FIELDS for term in doc[name])
        for pos, doc in zip(doc_positions, counts, strict=True)
    }
    return _LangIndex(
        lang,
        full,
        cross,
        vocabulary,
        domain_terms,
        dict(buckets),
        related,
        surface,
        restore,
    )


def _article_fields(article: Article) -> dict[str, str]:
    return {
        "title": article.title,
        "questions": "\n".join(article.questions),
        "tags": "\n".join(article.tags),
        "body": article.body,
    }


def _vocabulary(
    tokenised: list[dict[str, list[str]]], lang: str
) -> tuple[frozenset[str], frozenset[str]]:
    """Surface words and their stems (without stop words): the parts compounds split into;
    and every surface word the articles use, stop words included."""
    surface: set[str] = set()
    for doc in tokenised:
        for tokens in doc.values():
            surface.update(tokens)
    words = {w for w in surface if len(w) >= 3 and not is_stop_word(w, lang)}
    return frozenset(words | {stem(w, lang) for w in words}), frozenset(surface)


# Per distinct document word: its stem, whether it is a stop word, its compound parts, the
# glossary terms of its stem (prefixed) and whether its stem may start a multi-word term.
_TokenInfo = tuple[str, bool, tuple[str, ...], tuple[str, ...], bool]


class _TokenCache:
    """What the index needs to know of each distinct document word (see ``_TokenInfo``).

    Computed once per word, so building an index costs little more than tokenising it.
    """

    def __init__(self, vocabulary: frozenset[str], lang: str, glossary: Glossary) -> None:
        self.vocabulary = vocabulary
        self.lang = lang
        self.info: dict[str, _TokenInfo] = {}
        # The stem of each word whose info is only that (no stop word, no compound parts,
        # no glossary term, no phrase start): most words, counted on a fast path.
        self.plain: dict[str, str] = {}
        self._single_keys = glossary.single_word_keys(lang)
        self._phrase_starts = glossary.phrase_first_stems(lang)

    def get(self, token: str) -> _TokenInfo:
        entry = self.info.get(token)
        if entry is None:
            parts = None
            if len(token) >= MIN_COMPOUND_LENGTH + 1 and token.isalpha():
                parts = split_compound(token, self.vocabulary, self.lang, min_part=4)
            term = stem(token, self.lang)
            keys = tuple(GLOSSARY_PREFIX + key for key in self._single_keys.get(term, ()))
            entry = (
                term,
                is_stop_word(token, self.lang),
                tuple(parts or ()),
                keys,
                term in self._phrase_starts,
            )
            self.info[token] = entry
            if not (entry[1] or entry[2] or entry[3] or entry[4]):
                self.plain[token] = term
        return entry


def _field_terms(
    tokens: list[str], lang: str, glossary: Glossary, cache: _TokenCache
) -> dict[str, float]:
    """Term frequencies of one field: stems, glossary concepts and compound parts."""
    counts: dict[str, float] = defaultdict(float)
    info, learn, plain = cache.info.get, cache.get, cache.plain.get
    may_match = False
    for token, n in Counter(tokens).items():
        only_stem = plain(token)
        if only_stem is not None:
            counts[only_stem] += n
            continue
        term, stop, parts, keys, phrase_start = info(token) or learn(token)
        if not stop:
            counts[term] += n
        for part in parts:
            counts[part] += n * COMPOUND_PART_WEIGHT_INDEX
        for key in keys:
            counts[key] += n * GLOSSARY_WEIGHT
        may_match = may_match or phrase_start
    if may_match:
        stemmed = list(map(itemgetter(0), map(cache.info.__getitem__, tokens)))
        for match in glossary.match(stemmed, lang, phrases_only=True):
            counts[GLOSSARY_PREFIX + match.key] += GLOSSARY_WEIGHT
    return counts


def inverse_document_frequency(n: int, df: int) -> float:
    """A smoothed IDF that stays clearly positive for terms found in most articles.

    A small knowledge base mentions its key terms (SIP, samtycke) in many articles; the
    classic BM25 IDF would almost zero them out even where they are in the title.
    """
    return math.log(1.0 + n / df)


def _field_index(
    counts: list[dict[str, dict[str, float]]], doc_positions: list[int], fields: Sequence[str]
) -> _FieldIndex:
    """Precompute BM25F weights idf(t) * tf'(k1 + 1)/(k1 + tf') for every (term, document)."""
    import numpy as np

    n = len(counts)
    lengths = [{name: sum(doc[name].values()) for name in fields} for doc in counts]
    averages = {
        name: (sum(doc[name] for doc in lengths) / n if n else 1.0) or 1.0 for name in fields
    }
    # Every (document, field, term, tf) in one flat run, documents in position order so that
    # every posting list comes out sorted; then numpy sums a term's fields per document (in
    # field order, as a loop would) and weighs all postings at once.
    terms: list[str] = []
    tfs: list[float] = []
    factors: list[float] = []
    sizes: list[int] = []
    positions: list[int] = []
    for i in sorted(range(n), key=doc_positions.__getitem__):
        for name in fields:
            field_counts = counts[i][name]
            norm = 1.0 - FIELD_B[name] + FIELD_B[name] * lengths[i][name] / averages[name]
            factors.append(FIELD_WEIGHTS[name] / norm)
            sizes.append(len(field_counts))
            positions.append(doc_positions[i])
            terms.extend(field_counts)
            tfs.extend(field_counts.values())
    # Term numbers in order of first appearance (the order of the postings dict).
    numbers = {term: number for number, term in enumerate(dict.fromkeys(terms))}
    term_of = np.fromiter(map(numbers.__getitem__, terms), dtype=np.int64, count=len(terms))
    doc_of = np.repeat(np.array(positions, dtype=np.int64), sizes)
    weighted = np.array(tfs, dtype=np.float64) * np.repeat(np.array(factors), sizes)
    span = max(doc_positions, default=0) + 1
    pairs, where = np.unique(term_of * span + doc_of, return_inverse=True)
    combined = np.bincount(where, weights=weighted, minlength=len(pairs))
    pair_terms, pair_docs = pairs // span, (pairs % span).astype(np.int32)
    starts = np.searchsorted(pair_terms, np.arange(len(numbers) + 1))
    idf = {
        term: inverse_document_frequency(n, int(starts[number + 1] - starts[number]))
        for term, number in numbers.items()
    }
    idf_values = np.fromiter(idf.values(), dtype=np.float64, count=len(idf))
    weights = np.repeat(idf_values, np.diff(starts)) * combined * (K1 + 1.0) / (K1 + combined)
    bounds = starts.tolist()
    postings: dict[str, tuple[IntArray, FloatArray]] = {
        term: (pair_docs[bounds[k] : bounds[k + 1]], weights[bounds[k] : bounds[k + 1]])
        for term, k in numbers.items()
    }
    return _FieldIndex(postings, idf, n)
