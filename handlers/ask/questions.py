"""Questions to the knowledge base: answer cards, 👍/👎, and the text that follows /fraga or
"Svara".

In a private chat any free text from a staff member is a question; in a group only /fraga,
/ask or a message that mentions the bot. Every question passes the personal-data guard
before it is searched, stored or forwarded. Retrieval runs in a worker thread. Passing a
question on to a coordinator is in handlers/ask/coordinators.py; reading articles (the whole
article, another article's card, /artiklar) in handlers/ask/articles.py; loading the
knowledge base and the admins' commands in handlers/ask/admin.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Final

from telegram import Chat, MessageEntity, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.guard import contains_identity_number, normalise
from bot.i18n import Lang, t
from handlers.ask.buttons import VoteButton
from handlers.ask.coordinators import deliver_reply, thread_of_reply
from handlers.ask.render import answer_card, emergency_guidance, intent_card
from handlers.ask.shared import PendingText, contact_numbers, knowledge_base, send_card
from handlers.ask.smalltalk import SmallTalk, small_talk
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    checked_press,
    reply,
    staff_and_lang,
)
from knowledge.emergency import assess
from knowledge.intent import Kind
from storage.knowledge import store as kb_store

logger = logging.getLogger(__name__)

PENDING_MINUTES: Final = 30
_COMMAND_TEXT: Final = re.compile(r"^/\w+(@\w+)?\s*", re.ASCII)

COMMANDS = [
    CommandSpec("fraga", "ask.commands.fraga", STAFF_ROLES),
]


# -- asking ------------------------------------------------------------------------------------


async def answer_question(update: Update, context: BotContext, question: str) -> None:
    """Guard, search (in a worker thread), log and send the answer card."""
    question = normalise(question)
    staff, lang = await staff_and_lang(update, context)
    refused = contains_identity_number(question)
    if refused or staff is None or staff.id is None:
        # The question will not be answered, but acute danger still gets 112 first, from
        # anyone and beside a personnummer (assessed in memory only: nothing is stored,
        # logged or searched). A registered person's answer below makes its own assessment.
        danger = assess(question)  # a fraction of a millisecond: no thread needed
        if danger.emergency:
            local = None
            if staff is not None:
                local = contact_numbers(context).for_municipality(staff.municipality)
            guidance = emergency_guidance(knowledge_base(context), lang, local)
            if guidance is not None:
                await send_card(update, guidance)
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
    talk = small_talk(question)
    if talk is not None:
        # "hej", "tack!": a friendly line in the person's language; not a question, not logged.
        key = "ask.hello" if talk is SmallTalk.GREETING else "ask.welcome"
        await reply(update, t(key, lang))
        return
    kb = knowledge_base(context)
    # On the event loop: about a millisecond of pure Python (a worker thread would add its
    # hand-over and GIL contention). Right after a start the update has already waited for
    # the knowledge base's load (handlers/kb/live.py, before any handler runs).
    answer = kb.answer(question, lang)
    if answer.intent != Kind.QUESTION.value:
        # Small talk, a case question or an off-topic one: a short reply, nothing stored.
        logger.info("Reply without an article: intent=%s topic=%s", answer.intent, answer.topic)
        await send_card(update, intent_card(answer))
        return
    log_id = await context.db.run(
        kb_store.log_question,
        staff_id=staff.id,
        question=question,
        answered=answer.answered,
        article_id=answer.article_id,
        lang=answer.lang,
        confidence=answer.confidence,
        emergency=answer.emergency,
        now=context.now(),
        chat_id=update.effective_chat.id if update.effective_chat else None,
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
    today = context.now().astimezone(context.settings.tz).date()
    card = answer_card(
        kb,
        answer,
        log_id=log_id,
        local=local,
        today=today,
        review_days=context.settings.kb_review_days,
    )
    await send_card(update, card)


async def ask_for_question(update: Update, context: BotContext, lang: Lang) -> None:
    """Ask for the question and take the person's next message in this chat as it."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None
    context.state.put(PendingText(kind="question", chat=chat.id, at=context.now()))
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
    """Routes a reply to a coordinator thread's prompt to that thread, and the next text after
    /fraga or "Svara" to its purpose; anything else drops the pending text."""
    message = update.effective_message
    if update.message is not None and message is not None and message.text is not None:
        replied = message.reply_to_message
        thread = thread_of_reply(context, message.chat_id, replied.message_id) if replied else None
        if thread is not None and not message.text.startswith("/"):
            context.state.pop(PendingText)
            await deliver_reply(update, context, thread, message.text)
            raise ApplicationHandlerStop
    pending = context.state.get(PendingText)
    if pending is None:
        return
    expired = context.now() - pending.at > dt.timedelta(minutes=PENDING_MINUTES)
    if update.callback_query is not None or expired:
        context.state.pop(PendingText)
        return
    if message is None or message.text is None or message.chat_id != pending.chat:
        return
    context.state.pop(PendingText)
    if message.text.startswith("/"):
        _staff, lang = await staff_and_lang(update, context)
        if message.text.split()[0].split("@")[0].lower() == "/cancel":
            await reply(update, t("core.cancelled", lang))
            raise ApplicationHandlerStop
        if pending.kind == "reply":
            # Another command: the person changed their mind. A reply being written is not
            # dropped silently: one line says so, then the command runs. (A reply made to
            # the prompt itself still reaches the thread: that is no accident.)
            await reply(update, t("ask.reply_abandoned", lang))
        return
    if pending.kind == "reply":
        await deliver_reply(update, context, pending.forwarded_id, message.text)
    else:
        await answer_question(update, context, message.text)
    raise ApplicationHandlerStop


# -- buttons -------------------------------------------------------------------------------------


async def vote(update: Update, context: BotContext) -> None:
    """Stores 👍/👎 (one per person and answer, changeable) and thanks with an alert."""
    press = await checked_press(update, context, VoteButton)
    if press is None:
        return
    query, lang, choice = press.query, press.lang, press.data.vote
    outcome = await context.db.run(
        kb_store.record_vote,
        question_id=press.data.log_id,
        staff_id=press.staff_id,
        vote=choice,
        now=context.now(),
        chat_id=query.message.chat.id if query.message is not None else None,
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


# -- wiring --------------------------------------------------------------------------------------


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/fraga, 👍/👎, and last the free-text questions (after every flow's text states)."""
    text = filters.TEXT & ~filters.COMMAND
    return [
        # /ask reaches it as the English name of /fraga (bot/shell/commands.py).
        CommandHandler("fraga", ask_command),
        CallbackQueryHandler(vote, pattern=VoteButton.matching()),
        MessageHandler(filters.ChatType.PRIVATE & text, ask_in_private),
        MessageHandler(
            filters.ChatType.GROUPS & text & filters.Entity(MessageEntity.MENTION), ask_by_mention
        ),
    ]
