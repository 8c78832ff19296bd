"""Public views: no auth, no personal data (names, phones, emails are never included; phone
numbers and emails inside free text are masked)."""
from __future__ import annotations

import html

from aiohttp import web

from router.templates import STATUS_LABELS
from store.reports import full_report_dict, report_by_code
from web.context import WEB_CONTEXT


async def _public(request: web.Request) -> dict | None:
    ctx = request.app[WEB_CONTEXT]
    async with ctx.sessions() as session:
        report = await report_by_code(session, request.match_info["code"])
        if report is None:
            return None
        return await full_report_dict(session, report, ctx.public_base_url,
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
        f"<li>{esc(e['time'] or '')}: {esc(STATUS_LABELS.get(e['status'] or '', e['status'] or ''))}"
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


async def _stats(request: web.Request) -> dict:
    from datetime import datetime

    from router.stats import agency_stats
    from store.models import utcnow

    ctx = request.app[WEB_CONTEXT]
    since = None
    if request.query.get("since"):
        try:
            since = datetime.fromisoformat(request.query["since"])
        except ValueError:
            raise web.HTTPBadRequest(text="since must be an ISO date") from None
        if since.tzinfo is None:
            since = since.astimezone()
    agencies = [(a.id, a.name) for a in ctx.agencies]
    async with ctx.sessions() as session:
        data = await agency_stats(session, agencies, utcnow(), since)
    data["since"] = since.isoformat() if since else None
    return data


async def public_stats(request: web.Request) -> web.Response:
    return web.json_response(await _stats(request), headers={"Cache-Control": "max-age=60"})


async def stats_page(request: web.Request) -> web.Response:
    data = await _stats(request)
    esc = html.escape

    def cell(value: object, suffix: str = "") -> str:
        return "—" if value is None else f"{esc(str(value))}{suffix}"

    rows = "".join(
        f"<tr><td>{esc(a['name'])}</td><td>{a['received']}</td><td>{a['resolved']}</td>"
        f"<td>{a['on_time']}</td>"
        f"<td>{cell(round(a['on_time_rate'] * 100) if a['on_time_rate'] is not None else None, ' %')}</td>"
        f"<td>{cell(a['median_days_to_resolve'])}</td>"
        f"<td>{cell(a['satisfaction']['average'])} ({a['satisfaction']['ratings']})</td></tr>"
        for a in data["agencies"])
    total = data["total"]
    body = (
        "<!doctype html><html lang=vi><meta charset=utf-8>"
        "<title>Thống kê xử lý phản ánh</title><h1>Thống kê xử lý phản ánh</h1>"
        f"<p>Tổng số phản ánh: {total['reports']}; đã xử lý xong: {total['resolved']}; "
        f"đang phân loại tại Trung tâm: {total['in_triage']}; mức hài lòng chung: "
        f"{cell(total['satisfaction'])}/5 ({total['ratings']} đánh giá).</p>"
        "<table border=1 cellpadding=4><tr><th>Đơn vị</th><th>Tiếp nhận</th><th>Đã xử lý</th>"
        "<th>Đúng hạn</th><th>Tỷ lệ đúng hạn</th><th>Số ngày xử lý (trung vị)</th>"
        f"<th>Hài lòng (1–5)</th></tr>{rows}</table></html>")
    return web.Response(text=body, content_type="text/html")


def routes() -> list[web.RouteDef]:
    return [web.get("/r/{code}", status_page), web.get("/api/public/reports/{code}", public_report),
            web.get("/stats", stats_page), web.get("/api/public/stats", public_stats)]
