"""Webhook mode: our own small tornado server that answers Telegram only after an update is
handled, so that any number of replicas can stand behind any load balancer.

Why not python-telegram-bot's ``run_webhook``: it answers 200 as soon as the update is put on
its queue. A replica that dies (a deploy, a crash, the OOM killer) then loses every update it
had queued, because Telegram was told they arrived. Here the answer comes after
``application.process_update`` returned and the person's state is written: a replica that
dies mid-update never answers, the load balancer answers 502 or the connection drops, and
Telegram delivers the update again, to whichever replica the balancer picks.

Re-delivery means an update can arrive twice, so every update passes :class:`UpdateGate`:

1. one update per person at a time: an asyncio lock inside the process and, on PostgreSQL, a
   session advisory lock across processes (:class:`storage.updates.PersonLocks`);
2. the ``update_id`` is claimed in ``processed_update`` (:mod:`storage.updates`): an update
   handled already is confirmed with 200 and not handled again; one still being handled
   elsewhere gets 503, and Telegram tries again later;
3. the update is handled, marked done, and only then answered 200.

A replica can die after its handler sent a message but before the update was marked done.
So that the replica taking the update over does not send that message again, every Bot API
call that changes something (send, edit, delete, answer) made while handling an update is
journaled (:class:`JournalRequest`, ``storage.updates.record_effect``: the method and the
message id, no text); a take-over replays the journal: the calls already made return what
they returned then, without reaching Telegram. Only a death in the millisecond between
Telegram's answer and the journal write can still repeat one message.

``GET /healthz`` and ``GET /metrics`` are served beside the webhook (bot/shell/ops.py).
SIGTERM stops taking new updates (503, so Telegram sends them to another replica), finishes
those in flight and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import hmac
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.context import DalsbotApp
from storage import updates
from storage.db import Database
from storage.updates import Claim, PersonLocks, UpdateEffect

logger = logging.getLogger(__name__)

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's default number of webhook connections at once; set with setWebhook.
MAX_CONNECTIONS: Final = 40
# How long an update waits for the person's previous update (in another process) before it
# is answered 503 and left to Telegram's next delivery.
PERSON_WAIT: Final = 20.0
# How long SIGTERM waits for updates in flight.
DRAIN_TIMEOUT: Final = 25.0
# The largest webhook body read (Telegram's updates are a few kB); tornado answers a larger
# one 400 from its Content-Length, before reading it or looking at the secret.
MAX_BODY_SIZE: Final = 1024 * 1024
# Ids are stored as signed 64-bit integers (BigInteger).
INT64: Final = range(-(2**63), 2**63)

Health = Callable[[DalsbotApp], Awaitable[tuple[int, dict[str, object]]]]
Metrics = Callable[[], tuple[bytes, str]]


@dataclass
class InFlight:
    """The update being handled in this task: its id, the Bot API calls made so far, and the
    journal of a dead predecessor to replay (empty unless the update was taken over)."""

    update_id: int
    replay: dict[int, UpdateEffect] = field(default_factory=dict)
    calls: int = 0
    replayed: int = 0


CURRENT: contextvars.ContextVar[InFlight | None] = contextvars.ContextVar(
    "dalsbot_update", default=None
)

# Bot API methods that change nothing: not journaled.
READ_ONLY_PREFIXES: Final = ("get", "sendChatAction", "logOut", "close")


def journaled(method: str) -> bool:
    """Whether a call of ``method`` is journaled while an update is handled."""
    return not method.startswith(READ_ONLY_PREFIXES)


class JournalRequest(BaseRequest):
    """The bot's requests, with the effect journal (see the module docstring) while an update
    is handled through :class:`UpdateGate`; everything else passes straight through."""

    def __init__(self, inner: BaseRequest, db: Database) -> None:
        self.inner, self.db = inner, db
        # PostgreSQL: the journal is written on the person locks' connection (set by the
        # runner), without waiting for a worker thread.
        self.locks: PersonLocks | None = None

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        current, api = CURRENT.get(), url.rsplit("/", 1)[-1]
        if current is None or not journaled(api):
            return await self.inner.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout,
                pool_timeout,
            )  # fmt: skip
        seq = current.calls
        current.calls += 1
        done = current.replay.get(seq)
        if done is not None and done.method == api:
            current.replayed += 1
            params = request_data.parameters if request_data is not None else {}
            return 200, json.dumps({"ok": True, "result": _result(done, params)}).encode()
        code, payload = await self.inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if code == 200:
            message = _message_of(payload)
            found = {
                "message_id": message.get("message_id"),
                "sent_date": message.get("date"),
                "chat_type": (message.get("chat") or {}).get("type"),
            }
            if self.locks is not None:
                await self.locks.record_effect(current.update_id, seq, api, **found)
            else:
                await self.db.run(updates.record_effect, current.update_id, seq, api, **found)
        return code, payload


def _message_of(payload: bytes) -> dict[str, Any]:
    try:
        result = json.loads(payload).get("result")
    except (ValueError, AttributeError):
        return {}
    return result if isinstance(result, dict) and "message_id" in result else {}


def _result(done: UpdateEffect, params: dict[str, Any]) -> object:
    """What the journaled call returned, as far as a handler uses it: True, or the message
    with its id, date and chat (the chat id is the one the call names)."""
    if done.message_id is None:
        return True
    chat_id = params.get("chat_id")
    return {
        "message_id": done.message_id,
        "date": done.sent_date or 0,
        "chat": {"id": int(chat_id) if chat_id is not None else 0, "type": done.chat_type},
    }


def holder_id() -> str:
    """Who claims updates: host, process and a random part (a restarted process with the
    same pid in a new container is someone else)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class UpdateGate:
    """Handles each update once, one per person at a time (see the module docstring)."""

    def __init__(
        self,
        application: DalsbotApp,
        db: Database,
        *,
        locks: PersonLocks | None,
        holder: str,
        clock: Callable[[], dt.datetime],
        person_wait: float = PERSON_WAIT,
    ) -> None:
        self.application, self.db, self.locks = application, db, locks
        self.holder, self.clock, self.person_wait = holder, clock, person_wait
        self._local: dict[int, tuple[asyncio.Lock, int]] = {}
        # Counts since start (logged at shutdown; the ops metrics count updates themselves).
        self.handled = self.repeated = self.busy = self.taken_over = self.failed = 0
        self.replayed = 0  # Bot API calls not made again after a take-over

    async def handle(self, update: Update) -> int:
        """Handle ``update`` at most once; the HTTP status to answer Telegram with."""
        user = update.effective_user
        async with self._person(user.id if user is not None else None) as locked:
            if not locked:
                self.busy += 1
                return 503
            claim = await self.db.run(
                updates.claim,
                update.update_id,
                holder=self.holder,
                now=self.clock(),
                take_over=user is not None and self.locks is not None,
            )
            if claim is Claim.DONE:
                self.repeated += 1
                return 200
            if claim is Claim.BUSY:
                self.busy += 1
                return 503
            current = InFlight(update.update_id)
            if claim is Claim.TAKEN_OVER:
                self.taken_over += 1
                current.replay = await self.db.run(updates.effects, update.update_id)
            token = CURRENT.set(current)
            try:
                await self.application.process_update(update)
            except Exception:
                # The handlers' own errors go to the error handler inside process_update;
                # here the state could not be read or written: let Telegram retry.
                self.failed += 1
                logger.exception("Update %d failed; Telegram will send it again", update.update_id)
                await self.db.run(updates.release, update.update_id, holder=self.holder)
                return 500
            finally:
                CURRENT.reset(token)
            if claim is Claim.TAKEN_OVER:
                logger.info(
                    "Update %d taken over from a process that is gone (%d of its %d call(s) "
                    "to Telegram done before)",
                    update.update_id, current.replayed, current.calls,
                )  # fmt: skip
                self.replayed += current.replayed
            await self.db.run(
                updates.finish, update.update_id, holder=self.holder, now=self.clock()
            )
            self.handled += 1
            return 200

    @contextlib.asynccontextmanager
    async def _person(self, user_id: int | None) -> AsyncIterator[bool]:
        """The person's turn: first in this process, then (PostgreSQL) across processes."""
        if user_id is None:
            yield True
            return
        lock, waiting = self._local.get(user_id, (asyncio.Lock(), 0))
        self._local[user_id] = (lock, waiting + 1)
        try:
            async with lock:
                if self.locks is None:
                    yield True
                    return
                if not await self.locks.acquire(user_id, self.person_wait):
                    yield False
                    return
                try:
                    yield True
                finally:
                    await self.locks.release(user_id)
        finally:
            lock, waiting = self._local[user_id]
            if waiting == 1:
                del self._local[user_id]
            else:
                self._local[user_id] = (lock, waiting - 1)


class WebhookServer:
    """The HTTP side: the webhook path, ``/healthz`` and ``/metrics``; a graceful stop."""

    def __init__(
        self,
        application: DalsbotApp,
        gate: UpdateGate,
        *,
        path: str,
        secret: str,
        concurrency: int,
        health: Health | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.application, self.gate, self.secret = application, gate, secret
        self.path = "/" + path.strip("/")
        self.accepting = True
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._slots = asyncio.Semaphore(concurrency)
        self._server: HTTPServer | None = None
        self.port = 0
        routes: list[tuple[str, type[RequestHandler], dict[str, object]]] = [
            (self.path, _UpdateHandler, {"server": self})
        ]
        if health is not None:
            routes.append(("/healthz", _HealthHandler, {"health": health, "app": application}))
        if metrics is not None:
            routes.append(("/metrics", _MetricsHandler, {"metrics": metrics}))
        self._web = TornadoApplication(routes)

    async def start(self, listen: str, port: int) -> int:
        """Listen on ``listen:port`` (0 = any free port); the port bound."""
        sockets = bind_sockets(port, listen)
        self._server = HTTPServer(self._web, xheaders=True, max_body_size=MAX_BODY_SIZE)
        self._server.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def process(self, body: bytes) -> int:
        """One webhook call's body; the status to answer with."""
        if not self.accepting:
            return 503
        try:
            data = json.loads(body)
            if not _fits_int64(data):
                raise ValueError("a number out of range")
            update = Update.de_json(data, self.application.bot)
        except Exception:  # not JSON, or not an update: nothing Telegram would send
            update = None
        if update is None or not isinstance(update.update_id, int):
            logger.warning("A webhook call without a valid update was refused")
            return 400
        self.in_flight += 1
        self._idle.clear()
        try:
            async with self._slots:
                return await self.gate.handle(update)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Stop taking updates (new connections are refused, calls on open ones get 503),
        then wait up to ``timeout`` for the updates in flight."""
        self.accepting = False
        if self._server is not None:
            self._server.stop()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            logger.warning("%d update(s) still in flight at shutdown", self.in_flight)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.close_all_connections(), 2)
            self._server = None


def _fits_int64(value: object) -> bool:
    """Whether every integer in the JSON ``value`` can be stored (signed 64-bit)."""
    if isinstance(value, int):
        return value in INT64
    if isinstance(value, dict):
        return all(_fits_int64(item) for item in value.values())
    if isinstance(value, list):
        return all(_fits_int64(item) for item in value)
    return True


class _UpdateHandler(RequestHandler):
    """``POST <path>``: one update from Telegram."""

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    def check_xsrf_cookie(self) -> None:
        """Telegram sends no cookies; the secret header is the check."""

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            self.set_status(403)
            self.finish()
            return
        status = await self.server.process(self.request.body)
        self.set_status(status)
        if status == 503:
            self.set_header("Retry-After", "1")
        self.finish()


class _HealthHandler(RequestHandler):
    """``GET /healthz``: process up, database reachable, updates received recently."""

    def initialize(self, health: Health, app: DalsbotApp) -> None:
        self.health, self.app = health, app

    async def get(self) -> None:
        status, body = await self.health(self.app)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _MetricsHandler(RequestHandler):
    """``GET /metrics``: Prometheus text format."""

    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def get(self) -> None:
        # Off the event loop: the scrape reads the reminder queue from the database.
        body, content_type = await asyncio.to_thread(self.metrics)
        self.set_header("Content-Type", content_type)
        self.finish(body)
