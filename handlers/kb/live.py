"""The bot answers from the database's approved articles: at start-up the seed is imported
into an empty database (a fresh install works with no extra command), the knowledge base is
switched to the database, and before handling an update every process compares the
knowledge base's revision at most every few seconds (one cheap read), rebuilding the search
index when another process approved a change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import sqlalchemy as sa
from telegram import Chat, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import TypeHandler

from bot.context import BotContext, DalsbotApp
from knowledge.articles import KnowledgeBaseError, load_articles
from knowledge.glossary import GlossaryError
from knowledge.service import KnowledgeBase
from storage.knowledge import articles as store

logger = logging.getLogger(__name__)

# Before the text-first groups (bot/shell/app.py): a question is answered from the newest
# articles.
REVISION_GROUP = -5
# Seconds an update may wait for the knowledge base's load before a private text gets
# "typing…".
TYPING_AFTER: Final = 0.4


def seed_and_switch(app: DalsbotApp) -> None:
    """Import the seed into an empty database, then answer from the database."""
    data = app.bot_data
    kb = data.services.get(KnowledgeBase)
    now = data.clock()
    try:
        seeded = data.db.call(lambda s: store.seed_if_empty(s, load_articles(kb.root), now))
    except sa.exc.IntegrityError:
        # Another process started at the same moment and imported it.
        seeded = None
    except KnowledgeBaseError as exc:
        raise SystemExit(f"Cannot import the knowledge base: {exc}") from exc
    source = store.DatabaseSource(data.db)
    if seeded is not None:
        # Just imported from the files the index was built from: nothing to rebuild.
        logger.info("The empty database got the articles of %s", kb.root)
        kb.use_source(source, loaded_revision=seeded)
    else:
        kb.use_source(source)
    logger.info("Answering from the database's articles (revision %s)", kb.revision)


async def start(app: DalsbotApp) -> None:
    """Started hook (the bot is fetching updates): load the knowledge base, then
    :func:`seed_and_switch`, in a worker thread; a question meanwhile waits for both
    (``KnowledgeBase.load``)."""
    kb = app.bot_data.services.get(KnowledgeBase)
    try:
        await asyncio.to_thread(kb.load, lambda _kb: seed_and_switch(app))
    except SystemExit as exc:  # from seed_and_switch: not to end the event loop unseen
        raise RuntimeError(str(exc)) from None
    except (KnowledgeBaseError, GlossaryError, OSError, ValueError) as exc:
        raise RuntimeError(f"Cannot load the knowledge base: {exc}") from exc


async def check_revision(update: Update, context: BotContext) -> None:
    """Before every update: right after a start, wait until the knowledge base is loaded;
    then rebuild the index when the revision changed (checked at most every few seconds; no
    I/O on the event loop)."""
    kb = context.data.services.get(KnowledgeBase)
    if not kb.ready:
        await _loaded(update, kb)
    if kb.due():
        await asyncio.to_thread(kb.refresh)


async def _loaded(update: Update, kb: KnowledgeBase) -> None:
    """Hold the update until the knowledge base is loaded (about 0.3 s after a start).

    Every handler after this group may read it (an answer, an article button, /artiklar, the
    emergency card, /kb_*), and a read before the load would block the event loop, and with
    it the load's own start, for up to ``LOAD_WAIT_SECONDS``. The wait here is asynchronous;
    a private text gets "typing…" once it lasts :data:`TYPING_AFTER`.
    """
    loading = asyncio.ensure_future(kb.until_loaded())
    done, _ = await asyncio.wait({loading}, timeout=TYPING_AFTER)
    chat, message = update.effective_chat, update.message
    if not done and chat is not None and chat.type == Chat.PRIVATE and message and message.text:
        with contextlib.suppress(TelegramError):  # a courtesy: its failure changes nothing
            await chat.send_action(ChatAction.TYPING)
    await loading


def register(app: DalsbotApp) -> None:
    """Switch to the database once started; the revision check before every update."""
    app.bot_data.started_hooks.append(start)
    app.add_handler(TypeHandler(Update, check_revision), group=REVISION_GROUP)
