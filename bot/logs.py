"""Logging, configured once: quiet libraries, and the bot token never in a log line."""

from __future__ import annotations

import logging
import re

# Bot API URLs carry the token: .../bot123456:AAE.../sendMessage (httpx logs every request).
_TOKEN_IN_URL = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}\b")


class RedactTokenFilter(logging.Filter):
    """Replaces anything shaped like a bot token in a record's final message."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        """``text`` with tokens replaced."""
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        text = _TOKEN_IN_URL.sub("bot<token>", text)
        return _BARE_TOKEN.sub("<token>", text)

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
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "tornado.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
