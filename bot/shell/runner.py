"""Running the bot for real: long polling by default, a webhook when one is configured.

Webhook mode is our own server (bot/shell/webhook.py): it answers Telegram only after an
update is handled, so several replicas can share one bot behind a load balancer. Its modules
(the server, the journal of handled updates) are imported only in webhook mode: long polling
starts without them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import logging
import signal
from typing import Final
from urllib.parse import urlsplit

from telegram import Bot, Update

from bot.context import BotContext, DalsbotApp, system_clock
from bot.settings import Settings
from bot.shell import ops
from bot.shell.app import CONCURRENT_UPDATES, build_application
from bot.shell.started import StartedWork
from storage.db import Database
from storage.migrate import open_database

logger = logging.getLogger(__name__)

PRUNE_TIME: Final = dt.time(3, 50)


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
    """Run against Telegram until SIGINT/SIGTERM; both modes stop cleanly."""
    db = open_database(settings.database_url)
    try:
        if settings.webhook_url:
            from bot.shell.webhook import JournalRequest

            journal = functools.partial(JournalRequest, db=db)
            app = build_application(settings, db=db, wrap_request=journal)
            asyncio.run(serve_webhook(settings, app, db))
        else:
            logger.info("Starting in long-polling mode")
            app = build_application(settings, db=db)
            app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1)
        # A started hook that failed (the knowledge base cannot load) stopped the bot.
        app.bot_data.services.get(StartedWork).raise_failure()
    finally:
        db.dispose()


async def ensure_webhook(bot: Bot, url: str, secret: str) -> bool:
    """Register the webhook unless Telegram already has it (N replicas start together: only
    the first finds it different). True when it was set now.

    Telegram does not tell the secret back: after changing DALSBOT_WEBHOOK_SECRET alone,
    delete the webhook once (``deleteWebhook``) so the next start sets it again."""
    from bot.shell.webhook import MAX_CONNECTIONS

    info = await bot.get_webhook_info()
    wanted = set(Update.ALL_TYPES)
    same_updates = not info.allowed_updates or set(info.allowed_updates) == wanted
    if info.url == url and same_updates and info.max_connections in (None, MAX_CONNECTIONS):
        logger.info("The webhook is already registered")
        return False
    await bot.set_webhook(
        url=url,
        secret_token=secret,
        allowed_updates=list(Update.ALL_TYPES),
        max_connections=MAX_CONNECTIONS,
    )
    logger.info("Registered the webhook")
    return True


async def prune_updates(context: BotContext) -> None:
    """JobQueue callback, nightly: forget handled updates older than two days."""
    from storage import updates

    data = context.data
    deleted = batch = await data.db.run(updates.prune, data.clock())
    while batch == updates.PRUNE_BATCH:
        batch = await data.db.run(updates.prune, data.clock())
        deleted += batch
    logger.info("Forgot %d handled update(s)", deleted)


async def serve_webhook(settings: Settings, app: DalsbotApp, db: Database) -> None:
    """Serve the webhook until SIGTERM/SIGINT, then finish the updates in flight and stop."""
    from bot.shell.webhook import JournalRequest, UpdateGate, WebhookServer, holder_id
    from storage import updates

    assert settings.webhook_url is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    locks = updates.PersonLocks(db.url) if db.dialect == "postgresql" else None
    if isinstance(app.bot.request, JournalRequest):
        app.bot.request.locks = locks
    gate = UpdateGate(app, db, locks=locks, holder=holder_id(), clock=system_clock)
    app.bot_data.services.get(StartedWork).stop_app = stop.set
    server = WebhookServer(
        app,
        gate,
        path=urlsplit(settings.webhook_url).path or "/telegram",
        secret=webhook_secret(settings),
        concurrency=CONCURRENT_UPDATES,
        health=ops.health,
        metrics=ops.metrics,
    )
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if app.job_queue is not None:
            app.job_queue.run_daily(
                prune_updates, time=PRUNE_TIME.replace(tzinfo=settings.tz), name="updates:prune"
            )
        port = await server.start(settings.webhook_listen, settings.webhook_port)
        logger.info("Webhook server on %s:%s", settings.webhook_listen, port)
        await ensure_webhook(app.bot, settings.webhook_url, webhook_secret(settings))
        await stop.wait()
        logger.info("Stopping: finishing %d update(s) in flight", server.in_flight)
        await server.drain()
        logger.info(
            "Handled %d update(s); %d repeated deliveries confirmed, %d taken over, "
            "%d answered busy, %d failed; %d call(s) to Telegram not made twice",
            gate.handled, gate.repeated, gate.taken_over, gate.busy, gate.failed, gate.replayed,
        )  # fmt: skip
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
    finally:
        await app.shutdown()
        if locks is not None:
            await locks.close()
