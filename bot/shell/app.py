"""The composition root: ``build_application(settings)`` wires the bot together."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Sequence

import httpx
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.context import (
    BotContext,
    BotData,
    CommandSpec,
    DalsbotApp,
    DalsbotBot,
    Feature,
    system_clock,
)
from bot.settings import Settings
from bot.shell import ops, started, warmup
from bot.shell.botapi_request import KeepAliveRequest
from bot.shell.commands import alias_map, named
from bot.shell.persistence import DalsbotApplication, DbPersistence, schedule_purge
from bot.state import UserState
from handlers import ask, basics, errors, kb, plans, pulse
from handlers.kb import verify as kb_upkeep
from handlers.people import admin, menus, privacy, registration
from handlers.people import settings as user_settings
from storage.db import Database
from storage.people import store as staff_store

logger = logging.getLogger(__name__)

# Our flows run in private chats, one flow per person at a time, and every button is checked
# against the flow's state, so per_message tracking is not what we want.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

# Updates handled at once. Each runs its database work in a worker thread; more than this
# only makes requests queue inside httpx's pool (measured with benchmarks/pulse.py: 16 gave
# about twice the throughput and a third of the p95 tap time of 256).
CONCURRENT_UPDATES = 16
# Connections to the Bot API. httpcore looks at every pooled connection on each request, so a
# larger pool costs CPU on every call; updates beyond it wait for a free connection
# (benchmarks/throughput.py: see BOT_API_CONNECTIONS in the README's speed section).
BOT_API_CONNECTIONS = 8

LOCAL_TOKEN = "123456:LOCAL-STAND-IN-TOKEN-0000000000"

# THE HANDLER TABLE. Lower groups see an update first; within a group only the first handler
# that matches runs, and ApplicationHandlerStop ends the update for every later group.
#
#   group  handlers                                   why
#   -10    basics.gatekeeper                          an edited message or a Telegram Business
#                                                     update stops here (a hint in private chats),
#                                                     so no flow, question or command sees it as new
#    -5    kb: the knowledge base's revision          every process answers from the newest
#          (checked at most every few seconds)        approved articles (handlers/kb/live.py)
#    -3    kb: an editor's typed short answer,        it belongs to that change (a command
#          title or question                          drops it, then runs)
#    -2    ask: the text after /fraga or "Svara"      it belongs to that request (a button or
#                                                     command cancels the request)
#    -1    pulse: the comment being written, and      an answer's comment never reaches another
#          /cancel of an unfinished answer            feature (the knowledge base would log it);
#                                                     other text goes on (a question, a step)
#     0    every feature's handlers, in FEATURES      a flow's entry points and specific deep links
#          order, then /cancel with nothing running,  before the generic /start and the free-text
#          unknown commands, voice/photo/sticker/...  questions; the flows' own /cancel first;
#          in a private chat, and stale buttons       media is answered only when no flow took it
#                                                     (no flow step takes media: a pulse answer in
#                                                     progress is untouched)
#
# Before any group, DalsbotApplication (bot/shell/persistence.py) rewrites another name of a
# command (/hjalp, /avbryt, /new_plan) to the one its handlers are registered under.
GATEKEEPER_GROUP = -10
TEXT_FIRST_GROUPS: tuple[tuple[int, Feature], ...] = (
    (-3, kb.FEATURE),
    (-2, ask.FEATURE),
    (-1, pulse.FEATURE),
)
FEATURES: tuple[Feature, ...] = (
    pulse.FEATURE,
    registration.FEATURE,
    basics.FEATURE,
    admin.FEATURE,
    plans.FEATURE,
    privacy.FEATURE,
    user_settings.FEATURE,
    kb.FEATURE,
    ask.FEATURE,
    kb_upkeep.FEATURE,
)

# The order /help and the command menu list the features in: the basics first, then the three
# jobs, then administration (independent of the order handlers are tried in).
HELP_ORDER: tuple[Feature, ...] = (
    registration.FEATURE,
    basics.FEATURE,
    ask.FEATURE,
    kb.FEATURE,
    plans.FEATURE,
    pulse.FEATURE,
    user_settings.FEATURE,
    privacy.FEATURE,
    admin.FEATURE,
    kb_upkeep.FEATURE,
)


def all_commands(features: Sequence[Feature] = FEATURES) -> list[CommandSpec]:
    """Every feature's commands, in the order /help lists them, with their Swedish and
    English names (bot/shell/commands.py)."""
    ordered = sorted(
        features, key=lambda f: HELP_ORDER.index(f) if f in HELP_ORDER else len(HELP_ORDER)
    )
    return named([spec for feature in ordered for spec in feature.commands])


async def _post_init(app: DalsbotApp) -> None:
    data = app.bot_data
    # Application.initialize has called getMe already (Bot.initialize): no second call.
    data.bot_username = app.bot.bot.username or data.bot_username
    for admin_id in data.settings.admins:
        await data.db.run(
            staff_store.ensure_admin,
            telegram_id=admin_id,
            display_name=staff_store.placeholder_admin_name(admin_id),
        )
    for hook in data.post_init_hooks:
        await hook(app)
    logger.info("Dalsbot is ready as @%s", data.bot_username)


async def _set_descriptions(app: DalsbotApp) -> None:
    await menus.set_descriptions(app.bot)


async def _post_shutdown(app: DalsbotApp) -> None:
    for hook in app.bot_data.post_shutdown_hooks:
        await hook(app)


@contextlib.asynccontextmanager
async def running(app: DalsbotApp, *, poll_timeout: int = 5) -> AsyncIterator[DalsbotApp]:
    """Run ``app`` with long polling inside an event loop that already runs (local mode,
    tests), including the post_init/post_shutdown hooks that ``run_polling`` would call;
    yields once the started hooks are done too (bot/shell/started.py)."""
    work = app.bot_data.services.get(started.StartedWork)
    work.stop_app = lambda: None  # a failure is raised by work.wait() below
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
    )
    try:
        await work.wait()
        yield app
    finally:
        with contextlib.suppress(Exception):
            await app.updater.stop()
        await app.stop()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()


def build_application(
    settings: Settings,
    *,
    db: Database,
    api_root: str | None = None,
    clock: Callable[[], dt.datetime] = system_clock,
    features: Sequence[Feature] = FEATURES,
    wrap_request: Callable[[BaseRequest], BaseRequest] | None = None,
) -> DalsbotApp:
    """The real ``Application``, talking to ``api_root`` (Telegram or a stand-in);
    ``wrap_request`` wraps the bot's requests (webhook mode's journal, bot/shell/webhook.py)."""
    root = (api_root or settings.telegram_api_url).rstrip("/")
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else LOCAL_TOKEN
    # One TLS context (httpx's default: certifi's roots) for both clients: building one loads
    # the certificate bundle, about 25 ms of start-up each.
    tls = {"verify": httpx.create_ssl_context()}
    through_httpx = HTTPXRequest(
        connection_pool_size=BOT_API_CONNECTIONS, read_timeout=15, write_timeout=15,
        connect_timeout=10, pool_timeout=10, httpx_kwargs=tls,
    )  # fmt: skip
    # Bot API calls on kept-alive connections without httpx's per-request machinery (files
    # and proxied setups still go through httpx): bot/shell/botapi_request.py.
    requests = KeepAliveRequest(
        through_httpx, connections=BOT_API_CONNECTIONS, read_timeout=15, write_timeout=15,
        connect_timeout=10, pool_timeout=10, tls=tls["verify"],
    )  # fmt: skip
    # ContextTypes instantiates bot_data without arguments: a partial carries ours in.
    context_types = ContextTypes(  # type: ignore[call-overload]
        context=BotContext,
        bot_data=functools.partial(BotData, settings, db, clock),
        user_data=UserState,
    )
    # python-telegram-bot's own bot class, with a send that does not read its answer back
    # (bot/context.py): built here, since the builder builds only its own class.
    bot = DalsbotBot(
        token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        defaults=Defaults(tzinfo=settings.tz),
        request=requests if wrap_request is None else wrap_request(requests),
        get_updates_request=KeepAliveRequest(
            HTTPXRequest(connection_pool_size=2, read_timeout=40, httpx_kwargs=tls),
            connections=2,
            read_timeout=40,
            tls=tls["verify"],
        ),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(context_types)
        .application_class(DalsbotApplication)
        .persistence(DbPersistence(db, clock))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: DalsbotApp = builder.build()
    app.bot_data.commands = all_commands(features)
    app.bot_data.aliases = alias_map(app.bot_data.commands)
    # Once the bot fetches updates: the knowledge base (handlers/kb/live.py), the
    # descriptions, the strangers' menus, then each staff member's checked.
    started.install(app)
    app.bot_data.started_hooks.append(_set_descriptions)
    menu_sync = menus.MenuSync()
    app.bot_data.started_hooks.append(menu_sync.start)
    app.bot_data.post_shutdown_hooks.append(menu_sync.stop)
    # What the first person would otherwise wait for, loaded in the background once started.
    warmup.install(app)
    # The handler table above, group by group.
    app.add_handler(TypeHandler(Update, basics.gatekeeper), group=GATEKEEPER_GROUP)
    for group, feature in TEXT_FIRST_GROUPS:
        if feature in features and feature.text_first is not None:
            app.add_handler(feature.text_first(), group=group)
    for feature in features:
        app.add_handlers(list(feature.handlers()))
        if feature.setup is not None:
            feature.setup(app)
    schedule_purge(app)
    # /healthz and /metrics (bot/shell/ops.py): after the features, so the dispatcher exists.
    ops.install(app)
    app.add_handler(CommandHandler("cancel", basics.cancel_nothing))
    app.add_handler(MessageHandler(filters.COMMAND, basics.unknown_command))
    app.add_handler(MessageHandler(basics.MEDIA, basics.media_message))
    app.add_handler(CallbackQueryHandler(basics.stale_button))
    app.add_error_handler(errors.on_error)
    return app


__all__ = ["LOCAL_TOKEN", "Application", "build_application"]
