"""The composition root: ``build_application(settings)`` wires the bot together."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from types import ModuleType

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot.context import BotContext, BotData, CommandSpec, DalsbotApp, system_clock
from bot.i18n import LANGUAGES, t
from bot.settings import Settings
from handlers import admin, ask, basics, errors, plans, privacy, pulse, reminders, start
from storage import staff as staff_store
from storage.db import Database

logger = logging.getLogger(__name__)

# Our flows run in private chats, one flow per person at a time, and every button is checked
# against the flow's state, so per_message tracking is not what we want.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

# Updates handled at once. Each runs its database work in a worker thread; more than this
# only makes requests queue inside httpx's pool (measured with benchmarks/pulse.py: 16 gave
# about twice the throughput and a third of the p95 tap time of 256).
CONCURRENT_UPDATES = 16

LOCAL_TOKEN = "123456:LOCAL-STAND-IN-TOKEN-0000000000"

# Feature modules in the order their handlers are tried (order matters: a flow's entry
# points and specific deep links must come before the generic /start and the free-text
# fallbacks). Each module has build_handlers() and COMMANDS.
# The handler group that sees every update first: edits and Business updates stop there.
GATEKEEPER_GROUP = -10
FEATURES: tuple[ModuleType, ...] = (
    pulse, start, basics, admin, plans, reminders, privacy, ask,
)  # fmt: skip


# The order /help and the command menu list the features in: the basics first, then the three
# jobs, then administration (independent of the order handlers are tried in).
HELP_ORDER: tuple[ModuleType, ...] = (
    start, basics, ask, plans, reminders, pulse, privacy, admin,
)  # fmt: skip


def all_commands(features: Sequence[ModuleType] = FEATURES) -> list[CommandSpec]:
    """Every feature's commands, in the order /help lists them."""
    ordered = sorted(
        features, key=lambda m: HELP_ORDER.index(m) if m in HELP_ORDER else len(HELP_ORDER)
    )
    return [spec for module in ordered for spec in getattr(module, "COMMANDS", [])]


async def set_command_menus(app: DalsbotApp, commands: Sequence[CommandSpec]) -> None:
    """Telegram's command menu, per language (Swedish is also the default)."""
    # The menu shows what every registered staff member may use (admins see the rest in /help).
    shown = [
        spec for spec in commands if spec.in_menu and (spec.roles is None or "staff" in spec.roles)
    ]
    for lang in LANGUAGES:
        menu = [BotCommand(spec.command, t(spec.text_key, lang)[:256]) for spec in shown]
        await app.bot.set_my_commands(menu, language_code=lang)
        if lang == "sv":
            await app.bot.set_my_commands(menu)


async def _post_init(app: DalsbotApp) -> None:
    data = app.bot_data
    me = await app.bot.get_me()
    data.bot_username = me.username or data.bot_username
    for admin_id in data.settings.admins:
        await data.db.run(
            staff_store.ensure_admin,
            telegram_id=admin_id,
            display_name=staff_store.placeholder_admin_name(admin_id),
        )
    await set_command_menus(app, data.commands)
    for hook in data.services.get("post_init_hooks", []):
        await hook(app)
    logger.info("Dalsbot is ready as @%s", data.bot_username)


async def _post_shutdown(app: DalsbotApp) -> None:
    for hook in app.bot_data.services.get("post_shutdown_hooks", []):
        await hook(app)


@contextlib.asynccontextmanager
async def running(app: DalsbotApp, *, poll_timeout: int = 5) -> AsyncIterator[DalsbotApp]:
    """Run ``app`` with long polling inside an event loop that already runs (local mode,
    tests), including the post_init/post_shutdown hooks that ``run_polling`` would call."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0.0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
    )
    try:
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
    features: Sequence[ModuleType] = FEATURES,
) -> DalsbotApp:
    """The real ``Application``, talking to ``api_root`` (Telegram or a stand-in)."""
    root = (api_root or settings.telegram_api_url).rstrip("/")
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else LOCAL_TOKEN
    # ContextTypes instantiates bot_data without arguments: a partial carries ours in.
    context_types = ContextTypes(  # type: ignore[call-overload]
        context=BotContext,
        bot_data=functools.partial(BotData, settings, db, clock),
    )
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .context_types(context_types)
        .defaults(Defaults(tzinfo=settings.tz))
        .request(
            HTTPXRequest(
                connection_pool_size=32,
                read_timeout=15,
                write_timeout=15,
                connect_timeout=10,
                pool_timeout=10,
            )
        )
        .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=40))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    app: DalsbotApp = builder.build()
    app.bot_data.commands = all_commands(features)
    # First of all, in a group of its own before every other group (the pending question in
    # -2, the pulse comment in -1, the features in 0): an edited message stops here (a hint in
    # private chats), so no flow, question, comment or command ever sees it as new; so does
    # every Telegram Business update.
    app.add_handler(TypeHandler(Update, basics.gatekeeper), group=GATEKEEPER_GROUP)
    for module in features:
        handlers: list[BaseHandler[Update, BotContext, object]] = module.build_handlers()
        app.add_handlers(handlers)
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    # After every feature's flows (their own /cancel fallbacks come first): /cancel with
    # nothing running.
    app.add_handler(CommandHandler("cancel", basics.cancel_nothing))
    # Last: any command nobody handled gets a hint to /help, any button nobody handled an alert.
    app.add_handler(MessageHandler(filters.COMMAND, basics.unknown_command))
    app.add_handler(CallbackQueryHandler(basics.stale_button))
    app.add_error_handler(errors.on_error)
    return app


__all__ = ["LOCAL_TOKEN", "Application", "build_application"]
