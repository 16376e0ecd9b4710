"""Command-line commands of the knowledge base: ``kb check`` and ``ask``.

Registered like every other command (see ``bot/shell/cli/__init__.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from bot.settings import Settings
from bot.shell.cli import Subcommands
from knowledge.articles import ARTICLES_DIR, KnowledgeBaseError
from knowledge.check import check_knowledge_base
from knowledge.glossary import GlossaryError
from knowledge.service import Answer, KnowledgeBase
from knowledge.text import SUPPORTED_LANGS


def add_commands(subparsers: Subcommands) -> None:
    """Add ``kb check`` and ``ask`` to ``subparsers``."""
    kb = subparsers.add_parser("kb", help="knowledge-base maintenance")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="check the articles for errors and warnings")
    check.add_argument("--path", type=Path, default=ARTICLES_DIR, help="articles folder")
    check.set_defaults(handler=run_check)

    ask = subparsers.add_parser("ask", help="ask the knowledge base a question")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--lang", choices=SUPPORTED_LANGS, default="sv", help="preferred language")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--path", type=Path, default=ARTICLES_DIR, help="articles folder")
    ask.set_defaults(handler=run_ask)


def run_check(args: argparse.Namespace, _settings: Settings) -> int:
    """Print the check's errors and warnings; exit code 1 when there are errors."""
    report = check_knowledge_base(Path(args.path), dt.date.today())
    for error in report.errors:
        print(f"ERROR   {error}")
    for warning in report.warnings:
        print(f"WARNING {warning}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 0 if report.ok else 1


def run_ask(args: argparse.Namespace, _settings: Settings) -> int:
    """Answer one question; print JSON with ``--json``, else readable text."""
    try:
        kb = KnowledgeBase(Path(args.path))
    except (KnowledgeBaseError, GlossaryError) as exc:
        print(f"ERROR   {exc}", file=sys.stderr)
        return 2
    answer = kb.answer(args.question, args.lang)
    if args.json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False))
    else:
        print(format_answer(answer))
    return 0


def format_answer(answer: Answer) -> str:
    """A readable rendering of an answer for the terminal."""
    head = (
        f"[{answer.lang}] {answer.article_id or '—'} "
        f"(confidence {answer.confidence:.2f}{', EMERGENCY' if answer.emergency else ''})"
    )
    lines = [head]
    if answer.title:
        lines.append(answer.title)
    lines.extend(["", answer.text])
    if answer.related:
        lines.extend(["", "Related: " + ", ".join(answer.related)])
    return "\n".join(lines)
