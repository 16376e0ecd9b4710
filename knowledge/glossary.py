"""The domain glossary: abbreviations and synonym groups used to expand index and query terms.

Each glossary entry is a concept with several surface terms. Text is matched against the
terms after tokenising and stemming, so inflected forms match too; a match yields the
concept's synthetic index term (``GLOSSARY_PREFIX + key``), which both articles and
questions receive. This is how "soc" meets "socialtjänsten" and "named person" meets the
Barnkontakt without flooding the query with every synonym.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, count, pairwise
from pathlib import Path
from typing import Any

from bot import yamlfile
from knowledge.patterns import PatternError, non_capturing
from knowledge.text import SUPPORTED_LANGS, normalize, stem, tokenize

GLOSSARY_PATH: Path = Path(__file__).resolve().parent / "glossary.yaml"
GLOSSARY_PREFIX = "§"


class GlossaryError(Exception):
    """The glossary file is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    """One concept: its key, the terms people use for it and a one-line explanation.

    ``expand`` says whether a question word may be expanded to the other terms (true for
    synonym groups, false for groups of merely related words). ``cues`` are regular
    expressions over the normalised question that signal the concept without naming it
    (question shapes such as "får X prata med Y" for information sharing); a matching cue
    adds the concept to the question with weight ``cue_weight``. ``place`` marks place
    names: they say where, not what, so they count for little in a question's coverage.
    """

    key: str
    terms: tuple[str, ...]
    explain: dict[str, str]
    expand: bool = True
    cues: tuple[re.Pattern[str], ...] = ()
    cue_weight: float = 1.0
    place: bool = False
    # The article whose topic this concept is ("samtycke" → samtycke): a question that names
    # the concept, first of all, is most likely about that article.
    article: str | None = None

    @property
    def index_term(self) -> str:
        """The synthetic index term that stands for this concept."""
        return GLOSSARY_PREFIX + self.key


@dataclass(frozen=True, slots=True)
class GlossaryMatch:
    """A glossary term found in a token sequence: start position, length and concept key."""

    start: int
    length: int
    key: str


def _joined(patterns: list[str]) -> re.Pattern[str]:
    """One pattern that matches where any of ``patterns`` does (groups made non-capturing)."""
    return re.compile("|".join(f"(?:{non_capturing(pattern)})" for pattern in patterns))


@dataclass(slots=True)
class Glossary:
    """All entries plus a phrase matcher over stemmed tokens, per language."""

    entries: dict[str, GlossaryEntry]
    generic_words: tuple[str, ...] = ()
    _generic: dict[str, frozenset[str]] = field(default_factory=dict)
    _phrases: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = field(default_factory=dict)
    _single: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _first: dict[str, frozenset[str]] = field(default_factory=dict)
    _single_keys: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _multi_first: dict[str, frozenset[str]] = field(default_factory=dict)
    # The multi-word terms alone, by their first two stems (``match(..., phrases_only=True)``).
    _multi_pairs: dict[str, dict[tuple[str, str], list[tuple[tuple[str, ...], str]]]] = field(
        default_factory=dict
    )
    # The cues of every entry as one pattern, and each entry's as one (see ``cue_keys``).
    _any_cue: re.Pattern[str] | None = None
    _entry_cues: tuple[tuple[str, float, re.Pattern[str]], ...] = ()

    def __post_init__(self) -> None:
        self._join_cues()
        for lang in SUPPORTED_LANGS:
            table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
            single: dict[str, dict[str, None]] = {key: {} for key in self.entries}
            for entry in self.entries.values():
                for term in entry.terms:
                    phrase = tuple(stem(tok, lang) for tok in tokenize(term))
                    if phrase:
                        table.setdefault(phrase[0], []).append((phrase, entry.key))
                    if entry.expand and len(phrase) == 1 and not phrase[0].isdigit():
                        single[entry.key][phrase[0]] = None
            for options in table.values():
                options.sort(key=lambda item: -len(item[0]))
            self._phrases[lang] = table
            self._first[lang] = frozenset(table)
            self._single_keys[lang] = {
                first: tuple(dict.fromkeys(key for phrase, key in options if len(phrase) == 1))
                for first, options in table.items()
                if any(len(phrase) == 1 for phrase, _ in options)
            }
            pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {}
            for options in table.values():  # longest first, as in the full table
                for phrase, key in options:
                    if len(phrase) > 1:
                        pairs.setdefault((phrase[0], phrase[1]), []).append((phrase, key))
            self._multi_pairs[lang] = pairs
            self._multi_first[lang] = frozenset(first for first, _ in pairs)
            self._single[lang] = {key: tuple(stems) for key, stems in single.items()}
            self._generic[lang] = frozenset(
                stem(tok, lang) for word in self.generic_words for tok in tokenize(word)
            )

    def match(
        self, stemmed: Sequence[str], lang: str, *, phrases_only: bool = False
    ) -> list[GlossaryMatch]:
        """Find glossary terms in a sequence of stems (longest match first at each position).

        With ``phrases_only`` only multi-word terms are matched.
        """
        found: list[GlossaryMatch] = []
        if phrases_only:
            pairs = self._multi_pairs.get(lang, {})
            following = pairwise(stemmed)
            for i in compress(count(), map(pairs.__contains__, following)):
                for phrase, key in pairs[(stemmed[i], stemmed[i + 1])]:
                    n = len(phrase)
                    if tuple(stemmed[i : i + n]) == phrase:
                        found.append(GlossaryMatch(i, n, key))
            return found
        table = self._phrases.get(lang, {})
        first_stems = self._first.get(lang, frozenset())
        for i in compress(count(), map(first_stems.__contains__, stemmed)):
            for phrase, key in table[stemmed[i]]:
                n = len(phrase)
                if tuple(stemmed[i : i + n]) == phrase:
                    found.append(GlossaryMatch(i, n, key))
        return found

    def _join_cues(self) -> None:
        """Join the cue patterns: one search finds whether any cue matches, then one per
        entry (instead of one per cue, about 60 for each part of every question). A pattern
        ``(?:a)|(?:b)`` matches where ``a`` or ``b`` does; every cue is checked to join when
        the glossary is read (``_parse_entry``)."""
        entries = [entry for entry in self.entries.values() if entry.cues]
        self._entry_cues = tuple(
            (entry.key, entry.cue_weight, _joined([cue.pattern for cue in entry.cues]))
            for entry in entries
        )
        if entries:
            self._any_cue = _joined([cue.pattern for entry in entries for cue in entry.cues])

    def cue_keys(self, question: str) -> list[tuple[str, float]]:
        """Concepts whose cue patterns match ``question``, with their cue weights."""
        text = normalize(question)
        if self._any_cue is None or self._any_cue.search(text) is None:
            return []
        return [(key, weight) for key, weight, cues in self._entry_cues if cues.search(text)]

    def is_place(self, key: str) -> bool:
        """Return True if concept ``key`` is a group of place names."""
        entry = self.entries.get(key)
        return entry is not None and entry.place

    def is_generic(self, stemmed: str, lang: str) -> bool:
        """Return True if the stem is a generic word (``generic`` in the glossary file).

        Generic words ("möte", "plan", "team", "tid", "öppet", "boka") occur in the domain's
        text but also in everyday questions about something else, so matching one is no
        evidence that a question is about the domain.
        """
        return stemmed in self._generic.get(lang, frozenset())

    def keys_for(self, stemmed: Sequence[str], lang: str) -> list[str]:
        """Return the concept keys found in ``stemmed``, each once, in order of appearance."""
        seen: dict[str, None] = {}
        for match in self.match(stemmed, lang):
            seen.setdefault(match.key, None)
        return list(seen)

    def single_word_keys(self, lang: str) -> dict[str, tuple[str, ...]]:
        """Stem → concept keys, for the one-word terms of ``lang``."""
        return self._single_keys.get(lang, {})

    def phrase_first_stems(self, lang: str) -> frozenset[str]:
        """Stems that can start a multi-word term in ``lang`` (a quick pre-check)."""
        return self._multi_first.get(lang, frozenset())

    def synonyms(self, key: str, lang: str) -> tuple[str, ...]:
        """The stems of the concept's one-word terms in ``lang`` (for query expansion)."""
        return self._single.get(lang, {}).get(key, ())

    def explain(self, key: str, lang: str) -> str | None:
        """Return the one-line explanation of concept ``key`` in ``lang``, if any."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        return entry.explain.get(lang) or entry.explain.get("sv")

    def lookup(self, text: str, lang: str) -> GlossaryEntry | None:
        """Return the entry whose term equals ``text`` as a whole (for glossary answers)."""
        stemmed = tuple(stem(tok, lang) for tok in tokenize(text))
        for phrase, key in self._phrases.get(lang, {}).get(stemmed[0] if stemmed else "", ()):
            if phrase == stemmed:
                return self.entries[key]
        return None


def parse_glossary(data: Any, source: str = "glossary") -> Glossary:
    """Build a Glossary from parsed YAML data; raise GlossaryError on malformed entries."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise GlossaryError(f"{source}: expected a mapping with a list 'entries'")
    entries: dict[str, GlossaryEntry] = {}
    for number, raw in enumerate(data["entries"], start=1):
        entry = _parse_entry(raw, f"{source}: entry {number}")
        if entry.key in entries:
            raise GlossaryError(f"{source}: entry {number}: duplicate key '{entry.key}'")
        entries[entry.key] = entry
    generic = data.get("generic", [])
    if not isinstance(generic, list) or not all(isinstance(word, str) for word in generic):
        raise GlossaryError(f"{source}: 'generic' must be a list of words")
    return Glossary(entries, tuple(generic))


def load_glossary(path: Path = GLOSSARY_PATH) -> Glossary:
    """Load the glossary YAML file at ``path``."""
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yamlfile.YAMLError) as exc:
        raise GlossaryError(f"{path}: cannot be loaded: {exc}") from exc
    return parse_glossary(data, str(path))


def _parse_entry(raw: Any, where: str) -> GlossaryEntry:
    if not isinstance(raw, dict):
        raise GlossaryError(f"{where}: must be a mapping")
    key, terms, explain = raw.get("key"), raw.get("terms"), raw.get("explain")
    if not isinstance(key, str) or not key:
        raise GlossaryError(f"{where}: 'key' must be a non-empty string")
    if not isinstance(terms, list) or not terms:
        raise GlossaryError(f"{where} ({key}): 'terms' must be a non-empty list")
    if not isinstance(explain, dict) or not all(
        isinstance(explain.get(x), str) for x in ("sv", "en")
    ):
        raise GlossaryError(f"{where} ({key}): 'explain' needs 'sv' and 'en' strings")
    cues = raw.get("cues", [])
    if not isinstance(cues, list) or not all(isinstance(cue, str) for cue in cues):
        raise GlossaryError(f"{where} ({key}): 'cues' must be a list of strings")
    try:
        patterns = tuple(re.compile(cue) for cue in cues)
        for cue in cues:  # joined with the others (Glossary._join_cues)
            _joined([cue])
    except (re.error, PatternError) as exc:
        raise GlossaryError(f"{where} ({key}): bad cue pattern: {exc}") from exc
    cue_weight = raw.get("cue_weight", 1.0)
    if not isinstance(cue_weight, int | float) or not 0 < cue_weight <= 5:
        raise GlossaryError(f"{where} ({key}): 'cue_weight' must be a number in (0, 5]")
    return GlossaryEntry(
        key=key,
        terms=tuple(str(term) for term in terms),
        explain={"sv": explain["sv"], "en": explain["en"]},
        expand=bool(raw.get("expand", True)),
        cues=patterns,
        cue_weight=float(cue_weight),
        place=bool(raw.get("place", False)),
        article=str(raw["article"]) if raw.get("article") else None,
    )
