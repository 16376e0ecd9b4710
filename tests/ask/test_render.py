"""Answer cards and article text for Telegram, as plain functions over the real knowledge base."""

from __future__ import annotations

import dataclasses

import pytest

from bot.i18n import Lang, format_date, t
from handlers.ask.render import (
    MESSAGE_LIMIT,
    TELEGRAM_LIMIT,
    answer_card,
    articles_page,
    emergency_guidance,
    full_article,
    plain_article,
    split_message,
    title_sort_key,
)
from handlers.common import page_of
from knowledge.contacts import MAX_LABEL, Contact, LocalContacts
from knowledge.service import Answer, KnowledgeBase


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The real knowledge base, loaded once for this module."""
    return KnowledgeBase()


def test_plain_article_turns_headings_and_bullets_into_plain_lines() -> None:
    """`## ` headings become their own lines after a blank line; dashes become bullets."""
    body = "Kort svar.\n## Vem gör vad?\n- Barnkontakten\n- **Stödsamordnaren**\n1. Först"
    assert plain_article(body) == (
        "Kort svar.\n\nVem gör vad?\n• Barnkontakten\n• Stödsamordnaren\n1. Först"
    )


def test_split_message_cuts_between_paragraphs_under_the_limit() -> None:
    """Every part fits; no paragraph is cut when paragraphs fit; nothing is lost."""
    paragraphs = [f"Stycke {i}. " + "ord " * 150 for i in range(40)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) > 1
    assert all(len(part) <= MESSAGE_LIMIT < TELEGRAM_LIMIT for part in parts)
    assert "\n\n".join(parts).split("\n\n") == [p.strip() for p in paragraphs]


def test_split_message_cuts_an_overlong_paragraph_at_words() -> None:
    """A single paragraph longer than the limit is cut at spaces, still under the limit."""
    text = "ord " * 3000
    parts = split_message(text, limit=1000)
    assert all(len(part) <= 1000 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_swedish_sort_order_and_paging() -> None:
    """Å, Ä and Ö sort after Z, in that order; pages are clamped."""
    titles = ["Örat", "Ärendet", "Åtgärd", "Zebra", "Barn"]
    assert sorted(titles, key=title_sort_key) == ["Barn", "Zebra", "Åtgärd", "Ärendet", "Örat"]
    assert page_of(list(range(17)), 2, 8) == ([16], 3)
    assert page_of(list(range(17)), 9, 8) == ([16], 3)


def test_answer_card_has_title_short_answer_source_and_reviewed_date(kb: KnowledgeBase) -> None:
    """The card is short, names the first source with +N, and the reviewed date in words."""
    answer = kb.answer("vem kallar till SIP?", "sv")
    article = kb.get("sip", "sv")
    assert answer.article_id == "sip" and article is not None
    card = answer_card(kb, answer, log_id=7)
    assert card.text.startswith(f"📘 {article.title}\n\n{article.short_answer}")
    more = len(article.sources) - 1
    assert f"Källa: {article.sources[0]} (+{more} till)" in card.text
    assert card.text.endswith(f"Granskad {format_date(article.reviewed, 'sv')}")
    data = [data for row in card.rows for _label, data in row]
    assert data[0] == "kb:more:sip:sv"
    assert data[-3:] == ["kb:vote:7:up", "kb:vote:7:down", "kb:coord:7"]
    related = [d.split(":")[2] for d in data if d.startswith("kb:art:")]
    assert related == list(answer.related)[:3]
    assert all(len(d.encode()) <= 64 for d in data)


def test_full_article_of_a_long_body_splits_under_the_limit(kb: KnowledgeBase) -> None:
    """An article three times Telegram's limit is sent in parts, each under 4096."""
    article = kb.get("barnteam", "sv")
    assert article is not None
    long = dataclasses.replace(article, body=(article.body + "\n\n") * 6)
    parts = full_article(long, "sv")
    assert len(parts) >= 3 and all(len(p) < TELEGRAM_LIMIT for p in parts)
    assert not any(line.startswith("#") for p in parts for line in p.splitlines())
    assert parts[-1].endswith(
        t(
            "ask.article_reviewed",
            "sv",
            date=format_date(article.reviewed, "sv"),
            owner=article.owner,
        )
    )


def test_articles_page_lists_eight_titles_sorted_with_navigation(kb: KnowledgeBase) -> None:
    """Page one: eight topics in Swedish order and a "next" button only."""
    card = articles_page(kb, "sv", 0)
    titles = [label for row in card.rows[:-1] for label, _data in row]
    assert len(titles) == 8 and titles == sorted(titles, key=title_sort_key)
    assert card.rows[-1] == [(t("core.next_page", "sv"), "kb:page:1")]


# -- the emergency card's phone numbers and the safety footer ---------------------------------

# Fictional numbers (PTS reserves 070-174 06 05 to 070-174 06 99 for fiction).
MELLERUD = LocalContacts(
    "Mellerud",
    (
        Contact(
            "mottagning",
            {
                "sv": "Socialtjänsten, barn och unga (kontorstid)",
                "en": "Social services, children and young people (office hours)",
            },
            "070-174 06 10",
        ),
        Contact(
            "socialjour",
            {"sv": "Socialjouren (kvällar, nätter, helger)", "en": "Socialjouren (out of hours)"},
            "+46 70 174 06 11",
        ),
        Contact("barnkontakt", {"sv": "Barnkontakt/samordnare i Mellerud"}, "070-174 06 12"),
    ),
)
PLACEHOLDERS = ("fylls i", "namn, roll", "name, role", "to be filled", "telefon, e-post")


def emergency(lang: Lang, *, safety_note: bool = False) -> Answer:
    """The engine's answer to a clear emergency."""
    return Answer(
        answered=True,
        lang=lang,
        article_id="akut-lage",
        title=None,
        confidence=1.0,
        related=["orosanmalan"],
        emergency=True,
        unsupported_language=False,
        safety_note=safety_note,
    )


def test_emergency_card_shows_112_and_the_municipalitys_numbers_each_on_a_line(
    kb: KnowledgeBase,
) -> None:
    """Title, short answer, then 112 and every configured number with its label."""
    article = kb.get("akut-lage", "sv")
    assert article is not None
    card = answer_card(kb, emergency("sv"), log_id=3, local=MELLERUD)
    title, short, numbers, footer = card.text.split("\n\n")
    assert (title, short) == (f"🚨 {article.title}", article.short_answer)
    assert numbers.splitlines() == [
        "📞 Akut fara, och socialjouren utanför kontorstid: 112",
        "Nummer i Mellerud:",
        "📞 Socialtjänsten, barn och unga (kontorstid): 070-174 06 10",
        "📞 Socialjouren (kvällar, nätter, helger): +46 70 174 06 11",
        "📞 Barnkontakt/samordnare i Mellerud: 070-174 06 12",
    ]
    assert footer.endswith(f"Granskad {format_date(article.reviewed, 'sv')}")
    assert len(card.text) < 1200
    data = [data for row in card.rows for _label, data in row]
    assert data[:2] == ["kb:more:akut-lage:sv", "kb:art:orosanmalan:sv"]
    assert data[-3:] == ["kb:vote:3:up", "kb:vote:3:down", "kb:coord:3"]


def test_english_emergency_card_uses_english_labels_or_the_swedish_ones(
    kb: KnowledgeBase,
) -> None:
    """English labels where configured; a label given only in Swedish is shown as it is."""
    card = answer_card(kb, emergency("en"), log_id=3, local=MELLERUD)
    numbers = card.text.split("\n\n")[2]
    assert numbers.splitlines() == [
        t("ask.emergency_112", "en"),
        "Numbers in Mellerud:",
        "📞 Social services, children and young people (office hours): 070-174 06 10",
        "📞 Socialjouren (out of hours): +46 70 174 06 11",
        "📞 Barnkontakt/samordnare i Mellerud: 070-174 06 12",
    ]
    assert "112" in t("ask.emergency_112", "en")
    assert len(card.text) < 1200


def test_emergency_card_without_configured_numbers_shows_112_only(kb: KnowledgeBase) -> None:
    """No numbers for the municipality: 112 and the general text, nothing invented."""
    for lang in ("sv", "en"):
        card = answer_card(kb, emergency(lang), log_id=3, local=None)
        article = kb.get("akut-lage", lang)
        assert article is not None
        assert card.text.split("\n\n")[1:3] == [article.short_answer, t("ask.emergency_112", lang)]
        assert "Mellerud" not in card.text and "070" not in card.text


def test_someone_not_registered_gets_112_and_the_general_text(kb: KnowledgeBase) -> None:
    """Strangers' guidance: the short answer and 112, no municipality's numbers, no buttons."""
    guidance = emergency_guidance(kb, "sv")
    assert guidance is not None and guidance.rows == []
    assert (
        guidance.text.split("\n\n")[2] == "📞 Akut fara, och socialjouren utanför kontorstid: 112"
    )
    assert "Nummer i" not in guidance.text


def test_emergency_card_stays_phone_sized_with_the_longest_labels(kb: KnowledgeBase) -> None:
    """Three numbers with labels at the allowed maximum still fit well under 1,200 characters."""
    long = LocalContacts(
        "Färgelanda",
        tuple(
            Contact(kind, {"sv": "å" * MAX_LABEL, "en": "a" * MAX_LABEL}, "+46 70 174 06 99")
            for kind in ("mottagning", "socialjour", "barnkontakt")
        ),
    )
    for lang in ("sv", "en"):
        assert len(answer_card(kb, emergency(lang), log_id=1, local=long).text) < 1200


def test_no_placeholder_text_reaches_a_user_in_the_contact_articles(kb: KnowledgeBase) -> None:
    """The emergency card and the contacts article, card and full text, have no template text."""
    for lang in ("sv", "en"):
        texts = [answer_card(kb, emergency(lang), log_id=1).text]
        for article_id in ("akut-lage", "kontakter"):
            article = kb.get(article_id, lang)
            assert article is not None
            texts += full_article(article, lang)
        for text in texts:
            assert not [p for p in PLACEHOLDERS if p in text.lower()]


def test_a_possible_emergency_ends_the_article_card_with_the_safety_line(
    kb: KnowledgeBase,
) -> None:
    """safety_note: the ordinary card, buttons unchanged, and one last line about 112."""
    for lang, question in (("sv", "vem kallar till SIP?"), ("en", "who calls a SIP meeting?")):
        answer = kb.answer(question, lang)
        assert answer.answered and not answer.emergency
        plain = answer_card(kb, answer, log_id=5)
        flagged = answer_card(kb, dataclasses.replace(answer, safety_note=True), log_id=5)
        assert flagged.text == f"{plain.text}\n\n{t('ask.safety_note', lang)}"
        assert flagged.rows == plain.rows
        assert t("ask.safety_note", lang) not in plain.text
    assert t("ask.safety_note", "sv") == "⚠️ Är barnet i fara nu? Ring 112."
    assert t("ask.safety_note", "en") == "⚠️ Is the child in danger now? Call 112."


def test_a_possible_emergency_ends_the_i_dont_know_card_with_the_safety_line(
    kb: KnowledgeBase,
) -> None:
    """The abstention card too; the coordinator button stays last."""
    answer = Answer(
        answered=False,
        lang="sv",
        article_id=None,
        title=None,
        confidence=0.1,
        related=[],
        emergency=False,
        unsupported_language=False,
        safety_note=True,
    )
    card = answer_card(kb, answer, log_id=9)
    assert card.text.startswith(t("ask.dont_know", "sv"))
    assert card.text.endswith(
        f"{t('ask.dont_know_whom', 'sv')}\n\n⚠️ Är barnet i fara nu? Ring 112."
    )
    assert card.rows[-1] == [(t("ask.coordinator_button", "sv"), "kb:coord:9")]
    unflagged = answer_card(kb, dataclasses.replace(answer, safety_note=False), log_id=9)
    assert unflagged.text.endswith(t("ask.dont_know_whom", "sv"))


def test_the_emergency_card_has_no_separate_safety_line(kb: KnowledgeBase) -> None:
    """It already shows 112 first; the footer line is for ordinary answers only."""
    card = answer_card(kb, emergency("sv", safety_note=True), log_id=3, local=MELLERUD)
    assert t("ask.safety_note", "sv") not in card.text
