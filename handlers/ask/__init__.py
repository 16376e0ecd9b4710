"""Questions to the knowledge base: answers with their source, the emergency card
(``questions``), greetings and thanks (``smalltalk``), answer cards redrawn in place and
/artiklar (``articles``), two-way threads with a coordinator (``coordinators``), and the
knowledge base's loading and the admins' commands (``admin``)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from bot.context import BotContext, Feature
from handlers.ask import admin, articles, coordinators, questions


def _pending_text() -> BaseHandler[Update, BotContext, object]:
    # A reply to a coordinator thread's forced-reply prompt belongs to that thread; the text
    # right after /fraga or "Svara" belongs to that request (any button or command cancels it).
    return TypeHandler(Update, questions.take_pending_text)


def _handlers() -> list[BaseHandler[Update, BotContext, object]]:
    # The free-text questions (the end of questions' list) come last.
    return [
        *admin.build_handlers(),
        *coordinators.build_handlers(),
        *articles.build_handlers(),
        *questions.build_handlers(),
    ]


FEATURE = Feature(
    name="ask",
    commands=[*questions.COMMANDS, *articles.COMMANDS, *admin.COMMANDS],
    handlers=_handlers,
    text_first=_pending_text,
    setup=admin.register,
)
