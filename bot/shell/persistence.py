"""python-telegram-bot persistence in the project's own database (SQLite or PostgreSQL).

What is kept: each person's :class:`~bot.state.UserState` (as JSON, no pickle) and the step
of every conversation (``/ny_plan``, registration, invitations, ``/puls``). Nothing is read
at start-up: :class:`DalsbotApplication` reads the one person's state before each update and
writes what changed right after it, so a restart loses no flow and any process can serve any
update (no sticky routing). Bot and chat data are not persisted (the bot keeps none).

A conversation step older than :data:`CONVERSATION_TTL` is not resumed (its timeout would
have ended it had the bot kept running): the person starts again instead of a week-old flow
catching their next message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.context import BotContext, DalsbotApp
from bot.metrics import Liveness, UpdateTimer
from bot.shell.commands import canonical_update
from bot.state import UserState
from storage import chatstate
from storage.db import Database

logger = logging.getLogger(__name__)

CONVERSATION_TTL: Final = dt.timedelta(minutes=30)
# python-telegram-bot has no "never" for its periodic persistence flush: once a year.
NO_PERIODIC_FLUSH: Final = 365 * 24 * 3600


class DbPersistence(BasePersistence[UserState, dict[Any, Any], Any]):
    """User state and conversation steps in the database, one person at a time."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            # No periodic flush: DalsbotApplication writes a person's state right after each
            # of their updates. python-telegram-bot's flush (every 60 s by default) would also
            # write a state while a handler is still changing it, which a replica killed at
            # that moment leaves behind half-done for the replica that takes the update over.
            update_interval=NO_PERIODIC_FLUSH,
        )
        self.db = db
        self.clock = clock
        # The JSON last read or written per person: unchanged state is not written again.
        self._known: dict[int, str | None] = {}

    async def load(self, update: Update) -> tuple[UserState, dict[str, int]] | None:
        """The stored state and conversation steps of the person behind ``update``."""
        user, chat = update.effective_user, update.effective_chat
        if user is None:
            return None
        chat_id = chat.id if chat is not None else user.id
        since = self.clock() - CONVERSATION_TTL

        data, steps = await self.db.run(
            lambda session: chatstate.load_person(
                session, chat_id=chat_id, user_id=user.id, since=since
            )
        )
        self._known[user.id] = data
        return (UserState.from_json(data) if data else UserState()), steps

    # -- what the Application writes after each update ------------------------------------

    async def update_user_data(self, user_id: int, data: UserState) -> None:
        text = None if data.is_empty() else data.to_json()
        if self._known.get(user_id, "") == text:
            return
        self._known[user_id] = text
        await self.db.run(chatstate.save_user, user_id, text, self.clock())

    async def drop_user_data(self, user_id: int) -> None:
        self._known.pop(user_id, None)
        await self.db.run(chatstate.save_user, user_id, None, self.clock())

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        chat_id, user_id = int(key[0]), int(key[-1])
        state = new_state if isinstance(new_state, int) and new_state >= 0 else None
        await self.db.run(
            lambda session: chatstate.save_conversation(
                session, name, chat_id=chat_id, user_id=user_id, state=state, now=self.clock()
            )
        )

    # -- read per update instead of at start-up --------------------------------------------

    async def get_user_data(self) -> dict[int, UserState]:
        return {}

    async def get_conversations(self, name: str) -> ConversationDict:
        return {}

    async def refresh_user_data(self, user_id: int, user_data: UserState) -> None:
        """Already read for this update by :class:`DalsbotApplication`."""

    # -- not kept ----------------------------------------------------------------------------

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> Any:
        return None

    async def get_callback_data(self) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Chat data is not kept."""

    async def update_bot_data(self, data: Any) -> None:
        """Bot data is not kept."""

    async def update_callback_data(self, data: Any) -> None:
        """Arbitrary callback data is not used."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Chat data is not kept."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Chat data is not kept."""

    async def refresh_bot_data(self, bot_data: Any) -> None:
        """Bot data is not kept."""

    async def flush(self) -> None:
        """Every change is written right after its update: nothing is left to flush."""


class DalsbotApplication(Application):
    """The ``Application`` that reads a person's state before their update and writes it
    right after (see :class:`DbPersistence`)."""

    async def process_update(self, update: object) -> None:
        # Counted by kind and timed until the state is stored (bot/metrics.py, /metrics).
        timer = UpdateTimer.start(update, self.bot_data.services.get_or_add(Liveness, Liveness))
        try:
            await self._process_update(update)
        finally:
            timer.done()

    async def _process_update(self, update: object) -> None:
        # /hjalp, /avbryt, /new_plan...: every name of a command reaches its handlers.
        update = canonical_update(update, self.bot_data.aliases, self.bot)
        persistence = self.persistence
        user = update.effective_user if isinstance(update, Update) else None
        if not isinstance(persistence, DbPersistence) or user is None:
            await super().process_update(update)
            return
        assert isinstance(update, Update)
        # One update per person at a time: the reply to a step goes out before the step is
        # stored, so the person's next message waits until it is.
        async with self._person_lock(user.id):
            await self._load_state(persistence, update)
            try:
                await super().process_update(update)
            finally:
                await self.update_persistence()

    @contextlib.asynccontextmanager
    async def _person_lock(self, user_id: int) -> AsyncIterator[None]:
        locks: dict[int, tuple[asyncio.Lock, int]] = self.__dict__.setdefault("_dalsbot_locks", {})
        lock, users = locks.get(user_id, (asyncio.Lock(), 0))
        locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = locks[user_id]
            if users == 1:
                del locks[user_id]
            else:
                locks[user_id] = (lock, users - 1)

    async def _load_state(self, persistence: DbPersistence, update: Update) -> None:
        loaded = await persistence.load(update)
        if loaded is None or update.effective_user is None:
            return
        state, steps = loaded
        user_id = update.effective_user.id
        chat_id = update.effective_chat.id if update.effective_chat is not None else user_id
        self.user_data[user_id].replace_with(state)
        for name, conversations in self._conversation_handler_conversations.items():
            # Set without marking them changed: they are what the database already holds.
            if name in steps:
                conversations.data[(chat_id, user_id)] = steps[name]
            else:
                conversations.data.pop((chat_id, user_id), None)


PURGE_TIME: Final = dt.time(3, 40)


async def purge_stale_state(context: BotContext) -> None:
    """JobQueue callback, nightly: delete states untouched for 30 days."""
    data = context.data
    deleted = await data.db.run(chatstate.purge_stale, data.clock())
    logger.info("Deleted %d stale conversation state(s)", deleted)


def schedule_purge(app: DalsbotApp) -> None:
    """Run :func:`purge_stale_state` every night (Europe/Stockholm time)."""
    if app.job_queue is not None:
        tz = app.bot_data.settings.tz
        app.job_queue.run_daily(
            purge_stale_state, time=PURGE_TIME.replace(tzinfo=tz), name="state:purge"
        )
