"""The call-back list, ``/console/callbacks``: citizens to phone because no message reaches them.
Hotline operators and the center mark an entry done with what the citizen was told; the note goes
into the report's history with the operator as actor. An agency officer sees the entries of its
own reports; a viewer reads."""
from __future__ import annotations

from aiohttp import web

from store.callbacks import list_callbacks, mark_callback_done
from web.console.auth import require_role
from web.console.keys import SESSIONS_KEY, USER_KEY
from web.console.render import render, see_other

STATES = {"open": "Chưa gọi", "done": "Đã gọi", "all": "Tất cả"}
PAGE = 100


async def callbacks_page(request: web.Request) -> web.Response:
    user = request[USER_KEY]
    state = request.query.get("state", "open")
    state = state if state in STATES else "open"
    async with request.config_dict[SESSIONS_KEY]() as session:
        entries = await list_callbacks(session, state=state, limit=PAGE,
                                       agency_id=(user.agency_id or "-") if user.role == "agency" else None)
    return render(request, "console/callbacks.html", {
        "title": "Danh sách gọi lại", "entries": entries, "state": state, "states": STATES,
        "can_work": user.role in ("center", "hotline")})


@require_role("center", "hotline")
async def callback_done(request: web.Request) -> web.StreamResponse:
    try:
        callback_id = int(request.match_info["callback_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    form = await request.post()
    outcome = form.get("outcome")
    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        entry = await mark_callback_done(session, callback_id, done_by=request[USER_KEY].actor,
                                         outcome=outcome if isinstance(outcome, str) else None)
    if entry is None:
        raise web.HTTPNotFound()
    return see_other("/console/callbacks")


def routes() -> list[web.RouteDef]:
    return [web.get("/callbacks", callbacks_page),
            web.post("/callbacks/{callback_id}/done", callback_done)]
