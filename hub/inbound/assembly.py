"""A citizen message → a new report, or more of the report still being assembled (chat channels,
within the assembly window), or of the report it names (email thread, code)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OPEN_STATUSES, InboundMessage
from router import lifecycle, notify, templates
from router.assign import analyze_report, route_new_report
from router.delivery import enqueue_agency_delivery
from router.rating import apply_rating
from store.files import store_bytes
from store.models import Attachment, Contact, OutboxMessage, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


async def find_open_report(hub: Hub, session: AsyncSession, contact: Contact,
                           msg: InboundMessage) -> Report | None:
    """Which existing report this message belongs to: an explicit code of this citizen's, or —
    on chat channels — their report still being assembled within the window."""
    if msg.report_code:
        report = (await session.execute(
            select(Report).where(Report.code == msg.report_code))).scalar_one_or_none()
        if report is not None and (report.contact_id == contact.id
                                   or _same_person(report, msg)):
            return report
    thread_ids = msg.meta.get("in_reply_to_ids") or []
    if thread_ids:
        # A reply to one of our messages (email In-Reply-To/References = outbox.provider_id).
        report = (await session.execute(
            select(Report).join(OutboxMessage, OutboxMessage.report_id == Report.id)
            .where(OutboxMessage.channel == msg.channel,
                   OutboxMessage.provider_id.in_(thread_ids[:50]))
            .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
        if report is not None and (report.contact_id == contact.id
                                   or _same_person(report, msg)):
            return report
    if msg.channel not in hub.chat_channels:
        return None
    window = timedelta(minutes=hub.assembly_window_minutes)
    since = (msg.sent_at or utcnow()) - window
    return (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == msg.channel,
                             Report.status.in_(OPEN_STATUSES),
                             Report.last_message_at >= since)
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()


def _same_person(report: Report, msg: InboundMessage) -> bool:
    # An email reply from the same address on another thread still belongs to the citizen.
    return bool(report.reply_address) and report.reply_address == msg.sender_id


async def apply_citizen_message(hub: Hub, session: AsyncSession, contact: Contact,
                                msg: InboundMessage) -> Report:
    # "1"–"5" on a chat channel after the citizen's latest report was resolved: a rating.
    rated = await apply_rating(hub, session, contact, msg)
    if rated is not None:
        return rated
    report = await find_open_report(hub, session, contact, msg)
    if report is not None:
        await extend_report(hub, session, report, msg)
        return report
    return await create_report(hub, session, contact, msg)


async def create_report(hub: Hub, session: AsyncSession, contact: Contact,
                        msg: InboundMessage) -> Report:
    now = utcnow()
    created = msg.meta.get("created_at") or now
    report = Report(channel=msg.channel, status="received", description=msg.text.strip(),
                    contact_id=contact.id, reply_address=msg.meta.get("reply_address", msg.sender_id),
                    reply_context=msg.reply_context, external_ids=[msg.external_id],
                    created_at=created, updated_at=now, last_message_at=msg.sent_at or now,
                    extra={k: v for k, v in msg.meta.items() if k in ("service_code", "operator",
                                                                       "category_hint",
                                                                       "caller_unverified", "open311")})
    if msg.location:
        report.lat, report.lon = msg.location.lat, msg.location.lon
        report.address, report.ward = msg.location.address, msg.location.ward
    _remember_message_key(report, msg)
    session.add(report)
    await session.flush()
    report.code = f"PA-{created.year}-{report.id:06d}"
    lifecycle.record(session, report, actor="citizen", kind="status", status_to="received",
                     note=f"tiếp nhận qua {msg.channel}")
    await add_attachments(hub, session, report, msg)
    analyze_report(hub, report, msg.meta.get("category_hint"))
    agency = await route_new_report(hub, session, report)
    hub.metrics.reports_created.labels(msg.channel).inc()
    if not msg.meta.get("silent"):
        extra = ""
        if report.ward is None and report.lat is None and not report.address:
            extra = templates.render("ack_missing_place")
        await lifecycle.notify_citizen(session, hub, report,
                                       "ack_forwarded" if agency else "ack", extra_text=extra)
        adapter = hub.channels.get(msg.channel)
        if adapter is not None and adapter.phone_request and not contact.phone:
            # Officers often need to call back: a channel that can ask for the phone does.
            await notify.request_phone(session, hub, report)
    return report


async def extend_report(hub: Hub, session: AsyncSession, report: Report, msg: InboundMessage) -> None:
    now = utcnow()
    text = msg.text.strip()
    if text:
        report.description = f"{report.description}\n{text}".strip()
    if msg.location and report.lat is None and not report.address:
        report.lat, report.lon = msg.location.lat, msg.location.lon
        report.address, report.ward = msg.location.address, msg.location.ward
    report.external_ids = [*(report.external_ids or []), msg.external_id]
    _remember_message_key(report, msg)
    report.last_message_at = max(report.last_message_at, msg.sent_at or now)
    report.updated_at = now
    await add_attachments(hub, session, report, msg)
    lifecycle.record(session, report, actor="citizen", kind="message",
                     note=text or f"bổ sung {len(msg.attachments)} tệp đính kèm", public=False)
    if report.status in ("received", "triage") and report.agency_id is None:
        # Still with the center: the added text may now be enough to route it.
        analyze_report(hub, report, msg.meta.get("category_hint"))
        if report.status == "triage":
            await route_new_report(hub, session, report, from_triage=True)
    elif report.agency_id and report.status in ("forwarded", "in_progress") and text:
        await tell_agency_of_followup(hub, session, report, text)


async def tell_agency_of_followup(hub: Hub, session: AsyncSession, report: Report,
                                  text: str) -> None:
    """The agency already has the report (a delivery went out): what the citizen adds now is
    sent after it. Before that, the first delivery carries the whole assembled text."""
    delivered = (await session.execute(select(OutboxMessage.id).where(
        OutboxMessage.report_id == report.id,
        OutboxMessage.purpose.in_(("agency_email", "agency_webhook")),
        OutboxMessage.state == "sent").limit(1))).scalar()
    if delivered is not None:
        await enqueue_agency_delivery(hub, session, report, event="report.citizen_message",
                                      template="agency_citizen_message", note=text)


def _remember_message_key(report: Report, msg: InboundMessage) -> None:
    """Channels whose edits name the provider's message id rather than our intake key (Telegram:
    message_id vs update_id) pass it as meta["message_key"]: kept with its text on the report."""
    key = msg.meta.get("message_key")
    if key:
        texts = dict((report.extra or {}).get("message_texts") or {})
        report.extra = {**(report.extra or {}), "message_texts": {**texts, key: msg.text.strip()}}


async def add_attachments(hub: Hub, session: AsyncSession, report: Report,
                          msg: InboundMessage) -> None:
    media_dir, cap = hub.media_dir, hub.max_attachment_bytes
    for ref in msg.attachments:
        att = Attachment(report_id=report.id, channel=msg.channel, kind=ref.kind,
                         source_url=ref.url, name=ref.name, content_type=ref.content_type,
                         size=ref.size)
        if ref.data is not None:
            if len(ref.data) > cap:
                att.state, att.error = "refused", f"file exceeds {cap} bytes"
            else:
                att.sha256, _ = store_bytes(media_dir, ref.data)
                att.size, att.state = len(ref.data), "stored"
        elif not ref.url:
            att.state, att.error = "refused", "no URL and no data"
        elif ref.kind == "link":
            att.state = "linked"
        session.add(att)
        if att.state == "pending":
            hub.media_wakeup.set()
