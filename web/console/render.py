"""Jinja2 for the console (autoescaping on), its filters and the labels pages show."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
import phonenumbers
from aiohttp import web

from normalizer.schema import CATEGORIES
from router.templates import STATUS_LABELS
from store.accounts import ROLES
from web.console.delivery_reasons import explain_failure
from web.console.keys import USER_KEY

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

JINJA_KEY: web.AppKey[jinja2.Environment] = web.AppKey("console_jinja")

CHANNEL_LABELS: dict[str, str] = {
    "messenger": "Messenger", "zalo": "Zalo", "email": "Thư điện tử",
    "hotline": "Đường dây nóng", "telegram": "Telegram", "web": "Cổng thông tin",
}
ACCOUNT_ACTION_LABELS: dict[str, str] = {
    "created": "tạo tài khoản", "disabled": "khóa tài khoản", "enabled": "mở khóa",
    "password_reset": "đặt lại mật khẩu", "password_set": "tự đổi mật khẩu",
    "token_issued": "cấp mã API", "token_revoked": "thu hồi mã API",
}
CATEGORY_LABELS: dict[str, str] = {key: label.split(" (")[0] for key, label in CATEGORIES.items()}
# Outbox channels besides the citizens' (CHANNEL_LABELS), as the timeline names them.
ROUTE_LABELS: dict[str, str] = {
    **CHANNEL_LABELS, "sms": "tin nhắn SMS", "zns": "Zalo ZNS", "callback": "gọi lại",
    "agency_email": "thư điện tử cho đơn vị", "agency_webhook": "hệ thống của đơn vị",
    "open311": "hệ thống Open311 của đơn vị",
}
# The messages the hub sends (router.templates keys), as the timeline describes them.
TEMPLATE_LABELS: dict[str, str] = {
    "ack": "tin báo đã tiếp nhận", "ack_forwarded": "tin báo đã tiếp nhận và chuyển đơn vị",
    "forwarded": "tin báo đã chuyển đơn vị xử lý", "rerouted": "tin báo chuyển đơn vị khác",
    "in_progress": "tin báo đang xử lý", "resolved": "tin báo kết quả xử lý",
    "rejected": "tin báo không tiếp nhận", "returned": "tin báo Trung tâm xem xét lại",
    "duplicate": "tin báo phản ánh trùng", "closed": "tin báo kết thúc",
    "agency_reply": "trả lời của đơn vị", "rating_thanks": "lời cảm ơn đánh giá",
    "welcome": "lời chào", "status": "tin tra cứu tình trạng", "status_own": "tin tra cứu tình trạng",
    "status_public": "tin tra cứu tình trạng", "status_unknown": "tin tra cứu không thấy mã",
    "ask": "câu hỏi bổ sung thông tin", "ask_place": "câu hỏi về địa điểm",
    "ask_photo": "câu hỏi xin ảnh", "ask_phone": "câu hỏi xin số điện thoại",
    "dialogue_thanks": "lời cảm ơn bổ sung thông tin", "dialogue_triage": "tin báo chờ phân loại",
    "agency_new": "phản ánh mới gửi đơn vị", "agency_reminder": "nhắc hạn xử lý",
    "center_escalation": "báo quá hạn cho Trung tâm", "director_escalation": "báo quá hạn cho Giám đốc",
    "agency_citizen_message": "thông tin công dân bổ sung",
    "agency_rerouted_away": "báo phản ánh đã chuyển đơn vị khác",
    "center_returned": "báo đơn vị trả lại phản ánh",
}
_PUBLIC_LINK = re.compile(r"Xem: \S*/r/(?P<code>[A-Z]{2}-\d{4}-\d+)\s*$")
_ARROW = re.compile(r"^(\S+) → (\S+)$")
_RECLASSIFIED = re.compile(r"^phân loại lại: (\S+?)/(.*?) → (\S+?)/(.*?)( \(.*\))?$")
_ROUTE_NOTES = (  # (stored note, what the timeline says): {channel} and {template} are translated
    (re.compile(r"^đã gửi qua (?P<channel>\S+) \((?P<template>[\w:.-]+)\)$"),
     "đã gửi qua {channel}: {template}"),
    (re.compile(r"^gửi qua (?P<channel>\S+) thất bại: (?P<rest>.*)$", re.S),
     "gửi qua {channel} thất bại: {rest}"),
    (re.compile(r"^chuyển thông báo sang (?P<channel>\S+) \((?P<rest>.*)\)$", re.S),
     "chuyển thông báo sang {channel} ({rest})"),
    (re.compile(r"^không gọi lại cho thông báo '(?P<template>[\w:.-]+)' \((?P<rest>.*)\)$", re.S),
     "không gọi lại để đọc {template} ({rest})"),
    (re.compile(r"^gửi kèm qua email \((?P<template>[\w:.-]+)\)$"), "gửi kèm qua thư điện tử: {template}"),
    (re.compile(r"^đưa vào danh sách gọi lại \((?P<rest>.*)\)$", re.S), "đưa vào danh sách gọi lại ({rest})"),
    (re.compile(r"^không còn cách nào liên hệ công dân \((?P<rest>.*)\)$", re.S),
     "không còn cách nào liên hệ công dân ({rest})"),
)


def _category(key: str) -> str:
    return "—" if key in ("—", "None", "") else CATEGORY_LABELS.get(key, key)


# The reply template (router.templates "agency_reply") carries the center's replies too: the
# timeline names who replied (the reply event before it), as the citizen's message does.
REPLY_LABELS = {"center": "trả lời của Trung tâm", "agency": "trả lời của đơn vị"}


def template_label(key: str, replier: str | None = None) -> str:
    if key.startswith("command:"):
        return "trả lời lệnh của công dân"
    if key == "agency_reply" and replier in REPLY_LABELS:
        return REPLY_LABELS[replier]
    return TEMPLATE_LABELS.get(key, "thông báo")


def failure_reason(reason: str) -> str:
    """A sender's reason in a timeline note, in Vietnamese; the fallback's reason starts with
    the channel that failed ("zalo: outside…")."""
    if (head := re.match(r"^(\w+): ", reason)) and head[1] in ROUTE_LABELS:
        return f"{ROUTE_LABELS[head[1]]}: {explain_failure(reason[head.end():])}"
    return explain_failure(reason)


def event_note(kind: str, note: str | None, agencies: dict[str, str] | None = None,
               replier: str | None = None) -> str:
    """A timeline note as staff read it: the notes the router and the outbox write name
    categories, channels, message templates and agencies by their internal keys
    ("urban_infrastructure → environment", "đã gửi qua web (ack_forwarded)"); these become their
    Vietnamese names. Any other note is shown as written. ``replier`` ("center", "agency") is
    who wrote the reply a notification of the reply template carries."""
    if not note:
        return note or ""
    agencies = agencies or {}
    if kind == "classification":
        if (m := _ARROW.match(note)) and all(k in CATEGORIES or k == "—" for k in m.groups()):
            return f"Lĩnh vực: {_category(m[1])} → {_category(m[2])}"
        if note.startswith("xác nhận lĩnh vực ") and note[18:] in CATEGORIES:
            return f"xác nhận lĩnh vực {_category(note[18:])}"
        if m := _RECLASSIFIED.match(note):
            before, after = (m[1], m[2]), (m[3], m[4])
            ward = lambda w: "—" if w in ("None", "") else w  # noqa: E731
            return (f"phân loại lại: {_category(before[0])} / {ward(before[1])} → "
                    f"{_category(after[0])} / {ward(after[1])}")
    if kind == "status" and (m := re.match(r"^chuyển (\S+) → (\S+)$", note)):
        return f"chuyển {agencies.get(m[1], m[1])} → {agencies.get(m[2], m[2])}"
    if kind == "status" and (m := re.match(r"^tiếp nhận qua (\w+)$", note)) and m[1] in ROUTE_LABELS:
        return f"tiếp nhận qua {ROUTE_LABELS[m[1]]}"
    if kind == "note" and (m := _PUBLIC_LINK.search(note)):
        # The center's alert of a returned report points at the public page (a 404 when the
        # report is hidden): staff are sent to the console's page of the report instead.
        return note[:m.start()] + f"Xem: /console/reports/{m['code']}"
    if kind in ("notification", "delivery"):
        for pattern, text in _ROUTE_NOTES:
            if m := pattern.match(note):
                parts = m.groupdict()
                if "channel" in parts:
                    parts["channel"] = ROUTE_LABELS.get(parts["channel"], parts["channel"])
                if "template" in parts:
                    parts["template"] = template_label(parts["template"], replier)
                if "rest" in parts:
                    parts["rest"] = failure_reason(parts["rest"])
                return text.format(**parts)
    return note


async def officer_names(session: Any, actors: Any) -> dict[str, str]:
    """``user:<name>`` actors → the officers' display names (others are left out)."""
    from sqlalchemy import select

    from store.models import Account

    names = {a[5:] for a in actors if isinstance(a, str) and a.startswith("user:")}
    if not names:
        return {}
    rows = await session.execute(select(Account.username, Account.display_name)
                                 .where(Account.username.in_(names)))
    return {f"user:{u}": n or u for u, n in rows}


def account_event_detail(detail: str | None, agencies: dict[str, str] | None = None) -> str:
    """An account event's detail ("role=hotline agency=moi-truong") in words."""
    if not detail:
        return ""
    words = []
    for part in detail.split():
        key, _, value = part.partition("=")
        if key == "role":
            words.append(f"vai trò {ROLES.get(value, value)}")
        elif key == "agency":
            words.append(f"đơn vị {(agencies or {}).get(value, value)}")
        else:
            words.append(part)
    return ", ".join(words)


def see_other(location: str) -> web.Response:
    """303 to a page (after a form, and instead of raising an HTTPException we then modify)."""
    return web.Response(status=303, headers={"Location": location})


def _static_version() -> str:
    """Changes when the console's own CSS/JS change, so browsers fetch the new files."""
    digest = hashlib.sha256()
    for path in sorted((STATIC_DIR / "console").glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# An attachment's state (store.models.Attachment.state), as the report page shows it.
ATTACHMENT_STATES = {"pending": "đang tải", "fetching": "đang tải", "stored": "đã lưu",
                     "failed": "không tải được (đã thử lại nhiều lần)",
                     "linked": "chỉ có đường liên kết, tệp không được lưu", "refused": "bị từ chối"}
# Why a file was refused (channels.media.MediaRefused, hub.inbound.assembly), by its English text.
REFUSED_REASONS = (("exceeds", "tệp quá lớn"), ("not an allowed media host", "máy chủ không được phép"),
                   ("redirect to a host", "chuyển hướng tới máy chủ không được phép"),
                   ("too many redirects", "chuyển hướng quá nhiều lần"),
                   ("expired or gone", "đường liên kết đã hết hạn hoặc không còn"),
                   ("no URL and no data", "không có tệp"), ("is not enabled", "kênh chưa được bật"))


def attachment_state(state: str, error: str | None = None) -> str:
    label = ATTACHMENT_STATES.get(state, state)
    if state == "refused" and error:
        reason = next((vi for en, vi in REFUSED_REASONS if en in error), None)
        return f"{label}: {reason}" if reason else label
    return label


def national_phone(value: str | None) -> str:
    """A phone as officers write it: "0905 777 888" (a foreign one "+1 415-555-0100"); what
    does not parse stays as it is."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if phonenumbers.region_code_for_number(number) == "VN"
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def setup_templates(app: web.Application, timezone: str) -> jinja2.Environment:
    tz = ZoneInfo(timezone)

    def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    def iso_time(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    def local_iso(value: str | None) -> str:
        """An ISO time from a JSON-shaped dict (``...Z``) in local time."""
        return local_time(datetime.fromisoformat(value.replace("Z", "+00:00"))) if value else ""

    env = aiohttp_jinja2.setup(
        app, app_key=JINJA_KEY, loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        filters={"local_time": local_time, "iso_time": iso_time, "local_iso": local_iso,
                 "phone": national_phone}, default_helpers=False)
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS, CATEGORY_LABELS=CATEGORY_LABELS,
        CHANNEL_LABELS=CHANNEL_LABELS, ROUTE_LABELS=ROUTE_LABELS, ROLE_LABELS=ROLES, ACTION_LABELS=ACCOUNT_ACTION_LABELS, static_version=_static_version(),
        attachment_state=attachment_state)
    return env


def render(request: web.Request, template: str, context: dict[str, Any], *,
           status: int = 200) -> web.Response:
    user = request.get(USER_KEY)
    base = {"user": user, "csrf_token": user.csrf_secret if user else "", "path": request.path}
    return aiohttp_jinja2.render_template(template, request, {**base, **context},
                                          app_key=JINJA_KEY, status=status)
