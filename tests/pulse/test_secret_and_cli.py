"""The pulse secret file and the admins' command line (export, templates)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import stat
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from bot.shell.cli.main import main
from storage.migrate import open_database
from storage.pulse import store as pulse_store
from storage.pulse.logic import EXPORT_COLUMNS
from storage.pulse.secret import load_pulse_secret
from storage.pulse.templates import TEMPLATES_DIR
from tests.helpers import add_staff
from tests.pulse.helpers import TEMPLATES, open_pulse

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _settings(tmp_path: Path, **extra: object) -> Settings:
    extra.setdefault("secrets_dir", tmp_path / "secrets")
    return Settings(_env_file=None, data_dir=tmp_path / "data", **extra)  # type: ignore[call-arg]


def test_secret_file_is_made_once_private_and_reused_outside_the_data_folder(
    tmp_path: Path,
) -> None:
    """Without DALSBOT_PULSE_SECRET a 32-byte secret is written once with mode 0600, in the
    secrets folder (0700), never in the data folder next to the database."""
    first = load_pulse_secret(_settings(tmp_path))
    path = tmp_path / "secrets" / "pulse_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(first) == 64 and bytes.fromhex(first.decode())
    assert load_pulse_secret(_settings(tmp_path)) == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["pulse_secret"]
    assert not (tmp_path / "data" / "pulse_secret").exists()
    copied = load_pulse_secret(_settings(tmp_path, pulse_secret=first.decode()))
    assert copied == first  # the file's content as the setting gives the same keys


def test_a_secret_left_in_the_data_folder_is_moved_out_with_its_keys(tmp_path: Path) -> None:
    old = tmp_path / "data" / "pulse_secret"
    old.parent.mkdir()
    old.write_text("ab" * 32 + "\n")
    assert load_pulse_secret(_settings(tmp_path)) == ("ab" * 32).encode()
    assert not old.exists() and (tmp_path / "secrets" / "pulse_secret").exists()


def test_an_unwritable_secrets_folder_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(SettingsError, match="DALSBOT_SECRETS_DIR"):
        load_pulse_secret(_settings(tmp_path, secrets_dir=blocked / "secrets"))


def test_short_secret_setting_is_refused(tmp_path: Path) -> None:
    """A guessable secret stops start-up with a message naming the setting."""
    with pytest.raises(SettingsError, match="DALSBOT_PULSE_SECRET"):
        load_pulse_secret(_settings(tmp_path, pulse_secret="short"))


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads its settings from the environment: point it at a fresh data folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DALSBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DALSBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    for name in ("DALSBOT_TELEGRAM_TOKEN", "DALSBOT_PULSE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return _settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'cli.sqlite3'}")


def test_export_csv_has_aggregates_only_and_nothing_below_k(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Closed pulses are exported one row per question; a pulse below k has no figures;
    open pulses and comments are never exported."""
    db = open_database(cli_env.database_url)
    organiser = add_staff(db, 1, "Olle")
    shown = open_pulse(db, organiser, now=NOW, hours=1, template=TEMPLATES["natverk"])
    hidden = open_pulse(db, organiser, now=NOW, hours=1)
    open_pulse(db, organiser, now=NOW, hours=100)
    for scores in ({"syfte": 4, "nytta": 2}, {"syfte": 5}, {"syfte": 3, "nytta": 4}):
        db.call(lambda s, sc=scores: pulse_store.store_answer(
            s, pulse_id=shown.id or 0, scores=sc, comment="hemligt", answered_on=NOW.date(),
            now=NOW))  # fmt: skip
    db.call(lambda s: pulse_store.store_answer(
        s, pulse_id=hidden.id or 0, scores={"syfte": 1}, comment="", answered_on=NOW.date(),
        now=NOW))  # fmt: skip
    db.call(lambda s: pulse_store.close_due_pulses(s, now=NOW + dt.timedelta(hours=1)))
    db.dispose()
    output = tmp_path / "export.csv"
    assert main(["pulse", "export", "--csv", "--output", str(output)]) == 0
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert tuple(rows[0].keys()) == EXPORT_COLUMNS
    by_pulse = {(row["pulse_id"], row["question_key"]): row for row in rows}
    assert len(rows) == 4 + 1
    syfte = by_pulse[str(shown.id), "syfte"]
    assert (syfte["n"], syfte["mean"], syfte["count_4"], syfte["closed_on"]) == (
        "3", "4.00", "1", "2026-11-25")  # fmt: skip
    nytta = by_pulse[str(shown.id), "nytta"]
    assert (nytta["n"], nytta["mean"]) == ("2", "")  # answered by fewer than k
    below = by_pulse[str(hidden.id), ""]
    assert below["mean"] == below["n"] == "" and below["municipality"] == "Mellerud"
    assert "hemligt" not in output.read_text(encoding="utf-8")
    assert "Exported 2 closed pulse(s)" in capsys.readouterr().out
    assert main(["pulse", "export", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(EXPORT_COLUMNS)


def test_templates_check_list_and_add(
    cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check validates every file, list shows keys and versions, add puts a validated file
    in the server's folder (an edit gets a new version); a broken file is refused."""
    assert main(["pulse", "templates", "check"]) == 0
    assert "4 file(s), 0 problem(s)" in capsys.readouterr().out
    assert main(["pulse", "templates", "list"]) == 0
    listed = capsys.readouterr().out
    for template in TEMPLATES.values():
        assert f"{template.key}" in listed and template.version in listed
    edited = tmp_path / "sip.yaml"
    edited.write_text(
        (TEMPLATES_DIR / "sip.yaml").read_text(encoding="utf-8").replace(
            "Var mötet väl förberett?", "Var alla väl förberedda?"),
        encoding="utf-8",
    )  # fmt: skip
    assert main(["pulse", "templates", "add", str(edited)]) == 0
    assert "replaces the earlier one" in capsys.readouterr().out
    assert main(["pulse", "templates", "list", "--in-use"]) == 0
    listed = capsys.readouterr().out
    assert TEMPLATES["sip"].version not in listed and "none yet" in listed
    broken = tmp_path / "trasig.yaml"
    broken.write_text("key: trasig\naudience: staff\n", encoding="utf-8")
    assert main(["pulse", "templates", "check", str(broken)]) == 1
    assert "ERROR trasig.yaml" in capsys.readouterr().out
    assert main(["pulse", "templates", "add", str(broken)]) == 1
    assert not (tmp_path / "pulse_templates" / "trasig.yaml").exists()
