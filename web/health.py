"""Liveness, readiness and metrics.

``/healthz`` is liveness: the process answers and can read its database (restart it when this
fails). ``/readyz`` is readiness: the hub is not shutting down and the database takes a
committed write now — a load balancer stops sending webhooks to a replica that cannot make them
durable. ``/metrics`` answers loopback clients (a request carrying X-Forwarded-For, Forwarded or
X-Real-IP came through a proxy and is not loopback) and, when ``server.metrics_token`` is set,
requests with ``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from web.context import WEB_CONTEXT

PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


async def healthz(request: web.Request) -> web.Response:
    if not await request.app[WEB_CONTEXT].database_ok():
        return web.json_response({"status": "error", "database": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ready, reason = await request.app[WEB_CONTEXT].readiness()
    if not ready:
        return web.json_response({"status": "unavailable", "reason": reason}, status=503,
                                 headers={"Retry-After": "5"})
    return web.json_response({"status": "ready"})


def _loopback(request: web.Request) -> bool:
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def metrics_allowed(request: web.Request, token: str) -> bool:
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(
                given[len("Bearer "):].strip().encode(), token.encode()):
            return True
    return _loopback(request)


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    if not metrics_allowed(request, ctx.metrics_token):
        ctx.count_rejected("metrics", "not_allowed")
        return web.json_response({"error": "metrics are served to loopback or with the "
                                  "server.metrics_token bearer token"}, status=403)
    return web.Response(body=await ctx.render_metrics(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/readyz", readyz),
            web.get("/metrics", metrics)]
