"""Search, answers and the CLI on the real knowledge base."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.shell.cli.main import main
from knowledge.glossary import GlossaryError, parse_glossary
from knowledge.service import KnowledgeBase


@pytest.mark.parametrize(
    ("question", "lang", "expected"),
    [
        ("vem kallar till barnteamsmöte", "sv", {"roll-barnkontakt", "barnteam"}),
        ("behovskompasen områden", "sv", {"behovskompassen"}),
        ("samtyckesblankett för sip", "sv", {"samtycke"}),
        ("uppföljningsmöte hur ofta", "sv", {"uppfoljning-av-plan"}),
        ("Skottlandsmodellen", "sv", {"girfec"}),
        ("Dalslandsmodellen", "sv", {"backa-barnet-dalsland"}),
        ("named person", "en", {"roll-barnkontakt", "girfec"}),
    ],
)
def test_search_finds_the_article(
    kb: KnowledgeBase, question: str, lang: str, expected: set[str]
) -> None:
    """Stems, compounds, typos and glossary terms lead to the right article."""
    result = kb.index.search(question, lang)
    assert result.article_id in expected


@pytest.mark.parametrize(
    "question",
    ["vad blir det för väder", "recommend a movie", "hur bakar man kanelbullar"],
)
def test_off_topic_questions_abstain(kb: KnowledgeBase, question: str) -> None:
    """Questions outside the domain get no article."""
    answer = kb.answer(question, "sv")
    assert not answer.answered
    assert answer.article_id is None


def own_related(kb: KnowledgeBase, article_id: str) -> list[str]:
    """The first three of the (Swedish) article's own related ids."""
    article = kb.get(article_id, "sv")
    assert article is not None
    return list(article.related[:3])


def test_related_starts_with_the_articles_own_related(kb: KnowledgeBase) -> None:
    """related: the article's own related ids first, at most three."""
    assert kb.index.search("vad är en SIP", "sv").related == own_related(kb, "sip")


def test_emergency_answer_is_akut_lage_with_best_match_related(kb: KnowledgeBase) -> None:
    """An emergency gets akut-lage, with the ordinary best match as related[0]."""
    answer = kb.answer("ett barn är i fara just nu, ska jag göra en orosanmälan", "sv")
    assert answer.emergency
    assert answer.article_id == "akut-lage"
    assert answer.related[0] == "orosanmalan"


def test_emergency_answer_leaves_out_a_weak_match(kb: KnowledgeBase) -> None:
    """A weak ordinary match is not offered next to an emergency (only akut-lage's own)."""
    answer = kb.answer("han säger att han vill ta livet av sig", "sv")
    assert answer.emergency
    assert "det-goda-livet-i-dalsland" not in answer.related
    assert answer.related == own_related(kb, "akut-lage")


def test_unsupported_language_is_flagged_and_answered_in_preferred(kb: KnowledgeBase) -> None:
    """A German question is answered in the preferred language and flagged."""
    answer = kb.answer("Wie melde ich eine Sorge um ein Kind beim Jugendamt", "en")
    assert answer.unsupported_language
    assert answer.lang == "en"


def test_kb_accessors(kb: KnowledgeBase) -> None:
    """ids(), titles() and get() expose both languages."""
    assert "sip" in kb.ids()
    assert kb.titles("en")["sip"]
    sv, en = kb.get("sip", "sv"), kb.get("sip", "en")
    assert sv is not None and en is not None and sv.lang == "sv" and en.lang == "en"
    assert kb.get("nope", "sv") is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=150), st.sampled_from(["sv", "en"]))
def test_search_never_raises_and_confidence_is_bounded(
    kb: KnowledgeBase, question: str, lang: str
) -> None:
    """Any text can be searched; the confidence is in [0, 1]."""
    result = kb.index.search(question, lang)
    assert 0.0 <= result.confidence <= 1.0
    assert len(result.related) <= 3
    assert len(result.ranked) <= 5


def run_cli(args: list[str]) -> int:
    """Run ``dalsbot ARGS`` in this process."""
    return main(args)


def test_cli_ask_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`ask --json` prints one JSON object with the documented keys."""
    assert run_cli(["ask", "vad är en samordnad individuell plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "answered", "lang", "article_id", "title", "confidence", "related", "emergency",
        "safety_note", "intent", "topic", "text",
    }  # fmt: skip
    assert data["article_id"] == "sip"
    assert data["lang"] == "sv"
    assert "Källa: https://" in data["text"]


def test_cli_ask_abstains_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    """An off-topic English question gets the English "don't know" text."""
    assert run_cli(["ask", "recommend a movie", "--lang", "en", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] is False
    assert data["text"].startswith("I'm sorry, I don't know")


def test_cli_kb_check_passes_on_real_articles(capsys: pytest.CaptureFixture[str]) -> None:
    """`kb check` exits 0 when there are no errors."""
    assert run_cli(["kb", "check"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_words_without_swedish_letters_or_split_in_two_are_repaired(kb: KnowledgeBase) -> None:
    """ "orosanmalan" and "sam tycke" find the same article as the correctly spelled words."""
    from knowledge.search import repair_tokens
    from knowledge.text import tokenize

    index = kb.index._langs["sv"]
    assert repair_tokens(tokenize("nar ska man gora en orosanmalan"), index) == [
        "när", "ska", "man", "göra", "en", "orosanmälan",
    ]  # fmt: skip
    assert "samtycke" in repair_tokens(tokenize("sam tycke från barnet"), index)
    assert kb.answer("hur gor man en orosanmalan", "sv").article_id == "orosanmalan"


def test_two_questions_answer_the_first_and_offer_the_second(kb: KnowledgeBase) -> None:
    """The second question's article is the first related one."""
    answer = kb.answer("vad är en barnkontakt och vilka sitter i barnteamet?", "sv")
    assert answer.article_id == "roll-barnkontakt"
    assert answer.related[0] == "barnteam"


def test_long_message_is_searched_by_its_asking_sentence() -> None:
    """The situation is context; the sentence that asks is the question."""
    from knowledge.service import asking_part, split_questions

    text = (
        "Vi har en elev i sjuan som har varit borta nästan varje måndag sedan höstlovet och "
        "mentorn har pratat med eleven som säger att allt är bra. Rektor vill vänta. När "
        "måste skolan utreda frånvaron?"
    )
    assert asking_part(text) == "När måste skolan utreda frånvaron?"
    assert asking_part("när måste skolan utreda frånvaron?") is None
    assert split_questions("vem kallar till sip? och hur ofta följs den upp") == [
        "vem kallar till sip",
        "hur ofta följs den upp",
    ]


def test_word_caches_keep_the_split_and_no_word_with_a_digit(kb: KnowledgeBase) -> None:
    """A question word's compound split is kept (a question is analysed several times); a
    word holding a digit (a number, a reference) never is."""
    question = "Hur fungerar uppföljningsmötesplaneringen för ärende 2024anm1234?"
    first = kb.answer(question, "sv")
    assert kb.answer(question, "sv") == first
    kept = [key for index in kb.index._langs.values() for key in index.split_cache]
    assert any(token == "uppföljningsmötesplaneringen" for token, _, _ in kept)
    assert not any(char.isdigit() for token, term, _ in kept for char in token + term)
    typos = [token for index in kb.index._langs.values() for token in index.fuzzy_cache]
    assert not any(char.isdigit() for token in typos for char in token)


@pytest.mark.parametrize("cue", [r"(oro)\1", "(?i)oro"])
def test_a_cue_that_cannot_be_joined_with_the_others_is_refused_when_read(cue: str) -> None:
    """The glossary's cues are searched as one pattern: a numbered back-reference or an
    inline flag would change meaning or fail there, so the glossary is refused."""
    entry = {"key": "oro", "terms": ["oro"], "explain": {"sv": "a", "en": "b"}, "cues": [cue]}
    with pytest.raises(GlossaryError, match="bad cue pattern"):
        parse_glossary({"entries": [entry]}, "test")


def test_cues_match_as_one_pattern_and_one_per_entry() -> None:
    """Each entry whose cue matches is found, with its weight; no match, no key."""
    entries = [
        {"key": key, "terms": [key], "explain": {"sv": "a", "en": "b"}, "cues": cues}
        for key, cues in (("sip", [r"\bkalla(r)? till\b", "samordnad"]), ("oro", ["anmäl"]))
    ]
    glossary = parse_glossary({"entries": entries}, "test")
    assert glossary.cue_keys("Vem kallar till mötet?") == [("sip", 1.0)]
    assert glossary.cue_keys("samordnad plan, ska jag anmäla?") == [("sip", 1.0), ("oro", 1.0)]
    assert glossary.cue_keys("Hej") == []
