"""Delivery to agencies through the outbox: email (aiosmtplib) and signed webhooks.

``enqueue_agency_delivery`` writes one outbox row per configured route of the agency (purpose and
sender ``agency_email`` / ``agency_webhook``) in the caller's transaction. The senders build the
mail or JSON body when they send, from the report as it is then, so photos downloaded meanwhile
are included; for chat channels the first delivery waits for the assembly window to close (the
citizen's follow-up messages and photos belong to the same report). An agency without email or
webhook works from the queue API only.

Webhook signature (DESIGN §3): ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>" with webhook_secret>`` and ``X-Hub-Timestamp: <unix seconds>``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import inspect, select

from normalizer.schema import CATEGORIES, DeliveryResult, OutboundMessage
from router import templates
from router.notify import outbound_row, template_fields
from router.rules import agency_index
from router.views import agency_report_dict
from store.models import Attachment, OutboxMessage, Report, utcnow
from store.reports import download_pending_here, report_by_code

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from router.context import RouterContext
    from router.settings import AgencySettings

log = logging.getLogger("hub.router.delivery")

MAX_MAIL_ATTACHMENTS = 5
MAX_MAIL_ATTACHMENT_BYTES = 10 * 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
TIMESTAMP_HEADER = "X-Hub-Timestamp"


def agency_settings(ctx: RouterContext, agency_id: str | None) -> AgencySettings | None:
    return agency_index(ctx.agencies).by_id.get(agency_id) if agency_id else None


def place_text(report: Report) -> str:
    parts = [p for p in (report.address, report.ward) if p]
    if report.lat is not None and report.lon is not None:
        parts.append(f"{report.lat:.6f},{report.lon:.6f}")
    return ", ".join(parts) or "chưa rõ địa điểm"


async def tell_agency_of_followup(ctx: RouterContext, session: AsyncSession, report: Report,
                                  text: str) -> bool:
    """The agency already has the report (a delivery went out): what the citizen adds now is
    sent after it. Before that, the first delivery carries the whole assembled text (False:
    nothing queued, the caller adds the text to the report's)."""
    delivered = (await session.execute(select(OutboxMessage.id).where(
        OutboxMessage.report_id == report.id,
        OutboxMessage.purpose.in_(("agency_email", "agency_webhook")),
        OutboxMessage.state == "sent").limit(1))).scalar()
    if delivered is None:
        return False
    await enqueue_agency_delivery(ctx, session, report, event="report.citizen_message",
                                  template="agency_citizen_message", note=text)
    return True


async def enqueue_agency_delivery(ctx: RouterContext, session: AsyncSession, report: Report, *,
                                  event: str = "report.forwarded", template: str = "agency_new",
                                  **fields: Any) -> list[OutboxMessage]:
    """Queue ``template`` to the report's agency on each of its routes (same transaction)."""
    agency = agency_settings(ctx, report.agency_id)
    if agency is None:
        return []
    values = await template_fields(session, ctx, report)
    values.update(category=CATEGORIES.get(report.category or "other", report.category or ""),
                  place=place_text(report), description=report.description or "")
    values.update(fields)
    message = OutboundMessage(
        text=templates.render(template, **values), subject=templates.subject(template, **values),
        report_code=report.code, template=template,
        template_data={"event": event, "agency": agency.id,
                       **{k: str(v) for k, v in fields.items() if v is not None}})
    not_before = utcnow()
    if event == "report.forwarded":
        # A report routed when its intake dialogue ended is complete: no wait for the window.
        if report.channel in ctx.chat_channels and not ((report.extra or {}).get("dialogue")
                                                        or {}).get("done"):
            not_before = (report.last_message_at or not_before) + timedelta(
                minutes=ctx.assembly_window_minutes)
        if await _downloads_pending(session, report):
            not_before = max(not_before, utcnow() + timedelta(
                seconds=ctx.routing.delivery_media_wait_seconds))
    rows = []
    routes = [("agency_email", agency.email), ("agency_webhook", agency.id)]
    if event == "report.forwarded" and agency.open311_endpoint:
        routes.append(("agency_open311", agency.id))  # router/open311_client.py
    for purpose, address in routes:
        if purpose == "agency_webhook" and not agency.webhook_url:
            continue
        if not address:
            continue
        row = outbound_row(session, channel=purpose, address=address, report=report,
                           template=template, message=message, purpose=purpose)
        row.next_attempt_at = max(not_before, utcnow())
        rows.append(row)
    if rows:
        ctx.wake_outbox()
    return rows


async def _downloads_pending(session: AsyncSession, report: Report) -> bool:
    if inspect(report).pending:  # made in this transaction, not written yet: no query
        return download_pending_here(session, report.id)
    pending = (await session.execute(select(Attachment.id).where(
        Attachment.report_id == report.id, Attachment.state.in_(("pending", "fetching")))
        .limit(1))).scalar()
    return pending is not None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, headers: Any, body: bytes, *, tolerance: int = 300,
                     now: float | None = None) -> bool:
    """What an agency runs on receipt (documented in docs/router.md): constant time, raw bytes,
    timestamps older than ``tolerance`` seconds refused (replays)."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode())


class _AgencySender:
    """Shared by both senders: resolves the report and the agency at send time."""

    name = ""

    def __init__(self, ctx: RouterContext) -> None:
        self.ctx = ctx

    async def _report_for(self, message: OutboundMessage) -> tuple[dict[str, Any] | None, str | None]:
        """(the report as the receiving agency may see it, or a reason not to deliver at all).

        Rows are built when sent, so the report may have moved on since it was queued: an agency
        that no longer holds it gets nothing of it, and a withdrawal carries only the code."""
        if not message.report_code:
            return None, None
        agency_id = message.template_data.get("agency")
        event = message.template_data.get("event")
        async with self.ctx.sessions() as session:
            report = await report_by_code(session, message.report_code)
            if report is None:
                return None, None
            if event == "report.withdrawn":
                return {"code": report.code, "withdrawn": True}, None
            if agency_id not in (None, "center") and report.agency_id != agency_id:
                return None, f"report {report.code} is no longer assigned to {agency_id}"
            return await agency_report_dict(session, report,
                                            self.ctx.public_base_url), None


class AgencyWebhookSender(_AgencySender):
    """``agency_webhook``: the address is the agency id; URL and secret come from settings, so a
    rotated secret applies to rows already queued."""

    name = "agency_webhook"

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        agency = agency_settings(self.ctx, address)
        if agency is None or not agency.webhook_url:
            return DeliveryResult.give_up(f"agency {address} has no webhook configured")
        report, refused = await self._report_for(message)
        if refused:
            return DeliveryResult.give_up(refused)
        body = json.dumps({
            "event": message.template_data.get("event", "report.forwarded"),
            "delivery_id": message.idempotency_key,
            "agency": agency.id,
            "text": message.text,
            "report": report,
        }, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8",
                   TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: sign(agency.webhook_secret.get_secret_value(), timestamp, body),
                   "X-Hub-Delivery": message.idempotency_key or "",
                   "X-Hub-Event": str(message.template_data.get("event", ""))}
        try:
            async with self.ctx.http.post(agency.webhook_url, data=body, headers=headers,
                                          allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=20)) as resp:
                await resp.read()
                return webhook_result(resp.status, resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return DeliveryResult.retry(f"webhook unreachable: {type(exc).__name__}")


def webhook_result(status: int, retry_after: str | None = None) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult.sent()
    if status in (408, 425, 429) or status >= 500:
        delay = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryResult.retry(f"webhook answered HTTP {status}", retry_after=delay)
    if 300 <= status < 400:
        return DeliveryResult.give_up(f"webhook answered a redirect (HTTP {status}); not followed")
    return DeliveryResult.give_up(f"webhook refused the delivery (HTTP {status})")


class AgencyEmailSender(_AgencySender):
    """``agency_email``: one mail per row through the hub's one SMTP sender (the email
    channel's, built from ``[channels.email]`` even when the IMAP intake is off). The report code is in the subject; stored photos
    are attached (up to five, 10 MB), the rest listed as links to the agency API."""

    name = "agency_email"

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        transport = self.ctx.mail
        if transport is None:
            return DeliveryResult.give_up("SMTP is not configured (channels.email.smtp_host)")
        report, refused = await self._report_for(message)
        if refused:
            return DeliveryResult.give_up(refused)
        files = await self._files(report) if report is not None and not report.get("withdrawn") else []
        return await transport.send(self.build(address, message, report, files), address)

    def build(self, address: str, message: OutboundMessage, report: dict[str, Any] | None,
              files: list[tuple[dict[str, Any], bytes]] | None = None) -> EmailMessage:
        transport = self.ctx.mail
        sender = (transport.from_address if transport else "") or "no-reply@localhost"
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = address
        mail["Subject"] = message.subject or f"[#{message.report_code}] Phản ánh"
        mail["Date"] = formatdate(localtime=False)
        domain = sender.rpartition("@")[2] or "localhost"
        # Stable per outbox row: a retried send is recognizable as the same mail.
        mail["Message-ID"] = make_msgid(idstring=f"{message.idempotency_key}.{message.report_code}",
                                        domain=domain)
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Hub-Report"] = message.report_code or ""
        lines = [message.text, ""]
        files = files or []
        if report is not None and not report.get("withdrawn"):
            lines += self._summary(report, message.text)
        lines += ["", "—", templates.render("agency_mail_footer")]
        mail.set_content("\n".join(lines))
        for att, data in files:
            maintype, _, subtype = (att.get("content_type") or "application/octet-stream").partition("/")
            mail.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=f"{att['sha256'][:12]}.{subtype or 'bin'}")
        return mail

    def _summary(self, report: dict[str, Any], text: str = "") -> list[str]:
        """The report's facts under the message; its description unless the message already
        gave it (a new report's mail), the due time in the province's local time."""
        loc = report.get("location") or {}
        citizen = report.get("citizen") or {}
        lines = [
            f"Mã phản ánh: {report['code']}",
            f"Kênh tiếp nhận: {report['channel']}",
            f"Lĩnh vực: {CATEGORIES.get(report.get('category') or 'other', '')}",
            f"Địa điểm: {', '.join(str(v) for v in (loc.get('address'), loc.get('ward')) if v) or '—'}",
        ]
        if loc.get("lat") is not None:
            lines.append(f"Bản đồ: https://www.openstreetmap.org/?mlat={loc['lat']}&mlon={loc['lon']}")
        if report.get("due_at"):
            lines.append(f"Hạn xử lý: {self._local(report['due_at'])}")
        contact = ", ".join(str(v) for v in (citizen.get("name"), citizen.get("phone"),
                                               citizen.get("email")) if v)
        if contact:
            lines.append(f"Liên hệ công dân: {contact}")
        description = report.get("description") or ""
        if not description or description not in text:
            lines += ["", "Nội dung:", description]
        links = [a["url"] for a in report.get("attachments", []) if a.get("url")]
        if links:
            lines += ["", "Tệp đính kèm:", *links]
        return lines

    def _local(self, stamp: str) -> str:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return stamp
        return when.astimezone(ZoneInfo(self.ctx.routing.timezone)).strftime("%H:%M ngày %d/%m/%Y")

    async def _files(self, report: dict[str, Any]) -> list[tuple[dict[str, Any], bytes]]:
        """Stored photos to attach, read through the media store (any replica's)."""
        out: list[tuple[dict[str, Any], bytes]] = []
        total = 0
        for att in report.get("attachments", []):
            if len(out) >= MAX_MAIL_ATTACHMENTS or not att.get("sha256") or att.get("kind") != "image":
                continue
            data = await self.ctx.media.read(att["sha256"])
            if data is None:
                continue
            if total + len(data) > MAX_MAIL_ATTACHMENT_BYTES:
                continue
            total += len(data)
            out.append((att, data))
        return out


def agency_senders(ctx: RouterContext) -> dict[str, Any]:
    return {"agency_email": AgencyEmailSender(ctx), "agency_webhook": AgencyWebhookSender(ctx)}
