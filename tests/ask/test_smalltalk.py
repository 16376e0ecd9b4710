"""The small-talk classifier: greetings and thanks, conservatively (a question is a question)."""

from __future__ import annotations

import pytest

from handlers.ask.smalltalk import SmallTalk, small_talk

GREETINGS = [
    "hej", "Hej!", "hallo", "Hallå där", "hejsan 👋", "hej hej", "God morgon!", "tjena",
    "hi", "Hello", "hey there", "hi all", "Hej Dalsbot", "good afternoon :)",
]  # fmt: skip
THANKS = [
    "tack", "tack!", "Tack så mycket", "tack så mycket!!", "tusen tack 🙏", "stort tack",
    "tackar", "tack för hjälpen", "Tack Dalsbot", "thanks", "Thanks!", "thank you so much",
    "thx", "hej och tack",
]  # fmt: skip
QUESTIONS = [
    "hej, vem kallar till SIP?",
    "Hej! Vem kallar till SIP?",
    "hej vad är ett barnteam",
    "tack, men vad gäller för samtycke?",
    "thanks, and who pays for the meeting?",
    "hi, what is GIRFEC?",
    "hej 19900101-0017",
    "hej /start",
    "SIP",
    "Dalsbot hej",
    "hej hej hej hej hej hej hej",
    "",
    "👍",
]


@pytest.mark.parametrize("text", GREETINGS)
def test_greetings_are_small_talk(text: str) -> None:
    """A message of greetings (and the bot's name, emoji, punctuation) is a greeting."""
    assert small_talk(text) is SmallTalk.GREETING


@pytest.mark.parametrize("text", THANKS)
def test_thanks_are_small_talk(text: str) -> None:
    """A message with thanks and nothing but small talk is thanks."""
    assert small_talk(text) is SmallTalk.THANKS


@pytest.mark.parametrize("text", QUESTIONS)
def test_anything_else_is_not_small_talk(text: str) -> None:
    """Other words, digits, a command or too many words: a question for the knowledge base."""
    assert small_talk(text) is None
