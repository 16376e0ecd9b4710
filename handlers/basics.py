"""/help, /language, /privacy, /cancel outside a flow, and unknown commands."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.buttons import ButtonData
from bot.context import BotContext, Feature
from bot.i18n import Lang, t
from handlers.common import (
    ADMIN_ONLY,
    CommandSpec,
    already_pressed,
    edit_or_send,
    keyboard,
    reply,
    staff_and_lang,
    user_lang,
)
from storage.people import store as staff_store
from storage.pulse.logic import MIN_K

logger = logging.getLogger(__name__)

COMMANDS = [
    CommandSpec("help", "core.commands.help"),
    CommandSpec("language", "core.commands.language"),
    CommandSpec("privacy", "core.commands.privacy"),
    CommandSpec("cancel", "core.commands.cancel", in_menu=False),
]


def commands_for(role: str | None, commands: list[CommandSpec]) -> list[CommandSpec]:
    """The commands a person with ``role`` (None: not registered) may use, in order; the
    administration commands (whichever feature they belong to) come last."""
    allowed = [
        spec for spec in commands if spec.roles is None or (role is not None and role in spec.roles)
    ]
    return sorted(allowed, key=lambda spec: spec.roles == ADMIN_ONLY)


async def show_help(update: Update, context: BotContext) -> None:
    """Lists the commands this person's role may use."""
    staff, lang = await staff_and_lang(update, context)
    allowed = commands_for(staff.role if staff else None, context.data.commands)
    lines = [t("core.help_title", lang), ""]
    lines += [f"/{spec.command} – {t(spec.text_key, lang)}" for spec in allowed]
    lines += ["", t("core.help_unregistered_note" if staff is None else "core.help_footer", lang)]
    await reply(update, "\n".join(lines))


class LanguageButton(ButtonData, prefix="lang"):
    """🇸🇪 Svenska / 🇬🇧 English under /language."""

    lang: Lang


_SV, _EN = LanguageButton("sv").pack(), LanguageButton("en").pack()


async def pick_language(update: Update, context: BotContext) -> None:
    """Offers Swedish and English as buttons."""
    _staff, lang = await staff_and_lang(update, context)
    await reply(
        update,
        t("core.language_pick", lang),
        keyboard(
            [
                [
                    ("🇸🇪 Svenska", _SV),
                    ("🇬🇧 English", LanguageButton("en").pack()),
                ]
            ]
        ),
    )


async def set_language(update: Update, context: BotContext) -> None:
    """Stores the chosen language and confirms in it."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    chosen = LanguageButton.parse(query.data)
    if chosen is None:
        await query.answer(t("core.stale_button", user_lang(update, context)), show_alert=True)
        return
    lang = chosen.lang
    user_id = update.effective_user.id
    await context.db.run(
        lambda session: staff_store.set_language(session, telegram_id=user_id, language=lang)
    )
    context.state.lang = lang
    await query.answer()
    await edit_or_send(update, t("core.language_set", lang))


async def show_privacy(update: Update, context: BotContext) -> None:
    """What the bot stores and what it never stores."""
    _staff, lang = await staff_and_lang(update, context)
    await reply(update, t("core.privacy", lang, k=MIN_K))


async def cancel_nothing(update: Update, context: BotContext) -> None:
    """/cancel when no flow is running."""
    await reply(update, t("core.nothing_to_cancel", user_lang(update, context)))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know: point to /help."""
    await reply(update, t("core.unknown_command", user_lang(update, context)))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button nobody handles (its flow ended or timed out, or forged data): say so, so the
    person's phone does not show a spinning button."""
    query = update.callback_query
    if query is None:
        return
    # A second tap on a one-shot button whose flow the first tap finished: "already done".
    key = "core.already_done" if await already_pressed(update, context) else "core.stale_button"
    await query.answer(t(key, user_lang(update, context)), show_alert=True)


async def gatekeeper(update: Update, context: BotContext) -> None:
    """Sees every update first. An edited message is never taken as a new one (not as a
    question, a pulse comment, a step of a flow or a command): a private text edit gets a
    hint and nothing else runs. Telegram Business messages (someone's business chat with a
    customer, which the private-chat filters would also match) are never handled."""
    business = (
        update.business_message,
        update.edited_business_message,
        update.deleted_business_messages,
        update.business_connection,
    )
    if any(item is not None for item in business):
        raise ApplicationHandlerStop
    if update.edited_message is not None or update.edited_channel_post is not None:
        await edited_message(update, context)


async def edited_message(update: Update, context: BotContext) -> None:
    """The hint for an edit (see :func:`gatekeeper`); always stops the update."""
    message = update.edited_message
    try:
        if (
            message is not None
            and message.chat.type == ChatType.PRIVATE
            and message.text
            and not message.text.startswith("/")
        ):
            await message.reply_text(t("core.edit_ignored", user_lang(update, context)))
    except TelegramError as exc:
        # The hint is a courtesy: if it cannot be sent (429, network), the edit must still
        # stop here, or the next group would take it as new input.
        logger.warning("Edit hint not sent (%s)", type(exc).__name__)
    raise ApplicationHandlerStop


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The basic commands (unknown commands are added last by the app)."""
    return [
        CommandHandler("help", show_help),
        CommandHandler("language", pick_language),
        CallbackQueryHandler(set_language, pattern=LanguageButton.matching()),
        CommandHandler("privacy", show_privacy),
        # /cancel with no flow running is added by the app after every feature's flows
        # (bot/shell/app.py), so that the flows' own /cancel fallbacks are tried first.
    ]


FEATURE = Feature(name="basics", commands=COMMANDS, handlers=build_handlers)
