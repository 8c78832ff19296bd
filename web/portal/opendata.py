"""Open data and machine views: the list as Atom, JSON and CSV (same filters as /reports,
masked, UTF-8 unescaped), the map's clusters, and the public copies of photos."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from store.models import utcnow
from store.public_reports import iter_public, map_clusters, public_photo
from web.context import WEB_CONTEXT
from web.portal.cards import COLUMNS, card, export_row
from web.portal.keys import PORTAL_SETTINGS
from web.portal.pages import BadFilter, agency_names, cached, error_page, masks, not_found, parse_filter
from web.portal.photos import public_copy
from web.portal.render import SITE_NAME, iso_time, secure

ATOM_ENTRIES = 50


def _dumps(value: Any) -> str:
    """UTF-8 JSON, Vietnamese unescaped; <, > and & as \\u escapes (lossless) so no citizen's
    text can ever read as markup, even to a client that sniffs."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _cell(value: Any) -> Any:
    """CSV cells that a spreadsheet would run as a formula start with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=_dumps)


async def _items(request: web.Request, limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    flt, page = parse_filter(request)
    ctx = request.app[WEB_CONTEXT]
    settings = request.app[PORTAL_SETTINGS]
    names = agency_names(request)
    now = utcnow()
    try:
        size = int(request.query.get("limit", limit))
    except ValueError:
        raise BadFilter("limit phải là một số.") from None
    size = max(1, min(size, settings.export_limit))
    async with ctx.sessions() as session:
        # Pages of an export are `page` × `limit` (keyset inside, offset only to reach the page).
        batches = await iter_public(session, flt, limit=size * page)
    rows = [r for b in batches for r in b.reports][size * (page - 1):]
    names_by_id = {k: v for b in batches for k, v in b.names.items()}
    items = [card(r, names_by_id.get(r.id), names, base_url=ctx.public_base_url,
                  decimals=settings.coordinate_decimals, now=now, masks=masks(request)) for r in rows]
    return items, flt.active()


async def reports_json(request: web.Request) -> web.Response:
    try:
        items, active = await _items(request, 100)
    except BadFilter as exc:
        return _json_error(400, str(exc))
    body = {"filters": active, "count": len(items), "columns": list(COLUMNS),
            "reports": [export_row(i) for i in items]}
    return web.json_response(body, dumps=_dumps, headers={"Access-Control-Allow-Origin": "*"})


async def reports_csv(request: web.Request) -> web.Response:
    try:
        items, _ = await _items(request, 1000)
    except BadFilter as exc:
        return _json_error(400, str(exc))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for item in items:
        writer.writerow({k: _cell(v) for k, v in export_row(item).items()})
    # A BOM so spreadsheet programs read the Vietnamese as UTF-8.
    return web.Response(body=("\ufeff" + out.getvalue()).encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="phan-anh.csv"',
                                 "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"})


async def reports_atom(request: web.Request) -> web.Response:
    try:
        items, active = await _items(request, ATOM_ENTRIES)
    except BadFilter as exc:
        return error_page(request, 400, "Bộ lọc không hợp lệ", str(exc))
    ctx = request.app[WEB_CONTEXT]
    base = ctx.public_base_url.rstrip("/")
    query = request.rel_url.query_string
    self_url = f"{base}/reports.atom" + (f"?{query}" if query else "")
    updated = max((i["updated_at"] for i in items), default=utcnow())
    entries = []
    for i in items:
        summary = f"{i['status_label']} · {i['category_label']}" + (f" · {i['ward']}" if i["ward"] else "")
        entries.append(
            "<entry>"
            f"<id>{escape(i['url'])}</id><title>{escape(i['code'] + ': ' + i['title'])}</title>"
            f'<link rel="alternate" type="text/html" href="{escape(i["url"])}"/>'
            f"<updated>{iso_time(i['updated_at'])}</updated><published>{iso_time(i['created_at'])}</published>"
            f"<category term=\"{escape(i['category'] or 'other')}\" label=\"{escape(i['category_label'])}\"/>"
            f"<summary>{escape(summary)}</summary>"
            f'<content type="text">{escape(i["description"])}</content>'
            "</entry>")
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="vi">'
            f"<id>{escape(self_url)}</id><title>{escape(SITE_NAME)}: phản ánh mới</title>"
            f'<link rel="self" href="{escape(self_url)}"/>'
            f'<link rel="alternate" type="text/html" href="{escape(base + "/reports")}"/>'
            f"<updated>{iso_time(updated)}</updated><author><name>{escape(SITE_NAME)}</name></author>"
            + "".join(entries) + "</feed>")
    return web.Response(text=body, content_type="application/atom+xml", charset="utf-8")


async def map_json(request: web.Request) -> web.Response:
    settings = request.app[PORTAL_SETTINGS]
    q = request.query
    try:
        zoom = int(q.get("zoom", settings.map_zoom))
        bbox = tuple(float(v) for v in q["bbox"].split(",")) if q.get("bbox") else None
        if bbox is not None and len(bbox) != 4:
            raise ValueError
    except ValueError:
        return _json_error(400, "zoom phải là số nguyên; bbox là nam,tây,bắc,đông")
    ctx = request.app[WEB_CONTEXT]
    if bbox is not None:  # the same view a little panned is the same answer
        bbox = tuple(round(v, 2) for v in bbox)

    async def compute() -> list[dict[str, Any]]:
        since = utcnow() - timedelta(days=settings.map_resolved_days)
        async with ctx.sessions() as session:
            return await map_clusters(session, zoom=zoom, bbox=bbox, since=since,  # type: ignore[arg-type]
                                      decimals=settings.coordinate_decimals)
    clusters = await cached(request.app, f"map:{zoom}:{bbox}", compute)
    return web.json_response({"clusters": clusters}, dumps=_dumps,
                             headers={"Cache-Control": "max-age=30"})


async def photo(request: web.Request) -> web.StreamResponse:
    ctx = request.app[WEB_CONTEXT]
    settings = request.app[PORTAL_SETTINGS]
    code, sha = request.match_info["code"].upper(), request.match_info["sha"].lower()
    async with ctx.sessions() as session:
        att = await public_photo(session, code, sha)
    if att is None or not att.sha256:
        return not_found(request)
    try:
        # the original through the media store first (another replica may have stored it)
        if await ctx.media.local_path(att.sha256) is None:
            return not_found(request)
        path = await asyncio.get_running_loop().run_in_executor(
            None, public_copy, ctx.media_dir, att.sha256, settings.blur_photos)
    except (OSError, ValueError):
        return not_found(request)
    response = web.FileResponse(path, headers={"Content-Type": "image/jpeg",
                                               "Cache-Control": "public, max-age=300"})
    secure(request, response)
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/reports.atom", reports_atom),
            web.get("/api/public/reports.json", reports_json),
            web.get("/api/public/reports.csv", reports_csv),
            web.get("/api/public/map.json", map_json),
            web.get(r"/r/{code}/photos/{sha:[0-9a-fA-F]{64}}.jpg", photo)]
