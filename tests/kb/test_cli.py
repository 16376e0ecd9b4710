"""`dalsbot kb import`, `kb export DIR` and `kb check`'s drift report, run in this process."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.shell.cli.main import main
from knowledge.articles import ARTICLES_DIR, load_articles
from storage.knowledge import articles as store
from storage.migrate import migrated
from storage.people.models import Role
from tests.helpers import new_staff

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DALSBOT_DATABASE_URL", url)
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    return url


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_import_is_idempotent_and_says_what_changed(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = load_articles(ARTICLES_DIR)
    assert main(["kb", "import"]) == 0
    first = _lines(capsys)
    assert "new       sv/barnteam" in first
    assert first[-1] == f"{len(seed)} new, 0 changed, 0 unchanged, 0 drift, 0 forced; revision 1"
    assert main(["kb", "import"]) == 0
    again = _lines(capsys)
    assert "unchanged sv/barnteam" in again
    assert again[-1].startswith(f"0 new, 0 changed, {len(seed)} unchanged, 0 drift")


def test_export_imports_again_unchanged(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "import"]) == 0
    out = tmp_path / "export"
    assert main(["kb", "export", str(out)]) == 0
    seed = {(a.id, a.lang): a for a in load_articles(ARTICLES_DIR)}
    exported = load_articles(out)
    assert len(exported) == len(seed)
    for article in exported:
        original = seed[(article.id, article.lang)]
        assert store.Content.of(article) == store.Content.of(original)
        assert article.reviewed == original.reviewed
    capsys.readouterr()
    assert main(["kb", "import", "--path", str(out)]) == 0
    assert _lines(capsys)[-1].startswith(f"0 new, 0 changed, {len(seed)} unchanged")
    # The exported files pass the structural check as the seed does.
    assert main(["kb", "check", "--path", str(out)]) == 0


def test_a_chat_edit_is_drift_until_exported_or_forced(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "import"]) == 0
    with migrated(database) as db:
        db.call(_edit_sip_title, dt.datetime.now(dt.UTC))
    capsys.readouterr()
    # `kb check` reports the drift but does not fail on it.
    assert main(["kb", "check"]) == 0
    check = _lines(capsys)
    assert "DRIFT   en/sip: title differ (an approved chat change)" in check
    assert check[-1].startswith("1 article(s) differ between the seed and the database")
    # `kb import` keeps the newer chat edit and says so.
    assert main(["kb", "import"]) == 1
    assert "drift     en/sip (title)" in _lines(capsys)
    # --force lets the repository's seed win.
    assert main(["kb", "import", "--force"]) == 0
    assert "forced    en/sip (title)" in _lines(capsys)
    with migrated(database) as db:
        article = db.call(store.current_article, "sip", "en")
    assert article is not None and article.title != "SIP, the coordinated individual plan"


def test_an_exported_chat_edit_is_no_drift_once_imported(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "import"]) == 0
    with migrated(database) as db:
        db.call(_edit_sip_title, dt.datetime.now(dt.UTC))
    # What committing the export does: it becomes the seed; nothing differs then.
    out = tmp_path / "reviewed"
    assert main(["kb", "export", str(out)]) == 0
    assert main(["kb", "import", "--path", str(out)]) == 0
    capsys.readouterr()
    assert main(["kb", "check", "--path", str(out)]) == 0
    assert _lines(capsys)[-1] == "0 article(s) differ between the seed and the database"
    assert load_articles(out)[0].path.parent.name in {"en", "sv"}


def _edit_sip_title(session: store.Session, now: dt.datetime) -> None:
    """An editor proposes a new English title for 'sip', an admin approves it."""
    admin = new_staff(session, 1, "Astrid", role=Role.ADMIN)
    editor = new_staff(session, 2, "Elin", role=Role.COORDINATOR)
    assert admin.id is not None and editor.id is not None
    store.set_editor(session, staff_id=editor.id, editor=True, by_staff_id=admin.id, now=now)
    version = store.propose(
        session,
        article_id="sip",
        lang="en",
        changes={"title": "SIP, the coordinated individual plan"},
        by_staff_id=editor.id,
        now=now,
    )
    store.decide(session, version_id=version.id, approve=True, by_staff_id=admin.id, now=now)


def test_check_without_a_database_says_so(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kb", "check"]) == 0
    assert any(line.startswith("DRIFT   not checked: no database yet") for line in _lines(capsys))


def test_check_does_not_fail_when_the_database_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An SQLite file that is no database: the check still passes on structure and says why
    # the drift is unknown.
    broken = tmp_path / "broken.sqlite3"
    broken.write_text("not a database", encoding="utf-8")
    monkeypatch.setenv("DALSBOT_DATABASE_URL", f"sqlite:///{broken}")
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    assert main(["kb", "check"]) == 0
    assert any(line.startswith("DRIFT   not checked:") for line in _lines(capsys))
    # An empty (not yet migrated) database: the same, and the check created no table.
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("DALSBOT_DATABASE_URL", f"sqlite:///{empty}")
    assert main(["kb", "check"]) == 0
    assert _lines(capsys)[-1] == (
        "DRIFT   not checked: the database has no articles yet (run dalsbot db upgrade)"
    )
    with sqlite3.connect(empty) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        assert tables.fetchall() == []


def _add_example(session: store.Session, now: dt.datetime) -> None:
    admin = new_staff(session, 1, "Astrid", role=Role.ADMIN)
    store.add_example_question(
        session,
        article_id="sip",
        lang="en",
        text="who calls the sip meeting",
        by_staff_id=admin.id,
        now=now,
    )


def test_import_force_over_learned_example_questions_in_a_fresh_process(
    database: str, tmp_path: Path
) -> None:
    """The command as an operator runs it, in a process of its own (in this test process
    every table is known already): a changed seed forced over an article with an example
    question learned in chat."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bot", "kb"]
    subprocess.run([*command, "import"], env=env, cwd=ROOT, check=True, capture_output=True)
    with migrated(database) as db:
        db.call(_add_example, dt.datetime.now(dt.UTC))
    seed = tmp_path / "seed"
    shutil.copytree(ARTICLES_DIR, seed)
    sip = seed / "en" / "sip.md"
    sip.write_text(
        sip.read_text(encoding="utf-8").replace(
            "\nquestions:", "\nquestions:\n  - what is a sip for", 1
        ),
        encoding="utf-8",
    )
    done = subprocess.run(
        [*command, "import", "--path", str(seed), "--force"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
