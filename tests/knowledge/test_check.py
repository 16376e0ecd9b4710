"""The knowledge-base check: errors for broken articles, warnings for stale ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from knowledge.articles import ARTICLES_DIR, KnowledgeBaseError, load_articles
from knowledge.check import REQUIRED_IDS, check_knowledge_base

TODAY = dt.date(2026, 11, 25)


def write_article(root: Path, lang: str, article_id: str, **overrides: object) -> Path:
    """Write a valid article (with optional front-matter overrides) and return its path."""
    meta: dict[str, object] = {
        "id": article_id,
        "lang": lang,
        "title": f"Title {article_id}",
        "questions": ["q one", "q two", "q three"],
        "tags": ["tag"],
        "related": [],
        "sources": ["https://example.org/source"],
        "owner": "Processledare",
        "reviewed": "2026-10-01",
    }
    meta.update(overrides)
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(str(v) for v in value)}]")
        else:
            lines.append(f"{key}: {value}")
    lines += ["---", "Short answer.", "", "## Section", "Text."]
    path = root / lang / f"{article_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_real_knowledge_base_has_no_errors() -> None:
    """The committed articles pass the check."""
    report = check_knowledge_base(ARTICLES_DIR, TODAY)
    assert report.errors == []


def test_required_ids_are_the_32_topics() -> None:
    """The embedded list holds 32 distinct ids."""
    assert len(set(REQUIRED_IDS)) == 32


def test_missing_translation_and_required_ids_are_errors(tmp_path: Path) -> None:
    """An id in one language only, and absent required ids, are reported."""
    write_article(tmp_path, "sv", "sip")
    report = check_knowledge_base(tmp_path, TODAY)
    assert "article 'sip' has no 'en' version" in report.errors
    assert "required article 'orosanmalan' is missing" in report.errors
    assert not report.ok


def test_field_problems_are_errors(tmp_path: Path) -> None:
    """Too few questions, a non-URL source and an unknown related id are errors."""
    path = write_article(
        tmp_path, "sv", "sip", questions=["only one"], sources=["not a url"], related=["nope"]
    )
    errors = check_knowledge_base(tmp_path, TODAY).errors
    assert f"{path}: has 1 questions, expected 3–8" in errors
    assert f"{path}: source 'not a url' does not look like a URL" in errors
    assert f"{path}: related id 'nope' does not exist (sv)" in errors


def test_old_review_date_is_a_warning(tmp_path: Path) -> None:
    """Articles not reviewed for 12 months are listed as warnings, not errors."""
    path = write_article(tmp_path, "sv", "sip", reviewed="2025-01-01")
    report = check_knowledge_base(tmp_path, TODAY)
    assert f"{path}: last reviewed 2025-01-01, more than 12 months ago" in report.warnings


def test_long_short_answer_is_an_error(tmp_path: Path) -> None:
    """A first paragraph over 600 characters is an error."""
    path = write_article(tmp_path, "en", "sip")
    text = path.read_text(encoding="utf-8").replace("Short answer.", "x" * 601)
    path.write_text(text, encoding="utf-8")
    errors = check_knowledge_base(tmp_path, TODAY).errors
    assert f"{path}: short answer has 601 characters (max 600)" in errors


def test_unparsable_file_is_reported_by_check_and_raised_by_loader(tmp_path: Path) -> None:
    """Broken YAML is an error naming the file; load_articles raises KnowledgeBaseError."""
    path = tmp_path / "sv" / "broken.md"
    path.parent.mkdir(parents=True)
    path.write_text("---\nid: [unclosed\n---\nBody", encoding="utf-8")
    assert any(str(path) in error for error in check_knowledge_base(tmp_path, TODAY).errors)
    with pytest.raises(KnowledgeBaseError, match=r"broken\.md"):
        load_articles(tmp_path)


def test_loaded_article_has_short_answer_and_date(tmp_path: Path) -> None:
    """Article fields are typed: tuple lists, a date, the first paragraph as short answer."""
    write_article(tmp_path, "sv", "sip")
    (article,) = load_articles(tmp_path)
    assert article.short_answer == "Short answer."
    assert article.reviewed == dt.date(2026, 10, 1)
    assert article.questions == ("q one", "q two", "q three")


def test_kb_check_reports_broken_signals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed signals file is a structural error of the knowledge base."""
    import knowledge.emergency as emergency
    from knowledge.check import check_knowledge_base

    (tmp_path / "x.yaml").write_text("negation: [inte, no]\n", encoding="utf-8")
    real = emergency.load_signals
    monkeypatch.setattr(emergency, "load_signals", lambda: real(tmp_path))
    report = check_knowledge_base(ARTICLES_DIR, dt.date(2026, 11, 26))
    assert any(error.startswith("emergency signals:") for error in report.errors)
