"""/settings (/installningar): the person's name, role and municipality shown; language and
the daily digest changed by buttons, on the same message."""

from __future__ import annotations

import html
from typing import Literal

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.buttons import ButtonData
from bot.context import BotContext, Feature
from bot.i18n import Lang, as_lang, format_time, t
from handlers.common import (
    STAFF_ROLES,
    CommandSpec,
    authorise,
    checked_press,
    edit_or_send,
    keyboard,
    person_params,
    private_only,
)
from handlers.people.menus import refresh_person_menu
from storage.people import store as staff_store
from storage.people.models import Staff
from storage.plans import reminders as reminder_store
from storage.plans.duetimes import ReminderPolicy

COMMANDS = [CommandSpec("settings", "core.commands.settings", STAFF_ROLES)]

LANGUAGE_NAMES: dict[Lang, str] = {"sv": "🇸🇪 Svenska", "en": "🇬🇧 English"}


class SettingsButton(ButtonData, prefix="set"):
    """``set:lang:<sv|en>`` (answer in this language), ``set:digest:<on|off>``."""

    setting: Literal["lang", "digest"]
    value: Literal["sv", "en", "on", "off"]


def settings_view(
    staff: Staff, lang: Lang, digest_on: bool, policy: ReminderPolicy
) -> tuple[str, InlineKeyboardMarkup]:
    """The settings message and its buttons, in ``lang``."""
    about = person_params(lang, staff.display_name, staff.role, staff.municipality)
    digest_key = "core.settings_digest_on" if digest_on else "core.settings_digest_off"
    text = t(
        "core.settings_view",
        lang,
        name=html.escape(about["name"]),
        role=html.escape(about["role"]),
        municipality=html.escape(about["municipality"]),
        language=LANGUAGE_NAMES[lang],
        digest=t(digest_key, lang, time=format_time(policy.clamp(policy.send_at))),
    )
    other: Lang = "en" if lang == "sv" else "sv"
    turn: Literal["on", "off"] = "off" if digest_on else "on"
    rows = [
        [(LANGUAGE_NAMES[other], SettingsButton("lang", other).pack())],
        [(t(f"core.settings_digest_turn_{turn}", lang), SettingsButton("digest", turn).pack())],
    ]
    return text, keyboard(rows)


async def _show(update: Update, context: BotContext, staff: Staff, lang: Lang) -> None:
    assert staff.id is not None
    staff_id = staff.id
    preference = await context.db.run(
        lambda session: reminder_store.get_preference(session, staff_id=staff_id)
    )
    policy = context.data.services.get(ReminderPolicy)
    text, markup = settings_view(staff, lang, preference.daily_digest, policy)
    await edit_or_send(update, text, markup, html=True)


async def show_settings(update: Update, context: BotContext) -> None:
    """A staff member opens /settings: who they are, their language and the daily digest."""
    staff = await authorise(update, context)
    if staff is not None:
        lang = as_lang(context.state.lang or staff.language)
        await _show(update, context, staff, lang)


async def change_setting(update: Update, context: BotContext) -> None:
    """A tap on /settings: the language or the daily digest changes, and the same message
    shows the new settings (in the new language)."""
    press = await checked_press(update, context, SettingsButton)
    if press is None:
        return
    staff, lang, chosen = press.staff, press.lang, press.data
    if chosen.setting == "lang" and chosen.value in ("sv", "en"):
        lang = as_lang(chosen.value)
        user_id = staff.telegram_id
        changed = await context.db.run(
            lambda session: staff_store.set_language(session, telegram_id=user_id, language=lang)
        )
        context.state.lang = lang
        staff = changed or staff
        await refresh_person_menu(context, staff, user_id)
        await press.query.answer(t("core.language_set", lang))
    elif chosen.setting == "digest" and chosen.value in ("on", "off"):
        enabled = chosen.value == "on"
        staff_id = press.staff_id
        await context.db.run(
            lambda session: reminder_store.set_daily_digest(
                session, staff_id=staff_id, enabled=enabled
            )
        )
        saved = "core.settings_digest_saved_on" if enabled else "core.settings_digest_saved_off"
        await press.query.answer(t(saved, lang))
    else:
        await press.stale()
        return
    await _show(update, context, staff, lang)


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/settings and its buttons (in a private chat: it shows the person's own data)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("settings", show_settings, private),
        CommandHandler("settings", private_only, ~private),
        CallbackQueryHandler(change_setting, pattern=SettingsButton.matching()),
    ]


FEATURE = Feature(name="settings", commands=COMMANDS, handlers=build_handlers)
