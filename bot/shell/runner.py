"""Running the bot for real: long polling by default, a webhook when one is configured."""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from telegram import Update

from bot.settings import Settings
from bot.shell.app import build_application
from storage.migrate import open_database

logger = logging.getLogger(__name__)


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends with every webhook call (derived from the token if unset)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    assert settings.telegram_token is not None
    digest = hashlib.sha256(
        b"dalsbot-webhook:" + settings.telegram_token.get_secret_value().encode()
    ).hexdigest()
    return digest[:48]


def run_telegram(settings: Settings) -> None:
    """Run against Telegram until SIGINT/SIGTERM; PTB stops cleanly and confirms updates."""
    db = open_database(settings.database_url)
    app = build_application(settings, db=db)
    try:
        if settings.webhook_url:
            path = urlsplit(settings.webhook_url).path.lstrip("/") or "telegram"
            logger.info(
                "Starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port
            )
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=path,
                webhook_url=settings.webhook_url,
                secret_token=webhook_secret(settings),
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=-1,
            )
        else:
            logger.info("Starting in long-polling mode")
            app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1)
    finally:
        db.dispose()
