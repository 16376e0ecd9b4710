"""Questions to the knowledge base: answer cards, articles, 👍/👎, ask a coordinator, admin tools.

In a private chat any free text from a staff member is a question; in a group only /fraga,
/ask or a message that mentions the bot. Every question passes the personal-data guard
before it is searched, stored or forwarded. Retrieval runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from telegram import (
    Chat,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import BotContext, DalsbotApp
from bot.guard import contains_identity_number, normalise
from bot.i18n import LANGUAGES, Lang, as_lang, t
from bot.kb_render import (
    ARTICLES_PER_PAGE,
    Card,
    answer_card,
    article_card,
    articles_page,
    emergency_guidance,
    full_article,
    intent_card,
    localised,
    reload_knowledge_base,
    shorten,
    split_message,
)
from handlers.common import (
    ADMIN_ONLY,
    COORDINATORS,
    STAFF_ROLES,
    CommandSpec,
    authorise,
    current_staff,
    edit_or_send,
    keyboard,
    municipality_label,
    parse_id,
    private_only,
    reply,
    staff_press,
    user_lang,
)
from knowledge.articles import KnowledgeBaseError
from knowledge.contacts import Contacts, ContactsError, load_contacts
from knowledge.emergency import assess
from knowledge.glossary import GlossaryError
from knowledge.intent import Kind
from knowledge.service import KnowledgeBase
from storage import knowledge as kb_store
from storage.models import QuestionKind

logger = logging.getLogger(__name__)

KB_SERVICE: Final = "kb"
CONTACTS_SERVICE: Final = "contacts"
PENDING: Final = "kb_pending"  # user_data key: the next text is a question or a reply
PENDING_MINUTES: Final = 30
PENDING_GROUP: Final = -2
PURGE_TIME: Final = dt.time(3, 30)
# Quoted questions are cut so that a forwarded question or a reply fits in one message.
QUOTE_LIMIT: Final = 3000
REPLY_QUOTE_LIMIT: Final = 300
NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)
_COMMAND_TEXT: Final = re.compile(r"^/\w+(@\w+)?\s*", re.ASCII)
_ID: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")

COMMANDS = [
    CommandSpec("fraga", "ask.commands.fraga", STAFF_ROLES),
    CommandSpec("ask", "ask.commands.ask", STAFF_ROLES, in_menu=False),
    CommandSpec("artiklar", "ask.commands.artiklar", STAFF_ROLES),
    CommandSpec("kb_reload", "ask.commands.kb_reload", ADMIN_ONLY),
    CommandSpec("kb_gaps", "ask.commands.kb_gaps", ADMIN_ONLY),
]


def knowledge_base(context: BotContext) -> KnowledgeBase:
    """The knowledge base loaded at start-up (``register``)."""
    kb: KnowledgeBase = context.data.services[KB_SERVICE]
    return kb


def contact_numbers(context: BotContext) -> Contacts:
    """The emergency card's phone numbers loaded at start-up (``register``)."""
    contacts: Contacts = context.data.services[CONTACTS_SERVICE]
    return contacts


async def send_card(chat: Chat | None, card: Card) -> None:
    """Send a card without link previews (a source URL would otherwise fill the phone screen)."""
    if chat is not None:
        markup = keyboard(card.rows) if card.rows else None
        await chat.send_message(card.text, reply_markup=markup, link_preview_options=NO_PREVIEW)


# -- asking ------------------------------------------------------------------------------------


async def answer_question(update: Update, context: BotContext, question: str) -> None:
    """Guard, search (in a worker thread), log and send the answer card."""
    question = normalise(question)
    staff = await current_staff(update, context)
    lang = user_lang(update, context, staff)
    refused = contains_identity_number(question)
    if refused or staff is None or staff.id is None:
        # The question will not be answered, but acute danger still gets 112 first, from
        # anyone and beside a personnummer (assessed in memory only: nothing is stored,
        # logged or searched). A registered person's answer below makes its own assessment.
        danger = await asyncio.to_thread(assess, question)
        if danger.emergency:
            local = None
            if staff is not None:
                local = contact_numbers(context).for_municipality(staff.municipality)
            guidance = emergency_guidance(knowledge_base(context), lang, local)
            if guidance is not None:
                await send_card(update.effective_chat, guidance)
        if refused:
            await reply(update, t("ask.personnummer", lang))
            return
        if danger.safety_note:
            await reply(update, t("ask.safety_note", lang))
        await reply(update, t("core.not_registered", lang))
        return
    question = question.strip()
    if not question:
        await ask_for_question(update, context, lang)
        return
    kb = knowledge_base(context)
    answer = await asyncio.to_thread(kb.answer, question, lang)
    if answer.intent != Kind.QUESTION.value:
        # Small talk, a case question or an off-topic one: a short reply, nothing stored.
        logger.info("Reply without an article: intent=%s topic=%s", answer.intent, answer.topic)
        await send_card(update.effective_chat, intent_card(answer))
        return
    staff_id = staff.id
    chat_id = update.effective_chat.id if update.effective_chat else None
    log_id = await context.db.run(
        lambda session: kb_store.log_question(
            session,
            staff_id=staff_id,
            question=question,
            answered=answer.answered,
            article_id=answer.article_id,
            lang=answer.lang,
            confidence=answer.confidence,
            emergency=answer.emergency,
            now=context.now(),
            chat_id=chat_id,
        )
    )
    logger.info(
        "Question %s: answered=%s article=%s lang=%s emergency=%s",
        log_id,
        answer.answered,
        answer.article_id,
        answer.lang,
        answer.emergency,
    )
    # An emergency card shows the asker's municipality's configured numbers besides 112.
    local = contact_numbers(context).for_municipality(staff.municipality)
    await send_card(update.effective_chat, answer_card(kb, answer, log_id=log_id, local=local))


async def ask_for_question(update: Update, context: BotContext, lang: Lang) -> None:
    """Ask for the question and take the person's next message in this chat as it."""
    chat, message = update.effective_chat, update.effective_message
    assert context.user_data is not None and chat is not None
    context.user_data[PENDING] = {"kind": "question", "chat": chat.id, "at": context.now()}
    if chat.type != Chat.PRIVATE and message is not None:
        # With privacy mode the bot sees only replies to itself in a group: ask for one.
        await message.reply_text(t("ask.ask_prompt_group", lang))
    else:
        await reply(update, t("ask.ask_prompt", lang))


async def ask_command(update: Update, context: BotContext) -> None:
    """/fraga or /ask with a question answers it; without one, asks for it."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await answer_question(update, context, _COMMAND_TEXT.sub("", message.text, count=1))


async def ask_in_private(update: Update, context: BotContext) -> None:
    """Free text in a private chat is a question (strangers are told to get an invitation)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    await answer_question(update, context, message.text)


async def ask_by_mention(update: Update, context: BotContext) -> None:
    """A group message that mentions the bot is a question (without the mention)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    mention = re.compile(rf"@{re.escape(context.data.bot_username)}\b[,:]?", re.IGNORECASE)
    if not mention.search(message.text):
        return  # it mentions somebody else
    await answer_question(update, context, mention.sub(" ", message.text))


# -- the next text: a question asked for, or a coordinator's reply -----------------------------


async def take_pending_text(update: Update, context: BotContext) -> None:
    """Routes the next text after /fraga or "Svara" to its purpose; anything else drops it."""
    pending: dict[str, Any] | None = (
        context.user_data.get(PENDING) if context.user_data is not None else None
    )
    if pending is None or context.user_data is None:
        return
    message = update.effective_message
    expired = context.now() - pending["at"] > dt.timedelta(minutes=PENDING_MINUTES)
    if update.callback_query is not None or expired:
        context.user_data.pop(PENDING, None)
        return
    if message is None or message.text is None or message.chat_id != pending["chat"]:
        return
    context.user_data.pop(PENDING, None)
    if message.text.startswith("/"):
        if message.text.split()[0].split("@")[0].lower() == "/cancel":
            await reply(update, t("core.cancelled", user_lang(update, context)))
            raise ApplicationHandlerStop
        return  # another command: the person changed their mind
    if pending["kind"] == "reply":
        await deliver_reply(update, context, int(pending["id"]), message.text)
    else:
        await answer_question(update, context, message.text)
    raise ApplicationHandlerStop


# -- buttons -------------------------------------------------------------------------------------


def _article_data(action: str) -> Callable[[list[str]], bool]:
    # Well-formed only (kb:<action>:<id>:<lang>); whether the article exists is checked
    # against the knowledge base.
    return lambda p: p[0] == action and bool(_ID.fullmatch(p[1])) and p[2] in LANGUAGES


def _with_id(action: str) -> Callable[[list[str]], bool]:
    # kb:<action>:<row id>[:...]
    return lambda p: p[0] == action and parse_id(p[1]) is not None


async def read_more(update: Update, context: BotContext) -> None:
    """Sends the whole article, in as many messages as it needs."""
    press = await staff_press(update, context, "kb", 3, valid=_article_data("more"))
    if press is None:
        return
    lang = as_lang(press.parts[2])
    article = localised(knowledge_base(context), press.parts[1], lang)
    if article is None:
        await press.stale()
        return
    await press.query.answer()
    for part in full_article(article, lang):
        await send_card(update.effective_chat, Card(part))


async def open_article(update: Update, context: BotContext) -> None:
    """Shows an article's answer card (from a related, suggestion or topic button)."""
    press = await staff_press(update, context, "kb", 3, valid=_article_data("art"))
    if press is None:
        return
    query, lang, kb = press.query, as_lang(press.parts[2]), knowledge_base(context)
    article = localised(kb, press.parts[1], lang)
    if article is None:
        await press.stale()
        return
    staff_id = press.staff_id
    log_id = await context.db.run(
        lambda session: kb_store.log_question(
            session,
            staff_id=staff_id,
            question=None,
            answered=True,
            article_id=article.id,
            lang=lang,
            confidence=None,
            kind=QuestionKind.BROWSE,
            now=context.now(),
        )
    )
    await query.answer()
    await send_card(
        update.effective_chat,
        article_card(
            kb, article, lang, log_id=log_id, related=list(article.related), can_forward=False
        ),
    )


async def vote(update: Update, context: BotContext) -> None:
    """Stores 👍/👎 (one per person and answer, changeable) and thanks with an alert."""
    press = await staff_press(
        update, context, "kb", 3, valid=lambda p: _with_id("vote")(p) and p[2] in kb_store.VOTES
    )
    if press is None:
        return
    query, lang, parts = press.query, press.lang, press.parts
    log_id, choice, staff_id = int(parts[1]), parts[2], press.staff_id
    chat_id = query.message.chat.id if query.message is not None else None
    outcome = await context.db.run(
        lambda session: kb_store.record_vote(
            session,
            question_id=log_id,
            staff_id=staff_id,
            vote=choice,
            now=context.now(),
            chat_id=chat_id,
        )
    )
    if outcome is None:
        await press.stale()
        return
    emoji = t(f"ask.{choice}_button", lang)
    text = {
        kb_store.VoteOutcome.NEW: t(f"ask.vote_{choice}", lang),
        kb_store.VoteOutcome.CHANGED: t("ask.vote_changed", lang, vote=emoji),
        kb_store.VoteOutcome.SAME: t("ask.vote_same", lang, vote=emoji),
        kb_store.VoteOutcome.NOT_YOURS: t("ask.vote_not_yours", lang),
    }[outcome]
    await query.answer(text, show_alert=True)


async def ask_coordinator(update: Update, context: BotContext) -> None:
    """Forwards the asker's question to their municipality's coordinators, with a reply button."""
    press = await staff_press(update, context, "kb", 2, valid=_with_id("coord"))
    if press is None:
        return
    query, staff, lang = press.query, press.staff, press.lang
    log_id, staff_id = int(press.parts[1]), press.staff_id
    result = await context.db.run(
        lambda session: kb_store.forward_question(
            session, question_id=log_id, asker_id=staff_id, now=context.now()
        )
    )
    if result.status is not kb_store.ForwardStatus.OK:
        await query.answer(t(f"ask.forward_{result.status.value}", lang), show_alert=True)
        return
    delivered = await _send_to_coordinators(context, result)
    if not delivered:
        # Nobody got it (all blocked the bot, say): forget the forward so a retry may work.
        forwarded_id = result.coordinator_question_id
        assert forwarded_id is not None
        await context.db.run(
            lambda session: kb_store.withdraw_forward(session, coordinator_question_id=forwarded_id)
        )
        await query.answer(t("ask.forward_nobody", lang), show_alert=True)
        return
    done = t("ask.forwarded", lang, municipality=municipality_label(staff.municipality, lang))
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE:
        await query.answer()
        await reply(update, done)
    else:
        await query.answer(done, show_alert=True)
    logger.info("Question %s forwarded to %d coordinator(s)", log_id, delivered)


async def _send_to_coordinators(context: BotContext, result: kb_store.Forwarded) -> int:
    """Sends the forwarded question to each recipient in their language; returns how many got it."""
    assert result.asker is not None
    kb = knowledge_base(context)
    asker, delivered = result.asker, 0
    for person in result.recipients:
        lang = as_lang(person.language)
        article = localised(kb, result.article_id, lang) if result.article_id else None
        bot_said = (
            t("ask.coordinator_bot_answer", lang, title=article.title)
            if article
            else t("ask.coordinator_bot_no_answer", lang)
        )
        text = "\n\n".join(
            [
                t(
                    "ask.coordinator_incoming",
                    lang,
                    name=asker.name,
                    role=t(f"core.roles.{asker.role}", lang),
                    municipality=municipality_label(asker.municipality, lang),
                    question=shorten(result.question, QUOTE_LIMIT),
                ),
                bot_said,
                t("ask.coordinator_reply_hint", lang, name=asker.name),
            ]
        )
        markup = keyboard(
            [[(t("ask.reply_button", lang), f"kb:reply:{result.coordinator_question_id}")]]
        )
        try:
            await context.bot.send_message(
                person.telegram_id, text, reply_markup=markup, link_preview_options=NO_PREVIEW
            )
            delivered += 1
        except (Forbidden, BadRequest):
            logger.warning(
                "Could not reach coordinator %s with a forwarded question", person.staff_id
            )
    return delivered


async def start_reply(update: Update, context: BotContext) -> None:
    """A coordinator who received the question presses "Svara": their next text is the reply."""
    press = await staff_press(update, context, "kb", 2, roles=COORDINATORS, valid=_with_id("reply"))
    if press is None:
        return
    query, lang = press.query, press.lang
    forwarded_id, staff_id = int(press.parts[1]), press.staff_id
    checked = await context.db.run(
        lambda session: kb_store.check_reply(
            session, coordinator_question_id=forwarded_id, staff_id=staff_id
        )
    )
    if checked.status is not kb_store.ReplyStatus.OK or checked.asker is None:
        await query.answer(_reply_refusal(checked, lang), show_alert=True)
        return
    assert context.user_data is not None and update.effective_chat is not None
    context.user_data[PENDING] = {
        "kind": "reply",
        "id": forwarded_id,
        "chat": update.effective_chat.id,
        "at": context.now(),
    }
    await query.answer()
    await reply(update, t("ask.reply_prompt", lang, name=checked.asker.name))


def _reply_refusal(checked: kb_store.ReplyCheck, lang: Lang) -> str:
    if checked.status is kb_store.ReplyStatus.ANSWERED:
        if checked.responder is None:
            return t("ask.reply_answered_unknown", lang)
        return t("ask.reply_answered", lang, name=checked.responder.name)
    if checked.status is kb_store.ReplyStatus.NOT_RECIPIENT:
        return t("ask.reply_not_recipient", lang)
    return t("ask.reply_gone", lang)


async def deliver_reply(update: Update, context: BotContext, forwarded_id: int, text: str) -> None:
    """Guards and stores a coordinator's reply, then sends it to the asker with who answered."""
    staff = await current_staff(update, context)
    lang = user_lang(update, context, staff)
    if staff is None or staff.id is None:
        await reply(update, t("core.not_registered", lang))
        return
    text = normalise(text)
    if contains_identity_number(text):
        assert context.user_data is not None and update.effective_chat is not None
        # Keep waiting for the reply, without the identity number.
        context.user_data[PENDING] = {
            "kind": "reply",
            "id": forwarded_id,
            "chat": update.effective_chat.id,
            "at": context.now(),
        }
        await reply(update, t("ask.reply_personnummer", lang))
        return
    answer, staff_id = text.strip(), staff.id
    saved = await context.db.run(
        lambda session: kb_store.save_reply(
            session,
            coordinator_question_id=forwarded_id,
            staff_id=staff_id,
            answer=answer,
            now=context.now(),
        )
    )
    if saved.status is not kb_store.ReplyStatus.OK or saved.asker is None:
        await reply(update, _reply_refusal(saved, lang))
        return
    asker, responder = saved.asker, saved.responder
    assert responder is not None
    asker_lang = as_lang(asker.language)
    message = t(
        "ask.reply_to_asker",
        asker_lang,
        name=responder.name,
        role=t(f"core.roles.{responder.role}", asker_lang),
        question=shorten(saved.question, REPLY_QUOTE_LIMIT),
        answer=answer,
    )
    try:
        for part in split_message(message):
            await context.bot.send_message(asker.telegram_id, part, link_preview_options=NO_PREVIEW)
    except (Forbidden, BadRequest):
        await reply(update, t("ask.reply_undeliverable", lang, name=asker.name))
        return
    logger.info("Coordinator reply %s delivered", forwarded_id)
    await reply(update, t("ask.reply_sent", lang, name=asker.name))


# -- browsing ----------------------------------------------------------------------------------


async def browse_articles(update: Update, context: BotContext) -> None:
    """/artiklar: the topics as buttons, a page at a time."""
    staff = await authorise(update, context)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    card = articles_page(knowledge_base(context), lang, 0)
    await reply(update, card.text, keyboard(card.rows))


async def turn_page(update: Update, context: BotContext) -> None:
    """Shows another page of topics in the same message."""
    kb = knowledge_base(context)
    pages = -(-len(kb.ids()) // ARTICLES_PER_PAGE)
    press = await staff_press(
        update,
        context,
        "kb",
        2,
        valid=lambda p: p[0] == "page" and p[1].isdigit() and int(p[1]) < pages,
    )
    if press is None:
        return
    await press.query.answer()
    card = articles_page(kb, press.lang, int(press.parts[1]))
    await edit_or_send(update, card.text, keyboard(card.rows))


# -- administration ----------------------------------------------------------------------------


async def reload_articles(update: Update, context: BotContext) -> None:
    """/kb_reload: reads the articles and the phone numbers again, or says why not."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    today = context.now().astimezone(context.settings.tz).date()
    count, error, extra = await asyncio.to_thread(
        reload_knowledge_base, knowledge_base(context), today
    )
    if count is None:
        key = "ask.reload_failed_more" if extra else "ask.reload_failed"
        articles = t(key, lang, error=error, more=extra)
        logger.warning("Knowledge base reload refused (%d more errors)", extra)
    else:
        key = "ask.reload_ok_warnings" if extra else "ask.reload_ok"
        articles = t(key, lang, count=count, warnings=extra)
        logger.info("Knowledge base reloaded: %d articles", count)
    await reply(update, f"{articles}\n\n{await reload_contacts(context, lang)}")


async def reload_contacts(context: BotContext, lang: Lang) -> str:
    """Reads the phone numbers again; a file with errors keeps the previous numbers."""
    try:
        contacts = await asyncio.to_thread(load_contacts, context.settings.contacts_file)
    except ContactsError as exc:
        logger.warning("Contacts reload refused")
        return t("ask.contacts_reload_failed", lang, error=str(exc))
    context.data.services[CONTACTS_SERVICE] = contacts
    logger.info("Contacts reloaded: %d numbers", contacts.count)
    return t("ask.contacts_reloaded", lang, count=contacts.count)


async def show_gaps(update: Update, context: BotContext) -> None:
    """/kb_gaps: the most frequent unanswered questions and the most 👎 articles (30 days)."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    now = context.now()
    unanswered, disliked = await context.db.run(
        lambda session: (
            kb_store.unanswered_questions(session, now=now),
            kb_store.disliked_articles(session, now=now),
        )
    )
    titles = knowledge_base(context).titles(lang)
    lines = [
        t("ask.gaps_title", lang, days=kb_store.GAPS_DAYS),
        "",
        t("ask.gaps_unanswered_title", lang),
    ]
    lines += [
        t("ask.gaps_unanswered_row", lang, count=count, question=text[:120])
        for text, count in unanswered
    ] or [t("ask.gaps_unanswered_none", lang)]
    lines += ["", t("ask.gaps_disliked_title", lang)]
    lines += [
        t("ask.gaps_disliked_row", lang, title=titles.get(article_id, article_id), down=down, up=up)
        for article_id, down, up in disliked
    ] or [t("ask.gaps_disliked_none", lang)]
    for part in split_message("\n".join(lines)):
        await reply(update, part)


async def purge_old_questions(context: BotContext) -> None:
    """Daily job: delete question and reply texts older than 90 days."""
    now = context.now()
    purged = await context.db.run(lambda session: kb_store.purge_old_questions(session, now=now))
    logger.info("Purged %d old question texts", purged)


# -- wiring --------------------------------------------------------------------------------------


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """Commands, buttons, and last the free-text questions (after every flow's text states)."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        CommandHandler(["fraga", "ask"], ask_command),
        CommandHandler("artiklar", browse_articles),
        CommandHandler("kb_reload", reload_articles),
        # The unanswered questions are for the admin's eyes only, never a group's.
        CommandHandler("kb_gaps", private_only, ~filters.ChatType.PRIVATE),
        CommandHandler("kb_gaps", show_gaps, filters.ChatType.PRIVATE),
        CallbackQueryHandler(read_more, pattern=r"^kb:more:"),
        CallbackQueryHandler(open_article, pattern=r"^kb:art:"),
        CallbackQueryHandler(vote, pattern=r"^kb:vote:"),
        CallbackQueryHandler(ask_coordinator, pattern=r"^kb:coord:"),
        CallbackQueryHandler(start_reply, pattern=r"^kb:reply:"),
        CallbackQueryHandler(turn_page, pattern=r"^kb:page:"),
        MessageHandler(filters.ChatType.PRIVATE & text, ask_in_private),
        MessageHandler(
            filters.ChatType.GROUPS & text & filters.Entity(MessageEntity.MENTION), ask_by_mention
        ),
    ]


def load_knowledge_base() -> KnowledgeBase:
    """The knowledge base, or SystemExit with a one-line reason (start-up must not go on)."""
    try:
        kb = KnowledgeBase()
    except (KnowledgeBaseError, GlossaryError, OSError, ValueError) as exc:
        raise SystemExit(f"Cannot load the knowledge base: {exc}") from exc
    if not kb.ids():
        raise SystemExit(f"Cannot load the knowledge base: no articles in {kb.root}")
    return kb


def load_contact_numbers(path: Path) -> Contacts:
    """The emergency card's phone numbers, or SystemExit with a one-line reason."""
    try:
        return load_contacts(path)
    except ContactsError as exc:
        raise SystemExit(f"Cannot load the contacts file: {exc}") from exc


def register(app: DalsbotApp) -> None:
    """Load the knowledge base and phone numbers, route pending texts first, schedule the purge."""
    kb = load_knowledge_base()
    app.bot_data.services[KB_SERVICE] = kb
    logger.info("Knowledge base loaded: %d articles", len(kb.ids()))
    contacts = load_contact_numbers(app.bot_data.settings.contacts_file)
    app.bot_data.services[CONTACTS_SERVICE] = contacts
    logger.info("Contacts loaded: %d numbers", contacts.count)
    # Its own group, before the flows in group 0 and pulse's comment catcher in group -1 (only
    # the first matching handler of a group runs): the text right after /fraga or "Svara"
    # belongs to that request, and any button or command cancels the request.
    app.add_handler(TypeHandler(Update, take_pending_text), group=PENDING_GROUP)
    if app.job_queue is not None:
        app.job_queue.run_daily(
            purge_old_questions,
            time=PURGE_TIME.replace(tzinfo=app.bot_data.settings.tz),
            name="kb:purge-old-questions",
        )
