"""The living knowledge base: articles in the database (``live``: seeded at start-up, the
index follows the revision), editors changing them from a phone (``edit``), another editor
or an admin approving (``decide``), and the editor permission granted from /staff
(``editors``)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

from bot.context import BotContext, Feature
from handlers.kb import decide, edit, editors, live


def _typed_text() -> BaseHandler[Update, BotContext, object]:
    # The editor's typed short answer, title or question: before any feature sees it as a
    # question.
    return TypeHandler(Update, edit.take_typed_text)


def _handlers() -> list[BaseHandler[Update, BotContext, object]]:
    return [*edit.build_handlers(), *decide.build_handlers(), *editors.build_handlers()]


FEATURE = Feature(
    name="kb",
    commands=[*edit.COMMANDS],
    handlers=_handlers,
    text_first=_typed_text,
    setup=live.register,
)
