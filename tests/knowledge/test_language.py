"""Language choice: sv/en, Nordic to Swedish, other languages flagged, short text kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.language import detect_language


@pytest.mark.parametrize("text", ["SIP?", "ok", "tack", "EHT", "BBIC", "?", ""])
@pytest.mark.parametrize("preferred", ["sv", "en"])
def test_short_text_keeps_preferred_language(text: str, preferred: str) -> None:
    """Short or ambiguous messages are answered in the person's language."""
    decision = detect_language(text, preferred)
    assert decision.lang == preferred
    assert not decision.unsupported


def test_swedish_question_is_swedish_even_when_english_preferred() -> None:
    """A clear Swedish question overrides the preference."""
    assert detect_language("hur gör jag en orosanmälan för en elev", "en").lang == "sv"


def test_english_question_is_english_even_when_swedish_preferred() -> None:
    """A clear English question overrides the preference."""
    assert detect_language("how do I report a concern about a pupil", "sv").lang == "en"


def test_short_swedish_with_function_words_is_swedish() -> None:
    """Two Swedish function words are enough for a short question."""
    assert detect_language("vad är SIP", "en").lang == "sv"


@pytest.mark.parametrize(
    "text",
    [
        "Hvordan skal jeg sende en bekymringsmelding om en elev",
        "Hvordan laver jeg en underretning til kommunen om et barn",
    ],
)
def test_norwegian_and_danish_are_answered_in_swedish(text: str) -> None:
    """Norwegian and Danish are close enough to answer in Swedish."""
    decision = detect_language(text, "en")
    assert decision.lang == "sv"
    assert decision.detected in {"no", "da", "sv"}
    assert not decision.unsupported


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Wie melde ich eine Sorge um ein Kind beim Jugendamt", "de"),
        ("Mikä on SIP ja kuka sen tekee", "fi"),
        ("Comment signaler une inquiétude pour un enfant", "fr"),
    ],
)
def test_other_languages_are_unsupported(text: str, code: str) -> None:
    """A clearly foreign question is flagged and answered in the preferred language."""
    decision = detect_language(text, "en")
    assert decision == type(decision)("en", code, True)


def test_detection_is_deterministic() -> None:
    """The same text always gets the same decision."""
    text = "kan skolan kalla till sip utan soc"
    assert {detect_language(text, "en") for _ in range(5)} == {detect_language(text, "en")}


@given(st.text(max_size=120), st.sampled_from(["sv", "en"]))
def test_detect_language_never_raises(text: str, preferred: str) -> None:
    """Any text gives a supported answer language."""
    assert detect_language(text, preferred).lang in {"sv", "en"}
