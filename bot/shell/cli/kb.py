"""Command-line commands of the knowledge base: ``kb check``, ``kb import``, ``kb export``
and ``ask``.

The Markdown files are the seed and the reviewed source in the repository; the database holds
what the bot answers from (storage/knowledge/articles.py). ``kb import`` brings the seed in
(idempotent; an approved chat change newer than the seed is reported as drift and kept unless
``--force``), ``kb export DIR`` writes the database's articles as Markdown that imports again
unchanged (so chat edits can be reviewed and committed), ``kb check`` fails on structural
errors only and also prints where the seed and the database disagree.

Registered like every other command (see ``bot/shell/cli/__init__.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.shell.cli import Subcommands, with_session
from knowledge.articles import ARTICLES_DIR, Article, KnowledgeBaseError, load_articles
from knowledge.check import check_knowledge_base
from knowledge.glossary import GlossaryError
from knowledge.service import Answer, KnowledgeBase
from knowledge.text import SUPPORTED_LANGS

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.settings import Settings


def add_commands(subparsers: Subcommands) -> None:
    """Add ``kb check`` and ``ask`` to ``subparsers``."""
    kb = subparsers.add_parser("kb", help="knowledge-base maintenance")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_commands.add_parser("check", help="check the articles for errors and warnings")
    check.add_argument("--path", type=Path, default=ARTICLES_DIR, help="articles folder")
    check.add_argument(
        "--no-drift", action="store_true", help="do not compare the seed with the database"
    )
    check.set_defaults(handler=run_check)
    seed = kb_commands.add_parser("import", help="import the Markdown seed into the database")
    seed.add_argument("--path", type=Path, default=ARTICLES_DIR, help="articles folder")
    seed.add_argument(
        "--force", action="store_true", help="overwrite newer approved chat changes (drift)"
    )
    seed.set_defaults(handler=run_import)
    export = kb_commands.add_parser("export", help="write the database's articles as Markdown")
    export.add_argument("dir", type=Path, help="folder to write <lang>/<id>.md into")
    export.set_defaults(handler=run_export)

    ask = subparsers.add_parser("ask", help="ask the knowledge base a question")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--lang", choices=SUPPORTED_LANGS, default="sv", help="preferred language")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--path", type=Path, default=ARTICLES_DIR, help="articles folder")
    ask.set_defaults(handler=run_ask, needs_settings=False)


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print the check's errors and warnings, then the drift between the seed and the
    database (printed, never failing); exit code 1 when there are structural errors."""
    report = check_knowledge_base(Path(args.path), dt.date.today())
    for error in report.errors:
        print(f"ERROR   {error}")
    for warning in report.warnings:
        print(f"WARNING {warning}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if not args.no_drift and report.ok:
        print_drift(Path(args.path), settings)
    return 0 if report.ok else 1


def print_drift(path: Path, settings: Settings) -> None:
    """Where the seed files and the database's approved articles disagree (or why not known)."""
    from storage.knowledge import articles as kb_articles

    if not _database_exists(settings.database_url):
        print("DRIFT   not checked: no database yet (the bot imports the seed at start-up)")
        return
    import sqlalchemy as sa

    from storage.db import Database, DatabaseError

    # Read only: a check neither creates nor migrates a database.
    db = Database(settings.database_url)
    try:
        seed = load_articles(path)
        db.check()
        found, only = db.call(
            lambda s: (
                kb_articles.drift(s, seed),
                _only_in_database(s, {(a.id, a.lang) for a in seed}),
            )
        )
    except (KnowledgeBaseError, OSError, DatabaseError) as exc:
        print(f"DRIFT   not checked: {str(exc).splitlines()[0]}")
        return
    except sa.exc.SQLAlchemyError:
        print("DRIFT   not checked: the database has no articles yet (run dalsbot db upgrade)")
        return
    finally:
        db.dispose()
    for item in found:
        if item.fields == ("missing",):
            print(f"DRIFT   {item.lang}/{item.article_id}: in the seed, not in the database")
            continue
        side = "an approved chat change" if item.chat_change else "the seed changed"
        print(f"DRIFT   {item.lang}/{item.article_id}: {', '.join(item.fields)} differ ({side})")
    for article_id, lang in only:
        print(f"DRIFT   {lang}/{article_id}: in the database only (made in chat)")
    total = len(found) + len(only)
    hint = " (dalsbot kb export DIR to review them, dalsbot kb import to take the seed)"
    print(f"{total} article(s) differ between the seed and the database{hint if total else ''}")


def _only_in_database(session: Session, seen: set[tuple[str, str]]) -> list[tuple[str, str]]:
    from storage.knowledge import articles as kb_articles

    return [(m.id, m.lang) for m in kb_articles.article_meta(session) if (m.id, m.lang) not in seen]


def _database_exists(url: str) -> bool:
    if not url.startswith("sqlite"):
        return True
    import sqlalchemy as sa

    database = sa.engine.make_url(url).database
    return bool(database) and database != ":memory:" and Path(str(database)).is_file()


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import the seed; one line per article; exit code 1 when drift was left in place."""
    from storage.knowledge import articles as kb_articles

    try:
        seed = load_articles(Path(args.path))
    except KnowledgeBaseError as exc:
        print(f"ERROR   {exc}", file=sys.stderr)
        return 2
    now = dt.datetime.now(dt.UTC)
    report = with_session(
        settings, lambda s: kb_articles.import_articles(s, seed, now, force=args.force)
    )
    for line in report.lines:
        fields = f" ({', '.join(line.fields)})" if line.status.value in _WITH_FIELDS else ""
        print(f"{line.status.value:<9} {line.lang}/{line.article_id}{fields}")
    for article_id, lang in report.only_in_database:
        print(f"{'db only':<9} {lang}/{article_id}")
    counts = ", ".join(
        f"{report.count(status)} {status.value}" for status in kb_articles.ImportStatus
    )
    print(f"{counts}; revision {report.revision}")
    if report.drift:
        print(
            f"{len(report.drift)} article(s) have approved chat changes newer than the seed and "
            "were kept: review them with 'dalsbot kb export DIR', or overwrite with --force",
            file=sys.stderr,
        )
        return 1
    return 0


_WITH_FIELDS = frozenset({"changed", "drift", "forced"})


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every approved article of the database as ``DIR/<lang>/<id>.md``."""
    from storage.knowledge import articles as kb_articles

    articles = with_session(settings, kb_articles.current_articles)
    root = Path(args.dir)
    for article in articles:
        path = root / article.lang / f"{article.id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_markdown(article), encoding="utf-8")
    print(f"{len(articles)} article(s) written to {root}")
    return 0


def article_markdown(article: Article) -> str:
    """The article as a Markdown file with YAML front matter that parses back to it."""
    meta: dict[str, Any] = {
        "id": article.id,
        "lang": article.lang,
        "title": article.title,
        "questions": list(article.questions),
        "tags": list(article.tags),
        "related": list(article.related),
        "sources": list(article.sources),
        "owner": article.owner,
        "reviewed": article.reviewed,
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100)
    return f"---\n{front}---\n{article.body.strip()}\n"


def run_ask(args: argparse.Namespace, _settings: Settings | None) -> int:
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
