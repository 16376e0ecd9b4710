"""What a message is before it is searched: small talk, a case question, off-topic, a question."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.intent import Kind, classify, load_intents
from knowledge.patterns import PatternError


@pytest.mark.parametrize(
    "text",
    [
        "hej",
        "Hej Dalsbot!",
        "tack!",
        "tusen tack 🙏",
        "god morgon",
        "thanks a lot",
        "ok",
        "👍",
        "takk",
    ],
)
def test_small_talk(text: str) -> None:
    """Greetings, thanks and reactions are small talk."""
    assert classify(text).kind is Kind.SMALLTALK


@pytest.mark.parametrize(
    "text",
    [
        "har soc öppnat utredning på killen i 5b",
        "vem är barnkontakt för tvillingarna i förskoleklassen",
        "kan du kolla om mamman har skrivit på samtycket",
        "what did soc say about the dad at the meeting last week?",
        "did the social worker call back the mother of the boy in 3a?",
    ],
)
def test_case_questions(text: str) -> None:
    """A particular child or family with a question about the case's status."""
    assert classify(text).kind is Kind.CASE


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("räknas sip-möten efter kl 17 som övertid?", "employment"),
        ("kan man få lönetillägg för att vara barnkontakt?", "employment"),
        ("får skolsköterskan ge ipren till en elev", "medical"),
        ("hur lägger man in en teamslänk i kallelsen i outlook", "it"),
        ("när är sportlovet i dals-ed 2026", "school-practical"),
        ("vem vann matchen i går", "sport"),
        ("hur jobbar trollhättan med skolnärvaro", "other-region"),
    ],
)
def test_off_topic_kinds(text: str, topic: str) -> None:
    """Questions outside the knowledge base are recognised by kind."""
    intent = classify(text)
    assert intent.kind is Kind.OFFTOPIC
    assert intent.topic == topic


@pytest.mark.parametrize(
    "text",
    [
        "hej, vem kallar till sip?",
        "tack för svaret, men hur ofta ska planen följas upp?",
        "vh vill dra tillbaka samtycket, vad händer då",
        "kan jag använda behovskompassen i utvecklingssamtalet med eleven",
        "familjen kom inte på uppföljningen, vad händer nu med planen?",
        "hon har varit borta varje måndag sen jullovet, hur går jag vidare?",
        "vem är barnkontakt för ett barn i förskolan",
    ],
)
def test_questions_stay_questions(text: str) -> None:
    """Domain questions with a greeting, a holiday or a person in them are still questions."""
    assert classify(text).kind is Kind.QUESTION


def test_a_malformed_intents_file_is_refused(tmp_path: Path) -> None:
    """Unknown kinds and unquoted YAML booleans are errors at load time."""
    bad = tmp_path / "intents.yaml"
    bad.write_text("offtopic:\n  weather: [regn]\n", encoding="utf-8")
    with pytest.raises(PatternError, match="weather"):
        load_intents(bad)
    bad.write_text("smalltalk: [hej, no]\n", encoding="utf-8")
    with pytest.raises(PatternError, match="quoted"):
        load_intents(bad)


@given(st.text(max_size=200))
def test_classify_never_raises(text: str) -> None:
    """Any text gets a kind."""
    assert isinstance(classify(text).kind, Kind)


def test_case_questions_that_name_a_child_are_not_stored_as_questions() -> None:
    """A first name with a class, or a child's plan or parent, is a case question."""
    for text in ("Är Lisa i 4b aktuell hos soc?", "Vad står det i Alvas SIP?"):
        assert classify(text).kind is Kind.CASE, text


@pytest.mark.parametrize(
    "text",
    [
        "ar det jag eller mentorn som ska folja upp Leos plan nasta vecka?",
        "When is the next barnteam meeting for Mohammed in 5B?",
        "Är det bestämt vem som blir stödsamordnare för familjen Karlsson?",
    ],
)
def test_a_named_child_with_a_plan_or_meeting_is_a_case(text: str) -> None:
    """Naming a child or family with their plan, meeting or report is their case."""
    assert classify(text).kind is Kind.CASE


@pytest.mark.parametrize(
    "text",
    ["vem ska följa upp planen?", "när ska barnteamet träffas?", "hur ger man samtycke?"],
)
def test_the_same_topics_without_a_name_are_questions(text: str) -> None:
    assert classify(text).kind is Kind.QUESTION
