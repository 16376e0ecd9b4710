"""What a message is before it is searched: small talk, a case question, off-topic, a question."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.intent import Intent, Kind, classify, load_intents
from knowledge.patterns import PatternError

# Messages and the kind each one is.
KINDS = {
    # Greetings, thanks and reactions are small talk.
    Kind.SMALLTALK: [
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
    Kind.CASE: [
        # A particular child or family with a question about the case's status.
        "har soc öppnat utredning på killen i 5b",
        "vem är barnkontakt för tvillingarna i förskoleklassen",
        "kan du kolla om mamman har skrivit på samtycket",
        "what did soc say about the dad at the meeting last week?",
        "did the social worker call back the mother of the boy in 3a?",
        # A first name with a class, or a child's plan or parent.
        "Är Lisa i 4b aktuell hos soc?",
        "Vad står det i Alvas SIP?",
        # Naming a child or family with their plan, meeting or report is their case.
        "ar det jag eller mentorn som ska folja upp Leos plan nasta vecka?",
        "When is the next barnteam meeting for Mohammed in 5B?",
        "Är det bestämt vem som blir stödsamordnare för familjen Karlsson?",
    ],
    Kind.QUESTION: [
        # Domain questions with a greeting, a holiday or a person in them are still questions.
        "hej, vem kallar till sip?",
        "tack för svaret, men hur ofta ska planen följas upp?",
        "vh vill dra tillbaka samtycket, vad händer då",
        "kan jag använda behovskompassen i utvecklingssamtalet med eleven",
        "familjen kom inte på uppföljningen, vad händer nu med planen?",
        "hon har varit borta varje måndag sen jullovet, hur går jag vidare?",
        "vem är barnkontakt för ett barn i förskolan",
        # The same topics as the named cases above, without a name.
        "vem ska följa upp planen?",
        "när ska barnteamet träffas?",
        "hur ger man samtycke?",
    ],
}


@pytest.mark.parametrize(
    ("text", "kind"), [(text, kind) for kind, texts in KINDS.items() for text in texts]
)
def test_kind(text: str, kind: Kind) -> None:
    """Small talk, case questions (not stored as questions) and questions are told apart."""
    assert classify(text).kind is kind


# Questions outside the knowledge base, by the kind of topic they are recognised as.
OFF_TOPIC = {
    "employment": [
        "räknas sip-möten efter kl 17 som övertid?",
        "kan man få lönetillägg för att vara barnkontakt?",
    ],
    "medical": ["får skolsköterskan ge ipren till en elev"],
    "it": ["hur lägger man in en teamslänk i kallelsen i outlook"],
    "school-practical": ["när är sportlovet i dals-ed 2026"],
    "sport": ["vem vann matchen i går"],
    "other-region": ["hur jobbar trollhättan med skolnärvaro"],
}


@pytest.mark.parametrize(
    ("text", "topic"), [(text, topic) for topic, texts in OFF_TOPIC.items() for text in texts]
)
def test_off_topic_kinds(text: str, topic: str) -> None:
    """Questions outside the knowledge base are recognised by kind."""
    assert classify(text) == Intent(Kind.OFFTOPIC, topic)


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
