"""Probes 9 and 10: readiness separate from liveness, /metrics not public, security headers on
HTML pages (without overriding a page's own)."""
from __future__ import annotations

from sqlalchemy import text

from hub.keys import HUB_KEY


async def test_readyz_fails_when_writes_fail_and_healthz_stays_live(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    assert (await client.get("/readyz")).status == 200
    hub = client.app[HUB_KEY]
    async with hub.engine.connect() as conn:  # the one pooled SQLite connection: writes now fail
        await conn.execute(text("PRAGMA query_only=ON"))
    hub._readiness = (float("-inf"), False, "")  # skip the one-second cache
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert "database write failed" in (await resp.json())["reason"]
    assert (await client.get("/healthz")).status == 200  # liveness: reads still work
    async with hub.engine.connect() as conn:
        await conn.execute(text("PRAGMA query_only=OFF"))
    hub._readiness = (float("-inf"), False, "")
    assert (await client.get("/readyz")).status == 200


async def test_readyz_fails_once_shutdown_begins(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    assert (await client.get("/readyz")).status == 200
    await client.app.shutdown()  # what SIGTERM runs first (on_shutdown)
    resp = await client.get("/readyz")
    assert resp.status == 503 and (await resp.json())["reason"] == "shutting down"


async def test_readyz_on_postgres_and_sqlite(db_url, settings_factory, hub_client):
    client = await hub_client(settings_factory(db_url, workers={"enabled": False}))
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/readyz")).status == 200  # the probe leaves no row behind
    hub = client.app[HUB_KEY]
    async with hub.engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM leases WHERE name LIKE 'probe:%'"))).scalar()
    assert left == 0


async def test_metrics_only_loopback_or_token(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    assert (await client.get("/metrics")).status == 200  # loopback
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert (await client.get("/metrics", headers=proxied)).status == 403
    assert (await client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"})).status == 403

    client2 = await hub_client(settings_factory(workers={"enabled": False},
                                                server={"metrics_token": "s3cret-metrics"}))
    assert (await client2.get("/metrics", headers={
        **proxied, "Authorization": "Bearer s3cret-metrics"})).status == 200
    assert (await client2.get("/metrics", headers={
        **proxied, "Authorization": "Bearer wrong"})).status == 403


async def test_html_pages_carry_security_headers(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    resp = await client.get("/r/PA-2026-000001")  # the public status page (404 is HTML too)
    assert resp.content_type == "text/html"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    resp = await client.get("/healthz")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in resp.headers


async def test_a_page_keeps_its_own_csp(aiohttp_client):
    from aiohttp import web

    from hub.app import security_headers

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<p>map</p>", content_type="text/html",
                            headers={"Content-Security-Policy": "img-src https://tiles.example"})

    app = web.Application(middlewares=[security_headers])
    app.router.add_get("/", page)
    client = await aiohttp_client(app)
    resp = await client.get("/")
    assert resp.headers["Content-Security-Policy"] == "img-src https://tiles.example"
    assert resp.headers["X-Frame-Options"] == "DENY"
