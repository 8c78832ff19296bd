"""The portal's own Jinja2 environment (autoescaping, strict undefined) beside the console's,
its filters (Vietnam time, numbers), labels and security headers."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from normalizer.schema import CATEGORIES
from router.templates import STATUS_LABELS, WITHDRAWN_LABEL
from web.portal.keys import PORTAL_JINJA, PORTAL_SETTINGS

PORTAL_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PORTAL_DIR / "templates"
STATIC_DIR = PORTAL_DIR / "static"
VENDOR_DIR = PORTAL_DIR.parent / "static" / "vendor"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SITE_NAME = "Phản ánh hiện trường — Huế"

# Short category names for lists and filters; the plain-Vietnamese descriptions the form shows.
CATEGORY_LABELS: dict[str, str] = {key: label.split(" (")[0] for key, label in CATEGORIES.items()}
CATEGORY_HINTS: dict[str, str] = {
    "construction_order": "Xây dựng không phép, sai phép; lấn chiếm vỉa hè, lòng đường để buôn bán, "
                          "đậu xe",
    "environment": "Rác thải, đổ trộm phế thải, mùi hôi, nước thải, khói bụi",
    "traffic_infrastructure": "Ổ gà, hư hỏng mặt đường, đèn tín hiệu, biển báo, hố ga giữa đường, "
                              "công trình thi công dở dang",
    "urban_infrastructure": "Đèn chiếu sáng, thoát nước, ngập úng, cây xanh, vỉa hè, dây điện, "
                            "cấp nước",
    "public_order": "Tiếng ồn, karaoke, đua xe, ma túy, trộm cắp, cờ bạc, gây rối",
    "tourism": "Chặt chém, đeo bám du khách, bán vé, di tích xuống cấp, khách sạn, homestay",
    "public_service": "Hồ sơ trễ hẹn, lỗi dịch vụ công trực tuyến, thái độ cán bộ",
    "other": "Những vấn đề khác",
}
PUBLIC_STATUS_FILTERS: dict[str, str] = {
    # the two groups first, then each status: no two options read the same
    "open": "Tất cả phản ánh chưa xong", "done": "Tất cả phản ánh đã xong",
    "forwarded": STATUS_LABELS["forwarded"],
    "in_progress": STATUS_LABELS["in_progress"], "resolved": STATUS_LABELS["resolved"],
    "closed": STATUS_LABELS["closed"], "rejected": STATUS_LABELS["rejected"],
}
DUE_LABELS = {"met": "Đúng hạn", "missed": "Trễ hạn", "running": "Trong hạn", "late": "Quá hạn"}
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def local_time(value: datetime | None, with_time: bool = True) -> str:
    """30/11/2026 lúc 21:05 (Vietnam time)."""
    if value is None:
        return ""
    local = value.astimezone(TZ)
    return local.strftime("%d/%m/%Y lúc %H:%M") if with_time else local.strftime("%d/%m/%Y")


def long_date(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(TZ)
    return f"{WEEKDAYS[local.weekday()]}, {local.strftime('%d/%m/%Y')}"


def iso_time(value: datetime | None) -> str:
    return value.astimezone(TZ).isoformat(timespec="seconds") if value else ""


def number(value: float | int | None, decimals: int = 0) -> str:
    """Vietnamese grouping: 12.345 and 4,5."""
    if value is None:
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app, app_key=PORTAL_JINJA, loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        filters={"local_time": local_time, "long_date": long_date, "iso_time": iso_time,
                 "number": number, "percent": percent}, default_helpers=False)
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS, WITHDRAWN_LABEL=WITHDRAWN_LABEL, CATEGORY_LABELS=CATEGORY_LABELS, CATEGORY_HINTS=CATEGORY_HINTS,
        STATUS_FILTERS=PUBLIC_STATUS_FILTERS, DUE_LABELS=DUE_LABELS, SITE_NAME=SITE_NAME,
        static_version=_static_version(), urlencode=urlencode)
    return env


def _csp(tile_url: str) -> str:
    """Our own scripts and styles only; images also from the map's tile server."""
    parts = urlsplit(tile_url.replace("{s}.", "*."))
    tiles = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data:{tiles}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def secure(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    settings = request.config_dict[PORTAL_SETTINGS]
    response.headers.setdefault("Content-Security-Policy", _csp(settings.tile_url))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def render(request: web.Request, template: str, context: dict[str, Any], *,
           status: int = 200, base_url: str = "") -> web.Response:
    """A page. ``base_url`` (the public one) makes canonical and OpenGraph URLs absolute."""
    settings = request.config_dict[PORTAL_SETTINGS]
    base = {"path": request.path, "base_url": base_url.rstrip("/"), "settings": settings,
            "canonical": base_url.rstrip("/") + request.rel_url.path_qs, "noindex": False}
    response = aiohttp_jinja2.render_template(template, request, {**base, **context},
                                              app_key=PORTAL_JINJA, status=status)
    secure(request, response)
    return response
