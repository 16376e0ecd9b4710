"""/kb_gaps as a work list: turn unanswered questions into knowledge, from a phone.

The list shows the unanswered questions of the last 30 days that no editor has handled, most
frequent first, each a button (and the articles with the most 👎 below). A question opens with
its choices:

- "➕ <article>": the nearest two or three articles by retrieval; a tap shows the exact text
  that will be saved, and "Save" adds it as an example question to that article. The
  revision goes up and this process rebuilds its index at once (the others within seconds),
  so the next person who asks it gets the answer.
- "📝 New article from the coordinator's reply" (when a coordinator answered the question
  after it was forwarded): the reply becomes the short answer of a proposed new article,
  shown before it is sent; another editor or an admin approves it.
- "🙈 Ignore": the question leaves the list (until someone asks it unanswered again).

Every text that would enter the knowledge base passes the personal-data guard again before
it is shown (a personnummer or a child's name is refused there) and once more when saved.
Only editors and admins may press; every button carries ids only and is checked again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from typing import Any, Final, Literal, TypeVar

from sqlmodel import Session
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.buttons import ButtonData, Page, RowId, Token
from bot.context import BotContext
from bot.i18n import Lang, as_lang, format_date, t, tn
from handlers.ask.render import localised
from handlers.ask.shared import knowledge_base
from handlers.common import (
    Pressed,
    authorise,
    checked_press,
    edit_or_send,
    first_press,
    keyboard,
    page_buttons,
    page_of,
    private_only,
    reply,
    shorten,
    user_lang,
)
from handlers.kb.buttons import KbDecideButton
from knowledge.check import MAX_SHORT_ANSWER
from storage.knowledge import articles as kb_articles
from storage.knowledge import store as kb_store
from storage.knowledge import verification
from storage.knowledge.verification import Gap, GapOutcome
from storage.people.models import Staff

logger = logging.getLogger(__name__)

PER_PAGE: Final = 5
# A question quoted on a button, and on the list's phone-sized message.
BUTTON_QUESTION: Final = 40
QUOTE_LIMIT: Final = 300
TITLE_LIMIT: Final = 80
ID_WORDS: Final = 6

Rows = list[list[tuple[str, str]]]
B = TypeVar("B", bound=ButtonData)
G = TypeVar("G", "GapButton", "GapArticleButton")


# -- buttons -----------------------------------------------------------------------------------


class GapListButton(ButtonData, prefix="kbgap"):
    """``kbgap:list:<page>``: the work list, a page at a time."""

    action: Literal["list"]
    page: Page


class GapButton(ButtonData, prefix="kbgap"):
    """``kbgap:open|ignore|reply|propose:<question log id>``: open a question of the list,
    ignore it, or show (and send) the proposal made from a coordinator's reply to it."""

    action: Literal["open", "ignore", "reply", "propose"]
    question_id: RowId


class GapArticleButton(ButtonData, prefix="kbgap"):
    """``kbgap:pick|save:<question log id>:<article id>``: show the example question that
    would be added to the article, or add it."""

    action: Literal["pick", "save"]
    question_id: RowId
    article_id: Token


# -- texts ---------------------------------------------------------------------------------------


def list_card(
    gaps: list[Gap],
    disliked: list[tuple[str, int, int]],
    titles: dict[str, str],
    lang: Lang,
    page: int,
) -> tuple[str, Rows]:
    """The work list: a title, a hint, the 👎 articles; one button per question."""
    lines = [t("kb.gaps.title", lang, days=kb_store.GAPS_DAYS)]
    lines.append(t("kb.gaps.hint", lang) if gaps else t("kb.gaps.none", lang))
    if disliked:
        lines += ["", t("kb.gaps.disliked_title", lang)]
        lines += [
            t("ask.gaps_disliked_row", lang, title=titles.get(a, a), down=down, up=up)
            for a, down, up in disliked
        ]
    shown, pages = page_of(gaps, page, PER_PAGE)
    rows: Rows = [
        [
            (
                t(
                    "kb.gaps.row_button",
                    lang,
                    count=gap.count,
                    question=shorten(gap.text, BUTTON_QUESTION),
                ),
                GapButton("open", gap.question_id).pack(),
            )
        ]
        for gap in shown
    ]
    page = min(max(page, 0), pages - 1)
    nav = page_buttons(page, pages, lang, lambda to: GapListButton("list", to).pack())
    if nav:
        rows.append(nav)
    return "\n".join(lines), rows


def question_card(
    gap: Gap,
    suggestions: list[tuple[str, str]],
    lang: Lang,
    tz_date: str,
    disliked_title: str | None = None,
) -> tuple[str, Rows]:
    """One question with its choices: the suggested articles, the coordinator's reply (if
    any), ignore, back."""
    lines = [
        t(
            "kb.gaps.question",
            lang,
            question=shorten(gap.text, QUOTE_LIMIT),
            times=tn("kb.gaps.times", gap.count, lang),
            date=tz_date,
        ),
    ]
    if disliked_title is not None:
        lines.append(t("kb.gaps.disliked_answer", lang, title=disliked_title))
    lines += [
        "",
        t("kb.gaps.suggest", lang) if suggestions else t("kb.gaps.no_suggestions", lang),
    ]
    rows: Rows = [
        [
            (
                shorten(t("kb.gaps.add_button", lang, title=title), 60),
                GapArticleButton("pick", gap.question_id, article_id).pack(),
            )
        ]
        for article_id, title in suggestions
    ]
    if gap.coordinator_question_id is not None:
        rows.append([(t("kb.gaps.reply_button", lang), GapButton("reply", gap.question_id).pack())])
    rows.append(
        [
            (t("kb.gaps.ignore_button", lang), GapButton("ignore", gap.question_id).pack()),
            (t("kb.gaps.back_button", lang), GapListButton("list", 0).pack()),
        ]
    )
    return "\n".join(lines), rows


def _back(gap: Gap, lang: Lang) -> Rows:
    return [[(t("kb.gaps.back_button", lang), GapButton("open", gap.question_id).pack())]]


def _to_list(lang: Lang) -> Rows:
    return [[(t("kb.gaps.back_button", lang), GapListButton("list", 0).pack())]]


# -- the list ------------------------------------------------------------------------------------


async def is_editor(context: BotContext, staff_id: int) -> bool:
    """Whether the staff member may work the list (editors and admins)."""
    return await context.db.run(lambda session: kb_articles.is_editor(session, staff_id))


async def show_list(update: Update, context: BotContext, staff: Staff, page: int = 0) -> None:
    """Send (or redraw) the work list for ``staff``."""
    lang = user_lang(update, context, staff)
    now = context.now()
    gaps, disliked = await context.db.run(
        lambda session: (
            verification.open_gaps(session, now=now),
            kb_store.disliked_articles(session, now=now),
        )
    )
    titles = knowledge_base(context).titles(lang)
    text, rows = list_card(gaps, disliked, titles, lang, page)
    await edit_or_send(update, text, keyboard(rows) if rows else None)


async def _editor_press(update: Update, context: BotContext, kind: type[B]) -> Pressed[B] | None:
    """A press by a registered editor or admin whose data is ``kind``; else refused."""
    press = await checked_press(update, context, kind)
    if press is None:
        return None
    if not await is_editor(context, press.staff_id):
        await press.query.answer(t("kb.gaps.editors_only", press.lang), show_alert=True)
        return None
    return press


async def turn_page(update: Update, context: BotContext) -> None:
    """◀/▶ and "Back" in the work list."""
    press = await _editor_press(update, context, GapListButton)
    if press is None:
        return
    await press.query.answer()
    await show_list(update, context, press.staff, press.data.page)


async def _open_gap(press: Pressed[Any], context: BotContext, question_id: int) -> Gap | None:
    """The open gap of the pressed button, or None with a "gone" alert."""
    now = context.now()
    gap = await context.db.run(
        lambda session: verification.gap_of(session, question_id=question_id, now=now)
    )
    if gap is None:
        await press.query.answer(t("kb.gaps.gone", press.lang), show_alert=True)
    return gap


async def _gap_press(
    update: Update, context: BotContext, kind: type[G], *, once: bool = False
) -> tuple[Pressed[G], Gap] | None:
    """An editor's press on a question's button and the question's open gap; None when the
    press is refused or the question has left the list. ``once``: for the buttons that save
    something, a second press of the same button is turned away (handlers.common.first_press)."""
    press = await _editor_press(update, context, kind)
    if press is None or (once and not await first_press(update, context)):
        return None
    gap = await _open_gap(press, context, press.data.question_id)
    return None if gap is None else (press, gap)


async def open_question(update: Update, context: BotContext) -> None:
    """A question of the list: the nearest articles as buttons, the reply, ignore."""
    pressed = await _gap_press(update, context, GapButton)
    if pressed is None:
        return
    press, gap = pressed
    await press.query.answer()
    kb = knowledge_base(context)
    ids = await asyncio.to_thread(
        verification.suggest_articles, kb, gap.text, gap.lang, gap.disliked_article
    )
    lang = press.lang
    suggestions = []
    for article_id in ids:
        article = localised(kb, article_id, lang)
        if article is not None:
            suggestions.append((article_id, article.title))
    day = format_date(gap.last_asked.astimezone(context.settings.tz).date(), lang)
    shown = localised(kb, gap.disliked_article, lang) if gap.disliked_article else None
    title = shown.title if shown is not None else None
    text, rows = question_card(gap, suggestions, lang, day, title)
    await edit_or_send(update, text, keyboard(rows))


def guard_problem(text: str, words: frozenset[str]) -> kb_articles.PersonalDataError | None:
    """Why ``text`` may not enter the knowledge base (the guard, again), or None."""
    return kb_articles.personal_data_in(text, words)


def refusal_text(problem: kb_articles.PersonalDataError, lang: Lang) -> str:
    """What the editor is told when the guard refuses a text (a personnummer, a child's name)."""
    if problem.key == "kb.refused_personnummer":
        return t("kb.gaps.personnummer", lang)
    return t("kb.gaps.refused_name", lang, word=problem.word)


async def _refusal(context: BotContext, text: str, lang: Lang) -> str | None:
    """The refusal to show for ``text`` (a personnummer, a child's name), or None."""
    words = await context.db.run(kb_articles.vocabulary)
    problem = guard_problem(text, words)
    return None if problem is None else refusal_text(problem, lang)


async def _show_refusal(
    update: Update, press: Pressed[Any], gap: Gap, problem: kb_articles.PersonalDataError
) -> None:
    """The guard refused the text on saving: say why, with the way back to the question."""
    await press.query.answer()
    text = refusal_text(problem, press.lang)
    await edit_or_send(update, text, keyboard(_back(gap, press.lang)))


async def pick_article(update: Update, context: BotContext) -> None:
    """ "➕ <article>": the exact example question that would be saved, to confirm."""
    pressed = await _gap_press(update, context, GapArticleButton)
    if pressed is None:
        return
    press, gap = pressed
    lang = press.lang
    article = localised(knowledge_base(context), press.data.article_id, gap.lang)
    if article is None:
        await press.query.answer(t("kb.gaps.gone", lang), show_alert=True)
        return
    await press.query.answer()
    refused = await _refusal(context, gap.text, lang)
    if refused is not None:
        logger.info("Gap question %s refused by the personal-data guard", gap.question_id)
        await edit_or_send(update, refused, keyboard(_back(gap, lang)))
        return
    save = GapArticleButton("save", gap.question_id, press.data.article_id).pack()
    rows = [[(t("kb.gaps.save_button", lang), save)], *_back(gap, lang)]
    text = t("kb.gaps.confirm_example", lang, title=article.title, question=gap.text)
    await edit_or_send(update, text, keyboard(rows))


async def save_example(update: Update, context: BotContext) -> None:
    """ "Save": the question becomes an example question of the article, live at once."""
    pressed = await _gap_press(update, context, GapArticleButton, once=True)
    if pressed is None:
        return
    press, gap = pressed
    lang, article_id, staff_id, now = (
        press.lang,
        press.data.article_id,
        press.staff_id,
        context.now(),
    )

    def save(session: Session) -> kb_articles.ExampleAdded:
        added = kb_articles.add_example_question(
            session,
            article_id=article_id,
            lang=gap.lang,
            text=gap.text,
            by_staff_id=staff_id,
            now=now,
            source_question_id=gap.question_id,
        )
        if added.status is not kb_articles.ExampleStatus.NO_ARTICLE:
            verification.mark_gap_done(
                session,
                text=gap.text,
                outcome=GapOutcome.EXAMPLE,
                by_staff_id=staff_id,
                now=now,
                article_id=article_id,
            )
        return added

    try:
        added = await context.db.run(save)
    except kb_articles.PersonalDataError as exc:
        await _show_refusal(update, press, gap, exc)
        return
    except kb_articles.ProposalError:
        await press.query.answer(t("kb.gaps.gone", lang), show_alert=True)
        return
    if added.status is kb_articles.ExampleStatus.NO_ARTICLE:
        await press.query.answer(t("kb.gaps.gone", lang), show_alert=True)
        return
    await press.query.answer()
    kb = knowledge_base(context)
    # Live at once here; the other processes see the new revision within seconds.
    await asyncio.to_thread(kb.refresh, force=True)
    article = localised(kb, article_id, gap.lang)
    title = article.title if article is not None else article_id
    text = t("kb.gaps.saved", lang, question=added.text or gap.text, title=title)
    await edit_or_send(update, text, keyboard(_to_list(lang)))
    logger.info("Gap question %s added as an example question of %s", gap.question_id, article_id)


async def ignore(update: Update, context: BotContext) -> None:
    """ "Ignore": the question leaves the list."""
    pressed = await _gap_press(update, context, GapButton)
    if pressed is None:
        return
    press, gap = pressed
    staff_id, now = press.staff_id, context.now()
    await context.db.run(
        lambda session: verification.mark_gap_done(
            session, text=gap.text, outcome=GapOutcome.IGNORED, by_staff_id=staff_id, now=now
        )
    )
    await press.query.answer(t("kb.gaps.ignored", press.lang))
    await show_list(update, context, press.staff)


# -- a new article from a coordinator's reply ---------------------------------------------------


def article_id_for(question: str, taken: set[str]) -> str:
    """A new article's id from its question: its first words without accents, joined by
    "-", not one of ``taken``."""
    plain = unicodedata.normalize("NFKD", question.lower()).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain)[:ID_WORDS] or ["fraga"]
    base = "-".join(words)[:36].strip("-") or "fraga"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def draft_of(question: str, answer: str) -> dict[str, object]:
    """The proposal a coordinator's reply becomes: the question as title and example
    question, the reply as the article's text. Its first paragraph is the short answer; one
    longer than an article's short answer may be (600 characters) is cut after the last
    whole sentence that fits, and the rest follows as the article's next paragraph, so
    nothing of the reply is lost and the article passes `kb check` once exported."""
    title = shorten(question.strip().rstrip("?").strip() or question, TITLE_LIMIT)
    text = answer.strip()
    first, _, rest = text.partition("\n\n")
    if len(first) > MAX_SHORT_ANSWER:
        window = first[:MAX_SHORT_ANSWER]
        cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "))
        cut = cut + 1 if cut > 0 else (window.rfind(" ") if " " in window else MAX_SHORT_ANSWER)
        first, rest = first[:cut].strip(), f"{first[cut:].strip()}\n\n{rest}".strip()
    body = f"{first}\n\n{rest}" if rest else first
    return {"title": title, "body": body, "questions": [question.strip()]}


async def _reply_of(press: Pressed[Any], context: BotContext, gap: Gap) -> tuple[str, str] | None:
    cq_id = gap.coordinator_question_id
    found = None
    if cq_id is not None:
        found = await context.db.run(
            lambda session: verification.coordinator_reply(session, coordinator_question_id=cq_id)
        )
    if found is None:
        await press.query.answer(t("kb.gaps.gone", press.lang), show_alert=True)
    return found


async def show_reply_draft(update: Update, context: BotContext) -> None:
    """ "New article from the coordinator's reply": the draft, exactly, to confirm."""
    pressed = await _gap_press(update, context, GapButton)
    if pressed is None:
        return
    press, gap = pressed
    found = await _reply_of(press, context, gap)
    if found is None:
        return
    await press.query.answer()
    question, answer = found
    lang = press.lang
    refused = await _refusal(context, f"{question}\n{answer}", lang)
    if refused is not None:
        await edit_or_send(update, refused, keyboard(_back(gap, lang)))
        return
    draft = draft_of(question, answer)
    text = t(
        "kb.gaps.confirm_article",
        lang,
        title=draft["title"],
        question=question.strip(),
        answer=shorten(answer.strip(), QUOTE_LIMIT * 2),
    )
    send = GapButton("propose", gap.question_id).pack()
    rows = [[(t("kb.gaps.propose_button", lang), send)], *_back(gap, lang)]
    await edit_or_send(update, text, keyboard(rows))


async def propose_from_reply(update: Update, context: BotContext) -> None:
    """ "Send the proposal": a new article, proposed; the other editors decide."""
    pressed = await _gap_press(update, context, GapButton, once=True)
    if pressed is None:
        return
    press, gap = pressed
    found = await _reply_of(press, context, gap)
    if found is None:
        return
    question, answer = found
    lang, staff_id, now = press.lang, press.staff_id, context.now()
    taken = set(knowledge_base(context).ids())

    def propose(session: Session) -> kb_articles.Version:
        version = kb_articles.propose(
            session,
            article_id=article_id_for(question, taken),
            lang=gap.lang,
            changes=draft_of(question, answer),
            by_staff_id=staff_id,
            now=now,
            note=None,
        )
        verification.mark_gap_done(
            session,
            text=gap.text,
            outcome=GapOutcome.ARTICLE,
            by_staff_id=staff_id,
            now=now,
            article_id=version.article_id,
        )
        return version

    try:
        version = await context.db.run(propose)
    except kb_articles.PersonalDataError as exc:
        await _show_refusal(update, press, gap, exc)
        return
    except kb_articles.ProposalError as exc:
        await press.query.answer(t(exc.key, lang), show_alert=True)
        return
    await press.query.answer()
    await edit_or_send(update, t("kb.gaps.proposed", lang), keyboard(_to_list(lang)))
    await announce_proposal(context, press.staff, version)
    logger.info("Gap question %s became proposal %s", gap.question_id, version.id)


async def announce_proposal(
    context: BotContext, proposer: Staff, version: kb_articles.Version
) -> None:
    """Tell the other editors and admins, with Approve / Reject (decided in
    handlers/kb/decide.py, like every proposal)."""
    approvers = await context.db.run(
        lambda session: kb_articles.editors(session, except_staff_id=version.created_by)
    )
    for approver in approvers:
        lang = as_lang(approver.language)
        text = t(
            "kb.gaps.proposal_incoming",
            lang,
            name=proposer.display_name,
            title=version.content.title,
            answer=shorten(version.content.short_answer, QUOTE_LIMIT * 2),
        )
        rows = [
            [
                (t("kb.approve_button", lang), KbDecideButton("ok", version.id).pack()),
                (t("kb.reject_button", lang), KbDecideButton("no", version.id).pack()),
            ]
        ]
        try:
            await context.bot.send_message(approver.telegram_id, text, reply_markup=keyboard(rows))
        except (Forbidden, BadRequest, NetworkError):
            logger.warning("Could not reach editor %s with a proposal", approver.id)


# -- wiring ------------------------------------------------------------------------------------


async def show_gaps(update: Update, context: BotContext) -> None:
    """/kb_gaps: the work list of unanswered questions, for editors and admins."""
    staff = await authorise(update, context)
    if staff is None:
        return
    if not await is_editor(context, staff.id or 0):
        await reply(update, t("kb.gaps.editors_only", user_lang(update, context, staff)))
        return
    await show_list(update, context, staff)


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/kb_gaps and the work list's buttons."""
    return [
        # The unanswered questions are for editors' eyes only, never a group's.
        CommandHandler("kb_gaps", private_only, ~filters.ChatType.PRIVATE),
        CommandHandler("kb_gaps", show_gaps, filters.ChatType.PRIVATE),
        CallbackQueryHandler(turn_page, pattern=GapListButton.matching()),
        CallbackQueryHandler(open_question, pattern=GapButton.matching(action="open")),
        CallbackQueryHandler(ignore, pattern=GapButton.matching(action="ignore")),
        CallbackQueryHandler(show_reply_draft, pattern=GapButton.matching(action="reply")),
        CallbackQueryHandler(propose_from_reply, pattern=GapButton.matching(action="propose")),
        CallbackQueryHandler(pick_article, pattern=GapArticleButton.matching(action="pick")),
        CallbackQueryHandler(save_example, pattern=GapArticleButton.matching(action="save")),
    ]
