"""Command-line commands for privacy work (for admins on the server).

- ``dalsbot audit export [--since YYYY-MM-DD] [--output FILE]``: the audit log as CSV: when,
  which staff id did what to which plan id or staff id. Ids only, never a reference or a name.
- ``dalsbot retention run``: delete closed plans (with their team, follow-ups and reminders)
  closed longer ago than ``DALSBOT_PLAN_RETENTION_MONTHS``; the bot also does this daily.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from bot.shell.cli import Subcommands, with_session, write_output

if TYPE_CHECKING:
    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``audit export`` and ``retention run`` to ``subparsers``."""
    audit = subparsers.add_parser("audit", help="the audit log of plans and admin actions")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    export = commands.add_parser("export", help="export the audit log as CSV")
    export.add_argument("--since", type=dt.date.fromisoformat, help="from this day (UTC)")
    export.add_argument("--output", type=Path, help="write to FILE instead of standard output")
    export.set_defaults(handler=run_audit_export)
    retention = subparsers.add_parser("retention", help="delete data past its retention")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_commands.add_parser("run", help="delete closed plans past retention now")
    run.set_defaults(handler=run_retention)


def run_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the audit log as CSV."""
    from storage import audit

    since = dt.datetime.combine(args.since, dt.time(), dt.UTC) if args.since else None
    rows = with_session(settings, lambda s: audit.events(s, since=since))
    summary = f"Exported {len(rows)} audit event(s) to {args.output}"
    write_output(audit.export_csv(rows), args.output, summary)
    return 0


def run_retention(_args: argparse.Namespace, settings: Settings) -> int:
    """Delete closed plans past the retention period, and unfinished flows untouched for 30
    days, now (the bot does both every night)."""
    from storage import chatstate
    from storage.plans import store as plans_store

    now = dt.datetime.now(dt.UTC)
    months = settings.plan_retention_months
    deleted = with_session(
        settings, lambda s: plans_store.purge_closed_plans(s, months=months, now=now)
    )
    stale = with_session(settings, lambda s: chatstate.purge_stale(s, now))
    print(f"Deleted {deleted} closed plan(s) past {months} months")
    print(f"Deleted {stale} unfinished flow(s) untouched for {chatstate.KEEP.days} days")
    return 0
