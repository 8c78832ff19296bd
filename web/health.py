"""Liveness and metrics."""
from __future__ import annotations

from aiohttp import web

from web.context import WEB_CONTEXT


async def healthz(request: web.Request) -> web.Response:
    if not await request.app[WEB_CONTEXT].database_ok():
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=await request.app[WEB_CONTEXT].render_metrics(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
