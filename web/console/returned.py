"""``/console/returned``: the reports an agency officer's agency returned to the center.

A returned report leaves the agency's queue and scope (its page, photos, reply and status forms
answer 404 as before); this read-only list keeps the record of what was handed back and what
became of it: code, category, ward, when and why it was returned and by whom, and where it is
now ("Đã chuyển cho <đơn vị>", "Chờ Trung tâm phân loại"…). No citizen data: not the
description, address or contact the officer saw while the agency held it, since the report may
since have changed (the citizen added to it, the center edited it) and is no longer theirs.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from router.templates import STATUS_LABELS
from store.models import Agency
from store.report_list import ReturnedReport, count_returned, returned_by_agency
from web.console.auth import require_role
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.render import officer_names, render

WITH_CENTER = ("received", "triage", "returned")


def current_state(item: ReturnedReport, own_agency: str, agencies: dict[str, str]) -> str:
    """Where the report is now, as the agency that returned it reads it."""
    if item.status == "duplicate":
        return f"Đã gộp vào {item.duplicate_of}" if item.duplicate_of else "Trùng phản ánh khác"
    if item.status == "rejected":
        return "Trung tâm không tiếp nhận"
    if item.agency_id == own_agency:
        return f"Đã giao lại cho đơn vị bạn · {STATUS_LABELS.get(item.status, item.status)}"
    if item.agency_id:
        name = agencies.get(item.agency_id, item.agency_id)
        if item.status == "forwarded":
            return f"Đã chuyển cho {name}"
        return f"Đã chuyển cho {name} · {STATUS_LABELS.get(item.status, item.status)}"
    if item.status in WITH_CENTER:
        return "Chờ Trung tâm phân loại"
    return STATUS_LABELS.get(item.status, item.status)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or "1"), 100_000))
    except ValueError:
        return 1


@require_role("agency")
async def returned_page(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    own = user.agency_id or "-"
    size = request.config_dict[CONFIG_KEY].page_size
    page = _page_number(request.query.get("page"))
    async with request.config_dict[SESSIONS_KEY]() as session:
        total = await count_returned(session, own)
        pages = max(1, -(-total // size))
        page = min(page, pages)  # past the end: the last page
        items, _ = await returned_by_agency(session, own, limit=size, offset=(page - 1) * size, total=total)
        agencies = {a: n for a, n in await session.execute(select(Agency.id, Agency.name))}
        names = await officer_names(session, [i.returned_by for i in items])
    return render(request, "console/returned.html", {
        "title": "Phản ánh đã trả lại", "items": items, "total": total, "page": page, "pages": pages,
        "own_agency": own, "scope_agency": agencies.get(own, own),
        "state": lambda item: current_state(item, own, agencies),
        "who": lambda actor: names.get(actor) or agencies.get(actor) or ("Trung tâm" if actor else "—")})


def routes() -> list[web.RouteDef]:
    return [web.get("/returned", returned_page)]
