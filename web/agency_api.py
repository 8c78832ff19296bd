"""Agency API (DESIGN §3): ``Authorization: Bearer <token>`` from ``main.py agency-token``.

An agency sees and changes only the reports in its queue; another agency's report answers 404,
exactly like a code that does not exist, so codes cannot be probed. The ``center`` token sees
everything and alone may route, reject, mark duplicates, close and work the call-back list.
Every change is a report event with actor, time and note, written in the same transaction as
the citizen's notification (outbox).
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.jsonsafe import JSONRefused, loads_bounded
from normalizer.schema import CATEGORIES, OPEN_STATUSES, STATUSES
from router import lifecycle
from router.assign import RouteRefused, reroute
from router.notify import agency_name
from router.views import agency_report_dict
from store.account_tokens import principal_for_token
from store.callbacks import callbacks_in_transaction, list_callbacks, mark_callback_done
from store.models import Attachment, Report, utcnow
from store.params import MAX_OFFSET, path_id, query_int
from store.report_list import returned_by_agency
from store.serialize import iso
from web.context import WEB_CONTEXT

log = logging.getLogger("hub.api")

CENTER = "center"
AGENCY_DEFAULT_QUEUE = ("forwarded", "in_progress")
MAX_TEXT = 2000
PAGE_MAX = 200
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # no database stores these (PostgreSQL: no NUL)


def _error(http_status: int, message: str, /, **extra: Any) -> web.HTTPException:
    text = json.dumps({"error": message, **extra}, ensure_ascii=False)
    if http_status == 413:  # its constructor wants the sizes; the text is ours
        return web.HTTPRequestEntityTooLarge(extra.get("max_bytes", 0), text=text,
                                             content_type="application/json")
    cls = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
           404: web.HTTPNotFound, 409: web.HTTPConflict,
           422: web.HTTPUnprocessableEntity}[http_status]
    headers = {"WWW-Authenticate": 'Bearer realm="agency-api"'} if http_status == 401 else None
    return cls(text=text, content_type="application/json", headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Under ``/api/`` (JSON in, JSON out) aiohttp's own 404 and 405 answers ("404: Not Found",
    plain text) become JSON: ``{"error"}``, and for 405 the ``allowed`` methods with the
    ``Allow`` header kept. A handler's own error body (a report not found) is left as it is."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if not request.path.startswith("/api/") or exc.text not in (
                None, "", f"{exc.status}: {exc.reason}"):
            raise
        if isinstance(exc, web.HTTPMethodNotAllowed):
            return web.json_response(
                {"error": f"method {request.method} not allowed here",
                 "allowed": sorted(exc.allowed_methods)},
                status=405, headers={"Allow": exc.headers.get("Allow", "")})
        return web.json_response({"error": "no such endpoint"}, status=404)


ACTOR_KEY: web.RequestKey[str] = web.RequestKey("agency_api_actor")


async def caller(request: web.Request) -> str:
    """The agency id (or "center") the bearer token belongs to. The actor recorded on what the
    request changes is the officer (``user:<name>``) for an account token, else the agency."""
    ctx = request.app[WEB_CONTEXT]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _error(401, "missing bearer token")
    async with ctx.sessions() as session, session.begin():  # marks the token as used
        principal = await principal_for_token(session, token.strip())
    agency_id = principal.agency_id if principal is not None else None
    if agency_id is None or (agency_id != CENTER
                             and agency_id not in {a.id for a in ctx.agencies}):
        ctx.count_rejected("agency_api", "bad_token")
        raise _error(401, "invalid or revoked token")
    request[ACTOR_KEY] = principal.actor
    return agency_id


def actor_of(request: web.Request, who: str) -> str:
    return request.get(ACTOR_KEY, who)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        # Size is capped by the app's client_max_size; depth is checked before parsing.
        # A string that is not storable text (an unpaired surrogate, a NUL) is refused with the
        # field it is in, never stored or echoed (it made every write fail: a 500).
        data = loads_bounded(await request.read(), text="refuse")
    except web.HTTPRequestEntityTooLarge:  # aiohttp's own is plain text
        raise _error(413, f"body larger than {request.client_max_size} bytes",
                     max_bytes=request.client_max_size) from None
    except JSONRefused as exc:
        if exc.field is not None:
            raise _error(400, str(exc), field=exc.field) from None
        raise _error(400, "body must be JSON" if "not valid" in str(exc) else str(exc)) from None
    if not isinstance(data, dict):
        raise _error(400, "body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _error(400, f"{key} is required")
        return None
    if not isinstance(value, str):
        raise _error(400, f"{key} must be a string")
    if _NOT_TEXT.search(value):  # _body refuses these already; a guard for any other caller
        raise _error(400, f"{key} is not valid text: it holds a NUL character or an unpaired "
                     "surrogate (\\u0000, \\ud800-\\udfff)", field=key)
    if len(value) > MAX_TEXT:
        raise _error(400, f"{key} is longer than {MAX_TEXT} characters")
    return value.strip()


async def _own_report(session: AsyncSession, who: str, code: str, *, lock: bool = False) -> Report:
    query = select(Report).where(Report.code == code)
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    report = (await session.execute(query)).scalar_one_or_none()
    if report is None or (who != CENTER and report.agency_id != who):
        raise _error(404, "report not found")
    return report


def _summary(report: Report, now: Any) -> dict[str, Any]:
    return {
        "code": report.code, "channel": report.channel, "status": report.status,
        "category": report.category, "category_confidence": report.category_confidence,
        "description": report.description,
        "location": ({"lat": report.lat, "lon": report.lon, "address": report.address,
                      "ward": report.ward}
                     if report.lat is not None or report.address or report.ward else None),
        "agency": report.agency_id, "created_at": iso(report.created_at),
        "updated_at": iso(report.updated_at), "due_at": iso(report.due_at),
        "overdue": bool(report.due_at and report.status in ("forwarded", "in_progress")
                        and report.due_at < now),
    }


async def queue(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    raw = request.query.get("status", "")
    if raw == "all":
        statuses: tuple[str, ...] | None = None
    elif raw:
        statuses = tuple(s.strip() for s in raw.split(",") if s.strip())
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            raise _error(400, f"unknown status {unknown}", allowed=list(STATUSES))
    else:
        statuses = OPEN_STATUSES if who == CENTER else AGENCY_DEFAULT_QUEUE
    try:
        limit = query_int(request.query.get("limit"), 100, 1, PAGE_MAX)
        offset = query_int(request.query.get("offset"), 0, 0, MAX_OFFSET)
    except ValueError:
        raise _error(400, "limit and offset must be integers") from None
    now = utcnow()
    conds = [Report.code.is_not(None)]
    if who != CENTER:
        conds.append(Report.agency_id == who)
    elif request.query.get("agency"):
        agency = request.query["agency"]
        conds.append(Report.agency_id.is_(None) if agency == CENTER else Report.agency_id == agency)
    if statuses is not None:
        conds.append(Report.status.in_(statuses))
    if request.query.get("overdue") in ("1", "true"):
        conds += [Report.status.in_(("forwarded", "in_progress")), Report.due_at < now]
    async with ctx.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(Report).where(*conds))).scalar()
        rows = (await session.execute(select(Report).where(*conds)
                                      .order_by(Report.due_at.is_(None), Report.due_at, Report.id)
                                      .limit(limit).offset(offset))).scalars().all()
    return web.json_response({
        "agency": who, "count": total, "offset": offset,
        "next_offset": offset + len(rows) if offset + len(rows) < (total or 0) else None,
        "reports": [_summary(r, now) for r in rows]})


async def returned(request: web.Request) -> web.Response:
    """The reports the caller's agency returned to the center (``?agency=`` for the center),
    the latest return first: read only, without citizen data (store.report_list.ReturnedReport).
    They are no longer the agency's: ``/reports/{code}`` and its actions still answer 404."""
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    agency = request.query.get("agency", "") if who == CENTER else who
    if not agency:
        raise _error(400, "give the agency whose returned reports to list",
                     agencies=[a.id for a in ctx.agencies])
    if agency not in {a.id for a in ctx.agencies}:
        raise _error(404, "no such agency", agencies=[a.id for a in ctx.agencies])
    try:
        limit = query_int(request.query.get("limit"), 100, 1, PAGE_MAX)
        offset = query_int(request.query.get("offset"), 0, 0, MAX_OFFSET)
    except ValueError:
        raise _error(400, "limit and offset must be integers") from None
    async with ctx.sessions() as session:
        items, total = await returned_by_agency(session, agency, limit=limit, offset=offset)
    return web.json_response({
        "agency": agency, "count": total, "offset": offset,
        "next_offset": offset + len(items) if offset + len(items) < total else None,
        "reports": [{"code": r.code, "category": r.category, "ward": r.ward,
                     "created_at": iso(r.created_at), "returned_at": iso(r.returned_at),
                     "reason": r.reason, "returned_by": r.returned_by, "status": r.status,
                     "agency": r.agency_id, "rerouted_at": iso(r.rerouted_at),
                     "duplicate_of": r.duplicate_of} for r in items]})


async def get_report(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    async with ctx.sessions() as session:
        report = await _own_report(session, who, request.match_info["code"])
        data = await agency_report_dict(session, report, ctx.public_base_url)
    data["allowed_statuses"] = lifecycle.allowed_for(report.status, center=who == CENTER)
    return web.json_response(data)


async def get_attachment(request: web.Request) -> web.StreamResponse:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    sha = request.match_info["sha256"].lower()
    async with ctx.sessions() as session:
        report = await _own_report(session, who, request.match_info["code"])
        att = (await session.execute(select(Attachment).where(
            Attachment.report_id == report.id, Attachment.sha256 == sha).limit(1))).scalar()
    if att is None:
        raise _error(404, "attachment not found")
    path = await ctx.media.local_path(sha)
    if path is None:
        raise _error(404, "attachment not stored")
    return web.FileResponse(path, headers={
        "Content-Type": att.content_type or "application/octet-stream",
        "X-Content-Type-Options": "nosniff", "Content-Disposition": "attachment"})


def _refusal_detail(exc: lifecycle.StatusRefused) -> dict[str, Any]:
    """What the refusal's body adds: ``allowed`` (the statuses this caller may set) when the
    status itself is the problem; else ``field``, what the request must give or correct (the
    note a result or reason needs, or ``duplicate_of``). Never ``"allowed": null``."""
    if exc.allowed is not None:
        return {"allowed": exc.allowed}
    if exc.reason and exc.reason.startswith("duplicate_of"):
        return {"field": "duplicate_of"}
    return {"field": "note"}  # the one refusal without a list or a reason: a missing note


async def set_status(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    data = await _body(request)
    status = _text(data, "status", required=True)
    note = _text(data, "note")
    duplicate_of = _text(data, "duplicate_of")
    if status not in STATUSES:
        raise _error(400, f"unknown status {status!r}", allowed=list(STATUSES))
    async with ctx.sessions() as session, session.begin():
        report = await _own_report(session, who, request.match_info["code"], lock=True)
        try:
            old = await lifecycle.change_status(ctx, session, report, status, actor=actor_of(request, who),
                                                center=who == CENTER, note=note,
                                                duplicate_of=duplicate_of)
        except lifecycle.IllegalTransition as exc:
            raise _error(409, f"cannot change status from {exc.current} to {exc.wanted}",
                         status=exc.current, allowed=exc.allowed) from None
        except lifecycle.StatusRefused as exc:
            raise _error(exc.status, str(exc), status=report.status,
                         **_refusal_detail(exc)) from None
        result = {"code": report.code, "status": report.status, "previous": old,
                  "agency": report.agency_id, "duplicate_of": report.duplicate_of,
                  "allowed": lifecycle.allowed_for(report.status, center=who == CENTER)}
    log.info("report %s: %s → %s by %s", result["code"], old, status, who)
    return web.json_response(result)


async def reply(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    text = _text(await _body(request), "text", required=True)
    async with ctx.sessions() as session, session.begin():
        report = await _own_report(session, who, request.match_info["code"])
        lifecycle.record(session, report, actor=actor_of(request, who), kind="reply", note=text, public=False)
        name = await agency_name(session, None if who == CENTER else who)
        row = await lifecycle.notify_citizen(session, ctx, report, "agency_reply",
                                                 note=text, agency=name)
        await session.flush()
        # No channel reaches the citizen (a hotline caller without SMS): the message went onto
        # the operators' call-back list, which is queued too — say so, and which entry.
        called = callbacks_in_transaction(session) if row is None else []
        result = {"code": report.code, "queued": row is not None or bool(called),
                  "channel": row.channel if row is not None else "callback" if called else None,
                  "outbox_id": row.id if row is not None else None,
                  "callback_id": called[-1].id if called else None}
    return web.json_response(result, status=202)


async def add_note(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    text = _text(await _body(request), "note", required=True)
    async with ctx.sessions() as session, session.begin():
        report = await _own_report(session, who, request.match_info["code"])
        # Internal: the report's public update time (Open311 updated_datetime, the portal) is not
        # moved by what the public does not see.
        lifecycle.record(session, report, actor=actor_of(request, who), kind="note", note=text, public=False)
        code = report.code
    return web.json_response({"code": code, "noted": True}, status=201)


async def route(request: web.Request) -> web.Response:
    ctx = request.app[WEB_CONTEXT]
    who = await caller(request)
    if who != CENTER:
        raise _error(403, "only the center can route reports")
    data = await _body(request)
    agency = _text(data, "agency")
    category = _text(data, "category")
    if agency is None and category is None:
        raise _error(400, "give agency, category or both",
                     agencies=[a.id for a in ctx.agencies], categories=list(CATEGORIES))
    async with ctx.sessions() as session, session.begin():
        report = await _own_report(session, who, request.match_info["code"], lock=True)
        try:
            chosen = await reroute(ctx, session, report, agency_id=agency, category=category,
                                   actor=actor_of(request, who))
        except RouteRefused as exc:
            allowed = {} if exc.allowed is None else {"allowed": exc.allowed}
            raise _error(exc.status, str(exc), status=report.status, **allowed) from None
        result = {"code": report.code, "status": report.status, "agency": chosen,
                  "category": report.category, "due_at": iso(report.due_at)}
    return web.json_response(result)


async def callbacks(request: web.Request) -> web.Response:
    """The operators' call-back list (citizens reachable only by phone). Center only."""
    ctx = request.app[WEB_CONTEXT]
    if await caller(request) != CENTER:
        raise _error(403, "only the center works the call-back list")
    state = request.query.get("state", "open")
    try:
        limit = query_int(request.query.get("limit"), 100, 1, PAGE_MAX)
        offset = query_int(request.query.get("offset"), 0, 0, MAX_OFFSET)
        async with ctx.sessions() as session:
            entries = await list_callbacks(session, state=state, limit=limit, offset=offset)
    except ValueError as exc:
        raise _error(400, str(exc) if "state" in str(exc) else "limit and offset must be integers") from None
    return web.json_response({"callbacks": entries})


async def callback_done(request: web.Request) -> web.Response:
    """Mark a call-back done (idempotent: a second call keeps the first time and outcome)."""
    ctx = request.app[WEB_CONTEXT]
    if await caller(request) != CENTER:
        raise _error(403, "only the center works the call-back list")
    callback_id = path_id(request.match_info["id"])
    if callback_id is None:
        raise _error(404, "call-back not found")
    data = await _body(request) if request.can_read_body else {}
    async with ctx.sessions() as session, session.begin():
        entry = await mark_callback_done(session, callback_id, done_by=actor_of(request, CENTER),
                                         outcome=_text(data, "outcome"))
    if entry is None:
        raise _error(404, "call-back not found")
    return web.json_response(entry)


def routes() -> list[web.RouteDef]:
    base = "/api/v1"
    return [
        web.get(f"{base}/queue", queue),
        web.get(f"{base}/returned", returned),
        web.get(f"{base}/reports/{{code}}", get_report),
        web.get(f"{base}/reports/{{code}}/attachments/{{sha256}}", get_attachment),
        web.post(f"{base}/reports/{{code}}/status", set_status),
        web.post(f"{base}/reports/{{code}}/reply", reply),
        web.post(f"{base}/reports/{{code}}/note", add_note),
        web.post(f"{base}/reports/{{code}}/route", route),
        web.get(f"{base}/callbacks", callbacks),
        web.post(f"{base}/callbacks/{{id}}/done", callback_done),
    ]

