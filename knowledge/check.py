"""Consistency check of the knowledge base (``dalsbot kb check``).

Errors make the check fail: missing or mistyped fields, 3–8 questions, unique (id, lang),
every id in both languages, related ids that exist, sources that look like URLs, every
required id present, short answers of at most 600 characters, a loadable glossary.
Warnings do not: review dates older than twelve months (or in the future), short answers
close to the limit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.findings import Findings
from knowledge.articles import (
    KnowledgeBaseError,
    article_paths,
    first_paragraph,
    split_front_matter,
)
from knowledge.glossary import GLOSSARY_PATH, GlossaryError, load_glossary
from knowledge.text import SUPPORTED_LANGS

# The article ids that must exist (from /work/shared/knowledge-topics.md).
REQUIRED_IDS: tuple[str, ...] = (
    "backa-barnet-dalsland",
    "fyra-principer",
    "behovskompassen",
    "roll-upptackare",
    "roll-barnkontakt",
    "barnteam",
    "roll-stodsamordnare",
    "ett-barn-en-plan",
    "uppfoljning-av-plan",
    "forbereda-mote",
    "nivaer-av-stod",
    "fem-fragorna",
    "min-varld-triangeln",
    "resiliensmatrisen",
    "sip",
    "orosanmalan",
    "samtycke",
    "sekretess",
    "barnkonventionen",
    "barnets-delaktighet",
    "elevhalsa-och-stod",
    "skolfranvaro",
    "samverkansskyldighet",
    "girfec",
    "andra-modeller",
    "fullfoljda-studier",
    "lassatsning",
    "det-goda-livet-i-dalsland",
    "akut-lage",
    "om-boten-och-integritet",
    "pulsenkater",
    "kontakter",
)

MIN_QUESTIONS = 3
MAX_QUESTIONS = 8
MAX_SHORT_ANSWER = 600
WARN_SHORT_ANSWER = 550
REVIEW_MAX_AGE_DAYS = 365
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$")
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_STR_FIELDS = ("id", "lang", "title", "owner")
_LIST_FIELDS = ("questions", "tags", "related", "sources")


class CheckReport(Findings):
    """The outcome of a knowledge-base check."""


@dataclass(frozen=True, slots=True)
class _Entry:
    path: Path
    meta: dict[str, Any]
    body: str


def check_knowledge_base(
    root: Path, today: dt.date, glossary_path: Path = GLOSSARY_PATH
) -> CheckReport:
    """Check every article under ``root`` (``<lang>/<id>.md``) and the glossary."""
    report = CheckReport()
    if not root.is_dir():
        report.errors.append(f"{root}: the articles folder does not exist")
        return report
    entries = _read_entries(root, report)
    for entry in entries:
        _check_entry(entry, today, report)
    _check_collection(entries, report)
    _check_glossary(glossary_path, report)
    _check_message_data(report)
    return report


def _check_message_data(report: CheckReport) -> None:
    """The emergency signals, the message intents and the two learned models must load."""
    from knowledge import topic_model
    from knowledge.emergency import load_signals
    from knowledge.emergency.model import load_model
    from knowledge.intent import load_intents
    from knowledge.patterns import PatternError

    for name, load in (
        ("emergency signals", load_signals),
        ("message intents", load_intents),
        ("emergency model", load_model),
        ("topic model", topic_model.load_model),
    ):
        try:
            load()
        except (PatternError, ValueError, OSError, KeyError) as exc:
            report.errors.append(f"{name}: {exc}")


def _read_entries(root: Path, report: CheckReport) -> list[_Entry]:
    entries: list[_Entry] = []
    for path in article_paths(root):
        try:
            meta, body = split_front_matter(path.read_text(encoding="utf-8"), path)
        except (KnowledgeBaseError, OSError, UnicodeDecodeError) as exc:
            report.errors.append(str(exc))
            continue
        entries.append(_Entry(path, meta, body))
    return entries


def _check_entry(entry: _Entry, today: dt.date, report: CheckReport) -> None:
    path, meta = entry.path, entry.meta
    for name in _STR_FIELDS:
        if not isinstance(meta.get(name), str) or not meta[name].strip():
            report.errors.append(f"{path}: field '{name}' is missing or not a non-empty string")
    for name in _LIST_FIELDS:
        value = meta.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            report.errors.append(f"{path}: field '{name}' is missing or not a list of strings")
    _check_identity(entry, report)
    _check_questions(entry, report)
    _check_sources(entry, report)
    _check_reviewed(entry, today, report)
    _check_body(entry, report)


def _check_identity(entry: _Entry, report: CheckReport) -> None:
    path, meta = entry.path, entry.meta
    article_id, lang = meta.get("id"), meta.get("lang")
    if isinstance(article_id, str):
        if not _ID_RE.match(article_id):
            report.errors.append(f"{path}: id '{article_id}' must be lower-case words with '-'")
        if path.stem != article_id:
            report.errors.append(f"{path}: file name does not match id '{article_id}'")
    if isinstance(lang, str):
        if lang not in SUPPORTED_LANGS:
            report.errors.append(f"{path}: lang '{lang}' is not one of {SUPPORTED_LANGS}")
        if path.parent.name != lang:
            report.errors.append(f"{path}: lang '{lang}' does not match its folder")


def _check_questions(entry: _Entry, report: CheckReport) -> None:
    questions = entry.meta.get("questions")
    if isinstance(questions, list) and not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
        report.errors.append(
            f"{entry.path}: has {len(questions)} questions, expected "
            f"{MIN_QUESTIONS}–{MAX_QUESTIONS}"
        )


def _check_sources(entry: _Entry, report: CheckReport) -> None:
    sources = entry.meta.get("sources")
    if not isinstance(sources, list):
        return
    if not sources:
        report.errors.append(f"{entry.path}: no sources")
    for source in sources:
        if not isinstance(source, str) or not _URL_RE.match(source.strip()):
            report.errors.append(f"{entry.path}: source {source!r} does not look like a URL")


def _check_reviewed(entry: _Entry, today: dt.date, report: CheckReport) -> None:
    value = entry.meta.get("reviewed")
    if isinstance(value, dt.datetime):
        value = value.date()
    elif isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.date):
        report.errors.append(f"{entry.path}: field 'reviewed' is missing or not a date")
        return
    if (today - value).days > REVIEW_MAX_AGE_DAYS:
        report.warnings.append(f"{entry.path}: last reviewed {value}, more than 12 months ago")
    elif value > today:
        report.warnings.append(f"{entry.path}: reviewed date {value} is in the future")


def _check_body(entry: _Entry, report: CheckReport) -> None:
    short = first_paragraph(entry.body)
    if not short:
        report.errors.append(f"{entry.path}: the body has no short answer (first paragraph)")
    elif len(short) > MAX_SHORT_ANSWER:
        report.errors.append(
            f"{entry.path}: short answer has {len(short)} characters (max {MAX_SHORT_ANSWER})"
        )
    elif len(short) > WARN_SHORT_ANSWER:
        report.warnings.append(
            f"{entry.path}: short answer has {len(short)} characters "
            f"(aim for ≤ {WARN_SHORT_ANSWER})"
        )
    if "\n## " not in f"\n{entry.body}":
        report.warnings.append(f"{entry.path}: the body has no '## ' sections")


def _check_collection(entries: list[_Entry], report: CheckReport) -> None:
    by_key: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for entry in entries:
        article_id, lang = entry.meta.get("id"), entry.meta.get("lang")
        if isinstance(article_id, str) and isinstance(lang, str):
            by_key[(article_id, lang)].append(entry.path)
    for (article_id, lang), paths in sorted(by_key.items()):
        if len(paths) > 1:
            listed = ", ".join(str(p) for p in paths)
            report.errors.append(f"duplicate article '{article_id}' ({lang}): {listed}")
    langs_by_id: dict[str, set[str]] = defaultdict(set)
    for article_id, lang in by_key:
        langs_by_id[article_id].add(lang)
    for article_id, langs in sorted(langs_by_id.items()):
        for missing in sorted(set(SUPPORTED_LANGS) - langs):
            report.errors.append(f"article '{article_id}' has no '{missing}' version")
    for required in REQUIRED_IDS:
        if required not in langs_by_id:
            report.errors.append(f"required article '{required}' is missing")
    _check_related(entries, by_key, report)


def _check_related(
    entries: list[_Entry], by_key: dict[tuple[str, str], list[Path]], report: CheckReport
) -> None:
    for entry in entries:
        related, lang = entry.meta.get("related"), entry.meta.get("lang")
        if not isinstance(related, list) or not isinstance(lang, str):
            continue
        for target in related:
            if (target, lang) not in by_key:
                report.errors.append(f"{entry.path}: related id '{target}' does not exist ({lang})")
            if target == entry.meta.get("id"):
                report.warnings.append(f"{entry.path}: lists itself as related")


def _check_glossary(path: Path, report: CheckReport) -> None:
    try:
        load_glossary(path)
    except GlossaryError as exc:
        report.errors.append(str(exc))
