"""``dalsbot plans import FILE.csv`` and ``dalsbot plans export --csv [--output FILE]``.

Import: every row is checked first, by the CSV reader (storage/plans/csvfile.py: columns, values,
references, dates, repeats) and against the database (registered, active staff; the
responsible works in the plan's municipality or the region). Every problem is printed with
its line number and, if there is any, nothing is imported and the exit code is 1. Otherwise
all rows are imported in one transaction: a new reference creates a plan, a known one
(compared without regard to case) updates that plan. Reminders are planned as for a plan
made in chat.

Export: every active plan with a booked follow-up, in the import's columns, so an export
imports again unchanged; an overdue plan's past date is accepted on import when it is the
date the plan already has. Closed plans and plans waiting for a new date have no row (the
latter are counted on standard error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.shell.cli import Subcommands, with_session, write_output

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.settings import Settings
    from storage.db import Database
    from storage.plans.store import ImportResult

_LINE = re.compile(r"line (\d+):")


@dataclass
class ImportOutcome:
    """What an import did: the problems found (then nothing was imported), or the counts."""

    errors: list[str] = field(default_factory=list)
    result: ImportResult | None = None


def _by_line(error: str) -> int:
    match = _LINE.match(error)
    return int(match[1]) if match else 0


def import_plans_csv(
    db: Database, text: str, *, settings: Settings, now: dt.datetime
) -> ImportOutcome:
    """Check every row of ``text``, then import all of them or none, in one transaction."""
    from storage.people import store as staff_store
    from storage.plans import store as plans_store
    from storage.plans.csvfile import parse_plans_csv
    from storage.plans.duetimes import WorkCalendar
    from storage.plans.policy import policy_from_settings

    policy, calendar = policy_from_settings(settings), WorkCalendar()
    today = now.astimezone(settings.tz).date()

    def run(session: Session) -> ImportOutcome:
        cache: dict[str, int | None] = {}

        def resolve(token: str) -> int | None:
            if token not in cache:
                staff = staff_store.find_staff(session, handle=token)
                cache[token] = staff.telegram_id if staff is not None else None
            return cache[token]

        # Past dates are judged against the database below (an overdue plan's own date).
        parsed = parse_plans_csv(text, resolve_staff=resolve, today=dt.date.min)
        errors = parsed.errors + plans_store.import_problems(session, rows=parsed.rows, today=today)
        if errors:
            return ImportOutcome(errors=sorted(errors, key=_by_line))
        result = plans_store.import_rows(
            session, rows=parsed.rows, created_by=None, policy=policy, calendar=calendar, now=now
        )
        return ImportOutcome(result=result)

    try:
        return db.call(run)
    except plans_store.PlanError as exc:
        # Something changed between the check and the write; the transaction was rolled back.
        return ImportOutcome(errors=[f"nothing imported: {exc.key}"])


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text; save it as 'CSV UTF-8'") from None


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import migrated

    try:
        text = _read(args.file)
    except (OSError, ValueError) as exc:
        print(f"Cannot read the file: {exc}", file=sys.stderr)
        return 2
    with migrated(settings.database_url) as db:
        outcome = import_plans_csv(db, text, settings=settings, now=dt.datetime.now(dt.UTC))
    if outcome.errors or outcome.result is None:
        for error in outcome.errors:
            print(error, file=sys.stderr)
        print(f"Nothing was imported: {len(outcome.errors)} error(s).", file=sys.stderr)
        return 1
    result = outcome.result
    print(f"Imported {result.created + result.updated} plan(s): {result.created} created, "
          f"{result.updated} updated.")  # fmt: skip
    return 0


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from storage.plans import store as plans_store
    from storage.plans.csvfile import plans_to_csv

    export = with_session(settings, plans_store.export_rows)
    summary = f"Exported {len(export.rows)} plan(s) to {args.output}."
    write_output(plans_to_csv(export.rows), args.output, summary)
    if export.without_date:
        print(
            f"{export.without_date} active plan(s) without a booked follow-up were left out "
            "(the import needs a date).",
            file=sys.stderr,
        )
    return 0


def add_commands(subparsers: Subcommands) -> None:
    """``dalsbot plans import`` and ``dalsbot plans export``."""
    plans = subparsers.add_parser("plans", help="joint plans: CSV import and export (admins)")
    commands = plans.add_subparsers(dest="plans_command", required=True)
    importer = commands.add_parser(
        "import", help="import plans from CSV: all rows or none; a known reference is updated"
    )
    importer.add_argument("file", type=Path, help="CSV file (UTF-8), header line first")
    importer.set_defaults(handler=_cmd_import)
    exporter = commands.add_parser("export", help="export the active plans")
    exporter.add_argument("--csv", action="store_true", required=True, help="as CSV (required)")
    exporter.add_argument("--output", "-o", type=Path, help="write to FILE instead of stdout")
    exporter.set_defaults(handler=_cmd_export)
