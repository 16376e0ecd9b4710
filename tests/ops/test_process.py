"""The real ``python -m bot run`` in polling mode with DALSBOT_OPS_PORT and JSON logs."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.shell.standin import BotApiStandIn
from tests.conftest import ADMIN_ID
from tests.e2e.processes import (
    TOKEN,
    bot_env,
    free_port,
    start_bot,
    wait_exit,
    webhook_env,
)

pytestmark = pytest.mark.slow


async def test_a_polling_process_serves_health_and_metrics_and_logs_json(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """/healthz and /metrics answer on the ops port once the bot polls; a command moves the
    command counter; every log line is one JSON object without the token; SIGTERM closes
    the port with the bot."""
    port = free_port()
    env = bot_env(
        tmp_path,
        standin,
        DALSBOT_OPS_PORT=str(port),
        DALSBOT_LOG_FORMAT="json",
        DALSBOT_LOG_LEVEL="INFO",
    )
    log = tmp_path / "bot.log"
    process = start_bot(env, processes, log)
    await standin.wait_for(lambda: standin.calls["getUpdates"] >= 1, 60)
    await standin.user(ADMIN_ID, "Astrid").ask("/help")
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{url}/healthz")
        metrics = await client.get(f"{url}/metrics")
    assert health.status_code == 200, health.text
    assert health.json()["checks"]["database"] == "ok"
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
    }
    assert samples[("dalsbot_updates_total", (("kind", "command"),))] == 1
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"{url}/healthz")
    lines = log.read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert any(e["message"] == f"Serving /healthz and /metrics on {url}" for e in entries)
    assert any(e["message"].startswith("Dalsbot is ready as @") for e in entries)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert TOKEN.split(":")[1] not in log.read_text()


async def test_a_webhook_process_serves_health_and_metrics_beside_the_webhook(
    tmp_path: Path, standin: BotApiStandIn, processes: list[subprocess.Popen[str]]
) -> None:
    """Webhook mode: /healthz and /metrics on the webhook's own port; an update posted to the
    webhook is counted by kind; the health body says webhook mode and has no polling check."""
    port, secret = free_port(), "webhook-secret-for-the-ops-test"
    env = webhook_env(tmp_path, standin, port, secret)
    process = start_bot(env, processes, tmp_path / "bot.log")
    await standin.wait_for(lambda: standin.webhook is not None, 60)
    admin = standin.user(ADMIN_ID, "Astrid")
    update = {
        "update_id": 1,
        "callback_query": {
            "id": f"{ADMIN_ID}:1",
            "from": admin.user,
            "chat_instance": str(ADMIN_ID),
            "data": "nothing-we-know",
        },
    }
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{url}/healthz")
        posted = await client.post(
            f"{url}/dalsbot-hook",
            content=json.dumps(update),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        metrics = await client.get(f"{url}/metrics")
    assert posted.status_code == 200
    assert health.status_code == 200, health.text
    body = health.json()
    assert body["updates"]["mode"] == "webhook" and "updates" not in body["checks"]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.text)
        for sample in family.samples
    }
    assert samples[("dalsbot_updates_total", (("kind", "callback_query"),))] == 1
    assert samples[("dalsbot_update_handling_seconds_count", (("kind", "callback_query"),))] == 1
    assert samples[("dalsbot_database_up", ())] == 1
    process.send_signal(signal.SIGTERM)
    assert await wait_exit(process) == 0
