"""JSON logs: one object per line, through the same redaction as the text format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PERSONNUMMER = "19121212-1212"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Root logging in JSON to a string, as ``dalsbot`` configures it; restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", (TOKEN,), "json")
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_with_time_level_logger_and_message(
    json_log: io.StringIO,
) -> None:
    """A record with %-arguments becomes one line with its rendered message; Swedish letters
    are kept as they are."""
    logging.getLogger("handlers.plans").info("Påminnelse till %s skickad (%d)", "Åmål", 3)
    logging.getLogger("bot.shell.app").warning("Dalsbot is ready as @%s", "dalsbot_bot")
    first, second = _lines(json_log)
    assert first["level"] == "INFO" and first["logger"] == "handlers.plans"
    assert first["message"] == "Påminnelse till Åmål skickad (3)"
    assert isinstance(first["time"], str) and first["time"].endswith("+00:00")
    assert "exception" not in first
    assert (second["level"], second["message"]) == ("WARNING", "Dalsbot is ready as @dalsbot_bot")


def test_the_token_and_a_personnummer_never_appear_in_a_message_or_an_exception(
    json_log: io.StringIO,
) -> None:
    """The message, an argument and a traceback carrying the token or a personal identity
    number are written redacted; the traceback stays inside the one JSON line."""
    logging.getLogger("httpx").warning(
        'HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{TOKEN}/getMe"
    )
    logging.getLogger("handlers.ask").info("asked about %s", f"barnet {PERSONNUMMER}")
    try:
        raise RuntimeError(f"bad row {PERSONNUMMER} via /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logging.getLogger("handlers.errors").exception("update failed for %s", PERSONNUMMER)
    output = json_log.getvalue()
    assert TOKEN not in output and "AAHdqTcv" not in output
    assert PERSONNUMMER not in output and "191212121212" not in output
    assert "1212-1212" not in output
    request, asked, failure = _lines(json_log)
    assert (
        request["message"]
        == 'HTTP Request: POST https://api.telegram.org/bot<token>/getMe "HTTP/1.1 200 OK"'
    )
    assert "barnet" in str(asked["message"])
    exception = str(failure["exception"])
    assert exception.startswith("Traceback") and "RuntimeError: bad row" in exception
    assert "bot<token>/sendMessage" in exception
    assert len(json_log.getvalue().splitlines()) == 3


def test_text_format_is_unchanged() -> None:
    """Without ``log_format = json`` a line is the human-readable ``time level logger: text``."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging("INFO", (TOKEN,))
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("bot.x").info("token %s", TOKEN)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = stream.getvalue().strip()
    assert line.endswith("INFO bot.x: token <token>")
    assert not line.startswith("{")
