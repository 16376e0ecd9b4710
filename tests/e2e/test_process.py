"""The real bot process: long polling with a clean SIGTERM, webhook mode with its secret, and
no token in any log line. Each test starts ``python -m bot run`` against the stand-in."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.i18n import t
from bot.standin import BotApiStandIn
from tests.conftest import ADMIN_ID

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(tmp_path: Path, standin: BotApiStandIn, **extra: str) -> dict[str, str]:
    """The environment of a real bot process talking to the stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DALSBOT_")}
    env.update(
        DALSBOT_TELEGRAM_TOKEN=TOKEN,
        DALSBOT_TELEGRAM_API_URL=standin.url,
        DALSBOT_DATA_DIR=str(tmp_path / "data"),
        DALSBOT_ADMINS=str(ADMIN_ID),
        DALSBOT_PULSE_SECRET="process-test-secret-0123456789",
        PYTHONPATH=str(ROOT),
        PTB_TIMEDELTA="true",
        **extra,
    )
    return env


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Bot processes started by a test; killed if still running at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def start_bot(
    env: dict[str, str], processes: list[subprocess.Popen[str]], log: Path
) -> subprocess.Popen[str]:
    """``python -m bot run`` with its output in ``log``."""
    # The child keeps its own copy of the file descriptor; ours is closed right away.
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=ROOT,
            text=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    processes.append(process)
    return process


async def wait_exit(process: subprocess.Popen[str], seconds: float = 20) -> int:
    """The exit code, waiting without blocking the event loop (the stand-in runs on it)."""
    for _ in range(int(seconds * 10)):
        code = process.poll()
        if code is not None:
            return code
        await asyncio.sleep(0.1)
    raise AssertionError("the bot process did not stop in time")


async def test_sigterm_stops_cleanly_and_no_update_is_lost_or_repeated(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """SIGTERM: handled updates are confirmed (not handled again after a restart); an update
    sent while the bot is down is answered after the restart."""
    env, log = bot_env(tmp_path, standin), tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    admin = standin.user(ADMIN_ID, "Astrid")
    await standin.wait_for(lambda: standin.calls["getUpdates"] >= 1, 60)
    assert (await admin.ask("/help")).text.startswith(t("core.help_title", "sv"))
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
    await admin.send("/privacy")  # arrives while the bot is down
    before = standin.calls["getUpdates"]
    restarted = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.calls["getUpdates"] > before, 60)
    privacy = await admin.reply(30)
    assert "personnummer" in privacy.text
    await asyncio.sleep(1)
    helps = [
        e for e in standin.sent_messages(ADMIN_ID) if e.text.startswith(t("core.help_title", "sv"))
    ]
    assert len(helps) == 1
    restarted.send_signal(signal.SIGTERM)
    assert await wait_exit(restarted) == 0
    output = log.read_text()
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert "Traceback" not in output


async def test_webhook_mode_checks_the_secret_and_answers(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """With DALSBOT_WEBHOOK_URL the bot registers the webhook with a secret, answers updates
    posted with that secret, refuses others, and stops cleanly on SIGTERM."""
    port, secret = free_port(), "webhook-secret-for-the-test"
    env = bot_env(
        tmp_path,
        standin,
        DALSBOT_WEBHOOK_URL="https://bot.example.org/dalsbot-hook",
        DALSBOT_WEBHOOK_LISTEN="127.0.0.1",
        DALSBOT_WEBHOOK_PORT=str(port),
        DALSBOT_WEBHOOK_SECRET=secret,
    )
    log = tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.webhook is not None, 60)
    assert standin.webhook is not None
    assert standin.webhook["url"] == "https://bot.example.org/dalsbot-hook"
    assert standin.webhook["secret_token"] == secret
    admin = standin.user(ADMIN_ID, "Astrid")
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "/help",
            "from": admin.user,
            "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Astrid"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }
    url = f"http://127.0.0.1:{port}/dalsbot-hook"
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                wrong = await client.post(
                    url,
                    content=json.dumps(update),
                    headers={
                        "Content-Type": "application/json",
                        "X-Telegram-Bot-Api-Secret-Token": "wrong",
                    },
                )
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
        assert wrong.status_code == 403
        right = await client.post(
            url,
            content=json.dumps(update),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        assert right.status_code == 200
    reply = await admin.reply(30)
    assert reply.text.startswith(t("core.help_title", "sv"))
    assert len(standin.sent_messages(ADMIN_ID)) == 1
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
    assert TOKEN not in log.read_text()


async def test_debug_logging_carries_no_texts_names_or_identity_numbers(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """DALSBOT_LOG_LEVEL=DEBUG: the process logs at DEBUG, but no message text, name or
    personnummer reaches a log line (the libraries that would log them stay at INFO)."""
    env = bot_env(tmp_path, standin, DALSBOT_LOG_LEVEL="DEBUG")
    log = tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    admin = standin.user(ADMIN_ID, "Zacharias", last_name="Quistgaard", username="zq_admin")
    await standin.wait_for(lambda: standin.calls["getUpdates"] >= 1, 60)
    refused = await admin.ask("gäller eleven 121212\u200b-1212 en SIP?")
    assert refused.text == t("ask.personnummer", "sv")
    answered = await admin.ask("vem kallar till SIP för Mellerudsflickan?")
    assert answered.text
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
    output = log.read_text()
    assert " DEBUG " in output  # the level took effect
    for secret in (
        "1212121212",
        "121212",
        "Zacharias",
        "Quistgaard",
        "zq_admin",
        "Mellerudsflickan",
    ):
        assert secret not in output, secret
    assert "Traceback" not in output
