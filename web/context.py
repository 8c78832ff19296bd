"""What the web layer (agency API, public pages, health, console) may use of the running hub.
The hub stores itself under ``WEB_CONTEXT``; pages see only this protocol."""
from __future__ import annotations

from typing import Protocol

from aiohttp import web

from router.context import RouterContext


class WebContext(RouterContext, Protocol):
    async def database_ok(self) -> bool: ...

    async def render_metrics(self) -> bytes: ...

    def count_rejected(self, channel: str, reason: str) -> None: ...


WEB_CONTEXT: web.AppKey[WebContext] = web.AppKey("web_context")
