"""Small helpers every handler module uses: who is asking, in which language, may they; a
checked button press; lists a page at a time; and the button flows (conversations) with
their /cancel and "use the buttons" fallbacks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, cast

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    TelegramObject,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.buttons import ButtonData
from bot.context import BotContext, CommandSpec, DalsbotBot
from bot.i18n import Lang, as_lang, t
from storage import presses as press_store
from storage.people import store as staff_store
from storage.people.models import Role, Staff

__all__ = ["CommandSpec"]

B = TypeVar("B", bound=ButtonData)
T = TypeVar("T")

STAFF_ROLES = frozenset({Role.ADMIN.value, Role.COORDINATOR.value, Role.STAFF.value})
ADMIN_ONLY = frozenset({Role.ADMIN.value})
COORDINATORS = frozenset({Role.ADMIN.value, Role.COORDINATOR.value})


def press_kind(data: str) -> str:
    """The kind of a one-shot button: its data without the last part ("3 svar" and "5 svar"
    on one message are one kind)."""
    parts = data.split(":")
    return data if len(parts) < 3 else ":".join(parts[:-1])


async def already_pressed(update: Update, context: BotContext) -> bool:
    """True when this kind of one-shot button on this message was pressed before."""
    query = update.callback_query
    message = query.message if query is not None else None
    if query is None or message is None or not query.data:
        return False
    chat_id, message_id, data = message.chat.id, message.message_id, press_kind(query.data)
    return await context.db.run(
        lambda session: press_store.was_pressed(
            session, chat_id=chat_id, message_id=message_id, data=data
        )
    )


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
    data = press_kind(query.data)
    chat_id, message_id = message.chat.id, message.message_id
    first = await context.db.run(
        lambda session: press_store.claim_press(
            session, chat_id=chat_id, message_id=message_id, data=data, now=context.now()
        )
    )
    if not first:
        # In the person's saved language (not only their phone's), as every other answer.
        staff = await current_staff(update, context)
        await query.answer(t("core.already_done", user_lang(update, context, staff)))
    return first


async def current_staff(update: Update, context: BotContext) -> Staff | None:
    """The registered, active staff member behind this update, or None."""
    user = update.effective_user
    if user is None:
        return None
    return await context.db.run(lambda session: staff_store.get_staff(session, telegram_id=user.id))


async def staff_and_lang(update: Update, context: BotContext) -> tuple[Staff | None, Lang]:
    """The registered person behind this update (None for anyone else) and the language to
    answer them in."""
    staff = await current_staff(update, context)
    return staff, user_lang(update, context, staff)


def user_lang(update: Update, context: BotContext, staff: Staff | None = None) -> Lang:
    """The language to answer in: chosen in /language, stored for staff, else the default."""
    chosen = context.user_data.lang if context.user_data is not None else None
    if chosen:
        return as_lang(chosen)
    if staff is not None:
        return as_lang(staff.language)
    user = update.effective_user
    if user is not None and user.language_code and user.language_code.startswith("en"):
        return "en"
    return as_lang(context.settings.default_language)


def parse_mode(html: bool) -> str | None:
    """Telegram's parse mode for a text: HTML when the text is formatted (every value put in
    it then goes through ``html.escape``), else plain text."""
    return ParseMode.HTML if html else None


async def reply(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    html: bool = False,
) -> None:
    """Send ``text`` to the chat the update came from (``html``: formatted, see
    :func:`parse_mode`)."""
    chat = update.effective_chat
    if chat is not None:
        await _bot(chat).send_unread(chat.id, text, markup, html=html)


def _bot(source: TelegramObject) -> DalsbotBot:
    """The bot ``source`` (a chat, a message) came through: always Dalsbot's own class
    (bot/shell/app.py)."""
    return cast(DalsbotBot, source.get_bot())


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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


def page_of(items: Sequence[T], page: int, per_page: int) -> tuple[list[T], int]:
    """The items on ``page`` (0-based, clamped) and the number of pages."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(page, 0), pages - 1)
    return list(items[page * per_page : (page + 1) * per_page]), pages


def page_buttons(
    page: int, pages: int, lang: Lang, page_data: Callable[[int], str]
) -> list[tuple[str, str]]:
    """◀/▶ under a list shown a page at a time: the buttons to the pages beside ``page``
    (none when there is only one page)."""
    nav = []
    if page > 0:
        nav.append((t("core.previous_page", lang), page_data(page - 1)))
    if page < pages - 1:
        nav.append((t("core.next_page", lang), page_data(page + 1)))
    return nav


def municipality_label(municipality: str, lang: Lang) -> str:
    """A municipality's name, or the region's label."""
    return t("core.municipality_region", lang) if municipality == "region" else municipality


def person_params(
    lang: Lang, name: str, role: str, municipality: str, organisation: str = ""
) -> dict[str, str]:
    """How a message presents a person: the ``name``, ``role``, ``municipality`` and (when
    given) ``organisation`` parameters of its text, in ``lang``."""
    params = {
        "name": name,
        "role": t(f"core.roles.{role}", lang),
        "municipality": municipality_label(municipality, lang),
    }
    if organisation:
        params["organisation"] = t(f"core.organisations.{organisation}", lang)
    return params


async def edit_or_send(
    update: Update,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    html: bool = False,
) -> None:
    """Replace the pressed message's text (a button flow), or send a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        message = query.message
        try:
            await _bot(query).edit_unread(
                message.chat.id, message.message_id, text, markup, html=html
            )
        except BadRequest as exc:
            # A double tap asks for the same text again; Telegram refuses "not modified".
            if "not modified" not in str(exc).lower():
                raise
    else:
        await reply(update, text, markup, html=html)


async def private_only(update: Update, context: BotContext) -> None:
    """A private-chat command used in a group: say where it works, show nothing."""
    await reply(update, t("core.private_only", user_lang(update, context)))


@dataclass(frozen=True)
class Pressed(Generic[B]):
    """A button press by a registered person whose role allows it, with data that parsed as
    the button kind ``B`` (see bot/buttons.py). The one shape of a checked press."""

    query: CallbackQuery
    staff: Staff
    lang: Lang
    data: B

    @property
    def staff_id(self) -> int:
        """The presser's row id (a stored row always has one)."""
        assert self.staff.id is not None
        return self.staff.id

    async def stale(self) -> None:
        """Tell the presser the button no longer applies (forged, old or out of date)."""
        await self.query.answer(t("core.stale_button", self.lang), show_alert=True)


async def public_press(update: Update, context: BotContext, kind: type[B]) -> B | None:
    """The data of a press of a button anyone may press (language, /privacy, a stranger's
    registration step), parsed as ``kind``; forged or unknown data gets the "stale button"
    alert and None. Not answered on success: the caller answers."""
    query = update.callback_query
    assert query is not None
    data = kind.parse(query.data)
    if data is None:
        await query.answer(t("core.stale_button", user_lang(update, context)), show_alert=True)
    return data


async def checked_press(
    update: Update,
    context: BotContext,
    kind: type[B],
    *,
    roles: frozenset[str] = STAFF_ROLES,
) -> Pressed[B] | None:
    """Every button's first checks, against the database: the presser is registered and their
    role is in ``roles``, and the data parses as ``kind``. Otherwise the person has been told
    why (a refusal or a "stale button" alert) and the result is None. The query is not
    answered on success: the caller answers with its own text."""
    query = update.callback_query
    assert query is not None
    staff = await authorise(update, context, roles)
    if staff is None:
        return None
    lang = user_lang(update, context, staff)
    data = kind.parse(query.data)
    if data is None:
        await query.answer(t("core.stale_button", lang), show_alert=True)
        return None
    return Pressed(query, staff, lang, data)


# -- conversations ------------------------------------------------------------------------------

Handlers = list[BaseHandler[Update, BotContext, object]]
"""Seconds after which an untouched conversation ends."""
_ANY_TEXT: Final = filters.TEXT & ~filters.COMMAND


def text_step(
    callback: Callable[[Update, BotContext], Coroutine[Any, Any, object]],
) -> MessageHandler[BotContext, object]:
    """A step's handler for what the person types (any text but a command)."""
    return MessageHandler(_ANY_TEXT, callback)


def button_flow(
    name: str,
    entry: BaseHandler[Update, BotContext, object],
    states: Mapping[object, Handlers],
    *,
    draft: type,
    expected_button: str,
) -> ConversationHandler[BotContext]:
    """A conversation whose steps survive a restart (persistent, ``name``), started by
    ``entry``. In every step /cancel drops the person's ``draft`` and says so, and a text
    where the step has no text handler gets ``expected_button`` ("use the buttons") and
    keeps the step."""

    async def cancel(update: Update, context: BotContext) -> int:
        context.state.pop(draft)
        await reply(update, t("core.cancelled", user_lang(update, context)))
        return ConversationHandler.END

    async def expect_button(update: Update, context: BotContext) -> None:
        await reply(update, t(expected_button, user_lang(update, context)))

    return ConversationHandler(
        entry_points=[entry],
        states=dict(states),
        fallbacks=[CommandHandler("cancel", cancel), text_step(expect_button)],
        name=name,
        persistent=True,
        # The entry command again starts the flow afresh (a second invitation link, /invite
        # twice). No in-process timeout: a step older than 30 minutes is simply not resumed
        # (bot/shell/persistence.py), on whichever process serves the person next.
        allow_reentry=True,
    )
