"""Helpers the pulse handlers share: links, the secret, templates, local time."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from typing import Final

from telegram import Update
from telegram.ext import ConversationHandler

from bot.context import BotContext
from bot.i18n import Lang, t
from handlers.common import authorise, reply, user_lang
from handlers.pulse.render import MESSAGE_LIMIT
from storage.people.models import Staff
from storage.pulse.secret import PulseSecret, load_pulse_secret
from storage.pulse.templates import Template, load_all_templates, site_templates_dir

logger = logging.getLogger(__name__)


def pulse_secret(context: BotContext) -> bytes:
    def load() -> PulseSecret:
        return PulseSecret(load_pulse_secret(context.settings))

    return context.data.services.get_or_add(PulseSecret, load).key


def invite_link(bot_username: str, token: str) -> str:
    """A personal one-time link to an invited-only pulse."""
    return f"https://t.me/{bot_username}?start=pinv_{token}"


def pulse_link(bot_username: str, token: str) -> str:
    """The deep link that opens the pulse in the bot."""
    return f"https://t.me/{bot_username}?start=pulse_{token}"


def local_time(moment: dt.datetime, context: BotContext) -> dt.datetime:
    return moment.astimezone(context.settings.tz)


def _tg_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def prefixed(prefix: str, text: str) -> str:
    """``prefix`` above ``text`` when both fit a short message; otherwise ``text`` alone."""
    combined = f"{prefix}\n\n{text}"
    return combined if _tg_len(combined) <= MESSAGE_LIMIT else text


async def site_templates(context: BotContext) -> dict[str, Template]:
    folder = site_templates_dir(context.settings.data_dir)
    return await asyncio.to_thread(load_all_templates, folder)


def is_private(update: Update) -> bool:
    # Results, comments and trends go only to a private chat, never to a group the
    # organiser happens to type in (and /puls is for the organiser's own chat too).
    return update.effective_chat is not None and update.effective_chat.type == "private"


def template_label(template: Template, lang: Lang) -> str:
    title = template.title.get(lang)
    return t("pulse.template_family", lang, title=title) if template.audience == "family" else title


async def staff_in_private(update: Update, context: BotContext) -> tuple[Staff, Lang] | None:
    """The registered presser or sender and their language, in a private chat; otherwise
    they have been told why not (not registered, or: this works in a private chat only)."""
    staff = await authorise(update, context)
    if staff is None:
        return None
    lang = user_lang(update, context, staff)
    if not is_private(update):
        await reply(update, t("core.private_only", lang))
        return None
    return staff, lang


# /cancel (and /avbryt, should it reach us unmapped), with or without the bot's name.
CANCEL: Final = re.compile(r"^/(?:cancel|avbryt)(?:@\w+)?\s*$", re.IGNORECASE)


def is_cancel(text: str | None) -> bool:
    """Whether ``text`` is /cancel."""
    return text is not None and CANCEL.match(text) is not None


def flow_takes(update: Update, context: BotContext) -> bool:
    """Whether a running flow (a conversation in the main group) takes this update."""
    for handler in context.application.handlers.get(0, []):
        if isinstance(handler, ConversationHandler):
            check = handler.check_update(update)
            if check is not None and check is not False:
                return True
    return False
