"""A small HTTP load balancer for the replica tests: each request goes to a random backend.

Like nginx with its defaults: no stickiness, a backend that refuses the connection is
skipped and the next one tried (the request never reached it), and a backend that fails
after the request was sent gives 502 (a POST is not repeated: Telegram re-delivers).
"""

from __future__ import annotations

import random
from collections import Counter

import httpx
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class RandomProxy:
    """Listens on 127.0.0.1; forwards every request to a random one of ``backends``."""

    def __init__(self, backends: list[str], *, seed: int = 12) -> None:
        self.backends = backends
        self.random = random.Random(seed)
        self.sent: Counter[str] = Counter()  # requests that reached each backend
        self.refused: Counter[str] = Counter()  # connections refused (a dead backend)
        self.bad_gateway = 0  # requests that failed after reaching a backend
        self.client = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=200))
        self._server: HTTPServer | None = None
        self.url = ""

    async def start(self) -> str:
        sockets = bind_sockets(0, "127.0.0.1")
        self._server = HTTPServer(Application([(r"/.*", _Forward, {"proxy": self})]))
        self._server.add_sockets(sockets)
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        await self.client.aclose()

    async def forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        order = self.backends[:]
        self.random.shuffle(order)
        for backend in order:
            try:
                answer = await self.client.request(
                    method, backend + path, content=body or None, headers=headers
                )
            except httpx.ConnectError:
                self.refused[backend] += 1
                continue
            except httpx.HTTPError:
                self.sent[backend] += 1
                self.bad_gateway += 1
                return 502, b""
            self.sent[backend] += 1
            return answer.status_code, answer.content
        return 502, b""


class _Forward(RequestHandler):
    def initialize(self, proxy: RandomProxy) -> None:
        self.proxy = proxy

    def check_xsrf_cookie(self) -> None:
        """No cookies here."""

    async def _go(self) -> None:
        headers = {k: v for k, v in self.request.headers.items() if k in FORWARDED}
        status, body = await self.proxy.forward(
            self.request.method or "GET", self.request.uri or "/", self.request.body, headers
        )
        self.set_status(status)
        self.finish(body)

    async def post(self) -> None:
        await self._go()

    async def get(self) -> None:
        await self._go()
