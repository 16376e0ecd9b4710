"""Answer cards and article text for Telegram (HTML), as plain functions over the real
knowledge base."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from bot.i18n import Lang, format_date, t
from handlers.ask.buttons import View
from handlers.ask.render import (
    CARD_LIMIT,
    MESSAGE_LIMIT,
    PHONE_LINES,
    TELEGRAM_LIMIT,
    CardSpec,
    answer_card,
    article_card,
    articles_page,
    emergency_guidance,
    expanded_article,
    html_article,
    inline_html,
    phone_lines,
    plain_article,
    split_message,
    telegram_length,
    title_sort_key,
    visible_text,
)
from handlers.common import page_of
from knowledge.articles import Article
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


def test_html_article_escapes_and_links_and_never_shows_a_raw_url() -> None:
    """Headings bold, < and & escaped, Markdown links and bare URLs as text links."""
    body = "## Vem <gör> vad?\n- Läs [riktlinjen](https://a.se/x?a=1&b=2) & https://www.b.se/y."
    assert html_article(body) == (
        "<b>Vem &lt;gör&gt; vad?</b>\n• Läs "
        '<a href="https://a.se/x?a=1&amp;b=2">riktlinjen</a> &amp; <a href="https://www.b.se/y">b.se</a>.'
    )
    assert inline_html("**viktigt** <b>") == "<b>viktigt</b> &lt;b&gt;"
    assert visible_text(html_article(body)) == "Vem <gör> vad?\n• Läs riktlinjen & b.se."


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
    """Bold title, the short answer, the first source as a text link with +N, the reviewed
    date in words; read more, 👍 👎 in one row and "More ▾" in the other."""
    answer = kb.answer("vem kallar till SIP?", "sv")
    article = kb.get("sip", "sv")
    assert answer.article_id == "sip" and article is not None
    card = answer_card(kb, answer, log_id=7)
    assert card.text.startswith(f"<b>📘 {article.title}</b>\n\n{article.short_answer}\n\n")
    more = len(article.sources) - 1
    link = f'<a href="{article.sources[0]}">socialstyrelsen.se</a>'
    assert f"🔗 Källa: {link} (+{more})" in card.text
    assert card.text.endswith(f"Granskad {format_date(article.reviewed, 'sv')}")
    lead = answer.related[0]
    assert card.rows == [
        [
            ("📖 Läs mer", f"kb:card:7:1:{lead}"),
            ("👍", "kb:vote:7:up"),
            ("👎", "kb:vote:7:down"),
        ],
        [("Fler val ▾", f"kb:card:7:2:{lead}")],
    ]


def test_every_card_is_phone_sized_and_every_article_fits_one_message(
    kb: KnowledgeBase,
) -> None:
    """Each article's card, in both languages (the emergency card too): at most 1,200
    characters and 15 phone lines; expanded, at most 4,096 after parsing, nothing cut."""
    for article_id in kb.ids():
        for lang in ("sv", "en"):
            article = kb.get(article_id, lang)
            if article is None:
                continue
            emergency = article_id == "akut-lage"
            card = CardSpec(article, lang, 1, emergency=emergency)
            text = article_card(kb, card).text
            assert len(text) <= CARD_LIMIT, article_id
            assert_folded_between_sentences(text, article)
            assert " ".join(visible_text(text).split()).count(article.short_answer[-30:]) == 1
            expanded = expanded_article(article, lang, emergency=emergency)
            assert telegram_length(expanded) <= MESSAGE_LIMIT
            assert t("ask.article_cut", lang) not in expanded
            assert "https://" not in visible_text(expanded)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (each ends with . ! ? or …)."""
    return [s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s]


def assert_folded_between_sentences(text: str, article: Article) -> None:
    """A card fits 15 phone lines, unless its short answer's first sentence alone needs more
    (then that sentence shows whole); a fold is always between sentences, nothing cut or
    marked with "…"; an emergency card folds nothing."""
    short = text.split("\n\n")[1] if text.startswith("<b>") else text.split("\n\n")[2]
    lead, _, rest = short.partition("\n<blockquote expandable>")
    lead, rest = visible_text(lead), visible_text(rest.removesuffix("</blockquote>"))
    assert f"{lead} {rest}".strip() == article.short_answer, article.id
    assert lead in [" ".join(sentences(article.short_answer)[:n]) for n in range(1, 40)]
    if article.id == "akut-lage":
        assert "blockquote" not in text
    elif phone_lines(text) > PHONE_LINES:
        assert lead == sentences(article.short_answer)[0], article.id


def test_a_long_short_answer_keeps_its_first_lines_and_folds_the_rest(kb: KnowledgeBase) -> None:
    """What does not fit 15 phone lines waits in an expandable blockquote, cut at a sentence."""
    article = Article(
        id="x",
        lang="sv",
        title="Titel",
        questions=(),
        tags=(),
        related=(),
        sources=("https://www.a.se/b",),
        owner="Ägare",
        reviewed=dt.date(2026, 1, 1),
        body="Text.",
        short_answer="Kort.",
        path=Path("x.md"),
    )
    long = dataclasses.replace(article, short_answer="En mening som är ganska lång här. " * 12)
    text = article_card(kb, CardSpec(long, "sv", 1)).text
    lead, rest = text.split("\n\n")[1].split("\n<blockquote expandable>")
    assert lead.endswith("här.") and rest.startswith("En mening") and phone_lines(text) <= 15


def test_menu_shows_related_coordinator_and_less(kb: KnowledgeBase) -> None:
    """With "More ▾" open: the related articles (the question's own first), the coordinator,
    "Less ▴"; expanded, the first button reads "Shorter". Every data fits 64 bytes."""
    answer = kb.answer("who calls a SIP meeting?", "en")
    card = answer_card(kb, answer, log_id=3)
    menu_data = card.rows[1][0][1]
    assert menu_data.startswith("kb:card:3:2:")
    spec = CardSpec(
        kb.get("sip", "en"),  # type: ignore[arg-type]
        "en",
        3,
        View.MENU | View.EXPANDED,
        lead=answer.related[0],
    )
    rows = article_card(kb, spec).rows
    labels = [label for row in rows for label, _data in row]
    assert labels[0] == "📕 Shorter" and labels[-2:] == ["🙋 Ask a coordinator", "▴ Less"]
    assert labels[3] == f"➡️ {kb.get(answer.related[0], 'en').title}"  # type: ignore[union-attr]
    assert all(len(data.encode()) <= 64 for row in rows for _label, data in row)
    browse = dataclasses.replace(spec, can_forward=False)
    assert "🙋 Ask a coordinator" not in [
        label for row in article_card(kb, browse).rows for label, _ in row
    ]


def test_expanded_article_of_a_long_body_is_cut_under_the_limit(kb: KnowledgeBase) -> None:
    """An article six times Telegram's limit is cut between paragraphs, marked, under 4096."""
    article = kb.get("barnteam", "sv")
    assert article is not None
    long = dataclasses.replace(article, body=(article.body + "\n\n") * 6)
    text = expanded_article(long, "sv")
    assert telegram_length(text) <= MESSAGE_LIMIT < TELEGRAM_LIMIT
    assert t("ask.article_cut", "sv") in text
    assert not any(line.startswith("#") for line in text.splitlines())
    assert text.endswith(
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
    title, short, numbers, footer = visible_text(card.text).split("\n\n")
    assert (title, " ".join(short.split())) == (f"🚨 {article.title}", article.short_answer)
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
    assert data == [
        "kb:card:3:1:orosanmalan",
        "kb:vote:3:up",
        "kb:vote:3:down",
        "kb:art:orosanmalan:sv",
        "kb:card:3:2:orosanmalan",
    ]


def test_english_emergency_card_uses_english_labels_or_the_swedish_ones(
    kb: KnowledgeBase,
) -> None:
    """English labels where configured; a label given only in Swedish is shown as it is."""
    card = answer_card(kb, emergency("en"), log_id=3, local=MELLERUD)
    numbers = visible_text(card.text).split("\n\n")[2]
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
        short, numbers = visible_text(card.text).split("\n\n")[1:3]
        assert (" ".join(short.split()), numbers) == (
            article.short_answer,
            t("ask.emergency_112", lang),
        )
        assert "Mellerud" not in card.text and "070" not in card.text


def test_someone_not_registered_gets_112_and_the_general_text(kb: KnowledgeBase) -> None:
    """Strangers' guidance: the short answer and 112, no municipality's numbers, no buttons."""
    guidance = emergency_guidance(kb, "sv")
    assert guidance is not None and guidance.rows == []
    assert (
        visible_text(guidance.text).split("\n\n")[2]
        == "📞 Akut fara, och socialjouren utanför kontorstid: 112"
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
            texts.append(expanded_article(article, lang))
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
        assert flagged.text.endswith(f"\n\n{t('ask.safety_note', lang)}")
        assert answer.article_id is not None
        article = kb.get(answer.article_id, lang)
        assert article is not None
        assert_folded_between_sentences(flagged.text, article)
        assert [[label for label, _ in row] for row in flagged.rows] == [
            [label for label, _ in row] for row in plain.rows
        ]
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
