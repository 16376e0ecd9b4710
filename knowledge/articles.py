"""Knowledge-base articles: Markdown files with YAML front matter, one per id and language.

Layout: ``articles/<lang>/<id>.md``. The front matter holds id, lang, title, questions,
tags, related, sources, owner and reviewed; the body's first paragraph is the short answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import yamlfile

logger = logging.getLogger(__name__)

ARTICLES_DIR: Path = Path(__file__).resolve().parent / "articles"

_FENCE = "---"


class KnowledgeBaseError(Exception):
    """An article file cannot be read or parsed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Article:
    """One article in one language, as loaded from its Markdown file."""

    id: str
    lang: str
    title: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    related: tuple[str, ...]
    sources: tuple[str, ...]
    owner: str
    reviewed: dt.date
    body: str
    short_answer: str
    path: Path


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """Split a Markdown document into its YAML front matter (a mapping) and its body."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise KnowledgeBaseError(f"{path}: missing front matter (the file must start with '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == _FENCE)
    except StopIteration:
        raise KnowledgeBaseError(f"{path}: front matter is not closed with '---'") from None
    try:
        meta = yamlfile.safe_load("\n".join(lines[1:end]))
    except yamlfile.YAMLError as exc:
        raise KnowledgeBaseError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise KnowledgeBaseError(f"{path}: front matter must be a mapping of fields")
    return meta, "\n".join(lines[end + 1 :]).strip()


def first_paragraph(body: str) -> str:
    """Return the first paragraph of a Markdown body that is not a heading."""
    paragraph: list[str] = []
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped:
            if paragraph:
                break
            continue
        if stripped.startswith("#"):
            if paragraph:
                break
            continue
        paragraph.append(stripped)
    return " ".join(paragraph)


def parse_article(text: str, path: Path) -> Article:
    """Parse one article file's text; raise KnowledgeBaseError naming ``path`` on problems."""
    meta, body = split_front_matter(text, path)
    return Article(
        id=_required_str(meta, "id", path),
        lang=_required_str(meta, "lang", path),
        title=_required_str(meta, "title", path),
        questions=_str_list(meta, "questions", path),
        tags=_str_list(meta, "tags", path),
        related=_str_list(meta, "related", path),
        sources=_str_list(meta, "sources", path),
        owner=_optional_str(meta, "owner", path),
        reviewed=_date(meta, "reviewed", path),
        body=body,
        short_answer=first_paragraph(body),
        path=path,
    )


def load_article(path: Path) -> Article:
    """Read and parse the article at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: cannot be read: {exc}") from exc
    return parse_article(text, path)


def article_paths(root: Path) -> list[Path]:
    """Return every ``*.md`` article file under ``root`` (``<lang>/<id>.md``), sorted."""
    return sorted(p for p in root.glob("*/*.md") if p.is_file())


def load_articles(root: Path) -> list[Article]:
    """Load every article under ``root``; raise KnowledgeBaseError for an unparsable file."""
    if not root.is_dir():
        raise KnowledgeBaseError(f"{root}: the articles folder does not exist")
    articles = [load_article(path) for path in article_paths(root)]
    logger.debug("Loaded %d articles from %s", len(articles), root)
    return articles


def _required_str(meta: dict[str, Any], key: str, path: Path) -> str:
    value = meta.get(key)
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value):
        raise KnowledgeBaseError(f"{path}: field '{key}' is missing or not a string")
    return str(value).strip()


def _optional_str(meta: dict[str, Any], key: str, path: Path) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise KnowledgeBaseError(f"{path}: field '{key}' must be a string")
    return value.strip()


def _str_list(meta: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
        raise KnowledgeBaseError(f"{path}: field '{key}' must be a list of strings")
    return tuple(str(v).strip() for v in value if v is not None and str(v).strip())


def _date(meta: dict[str, Any], key: str, path: Path) -> dt.date:
    value = meta.get(key)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(value.strip())
    raise KnowledgeBaseError(f"{path}: field '{key}' must be a date (YYYY-MM-DD)")
