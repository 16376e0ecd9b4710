"""The typed bot context: what every handler can reach, filled once in ``post_init``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.settings import Settings
from storage.db import Database


def system_clock() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class CommandSpec:
    """A command as shown in /help and in Telegram's command menu."""

    command: str
    text_key: str
    roles: frozenset[str] | None = None  # None: everyone, also people not registered
    in_menu: bool = True


@dataclass
class BotData:
    """Shared resources of one running bot (``context.bot_data``)."""

    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = system_clock
    bot_username: str = "dalsbot_local_bot"
    commands: list[CommandSpec] = field(default_factory=list)
    # Feature services are attached here by post_init (knowledge base, pulse drafts...).
    services: dict[str, Any] = field(default_factory=dict)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
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

    def now(self) -> dt.datetime:
        """The current time (a test may control the clock)."""
        return self.bot_data.clock()


DalsbotApp = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
