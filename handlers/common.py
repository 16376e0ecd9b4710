"""Small helpers every handler module uses: who is asking, in which language, may they."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext, CommandSpec
from bot.i18n import Lang, as_lang, t
from storage import presses as press_store
from storage import staff as staff_store
from storage.models import Role, Staff

# Callback data is always ``prefix:part:part``; parts are short tokens or numbers.
_CALLBACK = re.compile(r"[a-z]{2,8}(:[A-Za-z0-9_.-]{1,40}){0,4}")


__all__ = ["CommandSpec"]

STAFF_ROLES = frozenset({Role.ADMIN.value, Role.COORDINATOR.value, Role.STAFF.value})
ADMIN_ONLY = frozenset({Role.ADMIN.value})
COORDINATORS = frozenset({Role.ADMIN.value, Role.COORDINATOR.value})


# Row ids are 32-bit integers on PostgreSQL: a larger number from button data is forged.
MAX_ID: Final = 2**31 - 1


def parse_id(part: str | None) -> int | None:
    """A row id from button data, or None when it cannot be one (not digits, out of range)."""
    if part is None or not part.isascii() or not part.isdigit() or len(part) > 10:
        return None
    number = int(part)
    return number if 0 < number <= MAX_ID else None


# No list has more pages than this; a larger page number from button data is forged.
MAX_PAGE: Final = 9999


def parse_page(part: str | None) -> int | None:
    """A page number (from 0) from button data, or None when it cannot be one."""
    if part is None or not part.isascii() or not part.isdigit() or len(part) > 5:
        return None
    number = int(part)
    return number if number <= MAX_PAGE else None


def callback_parts(data: str | None, prefix: str, count: int) -> list[str] | None:
    """The parts after ``prefix`` of well-formed callback data with ``count`` parts, or None."""
    if data is None or not _CALLBACK.fullmatch(data):
        return None
    parts = data.split(":")
    if parts[0] != prefix or len(parts) != count + 1:
        return None
    return parts[1:]


async def first_press(update: Update, context: BotContext) -> bool:
    """True for the first press of this kind of button on this message; a second (a double
    tap, a second phone, another process) gets a short alert and False. For the buttons that
    create or confirm something once.

    The kind is the button's data without its last part, so "3 svar" and "5 svar" tapped
    together on one message open one pulse.
    """
    query = update.callback_query
    message = query.message if query is not None else None
    if query is None or message is None or not query.data:
        return True
    parts = query.data.split(":")
    data = query.data if len(parts) < 3 else ":".join(parts[:-1])
    chat_id, message_id = message.chat.id, message.message_id
    first = await context.db.run(
        lambda session: press_store.claim_press(
            session, chat_id=chat_id, message_id=message_id, data=data, now=context.now()
        )
    )
    if not first:
        await query.answer(t("core.already_done", user_lang(update, context)))
    return first


async def current_staff(update: Update, context: BotContext) -> Staff | None:
    """The registered, active staff member behind this update, or None."""
    user = update.effective_user
    if user is None:
        return None
    return await context.db.run(lambda session: staff_store.get_staff(session, telegram_id=user.id))


def user_lang(update: Update, context: BotContext, staff: Staff | None = None) -> Lang:
    """The language to answer in: chosen in /language, stored for staff, else the default."""
    chosen = context.user_data.get("lang") if context.user_data is not None else None
    if chosen:
        return as_lang(chosen)
    if staff is not None:
        return as_lang(staff.language)
    user = update.effective_user
    if user is not None and user.language_code and user.language_code.startswith("en"):
        return "en"
    return as_lang(context.settings.default_language)


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send ``text`` to the chat the update came from."""
    chat = update.effective_chat
    if chat is not None:
        await chat.send_message(text, reply_markup=markup)


async def refuse(update: Update, text: str) -> None:
    """Tell the person no: as an alert for a button press, else as a message."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


async def authorise(
    update: Update, context: BotContext, roles: frozenset[str] = STAFF_ROLES
) -> Staff | None:
    """The staff member if their role is in ``roles``; otherwise refuse and return None."""
    staff = await current_staff(update, context)
    lang = user_lang(update, context, staff)
    if staff is None:
        await refuse(update, t("core.not_registered", lang))
        return None
    if staff.role not in roles:
        key = "core.not_allowed" if roles == ADMIN_ONLY else "core.not_allowed_coordinator"
        await refuse(update, t(key, lang))
        return None
    return staff


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of ``(label, callback_data)``."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def municipality_label(municipality: str, lang: Lang) -> str:
    """A municipality's name, or the region's label."""
    return t("core.municipality_region", lang) if municipality == "region" else municipality


async def edit_or_send(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the pressed message's text (a button flow), or send a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:
            # A double tap asks for the same text again; Telegram refuses "not modified".
            if "not modified" not in str(exc).lower():
                raise
    else:
        await reply(update, text, markup)


async def private_only(update: Update, context: BotContext) -> None:
    """A private-chat command used in a group: say where it works, show nothing."""
    await reply(update, t("core.private_only", user_lang(update, context)))


@dataclass(frozen=True)
class Press:
    """A button press by a registered person whose role allows it, with well-formed data."""

    query: CallbackQuery
    staff: Staff
    lang: Lang
    parts: list[str]

    @property
    def staff_id(self) -> int:
        """The presser's row id (a stored row always has one)."""
        assert self.staff.id is not None
        return self.staff.id

    async def stale(self) -> None:
        """Tell the presser the button no longer applies (forged, old or out of date)."""
        await self.query.answer(t("core.stale_button", self.lang), show_alert=True)


async def staff_press(
    update: Update,
    context: BotContext,
    prefix: str,
    count: int,
    *,
    roles: frozenset[str] = STAFF_ROLES,
    valid: Callable[[list[str]], bool] = lambda _parts: True,
) -> Press | None:
    """Every button's first checks, against the database: the presser is registered and their
    role is in ``roles``, and the data is ``prefix`` with ``count`` parts that pass ``valid``.
    Otherwise the person has been told why (a refusal or a "stale button" alert) and the
    result is None. The query is not answered on success: the caller answers with its own
    text."""
    query = update.callback_query
    assert query is not None
    staff = await authorise(update, context, roles)
    if staff is None:
        return None
    press = Press(query, staff, user_lang(update, context, staff), [])
    parts = callback_parts(query.data, prefix, count)
    if parts is None or not valid(parts):
        await press.stale()
        return None
    return Press(query, staff, press.lang, parts)
