"""A lean HTTP/1.1 client for the Bot API's small calls, on asyncio streams.

Every tap of a pulse answer costs two Bot API calls (the edit and answering the press). Through
httpx, each costs about 0.6-0.9 ms of CPU in the bot process: the request and response models,
cookies, redirects and auth hooks, anyio's streams, and httpcore's check of every pooled
connection before each request (anyio builds a dict of the socket's attributes, with a
``getpeername`` call, per connection per request). A bot API call needs none of that: one
POST of form-encoded parameters on a kept-alive connection, and a JSON answer with a
Content-Length. :class:`KeepAliveRequest` does exactly that and hands every other request
(file uploads, and all requests when a proxy is configured in the environment) to the
``HTTPXRequest`` it wraps, so behaviour stays python-telegram-bot's own.

Timeouts and errors follow ``HTTPXRequest``: a timeout raises ``TimedOut`` (a pool timeout
says the request was not sent), anything else on the connection ``NetworkError``. A kept-alive
connection the server has closed is noticed before reuse (as httpcore does) and replaced; a
request is sent again only when it could not be written at all, never after it went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import ssl
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Final, cast

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from telegram.request._baserequest import DefaultValue

# An idle connection older than this is closed rather than reused (httpx's default).
KEEPALIVE_EXPIRY: Final = 5.0
_MAX_HEADER_BYTES: Final = 64 * 1024
_PROXY_VARIABLES: Final = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def proxy_configured() -> bool:
    """Whether the environment sets a proxy (httpx would use it; this client cannot)."""
    return any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES)


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def reusable(self, now: float) -> bool:
        """Whether the idle connection may carry the next request: the server's close (or
        stray bytes) shows as EOF, buffered data, or a readable socket (as httpcore checks)."""
        if (
            self.writer.is_closing()
            or self.reader.at_eof()
            or len(getattr(self.reader, "_buffer", b"")) > 0
            or now - self.idle_since >= KEEPALIVE_EXPIRY
        ):
            return False
        sock = self.writer.get_extra_info("socket")
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError, TypeError):
            return False
        return not readable

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass(frozen=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class KeepAliveRequest(BaseRequest):
    """Bot API calls over at most ``connections`` kept-alive HTTP/1.1 connections; requests
    with files, and every request when a proxy is configured, go to ``fallback``."""

    def __init__(
        self,
        fallback: BaseRequest,
        *,
        connections: int,
        read_timeout: float = 15.0,
        write_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        pool_timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.fallback = fallback
        self._timeouts = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        self._tls = tls
        self._slots = asyncio.BoundedSemaphore(connections)
        self._idle: dict[_Origin, deque[_Connection]] = {}
        self._origins: dict[str, tuple[_Origin, str]] = {}
        self._use_fallback = proxy_configured()

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts[0]

    async def initialize(self) -> None:
        await self.fallback.initialize()

    async def shutdown(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.popleft().close()
        await self.fallback.shutdown()

    def _origin(self, url: str) -> tuple[_Origin, str]:
        """The server and the request target of ``url`` (cached: a bot calls few URLs)."""
        found = self._origins.get(url)
        if found is None:
            parts = urllib.parse.urlsplit(url)
            secure = parts.scheme == "https"
            port = parts.port or (443 if secure else 80)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            found = (_Origin(parts.scheme, parts.hostname or "", port), target)
            if len(self._origins) < 1024:
                self._origins[url] = found
        return found

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        origin, target = self._origin(url)
        if (
            self._use_fallback
            or (request_data is not None and request_data.contains_files)
            or origin.scheme not in ("http", "https")
        ):
            return await self.fallback.do_request(
                url, method, request_data, read_timeout, write_timeout,  # type: ignore[arg-type]
                connect_timeout, pool_timeout,  # type: ignore[arg-type]
            )  # fmt: skip
        given = (read_timeout, write_timeout, connect_timeout, pool_timeout)
        read, write, connect, pool = (
            default if isinstance(value, DefaultValue) else cast("float | None", value)
            for value, default in zip(given, self._timeouts, strict=True)
        )
        body = request_data.url_encoded_parameters().encode() if request_data else b""
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"
            f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            async with asyncio.timeout(pool):
                await self._slots.acquire()
        except TimeoutError:
            raise TimedOut(
                "Pool timeout: All connections in the connection pool are occupied. "
                "Request was *not* sent to Telegram."
            ) from None
        try:
            return await self._exchange(
                origin,
                head.encode("latin-1") + body,
                read,
                write,
                connect,
            )
        finally:
            self._slots.release()

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        """A kept-alive connection to ``origin``, or None when there is none to reuse."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable(now):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: _Origin, connect: float | None) -> _Connection:
        tls = (self._tls or ssl.create_default_context()) if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(connect):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=tls, limit=_MAX_HEADER_BYTES
                )
        except TimeoutError:
            raise TimedOut("Timed out connecting to the Bot API") from None
        except OSError as exc:
            raise NetworkError(f"Cannot connect to the Bot API: {exc}") from exc
        return _Connection(reader, writer)

    async def _exchange(
        self,
        origin: _Origin,
        request: bytes,
        read: float | None,
        write: float | None,
        connect: float | None,
    ) -> tuple[int, bytes]:
        reused = self._idle_connection(origin)
        if reused is not None:
            # Closed by the server while idle (not written, so not acted on): once more on a
            # new connection.
            with contextlib.suppress(_Closed):
                return await self._send(origin, reused, request, read, write)
        try:
            return await self._send(
                origin, await self._connect(origin, connect), request, read, write
            )
        except _Closed as exc:
            raise NetworkError("The Bot API closed the connection without an answer") from exc

    async def _send(
        self,
        origin: _Origin,
        connection: _Connection,
        request: bytes,
        read: float | None,
        write: float | None,
    ) -> tuple[int, bytes]:
        keep = False
        try:
            try:
                connection.writer.write(request)
                async with asyncio.timeout(write):
                    await connection.writer.drain()
            except TimeoutError:
                raise TimedOut("Timed out sending to the Bot API") from None
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise _Closed from exc
            try:
                async with asyncio.timeout(read):
                    status, body, keep = await _read_response(connection.reader)
            except TimeoutError:
                raise TimedOut("Timed out waiting for the Bot API") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise NetworkError(f"Bot API connection failed: {exc!r}") from exc
        finally:
            if keep:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(origin, deque()).append(connection)
            else:
                connection.close()
        return status, body


class _Closed(Exception):
    """The request could not be written: the server had closed the connection, so it cannot
    have acted on it (a request sent but not answered is never sent again, as with httpx)."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the connection may be kept (HTTP/1.1 without ``close``)."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        status = int(status_text)
        # An interim answer (100 Continue, 103 Early Hints) is skipped, as httpcore does: taken
        # as the answer, it would leave the real one to be read as the next request's.
        if not 100 <= status < 200:
            break
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    tokens = {token.strip() for token in headers.get("connection", "").lower().split(",")}
    keep = version == "HTTP/1.1" and "close" not in tokens
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # Trailers, if any, end with an empty line.
                trailer = await reader.readuntil(b"\r\n")
                while trailer != b"\r\n":
                    trailer = await reader.readuntil(b"\r\n")
                return status, bytes(body), keep
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        return status, await reader.readexactly(int(length)), keep
    if status in (204, 304):
        return status, b"", keep
    # No length: the body runs to the end of the connection.
    return status, await reader.read(), False
