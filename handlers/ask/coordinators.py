"""Passing a question on to the asker's municipality's coordinators, and the thread that follows.

"Fråga en samordnare" on an answer card sends the question to each coordinator with a "Svara"
button. "Svara" asks for the answer with a forced reply, so what the coordinator types is a
reply to that prompt and belongs to that question. The asker gets the answer with "Svara" and
"Tack" buttons: writing back goes, the same way, to the coordinator who answered; "Tack" sends
them a short notice. Only the asker and that coordinator can use a thread's buttons, and every
message passes the personal-data guard. The first answer is stored (like the question, for 90
days); later messages in the thread are passed on only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final, TypeVar

from telegram import Chat, ForceReply, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import NO_PREVIEW, BotContext
from bot.guard import contains_identity_number, normalise
from bot.i18n import Lang, as_lang, t
from bot.state import flow_draft
from handlers.ask.buttons import ForwardButton, ReplyButton, ThreadButton
from handlers.ask.render import localised, split_message
from handlers.ask.shared import PendingText, knowledge_base
from handlers.common import (
    COORDINATORS,
    Pressed,
    checked_press,
    keyboard,
    municipality_label,
    person_params,
    reply,
    shorten,
    staff_and_lang,
)
from storage import presses as press_store
from storage.knowledge import store as kb_store

B = TypeVar("B", ReplyButton, ThreadButton)
logger = logging.getLogger(__name__)

# Quoted questions are cut so that a forwarded question or a reply stays phone-sized.
QUOTE_LIMIT: Final = 800
REPLY_QUOTE_LIMIT: Final = 300
# A prompt names the question in a few words; Telegram's input placeholder takes 64 characters.
PROMPT_QUOTE_LIMIT: Final = 60
PLACEHOLDER_LIMIT: Final = 64
# The forced-reply prompts a person keeps open (the newest ones; older ones are forgotten).
OPEN_PROMPTS: Final = 5


@flow_draft("thread_prompts")
@dataclass
class ThreadPrompts:
    """The forced-reply prompts open in this person's private chat ``chat``: prompt message
    id → the thread (coordinator question id) a reply to it belongs to. Unlike the pending
    text, pressing other buttons meanwhile does not close them."""

    chat: int = 0
    open: dict[int, int] = field(default_factory=dict)


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
    """A coordinator presses "Svara" on a question (or on the asker's message): a forced
    reply prompt; what they type in reply goes to the asker."""
    press = await checked_press(update, context, ReplyButton, roles=COORDINATORS)
    if press is not None:
        await _prompt(update, context, press, press.data.forwarded_id, to_asker=True)


async def write_again(update: Update, context: BotContext) -> None:
    """The asker presses "Svara" under a coordinator's message: a forced reply prompt; what
    they type in reply goes to that coordinator."""
    press = await checked_press(update, context, ThreadButton)
    if press is not None:
        await _prompt(update, context, press, press.data.forwarded_id, to_asker=False)


async def _turn(
    context: BotContext, press: Pressed[B], forwarded_id: int, *, to_asker: bool
) -> kb_store.ThreadTurn | None:
    """The presser's turn in the thread, if they are in it on the button's side (the
    coordinator's "Svara" writes to the asker, the asker's buttons to the coordinator);
    otherwise they are told why and the result is None."""
    turn = await context.db.run(
        kb_store.thread_turn, coordinator_question_id=forwarded_id, staff_id=press.staff_id
    )
    if turn.status is kb_store.ReplyStatus.OK and turn.to_asker is not to_asker:
        turn = kb_store.ThreadTurn(kb_store.ReplyStatus.NOT_RECIPIENT)
    if turn.status is not kb_store.ReplyStatus.OK or turn.recipient is None:
        await press.query.answer(_refusal(turn, press.lang), show_alert=True)
        return None
    return turn


async def _prompt(
    update: Update, context: BotContext, press: Pressed[B], forwarded_id: int, *, to_asker: bool
) -> None:
    """Asks for the message with a forced reply, tied to the thread."""
    chat = update.effective_chat
    turn = await _turn(context, press, forwarded_id, to_asker=to_asker)
    if turn is None or turn.recipient is None or chat is None:
        return
    await press.query.answer()
    lang, name = press.lang, turn.recipient.name
    placeholder = shorten(t("ask.reply_placeholder", lang, name=name), PLACEHOLDER_LIMIT)
    prompt = await chat.send_message(
        t("ask.reply_prompt", lang, name=name, question=shorten(turn.question, PROMPT_QUOTE_LIMIT)),
        reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder),
        link_preview_options=NO_PREVIEW,
    )
    _await_reply(update, context, forwarded_id, prompt.message_id)


def _await_reply(update: Update, context: BotContext, forwarded_id: int, prompt: int) -> None:
    """Take a reply to ``prompt``, or else the person's next text in this chat (within 30
    minutes, no other button pressed), as their message in thread ``forwarded_id``."""
    chat = update.effective_chat
    assert chat is not None
    pending = PendingText(kind="reply", chat=chat.id, at=context.now())
    pending.forwarded_id = forwarded_id
    context.state.put(pending)
    prompts = context.state.get(ThreadPrompts)
    if prompts is None or prompts.chat != chat.id:
        prompts = ThreadPrompts(chat=chat.id)
    if prompt:
        prompts.open[prompt] = forwarded_id
    for old in sorted(prompts.open)[:-OPEN_PROMPTS]:
        del prompts.open[old]
    context.state.put(prompts)


def thread_of_reply(context: BotContext, chat_id: int, replied_to: int) -> int | None:
    """The thread whose prompt ``replied_to`` is, in chat ``chat_id`` (None: no open prompt)."""
    prompts = context.state.get(ThreadPrompts)
    if prompts is None or prompts.chat != chat_id:
        return None
    return prompts.open.get(replied_to)


def _close_prompts(context: BotContext, forwarded_id: int) -> None:
    """The person wrote in the thread: its prompts are used."""
    prompts = context.state.get(ThreadPrompts)
    if prompts is not None:
        prompts.open = {k: v for k, v in prompts.open.items() if v != forwarded_id}
        context.state.put(prompts)


def _refusal(turn: kb_store.ThreadTurn, lang: Lang) -> str:
    if turn.status is kb_store.ReplyStatus.ANSWERED:
        if turn.answered_by is None:
            return t("ask.reply_answered_unknown", lang)
        return t("ask.reply_answered", lang, name=turn.answered_by.name)
    if turn.status is kb_store.ReplyStatus.NOT_RECIPIENT:
        return t("ask.reply_not_recipient", lang)
    return t("ask.reply_gone", lang)


async def deliver_reply(update: Update, context: BotContext, forwarded_id: int, text: str) -> None:
    """Guards a message in thread ``forwarded_id`` (a coordinator's first answer is stored),
    then passes it to the other person with the buttons to write back."""
    staff, lang = await staff_and_lang(update, context)
    if staff is None or staff.id is None:
        await reply(update, t("core.not_registered", lang))
        return
    message = update.effective_message
    prompt = message.reply_to_message if message is not None else None
    answer = normalise(text).strip()
    if contains_identity_number(answer):
        # Nothing is stored or passed on; the prompt stays open for the message without it.
        _await_reply(update, context, forwarded_id, prompt.message_id if prompt else 0)
        await reply(update, t("ask.reply_personnummer", lang))
        return
    turn = await context.db.run(
        kb_store.take_turn,
        coordinator_question_id=forwarded_id,
        staff_id=staff.id,
        text=answer,
        now=context.now(),
    )
    if turn.status is not kb_store.ReplyStatus.OK or turn.recipient is None:
        await reply(update, _refusal(turn, lang))
        return
    _close_prompts(context, forwarded_id)
    name = turn.recipient.name
    if not await _pass_on(context, forwarded_id, turn, answer):
        key = "ask.reply_undeliverable" if turn.first else "ask.thread_undeliverable"
        await reply(update, t(key, lang, name=name))
        return
    logger.info("Coordinator thread %s: a message passed on", forwarded_id)
    await reply(update, t("ask.reply_sent", lang, name=name))


async def _pass_on(
    context: BotContext, forwarded_id: int, turn: kb_store.ThreadTurn, text: str
) -> bool:
    """Sends ``text`` to the thread's other person, with the buttons to write back; False when
    Telegram would not deliver it."""
    sender, recipient = turn.sender, turn.recipient
    assert sender is not None and recipient is not None
    lang = as_lang(recipient.language)
    if turn.to_asker:
        key = "ask.reply_to_asker" if turn.first else "ask.thread_to_asker"
        buttons = [
            (t("ask.again_button", lang), ThreadButton("again", forwarded_id).pack()),
            (t("ask.thanks_button", lang), ThreadButton("thanks", forwarded_id).pack()),
        ]
    else:
        key = "ask.thread_to_coordinator"
        buttons = [(t("ask.reply_button", lang), ReplyButton("reply", forwarded_id).pack())]
    message = t(
        key,
        lang,
        name=sender.name,
        role=t(f"core.roles.{sender.role}", lang),
        question=shorten(turn.question, REPLY_QUOTE_LIMIT),
        answer=text,
    )
    parts = split_message(message)
    try:
        for index, part in enumerate(parts):
            markup = keyboard([buttons]) if index == len(parts) - 1 else None
            await context.bot.send_message(
                recipient.telegram_id, part, reply_markup=markup, link_preview_options=NO_PREVIEW
            )
    except (Forbidden, BadRequest):
        return False
    return True


async def thank(update: Update, context: BotContext) -> None:
    """The asker presses "Tack" under an answer: the coordinator gets a short notice (once per
    message), the asker an alert, and the button goes."""
    press = await checked_press(update, context, ThreadButton)
    if press is None:
        return
    forwarded_id = press.data.forwarded_id
    turn = await _turn(context, press, forwarded_id, to_asker=False)
    if turn is None or turn.sender is None or turn.recipient is None:
        return
    if not await _first_thanks(context, press):
        await press.query.answer(t("core.already_done", press.lang))
        return
    coordinator, lang = turn.recipient, press.lang
    notice = t(
        "ask.thanked",
        as_lang(coordinator.language),
        name=turn.sender.name,
        question=shorten(turn.question, PROMPT_QUOTE_LIMIT),
    )
    try:
        await context.bot.send_message(coordinator.telegram_id, notice)
    except (Forbidden, BadRequest):
        await press.query.answer(
            t("ask.thread_undeliverable", lang, name=coordinator.name), show_alert=True
        )
        return
    await press.query.answer(t("ask.thanks_sent", lang, name=coordinator.name))
    again = [[(t("ask.again_button", lang), ThreadButton("again", forwarded_id).pack())]]
    await press.query.edit_message_reply_markup(keyboard(again))
    logger.info("Coordinator thread %s: the asker said thanks", forwarded_id)


async def _first_thanks(context: BotContext, press: Pressed[ThreadButton]) -> bool:
    """True for the first "Tack" on this message (a double tap thanks once)."""
    message = press.query.message
    if message is None or not press.query.data:
        return True
    chat_id, message_id, data = message.chat.id, message.message_id, press.query.data
    return await context.db.run(
        lambda session: press_store.claim_press(
            session, chat_id=chat_id, message_id=message_id, data=data, now=context.now()
        )
    )


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The "Fråga en samordnare", "Svara" and "Tack" buttons."""
    return [
        CallbackQueryHandler(ask_coordinator, pattern=ForwardButton.matching()),
        CallbackQueryHandler(start_reply, pattern=ReplyButton.matching()),
        CallbackQueryHandler(write_again, pattern=ThreadButton.matching(action="again")),
        CallbackQueryHandler(thank, pattern=ThreadButton.matching(action="thanks")),
    ]
