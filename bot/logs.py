"""Logging, configured once: quiet libraries, and no secret or personal data in a log line.

At DEBUG, python-telegram-bot logs every update and every Bot API call with its parameters
(message texts, names, plan references), httpx and SQLAlchemy their requests and bound
parameters. Those libraries are held at INFO at every level (DEBUG is for Dalsbot's own
loggers, which never log texts); and every record passes a filter that replaces the bot
token and any personal identity number.
"""

from __future__ import annotations

import logging
import re

from bot.guard import contains_identity_number, strip_identity_numbers

# Bot API URLs carry the token: .../bot123456:AAE.../sendMessage (httpx logs every request).
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b")


# Libraries whose DEBUG (for SQLAlchemy: INFO) output carries message texts, names, request
# URLs or SQL statements, and the lowest level each may log at, whatever the setting.
QUIET_LIBRARIES = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "apscheduler": logging.WARNING,
    "tornado": logging.WARNING,
    "alembic": logging.WARNING,
}


class RedactTokenFilter(logging.Filter):
    """Replaces anything shaped like a bot token, and every personal identity number, in a
    record's final message."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        """``text`` with tokens replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = _TOKEN_IN_URL.sub("bot<token>", text)
        text = _BARE_TOKEN.sub("<token>", text)
        return strip_identity_numbers(text) if contains_identity_number(text) else text

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redacted, so later handlers see only the safe text."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """Log to stderr; the token filter sits on the handler so it sees every logger's records."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokenFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Never below their floor, whatever the level: their chattier lines carry personal data.
    requested = logging.getLevelName(level)
    for library, floor in QUIET_LIBRARIES.items():
        logging.getLogger(library).setLevel(max(floor, requested))
    logging.getLogger("telegram.ext.Updater").setLevel(max(logging.WARNING, requested))
