"""The real bot process: long polling with a clean SIGTERM, webhook mode with its secret, and
no token in any log line. Each test starts ``python -m bot run`` against the stand-in."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import httpx

from bot.i18n import t
from bot.shell.standin import BotApiStandIn
from tests.conftest import ADMIN_ID
from tests.e2e.processes import (
    TOKEN,
    WEBHOOK_URL,
    bot_env,
    free_port,
    start_bot,
    wait_exit,
    webhook_env,
)


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
    env = webhook_env(tmp_path, standin, port, secret)
    log = tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.webhook is not None, 60)
    assert standin.webhook is not None
    assert standin.webhook["url"] == WEBHOOK_URL
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
