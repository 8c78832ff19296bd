"""The citizen's report form ``/report``: works without JavaScript and on a phone, goes through
the web channel's durable intake (the hub's ``submit_report_form``), resists abuse without a
third-party captcha: a per-client rate limit, a honeypot field, size limits."""
from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

from aiohttp import web

from normalizer.places import list_wards
from normalizer.schema import CATEGORIES, DESCRIPTION_MAX, FIELD_MAX
from store.ratelimit import client_address
from web.context import WEB_CONTEXT
from web.portal.keys import PORTAL_LIMITER, PORTAL_REFUSED_LIMITER, PORTAL_SETTINGS
from web.portal.photos import PhotoRefused, check_photo
from web.portal.render import render

TEXT_FIELDS = ("category", "description", "lat", "long", "address", "name", "phone", "email",
               "form_key", "website")
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden, tabindex=-1); bots fill it
MAX_FIELD_CHARS = DESCRIPTION_MAX  # the longest text field (UTF-8: at most 4 bytes a character)


class FormProblem(ValueError):
    def __init__(self, message: str, status: int = 400,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields or {}  # what was typed, read before the problem: shown again


def _page(request: web.Request, values: dict[str, str], errors: list[str], status: int = 200,
          new_key: str | None = None) -> web.Response:
    """The form page; ``new_key`` replaces the pending key (shown and put in the cookie)."""
    ctx = request.app[WEB_CONTEXT]
    settings = request.app[PORTAL_SETTINGS]
    values = {**{k: "" for k in TEXT_FIELDS}, **values}
    if new_key:
        values["form_key"] = new_key
    fresh = new_key is not None or not values["form_key"]  # a posted key is shown again as it was
    values["form_key"] = values["form_key"] or pending_key(request)
    page = render(request, "portal/form.html", {
        "values": values, "errors": errors, "categories": CATEGORIES, "wards": list_wards(),
        "max_photos": settings.max_photos, "max_mb": settings.max_photo_bytes // (1024 * 1024)},
        status=status, base_url=ctx.public_base_url)
    if fresh and values["form_key"] != request.cookies.get(PENDING_COOKIE):
        _set_cookie(request, page, PENDING_COOKIE, values["form_key"])
    return page


async def form_page(request: web.Request) -> web.Response:
    """The form, with the pending key; a pending key already used by a stored submission (the
    answer to it was lost, or another tab sent it) is replaced by a new one, and remembered as
    the last sent (``pa_sent``) so the same report sent again still lands on its receipt."""
    values = {"category": request.query.get("category", "")}
    key = request.cookies.get(PENDING_COOKIE, "")
    if not (_KEY.fullmatch(key) and (await request.app[WEB_CONTEXT].report_form_status(f"form-{key}"))[0]):
        return _page(request, values, [])
    page = _page(request, values, [], new_key=uuid.uuid4().hex)
    digest = await _stored_digest(request, f"form-{key}")
    if digest:
        _set_cookie(request, page, LAST_COOKIE, f"{key}.{digest}", max_age=LAST_SENT_SECONDS)
    return page


async def _stored_digest(request: web.Request, token: str) -> str | None:
    """``content_digest`` of the stored submission ``token`` (its inbox row, Open311 names)."""
    import json

    from sqlalchemy import select

    from store.models import InboxEvent

    async with request.app[WEB_CONTEXT].sessions() as session:
        payload = (await session.execute(select(InboxEvent.payload).where(
            InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar()
    try:
        stored = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(stored, dict):
        return None
    names = {"category": "service_code", "description": "description", "lat": "lat",
             "long": "long", "address": "address_string"}
    return content_digest({k: str(stored.get(v) or "") for k, v in names.items()})


# Resubmission guard across reloads (docs/portal.md "Sending twice"). The form key is kept in a
# cookie of the browser session until a submission with it is accepted, so a reloaded form (Back,
# a lost answer) posts the same key and the intake answers with the first report. Then a new key,
# and the last sent one with a digest of what it said: the same report (category, text, place)
# sent again from this browser within LAST_SENT_SECONDS lands on the first one's receipt.
PENDING_COOKIE = "pa_form"
LAST_COOKIE = "pa_sent"
LAST_SENT_SECONDS = 30 * 60
_KEY = re.compile(r"[0-9a-f]{32}")


def pending_key(request: web.Request) -> str:
    """The browser session's pending form key (the cookie's), or a new one."""
    key = request.cookies.get(PENDING_COOKIE, "")
    return key if _KEY.fullmatch(key) else uuid.uuid4().hex


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
                max_age: int | None = None) -> None:
    secure = request.app[WEB_CONTEXT].public_base_url.startswith("https://")
    response.set_cookie(name, value, path="/report", httponly=True, samesite="Lax", secure=secure,
                        max_age=max_age)


def content_digest(form: dict[str, str]) -> str:
    """What makes two submissions the same report: category, text and place (whitespace and
    case aside); not the photos (a browser does not restore them on Back) nor the contact."""
    parts = [" ".join(form.get(k, "").split()).casefold()
             for k in ("category", "description", "lat", "long", "address")]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


async def _sent_before(request: web.Request, form: dict[str, str]) -> str | None:
    """The receipt token of this browser's last report when ``form`` says the same, else None."""
    key, _, digest = request.cookies.get(LAST_COOKIE, "").partition(".")
    if not _KEY.fullmatch(key) or not hmac.compare_digest(digest, content_digest(form)):
        return None
    token = f"form-{key}"
    known, _code = await request.app[WEB_CONTEXT].report_form_status(token)
    return token if known else None


def _accepted(request: web.Request, token: str, form: dict[str, str], posted: bool) -> web.Response:
    """303 to the receipt; the next form gets a new key, and this one (when posted by the form
    page) is remembered."""
    response = web.Response(status=303, headers={"Location": f"/report/sent/{token}"})
    key = token.removeprefix("form-")
    if posted and _KEY.fullmatch(key):
        _set_cookie(request, response, PENDING_COOKIE, uuid.uuid4().hex)
        _set_cookie(request, response, LAST_COOKIE, f"{key}.{content_digest(form)}",
                    max_age=LAST_SENT_SECONDS)
    return response


async def _read_body(request: web.Request, cap: int,
                     too_large: str = "Ảnh gửi lên quá lớn hoặc quá nhiều.") -> bytes:
    """The raw body, refused past ``cap`` bytes (read as it streams, never all at once first)."""
    if request.content_length is not None and request.content_length > cap:
        raise FormProblem(too_large, 413)
    data = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        data += chunk
        if len(data) > cap:
            raise FormProblem(too_large, 413)
    return bytes(data)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name, bytes) of each part of a multipart/form-data body
    (``store.forms.multipart_parts``)."""
    from store.forms import multipart_parts

    try:
        return [(p.name, p.filename, p.data) for p in multipart_parts(content_type, body)]
    except ValueError:
        raise FormProblem(UNREADABLE) from None


def parse_urlencoded(charset: str | None, body: bytes) -> dict[str, str]:
    """The text fields of an application/x-www-form-urlencoded body (the first of a repeated
    name); a body that is not text in its charset, or an unknown charset, is a FormProblem."""
    import urllib.parse

    charset = charset or "utf-8"
    try:
        pairs = urllib.parse.parse_qsl(body.decode(charset).rstrip(), keep_blank_values=True,
                                       encoding=charset, errors="strict")
    except (UnicodeError, LookupError, ValueError):
        raise FormProblem(UNREADABLE) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in TEXT_FIELDS:
            fields.setdefault(name, value)
    return fields


UNREADABLE = "Biểu mẫu gửi lên không đọc được."
BAD_KEY = "Biểu mẫu gửi lên không hợp lệ; vui lòng bấm \"Gửi phản ánh\" lần nữa."
SENT_OTHER = ("Phản ánh này đã được gửi với nội dung khác từ trang này (một thẻ khác hoặc lần gửi trước). "
              "Nội dung bạn nhập vẫn còn đây: bấm \"Gửi phản ánh\" lần nữa để gửi như một phản ánh mới.")
TEXT_BODY_MAX = 256 * 1024  # every text field at its longest, percent-encoded, fits


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[tuple[bytes, str]]]:
    """The posted fields and photos; every body that cannot be read is a FormProblem (Vietnamese,
    400; 413 when too large; 415 when not a form)."""
    settings = request.app[PORTAL_SETTINGS]
    if request.content_type == "application/x-www-form-urlencoded":
        return parse_urlencoded(request.charset, await _read_body(request, TEXT_BODY_MAX, "Nội dung quá dài.")), []
    if request.content_type != "multipart/form-data":
        raise FormProblem("Biểu mẫu gửi lên không đúng định dạng.", 415)
    cap = settings.max_photos * settings.max_photo_bytes + TEXT_BODY_MAX
    body = await _read_body(request, cap + settings.max_photo_bytes)  # one photo too many is still read
    try:
        parts = parse_multipart(request.headers.get("Content-Type", ""), body)
    except FormProblem:
        raise
    except (UnicodeError, LookupError, ValueError):
        raise FormProblem(UNREADABLE) from None
    fields: dict[str, str] = {}
    photos: list[tuple[bytes, str]] = []
    problem: str | None = None  # a photo refused: the text fields are still read, to show again
    for name, filename, data in parts:
        if name == "photo":
            if not filename and not data:  # the empty file input
                continue
            if len(photos) >= settings.max_photos:
                problem = problem or f"Chỉ gửi được tối đa {settings.max_photos} ảnh."
            elif len(data) > settings.max_photo_bytes:
                problem = problem or (
                    f"Mỗi ảnh tối đa {settings.max_photo_bytes // (1024 * 1024)} MB.")
            else:
                photos.append((data, filename or "anh.jpg"))
        elif name in TEXT_FIELDS:
            if len(data) > MAX_FIELD_CHARS * 4:
                raise FormProblem("Nội dung quá dài.", 413)
            fields[name] = data.decode("utf-8", errors="replace")
    if problem:
        raise FormProblem(f"{problem} Vui lòng chọn lại ảnh và gửi lại.", 413, fields)
    return fields, photos


def _check(fields: dict[str, str]) -> list[str]:
    """Vietnamese messages for what the citizen must fix (the intake checks again)."""
    from normalizer.phones import is_email, normalize_phone

    errors = []
    if fields.get("category") not in CATEGORIES:
        errors.append("Vui lòng chọn lĩnh vực phản ánh.")
    description = fields.get("description", "").strip()
    if not description:
        errors.append("Vui lòng mô tả sự việc.")
    elif len(description) > DESCRIPTION_MAX:
        errors.append(f"Nội dung tối đa {DESCRIPTION_MAX} ký tự.")
    lat, lon = fields.get("lat", "").strip(), fields.get("long", "").strip()
    if lat or lon:
        try:
            if not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):
                raise ValueError
        except ValueError:
            errors.append("Vị trí trên bản đồ không hợp lệ; hãy chọn lại hoặc nhập địa chỉ.")
    elif not fields.get("address", "").strip():
        errors.append("Vui lòng chọn vị trí trên bản đồ hoặc nhập địa chỉ nơi xảy ra sự việc.")
    if len(fields.get("address", "").strip()) > FIELD_MAX["address"]:
        errors.append(f"Địa chỉ tối đa {FIELD_MAX['address']} ký tự.")
    if len(fields.get("name", "").strip()) > FIELD_MAX["name"]:
        errors.append(f"Họ và tên tối đa {FIELD_MAX['name']} ký tự.")
    phone = fields.get("phone", "").strip()
    if phone and normalize_phone(phone) is None:
        errors.append("Số điện thoại không đúng (ví dụ: 0905 123 456).")
    email = fields.get("email", "").strip()
    if email and not is_email(email):
        errors.append("Địa chỉ thư điện tử không đúng.")
    return errors


def _too_many(request: web.Request, values: dict[str, str], wait: float) -> web.Response:
    """The form page again (what was typed kept) with why it was not sent: 429, Retry-After."""
    minutes = max(1, int(wait + 59) // 60)
    page = _page(request, values, [
        f"Bạn đã gửi quá nhiều phản ánh trong một giờ; vui lòng thử lại sau khoảng {minutes} phút."],
        status=429)
    page.headers["Retry-After"] = str(int(wait) + 1)
    return page


async def submit(request: web.Request) -> web.Response:
    """Two per-client limits. The hourly one (``form_per_hour``) is charged only by a submission
    that passes the checks (a citizen correcting mistakes is not locked out) and by a honeypot
    hit; a resubmission of a form already stored (same form_key, same content: a double click)
    is not charged, and passes even past the limit. The refused-posts one, ten times looser,
    is charged by every post *before* it is read and refunded once the post is accepted (303):
    what stays on it are unreadable, invalid and honeypot posts, 409s, 429s, and resends
    past the hourly limit; past it a client's posts are answered 429 without being read."""
    ctx = request.app[WEB_CONTEXT]
    settings = request.app[PORTAL_SETTINGS]
    limiter = request.app[PORTAL_LIMITER]
    refused = request.app[PORTAL_REFUSED_LIMITER]
    client = client_address(request)
    if (wait := refused.allow(client)) is not None:  # a flood of bad posts: not even read
        ctx.count_rejected("web", "form_refused_rate_limit")
        return _too_many(request, {}, wait)
    try:
        fields, uploads = await _read_form(request)
    except FormProblem as exc:
        ctx.count_rejected("web", "form_unreadable")
        kept = {k: exc.fields.get(k, "") for k in TEXT_FIELDS if k != HONEYPOT}
        return _page(request, kept, [str(exc)], status=exc.status)
    values = {k: fields.get(k, "") for k in TEXT_FIELDS if k != HONEYPOT}
    key = (fields.get("form_key") or "").strip()
    if key and not _KEY.fullmatch(key):
        # Only the form page's own keys (32 hex): the receipt /report/sent/form-<key> is opened
        # by nothing else, so no other client's token (an Open311 Idempotency-Key) reaches it.
        ctx.count_rejected("web", "form_invalid")
        values["form_key"] = ""
        return _page(request, values, [BAD_KEY], status=400, new_key=uuid.uuid4().hex)
    if fields.get(HONEYPOT, "").strip():
        limiter.allow(client)  # a bot's tries count against its address all the same
        ctx.count_rejected("web", "form_honeypot")
        return _page(request, values, ["Không gửi được phản ánh."], status=400)
    errors = _check(fields)
    photos: list[tuple[bytes, str, str | None]] = []
    for data, filename in uploads:
        try:
            checked = check_photo(data, settings.max_photo_bytes)
        except PhotoRefused as exc:
            errors.append(f"{filename}: {exc}")
            continue
        photos.append((checked.data, checked.content_type, filename[:200]))
        if checked.gps and not (fields.get("lat") or "").strip():
            # The photo's own position when no pin was given (the stored public copy drops EXIF).
            fields["lat"], fields["long"] = str(checked.gps[0]), str(checked.gps[1])
            errors = [e for e in errors if not e.startswith("Vui lòng chọn vị trí")]
    if errors:
        ctx.count_rejected("web", "form_invalid")
        return _page(request, values, errors, status=400)
    posted = bool(key)  # posted by our form page (a post without one gets a key of its own)
    token = f"form-{key or uuid.uuid4().hex}"
    form = {k: fields.get(k, "") for k in ("category", "description", "lat", "long", "address", "name",
                                          "phone", "email")}
    earlier = await _sent_before(request, form) if posted else None
    if earlier and earlier != token:
        # Back, then "Gửi phản ánh" again: the same report from this browser, already stored;
        # nothing new, so not charged on either limit.
        refused.refund(client)
        return web.Response(status=303, headers={"Location": f"/report/sent/{earlier}"})
    wait = limiter.allow(client)
    if wait is not None:
        # Past the hourly limit only a true resend passes: its key stored with this very content
        # (the intake answers a stored key from the stored row and writes nothing, photos neither).
        if posted and (await ctx.report_form_status(token))[0]:
            outcome: dict[str, Any] = await ctx.submit_report_form(form, photos, token)
            if not outcome["problem"]:
                # not refunded on the refused limit: replays past the hourly one stay bounded
                return _accepted(request, outcome["token"], form, posted)
        ctx.count_rejected("web", "form_rate_limit")
        return _too_many(request, values, wait)
    outcome = await ctx.submit_report_form(form, photos, token)
    if not outcome["stored"]:
        limiter.refund(client)  # a resubmission (same form_key) or refused by the intake: nothing new
    if outcome["problem"]:
        status = outcome["status"] if outcome["status"] >= 400 else 400
        if status == 409:
            # The key is used by another report (this browser's earlier one whose answer was
            # lost, or another tab's): what was typed comes back with a new key, so pressing
            # "Gửi phản ánh" again sends it as a new report.
            values["form_key"] = ""
            return _page(request, values, [SENT_OTHER], status=409, new_key=uuid.uuid4().hex)
        return _page(request, values, ["Không gửi được phản ánh; vui lòng kiểm tra lại thông tin."],
                     status=status)
    refused.refund(client)  # accepted: only refused posts stay on that limit
    return _accepted(request, outcome["token"], form, posted)


async def sent(request: web.Request, rate_error: str | None = None, status: int = 200) -> web.Response:
    """The receipt: the one page private to the citizen who sent the form (its address holds the
    form key). Where the report stands and, once it is resolved and not yet rated, the rating
    form of the one-time link made at resolution (router.rating; the web sender delivers that
    message nowhere else, an email copy carries the same link): rated once, by either."""
    ctx = request.app[WEB_CONTEXT]
    token = request.match_info["token"]
    known, code = await ctx.report_form_status(token)
    if not known:
        return render(request, "portal/error.html", {
            "title": "Không tìm thấy", "message": "Không tìm thấy phản ánh đã gửi."}, status=404,
            base_url=ctx.public_base_url)
    state = {"status": None, "rating": None, "withdrawn": False, "rateable": False,
             "rate_token": None, **(await receipt_state(ctx, code) if code else {})}
    return render(request, "portal/sent.html", {
        "code": code, "token": token, **state, "rate_error": rate_error, "rated": False,
        "rate_link_dead": False,
        "rate_action": f"/report/sent/{token}/rate"}, status=status, base_url=ctx.public_base_url)


async def receipt_state(ctx: Any, code: str) -> dict[str, Any]:
    """The report's status, its rating, and the one-time rating token still good for it."""
    from sqlalchemy import select

    from router.rating import RATEABLE_STATUSES, rating_token_report
    from store.models import OutboxMessage, Report

    async with ctx.sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one_or_none()
        if report is None:
            return {}
        state: dict[str, Any] = {"status": report.status, "rating": report.rating_score,
                                 "withdrawn": bool((report.extra or {}).get("withdrawn")),
                                 "rateable": report.status in RATEABLE_STATUSES,
                                 "rate_token": None}
        if not state["rateable"] or report.rating_score is not None:
            return state
        rows = (await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.report_id == report.id, OutboxMessage.purpose == "citizen",
            OutboxMessage.template.like("resolved%")).order_by(OutboxMessage.id.desc())
            .limit(5))).scalars()
        for payload in rows:
            rate = rate_token_of(str(((payload or {}).get("template_data") or {}).get("rate_url", "")))
            if rate and await rating_token_report(session, code, rate) is not None:
                state["rate_token"] = rate
                break
    return state


def rate_token_of(url: str) -> str | None:
    """The ``rate`` token of a one-time rating link (router.rating.rating_url)."""
    import urllib.parse

    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("rate")
    return values[0][:64] if values else None


async def rate_sent(request: web.Request) -> web.Response:
    """The receipt's rating form: the one-time link's token (router.rating.rate_with_token),
    then back to the receipt, which says it is rated."""
    from router.rating import RatingRefused, rate_posted
    from web.portal.keys import PORTAL_CACHE

    ctx = request.app[WEB_CONTEXT]
    token = request.match_info["token"]
    known, code = await ctx.report_form_status(token)
    if not known or not code:
        return render(request, "portal/error.html", {
            "title": "Không tìm thấy", "message": "Không tìm thấy phản ánh đã gửi."}, status=404,
            base_url=ctx.public_base_url)
    try:
        await rate_posted(ctx, code, await request.post())
    except RatingRefused as exc:
        return await sent(request, rate_error=str(exc), status=exc.status)
    request.app[PORTAL_CACHE].pop("agency_stats", None)
    return web.Response(status=303, headers={"Location": f"/report/sent/{token}"})


def routes() -> list[web.RouteDef]:
    return [web.get("/report", form_page), web.post("/report", submit),
            web.get(r"/report/sent/{token:form-[0-9a-f]{32}}", sent),
            web.post(r"/report/sent/{token:form-[0-9a-f]{32}}/rate", rate_sent)]
