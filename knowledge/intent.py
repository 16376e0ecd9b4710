"""What kind of message this is, before the knowledge base is searched.

Three kinds of message must not be searched as questions, because a confident wrong article
is worse than an honest short reply:

* **small talk** ("hej", "tack!", "god morgon", "👍"): a short friendly reply;
* **a case question** about a particular child or family ("har soc öppnat utredning på
  killen i 5b"): Dalsbot cannot see case information, so it says whom to ask, and the
  question is not stored;
* **off-topic** questions of a known kind (the asker's own employment, medical advice, IT,
  school practicalities, local news and sport, other regions' own practice): a short reply
  that says what the bot can help with.

The phrases are data (``intents.yaml``), matched on the folded text like the emergency
signals. Everything else is a question for the knowledge base.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.patterns import WORD, PatternError, compile_words, fold, read_mapping, strings

INTENTS_PATH = Path(__file__).with_name("intents.yaml")
OFFTOPIC_KINDS: tuple[str, ...] = (
    "employment", "medical", "it", "school-practical", "local-news", "sport", "other-region",
)  # fmt: skip
# The topic of small talk that thanks (answered "you're welcome" rather than "hello").
THANKS = "thanks"
_THANKS = re.compile(r"(?<![a-z])(tack\w*|tak|takk|thanks?|thank you|thx|ty|cheers)(?![a-z])")
# Small talk is short: a longer message with a greeting in it is a question.
MAX_SMALLTALK_WORDS = 8


class Kind(enum.Enum):
    """What a message is."""

    QUESTION = "question"
    SMALLTALK = "smalltalk"
    CASE = "case"
    OFFTOPIC = "offtopic"


@dataclass(frozen=True, slots=True)
class Intent:
    """The kind of a message and, for an off-topic one, which kind of topic."""

    kind: Kind
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Intents:
    """The compiled phrase lists."""

    smalltalk: re.Pattern[str] | None
    case_person: re.Pattern[str] | None
    case_question: re.Pattern[str] | None
    case_names: re.Pattern[str] | None
    case_topic: re.Pattern[str] | None
    offtopic: tuple[tuple[str, re.Pattern[str]], ...]


def load_intents(path: Path = INTENTS_PATH) -> Intents:
    """Read and compile the intents file."""
    data = read_mapping(path)

    def compiled(key: str) -> re.Pattern[str] | None:
        return compile_words(strings(data.get(key), f"{path.name}: {key}"), key)

    raw_offtopic = data.get("offtopic") or {}
    if not isinstance(raw_offtopic, dict):
        raise PatternError(f"{path.name}: offtopic must be a mapping")
    offtopic: list[tuple[str, re.Pattern[str]]] = []
    for topic, patterns in raw_offtopic.items():
        if topic not in OFFTOPIC_KINDS:
            raise PatternError(f"{path.name}: unknown off-topic kind {topic!r}")
        pattern = compile_words(strings(patterns, f"{path.name}: {topic}"), topic)
        if pattern is not None:
            offtopic.append((topic, pattern))
    return Intents(
        smalltalk=compiled("smalltalk"),
        case_person=compiled("case_person"),
        case_question=compiled("case_question"),
        # A name also in its genitive ("Leos plan", "Almas SIP").
        case_names=compile_words(
            [f"({'|'.join(strings(data.get('case_names'), f'{path.name}: case_names'))})s?"],
            "case_names",
        )
        if data.get("case_names")
        else None,
        case_topic=compiled("case_topic"),
        offtopic=tuple(offtopic),
    )


@lru_cache(maxsize=1)
def default_intents() -> Intents:
    """The intents shipped with Dalsbot (loaded once)."""
    return load_intents()


def classify(text: str, intents: Intents | None = None) -> Intent:
    """The kind of ``text``: small talk, a case question, off-topic, or a question."""
    intents = intents or default_intents()
    folded = f" {fold(text)} "
    words = WORD.findall(folded)
    if not words:
        # Only emoji or punctuation ("👍", "!!"): a reaction, not a question.
        return Intent(Kind.SMALLTALK) if text.strip() else Intent(Kind.QUESTION)
    if intents.smalltalk is not None and len(words) <= MAX_SMALLTALK_WORDS:
        rest = WORD.findall(intents.smalltalk.sub(" ", folded))
        if not rest:
            thanks = _THANKS.search(folded) is not None
            return Intent(Kind.SMALLTALK, THANKS if thanks else None)
    # A question about a case and a particular person; or a named child or family and a
    # plan, meeting, report or consent: their case.
    if _all_found(folded, intents.case_question, intents.case_person) or _all_found(
        folded, intents.case_names, intents.case_topic
    ):
        return Intent(Kind.CASE)
    for topic, pattern in intents.offtopic:
        if pattern.search(folded):
            return Intent(Kind.OFFTOPIC, topic)
    return Intent(Kind.QUESTION)


def _all_found(folded: str, *patterns: re.Pattern[str] | None) -> bool:
    """True if every pattern is found in ``folded`` (None, an empty phrase list, never is)."""
    return all(pattern is not None and pattern.search(folded) for pattern in patterns)
