"""The ``dalsbot`` command line (also ``python -m bot``).

``dalsbot run`` runs the bot: against Telegram when a token is set, otherwise in local mode.
``dalsbot chat`` always runs local mode. ``dalsbot db upgrade`` applies the migrations;
``dalsbot invite create`` makes an invitation. Feature modules add their own commands
(``kb check``, ``ask``, ``contacts check``, ``plans``, ``pulse``) through ``add_commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from storage.db import DatabaseError

logger = logging.getLogger(__name__)

# Modules that add sub-commands: each has add_commands(subparsers).
COMMAND_MODULES = (
    "knowledge.cli", "bot.contacts_cli", "bot.plans_cli", "bot.pulse_cli", "bot.privacy_cli",
)  # fmt: skip


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.local_mode or args.command == "chat":
        from bot.local import run_local

        # The terminal is the chat: keep library chatter out of it.
        if settings.log_level != "DEBUG":
            logging.getLogger().setLevel(logging.WARNING)

        asyncio.run(run_local(settings))
        return 0
    from bot.runner import run_telegram

    run_telegram(settings)
    return 0


def _cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import open_database

    open_database(settings).dispose()
    print("The database is up to date.")
    return 0


def _bot_username(settings: Settings) -> str:
    """The bot's username for deep links: the setting, Telegram's getMe, or the local name."""
    if settings.bot_username:
        return settings.bot_username
    if settings.telegram_token is None:
        return "dalsbot_local_bot"
    import httpx

    token = settings.telegram_token.get_secret_value()
    response = httpx.get(f"{settings.telegram_api_url}/bot{token}/getMe", timeout=10)
    response.raise_for_status()
    return str(response.json()["result"]["username"])


def _cmd_invite_create(args: argparse.Namespace, settings: Settings) -> int:
    from bot.runner import open_database
    from handlers.admin import invite_link
    from storage import staff as staff_store
    from storage.models import Municipality, Role

    municipalities = {m.value.lower(): m.value for m in Municipality}
    municipality = municipalities.get(args.municipality.lower())
    if municipality is None:
        print(
            f"Unknown municipality {args.municipality!r}; choose one of: "
            + ", ".join(m.value for m in Municipality),
            file=sys.stderr,
        )
        return 2
    db = open_database(settings)
    try:
        invitation = db.call(
            lambda s: staff_store.create_invitation(
                s,
                role=Role(args.role),
                municipality=municipality,
                uses=args.uses,
                expires_days=args.expires_days,
            )
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        db.dispose()
    link = invite_link(_bot_username(settings), invitation.code)
    result = {
        "code": invitation.code,
        "link": link,
        "role": invitation.role,
        "municipality": invitation.municipality,
        "uses": invitation.max_uses,
        "expires_at": invitation.expires_at.isoformat(),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(
            f"Invitation for a {invitation.role} in {invitation.municipality}, "
            f"{invitation.max_uses} use(s), valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        print(link)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="dalsbot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (local mode without a token)").set_defaults(
        handler=_cmd_run
    )
    commands.add_parser("chat", help="local mode: chat with the bot in the terminal").set_defaults(
        handler=_cmd_run
    )
    db = commands.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the migrations").set_defaults(handler=_cmd_db_upgrade)
    invite = commands.add_parser("invite", help="invitations").add_subparsers(
        dest="invite_command", required=True
    )
    create = invite.add_parser("create", help="create an invitation")
    create.add_argument("--role", required=True, choices=["admin", "coordinator", "staff"])
    create.add_argument("--municipality", required=True)
    create.add_argument("--uses", type=int, default=1)
    create.add_argument("--expires-days", type=int, default=7)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_cmd_invite_create)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dalsbot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    secrets = (settings.telegram_token.get_secret_value(),) if settings.telegram_token else ()
    configure_logging(settings.log_level, secrets)
    try:
        if hasattr(args, "handler"):
            return int(args.handler(args, settings))
        return int(args.func(args))
    except DatabaseError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
