"""Public JSON views: no auth, no personal data (names, phones, emails are never included; phone
numbers, emails and the citizen's name inside free text are masked). The HTML pages are the
portal's (web.portal); ``/stats`` now lives at ``/agencies``."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from store.public_reports import photo_url
from store.public_reports import public_report as find_public
from store.reports import full_report_dict
from web.context import WEB_CONTEXT


def _dumps(value: Any) -> str:
    """UTF-8 JSON, Vietnamese unescaped; <, > and & as \\u escapes (lossless, never markup)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def public_report(request: web.Request) -> web.Response:
    """A public report (forwarded, not hidden) in the contract's JSON, redacted; else 404."""
    ctx = request.app[WEB_CONTEXT]
    async with ctx.sessions() as session:
        found = await find_public(session, request.match_info["code"].strip().upper())
        if found is None:
            return web.json_response({"error": "not found"}, status=404, dumps=_dumps)
        data = await full_report_dict(session, found.report, ctx.public_base_url, public=True)
    visible = {a.sha256 for a in found.photos}  # stored photos the center did not hide
    data["attachments"] = [a for a in data["attachments"] if a["kind"] != "image" or a["sha256"] in visible]
    for att in data["attachments"]:
        if att["kind"] == "image" and att["sha256"]:
            att["url"] = photo_url(ctx.public_base_url, data["code"], att["sha256"])
    if data["location"]:
        decimals = ctx.portal_settings.coordinate_decimals
        for key in ("lat", "lon"):
            if data["location"][key] is not None:
                data["location"][key] = round(data["location"][key], decimals)
    return web.json_response(data, dumps=_dumps)


async def _stats(request: web.Request) -> dict:
    from router.stats import agency_stats
    from store.models import utcnow

    ctx = request.app[WEB_CONTEXT]
    since = None
    if request.query.get("since"):
        try:
            since = datetime.fromisoformat(request.query["since"])
            if since.tzinfo is None:
                since = since.astimezone()  # 0001-01-01 has no local time: a 400, not a 500
        except (ValueError, OverflowError):
            raise web.HTTPBadRequest(
                text=_dumps({"error": "since phải là ngày theo ISO 8601, ví dụ 2026-11-01"}),
                content_type="application/json") from None
    agencies = [(a.id, a.name) for a in ctx.agencies]
    async with ctx.sessions() as session:
        data = await agency_stats(session, agencies, utcnow(), since)
    data["since"] = since.isoformat() if since else None
    return data


async def public_stats(request: web.Request) -> web.Response:
    return web.json_response(await _stats(request), dumps=_dumps, headers={"Cache-Control": "max-age=60"})


async def stats_page(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/agencies")


def routes() -> list[web.RouteDef]:
    return [web.get("/api/public/reports/{code}", public_report),
            web.get("/stats", stats_page), web.get("/api/public/stats", public_stats)]
