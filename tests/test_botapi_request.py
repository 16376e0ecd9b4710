"""The lean Bot API client (bot/shell/botapi_request.py): the same answers as through httpx,
kept-alive connections, a connection the server closed while idle, chunked answers, timeouts,
and file uploads handed to httpx."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.shell.botapi_request import KeepAliveRequest
from bot.shell.standin import BotApiStandIn

TOKEN = "123456:LOCAL-STAND-IN-TOKEN-0000000000"


def _lean(connections: int = 2, **timeouts: float) -> KeepAliveRequest:
    return KeepAliveRequest(HTTPXRequest(), connections=connections, **timeouts)


async def test_bot_calls_through_the_stand_in_reuse_one_connection() -> None:
    standin = BotApiStandIn()
    await standin.start()
    request = _lean()
    bot = Bot(TOKEN, base_url=f"{standin.url}/bot", request=request)
    try:
        await bot.initialize()
        person = standin.user(501, "Anna")
        for number in range(3):
            sent = await bot.send_message(person.chat_id, f"Hej {number} & å <b>")
            assert sent.text == f"Hej {number} & å <b>"
        assert [event.text for event in person.events()][-3:] == [
            f"Hej {n} & å <b>" for n in range(3)
        ]
        # Sequential calls: one connection, kept alive and reused.
        assert sum(len(idle) for idle in request._idle.values()) == 1
    finally:
        await bot.shutdown()
        await standin.stop()


async def test_files_go_through_httpx() -> None:
    calls: list[str] = []

    class Fallback(HTTPXRequest):
        async def do_request(
            self, url: str, method: str, *args: object, **kw: object
        ) -> tuple[int, bytes]:  # type: ignore[override]
            calls.append(url)
            return 200, b'{"ok": true, "result": true}'

    request = KeepAliveRequest(Fallback(), connections=1)
    data = RequestData(
        [RequestParameter.from_input("document", InputFile(b"abc", filename="a.txt", attach=True))]
    )
    assert data.contains_files
    assert await request.do_request("http://127.0.0.1:9/botX/sendDocument", "POST", data) == (
        200,
        b'{"ok": true, "result": true}',
    )
    assert calls == ["http://127.0.0.1:9/botX/sendDocument"]


@contextlib.asynccontextmanager
async def _server(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]],
) -> AsyncIterator[str]:
    """A raw HTTP server calling ``answer`` per connection (with its number, from 0)."""
    count = 0
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        number, count = count, count + 1
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await answer(reader, writer, number)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/botX/getMe"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


async def test_a_chunked_answer_and_a_connection_closed_while_idle() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        chunks = [b'{"ok"', b':true,"result":' + str(n).encode() + b"}"]
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n")
        await writer.drain()
        # The server closes every connection after one answer, without saying so.

    async with _server(answer) as url:
        request = _lean()
        assert await request.do_request(url, "POST") == (200, b'{"ok":true,"result":0}')
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle
        assert await request.do_request(url, "POST") == (200, b'{"ok":true,"result":1}')
        await request.shutdown()


async def test_a_server_that_does_not_answer_times_out_and_one_that_hangs_up_fails() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        await asyncio.sleep(10)

    async with _server(silent) as url:
        request = _lean(read_timeout=0.2)
        with pytest.raises(TimedOut):
            await request.do_request(url, "POST")
        await request.shutdown()

    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()

    async with _server(rude) as url:
        request = _lean()
        with pytest.raises(NetworkError):
            await request.do_request(url, "POST")
        await request.shutdown()


async def test_the_pool_limit_holds_and_a_full_pool_times_out() -> None:
    open_at_once = 0
    most = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        nonlocal open_at_once, most
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                return
            open_at_once += 1
            most = max(most, open_at_once)
            await asyncio.sleep(0.05)
            open_at_once -= 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    async with _server(slow) as url:
        request = _lean(connections=2)
        answers = await asyncio.gather(*(request.do_request(url, "POST") for _ in range(6)))
        assert answers == [(200, b"{}")] * 6 and most == 2
        tight = _lean(connections=1, pool_timeout=0.01)
        results = await asyncio.gather(
            tight.do_request(url, "POST"), tight.do_request(url, "POST"), return_exceptions=True
        )
        assert (200, b"{}") in results and any(isinstance(r, TimedOut) for r in results)
        await request.shutdown()
        await tight.shutdown()


async def test_an_interim_answer_is_skipped_and_a_close_in_a_token_list_is_seen() -> None:
    """A 100 Continue taken as the answer would leave the real answer on the connection, to be
    read as the next request's; "Connection: keep-alive, close" closes it like "close"."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        for call in range(2):
            await _read_request(reader)
            body = b'{"ok":true,"result":"%d.%d"}' % (n, call)
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)
            extra = b"Connection: keep-alive, close\r\n" if call else b""
            writer.write(b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n" % (extra, len(body)))
            writer.write(body)
            await writer.drain()
        await asyncio.sleep(0.05)  # closes after the second answer, as it said

    async with _server(answer) as url:
        request = _lean()
        assert await request.do_request(url, "POST") == (200, b'{"ok":true,"result":"0.0"}')
        assert await request.do_request(url, "POST") == (200, b'{"ok":true,"result":"0.1"}')
        assert not any(request._idle.values())  # "close" among the tokens: not kept
        assert await request.do_request(url, "POST") == (200, b'{"ok":true,"result":"1.0"}')
        await request.shutdown()
