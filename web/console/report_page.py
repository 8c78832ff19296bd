"""The report page, ``/console/reports/{code}``: what happened, where, who said what, whether our
messages reached the citizen, possible duplicates, and the actions the officer's role allows.

Every action is a CSRF-protected form (the session middleware checks the token) posting to
``/console/reports/{code}/<action>``; it goes through the router's own functions (``reroute``,
``lifecycle.change_status``, ``notify_citizen``) with the hub's RouterContext, found on the main
application as ``WEB_CONTEXT``. The actor of every event is the officer (``user:<name>``).

| action | route | roles |
|---|---|---|
| route (agency, category) | ``route`` | center |
| status with note | ``status`` | center; agency (its own reports) |
| reply to the citizen | ``reply`` | center; agency (its own reports) |
| internal note (staff only) | ``note`` | center; agency (its own reports) |
| merge as duplicate | ``merge`` | center |
| reject with reason | ``reject`` | center |
| return to the center | ``return`` | agency (its own reports) |
| hide from / show on the public pages | ``hide`` | center |

An agency officer asking for another agency's report gets the same 404 as for a code that does
not exist, so codes cannot be probed; the photo and video route is scoped the same way.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import CATEGORIES
from router import lifecycle
from router.assign import RouteRefused, reroute
from router.notify import agency_name
from store.accounts import known_agencies
from store.callbacks import callbacks_in_transaction
from store.models import Attachment, Report, utcnow
from store.public_models import ReportModeration
from store.public_reports import set_report_hidden
from store.report_detail import merged_into, possible_duplicates, report_detail
from store.sessions import SessionUser
from web.console.auth import require_role
from web.console.delivery_reasons import explain as explain_delivery
from web.console.keys import CONFIG_KEY, SESSIONS_KEY, USER_KEY
from web.console.queue import CONTACT_ROLES, sla_state
from web.console.render import CATEGORY_LABELS, ROUTE_LABELS, event_note, render, see_other
from web.context import WEB_CONTEXT, WebContext

log = logging.getLogger("hub.console")

ATTACHMENT_KINDS = {"image": "Ảnh", "video": "Video", "audio": "Ghi âm", "file": "Tệp",
                    "location": "Vị trí"}
EVENT_KINDS = {"status": "Trạng thái", "message": "Tin nhắn", "note": "Ghi chú", "reply": "Trả lời",
               "notification": "Thông báo", "delivery": "Chuyển đơn vị", "classification": "Phân loại",
               "rating": "Đánh giá"}
ACTORS = {"system": "Hệ thống", "citizen": "Người phản ánh", "center": "Trung tâm"}
DELIVERY_STATES = {"pending": "Chờ gửi", "sending": "Đang gửi", "sent": "Đã gửi", "retry": "Sẽ gửi lại",
                   "dead": "Không gửi được", "paused": "Tạm dừng"}
# What the page says after an action succeeded (?done=…).
DONE = {"route": "Đã chuyển phản ánh.", "status": "Đã cập nhật trạng thái.",
        # the same reply form sent again (acted once): what the first did is on the timeline
        "reply": "Đã ghi nhận trả lời; xem mục Diễn biến để biết đã gửi qua đâu.",
        "reply-callback": "Không có kênh nào nhắn được cho người phản ánh: trả lời đã được đưa vào "
                          "danh sách gọi lại, tổng đài viên sẽ gọi báo.",
        "reply-none": "Đã lưu trả lời (hiển thị công khai), nhưng không gửi được: không có cách "
                      "liên hệ người phản ánh.",
        "note": "Đã lưu ghi chú nội bộ.",
        "merge": "Đã gộp vào phản ánh gốc.",
        "reject": "Đã từ chối phản ánh.", "hide": "Đã ẩn khỏi trang công khai.",
        "show": "Đã hiện lại trên trang công khai.", "triage": "Phản ánh ở lại chờ phân loại.",
        "returned": "Đã trả lại Trung tâm.",
        "classified": "Đã đổi lĩnh vực. Phản ánh vẫn ở đơn vị đang xử lý, hạn xử lý giữ nguyên.",
        "unchanged": "Không có gì thay đổi: phản ánh đã ở đơn vị này, với lĩnh vực này."}
# What the status form's note is, per status chosen, and who reads it (router.lifecycle: the
# note goes with the citizen's message; store.serialize.PUBLIC_NOTE_STATUSES: shown publicly).
NOTE_LABELS = {
    "": "Ghi chú (chọn trạng thái để biết ai đọc được)",
    "resolved": "Kết quả xử lý (bắt buộc) — gửi cho người phản ánh và hiển thị công khai",
    "in_progress": "Ghi chú tiến độ (không bắt buộc) — gửi cho người phản ánh và hiển thị công khai",
    "rejected": "Lý do từ chối (bắt buộc) — gửi cho người phản ánh và hiển thị công khai",
}
NOTE_STAFF_ONLY = "Ghi chú (không bắt buộc) — chỉ cán bộ xem, không gửi cho người phản ánh"
MAX_TEXT = 2000
# Served inline (the browser shows them in <img>/<video>); anything else is a download.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm",
                "video/quicktime", "audio/mpeg", "audio/ogg", "audio/mp4", "audio/aac")


class ActionError(Exception):
    """An action refused: shown on the report page with this HTTP status."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _scope(user: SessionUser) -> str | None:
    """The agency whose reports this officer may see; None for every report."""
    return (user.agency_id or "-") if user.role == "agency" else None


def _code(request: web.Request) -> str:
    return request.match_info["code"].strip().upper()[:40]


def permissions(user: SessionUser, report: Report) -> dict[str, Any]:
    """What the page offers this officer on this report (the handlers check the same)."""
    center = user.role == "center"
    own = user.role == "agency" and report.agency_id == user.agency_id
    statuses = [s for s in lifecycle.allowed_for(report.status, center=center)
                if s not in ("rejected", "duplicate", "returned")] if center or own else []
    return {
        "route": center and "forwarded" in lifecycle.TRANSITIONS.get(report.status, ()),
        "statuses": statuses,
        "reply": center or own,
        "note": center or own,  # the agency API's /note: its own reports, the center every one
        "merge": center and "duplicate" in lifecycle.TRANSITIONS.get(report.status, ()),
        "reject": center and "rejected" in lifecycle.TRANSITIONS.get(report.status, ()),
        "return": own and "returned" in lifecycle.TRANSITIONS.get(report.status, ()),
        "hide": center,
    }


async def _page(request: web.Request, *, error: str | None = None, status: int = 200,
                form: dict[str, str] | None = None, failed: str = "") -> web.Response:
    user = request[USER_KEY]
    config = request.config_dict[CONFIG_KEY]
    code = _code(request)
    async with request.config_dict[SESSIONS_KEY]() as session:
        detail = await report_detail(session, code, agency_id=_scope(user))
        if detail is None:
            return render(request, "console/error.html", {
                "title": "Không tìm thấy", "message": f"Không có phản ánh {code} trong phạm vi của bạn."},
                status=404)
        agencies = await known_agencies(session)
        duplicates = await possible_duplicates(session, detail.report, agency_id=_scope(user))
        merged = await merged_into(session, detail.report)
        moderation = await session.get(ReportModeration, detail.report.id)
        repliers = await _repliers(session, detail.events, agencies)
    now = utcnow()
    report = detail.report

    def actor(name: str) -> str:
        return detail.officers.get(name) or ACTORS.get(name) or agencies.get(name, name)

    can = permissions(user, report) if request.config_dict.get(WEB_CONTEXT) is not None else {}
    # The citizen's personal data only for the roles that may see it (not the viewer).
    contact = detail.contact if user.role in CONTACT_ROLES else None
    # A hotline call whose number could not be verified keeps it as typed (docs/channels/
    # hotline.md): shown here, flagged, when there is no verified phone (staff only).
    unverified = "" if user.role not in CONTACT_ROLES or (detail.contact and detail.contact.phone) else str(
        (report.extra or {}).get("caller_unverified") or "").strip()[:40]
    done = request.query.get("done", "")
    return render(request, "console/report.html", {
        "title": f"Phản ánh {code}", "d": detail, "r": report, "sla": sla_state(
            report.due_at, report.status, now),
        "tile_url": config.tile_url, "tile_attribution": config.tile_attribution,
        "attachment_kinds": ATTACHMENT_KINDS, "event_kinds": EVENT_KINDS,
        "delivery_states": DELIVERY_STATES, "delivery_reason": explain_delivery, "actor": actor,
        "can": can, "note_label": lambda s: NOTE_LABELS.get(s, NOTE_STAFF_ONLY),
        "note_text": lambda e: event_note(e.kind, e.note, agencies, repliers.get(e.id)),
        "contact": contact, "sees_contact": user.role in CONTACT_ROLES,
        "agencies": agencies, "categories": CATEGORIES, "duplicates": duplicates, "merged": merged,
        "link_merged": _scope(user) is None,  # a merged report is in no agency's scope
        "hidden": bool(moderation and moderation.hidden), "caller_unverified": unverified,
        "hidden_reason": moderation.reason if moderation else None,
        "error": error, "notice": _notice(done), "form": form or {}, "failed": failed,
        "form_token": lambda: secrets.token_urlsafe(18),
        "media_url": lambda a: f"/console/reports/{report.code}/media/{a.sha256}",
        "inline": lambda a: (a.content_type or "") in INLINE_TYPES and a.state == "stored"},
        status=status)


async def _repliers(session: AsyncSession, events: list[Any], agencies: dict[str, str]) -> dict[int, str]:
    """For each notification or delivery event, who wrote the last reply before it ("center" or
    "agency"): the reply template carries both, the timeline says whose it was."""
    from store.models import Account

    users = {e.actor[5:] for e in events if e.kind == "reply" and e.actor.startswith("user:")}
    roles = dict((await session.execute(select(Account.username, Account.role).where(
        Account.username.in_(users)))).all()) if users else {}
    found: dict[int, str] = {}
    last: str | None = None
    for e in events:
        if e.kind == "reply":
            role = roles.get(e.actor[5:]) if e.actor.startswith("user:") else (
                "agency" if e.actor in agencies else e.actor)
            last = role if role in ("center", "agency") else None
        elif e.kind in ("notification", "delivery") and last is not None:
            found[e.id] = last
    return found


def _notice(done: str) -> str | None:
    """The confirmation for ``?done=…``; ``reply-sent:<outbox channel>`` names the channel the
    reply was queued on."""
    kind, _, channel = done.partition(":")
    if kind == "reply-sent" and channel == "web":  # the web sender posts on the status page
        return ("Đã đăng trả lời trên trang theo dõi phản ánh, nơi người phản ánh qua cổng thông "
                "tin xem kết quả.")
    if kind == "reply-sent" and channel in ROUTE_LABELS:
        label = ROUTE_LABELS[channel]
        label = label if label[:1].islower() or channel in BRANDS else label[:1].lower() + label[1:]
        return f"Trả lời đang được gửi cho người phản ánh qua {label} (kết quả gửi hiện ở mục Diễn biến)."
    return DONE.get(done)


BRANDS = ("messenger", "zalo", "telegram", "zns")  # names that keep their capital


async def report_page(request: web.Request) -> web.Response:
    return await _page(request)


# --- actions ----------------------------------------------------------------------------------

async def _form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {k: v.strip() for k, v in data.items() if isinstance(v, str)}


def _text(form: dict[str, str], key: str, label: str, required: bool = True) -> str | None:
    value = form.get(key) or None
    if value is None and required:
        raise ActionError(f"Hãy nhập {label}.", 400)
    if value is not None and len(value) > MAX_TEXT:
        raise ActionError(f"{label[:1].upper()}{label[1:]} dài quá {MAX_TEXT} ký tự.", 400)
    return value


async def _locked(session: AsyncSession, code: str, user: SessionUser) -> Report:
    query = select(Report).where(Report.code == code)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    report = (await session.execute(query)).scalar_one_or_none()
    scope = _scope(user)
    if report is None or (scope is not None and report.agency_id != scope):
        raise web.HTTPNotFound()
    return report


def _context(request: web.Request) -> WebContext:
    ctx = request.config_dict.get(WEB_CONTEXT)
    if ctx is None:
        raise ActionError("Máy chủ chưa sẵn sàng xử lý thao tác này.", 503)
    return ctx


async def _status(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                  status: str, note: str | None, duplicate_of: str | None = None) -> None:
    try:
        await lifecycle.change_status(ctx, session, report, status, actor=user.actor,
                                      center=user.role == "center", note=note,
                                      duplicate_of=duplicate_of)
    except lifecycle.IllegalTransition as exc:
        raise ActionError(f"Không thể chuyển từ “{_label(exc.current)}” sang “{_label(exc.wanted)}”.",
                          409) from None
    except lifecycle.StatusRefused as exc:
        message = _merge_refusal(exc, duplicate_of) or {
            403: "Tài khoản của bạn không được đặt trạng thái này.",
            409: "Hãy dùng mục “Chuyển xử lý” để chuyển phản ánh."}.get(exc.status)
        if message is None:
            message = ("Mã phản ánh gốc phải là mã của một phản ánh khác."
                       if status == "duplicate" else "Trạng thái này cần ghi chú (kết quả hoặc lý do).")
        raise ActionError(message, exc.status) from None


def _merge_refusal(exc: lifecycle.StatusRefused, code: str | None) -> str | None:
    """Why a merge was refused, in the officer's words (None: not a merge refusal)."""
    if exc.reason == "duplicate_of_self":
        return "Không thể gộp một phản ánh vào chính nó: mã phản ánh gốc phải là mã của một phản ánh khác."
    if exc.reason == "duplicate_of_unknown":
        return f"Không có phản ánh nào mang mã {code}." if code else "Hãy nhập mã phản ánh gốc."
    if exc.reason == "duplicate_of_duplicate":
        return (f"Phản ánh {code} đã được gộp vào phản ánh {exc.original}: hãy gộp vào {exc.original}."
                if exc.original else f"Phản ánh {code} cũng là phản ánh trùng: hãy gộp vào phản ánh gốc.")
    return None


def _label(status: str) -> str:
    from router.templates import STATUS_LABELS

    return STATUS_LABELS.get(status, status)


# Forms whose action messages the citizen carry a one-time token (``form_token``): the same form
# sent twice (a double click, a retry, two requests at once) acts once. The tokens used lately are
# kept on the report (``extra["form_tokens"]``), checked and written under the report's lock (row
# lock on PostgreSQL; SQLite has one writer), in the action's transaction.
ONCE = {"reply": "reply", "status": "status", "return": "returned", "reject": "reject",
        "note": "note"}  # a note messages no one, but a double click would write it twice
KEEP_TOKENS = 20


def _form_token(form: dict[str, str]) -> str | None:
    token = form.get("form_token") or ""
    return token if 16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum() else None


def _used(report: Report, token: str | None) -> bool:
    return token is not None and token in ((report.extra or {}).get("form_tokens") or [])


def _use(report: Report, token: str | None, done: str) -> None:
    """Keep the token, and what its form did (``extra["form_done"]``), so the same form sent
    again gets the first one's confirmation (``reply-sent:web``, not a vaguer one)."""
    if token is not None:
        extra = report.extra or {}
        used = [t for t in extra.get("form_tokens") or [] if isinstance(t, str)]
        kept = [*used, token][-KEEP_TOKENS:]
        done_by = extra.get("form_done") if isinstance(extra.get("form_done"), dict) else {}
        done_by = {t: d for t, d in {**done_by, token: done}.items() if t in kept}
        report.extra = {**extra, "form_tokens": kept, "form_done": done_by}


def _done_before(report: Report, token: str | None, action: str) -> str:
    done_by = (report.extra or {}).get("form_done")
    done = done_by.get(token) if isinstance(done_by, dict) and token else None
    return done if isinstance(done, str) and _notice(done) else ONCE[action]


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    user = request[USER_KEY]
    code = _code(request)
    form = await _form(request)
    token = _form_token(form) if action in ONCE else None
    try:
        ctx = _context(request)
        async with request.config_dict[SESSIONS_KEY]() as session, session.begin():
            report = await _locked(session, code, user)
            if _used(report, token):  # already done by the first of the same form
                log.info("console: %s %s on %s sent again, done once", user.actor, action, code)
                done = _done_before(report, token, action)
            else:
                can = permissions(user, report)
                done = await ACTIONS[action](ctx, session, report, user, form, can)
                _use(report, token, done)
            still_visible = _scope(user) is None or report.agency_id == _scope(user)
    except ActionError as exc:
        return await _page(request, error=str(exc), status=exc.status, form=form, failed=action)
    log.info("console: %s %s on %s", user.actor, action, code)
    if not still_visible:  # returned by the agency: no longer in its scope
        return see_other(f"/console/?returned={code}")
    # the confirmation is where the page lands (it heads the actions when they are shown)
    return see_other(f"/console/reports/{code}?done={done}#action-done")


async def _refuse_stale(session: AsyncSession, report: Report, form: dict[str, str], allowed: bool,
                        verb: str, typed: str) -> None:
    """For a role that may do this action: 409 when the report's status changed since the page
    was loaded (``seen_status``), as the status form's refusal, and 409 when its status does not
    allow the action, not a 403 that blames the account."""
    await _refuse_stale_status(session, report, form, typed)
    if allowed:
        return
    raise ActionError(f"Phản ánh đã được chuyển sang trạng thái “{_label(report.status)}”"
                      f"{await _changed_by(session, report)}, không thể {verb} nữa: {typed} chưa "
                      "được lưu, hãy xem lại.", 409)


def _forbid(allowed: bool) -> None:
    if not allowed:
        raise ActionError("Tài khoản của bạn không dùng được thao tác này với phản ánh này.", 403)


async def _route(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                 form: dict[str, str], can: dict[str, Any]) -> str:
    if user.role == "center":
        await _refuse_stale_route(session, report, form)
        await _refuse_stale(session, report, form, can["route"], "chuyển", "lựa chọn của bạn")
    _forbid(can["route"])
    agency = form.get("agency") or None
    category = form.get("category") or None
    if agency is None and category is None:
        raise ActionError("Hãy chọn đơn vị xử lý hoặc lĩnh vực.", 400)
    before = (report.status, report.agency_id, report.category)
    try:
        chosen = await reroute(ctx, session, report, agency_id=agency, category=category,
                               actor=user.actor)
    except RouteRefused as exc:
        message = str(exc)
        if message.startswith("unknown category"):
            message = "Lĩnh vực không hợp lệ."
        elif message.startswith("unknown agency"):
            message = "Đơn vị không có trong danh sách."
        elif exc.status == 409:
            message = f"Phản ánh ở trạng thái “{_label(report.status)}” không chuyển được."
        else:
            message = "Chưa có đơn vị nào nhận lĩnh vực này ở phường/xã này: hãy chọn đơn vị."
        raise ActionError(message, exc.status) from None
    if chosen and before[:2] == ("forwarded", chosen):  # kept by the same agency: no new forward
        return "classified" if report.category != before[2] else "unchanged"
    return "route" if chosen else "triage"


async def _refuse_stale_route(session: AsyncSession, report: Report, form: dict[str, str]) -> None:
    """The route form carries the status, agency and category it was shown with (``seen_*``):
    when another officer (or the classifier, the agency) changed any of them meanwhile, it is
    refused, 409, naming what changed and who changed it, instead of overwriting that change."""
    if "seen_status" not in form:  # a form from before the seen fields: nothing to compare
        return
    if form.get("agency") and form.get("agency") == report.agency_id and form.get("category") in (
            "", None, report.category):  # already so (the same form sent twice): nothing undone
        return
    agencies = await known_agencies(session)
    changes = []
    if form.get("seen_status", "") != report.status:
        changes.append(f"trạng thái “{_label(form.get('seen_status', ''))}” → "
                       f"“{_label(report.status)}”")
    if form.get("seen_agency", "") != (report.agency_id or ""):
        def agency(a: str) -> str:
            return agencies.get(a, a) if a else "chưa có"
        changes.append(f"đơn vị xử lý “{agency(form.get('seen_agency', ''))}” → "
                       f"“{agency(report.agency_id or '')}”")
    if form.get("seen_category", "") != (report.category or ""):
        def category(c: str) -> str:
            return CATEGORY_LABELS.get(c, c) if c else "chưa có"
        changes.append(f"lĩnh vực “{category(form.get('seen_category', ''))}” → "
                       f"“{category(report.category or '')}”")
    if changes:
        who = await _changed_by(session, report, ("status", "classification"))
        raise ActionError(f"Phản ánh vừa được thay đổi{who} trong lúc bạn đang chọn: "
                          f"{'; '.join(changes)}. Phản ánh chưa được chuyển; lựa chọn của bạn "
                          "vẫn còn trong mẫu, hãy xem lại rồi gửi lại.", 409)


async def _set_status(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                      form: dict[str, str], can: dict[str, Any]) -> str:
    status = form.get("status") or ""
    if not can["statuses"]:
        _forbid(False)
    if not status:  # the select starts empty: a progress note must not resolve the report
        raise ActionError("Hãy chọn trạng thái mới. Để ghi tiến độ mà không đổi trạng thái, "
                          "dùng mục “Ghi chú nội bộ”.", 400)
    # Changed since the officer opened the page (another officer, the agency, the citizen's
    # cancel): refused whatever the status chosen, so a stale form never undoes that change (a
    # result just sent must not be followed by "in progress").
    await _refuse_stale_status(session, report, form, "ghi chú của bạn")
    if status not in can["statuses"]:
        raise ActionError(f"Không thể đặt trạng thái “{_label(status)}” cho phản ánh này.", 409)
    await _status(ctx, session, report, user, status, _text(form, "note", "ghi chú", required=False))
    return "status"


async def _refuse_stale_status(session: AsyncSession, report: Report, form: dict[str, str],
                              typed: str) -> None:
    """409 when the form was shown with another status (``seen_status``) than the report has
    now; ``typed`` names what the officer typed, which the page gives back."""
    seen = form.get("seen_status")
    if seen and seen != report.status:
        raise ActionError(f"Phản ánh vừa được chuyển sang trạng thái “{_label(report.status)}”"
                          f"{await _changed_by(session, report)} trong lúc bạn đang nhập: "
                          f"{typed} chưa được lưu, hãy xem lại rồi gửi lại.", 409)


async def _changed_by(session: AsyncSession, report: Report,
                      kinds: tuple[str, ...] = ("status",)) -> str:
    """" bởi <who>" for the report's last event of these kinds ("" when unknown)."""
    from store.models import Account, ReportEvent

    actor = (await session.execute(select(ReportEvent.actor).where(
        ReportEvent.report_id == report.id, ReportEvent.kind.in_(kinds))
        .order_by(ReportEvent.id.desc()).limit(1))).scalar()
    if not actor:
        return ""
    if actor.startswith("user:"):
        name = (await session.execute(select(Account.display_name).where(
            Account.username == actor[5:]))).scalar()
        return f" bởi {name or actor[5:]}"
    agencies = await known_agencies(session)
    return f" bởi {ACTORS.get(actor) or agencies.get(actor, actor)}"


async def _reply(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                 form: dict[str, str], can: dict[str, Any]) -> str:
    _forbid(can["reply"])
    text = _text(form, "text", "nội dung trả lời")
    lifecycle.record(session, report, actor=user.actor, kind="reply", note=text, public=False)
    name = await agency_name(session, user.agency_id if user.role == "agency" else None)
    row = await lifecycle.notify_citizen(session, ctx, report, "agency_reply", note=text, agency=name)
    if row is not None:
        return f"reply-sent:{row.channel}"
    # No channel reaches the citizen: the router put it on the call-back list (a hotline caller
    # without SMS), or there is no one to tell — what the agency API's reply answers too.
    await session.flush()
    return "reply-callback" if callbacks_in_transaction(session) else "reply-none"


async def _note(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                form: dict[str, str], can: dict[str, Any]) -> str:
    """What the agency API's ``POST /reports/{code}/note`` does (web.agency_api.add_note): a
    private event; the citizen is not told and the report's public update time does not move."""
    _forbid(can["note"])
    text = _text(form, "note", "ghi chú nội bộ")
    lifecycle.record(session, report, actor=user.actor, kind="note", note=text, public=False)
    return "note"


async def _merge(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                 form: dict[str, str], can: dict[str, Any]) -> str:
    if user.role == "center":
        await _refuse_stale(session, report, form, can["merge"], "gộp", "mã phản ánh gốc bạn nhập")
    _forbid(can["merge"])
    original = (form.get("duplicate_of") or "").upper()
    if not original:
        raise ActionError("Hãy nhập mã phản ánh gốc.", 400)
    await _status(ctx, session, report, user, "duplicate", _text(form, "note", "ghi chú", False),
                  duplicate_of=original)
    return "merge"


async def _reject(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                  form: dict[str, str], can: dict[str, Any]) -> str:
    if user.role == "center":
        await _refuse_stale(session, report, form, can["reject"], "từ chối", "lý do bạn nhập")
    _forbid(can["reject"])
    await _status(ctx, session, report, user, "rejected", _text(form, "note", "lý do từ chối"))
    return "reject"


async def _return(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                  form: dict[str, str], can: dict[str, Any]) -> str:
    if user.role == "agency":  # its own report: _locked checked the scope
        await _refuse_stale(session, report, form, can["return"], "trả lại", "lý do bạn nhập")
    _forbid(can["return"])
    await _status(ctx, session, report, user, "returned", _text(form, "note", "lý do trả lại"))
    return "returned"


async def _hide(ctx: WebContext, session: AsyncSession, report: Report, user: SessionUser,
                form: dict[str, str], can: dict[str, Any]) -> str:
    _forbid(can["hide"])
    hidden = form.get("hidden") != "0"
    reason = _text(form, "reason", "lý do ẩn", required=hidden)
    await set_report_hidden(session, report.code or "", hidden, actor=user.actor, reason=reason)
    lifecycle.record(session, report, actor=user.actor, kind="note", public=False,
                     note=f"Ẩn khỏi trang công khai: {reason}" if hidden else
                     "Hiện lại trên trang công khai" + (f": {reason}" if reason else ""))
    return "hide" if hidden else "show"


ACTIONS = {"route": _route, "status": _set_status, "reply": _reply, "note": _note, "merge": _merge,
           "reject": _reject, "return": _return, "hide": _hide}


def _action_handler(action: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _act(request, action)
    handler.__name__ = f"report_{action}"
    return handler


# --- photos and videos --------------------------------------------------------------------------

@require_role("center", "hotline", "agency", "viewer")
async def media(request: web.Request) -> web.StreamResponse:
    """An attachment of a report in the officer's scope (the same files as the agency API's)."""
    user = request[USER_KEY]
    sha = request.match_info["sha256"].lower()
    ctx = request.config_dict.get(WEB_CONTEXT)
    if ctx is None or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise web.HTTPNotFound()
    scope = _scope(user)
    async with request.config_dict[SESSIONS_KEY]() as session:
        query = (select(Attachment).join(Report, Report.id == Attachment.report_id)
                 .where(Report.code == _code(request), Attachment.sha256 == sha))
        if scope is not None:
            query = query.where(Report.agency_id == scope)
        att = (await session.execute(query.limit(1))).scalar()
    if att is None:
        raise web.HTTPNotFound()
    path = await ctx.media.local_path(sha)
    if path is None:
        raise web.HTTPNotFound()
    content_type = att.content_type or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    return web.FileResponse(path, headers={
        "Content-Type": content_type if inline else "application/octet-stream",
        "Content-Disposition": "inline" if inline else "attachment",
        "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "default-src 'none'; sandbox"})


def routes() -> list[web.RouteDef]:
    return [web.get("/reports/{code}", report_page),
            web.get("/reports/{code}/media/{sha256}", media),
            *[web.post(f"/reports/{{code}}/{action}", _action_handler(action)) for action in ACTIONS]]
