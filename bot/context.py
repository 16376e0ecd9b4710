"""The typed bot context: what every handler can reach, filled once in ``post_init``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, BaseHandler, CallbackContext, ExtBot

from bot.settings import Settings
from bot.state import UserState
from storage.db import Database


def system_clock() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class CommandSpec:
    """A command as shown in /help and in Telegram's command menu.

    ``command`` is the name its handlers are registered under; ``sv`` and ``en`` are the names
    the Swedish and English menus show (empty: ``command``). Every name reaches the same
    handlers: the shell rewrites the others to ``command`` before dispatch.
    """

    command: str
    text_key: str
    roles: frozenset[str] | None = None  # None: everyone, also people not registered
    in_menu: bool = True
    sv: str = ""
    en: str = ""

    def name(self, lang: str) -> str:
        """The command's name in ``lang``'s menu and texts."""
        return (self.en if lang == "en" else self.sv) or self.command

    def names(self) -> frozenset[str]:
        """Every name the command answers to."""
        return frozenset(name for name in (self.command, self.sv, self.en) if name)


T = TypeVar("T")


class Services:
    """The running bot's services, one per class, typed: ``services.get(KnowledgeBase)``.

    A feature adds its services when the application is built (``Feature.register``); the
    kernel knows none of their classes.
    """

    def __init__(self) -> None:
        self._by_class: dict[type[Any], Any] = {}

    def add(self, service: object) -> None:
        """Make ``service`` the one of its class."""
        self._by_class[type(service)] = service

    def get(self, kind: type[T]) -> T:
        """The service of class ``kind`` (a missing one is a wiring error)."""
        found = self._by_class.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"no {kind.__name__} service was registered")
        return found

    def get_or_add(self, kind: type[T], make: Callable[[], T]) -> T:
        """The service of class ``kind``, made with ``make`` the first time."""
        found = self._by_class.get(kind)
        if not isinstance(found, kind):
            found = make()
            self.add(found)
        return found


@dataclass
class BotData:
    """Shared resources of one running bot (``context.bot_data``)."""

    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = system_clock
    bot_username: str = "dalsbot_local_bot"
    commands: list[CommandSpec] = field(default_factory=list)
    # Another name of a command (/hjalp, /new_plan...) → the name its handlers answer to.
    aliases: dict[str, str] = field(default_factory=dict)
    # Feature services, found by their class (knowledge base, reminder dispatcher...).
    services: Services = field(default_factory=lambda: Services())
    # Run after start-up (Telegram is reachable) and at shutdown, in the order added.
    post_init_hooks: list[Hook] = field(default_factory=list)
    post_shutdown_hooks: list[Hook] = field(default_factory=list)
    # Run together in the background once the application runs (it is fetching updates):
    # start-up work that receiving an update does not need (what needs it waits for it).
    started_hooks: list[Hook] = field(default_factory=list)


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class DalsbotBot(ExtBot[None]):
    """python-telegram-bot's bot, with two more ways to send: a message sent or edited whose
    answer from the Bot API is not read back into a ``Message``.

    python-telegram-bot builds a ``Message`` from every answer to ``sendMessage`` and
    ``editMessageText``: for a message with formatting and buttons (an answer card, a pulse
    question) that is 0.3 ms of CPU, a tenth of a question's and of a pulse tap's, and the
    replies and button flows never read it. Errors are raised as from ``send_message`` and
    ``edit_message_text``; defaults, the request path and the send budget are the same
    (``_post`` is the one every send method ends in).
    """

    async def send_unread(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        html: bool,
    ) -> None:
        """``send_message`` (HTML if ``html``; no link preview), not read back."""
        await self._post("sendMessage", _message(text, reply_markup, html, chat_id=chat_id))

    async def edit_unread(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        html: bool,
    ) -> None:
        """``edit_message_text`` (HTML if ``html``; no link preview), not read back."""
        data = _message(text, reply_markup, html, chat_id=chat_id, message_id=message_id)
        await self._post("editMessageText", data)


def _message(
    text: str, reply_markup: InlineKeyboardMarkup | None, html: bool, **target: int
) -> dict[str, Any]:
    return {
        **target,
        "text": text,
        "parse_mode": ParseMode.HTML if html else None,
        "link_preview_options": NO_PREVIEW,
        "reply_markup": reply_markup,
    }


class BotContext(CallbackContext[DalsbotBot, UserState, dict[Any, Any], BotData]):
    """``CallbackContext`` with typed shortcuts to the shared resources."""

    @property
    def data(self) -> BotData:
        """The shared resources."""
        return self.bot_data

    @property
    def settings(self) -> Settings:
        """The settings built once at start-up."""
        return self.bot_data.settings

    @property
    def db(self) -> Database:
        """The database."""
        return self.bot_data.db

    @property
    def state(self) -> UserState:
        """The person's typed state (see bot/state.py); an update without a person gets a
        throwaway one."""
        return self.user_data if self.user_data is not None else UserState()

    def now(self) -> dt.datetime:
        """The current time (a test may control the clock)."""
        return self.bot_data.clock()


Hook = Callable[["DalsbotApp"], Awaitable[None]]

DalsbotApp = Application[DalsbotBot, BotContext, UserState, dict[Any, Any], BotData, Any]


@dataclass(frozen=True)
class Feature:
    """What a feature gives the shell (bot/shell/app.py), which alone decides the order and
    handler groups: its commands for /help and the menu, its handlers, a handler that must see
    a person's text before every feature (if it has one), and what it sets up (services, jobs).
    """

    name: str
    commands: Sequence[CommandSpec] = ()
    handlers: Callable[[], Sequence[BaseHandler[Update, BotContext, object]]] = tuple
    text_first: Callable[[], BaseHandler[Update, BotContext, object]] | None = None
    setup: Callable[[DalsbotApp], None] | None = None
