"""Command-line commands of the pulse (for admins on the server).

- ``dalsbot pulse export --csv [--output FILE]``: every closed pulse's aggregated results,
  one row per pulse and question. Pulses below their k get one row without figures; no
  comment and nothing about any person is ever exported.
- ``dalsbot pulse templates check [FILE ...]``: validate template files (default: the
  repository's templates and the server's own folder); exit code 1 on any problem.
- ``dalsbot pulse templates list [--in-use]``: every template's key, version, audience and
  questions; ``--in-use`` adds the versions pulses were opened with.
- ``dalsbot pulse templates add FILE``: validate a template and put it in the server's own
  template folder (``<data_dir>/pulse_templates``), where the bot picks it up at the next
  /puls. A file with the key of an existing template replaces it for new pulses; pulses
  already opened keep the version (a snapshot) they were opened with.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.shell.cli import Subcommands, with_session, write_output

if TYPE_CHECKING:
    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``pulse export`` and ``pulse templates check|list|add`` to ``subparsers``."""
    pulse = subparsers.add_parser("pulse", help="anonymous pulse feedback")
    commands = pulse.add_subparsers(dest="pulse_command", required=True)
    export = commands.add_parser("export", help="export aggregated results of closed pulses")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV (UTF-8)")
    export.add_argument("--output", type=Path, help="write to FILE instead of standard output")
    export.set_defaults(handler=run_export)

    templates = commands.add_parser("templates", help="pulse templates")
    template_commands = templates.add_subparsers(dest="templates_command", required=True)
    check = template_commands.add_parser("check", help="validate template files")
    check.add_argument("files", nargs="*", type=Path, help="files (default: all templates)")
    check.set_defaults(handler=run_templates_check)
    listing = template_commands.add_parser("list", help="list templates and versions")
    listing.add_argument(
        "--in-use", action="store_true", help="also list the versions pulses were opened with"
    )
    listing.set_defaults(handler=run_templates_list)
    add = template_commands.add_parser("add", help="add or replace a template on this server")
    add.add_argument("file", type=Path, help="the template's YAML file (named <key>.yaml)")
    add.set_defaults(handler=run_templates_add)


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the aggregated results of every closed pulse as CSV."""
    from storage.pulse import store as pulse_store
    from storage.pulse.logic import pulse_export_csv

    summaries = with_session(settings, lambda s: pulse_store.export_summaries(s, tz=settings.tz))
    summary = f"Exported {len(summaries)} closed pulse(s) to {args.output}"
    write_output(pulse_export_csv(summaries), args.output, summary)
    return 0


def _template_files(settings: Settings) -> list[Path]:
    from storage.pulse.templates import TEMPLATES_DIR, site_templates_dir

    folders = [TEMPLATES_DIR, site_templates_dir(settings.data_dir)]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.yaml"))]


def run_templates_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate template files; print each file's verdict; 1 when any has a problem."""
    from storage.pulse.templates import (
        TemplateError,
        load_all_templates,
        site_templates_dir,
        validate_template_file,
    )

    files = list(args.files) or _template_files(settings)
    problems = 0
    for path in files:
        try:
            template = validate_template_file(path)
        except TemplateError as exc:
            problems += 1
            print(f"ERROR {exc}")
            continue
        print(f"ok    {path.name}: {template.key} version {template.version}")
    if not args.files:
        try:
            load_all_templates(site_templates_dir(settings.data_dir))
        except TemplateError as exc:
            problems += 1
            print(f"ERROR {exc}")
    print(f"{len(files)} file(s), {problems} problem(s)")
    return 1 if problems else 0


def run_templates_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the templates the bot offers, and optionally the versions in use."""
    from storage.pulse import store as pulse_store
    from storage.pulse.templates import TemplateError, load_all_templates, site_templates_dir

    try:
        templates = load_all_templates(site_templates_dir(settings.data_dir))
    except TemplateError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    for template in templates.values():
        print(
            f"{template.key:<12} {template.version}  {template.audience:<6}  "
            f"{len(template.questions)} questions  {template.title.sv} / {template.title.en}"
        )
        for number, question in enumerate(template.questions, start=1):
            print(f"    {number}. {question.key}: {question.text.sv}")
    if args.in_use:
        in_use = with_session(settings, pulse_store.template_versions_in_use)
        print("Versions in use by pulses:")
        for key, version, count in in_use:
            current = templates.get(key)
            note = " (current)" if current is not None and current.version == version else ""
            print(f"    {key} {version}: {count} pulse(s){note}")
        if not in_use:
            print("    none yet")
    return 0


def run_templates_add(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a template file and copy it into the server's template folder."""
    from storage.pulse.templates import (
        TEMPLATES_DIR,
        TemplateError,
        site_templates_dir,
        validate_template_file,
    )

    try:
        template = validate_template_file(args.file)
    except TemplateError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    folder = site_templates_dir(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{template.key}.yaml"
    replaced = target.exists() or (TEMPLATES_DIR / target.name).exists()
    shutil.copyfile(args.file, target)
    action = "replaces the earlier one for new pulses" if replaced else "is new"
    print(f"Template {template.key} version {template.version} {action}: {target}")
    return 0
