"""The queue, ``/console/``: every role's first page.

The center (and hotline, viewer) see every report, triage first by default, newest first; an
agency officer sees only their agency's, by due date (overdue first) unless asked otherwise. A
report whose citizen wrote after the staff's last action carries "Có tin mới từ người dân". Filters are plain query parameters (the page works without
JavaScript; htmx swaps only the results when a filter changes).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.places import list_wards
from normalizer.schema import CATEGORIES, STATUSES
from store.models import Agency, Report, ReportEvent, utcnow
from store.report_list import (
    CODE_RE,
    SORTS,
    QueueFilter,
    QueueScope,
    clean_query,
    list_reports,
    report_channels,
)
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.render import render

# router.sla.is_overdue counts only reports an agency is working on.
OVERDUE_STATUSES = ("forwarded", "in_progress")
# Roles whose queue search finds reports by the citizen's phone number.
CONTACT_ROLES = ("center", "hotline", "agency")
MAX_QUERY = 200
NOT_STAFF = ("system", "citizen")  # event actors that are not the staff acting on a report
# Channels are a registry of adapters (a new one is one package): the filter offers the channels
# that reports actually came from, and accepts any well-formed name.
CHANNEL_NAME = re.compile(r"^[a-z0-9_]{1,16}$")


def _choice(value: str | None, allowed: object) -> str | None:
    return value if value and value in allowed else None  # type: ignore[operator]


def default_sort(role: str) -> str:
    """An agency works to deadlines: its queue opens with the overdue reports on top."""
    return "due" if role == "agency" else "new"


def parse_filter(query: dict[str, str] | web.BaseRequest, default: str = "new") -> QueueFilter:
    q = query.query if isinstance(query, web.BaseRequest) else query
    wards = set(list_wards())
    return QueueFilter(
        status=_choice(q.get("status"), STATUSES), category=_choice(q.get("category"), CATEGORIES),
        ward=_choice(q.get("ward"), wards),
        channel=q.get("channel") if CHANNEL_NAME.match(q.get("channel") or "") else None,
        overdue=q.get("overdue") in ("1", "on", "true"), q=clean_query(q.get("q"))[:MAX_QUERY] or None,
        sort=_choice(q.get("sort"), SORTS) or default)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or "1"), 100_000))
    except ValueError:
        return 1


def _query_string(flt: QueueFilter, default: str = "new", **changes: object) -> str:
    params = {"status": flt.status, "category": flt.category, "ward": flt.ward,
              "channel": flt.channel, "overdue": "1" if flt.overdue else None, "q": flt.q,
              "sort": flt.sort if flt.sort != default else None}
    params.update(changes)  # type: ignore[arg-type]
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def sla_state(due_at: datetime | None, status: str, now: datetime) -> tuple[str, str]:
    """(css class, text) for the SLA column: overdue, due within a day, or time left."""
    if due_at is None or status not in OVERDUE_STATUSES:
        return ("", "")
    hours = int((due_at - now).total_seconds() // 3600) if due_at >= now else \
        -int((now - due_at).total_seconds() // 3600)
    span = abs(hours)
    text = ((f"{span // 24} ngày" + (f" {span % 24} giờ" if span % 24 else "")) if span >= 24
            else f"{span} giờ" if span else "dưới 1 giờ")
    if due_at < now:
        return ("sla-late", f"Quá hạn {text}")
    return ("sla-soon" if span < 24 else "sla-ok", f"Còn {text}")


async def citizen_wrote_since(session: AsyncSession, reports: list[Report]) -> set[int]:
    """The reports whose citizen's last message (``last_message_at``) came after the staff's
    last event on them (an officer's or an agency's API call) or the forward, whichever is
    later: one grouped query over the page's reports. A report nobody acted on yet has no
    marker — all of it is new."""
    if not reports:
        return set()
    staff = dict((await session.execute(
        select(ReportEvent.report_id, func.max(ReportEvent.at))
        .where(ReportEvent.report_id.in_([r.id for r in reports]),
               ReportEvent.actor.not_in(NOT_STAFF))
        .group_by(ReportEvent.report_id))).all())
    seen = {r.id: max((t for t in (staff.get(r.id), r.forwarded_at) if t is not None), default=None)
            for r in reports}
    return {r.id for r in reports if seen[r.id] is not None and r.last_message_at > seen[r.id]}


async def queue_page(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    config = request.config_dict[CONFIG_KEY]
    sort = default_sort(user.role)
    flt = parse_filter(request, sort)
    page = _page_number(request.query.get("page"))
    scope = (QueueScope(agency_id=user.agency_id or "") if user.role == "agency"
             else QueueScope(triage_first=user.role == "center"))
    # Staff who see the citizen's contact data may find reports by phone (agencies in scope).
    scope = replace(scope, contacts=user.role in CONTACT_ROLES)
    now = utcnow()
    async with request.config_dict[SESSIONS_KEY]() as session:
        result = await list_reports(session, flt, scope, now=now, page=page,
                                    page_size=config.page_size, overdue_statuses=OVERDUE_STATUSES)
        if result.page > result.pages >= 1:  # past the end (an old link, a typed number): the last page
            result = await list_reports(session, flt, scope, now=now, page=result.pages,
                                        page_size=config.page_size, overdue_statuses=OVERDUE_STATUSES)
        agencies = {a: n for a, n in await session.execute(select(Agency.id, Agency.name))}
        news = await citizen_wrote_since(session, result.reports)
        channels = await report_channels(session)
    context = {
        "title": "Hàng đợi phản ánh", "flt": flt, "result": result, "now": now,
        "agencies": agencies, "wards": list_wards(), "statuses": STATUSES,
        "categories": CATEGORIES, "channels": sorted({*channels, *([flt.channel] if flt.channel else [])}), "sorts": SORTS,
        "sla": lambda r: sla_state(r.due_at, r.status, now),
        "query": lambda **changes: _query_string(flt, sort, **changes), "news": news,
        "scope_agency": agencies.get(user.agency_id or "", user.agency_id) if user.role == "agency" else None,
        "returned": (request.query.get("returned") or "").upper() if CODE_RE.match(
            request.query.get("returned") or "") else None,
    }
    template = ("console/_queue_results.html" if request.headers.get("HX-Target") == "queue-results"
                else "console/queue.html")
    return render(request, template, context)


def routes() -> list[web.RouteDef]:
    return [web.get("/", queue_page)]
