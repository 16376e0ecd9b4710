"""A local stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1.

The real ``telegram.ext.Application`` talks to it exactly as it talks to Telegram
(``<root>/bot<token>/<method>``). It is how local mode works (a person chats in the
terminal) and how the end-to-end tests drive the bot: simulated users send messages, deep
links and button presses; everything the bot sends is recorded per chat.

It implements the methods Dalsbot uses, long polling with ``getUpdates`` or, once
``setWebhook`` is called, delivery to the webhook as Telegram does it (see
:class:`WebhookDelivery`), files sent with
``sendDocument``/``sendPhoto`` (kept in memory by file name), and, on request, Telegram's
flood limits (30 messages a second overall, one a second per chat, answered with 429 and
``retry_after``), blocked users (403) and dropped connections, so that delivery code can be
tested against the errors it will meet.

It refuses what Telegram refuses (``bot/shell/telegram_rules.py``): texts over 4,096 characters
and captions over 1,024 after entity parsing, malformed HTML with ``parse_mode``, callback data
over 64 bytes, callback answers over 200 characters, invalid command menus and descriptions.
A formatted message is stored as Telegram returns it: the plain text and its ``entities``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApplication
from tornado.web import RequestHandler

from bot.shell import telegram_rules as rules

logger = logging.getLogger(__name__)

BOT_USER_ID = 4242
# Lines of an expandable blockquote a phone shows before "show more".
COLLAPSED_LINES = 3
PHONE_WIDTH = 35
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "link_preview_options",
        "commands",
        "scope",
        "allowed_updates",
        "reply_parameters",
        "caption_entities",
    }
)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class ChatEvent:
    """One thing the bot did in a chat: ``send``, ``edit``, ``answer`` (callback) or ``delete``."""

    kind: str
    message: dict[str, Any]
    alert: str | None = None

    @property
    def text(self) -> str:
        """The message text or caption."""
        return str(self.message.get("text") or self.message.get("caption") or "")

    @property
    def visible_text(self) -> str:
        """The text as a phone first shows it: an expandable blockquote collapsed to its
        first :data:`COLLAPSED_LINES` screen lines and "…" (the rest shows after a tap)."""
        text = self.text
        key = "entities" if "text" in self.message else "caption_entities"
        quotes = [
            e for e in self.message.get(key) or [] if e.get("type") == "expandable_blockquote"
        ]
        if not quotes:
            return text
        units = text.encode("utf-16-le")
        out, position = [], 0
        for quote in sorted(quotes, key=lambda e: int(e["offset"])):
            start, end = int(quote["offset"]) * 2, (int(quote["offset"]) + int(quote["length"])) * 2
            out.append(units[position:start].decode("utf-16-le"))
            quote_text = units[start:end].decode("utf-16-le")
            # Screen lines of a phone (about 35 characters wide), not just line breaks.
            lines = [
                part[i : i + PHONE_WIDTH]
                for part in quote_text.split("\n")
                for i in range(0, max(len(part), 1), PHONE_WIDTH)
            ]
            shown = lines[:COLLAPSED_LINES]
            out.append("\n".join(shown) + ("…" if len(lines) > COLLAPSED_LINES else ""))
            position = end
        out.append(units[position:].decode("utf-16-le"))
        return "".join(out)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline buttons of the message, row by row flattened."""
        markup = self.message.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def file_name(self) -> str | None:
        """The name of a sent document or picture."""
        if "document" in self.message:
            return str(self.message["document"].get("file_name"))
        if "photo" in self.message:
            return str(self.message["photo"][-1].get("file_name", "picture.png"))
        return None


@dataclass
class StoredFile:
    """A file the bot sent."""

    name: str
    content: bytes
    mime_type: str


@dataclass
class RateLimits:
    """Telegram's broadcast limits, as the stand-in enforces them when enabled."""

    per_second: int = 30
    per_chat_interval: float = 1.0
    sent_times: deque[float] = field(default_factory=deque)
    last_per_chat: dict[int, float] = field(default_factory=dict)
    rejected: int = 0

    def check(self, chat_id: int, now: float) -> int | None:
        """Seconds to wait when this send exceeds a limit, else None (and the send counts)."""
        while self.sent_times and now - self.sent_times[0] >= 1.0:
            self.sent_times.popleft()
        last = self.last_per_chat.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            self.rejected += 1
            return 1
        if len(self.sent_times) >= self.per_second:
            self.rejected += 1
            return 1
        self.sent_times.append(now)
        self.last_per_chat[chat_id] = now
        return None


@dataclass
class WebhookDelivery:
    """Updates POSTed to the webhook URL as Telegram does: JSON with the secret in
    ``X-Telegram-Bot-Api-Secret-Token``, up to ``max_connections`` calls at once, an update
    sent again after a connection error or a non-2xx answer (after a short pause that grows),
    and never again once it was answered 2xx."""

    url: str
    secret: str | None
    max_connections: int = 40
    # Pauses before the 1st, 2nd... retry (the last repeats); Telegram's are longer.
    retry_delays: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)
    timeout: float = 60.0
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    workers: list[asyncio.Task[None]] = field(default_factory=list)
    # Per update id: calls made, and calls answered 2xx (at most one by construction).
    attempts: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    confirmed: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    # Failed calls by reason: an HTTP status ("503") or the connection error's class name.
    failures: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_flight: set[int] = field(default_factory=set)
    # Every update handed to the webhook, by id.
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def pending(self) -> int:
        """Updates not yet confirmed."""
        return self.queue.qsize() + len(self.in_flight)

    def start(self, notify: Callable[[], Awaitable[None]]) -> None:
        """Start the ``max_connections`` delivery workers."""
        import httpx

        limits = httpx.Limits(max_connections=self.max_connections)
        client = httpx.AsyncClient(limits=limits, timeout=self.timeout)
        self.workers = [
            asyncio.create_task(self._work(client, notify)) for _ in range(self.max_connections)
        ]
        self.workers.append(asyncio.create_task(self._close_when_done(client)))

    async def _close_when_done(self, client: Any) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await client.aclose()

    async def stop(self) -> list[dict[str, Any]]:
        """Stop delivering; the updates not confirmed (Telegram would keep them)."""
        for worker in self.workers:
            worker.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        left: list[dict[str, Any]] = []
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        return left

    async def _work(self, client: Any, notify: Callable[[], Awaitable[None]]) -> None:
        import httpx

        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret
        while True:
            update = await self.queue.get()
            update_id = int(update["update_id"])
            self.updates[update_id] = update
            self.in_flight.add(update_id)
            body = json.dumps(update)
            failed = 0
            try:
                while True:
                    self.attempts[update_id] += 1
                    try:
                        answer = await client.post(self.url, content=body, headers=headers)
                        if 200 <= answer.status_code < 300:
                            self.confirmed[update_id] += 1
                            break
                        self.failures[str(answer.status_code)] += 1
                    except httpx.HTTPError as error:
                        self.failures[type(error).__name__] += 1
                    await asyncio.sleep(self.retry_delays[min(failed, len(self.retry_delays) - 1)])
                    failed += 1
            except asyncio.CancelledError:
                self.queue.put_nowait(update)  # not confirmed: Telegram keeps it
                raise
            finally:
                self.in_flight.discard(update_id)
            await notify()


class BotApiStandIn:
    """The stand-in server and its state. Start it with :meth:`start` inside an event loop."""

    def __init__(self, *, bot_username: str = "dalsbot_local_bot") -> None:
        self.bot_username = bot_username
        self.url = ""
        self.bot_user = {
            "id": BOT_USER_ID,
            "is_bot": True,
            "first_name": "Dalsbot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.updates: list[dict[str, Any]] = []
        self.events: dict[int, list[ChatEvent]] = defaultdict(list)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        # Command menus by (scope, language_code): scope as rules.scope_key makes it.
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # The bot's ("description" | "short_description", language_code) texts.
        self.descriptions: dict[tuple[str, str], str] = {}
        # Messages a test allows to be longer than a phone screen (an article expanded on
        # request); see tests/conftest.py.
        self.long_allowed: set[tuple[int, int]] = set()
        # Chat actions ("typing"...) sent, per chat, in order.
        self.actions: dict[int, list[str]] = defaultdict(list)
        self.blocked: set[int] = set()
        self.webhook: dict[str, Any] | None = None
        self.delivery: WebhookDelivery | None = None
        self.rate_limits: RateLimits | None = None
        self.drop_next_requests = 0
        # When set, only requests to this method are dropped (start-up calls made in the
        # background, such as command menus, then cannot take the drop meant for a send).
        self.drop_method: str | None = "sendMessage"
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.on_send: Callable[[int, dict[str, Any]], None] | None = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._server: HTTPServer | None = None
        self._closing = False

    # -- server life cycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 = any free port); returns the root URL."""
        app = TornadoApplication(
            [
                (r"/bot([^/]+)/(\w+)", _MethodHandler, {"standin": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"standin": self}),
            ]
        )
        sockets = bind_sockets(port, host)
        self._server = HTTPServer(app, max_body_size=60 * 1024 * 1024)
        self._server.add_sockets(sockets)
        bound = sockets[0].getsockname()[1]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        """Wake every waiting long poll (it answers with no updates), then stop serving."""
        self._closing = True
        if self.delivery is not None:
            await self.delivery.stop()
        async with self._changed:
            self._changed.notify_all()
        await asyncio.sleep(0.05)
        if self._server is not None:
            self._server.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.close_all_connections(), 2)
            self._server = None
        async with self._changed:
            self._changed.notify_all()

    # -- the simulated people's side -----------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Anna",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "sv",
    ) -> SimUser:
        """A simulated Telegram user with a private chat with the bot."""
        return SimUser(self, user_id, first_name, last_name, username, language_code)

    def group(self, chat_id: int, title: str = "Barnteam") -> dict[str, Any]:
        """A group chat the bot is a member of."""
        chat = {"id": chat_id, "type": "group", "title": title}
        self.chats[chat_id] = chat
        return chat

    async def push_update(self, update: dict[str, Any]) -> None:
        """Queue one update for ``getUpdates``."""
        update["update_id"] = next(self._update_ids)
        if self.delivery is not None:
            self.delivery.queue.put_nowait(update)
            return
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the bot acts."""

        async def waiter() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(waiter(), timeout)
        except TimeoutError:
            raise AssertionError("the bot did not do what was expected in time") from None

    def sent_messages(self, chat_id: int | None = None) -> list[ChatEvent]:
        """Every message the bot sent, in one chat or all chats, in order."""
        chats = [chat_id] if chat_id is not None else list(self.events)
        return [event for chat in chats for event in self.events[chat] if event.kind == "send"]

    # -- the Bot API side ------------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any], files: dict[str, StoredFile]) -> Any:
        """Carry out one Bot API method and return its ``result``."""
        self.calls[method] += 1
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        chat_id = _int_or_none(params.get("chat_id"))
        if method in SEND_METHODS and chat_id is not None:
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if self.rate_limits is not None:
                wait = self.rate_limits.check(chat_id, time.monotonic())
                if wait is not None:
                    raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)
        result = handler(params, files)
        if asyncio.iscoroutine(result):
            result = await result
        async with self._changed:
            self._changed.notify_all()
        return result

    async def _api_getUpdates(self, params: dict[str, Any], _files: object) -> Any:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_or_none(params.get("offset")) or 0
        timeout = min(float(params.get("timeout") or 0), 30.0)
        limit = _int_or_none(params.get("limit")) or 100
        async with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout > 0 and not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self.updates) or self._closing), timeout
                    )
            return self.updates[:limit]

    def _api_getMe(self, _params: object, _files: object) -> Any:
        return self.bot_user

    async def _api_deleteWebhook(self, _params: object, _files: object) -> Any:
        self.webhook = None
        await self._stop_delivery()
        return True

    async def _api_setWebhook(self, params: dict[str, Any], _files: object) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deleteWebhook(params, _files)
        self.webhook = dict(params)
        await self._stop_delivery()
        self.delivery = WebhookDelivery(
            url,
            params.get("secret_token"),
            max_connections=_int_or_none(params.get("max_connections")) or 40,
        )
        for update in self.updates:
            self.delivery.queue.put_nowait(update)
        self.updates = []
        self.delivery.start(self._notify)
        return True

    async def _stop_delivery(self) -> None:
        if self.delivery is not None:
            left = await self.delivery.stop()
            self.delivery = None
            async with self._changed:
                self.updates = sorted(left + self.updates, key=lambda u: int(u["update_id"]))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _api_getWebhookInfo(self, _params: object, _files: object) -> Any:
        if self.webhook is None or self.delivery is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        info: dict[str, Any] = {
            "url": self.delivery.url,
            "has_custom_certificate": False,
            "pending_update_count": self.delivery.pending,
            "max_connections": self.delivery.max_connections,
        }
        if self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    def _api_close(self, _params: object, _files: object) -> Any:
        return True

    def _api_logOut(self, _params: object, _files: object) -> Any:
        return True

    @staticmethod
    def _menu_key(params: dict[str, Any]) -> tuple[str, str]:
        return rules.scope_key(params.get("scope")), str(params.get("language_code") or "")

    def _api_setMyCommands(self, params: dict[str, Any], _files: object) -> Any:
        self.commands[self._menu_key(params)] = rules.check_commands(params.get("commands"))
        return True

    def _api_getMyCommands(self, params: dict[str, Any], _files: object) -> Any:
        return self.commands.get(self._menu_key(params), [])

    def _api_deleteMyCommands(self, params: dict[str, Any], _files: object) -> Any:
        self.commands.pop(self._menu_key(params), None)
        return True

    def allow_long(self, event: ChatEvent) -> None:
        """Mark the message of ``event`` as one that may be longer than a phone screen."""
        self.long_allowed.add((int(event.message["chat"]["id"]), int(event.message["message_id"])))

    def menu(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The command menu last set for ``scope`` (Bot API JSON; default scope when None) and
        ``language_code`` ("" = every language without its own menu)."""
        return self.commands.get((rules.scope_key(scope), language_code), [])

    def _api_setMyDescription(self, params: dict[str, Any], _files: object) -> Any:
        text = rules.check_description(params.get("description"), short=False)
        self.descriptions["description", str(params.get("language_code") or "")] = text
        return True

    def _api_setMyShortDescription(self, params: dict[str, Any], _files: object) -> Any:
        text = rules.check_description(params.get("short_description"), short=True)
        self.descriptions["short_description", str(params.get("language_code") or "")] = text
        return True

    def _api_getMyDescription(self, params: dict[str, Any], _files: object) -> Any:
        key = ("description", str(params.get("language_code") or ""))
        return {"description": self.descriptions.get(key, "")}

    def _api_getMyShortDescription(self, params: dict[str, Any], _files: object) -> Any:
        key = ("short_description", str(params.get("language_code") or ""))
        return {"short_description": self.descriptions.get(key, "")}

    def _api_setChatMenuButton(self, _params: object, _files: object) -> Any:
        return True

    def _api_sendChatAction(self, params: dict[str, Any], _files: object) -> Any:
        chat_id = int(params["chat_id"])
        self._chat(chat_id)
        self.actions[chat_id].append(str(params.get("action")))
        return True

    def _api_sendMessage(self, params: dict[str, Any], _files: object) -> Any:
        text, entities = rules.formatted(
            params.get("text"), params.get("parse_mode"), limit=rules.MAX_TEXT, what="text"
        )
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._record_send(params, content)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, StoredFile]) -> Any:
        stored = self._store_file(params.get("document"), files, "document.bin")
        extra = {
            "document": {
                "file_id": stored[0],
                "file_unique_id": stored[0],
                "file_name": stored[1].name,
                "mime_type": stored[1].mime_type,
                "file_size": len(stored[1].content),
            }
        }
        return self._record_send(params, extra)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, StoredFile]) -> Any:
        stored = self._store_file(params.get("photo"), files, "picture.png")
        size = {
            "file_id": stored[0],
            "file_unique_id": stored[0],
            "width": 800,
            "height": 800,
            "file_size": len(stored[1].content),
            "file_name": stored[1].name,
        }
        return self._record_send(params, {"photo": [size]})

    def _api_editMessageText(self, params: dict[str, Any], _files: object) -> Any:
        rules.check_markup(params.get("reply_markup"))
        text, entities = rules.formatted(
            params.get("text"), params.get("parse_mode"), limit=rules.MAX_TEXT, what="text"
        )
        message = self._message_for_edit(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == (params.get("reply_markup") or None)
        ):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        return self._record_edit(message, params)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], _files: object) -> Any:
        rules.check_markup(params.get("reply_markup"))
        return self._record_edit(self._message_for_edit(params), params)

    def _api_editMessageCaption(self, params: dict[str, Any], _files: object) -> Any:
        rules.check_markup(params.get("reply_markup"))
        caption, entities = rules.formatted(
            params.get("caption"), params.get("parse_mode"), limit=rules.MAX_CAPTION, what="caption"
        )
        message = self._message_for_edit(params)
        message["caption"] = caption
        message.pop("caption_entities", None)
        if entities:
            message["caption_entities"] = entities
        return self._record_edit(message, params)

    def _api_deleteMessage(self, params: dict[str, Any], _files: object) -> Any:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.pop(key, None)
        if message is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.events[key[0]].append(ChatEvent("delete", message))
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], _files: object) -> Any:
        rules.check_callback_answer(params.get("text"))
        chat_id = int(str(params["callback_query_id"]).split(":")[0])
        text = params.get("text")
        if text:
            self.events[chat_id].append(ChatEvent("answer", {"text": str(text)}, str(text)))
        return True

    # -- helpers -------------------------------------------------------------------------------

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _record_send(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if params.get("caption"):
            caption, entities = rules.formatted(
                params["caption"], params.get("parse_mode"), limit=rules.MAX_CAPTION, what="caption"
            )
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        markup = params.get("reply_markup")
        rules.check_markup(markup)
        # Like Telegram, only inline keyboards come back on the message (ForceReply and reply
        # keyboards act on the client and are not part of the returned Message).
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self.messages[(chat_id, message["message_id"])] = message
        event = ChatEvent("send", json.loads(json.dumps(message)))
        if isinstance(markup, dict) and markup.get("force_reply"):
            # Not part of the returned Message, but what the person's phone shows: kept on
            # the event so tests can see the forced reply and its placeholder.
            event.message["force_reply"] = markup
        self.events[chat_id].append(event)
        if self.on_send is not None:
            self.on_send(chat_id, message)
        return message

    def _message_for_edit(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _record_edit(self, message: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        self.events[int(message["chat"]["id"])].append(
            ChatEvent("edit", json.loads(json.dumps(message)))
        )
        return message

    def _store_file(
        self, reference: Any, files: dict[str, StoredFile], default_name: str
    ) -> tuple[str, StoredFile]:
        stored: StoredFile | None = None
        if isinstance(reference, str) and reference.startswith("attach://"):
            stored = files.get(reference.removeprefix("attach://"))
        if stored is None and files:
            stored = next(iter(files.values()))
        if stored is None and isinstance(reference, str) and reference in self.files:
            return reference, self.files[reference]
        if stored is None:
            raise ApiError(400, "Bad Request: there is no file in the request")
        if not stored.name:
            stored.name = default_name
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = stored
        return file_id, stored


class SimUser:
    """A simulated person: sends text, commands, deep links and presses buttons."""

    def __init__(
        self,
        standin: BotApiStandIn,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str,
    ) -> None:
        self.standin, self.id = standin, user_id
        self.user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if last_name:
            self.user["last_name"] = last_name
        if username:
            self.user["username"] = username
        standin.chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )
        self._seen = len(standin.events[user_id])
        self._callback_ids = itertools.count(1)

    @property
    def chat_id(self) -> int:
        """The private chat's id (the same as the user id, as on Telegram)."""
        return self.id

    async def send(self, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """Type and send ``text`` (a command gets its ``bot_command`` entity)."""
        chat = self.standin.chats[chat_id if chat_id is not None else self.id]
        message: dict[str, Any] = {
            "message_id": next(self.standin._message_ids),
            "from": self.user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        mention = f"@{self.standin.bot_username}"
        if mention in text:
            message.setdefault("entities", []).append(
                {"type": "mention", "offset": text.index(mention), "length": len(mention)}
            )
        self.standin.messages[(int(chat["id"]), message["message_id"])] = message
        await self.standin.push_update({"message": message})
        return message

    async def reply_to(self, event: ChatEvent | dict[str, Any], text: str) -> dict[str, Any]:
        """Send ``text`` as a reply to a message of the bot (as after a forced reply)."""
        replied = event.message if isinstance(event, ChatEvent) else event
        chat_id = int(replied["chat"]["id"])
        current = self.standin.messages.get((chat_id, int(replied["message_id"])), replied)
        message: dict[str, Any] = {
            "message_id": next(self.standin._message_ids),
            "from": self.user,
            "chat": self.standin.chats[chat_id],
            "date": int(time.time()),
            "text": text,
            "reply_to_message": current,
        }
        self.standin.messages[(chat_id, message["message_id"])] = message
        await self.standin.push_update({"message": message})
        return message

    async def edit(self, sent: dict[str, Any], text: str) -> dict[str, Any]:
        """Edit a message this person sent earlier (Telegram sends an ``edited_message``)."""
        message = {**sent, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.standin.messages[(int(message["chat"]["id"]), message["message_id"])] = message
        await self.standin.push_update({"edited_message": message})
        return message

    async def press(
        self, event: ChatEvent | dict[str, Any], button: str | int, *, data: str | None = None
    ) -> None:
        """Press an inline button by its label (or part of it) or index; ``data`` forges it."""
        message = event.message if isinstance(event, ChatEvent) else event
        current = self.standin.messages.get(
            (int(message["chat"]["id"]), message["message_id"]), message
        )
        if data is None:
            data = self.button(current, button)["callback_data"]
        query = {
            "id": f"{self.id}:{next(self._callback_ids)}",
            "from": self.user,
            "chat_instance": str(current["chat"]["id"]),
            "message": current,
            "data": data,
        }
        await self.standin.push_update({"callback_query": query})

    @staticmethod
    def button(message: dict[str, Any], button: str | int) -> dict[str, Any]:
        """The button ``button`` (label, part of a label, or index) of ``message``."""
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        buttons = [b for row in rows for b in row]
        if isinstance(button, int):
            return dict(buttons[button])
        for candidate in buttons:
            if candidate["text"] == button:
                return dict(candidate)
        for candidate in buttons:
            if button.lower() in candidate["text"].lower():
                return dict(candidate)
        labels = [b["text"] for b in buttons]
        raise AssertionError(f"no button {button!r}; the buttons are {labels}")

    def events(self) -> list[ChatEvent]:
        """Everything the bot did in this person's private chat."""
        return self.standin.events[self.id]

    def last(self) -> ChatEvent:
        """The bot's latest message (as currently shown) in this chat."""
        sends = [e for e in self.events() if e.kind in ("send", "edit")]
        if not sends:
            raise AssertionError("the bot has sent nothing to this person")
        latest = sends[-1].message
        current = self.standin.messages.get((self.id, latest["message_id"]), latest)
        return ChatEvent("send", current)

    async def next(self, count: int = 1, timeout: float = 10.0) -> list[ChatEvent]:
        """Wait for the next ``count`` things the bot does here (sends, edits, alerts)."""
        target = self._seen + count
        await self.standin.wait_for(lambda: len(self.standin.events[self.id]) >= target, timeout)
        new = self.standin.events[self.id][self._seen : target]
        self._seen = target
        return new

    async def reply(self, timeout: float = 10.0) -> ChatEvent:
        """Wait for the bot's next action here and return it."""
        return (await self.next(1, timeout))[0]

    async def ask(self, text: str, count: int = 1) -> ChatEvent:
        """Send ``text`` and return the last of the next ``count`` bot actions."""
        await self.send(text)
        return (await self.next(count))[-1]

    async def tap(self, event: ChatEvent, button: str | int, count: int = 1) -> ChatEvent:
        """Press ``button`` and return the last of the next ``count`` bot actions."""
        await self.press(event, button)
        return (await self.next(count))[-1]

    def skip_pending(self) -> None:
        """Forget what the bot did so far (the next wait starts from now)."""
        self._seen = len(self.standin.events[self.id])


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _decode_param(name: str, raw: str) -> Any:
    if name in JSON_FIELDS or (raw[:1] in "[{" and raw[-1:] in "]}"):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


class _MethodHandler(RequestHandler):
    """``POST /bot<token>/<method>``: the Bot API's one endpoint shape."""

    def initialize(self, standin: BotApiStandIn) -> None:
        self.standin = standin

    def check_xsrf_cookie(self) -> None:
        """The Bot API has no cookies."""

    async def post(self, _token: str, method: str) -> None:
        await self._handle(method)

    async def get(self, _token: str, method: str) -> None:
        await self._handle(method)

    async def _handle(self, method: str) -> None:
        dropped = self.standin.drop_method in (None, method) and method != "getUpdates"
        if self.standin.drop_next_requests > 0 and dropped:
            self.standin.drop_next_requests -= 1
            self.request.connection.close()  # type: ignore[union-attr]
            return
        params: dict[str, Any] = {}
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            params = json.loads(self.request.body)
        else:
            for name, values in self.request.arguments.items():
                params[name] = _decode_param(name, values[-1].decode("utf-8"))
        files = {
            name: StoredFile(
                parts[0].filename or "",
                parts[0].body,
                parts[0].content_type or "application/octet-stream",
            )
            for name, parts in self.request.files.items()
        }
        try:
            result = await self.standin.call(method, params, files)
        except rules.Refused as refused:
            self.set_status(400)
            self.finish({"ok": False, "error_code": 400, "description": f"Bad Request: {refused}"})
            return
        except ApiError as error:
            self.set_status(error.code)
            answer: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                answer["parameters"] = {"retry_after": error.retry_after}
            self.finish(answer)
            return
        except (KeyError, ValueError) as error:
            self.set_status(400)
            self.finish({"ok": False, "error_code": 400, "description": f"Bad Request: {error}"})
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": True, "result": result}))


class _FileHandler(RequestHandler):
    """``GET /file/bot<token>/<file_id>``: downloads of files the bot sent."""

    def initialize(self, standin: BotApiStandIn) -> None:
        self.standin = standin

    def get(self, _token: str, file_id: str) -> None:
        stored = self.standin.files.get(file_id)
        if stored is None:
            self.set_status(404)
            self.finish()
            return
        self.set_header("Content-Type", stored.mime_type)
        self.finish(stored.content)
