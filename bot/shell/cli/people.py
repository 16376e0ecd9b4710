"""``dalsbot invite create``: an invitation link for a new person, made on the server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from bot.shell.cli import Subcommands, with_session

if TYPE_CHECKING:
    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``invite create`` to ``subparsers``."""
    invite = subparsers.add_parser("invite", help="invitations").add_subparsers(
        dest="invite_command", required=True
    )
    create = invite.add_parser("create", help="create an invitation")
    create.add_argument("--role", required=True, choices=["admin", "coordinator", "staff"])
    create.add_argument("--municipality", required=True)
    create.add_argument("--uses", type=int, default=1)
    create.add_argument("--expires-days", type=int, default=7)
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_cmd_invite_create)


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
    from handlers.people.admin import invite_link
    from storage.people import store as staff_store
    from storage.people.models import Municipality, Role

    municipalities = {m.value.lower(): m.value for m in Municipality}
    municipality = municipalities.get(args.municipality.lower())
    if municipality is None:
        print(
            f"Unknown municipality {args.municipality!r}; choose one of: "
            + ", ".join(m.value for m in Municipality),
            file=sys.stderr,
        )
        return 2
    try:
        invitation = with_session(
            settings,
            lambda s: staff_store.create_invitation(
                s,
                role=Role(args.role),
                municipality=municipality,
                uses=args.uses,
                expires_days=args.expires_days,
            ),
        )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
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
