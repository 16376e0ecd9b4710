"""Greetings and thanks ("hej", "hallo", "tack!", "tack så mycket", "thanks", "hi"): a short
friendly reply in the person's language, before the knowledge base is asked and without a
trace in the question log.

Conservative on purpose: a message is small talk only when every word of it is a greeting,
a thanks or a way of addressing the bot ("hej Dalsbot!", "tusen tack 🙏"). "hej, vem kallar
till SIP?" has other words, so it is a question. The knowledge base has its own, wider small
talk (``knowledge/intents.yaml``: "ok", "trevlig helg"...), answered by its intent card.
"""

from __future__ import annotations

import enum
import re
from typing import Final


class SmallTalk(enum.Enum):
    """What a small-talk message says."""

    GREETING = "greeting"
    THANKS = "thanks"


# Longest phrases first within each list is not needed: matching tries every length.
GREETINGS: Final = frozenset(
    {
        "hej", "hejsan", "hejhej", "hej hej", "hallå", "hallo", "halloj", "tjena", "tjenare",
        "tja", "morsning", "god morgon", "godmorgon", "god dag", "goddag", "god eftermiddag",
        "god kväll", "hi", "hello", "hey", "hiya", "hi there", "good morning",
        "good afternoon", "good evening",
    }
)  # fmt: skip
THANKS: Final = frozenset(
    {
        "tack", "tackar", "tack tack", "tack så mycket", "tack så hemskt mycket", "tusen tack",
        "stort tack", "tack snälla", "tack för hjälpen", "tack för svaret", "thanks",
        "thank you", "thanks a lot", "thank you so much", "many thanks", "thx", "ty",
        "cheers", "thanks for the help", "thank you for the help", "thanks for the answer",
    }
)  # fmt: skip
# Words that only address someone or join two phrases ("hej Dalsbot", "hi there", "hej och
# tack"); they count only after a greeting or thanks.
ADDRESS: Final = frozenset(
    {"dalsbot", "bot", "boten", "där", "allihop", "there", "everyone", "all", "och", "and"}
)
MAX_WORDS: Final = 6
_LONGEST: Final = max(len(phrase.split()) for phrase in GREETINGS | THANKS)
_WORD: Final = re.compile(r"[^\W\d_]+")
# Anything but letters, emoji, punctuation and spaces (a digit, an @, a slash) is not small talk.
_OTHER: Final = re.compile(r"[\d@/#$%&*=+<>|\\]")


def small_talk(text: str) -> SmallTalk | None:
    """``THANKS`` or ``GREETING`` when ``text`` is nothing but thanks and greetings (and emoji,
    punctuation, the bot's name); None for anything else, which is a question."""
    if _OTHER.search(text):
        return None
    words = _WORD.findall(text.casefold())
    if not words or len(words) > MAX_WORDS:
        return None
    found: set[SmallTalk] = set()
    at = 0
    while at < len(words):
        for size in range(min(_LONGEST, len(words) - at), 0, -1):
            phrase = " ".join(words[at : at + size])
            if phrase in THANKS:
                found.add(SmallTalk.THANKS)
            elif phrase in GREETINGS:
                found.add(SmallTalk.GREETING)
            elif not (size == 1 and phrase in ADDRESS and found):
                continue
            at += size
            break
        else:
            return None
    if SmallTalk.THANKS in found:
        return SmallTalk.THANKS
    return SmallTalk.GREETING if found else None
