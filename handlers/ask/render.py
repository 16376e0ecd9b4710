"""Knowledge-base answers as Telegram cards: plain text (no parse mode needed) and buttons.

Plain functions over the knowledge base's values, testable without Telegram. Articles are
Markdown with ``## `` sections and ``- `` lists; Telegram shows them as plain text, so
headings become their own lines and list dashes become bullets. Long texts are split at
paragraph boundaries under Telegram's 4096-character message limit. The buttons' data is
packed by the kinds in handlers/ask/buttons.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.i18n import LANGUAGES, Lang, as_lang, format_date, t
from handlers.ask.buttons import ArticleButton, ArticlesPageButton, ForwardButton, VoteButton
from handlers.common import page_buttons, page_of
from knowledge.articles import Article, KnowledgeBaseError
from knowledge.check import check_knowledge_base
from knowledge.contacts import LocalContacts
from knowledge.glossary import GlossaryError
from knowledge.intent import THANKS, Kind
from knowledge.service import EMERGENCY_ARTICLE_ID, Answer, KnowledgeBase

ARTICLES_PER_PAGE: Final = 8
MAX_RELATED: Final = 3
TELEGRAM_LIMIT: Final = 4096
# Headroom below the hard limit, so a part never hits it after Telegram's own counting.
MESSAGE_LIMIT: Final = 4000

_HEADING: Final = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET: Final = re.compile(r"^(\s*)[-*+]\s+")
_EMPHASIS: Final = re.compile(r"(\*\*|__)(.+?)\1")
_LINK: Final = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
# Swedish alphabetical order: å, ä, ö come after z (and in that order).
_SORT_MAP: Final = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})


Rows = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Card:
    """A message ready to send: text and rows of ``(label, callback_data)`` buttons."""

    text: str
    rows: Rows = field(default_factory=list)


def plain_article(body: str) -> str:
    """A Markdown article body as readable plain text."""
    lines: list[str] = []
    for raw in body.strip().splitlines():
        line = raw.rstrip()
        heading = _HEADING.match(line)
        if heading:
            if lines and lines[-1] != "":
                lines.append("")
            lines.append(heading.group(1))
            continue
        line = _BULLET.sub(lambda m: f"{m.group(1)}• ", line)
        line = _EMPHASIS.sub(r"\2", line)
        line = _LINK.sub(r"\1 (\2)", line)
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _hard_split(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text else parts


def _pack(pieces: Sequence[str], joiner: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = piece
    if current:
        parts.append(current)
    return parts


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut between paragraphs when possible."""
    pieces: list[str] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text.strip())):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        for line in _pack(paragraph.splitlines(), "\n", limit):
            pieces.extend(_hard_split(line, limit) if len(line) > limit else [line])
    return _pack(pieces, "\n\n", limit)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title_sort_key(title: str) -> str:
    """Sort key that puts titles in Swedish alphabetical order (å, ä, ö last)."""
    return title.casefold().translate(_SORT_MAP)


def localised(kb: KnowledgeBase, article_id: str, lang: str) -> Article | None:
    """The article in ``lang``, else in the other language."""
    for candidate in (lang, *LANGUAGES):
        article = kb.get(article_id, candidate)
        if article is not None:
            return article
    return None


def source_line(sources: tuple[str, ...] | list[str], lang: Lang) -> str | None:
    """The first source and how many more there are."""
    if not sources:
        return None
    if len(sources) == 1:
        return t("ask.source_one", lang, url=sources[0])
    return t("ask.source_more", lang, url=sources[0], more=len(sources) - 1)


def article_buttons(kb: KnowledgeBase, article_ids: list[str], lang: Lang) -> Rows:
    """One row per existing article, labelled with its title in ``lang``."""
    rows: Rows = []
    for article_id in article_ids:
        article = localised(kb, article_id, lang)
        if article is not None and len(rows) < MAX_RELATED:
            label = t("ask.related_button", lang, title=article.title)
            rows.append([(label, ArticleButton("art", article_id, lang).pack())])
    return rows


def article_card(
    kb: KnowledgeBase,
    article: Article,
    lang: Lang,
    *,
    log_id: int,
    related: list[str],
    emergency: bool = False,
    unsupported: bool = False,
    can_forward: bool = True,
    local: LocalContacts | None = None,
    safety_note: bool = False,
) -> Card:
    """The phone-sized answer: short answer, title, first source, reviewed date, buttons.

    An emergency card also lists the numbers to call (112, and ``local``'s configured ones);
    an ordinary card for a possible emergency (``safety_note``) ends with a line about 112.
    """
    text = article_text(
        article,
        lang,
        emergency=emergency,
        unsupported=unsupported,
        local=local,
        safety_note=safety_note,
    )
    rows = [[(t("ask.more_button", lang), ArticleButton("more", article.id, lang).pack())]]
    rows += article_buttons(kb, [r for r in related if r != article.id], lang)
    rows.append(
        [
            (t("ask.up_button", lang), VoteButton("vote", log_id, "up").pack()),
            (t("ask.down_button", lang), VoteButton("vote", log_id, "down").pack()),
        ]
    )
    if can_forward:
        rows.append([(t("ask.coordinator_button", lang), ForwardButton("coord", log_id).pack())])
    return Card(text, rows)


def article_text(
    article: Article,
    lang: Lang,
    *,
    emergency: bool = False,
    unsupported: bool = False,
    local: LocalContacts | None = None,
    safety_note: bool = False,
) -> str:
    """An answer card's text (see :func:`article_card`)."""
    parts = [t("ask.unsupported_note", lang)] if unsupported else []
    title_key = "ask.emergency_title" if emergency else "ask.card_title"
    parts.append(f"{t(title_key, lang, title=article.title)}\n\n{article.short_answer}")
    if emergency:
        parts.append(phone_numbers(local, lang))
    footer = [
        source_line(article.sources, lang),
        t("ask.reviewed", lang, date=format_date(article.reviewed, lang)),
    ]
    parts.append("\n".join(line for line in footer if line))
    if safety_note and not emergency:
        parts.append(t("ask.safety_note", lang))
    return "\n\n".join(parts)


def phone_numbers(local: LocalContacts | None, lang: Lang) -> str:
    """112 always, then the municipality's configured numbers, each on its own line.

    Only numbers an admin has put in the contacts file appear; Telegram makes them tappable.
    """
    lines = [t("ask.emergency_112", lang)]
    if local is not None:
        lines.append(t("ask.emergency_local", lang, municipality=local.municipality))
        lines += [
            t("ask.emergency_number", lang, label=entry.label(lang), phone=entry.phone)
            for entry in local.entries
        ]
    return "\n".join(lines)


def emergency_guidance(
    kb: KnowledgeBase, lang: Lang, local: LocalContacts | None = None
) -> Card | None:
    """The acute-danger card as text only, without buttons: for someone who is not
    registered, or beside a refused question (nothing is stored, so nothing to vote on)."""
    article = localised(kb, EMERGENCY_ARTICLE_ID, lang)
    if article is None:
        return None
    return Card(article_text(article, lang, emergency=True, local=local))


def intent_card(answer: Answer) -> Card:
    """The short reply to small talk, a case question or an off-topic question."""
    lang = as_lang(answer.lang)
    key = f"ask.{answer.intent}"
    if answer.intent == Kind.SMALLTALK.value and answer.topic == THANKS:
        key = "ask.smalltalk_thanks"
    parts = [t(key, lang)]
    if answer.safety_note:
        parts.append(t("ask.safety_note", lang))
    return Card("\n\n".join(parts))


def abstention_card(kb: KnowledgeBase, answer: Answer, lang: Lang, *, log_id: int) -> Card:
    """An honest "I don't know", near misses as buttons, whom to ask, and the coordinator button."""
    parts = [t("ask.unsupported_note", lang)] if answer.unsupported_language else []
    parts.append(t("ask.dont_know", lang))
    rows = article_buttons(kb, list(answer.suggestions), lang)
    if rows:
        parts.append(t("ask.dont_know_suggestions", lang))
    parts.append(t("ask.dont_know_whom", lang))
    if answer.safety_note:
        parts.append(t("ask.safety_note", lang))
    rows.append([(t("ask.coordinator_button", lang), ForwardButton("coord", log_id).pack())])
    return Card("\n\n".join(parts), rows)


def answer_card(
    kb: KnowledgeBase, answer: Answer, *, log_id: int, local: LocalContacts | None = None
) -> Card:
    """The card for one engine answer (emergency guidance first, or an article, or abstention).

    ``local`` is the asker's municipality's numbers, shown on an emergency card only.
    """
    lang = as_lang(answer.lang)
    article = localised(kb, answer.article_id, lang) if answer.article_id else None
    if not answer.answered or article is None:
        return abstention_card(kb, answer, lang, log_id=log_id)
    return article_card(
        kb,
        article,
        lang,
        log_id=log_id,
        related=list(answer.related),
        emergency=answer.emergency,
        unsupported=answer.unsupported_language,
        local=local,
        safety_note=answer.safety_note,
    )


def full_article(article: Article, lang: Lang) -> list[str]:
    """The whole article as plain-text messages under Telegram's limit."""
    sources = "\n".join(f"• {url}" for url in article.sources)
    text = "\n\n".join(
        [
            t("ask.card_title", lang, title=article.title),
            plain_article(article.body),
            f"{t('ask.article_sources', lang)}\n{sources}",
            t(
                "ask.article_reviewed",
                lang,
                date=format_date(article.reviewed, lang),
                owner=article.owner,
            ),
        ]
    )
    return split_message(text)


def articles_page(kb: KnowledgeBase, lang: Lang, page: int) -> Card:
    """One page of topics, sorted by title in ``lang``."""
    titles = sorted(kb.titles(lang).items(), key=lambda item: title_sort_key(item[1]))
    shown, pages = page_of(titles, page, ARTICLES_PER_PAGE)
    page = min(max(page, 0), pages - 1)
    rows = [[(title, ArticleButton("art", article_id, lang).pack())] for article_id, title in shown]
    nav = page_buttons(page, pages, lang, lambda to: ArticlesPageButton("page", to).pack())
    if nav:
        rows.append(nav)
    return Card(t("ask.articles_title", lang, page=page + 1, pages=pages), rows)


def reload_knowledge_base(kb: KnowledgeBase, today: dt.date) -> tuple[int | None, str, int]:
    """Check, then reload: ``(articles, "", warnings)`` or ``(None, first error, more errors)``.

    Runs in a worker thread. A knowledge base that fails the check is not loaded, so the
    bot keeps answering from the previous one.
    """
    report = check_knowledge_base(kb.root, today, kb.glossary_path)
    if report.errors:
        return None, report.errors[0], len(report.errors) - 1
    try:
        kb.reload()
    except (KnowledgeBaseError, GlossaryError, OSError, ValueError) as exc:
        return None, str(exc).splitlines()[0], 0
    return len(kb.ids()), "", len(report.warnings)
