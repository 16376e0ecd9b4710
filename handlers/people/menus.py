"""Telegram's command menus, per scope and language: strangers (the default scope) see /start,
/help, /language and /privacy; each staff member's chat gets the commands of their role, in
their language, set when they register, when their role or language changes, and at
start-up for everyone whose menu changed (a digest of each chat's menu is kept, so a restart
with nothing changed costs no calls)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import RetryAfter, TelegramError

from bot.context import BotContext, CommandSpec, DalsbotApp
from bot.i18n import LANGUAGES, Lang, as_lang, t
from handlers.common import ADMIN_ONLY
from storage.db import Database
from storage.people import menus as menu_store
from storage.people.menus import MenuHolder
from storage.people.models import Staff

logger = logging.getLogger(__name__)

# What a stranger's menu shows (the default scope).
STRANGER_MENU: Final = ("start", "help", "language", "privacy")
# Telegram's limits on a command's description.
MAX_DESCRIPTION: Final = 256
# At start-up, up to this many changed menus are set before the bot answers; more are set in
# the background.
SET_BEFORE_START: Final = 20


def commands_for(role: str | None, commands: Sequence[CommandSpec]) -> list[CommandSpec]:
    """The commands a person with ``role`` (None: not registered) may use, in order; the
    administration commands (whichever feature they belong to) come last."""
    allowed = [
        spec for spec in commands if spec.roles is None or (role is not None and role in spec.roles)
    ]
    return sorted(allowed, key=lambda spec: spec.roles == ADMIN_ONLY)


def menu(role: str | None, lang: Lang, commands: Sequence[CommandSpec]) -> list[BotCommand]:
    """The command menu of a person with ``role`` (None: a stranger) in ``lang``."""
    shown = [spec for spec in commands_for(role, commands) if spec.in_menu]
    if role is None:
        shown = [spec for spec in shown if spec.command in STRANGER_MENU]
    return [BotCommand(spec.name(lang), t(spec.text_key, lang)[:MAX_DESCRIPTION]) for spec in shown]


def digest(commands: Sequence[BotCommand]) -> str:
    """A short fingerprint of a menu (what is kept per chat)."""
    data = json.dumps([[c.command, c.description] for c in commands], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


async def set_stranger_menus(bot: Bot, commands: Sequence[CommandSpec]) -> None:
    """The default scope's menu, per language (Swedish also without a language)."""
    for lang in LANGUAGES:
        shown = menu(None, lang, commands)
        await bot.set_my_commands(shown, scope=BotCommandScopeDefault(), language_code=lang)
        if lang == "sv":
            await bot.set_my_commands(shown, scope=BotCommandScopeDefault())


async def set_descriptions(bot: Bot) -> None:
    """What an empty chat with the bot shows (description) and its profile and shared link
    show (short description), per language (Swedish also without a language). Not being able
    to set them does not stop the bot."""
    try:
        for lang in LANGUAGES:
            for code in (lang, "") if lang == "sv" else (lang,):
                await bot.set_my_description(t("core.description", lang), language_code=code)
                await bot.set_my_short_description(
                    t("core.short_description", lang), language_code=code
                )
    except TelegramError as exc:
        logger.warning("The bot's description was not set (%s)", type(exc).__name__)


async def _set_chat_menu(bot: Bot, chat_id: int, commands: list[BotCommand] | None) -> None:
    """Set (or, with None, remove) one chat's own menu; waits once when Telegram says so."""
    scope = BotCommandScopeChat(chat_id)
    for attempt in range(2):
        try:
            if commands is None:
                await bot.delete_my_commands(scope=scope)
            else:
                await bot.set_my_commands(commands, scope=scope)
            return
        except RetryAfter as exc:
            if attempt:
                raise
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, dt.timedelta) else wait)


async def refresh_menu(
    bot: Bot,
    db: Database,
    commands: Sequence[CommandSpec],
    staff: Staff | MenuHolder | None,
    *,
    chat_id: int,
    now: dt.datetime,
    known: str | None = None,
    check: bool = True,
) -> None:
    """Give ``chat_id`` the menu of ``staff`` (None: a removed person, who gets the
    strangers' menu back), unless it already has it. A failure is logged, not raised: the
    menu is a convenience, and the next start-up tries again."""
    wanted = menu(staff.role, as_lang(staff.language), commands) if staff is not None else None
    wanted_digest = digest(wanted) if wanted is not None else None
    if check:
        known = await db.run(lambda session: menu_store.menu_digest(session, chat_id=chat_id))
    if known == wanted_digest:
        return
    try:
        await _set_chat_menu(bot, chat_id, wanted)
    except TelegramError as exc:
        logger.warning("A chat's command menu was not set (%s)", type(exc).__name__)
        return
    await db.run(
        lambda session: menu_store.menu_set(session, chat_id=chat_id, digest=wanted_digest, now=now)
    )


async def refresh_person_menu(context: BotContext, staff: Staff | None, chat_id: int) -> None:
    """:func:`refresh_menu` for a handler (after a registration, a role or language change,
    a removal)."""
    await refresh_menu(
        context.bot, context.db, context.data.commands, staff, chat_id=chat_id, now=context.now()
    )


@dataclass(frozen=True)
class MenuChange:
    """A chat whose menu is not what it should be: ``staff`` None removes its own menu."""

    chat_id: int
    staff: MenuHolder | None
    known: str | None


async def menu_changes(app: DalsbotApp) -> list[MenuChange]:
    """Every chat whose menu changed (new commands or texts, another role or language, a
    removal): one query, no call to Telegram."""
    data = app.bot_data
    people, known = await data.db.run(menu_store.menus_to_check)
    # One menu per role and language, not per person (116,000 staff: 30 s before the bot
    # answered).
    wanted = {
        (role, lang): digest(menu(role, lang, data.commands))
        for role, lang in {(p.role, as_lang(p.language)) for p in people}
    }
    changes = [
        MenuChange(person.telegram_id, person, known.get(person.telegram_id))
        for person in people
        if known.get(person.telegram_id) != wanted[person.role, as_lang(person.language)]
    ]
    active = {person.telegram_id for person in people}
    changes += [
        MenuChange(chat_id, None, known[chat_id]) for chat_id in sorted(set(known) - active)
    ]
    return changes


async def apply_menu_changes(app: DalsbotApp, changes: Sequence[MenuChange]) -> None:
    """Set (or remove) the menus of ``changes``, one chat after the other."""
    data = app.bot_data
    now = data.clock()
    for change in changes:
        await refresh_menu(
            app.bot,
            data.db,
            data.commands,
            change.staff,
            chat_id=change.chat_id,
            now=now,
            known=change.known,
            check=False,
        )
    logger.info("Command menus set for %d chat(s)", len(changes))


class MenuSync:
    """The start-up menu check: a few changed menus are set before the bot starts answering,
    many (a new version for 1,000 staff) in the background so the bot answers at once."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None

    async def start(self, app: DalsbotApp) -> None:
        """Set the strangers' menus, then every staff member's that changed."""
        await set_stranger_menus(app.bot, app.bot_data.commands)
        changes = await menu_changes(app)
        if len(changes) <= SET_BEFORE_START:
            await apply_menu_changes(app, changes)
        else:
            self.task = asyncio.create_task(self._sync(app, changes), name="menus:sync")

    @staticmethod
    async def _sync(app: DalsbotApp, changes: list[MenuChange]) -> None:
        try:
            await apply_menu_changes(app, changes)
        except Exception:  # a background task: log it, the next start-up tries again
            logger.exception("Setting the command menus at start-up failed")

    async def stop(self, _app: DalsbotApp) -> None:
        """Stop a check still running at shutdown (the next start-up carries on)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
