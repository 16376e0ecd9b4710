"""``dalsbot db upgrade``: apply the migrations."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from bot.shell.cli import Subcommands


def add_commands(subparsers: Subcommands) -> None:
    """Add ``db upgrade`` to ``subparsers``."""
    db = subparsers.add_parser("db", help="database: migrations, backup and restore")
    commands = db.add_subparsers(dest="db_command", required=True)
    commands.add_parser("upgrade", help="apply the migrations").set_defaults(handler=run_upgrade)


def run_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """Apply the migrations."""
    from storage.migrate import open_database

    open_database(settings.database_url).dispose()
    print("The database is up to date.")
    return 0
