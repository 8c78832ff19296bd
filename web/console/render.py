"""Jinja2 for the console (autoescaping on), its filters and the labels pages show."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from normalizer.schema import CATEGORIES
from router.templates import STATUS_LABELS
from store.accounts import ROLES
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


def see_other(location: str) -> web.Response:
    """303 to a page (after a form, and instead of raising an HTTPException we then modify)."""
    return web.Response(status=303, headers={"Location": location})


def _static_version() -> str:
    """Changes when the console's own CSS/JS change, so browsers fetch the new files."""
    digest = hashlib.sha256()
    for path in sorted((STATIC_DIR / "console").glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


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
        filters={"local_time": local_time, "iso_time": iso_time, "local_iso": local_iso}, default_helpers=False)
    env.globals.update(
        STATUS_LABELS=STATUS_LABELS, CATEGORY_LABELS=CATEGORY_LABELS,
        CHANNEL_LABELS=CHANNEL_LABELS, ROLE_LABELS=ROLES, ACTION_LABELS=ACCOUNT_ACTION_LABELS, static_version=_static_version())
    return env


def render(request: web.Request, template: str, context: dict[str, Any], *,
           status: int = 200) -> web.Response:
    user = request.get(USER_KEY)
    base = {"user": user, "csrf_token": user.csrf_secret if user else "", "path": request.path}
    return aiohttp_jinja2.render_template(template, request, {**base, **context},
                                          app_key=JINJA_KEY, status=status)
