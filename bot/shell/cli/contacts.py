"""``dalsbot contacts check [--path FILE]``: check the phone numbers of the emergency card.

Prints every structural error (the file would be refused at start-up and by /kb_reload;
exit code 1) and a warning for each municipality whose numbers are not filled in yet
(exit code 0). Without ``--path`` it checks the file the bot uses (``DALSBOT_CONTACTS_FILE``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.shell.cli import Subcommands

if TYPE_CHECKING:
    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``contacts check`` to ``subparsers``."""
    contacts = subparsers.add_parser("contacts", help="phone numbers of the emergency card")
    commands = contacts.add_subparsers(dest="contacts_command", required=True)
    check = commands.add_parser("check", help="check the contacts file for errors and gaps")
    check.add_argument("--path", type=Path, help="contacts file (default: the configured one)")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print the check's errors and warnings; exit code 1 when there are errors."""
    from knowledge.contacts import check_contacts

    path = Path(args.path) if args.path else settings.contacts_file
    report = check_contacts(path)
    for error in report.errors:
        print(f"ERROR   {error}")
    for warning in report.warnings:
        print(f"WARNING {warning}")
    configured = report.contacts.count if report.ok else 0
    print(
        f"{path}: {configured} number(s) configured; "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )
    return 0 if report.ok else 1
