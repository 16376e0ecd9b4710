"""Settings and logging: clear start-up errors, no token in any log line."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import RedactTokenFilter, configure_logging
from bot.settings import SettingsError, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DALSBOT_ADMINS", "12,abc", "Invalid setting DALSBOT_ADMINS"),
        ("DALSBOT_TIMEZONE", "Mars/Olympus", "Invalid setting DALSBOT_TIMEZONE"),
        ("DALSBOT_DATABASE_URL", "mysql://x", "Invalid setting DALSBOT_DATABASE_URL"),
        (
            "DALSBOT_DATABASE_URL",
            "postgresql+psycopg://dalsbot:secret@db:port/dalsbot",
            "Invalid setting DALSBOT_DATABASE_URL: is not a valid database URL",
        ),
        ("DALSBOT_TELEGRAM_TOKEN", "not-a-token", "Invalid setting DALSBOT_TELEGRAM_TOKEN"),
        ("DALSBOT_DEFAULT_LANGUAGE", "de", "Invalid setting DALSBOT_DEFAULT_LANGUAGE"),
        ("DALSBOT_TELEGRAM_API_URL", "ftp://x", "Invalid setting DALSBOT_TELEGRAM_API_URL"),
        ("DALSBOT_REMINDER_OFFSETS", "7,x", "Invalid setting DALSBOT_REMINDER_OFFSETS"),
    ],
)
def test_wrong_value_gives_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    """Every wrong value stops start-up with one line that names the setting."""
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_defaults_and_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults: SQLite under ./data, Stockholm, Swedish; lists parse from commas."""
    monkeypatch.setenv("DALSBOT_ADMINS", "1, 2")
    monkeypatch.setenv("DALSBOT_REMINDER_OFFSETS", "1,7,0")
    settings = load_settings(_env_file=None)
    assert settings.database_url == "sqlite:///data/dalsbot.sqlite3"
    assert (settings.timezone, settings.default_language) == ("Europe/Stockholm", "sv")
    assert settings.admins == (1, 2)
    assert settings.reminder_offsets == (7, 1, 0)
    assert settings.local_mode


def test_token_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token never shows when settings are printed."""
    monkeypatch.setenv("DALSBOT_TELEGRAM_TOKEN", TOKEN)
    settings = load_settings(_env_file=None)
    assert TOKEN not in repr(settings) and not settings.local_mode


def test_httpx_request_lines_are_logged_without_the_token() -> None:
    """An httpx-style request line and an exception text both lose the token."""
    stream = io.StringIO()
    configure_logging("DEBUG", (TOKEN,))
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("httpx").warning(
        'HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    )
    try:
        raise RuntimeError(f"failed calling https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("telegram").exception("boom")
    output = stream.getvalue()
    assert TOKEN not in output and "AAHdqTcv" not in output
    assert "bot<token>/getUpdates" in output
    logging.getLogger().handlers.clear()


def test_filter_redacts_a_bare_token() -> None:
    """A token-shaped string anywhere in a message is replaced."""
    assert TOKEN not in RedactTokenFilter().redact(f"token is {TOKEN}.")


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DALSBOT_")}
    env.update({"DALSBOT_DATA_DIR": str(tmp_path / "data"), **extra})
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


def test_cli_invite_create_prints_code_and_deep_link(tmp_path: Path) -> None:
    """`dalsbot invite create --json` prints the code and the t.me deep link."""
    import json

    result = _cli(
        [
            "invite",
            "create",
            "--role",
            "coordinator",
            "--municipality",
            "åmål",
            "--uses",
            "3",
            "--expires-days",
            "14",
            "--json",
        ],
        _env(tmp_path),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["link"] == f"https://t.me/dalsbot_local_bot?start={data['code']}"
    assert (data["role"], data["municipality"], data["uses"]) == ("coordinator", "Åmål", 3)


def test_cli_wrong_database_url_is_one_clear_line(tmp_path: Path) -> None:
    """A database that cannot be opened stops with one line, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _cli(
        ["db", "upgrade"], _env(tmp_path, DALSBOT_DATA_DIR=str(blocker / "sub")), tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Cannot create the data folder")
    assert "Traceback" not in result.stderr
    bad_pg = _cli(
        ["db", "upgrade"],
        _env(tmp_path, DALSBOT_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none"),
        tmp_path,
    )
    assert bad_pg.returncode == 2
    assert bad_pg.stderr.startswith("Cannot open the database")
    assert "Traceback" not in bad_pg.stderr


def test_cli_wrong_setting_is_one_clear_line(tmp_path: Path) -> None:
    """A wrong setting in the environment stops the CLI with one line."""
    result = _cli(["db", "upgrade"], _env(tmp_path, DALSBOT_TIMEZONE="Nowhere/City"), tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Invalid setting DALSBOT_TIMEZONE: unknown time zone 'Nowhere/City'"
    ]
