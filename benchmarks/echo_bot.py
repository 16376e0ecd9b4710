"""A minimal python-telegram-bot echo bot: the baseline of benchmarks/startup.py and
benchmarks/throughput.py.

``python benchmarks/echo_bot.py API_ROOT TOKEN`` polls the Bot API at ``API_ROOT`` (the
stand-in) and answers every text message with the same text, with PTB's defaults, as the
library's own echo example does.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the message's text back."""
    if update.message is not None and update.message.text:
        await update.message.reply_text(update.message.text)


def main(api_root: str, token: str) -> None:
    """Poll until SIGINT/SIGTERM."""
    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api_root.rstrip('/')}/bot")
        .base_file_url(f"{api_root.rstrip('/')}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
