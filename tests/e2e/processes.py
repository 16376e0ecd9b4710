"""The real bot process for end-to-end tests: ``python -m bot run`` against the stand-in."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from bot.shell.standin import BotApiStandIn
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


WEBHOOK_URL = "https://bot.example.org/dalsbot-hook"


def webhook_env(
    tmp_path: Path, standin: BotApiStandIn, port: int, secret: str, **extra: str
) -> dict[str, str]:
    """:func:`bot_env` for webhook mode: Telegram is told ``WEBHOOK_URL``; the bot listens on
    127.0.0.1:``port`` and takes only updates posted with ``secret``."""
    return bot_env(
        tmp_path,
        standin,
        DALSBOT_WEBHOOK_URL=WEBHOOK_URL,
        DALSBOT_WEBHOOK_LISTEN="127.0.0.1",
        DALSBOT_WEBHOOK_PORT=str(port),
        DALSBOT_WEBHOOK_SECRET=secret,
        **extra,
    )


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
