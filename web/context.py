"""What the web layer (agency API, public pages, health, console) may use of the running hub.
The hub stores itself under ``WEB_CONTEXT``; pages see only this protocol."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import web

from router.context import RouterContext


class WebContext(RouterContext, Protocol):
    async def database_ok(self) -> bool: ...

    async def render_metrics(self) -> bytes: ...

    async def readiness(self) -> tuple[bool, str]: ...

    @property
    def metrics_token(self) -> str: ...

    def count_rejected(self, channel: str, reason: str) -> None: ...

    # The portal (web.portal): its settings, and the report form through the web channel's
    # durable intake. Photos are (bytes, content type, file name); the answer is a dict with
    # token, stored, code, problem, status (channels.open311.form.FormOutcome).
    @property
    def portal_settings(self) -> Any: ...

    async def submit_report_form(self, form: dict[str, str],
                                 photos: Sequence[tuple[bytes, str, str | None]],
                                 idempotency_key: str | None) -> dict[str, Any]: ...

    async def report_form_status(self, token: str) -> tuple[bool, str | None]: ...

    # The console's hotline call form: one call (phone, name, text, address, operator, call_id)
    # stored as the hotline channel's inbox row, the same durable intake as its imports.
    # Returns the row's external id; ValueError (with the reason) for a call it cannot keep.
    async def log_call(self, fields: dict[str, str]) -> str: ...


WEB_CONTEXT: web.AppKey[WebContext] = web.AppKey("web_context")
