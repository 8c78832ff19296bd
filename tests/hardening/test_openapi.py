"""The OpenAPI description is served, covers every agency API and public JSON route, and the
failure schemathesis found with it (a 500 on /api/public/stats?since=0001-01-01) stays fixed."""
from __future__ import annotations

import re


async def test_openapi_is_served_and_covers_the_api(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    spec = await resp.json()
    assert spec["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/v1/") or path in ("/api/public/stats",) or re.fullmatch(
                r"/api/public/reports/\{code\}", path):
            if route.method in ("GET", "POST"):
                served.add((route.method, path))
    assert served and served <= documented, served - documented
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert op["responses"], path
            assert all(code.isdigit() for code in op["responses"]), path


async def test_stats_since_year_one_is_a_400_not_a_500(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    for since in ("0001-01-01", "9999-12-31T23:59:59", "yesterday"):
        resp = await client.get("/api/public/stats", params={"since": since})
        assert resp.status in (200, 400), (since, resp.status)
        assert resp.content_type == "application/json"
    resp = await client.get("/api/public/stats", params={"since": "0001-01-01"})
    assert resp.status == 400 and "error" in await resp.json()
