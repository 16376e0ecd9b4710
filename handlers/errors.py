"""The one error handler: log the failure (never what a person wrote), tell the person."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot.context import BotContext
from bot.i18n import t
from handlers.common import user_lang

logger = logging.getLogger(__name__)


def describe(error: BaseException | None) -> str:
    """The exception's type and stack, with every exception *message* left out.

    Messages may quote data: a database error repeats the values it failed to write (a plan
    reference in a unique-key violation), a ValueError the text it could not parse. The types
    and the frames are enough to find the bug; the person's data stays out of the log.
    """
    lines: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}")
        lines.extend(line.rstrip() for line in traceback.format_tb(error.__traceback__))
        error = error.__cause__ or error.__context__
        if error is not None:
            lines.append("caused by:")
    return "\n".join(lines) if lines else "unknown error"


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception with the update's kind and id only; apologise to the person."""
    error = context.error
    kind = "none"
    update_id: int | None = None
    if isinstance(update, Update):
        update_id = update.update_id
        kind = next(
            (
                name
                for name in ("message", "callback_query", "edited_message")
                if getattr(update, name, None) is not None
            ),
            "other",
        )
    if isinstance(error, NetworkError) and not isinstance(error, Forbidden):
        # PTB retries polling itself; a failed reply is logged without a traceback.
        logger.warning(
            "Network error while handling update %s (%s): %s", update_id, kind, type(error).__name__
        )
    else:
        logger.error("Error while handling update %s (%s): %s", update_id, kind, describe(error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(t("core.error", user_lang(update, context)))
    except Exception:  # the apology is best effort; the failure is logged above
        logger.warning("Could not tell the person about the error in update %s", update_id)
