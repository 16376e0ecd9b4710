"""/help (grouped, details by button), /language, /privacy (a summary, the rest by button),
/cancel outside a flow, unknown commands ("did you mean"), and media the bot cannot read."""

from __future__ import annotations

import html
import logging
import unicodedata
from collections.abc import Sequence
from typing import Final, Literal

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler
from telegram.ext import filters as ptb_filters

from bot.buttons import ButtonData
from bot.context import BotContext, Feature
from bot.i18n import Lang, t
from handlers.common import (
    ADMIN_ONLY,
    CommandSpec,
    already_pressed,
    edit_or_send,
    keyboard,
    public_press,
    reply,
    staff_and_lang,
    user_lang,
)
from handlers.people.menus import commands_for, refresh_person_menu
from storage.people import store as staff_store
from storage.pulse.logic import MIN_K

logger = logging.getLogger(__name__)

COMMANDS = [
    CommandSpec("help", "core.commands.help"),
    CommandSpec("language", "core.commands.language"),
    CommandSpec("privacy", "core.commands.privacy"),
    CommandSpec("cancel", "core.commands.cancel"),
]

# -- /help: a few groups, each group's commands behind its button --------------------------

HelpGroup = Literal["ask", "plans", "pulse", "me", "admin"]
HELP_GROUPS: Final[dict[HelpGroup, tuple[str, ...]]] = {
    "ask": ("fraga", "artiklar", "kb_artikel"),
    "plans": ("planer", "ny_plan", "plan"),
    "pulse": ("puls", "puls_resultat", "puls_trend"),
    "me": ("settings", "language", "privacy", "mina_data", "start", "help", "cancel"),
    "admin": ("staff", "invite", "kb_gaps", "kb_reload"),
}
# A summary line stops adding commands at this width (a phone shows about 35 characters).
LINE_WIDTH: Final = 35


class HelpButton(ButtonData, prefix="help"):
    """``help:<group>``: that group's commands; ``help:top``: back to the summary."""

    group: Literal["ask", "plans", "pulse", "me", "admin", "top"]


def _group_of(spec: CommandSpec) -> HelpGroup:
    for group, names in HELP_GROUPS.items():
        if spec.command in names:
            return group
    return "admin" if spec.roles == ADMIN_ONLY else "me"


def help_groups(
    role: str | None, commands: Sequence[CommandSpec]
) -> dict[HelpGroup, list[CommandSpec]]:
    """The commands ``role`` may use, by group, in the order /help shows them."""
    allowed = commands_for(role, commands)
    groups: dict[HelpGroup, list[CommandSpec]] = {}
    for group, names in HELP_GROUPS.items():
        inside = [spec for spec in allowed if _group_of(spec) == group]
        inside.sort(key=lambda spec: names.index(spec.command) if spec.command in names else 99)
        if inside:
            groups[group] = inside
    return groups


def _summary_line(group: HelpGroup, specs: list[CommandSpec], lang: Lang) -> str:
    line = t(f"core.help_group.{group}", lang) + ":"
    for spec in specs:
        more = f"{line} /{spec.name(lang)}"
        if len(more) > LINE_WIDTH and not line.endswith(":"):
            break
        line = more
    return line


def help_summary(
    role: str | None, commands: Sequence[CommandSpec], lang: Lang
) -> tuple[str, InlineKeyboardMarkup]:
    """The short /help: one line per group, a button per group."""
    groups = help_groups(role, commands)
    lines = [f"<b>{html.escape(t('core.help_title', lang))}</b>", ""]
    lines += [html.escape(_summary_line(group, specs, lang)) for group, specs in groups.items()]
    footer = "core.help_unregistered_note" if role is None else "core.help_footer"
    lines += ["", html.escape(t(footer, lang))]
    buttons = [(t(f"core.help_group.{group}", lang), HelpButton(group).pack()) for group in groups]
    rows = [buttons[index : index + 2] for index in range(0, len(buttons), 2)]
    return "\n".join(lines), keyboard(rows)


def help_detail(
    group: HelpGroup, specs: list[CommandSpec], lang: Lang
) -> tuple[str, InlineKeyboardMarkup]:
    """One group's commands, each with what it does."""
    lines = [f"<b>{html.escape(t(f'core.help_group.{group}', lang))}</b>"]
    lines += [html.escape(f"/{spec.name(lang)} – {t(spec.text_key, lang)}") for spec in specs]
    back = [[(t("core.admin_back", lang), HelpButton("top").pack())]]
    return "\n".join(lines), keyboard(back)


async def show_help(update: Update, context: BotContext) -> None:
    """The groups of commands this person's role may use, with a button for each."""
    staff, lang = await staff_and_lang(update, context)
    text, markup = help_summary(staff.role if staff else None, context.data.commands, lang)
    await reply(update, text, markup, html=True)


async def press_help(update: Update, context: BotContext) -> None:
    """A group's button on /help (or "back"): the same message shows it. A group the
    presser's role may not use is refused as stale (the role is read again)."""
    query = update.callback_query
    assert query is not None
    staff, lang = await staff_and_lang(update, context)
    chosen = HelpButton.parse(query.data)
    role = staff.role if staff else None
    groups = help_groups(role, context.data.commands)
    if chosen is None or (chosen.group != "top" and chosen.group not in groups):
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return
    await query.answer()
    if chosen.group == "top":
        text, markup = help_summary(role, context.data.commands, lang)
    else:
        text, markup = help_detail(chosen.group, groups[chosen.group], lang)
    await edit_or_send(update, text, markup, html=True)


# -- /language ---------------------------------------------------------------------------------


class LanguageButton(ButtonData, prefix="lang"):
    """🇸🇪 Svenska / 🇬🇧 English under /language."""

    lang: Lang


async def pick_language(update: Update, context: BotContext) -> None:
    """Offers Swedish and English as buttons."""
    _staff, lang = await staff_and_lang(update, context)
    await reply(
        update,
        t("core.language_pick", lang),
        keyboard(
            [
                [
                    ("🇸🇪 Svenska", LanguageButton("sv").pack()),
                    ("🇬🇧 English", LanguageButton("en").pack()),
                ]
            ]
        ),
    )


async def set_language(update: Update, context: BotContext) -> None:
    """Stores the chosen language, gives a registered person their menu in it, and
    confirms in it."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    chosen = await public_press(update, context, LanguageButton)
    if chosen is None:
        return
    lang = chosen.lang
    user_id = update.effective_user.id
    staff = await context.db.run(
        lambda session: staff_store.set_language(session, telegram_id=user_id, language=lang)
    )
    context.state.lang = lang
    await query.answer()
    await edit_or_send(update, t("core.language_set", lang))
    if staff is not None:
        await refresh_person_menu(context, staff, user_id)


# -- /privacy ----------------------------------------------------------------------------------


class PrivacyButton(ButtonData, prefix="prv"):
    """``prv:more`` (the whole text) / ``prv:less`` (the summary) under /privacy."""

    show: Literal["more", "less"]


def privacy_view(lang: Lang, *, full: bool) -> tuple[str, InlineKeyboardMarkup]:
    """/privacy: the summary, or the summary with the details in an expandable quote."""
    title = f"<b>{html.escape(t('core.privacy_title', lang))}</b>"
    summary = html.escape(t("core.privacy_summary", lang, k=MIN_K))
    if not full:
        more = [[(t("core.privacy_more", lang), PrivacyButton("more").pack())]]
        return f"{title}\n\n{summary}", keyboard(more)
    details = html.escape(t("core.privacy", lang, k=MIN_K))
    text = f"{title}\n\n{summary}\n\n<blockquote expandable>{details}</blockquote>"
    less = [[(t("core.privacy_less", lang), PrivacyButton("less").pack())]]
    return text, keyboard(less)


async def show_privacy(update: Update, context: BotContext) -> None:
    """What the bot stores and never stores, in short, with a button for the details."""
    _staff, lang = await staff_and_lang(update, context)
    text, markup = privacy_view(lang, full=False)
    await reply(update, text, markup, html=True)


async def press_privacy(update: Update, context: BotContext) -> None:
    """ "More" / "less" under /privacy: the same message shows the details or the summary
    (public text: anyone may press it)."""
    query = update.callback_query
    assert query is not None
    chosen = await public_press(update, context, PrivacyButton)
    if chosen is None:
        return
    lang = user_lang(update, context)
    await query.answer()
    text, markup = privacy_view(lang, full=chosen.show == "more")
    await edit_or_send(update, text, markup, html=True)


async def cancel_nothing(update: Update, context: BotContext) -> None:
    """/cancel when no flow is running."""
    await reply(update, t("core.nothing_to_cancel", user_lang(update, context)))


def _folded(text: str) -> str:
    """``text`` as a command name could be meant: lower case, å/ä/ö as a/a/o, spaces as _."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "_".join(plain.split())


def did_you_mean(text: str, commands: Sequence[CommandSpec], lang: Lang) -> str | None:
    """The command (its name in ``lang``) a mistyped one was most likely meant to be:
    /hjälp, /hjalpp, "/ny plan", or None when nothing is close."""
    words = text.removeprefix("/").split()
    if not words:
        return None
    names = {name: spec for spec in commands for name in spec.names()}
    first = _folded(words[0].split("@")[0])
    tries = [_folded(" ".join(words[:2]).split("@")[0]), first] if len(words) > 1 else [first]
    for attempt in tries:
        if attempt in names:
            return names[attempt].name(lang)
    from rapidfuzz import fuzz, process  # at the first mistyped command, not at start-up

    found = process.extractOne(first, list(names), scorer=fuzz.ratio, score_cutoff=75)
    return names[found[0]].name(lang) if found is not None else None


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know: the nearest one it knows ("did you mean"), else a
    pointer to /help."""
    staff, lang = await staff_and_lang(update, context)
    message = update.effective_message
    allowed = commands_for(staff.role if staff else None, context.data.commands)
    guess = did_you_mean(message.text or "", allowed, lang) if message is not None else None
    help_name = next((spec.name(lang) for spec in allowed if spec.command == "help"), "help")
    if guess is not None:
        await reply(update, t("core.did_you_mean", lang, command=guess, help=help_name))
    else:
        await reply(update, t("core.unknown_command", lang, help=help_name))


# What a private chat may send that the bot cannot read: answered, and nothing is kept.
MEDIA: Final = ptb_filters.ChatType.PRIVATE & (
    ptb_filters.VOICE
    | ptb_filters.AUDIO
    | ptb_filters.PHOTO
    | ptb_filters.Sticker.ALL
    | ptb_filters.VIDEO
    | ptb_filters.VIDEO_NOTE
    | ptb_filters.Document.ALL
)


async def media_message(update: Update, context: BotContext) -> None:
    """A voice note, picture, sticker, video or file: what the bot can take instead."""
    staff, lang = await staff_and_lang(update, context)
    key = "core.media_reply" if staff is not None else "core.media_reply_stranger"
    await reply(update, t(key, lang))


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
    """The basic commands (unknown commands and media are added last by the app)."""
    return [
        CommandHandler("help", show_help),
        CallbackQueryHandler(press_help, pattern=HelpButton.matching()),
        CommandHandler("language", pick_language),
        CallbackQueryHandler(set_language, pattern=LanguageButton.matching()),
        CommandHandler("privacy", show_privacy),
        CallbackQueryHandler(press_privacy, pattern=PrivacyButton.matching()),
        # /cancel with no flow running is added by the app after every feature's flows
        # (bot/shell/app.py), so that the flows' own /cancel fallbacks are tried first.
    ]


FEATURE = Feature(name="basics", commands=COMMANDS, handlers=build_handlers)
