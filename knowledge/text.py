"""Text normalisation, tokenisation, stemming and Swedish compound splitting.

Everything here is a plain function over plain values so that the index and the query side
process text in exactly the same way. Stemming uses the Snowball stemmers: PyStemmer (the
Snowball C library) when it is installed, else the pure-Python ``snowballstemmer`` package,
which gives the same stems (a test checks the whole corpus); results are cached because the
same few thousand words recur constantly.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable
from functools import lru_cache
from itertools import chain

try:
    from Stemmer import Stemmer as _SnowballStemmer
except ImportError:  # pragma: no cover - PyStemmer is a dependency; this is the fallback
    from snowballstemmer import stemmer as _SnowballStemmer

SUPPORTED_LANGS: tuple[str, ...] = ("sv", "en")
# Longer "words" (URLs, pasted ids, key-mashes) are never split into compound parts.
MAX_COMPOUND_LENGTH = 40


def _wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set (for readable word lists)."""
    return frozenset(text.split())


# Norwegian and Danish letters are folded onto their Swedish twins so that a Norwegian
# "samtykke" or "fravær" can meet Swedish index terms; other accents are dropped.
_FOLD = str.maketrans({"æ": "ä", "ø": "ö", "é": "e", "è": "e", "ü": "u", "á": "a", "à": "a"})
_KEEP = frozenset("åäö")
_TOKEN_RE = re.compile(r"[a-z0-9åäö]+")
_SPACE_RE = re.compile(r"\s+")

STOP_WORDS: dict[str, frozenset[str]] = {
    "sv": _wordset(
        """
        och att det som en ett är i på av för med till den har de inte om ska kan vi
        jag du man han hon dem dom sig sin sitt sina vara var vad hur när vem vilka vilken
        vilket varför där här så men eller också bara då nu mycket många mer mest
        från efter under över vid hos eftersom innan sedan än utan mot genom
        min mitt mina din ditt dina vår vårt våra er ert era deras hans hennes
        denna detta dessa den det de blir bli blev skulle kunde måste får fick
        ha hade har gör göra gjorde ju väl nog ens även någon något några ingen inget
        alla allt varje sådan sådant sådana samma annan annat andra mig dig oss er
        eh hej hallo tack snälla typ liksom asså alltså nån nåt nåra hm
        finns fins vill behöver ni gäller egentligen iaf osv dvs
        förklara förklaring berätta kort kortfattat kortfattad undrar undra handlar
        information info snabbt
        går gå gick gått kommer igenom ifrån innebär betyder menas
        """
    ),
    "en": _wordset(
        """
        the a an and or but if of to in on at by for with from about as into than then
        is are was were be been being am do does did doing have has had having
        i me my we our you your he him his she her it its they them their this that
        these those what which who whom whose when where why how can could should would
        will shall may might must not no nor so too very just also any some all each
        there here up out over under again further once only own same other such more most
        get got please thanks thank hi hello hey ok okay yes there's what's whats
        explain tell briefly brief wondering wonder quick quickly info
        go goes going went gone mean means meant
        """
    ),
}
# Norwegian/Danish function words that otherwise end up as "content" after folding.
_NORDIC_STOP = _wordset(
    """
    hva hvordan hvem hvilke hvilken hvis ikke jeg vil skal kan må mitt min din dere
    eller også når som med til på av det den en et er og at hvor hvorfor nå noen noe
    trenger trengs fra gjör gjöre gjöres lave laver ha har hadde blir bli väre var mye
    mange mer kun bare sin sitt sine oss deg meg seg dem hun han vi i om
    """
)


def normalize(text: str) -> str:
    """Return ``text`` lower-cased, NFKC-normalised, accent-folded and with single spaces.

    Swedish å, ä and ö are kept; Norwegian/Danish æ and ø become ä and ö.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    unseen = set(text) - _SEEN_CHARS
    if unseen:
        _learn_chars(unseen)
    return _SPACE_RE.sub(" ", text.translate(_CHAR_TABLE)).strip()


# Per-character folding is computed once per distinct character and then applied with
# str.translate, which keeps normalisation fast when indexing thousands of articles.
_CHAR_TABLE: dict[int, str] = {}
_SEEN_CHARS: set[str] = set()
_MAX_SEEN_CHARS = 200_000


def _fold_char(char: str) -> str:
    char = char.translate(_FOLD)
    if char in _KEEP:
        return char
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


def _learn_chars(chars: set[str]) -> None:
    if len(_SEEN_CHARS) > _MAX_SEEN_CHARS:
        _SEEN_CHARS.clear()
        _CHAR_TABLE.clear()
    for char in chars:
        folded = _fold_char(char)
        if folded != char:
            _CHAR_TABLE[ord(char)] = folded
        _SEEN_CHARS.add(char)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into normalised word tokens (letters and digits only).

    Equivalent to ``_TOKEN_RE.findall(normalize(text))`` but folds each distinct raw word
    once (cached), which matters when indexing thousands of articles.
    """
    cache = _RAW_TOKEN_CACHE
    raws = _RAW_WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())
    words = list(map(cache.get, raws))  # each raw word's tokens, None where not yet seen
    if None in words:
        for i, folded in enumerate(words):
            if folded is None:
                raw = raws[i]
                words[i] = folded = tuple(_TOKEN_RE.findall(normalize(raw)))
                if len(cache) < _MAX_RAW_TOKENS:
                    cache[raw] = folded
    return list(chain.from_iterable(words))  # type: ignore[arg-type]


_RAW_WORD_RE = re.compile(r"[^\W_]+")
_RAW_TOKEN_CACHE: dict[str, tuple[str, ...]] = {}
_MAX_RAW_TOKENS = 500_000


def is_stop_word(token: str, lang: str) -> bool:
    """Return True if ``token`` is a stop word in ``lang`` (Nordic function words included)."""
    if lang == "sv" and token in _NORDIC_STOP:
        return True
    return token in STOP_WORDS.get(lang, frozenset())


def content_tokens(text: str, lang: str) -> list[str]:
    """Return the tokens of ``text`` without stop words of ``lang``."""
    return [tok for tok in tokenize(text) if not is_stop_word(tok, lang)]


_LOCAL = threading.local()


def _stemmer(lang: str) -> Callable[[str], str]:
    """This thread's stemmer for ``lang``: a Snowball stemmer keeps state while it works, so
    questions answered in parallel worker threads must not share one."""
    stemmers: dict[str, Callable[[str], str]] = getattr(_LOCAL, "stemmers", None) or {}
    if lang not in stemmers:
        name = "swedish" if lang == "sv" else "english"
        stemmers[lang] = _SnowballStemmer(name).stemWord
        _LOCAL.stemmers = stemmers
    return stemmers[lang]


# Light extra rules after Snowball: Swedish definite neuter ("barnet", "samtycket") and
# genitive forms are left alone by the Snowball stemmer, which splits "barnet" from "barn".
_SV_EXTRA_SUFFIXES: tuple[str, ...] = ("ets", "et", "ns")


# Snowball over-stems a few Swedish nouns onto a verb of another meaning: "kallelse" (the
# invitation) became "kall", the stem of "kallar" (who calls the meeting). Exceptions: the
# noun's forms share their own stem.
_SV_STEM_EXCEPTIONS: dict[str, str] = {
    form: "kallels" for form in ("kallelse", "kallelsen", "kallelser", "kallelserna")
}


@lru_cache(maxsize=65536)
def stem(token: str, lang: str) -> str:
    """Return the stem of a normalised ``token`` in ``lang`` ("sv" or "en")."""
    if token.isdigit() or len(token) < 3:
        return token
    if lang == "sv" and token in _SV_STEM_EXCEPTIONS:
        return _SV_STEM_EXCEPTIONS[token]
    result: str = _stemmer(lang)(token)
    if lang == "sv":
        for suffix in _SV_EXTRA_SUFFIXES:
            if result.endswith(suffix) and len(result) - len(suffix) >= 4:
                result = result[: -len(suffix)]
                break
    return result


def stems(tokens: Iterable[str], lang: str) -> list[str]:
    """Stem every token of ``tokens`` in ``lang``."""
    return [stem(tok, lang) for tok in tokens]


# Swedish compounds join their parts directly or with a linking -s- or -e-
# ("uppföljning-s-möte", "samtycke-s-blankett", "barn-e-..."). Norwegian uses -e- too.
_LINKING = ("s", "e")


def split_compound(
    word: str,
    vocabulary: Collection[str],
    lang: str = "sv",
    min_part: int = 3,
    stem_parts: bool = False,
) -> list[str] | None:
    """Split ``word`` into known parts, or return None when no full split exists.

    A part is known when it is in ``vocabulary`` (surface words and stems of the index).
    Linking -s-/-e- between parts is allowed. Among all splits the one with the fewest
    parts wins (ties: the one whose shortest part is longest), found by dynamic
    programming. The returned parts are stems. With ``stem_parts`` a part also counts as
    known when its stem is in the vocabulary ("upptäckar-" → "upptäck"); that is slower,
    so it is meant for the few unknown words of a question, not for index building.
    """
    n = len(word)
    # The split is quadratic in the word's length: a pasted URL or a key-mash is no compound.
    if n < 2 * min_part or n > MAX_COMPOUND_LENGTH:
        return None
    # best[i]: (parts, shortest part length) of the best split of word[i:], or None.
    best: list[tuple[list[str], int] | None] = [None] * (n + 1)
    best[n] = ([], n)
    for start in range(n - min_part, -1, -1):
        candidate: tuple[list[str], int] | None = None
        for end in range(n, start + min_part - 1, -1):
            if start == 0 and end == n:
                continue  # the word itself is not a split
            known = _known_part(word[start:end], vocabulary, lang, stem_parts)
            if known is None:
                continue
            for nxt in _next_starts(word, end):
                rest = best[nxt]
                if rest is None:
                    continue
                option = ([known, *rest[0]], min(end - start, rest[1]))
                if candidate is None or _better(option, candidate):
                    candidate = option
        best[start] = candidate
    result = best[0]
    if result is None or len(result[0]) < 2:
        return None
    return result[0]


def _better(option: tuple[list[str], int], current: tuple[list[str], int]) -> bool:
    """Fewer parts win; among equally many, the split whose shortest part is longest."""
    return (len(option[0]), -option[1]) < (len(current[0]), -current[1])


def _next_starts(word: str, end: int) -> list[int]:
    """Positions where the next part may start after a part ending at ``end``."""
    starts = [end]
    if end < len(word) - 1 and word[end] in _LINKING:
        starts.append(end + 1)
    return starts


def _known_part(part: str, vocabulary: Collection[str], lang: str, stem_parts: bool) -> str | None:
    if part in vocabulary:
        return stem(part, lang)
    if stem_parts:
        stemmed = stem(part, lang)
        if stemmed in vocabulary:
            return stemmed
    return None
