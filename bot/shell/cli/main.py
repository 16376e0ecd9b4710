"""The ``dalsbot`` command line (also ``python -m bot``).

``dalsbot run`` runs the bot: against Telegram when a token is set, otherwise in local mode.
``dalsbot chat`` always runs local mode. Each feature's commands (``db upgrade``/``backup``/
``restore``, ``invite create``, ``kb check``, ``ask``, ``contacts check``, ``plans``, ``pulse``,
``audit``, ``retention``) come from its module in this package.
"""

from __future__ import annotations

import gc
import os

# Dalsbot's numpy work is small vectors and sparse sums (the search index, the models):
# OpenBLAS's thread pool would only cost start-up time (about 50 ms to start it) and
# compete with the event loop. Set before anything imports numpy; a value set outside wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.logs import configure_logging
from bot.shell.cli import contacts, db, kb, people, plans, privacy, pulse

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

# Each feature's commands, in the order ``dalsbot --help`` lists them.
FEATURE_COMMANDS = (db, people, kb, contacts, plans, pulse, privacy)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.local_mode or args.command == "chat":
        import asyncio

        from bot.shell.started import resume_garbage_collection

        resume_garbage_collection()

        from bot.shell.local import run_local

        # The terminal is the chat: keep library chatter out of it.
        if settings.log_level != "DEBUG":
            logging.getLogger().setLevel(logging.WARNING)

        asyncio.run(run_local(settings))
        return 0
    from bot.shell.runner import run_telegram

    run_telegram(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="dalsbot", description=__doc__.splitlines()[0])
    # A command sets needs_settings=False when it reads none (see main).
    parser.set_defaults(needs_settings=True)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (local mode without a token)").set_defaults(
        handler=_cmd_run
    )
    commands.add_parser("chat", help="local mode: chat with the bot in the terminal").set_defaults(
        handler=_cmd_run
    )
    for module in FEATURE_COMMANDS:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dalsbot`` console script."""
    args = build_parser().parse_args(argv)
    if args.handler is _cmd_run:
        # Start-up only creates objects that live as long as the process: the cyclic
        # garbage collector would walk them again and again while the libraries load (about
        # 60 ms of the start). It runs again once the bot fetches updates, with what
        # start-up made kept out of later collections (bot/shell/started.py).
        gc.disable()
    else:
        gc.enable()  # ``python -m bot`` starts without it (bot/__main__.py)
    if not args.needs_settings:
        # A command that reads no setting (``ask``) does without them: building the settings
        # (pydantic) would be a fifth of its time. It logs warnings and errors only.
        configure_logging("WARNING")
        return _handle(args, None)
    # Imported here, like every command's own modules: --help and the parser stay light.
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    secrets = (settings.telegram_token.get_secret_value(),) if settings.telegram_token else ()
    configure_logging(settings.log_level, secrets, settings.log_format)
    return _handle(args, settings)


def _handle(args: argparse.Namespace, settings: Settings | None) -> int:
    """Run the command's handler; a database that cannot be used is one line and code 2."""
    try:
        return int(args.handler(args, settings))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if _database_error(exc):
            print(str(exc), file=sys.stderr)
            return 2
        raise


def _database_error(exc: Exception) -> bool:
    """True for storage.db's one-line DatabaseError. A command that never opened the database
    never imported storage.db (nor SQLAlchemy), so its errors cannot be one."""
    module = sys.modules.get("storage.db")
    return module is not None and isinstance(exc, module.DatabaseError)


if __name__ == "__main__":
    raise SystemExit(main())
