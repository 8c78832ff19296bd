"""A scriptable fake of an external HTTP API (Graph API, Zalo, Telegram, SMS gateway, agency
webhook), served by aiohttp on 127.0.0.1 with a random port. Tests and `main.py demo` point the
channels' base URL settings at ``api.url`` and read what the hub sent from ``api.calls``."""
from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class FakeAPI:
    calls: list[Call] = field(default_factory=list)
    _scripts: dict[tuple[str, str], deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    _defaults: dict[tuple[str, str], Any] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    def on(self, method: str, path: str, *responses: Any, default: Any = None) -> None:
        """Queue responses for METHOD path: a dict/list (JSON 200), a (status, body) tuple,
        bytes, or an async handler(request, body). ``default`` answers once the queue is empty."""
        self._scripts[(method.upper(), path)].extend(responses)
        if default is not None:
            self._defaults[(method.upper(), path)] = default

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.calls.append(Call(request.method, request.path, dict(request.query),
                               dict(request.headers), body))
        key = (request.method, request.path)
        queue = self._scripts.get(key)
        answer = queue.popleft() if queue else self._defaults.get(key)
        if answer is None:
            return web.json_response({"error": "no scripted answer", "path": request.path},
                                     status=404)
        if callable(answer):
            return await answer(request, body)
        if isinstance(answer, tuple):
            status, payload = answer
            if isinstance(payload, bytes | str):
                return web.Response(status=status, body=payload)
            return web.json_response(payload, status=status)
        if isinstance(answer, bytes):
            return web.Response(body=answer, content_type="application/octet-stream")
        return web.json_response(answer)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
