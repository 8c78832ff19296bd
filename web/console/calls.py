"""The hotline call form, ``/console/calls/new``: an operator on the phone types the call; the
ward the address names and the classifier's category show as they type (htmx partials, plain
form without JavaScript). Submitting stores the call through the hotline channel's durable
intake (the hub's ``log_call``: the same inbox row format as the call-center imports), waits a
few seconds for the inbox worker to make the report, and shows its code to read back to the
caller; if the worker is slower, the page says so and refreshes itself until the code exists.

The form carries a random call token (hidden field): the call's id is ``console-<token>``, so a
double submit or a retry after a timeout stores the call once (the intake deduplicates on
channel and external id). A caller number that cannot exist does not lose the call: it is kept
without a reply address and flagged for the operator (``channels.hotline.records``).
"""
from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

from aiohttp import web

from normalizer.analyze import analyze
from normalizer.phones import normalize_phone
from normalizer.places import list_wards
from normalizer.text import fold
from store.report_detail import code_for_inbox
from web.console.auth import require_role
from web.console.keys import SESSIONS_KEY, USER_KEY
from web.console.render import CATEGORY_LABELS, render, see_other
from web.context import WEB_CONTEXT

TOKEN = re.compile(r"^[0-9a-f]{32}$")
LIMITS = {"phone": 40, "name": 200, "address": 500, "text": 5000}
WAIT_SECONDS = 5.0
MAX_SUGGESTIONS = 6


def external_id(token: str) -> str:
    return f"call:console-{token}"


def _values(form: Any) -> dict[str, str]:
    values = {}
    for key in ("phone", "name", "text", "address"):
        raw = form.get(key)
        values[key] = raw.replace("\x00", "").strip() if isinstance(raw, str) else ""
    return values


def _problems(values: dict[str, str]) -> dict[str, str]:
    problems = {}
    if not values["text"]:
        problems["text"] = "Hãy ghi nội dung phản ánh."
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            problems[key] = f"Dài quá {limit} ký tự."
    return problems


def _form_page(request: web.Request, values: dict[str, str] | None = None,
               problems: dict[str, str] | None = None, error: str | None = None,
               status: int = 200, token: str | None = None) -> web.Response:
    values = values or {"phone": "", "name": "", "text": "", "address": ""}
    return render(request, "console/call_new.html", {
        "title": "Ghi nhận cuộc gọi", "v": values, "problems": problems or {}, "error": error,
        "call_token": token or secrets.token_hex(16),
        "suggest": suggestions(values["text"], values["address"], values["phone"])}, status=status)


@require_role("hotline", "center")
async def new_call(request: web.Request) -> web.Response:
    return _form_page(request)


# Words that say "the ward's name follows" in an address ("p. Tây Lộc", "phường Thuận Hóa").
WARD_MARKERS = frozenset({"p", "phuong", "x", "xa", "tt", "thi", "tran"})


def _name_words(name: str) -> list[str]:
    return fold(name).replace(",", " ").replace(".", " ").split()


def _matches(tail: list[str], name: list[str]) -> bool:
    """``tail`` is in the name's words: every word whole, the last one (still being typed) at
    least a word's beginning ("thuan h" in "phuong thuan hoa"; "hau" not in "hoa chau")."""
    for i in range(len(name) - len(tail) + 1):
        if name[i:i + len(tail) - 1] == tail[:-1] and name[i + len(tail) - 1].startswith(tail[-1]):
            return True
    return False


def _ward_matches(typed: str) -> list[str]:
    """Wards whose name has the last words typed in the address, as whole words (the last may
    be the beginning of one): "thuan h" finds "Phường Thuận Hóa". After a ward marker
    ("p. Tây Lộc") the whole name typed must match, not just its last word."""
    segment = fold(typed).rsplit(",", 1)[-1].replace(".", " ").split()
    marked = max((i for i, w in enumerate(segment) if w in WARD_MARKERS), default=-1)
    words = segment[marked + 1:]
    if not words:
        return []
    wards = [(w, _name_words(w)) for w in list_wards()]
    tails = [words] if marked >= 0 else [words[-n:] for n in (3, 2, 1) if len(words) >= n]
    for tail in tails:
        if len(" ".join(tail)) < 2:
            continue
        found = [w for w, name in wards if _matches(tail, name)]
        if found:
            return found[:MAX_SUGGESTIONS]
    return []


def suggestions(text: str, address: str, phone: str = "") -> dict[str, Any]:
    """What the classifier and the gazetteer make of the call so far, and whether the number
    typed can be a Vietnamese phone number."""
    out: dict[str, Any] = {"ward": None, "wards": [], "category": None, "confidence": None,
                           "phone_bad": bool(phone) and normalize_phone(phone[:LIMITS["phone"]]) is None}
    if not text.strip() and not address.strip():
        return out
    result = analyze(text[:LIMITS["text"]], address=address[:LIMITS["address"]] or None)
    out["ward"] = result.ward
    if text.strip():
        out["category"] = CATEGORY_LABELS.get(result.category, result.category)
        out["confidence"] = int(round(result.category_confidence * 100))
    out["wards"] = [w for w in _ward_matches(address) if w != result.ward]
    return out


@require_role("hotline", "center")
async def suggest(request: web.Request) -> web.Response:
    """A POST (with the CSRF header htmx sends): what the caller said stays out of URLs, and so
    out of any proxy's access log."""
    values = _values(await request.post())
    return render(request, "console/_call_suggest.html", {
        "suggest": suggestions(values["text"], values["address"], values["phone"])})


async def _wait_for_code(request: web.Request, ext_id: str, seconds: float) -> str | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    delay = 0.05
    while True:
        async with request.config_dict[SESSIONS_KEY]() as session:
            _, code = await code_for_inbox(session, "hotline", ext_id)
        if code or loop.time() >= deadline:
            return code
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)


@require_role("hotline", "center")
async def submit_call(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = _values(form)
    token = form.get("call_token")
    token = token if isinstance(token, str) and TOKEN.match(token) else secrets.token_hex(16)
    problems = _problems(values)
    if problems:
        return _form_page(request, values, problems, status=400, token=token)
    ctx = request.config_dict.get(WEB_CONTEXT)
    if ctx is None:
        return _form_page(request, values, error="Máy chủ chưa sẵn sàng nhận cuộc gọi.", status=503,
                          token=token)
    user = request[USER_KEY]
    try:
        ext_id = await ctx.log_call({
            "call_id": f"console-{token}", "caller": values["phone"], "name": values["name"],
            "text": values["text"], "address": values["address"], "operator": user.actor})
    except ValueError as exc:
        reason = ("kênh đường dây nóng đang tắt (channels.hotline.enabled)" if "disabled" in str(exc)
                  else str(exc))
        return _form_page(request, values, error=f"Không lưu được cuộc gọi: {reason}.",
                          status=503 if "disabled" in str(exc) else 422, token=token)
    except Exception:  # intake closed (shutting down), database down: the operator retries
        return _form_page(request, values, error="Chưa lưu được cuộc gọi (máy chủ bận). Bấm “Lưu” lần "
                          "nữa: cuộc gọi chỉ được ghi một lần.", status=503, token=token)
    await _wait_for_code(request, ext_id, WAIT_SECONDS)
    return see_other(f"/console/calls/{token}")


@require_role("hotline", "center")
async def call_result(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    if not TOKEN.match(token):
        raise web.HTTPNotFound()
    async with request.config_dict[SESSIONS_KEY]() as session:
        stored, code = await code_for_inbox(session, "hotline", external_id(token))
    if not stored:
        raise web.HTTPNotFound()
    flagged = await _note_operator(request, code) if code else None
    return render(request, "console/call_done.html", {
        "title": f"Mã phản ánh {code}" if code else "Đang tạo phản ánh", "code": code,
        "flagged": flagged})


CALL_NOTE = "Ghi nhận cuộc gọi đường dây nóng trên bàn làm việc"


async def _note_operator(request: web.Request, code: str) -> str | None:
    """The first time the code is shown: the operator who logged the call (``extra.operator``)
    goes into the report's timeline as an event of theirs. Returns the flagged caller number."""
    from sqlalchemy import select

    from store.models import Report, ReportEvent
    from store.reports import record_event

    async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        extra = report.extra or {}
        operator = str(extra.get("operator") or "")
        if operator.startswith("user:"):
            noted = (await session.execute(select(ReportEvent.id).where(
                ReportEvent.report_id == report.id, ReportEvent.kind == "note",
                ReportEvent.actor == operator, ReportEvent.note == CALL_NOTE).limit(1))).scalar()
            if noted is None:
                record_event(session, report, actor=operator, kind="note", note=CALL_NOTE, public=False)
        return extra.get("caller_unverified")


def routes() -> list[web.RouteDef]:
    return [web.get("/calls/new", new_call), web.post("/calls/suggest", suggest),
            web.post("/calls", submit_call), web.get("/calls/{token}", call_result)]
