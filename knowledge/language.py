"""Deterministic language choice for a question: Swedish, English, or an unsupported language.

``langdetect`` does the heavy lifting, restricted to the languages that matter and seeded so
that the same text always gets the same answer. Norwegian and Danish are answered in
Swedish. Short or ambiguous texts ("SIP?", "tack", "EHT") keep the person's preferred
language. Two cheap signals help langdetect on short, jargon-heavy questions: the Swedish
letters å/ä/ö and a vote of Swedish versus English function and domain words.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.text import SUPPORTED_LANGS, normalize

if TYPE_CHECKING:
    from langdetect.detector_factory import DetectorFactory

logger = logging.getLogger(__name__)

SCANDINAVIAN = frozenset({"sv", "no", "nb", "nn", "da"})
# Languages langdetect may choose from: ours, our neighbours, and common "other" languages
# in Swedish municipalities, so that a clearly foreign question is recognised as such.
CANDIDATE_LANGS: tuple[str, ...] = (
    "sv", "no", "da", "en", "de", "nl", "fi", "fr", "es", "it", "pt", "pl",
    "et", "tr", "ar", "fa", "so", "ru", "uk",
)  # fmt: skip

MIN_LETTERS = 12
MIN_WORDS = 5
MIN_PROBABILITY = 0.80
SEED = 0

_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_SPACE_RE = re.compile(r"\s+")


def _wordset(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set (for readable word lists)."""
    return frozenset(text.split())


# Function words and domain words that are strong evidence for one of our two languages.
# Words that exist in both (e.g. "plan", "team") are left out on purpose.
_SV_WORDS = _wordset(
    """
    och att det är som en ett på av för med till har inte om ska kan vi jag du man vad hur
    när vem vilka vilken varför där här men eller också bara mycket från efter under över
    hos utan mot mitt min vår våra deras hans hennes blir måste får gör göra finns vill
    behöver gäller någon något alla eleven elev barnet barnen skolan mötet möte vårdnadshavare
    vårdnadshavaren orosanmälan samtycke sekretess socialtjänsten socialtjänst elevhälsan
    skolfrånvaro frånvaro planen uppföljning barnkontakt barnkontakten stödsamordnare
    stödsamordnaren upptäckare upptäckaren behovskompassen rektor kommun kommunen
    förskola förskolan föräldrar föräldrarna mamma pappa socialjouren anmäla anmälan
    """
)
_EN_WORDS = _wordset(
    """
    the a an and or of to in on at for with from is are was be do does did have has can could
    should would will what which who when where why how this that these those my our your
    their his her it its not no any some there about need needs child children pupil pupils
    school meeting consent report concern guardian guardians parents support social services
    plan's named person lead professional wellbeing absence secrecy help call who's what's
    """
)


@dataclass(frozen=True, slots=True)
class LanguageDecision:
    """The answer language, the raw detected code (None if not detected) and whether the
    question was in a language Dalsbot does not support."""

    lang: str
    detected: str | None
    unsupported: bool


# English names of the Scottish model's concepts, which Swedish staff quote verbatim in
# Swedish sentences ("getting it right for every child kort förklaring"). They say nothing
# about the language of the question, so they are removed before detection (unless the
# question consists of nothing else).
_QUOTED_NAMES = (
    "getting it right for every child",
    "team around the child",
    "national practice model",
    "my world triangle",
    "resilience matrix",
    "wellbeing indicators",
    "wellbeing wheel",
    "lead professional",
    "named person",
)
_QUOTED_RE = re.compile(r"\b(" + "|".join(_QUOTED_NAMES) + r")s?\b")


def detect_language(text: str, preferred: str) -> LanguageDecision:
    """Choose the answer language for ``text``; ``preferred`` is used when unsure."""
    fallback = preferred if preferred in SUPPORTED_LANGS else "sv"
    normalised = normalize(text)
    stripped = _SPACE_RE.sub(" ", _QUOTED_RE.sub(" ", normalised)).strip()
    if stripped != normalised and _WORD_RE.search(stripped):
        normalised = text = stripped
    words = _WORD_RE.findall(normalised)
    letters = sum(len(w) for w in words)
    vote = _word_vote(words)
    if letters < MIN_LETTERS or len(words) < MIN_WORDS:
        return _decide_short(vote, fallback)
    probabilities = _probabilities(text)
    if not probabilities:
        return _decide_short(vote, fallback)
    return _decide(probabilities, vote, _has_swedish_letters(normalised, vote), fallback)


def _decide_short(vote: int, fallback: str) -> LanguageDecision:
    """Short text: only a clear word vote overrides the preferred language."""
    if vote >= 2:
        return LanguageDecision("sv", None, unsupported=False)
    if vote <= -2:
        return LanguageDecision("en", None, unsupported=False)
    return LanguageDecision(fallback, None, unsupported=False)


def _decide(
    probabilities: dict[str, float], vote: int, swedish_letters: bool, fallback: str
) -> LanguageDecision:
    top = max(probabilities, key=lambda code: probabilities[code])
    scandinavian = sum(p for code, p in probabilities.items() if code in SCANDINAVIAN)
    english = probabilities.get("en", 0.0)
    if scandinavian >= MIN_PROBABILITY and vote > -3:
        return LanguageDecision("sv", top, unsupported=False)
    if english >= MIN_PROBABILITY and vote < 3 and not (swedish_letters and vote > 0):
        return LanguageDecision("en", top, unsupported=False)
    clearly_other = top not in SCANDINAVIAN and top != "en"
    confident = probabilities[top] >= MIN_PROBABILITY
    if clearly_other and confident and abs(vote) < 2 and not swedish_letters:
        return LanguageDecision(fallback, top, unsupported=True)
    # langdetect is unsure (jargon, mixed text): fall back on the cheap signals.
    if vote >= 2 or (swedish_letters and vote >= 0):
        return LanguageDecision("sv", top, unsupported=False)
    if vote <= -2:
        return LanguageDecision("en", top, unsupported=False)
    if scandinavian > english and scandinavian >= 0.5:
        return LanguageDecision("sv", top, unsupported=False)
    if english > scandinavian and english >= 0.5:
        return LanguageDecision("en", top, unsupported=False)
    return LanguageDecision(fallback, top, unsupported=False)


def _word_vote(words: list[str]) -> int:
    """Swedish evidence minus English evidence, counted over the words of the text."""
    return sum((w in _SV_WORDS) - (w in _EN_WORDS) for w in words)


def _has_swedish_letters(normalised: str, vote: int) -> bool:
    """Å is Scandinavian; ä and ö (shared with Finnish and German) count only with a
    Swedish-leaning word vote."""
    if "å" in normalised:
        return True
    return vote > 0 and any(char in "äö" for char in normalised)


@lru_cache(maxsize=1)
def _factory() -> DetectorFactory:
    """A private langdetect factory that knows only CANDIDATE_LANGS (loaded once, with
    langdetect itself: at the first question, not at start-up)."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.seed = SEED
    profiles = [
        (Path(PROFILES_DIRECTORY) / code).read_text(encoding="utf-8") for code in CANDIDATE_LANGS
    ]
    factory.load_json_profile(profiles)
    return factory


@lru_cache(maxsize=2048)
def _probabilities(text: str) -> dict[str, float]:
    """langdetect's probabilities for ``text`` (deterministic: seeded, cached)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _factory().create()
    detector.append(text)
    try:
        return {item.lang: float(item.prob) for item in detector.get_probabilities()}
    except LangDetectException:
        logger.debug("langdetect found no features")
        return {}
