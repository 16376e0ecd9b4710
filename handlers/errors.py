"""The one error handler: log the failure (never what a person wrote), tell the person."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError

from bot.context import BotContext
from bot.i18n import t
from handlers.common import user_lang

logger = logging.getLogger(__name__)


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
        logger.error(
            "Error while handling update %s (%s)",
            update_id,
            kind,
            exc_info=(type(error), error, error.__traceback__) if error else None,
        )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(t("core.error", user_lang(update, context)))
    except Exception:  # the apology is best effort; the failure is logged above
        logger.warning("Could not tell the person about the error in update %s", update_id)
