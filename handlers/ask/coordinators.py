"""Passing a question on to the asker's municipality's coordinators, and a coordinator's reply.

"Fråga en samordnare" on an answer card sends the question to each coordinator with a "Svara"
button; the coordinator's next text after "Svara" is the reply, guarded like a question and
sent to the asker with who answered.
"""

from __future__ import annotations

import logging
from typing import Final

from telegram import Chat, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import BotContext
from bot.guard import contains_identity_number, normalise
from bot.i18n import Lang, as_lang, t
from handlers.ask.buttons import ForwardButton, ReplyButton
from handlers.ask.render import localised, shorten, split_message
from handlers.ask.shared import NO_PREVIEW, PendingText, knowledge_base
from handlers.common import (
    COORDINATORS,
    checked_press,
    keyboard,
    municipality_label,
    person_params,
    reply,
    staff_and_lang,
)
from storage.knowledge import store as kb_store

logger = logging.getLogger(__name__)

# Quoted questions are cut so that a forwarded question or a reply fits in one message.
QUOTE_LIMIT: Final = 3000
REPLY_QUOTE_LIMIT: Final = 300


async def ask_coordinator(update: Update, context: BotContext) -> None:
    """Forwards the asker's question to their municipality's coordinators, with a reply button."""
    press = await checked_press(update, context, ForwardButton)
    if press is None:
        return
    query, staff, lang, log_id = press.query, press.staff, press.lang, press.data.log_id
    result = await context.db.run(
        kb_store.forward_question, question_id=log_id, asker_id=press.staff_id, now=context.now()
    )
    if result.status is not kb_store.ForwardStatus.OK:
        await query.answer(t(f"ask.forward_{result.status.value}", lang), show_alert=True)
        return
    delivered = await _send_to_coordinators(context, result)
    if not delivered:
        # Nobody got it (all blocked the bot, say): forget the forward so a retry may work.
        forwarded_id = result.coordinator_question_id
        assert forwarded_id is not None
        await context.db.run(kb_store.withdraw_forward, coordinator_question_id=forwarded_id)
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
    assert result.asker is not None and result.coordinator_question_id is not None
    kb = knowledge_base(context)
    asker, delivered = result.asker, 0
    button = ReplyButton("reply", result.coordinator_question_id).pack()
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
                    question=shorten(result.question, QUOTE_LIMIT),
                    **person_params(lang, asker.name, asker.role, asker.municipality),
                ),
                bot_said,
                t("ask.coordinator_reply_hint", lang, name=asker.name),
            ]
        )
        markup = keyboard([[(t("ask.reply_button", lang), button)]])
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
    press = await checked_press(update, context, ReplyButton, roles=COORDINATORS)
    if press is None:
        return
    query, lang, forwarded_id = press.query, press.lang, press.data.forwarded_id
    checked = await context.db.run(
        kb_store.check_reply, coordinator_question_id=forwarded_id, staff_id=press.staff_id
    )
    if checked.status is not kb_store.ReplyStatus.OK or checked.asker is None:
        await query.answer(_reply_refusal(checked, lang), show_alert=True)
        return
    _await_reply(update, context, forwarded_id)
    await query.answer()
    await reply(update, t("ask.reply_prompt", lang, name=checked.asker.name))


def _await_reply(update: Update, context: BotContext, forwarded_id: int) -> None:
    """Take the person's next text in this chat as their reply to ``forwarded_id``."""
    assert update.effective_chat is not None
    pending = PendingText(kind="reply", chat=update.effective_chat.id, at=context.now())
    pending.forwarded_id = forwarded_id
    context.state.put(pending)


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
    staff, lang = await staff_and_lang(update, context)
    if staff is None or staff.id is None:
        await reply(update, t("core.not_registered", lang))
        return
    answer = normalise(text).strip()
    if contains_identity_number(answer):
        # Keep waiting for the reply, without the identity number.
        _await_reply(update, context, forwarded_id)
        await reply(update, t("ask.reply_personnummer", lang))
        return
    saved = await context.db.run(
        kb_store.save_reply,
        coordinator_question_id=forwarded_id,
        staff_id=staff.id,
        answer=answer,
        now=context.now(),
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


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The "Fråga en samordnare" and "Svara" buttons."""
    return [
        CallbackQueryHandler(ask_coordinator, pattern=ForwardButton.matching()),
        CallbackQueryHandler(start_reply, pattern=ReplyButton.matching()),
    ]
