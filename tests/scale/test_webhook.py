"""The webhook server in one process (SQLite): an update is answered 200 only once its reply
went out, the same update delivered twice is handled once, a wrong secret is refused, and a
draining server sends Telegram elsewhere with 503."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.i18n import t
from bot.settings import Settings
from bot.shell.app import build_application
from bot.shell.standin import BotApiStandIn
from bot.shell.webhook import (
    MAX_BODY_SIZE,
    SECRET_HEADER,
    JournalRequest,
    UpdateGate,
    WebhookServer,
)
from storage.db import Database
from tests.conftest import ADMIN_ID, FakeClock

SECRET = "in-process-webhook-secret"


@pytest.fixture
async def server(
    settings: Settings, sqlite_db: Database, standin: BotApiStandIn, clock: FakeClock
) -> AsyncIterator[WebhookServer]:
    """A started Application behind a WebhookServer on a free port (no polling)."""
    journal = functools.partial(JournalRequest, db=sqlite_db)
    app = build_application(
        settings, db=sqlite_db, api_root=standin.url, clock=clock, wrap_request=journal
    )
    gate = UpdateGate(app, sqlite_db, locks=None, holder="test", clock=clock)
    web = WebhookServer(app, gate, path="/hook", secret=SECRET, concurrency=4)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()
    await web.start("127.0.0.1", 0)
    yield web
    await web.drain(timeout=5)
    await app.stop()
    await app.shutdown()


def help_update(update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": "/help",
            "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Astrid"},
            "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Astrid"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def post(server: WebhookServer, body: object, secret: str = SECRET) -> int:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"http://127.0.0.1:{server.port}/hook",
            content=json.dumps(body),
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        )
    return answer.status_code


async def test_answered_after_handling_and_handled_once(
    server: WebhookServer, standin: BotApiStandIn
) -> None:
    """The 200 comes after the reply was sent; the same update again gets 200 and no second
    reply; a wrong secret gets 403 and is not handled; a broken body gets 400."""
    standin.user(ADMIN_ID, "Astrid")
    assert await post(server, help_update(1), secret="wrong") == 403
    assert standin.sent_messages(ADMIN_ID) == []
    assert await post(server, help_update(1)) == 200
    [reply] = standin.sent_messages(ADMIN_ID)  # already there when the 200 arrived
    assert reply.text.startswith(t("core.help_title", "sv"))
    assert await post(server, help_update(1)) == 200
    assert len(standin.sent_messages(ADMIN_ID)) == 1
    assert server.gate.handled == 1 and server.gate.repeated == 1
    assert await post(server, {"update_id": "x", "message": 5}) == 400


async def test_a_draining_server_sends_telegram_elsewhere(
    server: WebhookServer, standin: BotApiStandIn
) -> None:
    """Once SIGTERM started the drain, an update on a kept-alive connection gets 503 and is
    not handled (Telegram delivers it to another replica)."""
    standin.user(ADMIN_ID, "Astrid")
    server.accepting = False
    assert await server.process(json.dumps(help_update(2)).encode()) == 503
    assert standin.sent_messages(ADMIN_ID) == []


async def headers_only(server: WebhookServer, length: int, secret: str) -> int:
    """The status answered to a POST that announces ``length`` bytes and sends none."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            f"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            f"Content-Type: application/json\r\n{SECRET_HEADER}: {secret}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_a_huge_body_or_an_unstorable_update_is_refused_with_400(
    server: WebhookServer, standin: BotApiStandIn
) -> None:
    """A body over 1 MiB is refused 400 from its length, secret or not, before it is read;
    an update whose update_id or any other number does not fit a signed 64-bit integer
    (nothing Telegram sends) gets 400, not 500, and is not handled; the server then still
    handles the next update."""
    standin.user(ADMIN_ID, "Astrid")
    for secret in (SECRET, "wrong"):
        # Only the headers are sent: the answer comes without the body being read.
        assert await headers_only(server, MAX_BODY_SIZE + 1, secret) == 400
    assert await headers_only(server, 0, SECRET) == 400  # an empty body: no update
    too_big = 2**70
    assert await post(server, help_update(too_big)) == 400
    assert await post(server, help_update(2**63)) == 400
    sender = help_update(11)
    sender["message"]["from"]["id"] = too_big  # type: ignore[index]
    assert await post(server, sender) == 400
    assert standin.sent_messages(ADMIN_ID) == []
    assert server.gate.failed == 0 and server.gate.handled == 0
    assert await post(server, help_update(2**63 - 1)) == 200
    assert len(standin.sent_messages(ADMIN_ID)) == 1
