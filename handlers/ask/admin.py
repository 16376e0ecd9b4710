"""The knowledge base's loading and upkeep: loaded at start-up, the admins' /kb_reload, and
the nightly purge of old question texts (the /kb_gaps work list is handlers/kb/gaps.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Final

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext, DalsbotApp
from bot.i18n import Lang, t, tn
from handlers.ask.render import reload_knowledge_base
from handlers.ask.shared import knowledge_base
from handlers.common import ADMIN_ONLY, CommandSpec, authorise, reply, user_lang
from knowledge.articles import KnowledgeBaseError
from knowledge.contacts import Contacts, ContactsError, load_contacts
from knowledge.glossary import GlossaryError
from knowledge.service import KnowledgeBase
from storage.knowledge import store as kb_store

logger = logging.getLogger(__name__)

PURGE_TIME: Final = dt.time(3, 30)

COMMANDS = [
    CommandSpec("kb_reload", "ask.commands.kb_reload", ADMIN_ONLY),
]


async def reload_articles(update: Update, context: BotContext) -> None:
    """/kb_reload: reads the articles and the phone numbers again, or says why not."""
    staff = await authorise(update, context, ADMIN_ONLY)
    if staff is None:
        return
    lang = user_lang(update, context, staff)
    today = context.now().astimezone(context.settings.tz).date()
    count, error, extra = await asyncio.to_thread(
        reload_knowledge_base, knowledge_base(context), today
    )
    if count is None:
        if extra:
            more = tn("ask.errors_more", extra, lang)
            articles = t("ask.reload_failed_more", lang, error=error, more=more)
        else:
            articles = t("ask.reload_failed", lang, error=error)
        logger.warning("Knowledge base reload refused (%d more errors)", extra)
    else:
        key = "ask.reload_ok_warnings" if extra else "ask.reload_ok"
        warnings = tn("ask.warnings_count", extra, lang)
        articles = t(key, lang, articles=tn("ask.articles_count", count, lang), warnings=warnings)
        logger.info("Knowledge base reloaded: %d articles", count)
    await reply(update, f"{articles}\n\n{await reload_contacts(context, lang)}")


async def reload_contacts(context: BotContext, lang: Lang) -> str:
    """Reads the phone numbers again; a file with errors keeps the previous numbers."""
    try:
        contacts = await asyncio.to_thread(load_contacts, context.settings.contacts_file)
    except ContactsError as exc:
        logger.warning("Contacts reload refused")
        return t("ask.contacts_reload_failed", lang, error=str(exc))
    context.data.services.add(contacts)
    logger.info("Contacts reloaded: %d numbers", contacts.count)
    return t("ask.contacts_reloaded", lang, numbers=tn("ask.numbers_count", contacts.count, lang))


async def purge_old_questions(context: BotContext) -> None:
    """Daily job: delete question and reply texts older than 90 days."""
    now = context.now()
    purged = await context.db.run(lambda session: kb_store.purge_old_questions(session, now=now))
    logger.info("Purged %d old question texts", purged)


def build_handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """/kb_reload."""
    return [CommandHandler("kb_reload", reload_articles)]


def load_knowledge_base() -> KnowledgeBase:
    """The knowledge base, its articles loaded once the bot runs (handlers/kb/live.py), or
    SystemExit with a one-line reason when its folder has none (start-up must not go on)."""
    try:
        return KnowledgeBase(defer=True)
    except (KnowledgeBaseError, GlossaryError, OSError, ValueError) as exc:
        raise SystemExit(f"Cannot load the knowledge base: {exc}") from exc


def load_contact_numbers(path: Path | None) -> Contacts:
    """The emergency card's phone numbers, or SystemExit with a one-line reason."""
    try:
        return load_contacts(path)
    except ContactsError as exc:
        raise SystemExit(f"Cannot load the contacts file: {exc}") from exc


def register(app: DalsbotApp) -> None:
    """Load the knowledge base and phone numbers, schedule the purge."""
    app.bot_data.services.add(load_knowledge_base())
    contacts = load_contact_numbers(app.bot_data.settings.contacts_file)
    app.bot_data.services.add(contacts)
    logger.info("Contacts loaded: %d numbers", contacts.count)
    if app.job_queue is not None:
        app.job_queue.run_daily(
            purge_old_questions,
            time=PURGE_TIME.replace(tzinfo=app.bot_data.settings.tz),
            name="kb:purge-old-questions",
        )
