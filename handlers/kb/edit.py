"""An editor changes an article from a phone: /kb_artikel (or an article's ✏️ button) opens
the article's card; a tap chooses what to change (short answer, title, a question to add or
remove); typed text passes the personal-data guard; a preview shows the change; "send" stores
it as a proposal and the other editors and admins get it with Approve / Reject
(handlers/kb/decide.py). Nothing reaches users until someone else approves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final, TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    filters,
)

from bot.context import BotContext
from bot.i18n import Lang, as_lang, format_date, t, tn
from bot.state import flow_draft
from handlers.common import (
    COORDINATORS,
    STAFF_ROLES,
    CommandSpec,
    Pressed,
    authorise,
    checked_press,
    edit_or_send,
    first_press,
    keyboard,
    page_buttons,
    page_of,
    private_only,
    refuse,
    reply,
    shorten,
    user_lang,
)
from handlers.kb.buttons import (
    KbDecideButton,
    KbFieldButton,
    KbOpenButton,
    KbPageButton,
    KbRemoveQuestionButton,
)
from knowledge.articles import Article
from knowledge.check import MAX_SHORT_ANSWER
from storage.knowledge import articles as store
from storage.people.models import Staff

logger = logging.getLogger(__name__)

B = TypeVar("B", KbFieldButton, KbOpenButton, KbPageButton, KbRemoveQuestionButton)

COMMANDS = [CommandSpec("kb_artikel", "kb.commands.kb_artikel", COORDINATORS)]
PAGE_SIZE: Final = 8
# A typed change is taken this long after its prompt.
PENDING_MINUTES: Final = 30
# A question button shows this much of the question.
QUESTION_LABEL: Final = 48
LIMITS: Final = {
    "short": MAX_SHORT_ANSWER,
    "title": store.MAX_TITLE,
    "addq": store.MAX_QUESTION,
}
_CHANGE_KEYS: Final = {
    "short": "short_answer",
    "title": "title",
    "addq": "add_question",
    "rmq": "remove_question",
}


@flow_draft("kb_edit")
@dataclass
class KbEditDraft:
    """An editor's change being made: which article, which field, the new value."""

    article_id: str = ""
    lang: str = "sv"
    # "short", "title", "addq" or "rmq"
    field: str = ""
    # The new short answer, title or question; for "rmq" the question removed.
    value: str = ""
    # The next text message is the new value.
    awaiting: bool = False
    chat: int = 0
    at: dt.datetime | None = None


async def _editor(update: Update, context: BotContext) -> tuple[Staff, Lang] | None:
    """The registered editor (or admin) behind the update; anyone else is told no."""
    staff = await authorise(update, context, STAFF_ROLES)
    if staff is None:
        return None
    lang = user_lang(update, context, staff)
    if not await context.db.run(store.is_editor, staff.id):
        await refuse(update, t("kb.not_editor", lang))
        return None
    return staff, lang


async def _editor_press(update: Update, context: BotContext, kind: type[B]) -> Pressed[B] | None:
    press = await checked_press(update, context, kind)
    if press is None:
        return None
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        # The editor's buttons are only ever sent to their own chat.
        await press.stale()
        return None
    if not await context.db.run(store.is_editor, press.staff_id):
        await press.query.answer(t("kb.not_editor", press.lang), show_alert=True)
        return None
    return press


# -- the list and the card --------------------------------------------------------------------


async def kb_article(update: Update, context: BotContext) -> None:
    """/kb_artikel: the articles as buttons; ``/kb_artikel <id>`` opens one directly."""
    found = await _editor(update, context)
    if found is None:
        return
    _staff, lang = found
    context.state.pop(KbEditDraft)
    wanted = (context.args or [""])[0].strip().lower()
    if wanted:
        for article_lang in (lang, "sv", "en"):
            card = await _card(context, wanted, article_lang, lang)
            if card is not None:
                await reply(update, *card)
                return
    await _show_list(update, context, lang, 0)


async def _show_list(update: Update, context: BotContext, lang: Lang, page: int) -> None:
    metas = await context.db.run(store.article_meta)
    # The articles in the editor's language (an article only in the other one too).
    chosen: dict[str, store.ArticleMeta] = {}
    for meta in metas:
        if meta.lang == lang or meta.id not in chosen:
            chosen[meta.id] = meta
    ordered = sorted(chosen.values(), key=lambda m: m.title.casefold())
    shown, pages = page_of(ordered, page, PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    rows = [[(m.title, KbOpenButton(m.id, as_lang(m.lang)).pack())] for m in shown]
    nav = page_buttons(page, pages, lang, lambda to: KbPageButton(to).pack())
    if nav:
        rows.append(nav)
    await edit_or_send(
        update, t("kb.articles_title", lang, page=page + 1, pages=pages), keyboard(rows)
    )


async def turn_page(update: Update, context: BotContext) -> None:
    """Another page of /kb_artikel's list."""
    press = await _editor_press(update, context, KbPageButton)
    if press is None:
        return
    await press.query.answer()
    await _show_list(update, context, press.lang, press.data.page)


async def _card(
    context: BotContext, article_id: str, article_lang: str, lang: Lang
) -> tuple[str, InlineKeyboardMarkup] | None:
    found = await context.db.run(
        lambda s: (
            store.current_article(s, article_id, article_lang),
            store.meta_of(s, article_id, article_lang),
        )
    )
    article, meta = found
    if article is None or meta is None:
        return None
    text = t(
        "kb.card",
        lang,
        title=article.title,
        short=article.short_answer,
        questions=tn("kb.questions_count", len(article.questions), lang),
        version=meta.version_no,
        reviewed=format_date(meta.reviewed, lang),
    )
    code = as_lang(article_lang)

    def button(action: str) -> str:
        return KbFieldButton(action, article_id, code).pack()  # type: ignore[arg-type]

    rows = [
        [
            (t("kb.field_short", lang), button("short")),
            (t("kb.field_title", lang), button("title")),
        ],
        [
            (t("kb.field_add_question", lang), button("addq")),
            (t("kb.field_remove_question", lang), button("rmq")),
        ],
        [(t("kb.cancel_button", lang), button("cancel"))],
    ]
    return text, keyboard(rows)


async def open_article(update: Update, context: BotContext) -> None:
    """An article's ✏️ button (from the list or an answer card): its editor card."""
    press = await _editor_press(update, context, KbOpenButton)
    if press is None:
        return
    context.state.pop(KbEditDraft)
    card = await _card(context, press.data.article_id, press.data.lang, press.lang)
    if card is None:
        await press.query.answer(t("kb.no_article", press.lang), show_alert=True)
        return
    await press.query.answer()
    if _from_this_flow(press):
        await edit_or_send(update, *card)
    else:
        # From an answer card: the card stays as it is, the editor card comes below it.
        await reply(update, *card)


_FLOW_PREFIXES: Final = frozenset(
    kind.PREFIX for kind in (KbPageButton, KbOpenButton, KbFieldButton, KbRemoveQuestionButton)
)


def _from_this_flow(press: Pressed[KbOpenButton]) -> bool:
    """Whether the pressed message is this flow's own (the list, a question list)."""
    message = press.query.message
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return False
    datas = [b.callback_data for row in markup.inline_keyboard for b in row]
    return bool(datas) and all(
        isinstance(d, str) and d.split(":")[0] in _FLOW_PREFIXES for d in datas
    )


# -- choosing and typing ----------------------------------------------------------------------


async def choose_field(update: Update, context: BotContext) -> None:
    """A field button: prompt for the text, list the questions, send, write again, cancel."""
    press = await _editor_press(update, context, KbFieldButton)
    if press is None:
        return
    lang, data = press.lang, press.data
    if data.action == "cancel":
        context.state.pop(KbEditDraft)
        await press.query.answer()
        await edit_or_send(update, t("kb.cancelled", lang))
        return
    if data.action == "send":
        await _send(update, context, press)
        return
    article = await context.db.run(store.current_article, data.article_id, data.lang)
    if article is None:
        await press.query.answer(t("kb.no_article", lang), show_alert=True)
        return
    await press.query.answer()
    draft = context.state.get(KbEditDraft)
    field = draft.field if data.action == "redo" and draft is not None else data.action
    if field == "rmq":
        await _pick_question(update, article, lang)
        return
    chat = press.query.message.chat.id if press.query.message is not None else 0
    context.state.put(
        KbEditDraft(
            article_id=data.article_id,
            lang=data.lang,
            field=field,
            awaiting=True,
            chat=chat,
            at=context.now(),
        )
    )
    await edit_or_send(update, _prompt(field, article, lang), _cancel_markup(data, lang))


def _cancel_markup(
    data: KbFieldButton | KbRemoveQuestionButton, lang: Lang
) -> InlineKeyboardMarkup:
    cancel = KbFieldButton("cancel", data.article_id, data.lang).pack()
    return keyboard([[(t("kb.cancel_button", lang), cancel)]])


def _prompt(field: str, article: Article, lang: Lang) -> str:
    if field == "short":
        return t("kb.prompt_short", lang, limit=MAX_SHORT_ANSWER, current=article.short_answer)
    if field == "title":
        return t("kb.prompt_title", lang, current=article.title)
    return t("kb.prompt_add_question", lang)


async def _pick_question(update: Update, article: Article, lang: Lang) -> None:
    code = as_lang(article.lang)
    back = [(t("kb.back_button", lang), KbOpenButton(article.id, code).pack())]
    if not article.questions:
        await edit_or_send(update, t("kb.no_questions", lang), keyboard([back]))
        return
    rows = [
        [(shorten(q, QUESTION_LABEL), KbRemoveQuestionButton(article.id, code, i).pack())]
        for i, q in enumerate(article.questions[:40])
    ]
    rows.append(back)
    await edit_or_send(update, t("kb.pick_question", lang), keyboard(rows))


async def remove_question(update: Update, context: BotContext) -> None:
    """A question's button: the preview of removing it."""
    press = await _editor_press(update, context, KbRemoveQuestionButton)
    if press is None:
        return
    data, lang = press.data, press.lang
    article = await context.db.run(store.current_article, data.article_id, data.lang)
    if article is None or data.index >= len(article.questions):
        await press.stale()
        return
    await press.query.answer()
    draft = KbEditDraft(
        article_id=data.article_id,
        lang=data.lang,
        field="rmq",
        value=article.questions[data.index],
        chat=press.query.message.chat.id if press.query.message is not None else 0,
        at=context.now(),
    )
    context.state.put(draft)
    await edit_or_send(update, *_preview(draft, article, lang))


def change_text(draft: KbEditDraft, article: Article, lang: Lang) -> str:
    """The change in words: before and after."""
    if draft.field == "short":
        return t(
            "kb.change_short", lang, title=article.title, before=article.short_answer,
            after=draft.value,
        )  # fmt: skip
    if draft.field == "title":
        return t("kb.change_title", lang, before=article.title, after=draft.value)
    if draft.field == "addq":
        return t("kb.change_add_question", lang, title=article.title, after=draft.value)
    return t("kb.change_remove_question", lang, title=article.title, before=draft.value)


def _preview(draft: KbEditDraft, article: Article, lang: Lang) -> tuple[str, InlineKeyboardMarkup]:
    code = as_lang(draft.lang)
    rows = [
        [(t("kb.send_button", lang), KbFieldButton("send", draft.article_id, code).pack())],
        [
            (t("kb.rewrite_button", lang), KbFieldButton("redo", draft.article_id, code).pack()),
            (t("kb.cancel_button", lang), KbFieldButton("cancel", draft.article_id, code).pack()),
        ],
    ]
    if draft.field == "rmq":
        rows[1][0] = (
            t("kb.back_button", lang),
            KbFieldButton("rmq", draft.article_id, code).pack(),
        )
    return t("kb.preview", lang, change=change_text(draft, article, lang)), keyboard(rows)


async def take_typed_text(update: Update, context: BotContext) -> None:
    """Before every feature: the editor's typed short answer, title or question. A command
    instead drops the change in one line (then runs); /cancel only drops it."""
    draft = context.state.get(KbEditDraft)
    if draft is None or not draft.awaiting:
        return
    query = update.callback_query
    if query is not None:
        # Another button (an answer card, another flow): the change being typed is dropped,
        # so the next text is not taken for it. This flow's own buttons keep it.
        if not (isinstance(query.data, str) and query.data.split(":")[0] in _FLOW_PREFIXES):
            context.state.pop(KbEditDraft)
        return
    message = update.message
    if message is None or message.text is None or message.chat_id != draft.chat:
        return
    expired = draft.at is None or context.now() - draft.at > dt.timedelta(minutes=PENDING_MINUTES)
    if expired:
        context.state.pop(KbEditDraft)
        return
    staff = await authorise(update, context, STAFF_ROLES)
    lang = user_lang(update, context, staff)
    if message.text.startswith("/"):
        context.state.pop(KbEditDraft)
        await reply(update, t("kb.cancelled", lang))
        if message.text.split()[0].split("@")[0].lower() == "/cancel":
            raise ApplicationHandlerStop
        return
    if staff is None or not await context.db.run(store.is_editor, staff.id):
        context.state.pop(KbEditDraft)
        raise ApplicationHandlerStop
    await _typed(update, context, draft, message.text, lang)
    raise ApplicationHandlerStop


async def _typed(
    update: Update, context: BotContext, draft: KbEditDraft, text: str, lang: Lang
) -> None:
    limit = LIMITS[draft.field]
    if len(text.strip()) > limit:
        await reply(update, t("kb.too_long", lang, length=len(text.strip()), limit=limit))
        return
    try:
        clean = await context.db.run(store.check_text, text)
    except store.PersonalDataError as exc:
        logger.info("A typed knowledge-base text was refused by the guard (%s)", exc.key)
        await reply(update, t(exc.key, lang, word=exc.word))
        return
    if not clean:
        await reply(update, t("kb.proposal_empty", lang))
        return
    article = await context.db.run(store.current_article, draft.article_id, draft.lang)
    if article is None:
        context.state.pop(KbEditDraft)
        await reply(update, t("kb.no_article", lang))
        return
    ready = dataclasses.replace(draft, value=clean, awaiting=False, at=context.now())
    context.state.put(ready)
    await reply(update, *_preview(ready, article, lang))


# -- sending ----------------------------------------------------------------------------------


async def _send(update: Update, context: BotContext, press: Pressed[KbFieldButton]) -> None:
    lang = press.lang
    draft = context.state.get(KbEditDraft)
    if (
        draft is None
        or draft.awaiting
        or not draft.value
        or (draft.article_id, draft.lang) != (press.data.article_id, press.data.lang)
    ):
        await press.stale()
        return
    if not await first_press(update, context):
        return
    article = await context.db.run(store.current_article, draft.article_id, draft.lang)
    if article is None:
        await press.query.answer(t("kb.no_article", lang), show_alert=True)
        return
    proposer_id, now = press.staff_id, context.now()
    try:
        version = await context.db.run(
            lambda s: store.propose(
                s,
                article_id=draft.article_id,
                lang=draft.lang,
                changes={_CHANGE_KEYS[draft.field]: draft.value},
                by_staff_id=proposer_id,
                now=now,
            )
        )
    except store.PersonalDataError as exc:
        await press.query.answer(t(exc.key, lang, word=exc.word), show_alert=True)
        return
    except store.ProposalError as exc:
        key = "kb.no_change" if exc.key == "kb.proposal_no_change" else exc.key
        await press.query.answer(t(key, lang), show_alert=True)
        return
    context.state.pop(KbEditDraft)
    await press.query.answer()
    told = await send_to_approvers(context, press.staff, version, draft, article)
    done = tn("kb.sent", told, lang) if told else t("kb.sent_nobody", lang)
    await edit_or_send(update, f"{change_text(draft, article, lang)}\n\n{done}")
    logger.info("Knowledge-base proposal %d sent to %d approvers", version.id, told)


async def tell(
    context: BotContext, telegram_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Send a notice; one that cannot be delivered (blocked, gone) is logged."""
    try:
        await context.bot.send_message(telegram_id, text, reply_markup=markup)
    except TelegramError as exc:
        logger.warning("A knowledge-base notice was not delivered (%s)", type(exc).__name__)
        return False
    return True


async def send_to_approvers(
    context: BotContext,
    proposer: Staff,
    version: store.Version,
    draft: KbEditDraft,
    article: Article,
) -> int:
    """Send the proposal to every other editor and admin, each in their language, with
    Approve / Reject; returns how many received it."""
    approvers = await context.db.run(lambda s: store.editors(s, except_staff_id=version.created_by))
    told = 0
    for approver in approvers:
        lang = as_lang(approver.language)
        text = t(
            "kb.proposal",
            lang,
            name=proposer.display_name,
            lang=t(f"kb.language_{as_lang(draft.lang)}", lang),
            change=change_text(draft, article, lang),
        )
        markup = keyboard(
            [
                [
                    (t("kb.approve_button", lang), KbDecideButton("ok", version.id).pack()),
                    (t("kb.reject_button", lang), KbDecideButton("no", version.id).pack()),
                ]
            ]
        )
        told += await tell(context, approver.telegram_id, text, markup)
    return told


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/kb_artikel and the editor's buttons."""
    return [
        # Editing happens in the editor's own chat, never in a group's.
        CommandHandler("kb_artikel", private_only, ~filters.ChatType.PRIVATE),
        CommandHandler("kb_artikel", kb_article, filters.ChatType.PRIVATE),
        CallbackQueryHandler(turn_page, pattern=KbPageButton.matching()),
        CallbackQueryHandler(open_article, pattern=KbOpenButton.matching()),
        CallbackQueryHandler(choose_field, pattern=KbFieldButton.matching()),
        CallbackQueryHandler(remove_question, pattern=KbRemoveQuestionButton.matching()),
    ]
