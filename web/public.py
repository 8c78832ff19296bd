"""Public views: no auth, no personal data (names, phones, emails are never included; phone
numbers and emails inside free text are masked)."""
from __future__ import annotations

import html

from aiohttp import web

from hub.keys import HUB_KEY
from router.templates import STATUS_LABELS
from store.reports import full_report_dict, report_by_code


async def _public(request: web.Request) -> dict | None:
    hub = request.app[HUB_KEY]
    async with hub.sessions() as session:
        report = await report_by_code(session, request.match_info["code"])
        if report is None:
            return None
        return await full_report_dict(session, report, hub.settings.server.public_base_url,
                                      public=True)


async def public_report(request: web.Request) -> web.Response:
    data = await _public(request)
    if data is None:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response(data)


async def status_page(request: web.Request) -> web.Response:
    data = await _public(request)
    if data is None:
        return web.Response(status=404, content_type="text/html",
                            text="<!doctype html><meta charset=utf-8><p>Không tìm thấy phản ánh.</p>")
    esc = html.escape
    rows = "".join(
        f"<li>{esc(e['at'] or '')}: {esc(STATUS_LABELS.get(e['status'] or '', e['status'] or ''))}"
        f"{' — ' + esc(e['note']) if e['note'] else ''}</li>" for e in data["events"])
    place = (data["location"] or {}).get("ward") or ""
    body = (
        "<!doctype html><html lang=vi><meta charset=utf-8>"
        f"<title>Phản ánh {esc(data['code'])}</title>"
        f"<h1>Phản ánh {esc(data['code'])}</h1>"
        f"<p>Trạng thái: <strong>{esc(STATUS_LABELS.get(data['status'], data['status']))}</strong></p>"
        f"<p>Lĩnh vực: {esc(data['category'] or '')}. Địa bàn: {esc(place)}</p>"
        f"<p>Đơn vị xử lý: {esc(data['agency'] or 'Trung tâm')}</p>"
        f"<p>{esc(data['description'])}</p><ol>{rows}</ol></html>")
    return web.Response(text=body, content_type="text/html")


def routes() -> list[web.RouteDef]:
    return [web.get("/r/{code}", status_page), web.get("/api/public/reports/{code}", public_report)]
