"""The portal's pages: home, the report list, a report, agencies and an agency."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from normalizer.places import canonical_ward, list_wards
from normalizer.schema import CATEGORIES
from router.views import PUBLIC_NOTE_LABELS, due_state, public_result, public_timeline
from store.models import utcnow
from store.public_reports import (
    STATUS_GROUPS,
    PublicFilter,
    count_public,
    list_public,
    pending_report,
    pending_statuses,
    photo_url,
    public_report,
)
from store.public_stats import monthly_trend, week_counts
from store.report_list import clean_query
from store.serialize import public_text_for
from web.context import WEB_CONTEXT
from web.portal.cards import MaskCache, card
from web.portal.charts import rate_bar, trend_svg
from web.portal.keys import PORTAL_CACHE, PORTAL_SETTINGS
from web.portal.render import TZ, render

log = logging.getLogger("web.portal")
PAGE_SIZE = 20
SEARCH_COUNT_CAP = 1000  # a full-text search says "more than 1.000" past this
MAX_PAGE = 5000
FILTER_STATUSES = (*STATUS_GROUPS, "forwarded", "in_progress", "resolved", "closed", "rejected",
                   "returned", "triage", "duplicate")


class BadFilter(ValueError):
    """A filter value we do not know; the message is Vietnamese."""


def agency_names(request: web.Request) -> dict[str, str]:
    return {a.id: a.name for a in request.app[WEB_CONTEXT].agencies}


def masks(request: web.Request) -> MaskCache:
    cache = request.app[PORTAL_CACHE]
    if "masks" not in cache:
        cache["masks"] = MaskCache()
    return cache["masks"]


async def cached(app: web.Application, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
    """A value computed at most every ``stats_cache_seconds`` per app. When it is stale the old
    value is answered while one background task recomputes it, so no reader waits for the
    aggregation after the first (the portal warms the statistics at start)."""
    ttl = app[PORTAL_SETTINGS].stats_cache_seconds
    cache = app[PORTAL_CACHE]
    if ttl <= 0:
        return await compute()
    if len(cache) > 5000:  # many map views or filter combinations: start afresh
        cache.clear()
    hit = cache.get(key)
    now = time.monotonic()
    if hit is None:
        value = await compute()
        cache[key] = (now + ttl, value)
        return value
    expires, value = hit
    tasks: dict[str, asyncio.Task[Any]] = cache.setdefault("_refreshing", {})
    if expires <= now and key not in tasks:
        async def refresh() -> None:
            try:
                cache[key] = (time.monotonic() + ttl, await compute())
            except Exception:
                log.exception("refreshing %s failed; the old value stays", key)
            finally:
                tasks.pop(key, None)
        tasks[key] = asyncio.get_running_loop().create_task(refresh())
    return value


def parse_filter(request: web.Request) -> tuple[PublicFilter, int]:
    q = request.query
    category = q.get("category", "").strip() or None
    if category and category not in CATEGORIES:
        raise BadFilter(f"Không có lĩnh vực “{category}”.")
    status = q.get("status", "").strip() or None
    if status and status not in FILTER_STATUSES:
        raise BadFilter(f"Không có trạng thái “{status}”.")
    agency = q.get("agency", "").strip() or None
    if agency and agency not in agency_names(request):
        raise BadFilter(f"Không có đơn vị “{agency}”.")
    given_ward = q.get("ward", "").strip()[:100]
    ward = canonical_ward(given_ward) if given_ward else None
    if given_ward and not ward:
        raise BadFilter(f"Không có phường/xã “{given_ward}” ở Huế.")
    # control characters are spaces (PostgreSQL refuses a NUL in a bound text: a 500)
    text = clean_query(q.get("q", ""))[:200].strip() or None
    try:
        page = int(q.get("page", "1") or "1")
    except ValueError:
        raise BadFilter("Số trang phải là một số.") from None
    if not 1 <= page <= MAX_PAGE:
        raise BadFilter(f"Số trang phải từ 1 đến {MAX_PAGE}.")
    return PublicFilter(category=category, ward=ward, status=status, agency=agency, q=text), page


def error_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    return render(request, "portal/error.html", {"title": title, "message": message}, status=status,
                  base_url=ctx.public_base_url)


def not_found(request: web.Request) -> web.Response:
    return error_page(request, 404, "Không tìm thấy",
                      "Không tìm thấy phản ánh hoặc trang bạn cần. Vui lòng kiểm tra lại mã phản ánh.")


async def home(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    names = agency_names(request)
    settings = request.app[PORTAL_SETTINGS]
    now = utcnow()
    local = now.astimezone(TZ)
    week_start = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    async with ctx.sessions() as session:
        recent = await list_public(session, PublicFilter(), page=1, page_size=8, with_total=False)

    async def counts() -> dict[str, int]:
        async with ctx.sessions() as session:
            return await week_counts(session, week_start)
    week = await cached(request.app, f"week:{week_start.date()}", counts)
    cards = [card(r, recent.names.get(r.id), names, base_url=ctx.public_base_url,
                  decimals=settings.coordinate_decimals, now=now, masks=masks(request))
             for r in recent.reports]
    return render(request, "portal/home.html", {
        "recent": cards, "week": week, "week_start": week_start, "agencies": names,
        "categories": CATEGORIES}, base_url=ctx.public_base_url)


async def report_list(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    try:
        flt, page = parse_filter(request)
    except BadFilter as exc:
        return error_page(request, 400, "Bộ lọc không hợp lệ", str(exc))
    names = agency_names(request)
    settings = request.app[PORTAL_SETTINGS]
    now = utcnow()
    wanted = report_code_of(flt.q or "")
    if wanted:
        # A code (however typed): its page, whatever its status, when the report exists and
        # is not hidden; else "not found", the same for both (no leak of hidden reports).
        async with ctx.sessions() as session:
            if await pending_statuses(session, [wanted]):
                return web.Response(status=303, headers={"Location": f"/r/{wanted}"})
        return render(request, "portal/reports.html", {
            "reports": [], "total": 0, "more": False, "page": 1, "pages": 0, "filters": flt.active(),
            "f": flt, "agencies": names, "wards": list_wards(), "categories": CATEGORIES,
            "query_without_page": flt.active(), "code_missing": wanted}, status=404,
            base_url=ctx.public_base_url)
    async with ctx.sessions() as session:
        result = await list_public(session, flt, page=page, page_size=PAGE_SIZE, with_total=False)

    async def count() -> int:
        async with ctx.sessions() as session:
            return await count_public(session, flt, cap=SEARCH_COUNT_CAP if flt.q else None)
    # Counts change slowly and cost a range scan: cached per filter like the statistics.
    result.total = await cached(request.app, "count:" + repr(sorted(flt.active().items())), count)
    cards = [card(r, result.names.get(r.id), names, base_url=ctx.public_base_url,
                  decimals=settings.coordinate_decimals, now=now, masks=masks(request))
             for r in result.reports]
    active = flt.active()
    return render(request, "portal/reports.html", {
        "reports": cards, "total": min(result.total, SEARCH_COUNT_CAP) if flt.q else result.total,
        "more": bool(flt.q) and result.total > SEARCH_COUNT_CAP, "page": page, "pages": result.pages,
        "filters": active, "f": flt, "agencies": names, "wards": list_wards(), "categories": CATEGORIES,
        "query_without_page": active, "code_missing": None}, base_url=ctx.public_base_url)


_CODE = re.compile(r"#?\s*(?:P\s*A[\s._/-]*(20\d\d)[\s._/-]*|(20\d\d)[\s._/-]+)(\d{1,12})",
                   re.IGNORECASE)


def report_code_of(query: str) -> str | None:
    """The report code a search query is, typed any usual way ("PA-2026-000013", "PA 2026
    000013", "pa-2026-13", "2026-000013"), as the hub writes it (store: PA-{year}-{id:06d})."""
    match = _CODE.fullmatch(query.strip())
    if match is None:
        return None
    year = match.group(1) or match.group(2)
    number = int(match.group(3))
    return f"PA-{year}-{number:06d}" if number else None


async def report_page(request: web.Request, rate_error: str | None = None, status: int = 200,
                      token: str | None = None) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    settings = request.app[PORTAL_SETTINGS]
    code = request.match_info["code"].strip().upper()
    async with ctx.sessions() as session:
        found = await public_report(session, code)
        pending = None if found is not None else await pending_report(session, code)
        # a merged report points the citizen at the one being handled, when that one is public
        original = (found.report.duplicate_of if found is not None and found.report.status == "duplicate"
                    and found.report.duplicate_of and await public_report(session, found.report.duplicate_of)
                    else None)
    if found is None:
        if pending is None:
            return not_found(request)
        return render(request, "portal/pending.html", {
            "code": code, "status": pending.status, "hidden": pending.hidden,
            "withdrawn": pending.withdrawn,
            "duplicate_of": pending.duplicate_of,
            "note": public_text_for(pending.note, pending.contact_name) if pending.note else None,
            "note_label": PUBLIC_NOTE_LABELS.get(pending.note_kind or "", "Ghi chú"),
            "rate_error": rate_error, "rated": request.query.get("rated") == "1",
            **await _rating_form(request, code, token)}, base_url=ctx.public_base_url, status=status)
    names = agency_names(request)
    report = found.report
    now = utcnow()

    def mask(text: str | None) -> str:
        return public_text_for(text, found.contact_name)

    item = card(report, found.contact_name, names, base_url=ctx.public_base_url,
                decimals=settings.coordinate_decimals, now=now, masks=masks(request))
    rating_comment = mask(report.rating_comment) if report.rating_comment else None
    return render(request, "portal/report.html", {
        **await _rating_form(request, report.code or "", token),
        "rated": request.query.get("rated") == "1", "rate_error": rate_error,
        "canonical": f"{ctx.public_base_url.rstrip('/')}/r/{report.code}",
        "r": item, "original": original, "timeline": public_timeline(report, found.events, names, mask, found.staff),
        "result": public_result(found.events, mask), "due": due_state(report, now),
        "photos": [p.sha256 for p in found.photos], "rating_comment": rating_comment,
        "og_image": (photo_url(ctx.public_base_url, report.code, found.photos[0].sha256)
                     if found.photos else None)}, base_url=ctx.public_base_url, status=status)


async def _rating_form(request: web.Request, code: str, token: str | None) -> dict[str, Any]:
    """The one-time rating link's state: its token when it still rates this report."""
    rate_token = (token if token is not None else request.query.get("rate", "")).strip()[:64]
    can_rate = False
    if rate_token:
        from router.rating import rating_token_report

        async with request.app[WEB_CONTEXT].sessions() as session:
            can_rate = await rating_token_report(session, code, rate_token) is not None
    return {"rate_token": rate_token if can_rate else None,
            "rate_link_dead": bool(rate_token) and not can_rate, "noindex": bool(rate_token)}


async def rate(request: web.Request) -> web.Response:
    """The one-time rating link's form (router.rating.rate_with_token): SMS, hotline and web
    citizens rate without an account."""
    from router.rating import RatingRefused, rate_posted

    ctx = request.app[WEB_CONTEXT]
    code = request.match_info["code"].strip().upper()
    form = await request.post()
    token = str(form.get("token", ""))[:64]
    try:
        await rate_posted(ctx, code, form)
    except RatingRefused as exc:
        # a score not chosen: the form again, with the message; otherwise the page and the reason
        return await report_page(request, rate_error=str(exc), status=exc.status,
                                 token=token if exc.status == 400 else "")
    request.app[PORTAL_CACHE].pop("agency_stats", None)
    return web.Response(status=303, headers={"Location": f"/r/{code}?rated=1"})


async def agency_stats_cached(app: web.Application) -> dict[str, Any]:
    from router.stats import agency_stats

    ctx = app[WEB_CONTEXT]

    async def compute() -> dict[str, Any]:
        async with ctx.sessions() as session:
            return await agency_stats(session, [(a.id, a.name) for a in ctx.agencies], utcnow())
    return await cached(app, "agency_stats", compute)


async def agencies(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    data = await agency_stats_cached(request.app)
    rows = []
    for stats in data["agencies"]:
        a = dict(stats)  # the cached figures stay as computed
        a["on_time_bar"] = rate_bar(a["on_time_rate"], f"Tỷ lệ đúng hạn của {a['name']}")
        avg = a["satisfaction"]["average"]
        a["rating_bar"] = rate_bar(avg / 5 if avg is not None else None, f"Mức hài lòng của {a['name']}")
        rows.append(a)
    return render(request, "portal/agencies.html", {"data": {**data, "agencies": rows}},
                  base_url=ctx.public_base_url)


async def agency_page(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    agency_id = request.match_info["id"]
    names = agency_names(request)
    if agency_id not in names:
        return error_page(request, 404, "Không tìm thấy đơn vị", "Không có đơn vị xử lý này.")
    data = await agency_stats_cached(request.app)
    [stats] = [a for a in data["agencies"] if a["agency"] == agency_id]
    now = utcnow()

    async def trend() -> list[dict[str, Any]]:
        async with ctx.sessions() as session:
            return await monthly_trend(session, agency_id, 12, now)
    months = await cached(request.app, f"trend:{agency_id}", trend)
    settings = request.app[PORTAL_SETTINGS]
    async with ctx.sessions() as session:
        recent = await list_public(session, PublicFilter(agency=agency_id), page=1, page_size=10,
                                   with_total=False)
    cards = [card(r, recent.names.get(r.id), names, base_url=ctx.public_base_url,
                  decimals=settings.coordinate_decimals, now=now, masks=masks(request))
             for r in recent.reports]
    chart = trend_svg(months, f"Phản ánh tiếp nhận và xử lý xong theo tháng — {names[agency_id]}")
    return render(request, "portal/agency.html", {
        "a": stats, "months": months, "chart": chart, "recent": cards},
        base_url=ctx.public_base_url)


def routes() -> list[web.RouteDef]:
    return [web.get("/", home), web.get("/reports", report_list), web.get("/r/{code}", report_page),
            web.post("/r/{code}/rate", rate),
            web.get("/agencies", agencies), web.get("/agencies/{id}", agency_page)]

