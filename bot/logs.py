"""Logging, configured once: quiet libraries, and no secret or personal data in a log line.

At DEBUG, python-telegram-bot logs every update and every Bot API call with its parameters
(message texts, names, plan references), httpx and SQLAlchemy their requests and bound
parameters. Those libraries are held at INFO at every level (DEBUG is for Dalsbot's own
loggers, which never log texts); and every record passes a filter that replaces the bot
token and any personal identity number.

``log_format = "json"`` (``DALSBOT_LOG_FORMAT``) writes one JSON object per line for a log
collector: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``process`` and, when
there is one, ``exception``, all after the same redaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Literal

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
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line. It formats what the redaction filter left
    (the filter sits on the same handler and runs first): the rendered message and the
    exception text."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii=False: Swedish letters stay readable; json escapes newlines.
        return json.dumps(entry, ensure_ascii=False)


def log_formatter(log_format: Literal["text", "json"] = "text") -> logging.Formatter:
    """The formatter for ``log_format``."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_logging(
    level: str = "INFO",
    secrets: tuple[str, ...] = (),
    log_format: Literal["text", "json"] = "text",
) -> None:
    """Log to stderr; the token filter sits on the handler so it sees every logger's records."""
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(log_format))
    handler.addFilter(RedactTokenFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Never below their floor, whatever the level: their chattier lines carry personal data.
    requested = logging.getLevelName(level)
    for library, floor in QUIET_LIBRARIES.items():
        logging.getLogger(library).setLevel(max(floor, requested))
    logging.getLogger("telegram.ext.Updater").setLevel(max(logging.WARNING, requested))
