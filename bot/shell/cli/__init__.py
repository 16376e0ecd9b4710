"""The ``dalsbot`` command line: ``main.py`` builds the parser from every feature's module here.

Each module has ``add_commands(subcommands)`` and gives each of its commands a
``handler(args, settings) -> exit code`` with ``set_defaults(handler=...)``: one way to add a
command. The helpers below open the database for one piece of work and write a command's
output, so no command repeats them.

A module here imports what its commands need inside the command's function: ``dalsbot ask``
should not pay for the database layer, nor ``dalsbot run`` for the pulse's CSV export.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.settings import Settings

Subcommands = argparse._SubParsersAction
"""What ``add_commands`` adds its commands to."""

T = TypeVar("T")


def with_session(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction on the migrated database, then close it."""
    from storage.migrate import migrated

    with migrated(settings.database_url) as db:
        return db.call(work)


def write_output(text: str, output: Path | None, summary: str) -> None:
    """``text`` to standard output, or to the file ``output`` with ``summary`` on standard
    output."""
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    print(summary)
