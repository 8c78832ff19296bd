"""The call-back list, ``/console/callbacks``: citizens to phone because no message reaches them.
Hotline operators and the center mark an entry done with what the citizen was told; the note goes
into the report's history with the operator as actor. For a resolved or closed report the
operator also records the 1–5 rating the script asks the caller for (stored as the citizen's
rating, "qua đường dây nóng"). An agency officer sees the entries of its own reports; a viewer
reads."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from store.callbacks import list_callbacks, mark_callback_done_once
from store.models import Report
from web.console.auth import require_role
from web.console.keys import SESSIONS_KEY, USER_KEY
from web.console.queue import CONTACT_ROLES
from web.console.render import failure_reason, officer_names, render, see_other

STATES = {"open": "Chưa gọi", "done": "Đã gọi", "all": "Tất cả"}
RATED = ("resolved", "closed")  # reports whose result the caller is asked to rate
PAGE = 100


async def callbacks_page(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    state = request.query.get("state", "open")
    state = state if state in STATES else "open"
    async with request.config_dict[SESSIONS_KEY]() as session:
        entries = await list_callbacks(session, state=state, limit=PAGE,
                                       agency_id=(user.agency_id or "-") if user.role == "agency" else None)
        codes = {e["report_code"] for e in entries if e["report_code"]}
        statuses = dict((await session.execute(
            select(Report.code, Report.status).where(Report.code.in_(codes)))).all()) if codes else {}
        names = await officer_names(session, [e["done_by"] for e in entries])
    return render(request, "console/callbacks.html", {
        "title": "Danh sách gọi lại", "entries": entries, "state": state, "states": STATES,
        "can_work": user.role in ("center", "hotline"),
        # the citizen's number only for the roles that see contact data (not the viewer)
        "sees_contact": user.role in CONTACT_ROLES,
        "asks_rating": {c for c, st in statuses.items() if st in RATED},
        "reason": failure_reason, "officer": lambda actor: names.get(actor, actor)})


@require_role("center", "hotline")
async def callback_done(request: web.Request) -> web.StreamResponse:
    try:
        callback_id = int(request.match_info["callback_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    from router.rating import store_rating

    form = await request.post()
    outcome = form.get("outcome")
    rating = form.get("rating")
    score = int(rating) if isinstance(rating, str) and rating in ("1", "2", "3", "4", "5") else None
    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        entry, marked = await mark_callback_done_once(
            session, callback_id, done_by=request[USER_KEY].actor,
            outcome=outcome if isinstance(outcome, str) else None)
        # only with the call that marked it done: a double click or a second operator's post
        # records nothing twice
        if marked and entry is not None and score is not None and entry["report_code"]:
            report = (await session.execute(
                select(Report).where(Report.code == entry["report_code"]))).scalar_one_or_none()
            if report is not None and report.status in RATED:  # what the caller said on the phone
                store_rating(session, report, score, report.rating_comment, via="đường dây nóng")
    if entry is None:
        raise web.HTTPNotFound()
    return see_other("/console/callbacks")


def routes() -> list[web.RouteDef]:
    return [web.get("/callbacks", callbacks_page),
            web.post("/callbacks/{callback_id}/done", callback_done)]
