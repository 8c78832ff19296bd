"""Liveness and metrics."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from hub.keys import HUB_KEY, WORKERS_KEY


async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    try:
        async with hub.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    workers = request.app.get(WORKERS_KEY)
    if workers is not None:
        try:
            await workers.refresh_gauges()
        except Exception:  # metrics must render even when the database is down
            pass
    return web.Response(body=hub.metrics.render(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
