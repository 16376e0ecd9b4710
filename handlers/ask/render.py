"""Knowledge-base answers as Telegram cards: HTML text (parse mode HTML) and buttons.

Plain functions over the knowledge base's values, testable without Telegram. Every value put
into a card goes through ``html.escape``. A card is phone-sized: a bold title, the short
answer (what does not fit about fifteen phone lines waits in an expandable blockquote, cut
between sentences; an emergency card folds nothing), the first source as a text link and
the reviewed date; two rows of buttons, more behind "More ▾".
"Read more" redraws the same message as the whole article (Markdown ``## `` sections and
``- `` lists as bold lines and bullets, every URL a text link), under Telegram's limit. The
buttons' data is packed by the kinds in handlers/ask/buttons.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urlsplit

from bot.i18n import LANGUAGES, Lang, as_lang, format_date, t, tn
from handlers.ask.buttons import (
    NO_LEAD,
    ArticleButton,
    ArticlesPageButton,
    CardButton,
    ForwardButton,
    View,
    VoteButton,
)
from handlers.common import page_buttons, page_of
from handlers.kb.buttons import KbOpenButton
from knowledge.articles import Article, KnowledgeBaseError
from knowledge.check import check_knowledge_base
from knowledge.contacts import LocalContacts
from knowledge.glossary import GlossaryError
from knowledge.intent import THANKS, Kind
from knowledge.service import EMERGENCY_ARTICLE_ID, Answer, KnowledgeBase
from storage.knowledge.verification import months_overdue

ARTICLES_PER_PAGE: Final = 8
MAX_RELATED: Final = 3
TELEGRAM_LIMIT: Final = 4096
# Headroom below the hard limit, so a part never hits it after Telegram's own counting.
MESSAGE_LIMIT: Final = 4000
# "Short by default": a card fits a phone screen, about 35 characters by 15 lines.
CARD_LIMIT: Final = 1200
PHONE_WIDTH: Final = 35
PHONE_LINES: Final = 15
# A collapsed expandable blockquote shows about three lines.
QUOTE_LINES: Final = 3
MIN_SHOWN_LINES: Final = 3

_HEADING: Final = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET: Final = re.compile(r"^(\s*)[-*+]\s+")
# Markdown links, bare URLs and bold, in one pass over the raw text.
_INLINE: Final = re.compile(
    r"\[(?P<label>[^\]]+)\]\((?P<href>https?://[^)\s]+)\)"
    r"|(?P<url>https?://[^\s<>()]+[^\s<>().,;:!?])"
    r"|(?P<mark>\*\*|__)(?P<bold>.+?)(?P=mark)"
)
_SENTENCE_END: Final = re.compile(r"(?<=[.!?…])\s+(?=\S)")
# Swedish alphabetical order: å, ä, ö come after z (and in that order).
_SORT_MAP: Final = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})


Rows = list[list[tuple[str, str]]]


def escape(text: str) -> str:
    """``text`` safe inside Telegram HTML (``<``, ``>``, ``&``; quotes stay as they are)."""
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class Card:
    """A message ready to send: HTML text and rows of ``(label, callback_data)`` buttons."""

    text: str
    rows: Rows = field(default_factory=list)


# -- measuring what the phone shows ----------------------------------------------------------


class _Visible(HTMLParser):
    """The text Telegram shows for an HTML message; expandable blockquotes kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.quotes: list[str] = []
        self._quote: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "blockquote" and any(name == "expandable" for name, _ in attrs):
            self._quote = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote" and self._quote is not None:
            self.quotes.append("".join(self._quote))
            self._quote = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if self._quote is not None:
            self._quote.append(data)


def visible_text(text: str) -> str:
    """What Telegram shows of an HTML text (tags gone, entities decoded)."""
    parser = _Visible()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def telegram_length(text: str) -> int:
    """The length Telegram checks against its limit: UTF-16 code units of the shown text."""
    return len(visible_text(text).encode("utf-16-le")) // 2


# Pure functions of the text: an answer card measures the same few texts again and again
# (textwrap was a tenth of the CPU of a question).
_MEASURED = 1024


@functools.lru_cache(maxsize=_MEASURED)
def _wrapped_lines(text: str) -> int:
    return sum(max(1, len(textwrap.wrap(line, PHONE_WIDTH))) for line in text.split("\n"))


@functools.lru_cache(maxsize=_MEASURED)
def phone_lines(text: str) -> int:
    """About how many lines an HTML text takes on a phone (35 characters a line), with each
    expandable blockquote counted as the three lines it shows while collapsed."""
    parser = _Visible()
    parser.feed(text)
    parser.close()
    lines = _wrapped_lines("".join(parser.parts))
    for quote in parser.quotes:
        lines -= max(0, _wrapped_lines(quote) - QUOTE_LINES)
    return lines


# -- article text as HTML --------------------------------------------------------------------


def _domain(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def text_link(url: str, label: str | None = None) -> str:
    """``url`` as a text link labelled ``label`` (its domain by default)."""
    shown = label if label is not None else _domain(url)
    return f'<a href="{html.escape(url, quote=True)}">{escape(shown)}</a>'


def inline_html(text: str) -> str:
    """One line of Markdown as escaped HTML: links and bare URLs as text links, bold as bold."""
    out: list[str] = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[last : match.start()]))
        if match.group("href"):
            out.append(text_link(match.group("href"), match.group("label")))
        elif match.group("url"):
            out.append(text_link(match.group("url")))
        else:
            out.append(f"<b>{escape(match.group('bold'))}</b>")
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def html_article(body: str) -> str:
    """A Markdown article body as Telegram HTML: headings bold on their own line after a blank
    one, list dashes as bullets, no raw URLs."""
    lines: list[str] = []
    for raw in body.strip().splitlines():
        line = raw.rstrip()
        heading = _HEADING.match(line)
        if heading:
            if lines and lines[-1] != "":
                lines.append("")
            lines.append(f"<b>{inline_html(heading.group(1))}</b>")
            continue
        lines.append(inline_html(_BULLET.sub(lambda m: f"{m.group(1)}• ", line)))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def plain_article(body: str) -> str:
    """A Markdown article body as readable plain text (what Telegram shows of
    :func:`html_article`)."""
    return visible_text(html_article(body))


# -- splitting long plain texts (a coordinator's reply, /kb_gaps) ----------------------------


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


# -- answer cards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardSpec:
    """Everything an answer card is drawn from; a button press rebuilds it from the logged
    question (its id, article, language, emergency) and the button's view and lead."""

    article: Article
    lang: Lang
    log_id: int
    view: View = View.NONE
    emergency: bool = False
    # The question's own first related article (an emergency's ordinary match, say).
    lead: str = NO_LEAD
    can_forward: bool = True
    local: LocalContacts | None = None
    # Today and the review interval: an article overdue for review says so (None: unmarked).
    today: dt.date | None = None
    review_days: int = 0
    # The reader is a knowledge-base editor: "More ▾" offers "Propose a change".
    can_edit: bool = False

    def button(self, view: View) -> str:
        """The data of a button that redraws this card as ``view``."""
        return CardButton("card", self.log_id, int(view), self.lead).pack()


def source_line(sources: tuple[str, ...] | list[str], lang: Lang) -> str | None:
    """The first source as a text link, and how many more there are."""
    if not sources:
        return None
    if len(sources) == 1:
        return t("ask.source_one", lang, source=text_link(sources[0]))
    return t("ask.source_more", lang, source=text_link(sources[0]), more=len(sources) - 1)


def reviewed_text(article: Article, lang: Lang, today: dt.date | None, review_days: int) -> str:
    """ "Reviewed <date>", or for an article overdue for review "Reviewed more than X months
    ago (<date>)" (X whole months since its review date)."""
    date = format_date(article.reviewed, lang)
    months = months_overdue(article.reviewed, review_days, today) if today and review_days else None
    if months is None:
        return t("ask.reviewed", lang, date=date)
    return tn("kb.verify.overdue", months, lang, date=date)


def _title(article: Article, lang: Lang, emergency: bool) -> str:
    key = "ask.emergency_title" if emergency else "ask.card_title"
    return f"<b>{t(key, lang, title=escape(article.title))}</b>"


@functools.lru_cache(maxsize=_MEASURED)
def _fit_short_answer(short: str, budget: int) -> str:
    """The short answer as escaped HTML; when it takes more than ``budget`` phone lines, its
    first whole sentences and the rest in an expandable blockquote (shown collapsed). A fold
    is only ever between sentences: a first sentence longer than the room shows whole."""
    if _wrapped_lines(short) <= budget:
        return escape(short)
    room = max(budget - QUOTE_LINES, MIN_SHOWN_LINES)
    sentences = _SENTENCE_END.split(short)
    shown = sentences[:1]
    for sentence in sentences[1:]:
        if _wrapped_lines(" ".join([*shown, sentence])) > room:
            break
        shown.append(sentence)
    rest = " ".join(sentences[len(shown) :])
    if not rest:
        return escape(short)
    return f"{escape(' '.join(shown))}\n<blockquote expandable>{escape(rest)}</blockquote>"


def card_text(spec: CardSpec) -> str:
    """An answer card's HTML text (see :func:`answer_card`); the expanded view is the article."""
    if View.EXPANDED in spec.view:
        return expanded_article(
            spec.article,
            spec.lang,
            emergency=spec.emergency,
            local=spec.local,
            today=spec.today,
            review_days=spec.review_days,
        )
    article, lang = spec.article, spec.lang
    head = [t("ask.unsupported_note", lang)] if View.UNSUPPORTED in spec.view else []
    head.append(_title(article, lang, spec.emergency))
    tail = []
    if spec.emergency:
        tail.append(phone_numbers(spec.local, lang))
    footer = [
        source_line(article.sources, lang),
        reviewed_text(article, lang, spec.today, spec.review_days),
    ]
    tail.append("\n".join(line for line in footer if line))
    if View.SAFETY in spec.view and not spec.emergency:
        tail.append(t("ask.safety_note", lang))
    if spec.emergency:
        # An emergency card folds nothing: every instruction is on the screen at once.
        short = escape(article.short_answer)
    else:
        fixed = phone_lines("\n\n".join([*head, *tail])) + 2  # two blank lines around it
        short = _fit_short_answer(article.short_answer, PHONE_LINES - fixed)
    return "\n\n".join([*head, short, *tail])


def card_rows(kb: KnowledgeBase, spec: CardSpec) -> Rows:
    """At most two rows: read more (or less), 👍 👎; then "More ▾" (an emergency's ordinary
    match beside it). "More ▾" shows the related articles, the coordinator and "Less ▴"."""
    lang, view = spec.lang, spec.view
    expanded = View.EXPANDED in view
    read = (
        (t("ask.less_button", lang), spec.button(view & ~View.EXPANDED))
        if expanded
        else (t("ask.more_button", lang), spec.button(view | View.EXPANDED))
    )
    rows: Rows = [
        [
            read,
            (t("ask.up_button", lang), VoteButton("vote", spec.log_id, "up").pack()),
            (t("ask.down_button", lang), VoteButton("vote", spec.log_id, "down").pack()),
        ]
    ]
    related = [spec.lead] if spec.lead != NO_LEAD else []
    related += [r for r in spec.article.related if r not in related]
    related = [r for r in related if r != spec.article.id]
    if View.MENU not in view:
        second = [(t("ask.menu_button", lang), spec.button(view | View.MENU))]
        if spec.emergency and spec.lead != NO_LEAD:
            second = article_buttons(kb, [spec.lead], lang)[0][:1] + second
        return [*rows, second]
    rows += article_buttons(kb, related, lang)
    if spec.can_forward:
        forward = ForwardButton("coord", spec.log_id).pack()
        rows.append([(t("ask.coordinator_button", lang), forward)])
    if spec.can_edit:
        edit = KbOpenButton(spec.article.id, spec.article.lang).pack()  # type: ignore[arg-type]
        rows.append([(t("kb.edit_button", lang), edit)])
    rows.append([(t("ask.menu_close_button", lang), spec.button(view & ~View.MENU))])
    return rows


def article_buttons(kb: KnowledgeBase, article_ids: list[str], lang: Lang) -> Rows:
    """One row per existing article, labelled with its title in ``lang``."""
    rows: Rows = []
    for article_id in article_ids:
        article = localised(kb, article_id, lang)
        if article is not None and len(rows) < MAX_RELATED:
            label = t("ask.related_button", lang, title=article.title)
            rows.append([(label, ArticleButton("art", article_id, lang).pack())])
    return rows


def article_card(kb: KnowledgeBase, spec: CardSpec) -> Card:
    """The card of ``spec``: text and buttons."""
    return Card(card_text(spec), card_rows(kb, spec))


def phone_numbers(local: LocalContacts | None, lang: Lang) -> str:
    """112 always, then the municipality's configured numbers, each on its own line.

    Only numbers an admin has put in the contacts file appear; Telegram makes them tappable.
    """
    lines = [t("ask.emergency_112", lang)]
    if local is not None:
        municipality = escape(local.municipality)
        lines.append(t("ask.emergency_local", lang, municipality=municipality))
        lines += [
            t(
                "ask.emergency_number",
                lang,
                label=escape(entry.label(lang)),
                phone=escape(entry.phone),
            )
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
    spec = CardSpec(article, lang, log_id=1, emergency=True, local=local)
    return Card(card_text(spec))


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


def answer_spec(
    kb: KnowledgeBase,
    answer: Answer,
    *,
    log_id: int,
    local: LocalContacts | None = None,
    today: dt.date | None = None,
    review_days: int = 0,
) -> CardSpec | None:
    """The card of one engine answer that found an article (None: it found none)."""
    lang = as_lang(answer.lang)
    article = localised(kb, answer.article_id, lang) if answer.article_id else None
    if not answer.answered or article is None:
        return None
    view = View.NONE
    if answer.safety_note:
        view |= View.SAFETY
    if answer.unsupported_language:
        view |= View.UNSUPPORTED
    lead = next((r for r in answer.related if r != article.id), NO_LEAD)
    return CardSpec(
        article,
        lang,
        log_id,
        view,
        emergency=answer.emergency,
        lead=lead,
        local=local,
        today=today,
        review_days=review_days,
    )


def answer_card(
    kb: KnowledgeBase,
    answer: Answer,
    *,
    log_id: int,
    local: LocalContacts | None = None,
    today: dt.date | None = None,
    review_days: int = 0,
) -> Card:
    """The card for one engine answer (emergency guidance first, or an article, or abstention).

    ``local`` is the asker's municipality's numbers, shown on an emergency card only; an
    article overdue for review on ``today`` (``review_days`` after its review) says so.
    """
    spec = answer_spec(kb, answer, log_id=log_id, local=local, today=today, review_days=review_days)
    if spec is None:
        return abstention_card(kb, answer, as_lang(answer.lang), log_id=log_id)
    return article_card(kb, spec)


def expanded_article(
    article: Article,
    lang: Lang,
    *,
    emergency: bool = False,
    local: LocalContacts | None = None,
    limit: int = MESSAGE_LIMIT,
    today: dt.date | None = None,
    review_days: int = 0,
) -> str:
    """The whole article in one HTML message under Telegram's limit: title, short answer (an
    emergency's numbers), the body, every source as a text link, reviewed date and owner. A
    body too long for one message is cut between paragraphs and says so."""
    head = [_title(article, lang, emergency), escape(article.short_answer)]
    if emergency:
        head.append(phone_numbers(local, lang))
    sources = " · ".join(text_link(url) for url in article.sources)
    date, owner = format_date(article.reviewed, lang), escape(article.owner)
    months = months_overdue(article.reviewed, review_days, today) if today and review_days else None
    reviewed = (
        t("ask.article_reviewed", lang, date=date, owner=owner)
        if months is None
        else tn("kb.verify.overdue_owner", months, lang, date=date, owner=owner)
    )
    tail = [t("ask.article_sources", lang, sources=sources) if sources else "", reviewed]
    tail = [part for part in tail if part]
    paragraphs = html_article(article.body).split("\n\n")
    if paragraphs and visible_text(paragraphs[0]).strip() == article.short_answer.strip():
        paragraphs = paragraphs[1:]  # the body opens with the short answer: shown once
    while paragraphs:
        text = "\n\n".join([*head, *paragraphs, *tail])
        if telegram_length(text) <= limit:
            return text
        paragraphs.pop()
        if paragraphs:
            paragraphs[-1] = f"{paragraphs[-1]}\n{t('ask.article_cut', lang)}"
    return "\n\n".join([*head, *tail])


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
