from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.workers import Workers

HUB_KEY: web.AppKey[Hub] = web.AppKey("hub")
WORKERS_KEY: web.AppKey[Workers] = web.AppKey("workers")
