"""Answer cards and article text for Telegram, as plain functions over the real knowledge base."""

from __future__ import annotations

import dataclasses

import pytest

from bot.i18n import format_date, t
from bot.kb_render import (
    MESSAGE_LIMIT,
    TELEGRAM_LIMIT,
    answer_card,
    articles_page,
    full_article,
    page_of,
    plain_article,
    split_message,
    title_sort_key,
)
from knowledge.service import KnowledgeBase


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
