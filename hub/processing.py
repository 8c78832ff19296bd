"""Inbox event → report, in one transaction per event.

The channel adapter parses the raw payload (pure) into InboundMessages; this module applies them
to the store: contacts, new or extended reports, attachments, edits, delivery receipts, bot
commands. Because everything — including the acknowledgement in the outbox and the inbox row's
``done`` mark — commits together, a crash at any point leaves the event to be processed again
and never half-applied.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.media import store_bytes
from normalizer.schema import CHAT_CHANNELS, InboundMessage
from router import lifecycle
from router.assign import analyze_report, route_new_report
from router.rating import apply_rating
from store.models import (
    Attachment,
    Contact,
    InboxEvent,
    OutboxMessage,
    Report,
    Suppression,
    utcnow,
)

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


class UnknownChannel(Exception):
    pass


async def process_event(hub: Hub, session: AsyncSession, event: InboxEvent) -> Report | None:
    adapter = hub.channels.get(event.channel)
    if adapter is None:
        raise UnknownChannel(f"no enabled adapter for channel {event.channel!r}")
    payload = json.loads(event.payload)
    messages = adapter.parse(payload)
    report: Report | None = None
    for msg in messages:
        report = await apply_message(hub, session, msg) or report
    if not messages:
        log.info("inbox event %s/%s carried nothing to process", event.channel, event.external_id)
    event.state = "done" if report is not None else "ignored"
    event.report_id = report.id if report is not None else None
    event.processed_at = utcnow()
    event.error = None
    return report


async def apply_message(hub: Hub, session: AsyncSession, msg: InboundMessage) -> Report | None:
    if msg.kind == "ignore":
        log.info("ignored %s event %s: %s", msg.channel, msg.external_id,
                 msg.meta.get("reason", "not a citizen message"))
        hub.metrics.skipped.labels(msg.channel, str(msg.meta.get("reason", "ignored"))[:40]).inc()
        return None
    if msg.kind == "delivery":
        await apply_delivery(session, msg, hub)
        return None
    contact = await upsert_contact(session, msg)
    if msg.kind == "contact":
        return await attach_contact_to_open_report(hub, session, contact, msg)
    if msg.kind == "command":
        await answer_command(hub, session, contact, msg)
        return None
    if msg.kind == "edit":
        return await apply_edit(hub, session, contact, msg)
    if not (msg.text.strip() or msg.attachments or msg.location):
        # Nothing a report could be made of (a malformed but correctly signed event).
        log.info("empty %s message %s: no report", msg.channel, msg.external_id)
        hub.metrics.skipped.labels(msg.channel, "empty message").inc()
        return None
    return await apply_citizen_message(hub, session, contact, msg)


async def upsert_contact(session: AsyncSession, msg: InboundMessage) -> Contact:
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    await session.execute(
        insert(Contact).values(channel=msg.channel, channel_user_id=msg.sender_id, state="active",
                               extra={}, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "channel_user_id"]))
    query = select(Contact).where(Contact.channel == msg.channel,
                                  Contact.channel_user_id == msg.sender_id)
    if dialect == "postgresql":
        # Serializes the messages of one citizen across workers, so assembly sees its own writes.
        query = query.with_for_update()
    contact = (await session.execute(query)).scalar_one()
    info = msg.contact
    if info is not None:
        contact.name = info.name or contact.name
        contact.phone = info.phone or contact.phone
        contact.email = info.email or contact.email
    if msg.meta.get("contact_state"):
        contact.state = msg.meta["contact_state"]
    if msg.meta.get("contact_address"):
        contact.address = msg.meta["contact_address"]
    if msg.kind in ("message", "edit", "command", "contact") and msg.meta.get("citizen_initiated", True):
        at = msg.sent_at or now
        if contact.last_inbound_at is None or at > contact.last_inbound_at:
            contact.last_inbound_at = at
    return contact


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
    if msg.channel not in CHAT_CHANNELS:
        return None
    window = timedelta(minutes=hub.settings.intake.assembly_window_minutes)
    since = (msg.sent_at or utcnow()) - window
    return (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == msg.channel,
                             Report.status.in_(lifecycle.OPEN_STATUSES),
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
                                                                       "category_hint")})
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
            from router.templates import render

            extra = render("ack_missing_place")
        await lifecycle.notify_citizen(session, hub, report,
                                       "ack_forwarded" if agency else "ack", extra_text=extra)
        adapter = hub.channels.get(msg.channel)
        if adapter is not None:
            await adapter.after_new_report(session, report, contact)
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


def _remember_message_key(report: Report, msg: InboundMessage) -> None:
    """Channels whose edits name the provider's message id rather than our intake key (Telegram:
    message_id vs update_id) pass it as meta["message_key"]: kept with its text on the report."""
    key = msg.meta.get("message_key")
    if key:
        texts = dict((report.extra or {}).get("message_texts") or {})
        report.extra = {**(report.extra or {}), "message_texts": {**texts, key: msg.text.strip()}}


async def _edited_report(session: AsyncSession, contact: Contact, msg: InboundMessage,
                         original: str) -> tuple[Report | None, str | None]:
    """The report holding the edited message, and the stored payload of its inbox row if the
    edit names our intake key."""
    row = (await session.execute(
        select(InboxEvent.report_id, InboxEvent.payload).where(
            InboxEvent.channel == msg.channel, InboxEvent.external_id == original))).first()
    if row is not None and row.report_id is not None:
        return await session.get(Report, row.report_id), row.payload
    recent = (await session.execute(
        select(Report).where(Report.contact_id == contact.id, Report.channel == msg.channel)
        .order_by(Report.id.desc()).limit(20))).scalars()
    return next((r for r in recent if original in ((r.extra or {}).get("message_texts") or {})),
                None), None


async def apply_edit(hub: Hub, session: AsyncSession, contact: Contact,
                     msg: InboundMessage) -> Report | None:
    original = msg.meta.get("edited_external_id") or msg.external_id
    report, payload = await _edited_report(session, contact, msg, original)
    if report is None:
        log.info("edit of unknown %s message %s ignored", msg.channel, original)
        return None
    # Channels that do not send the previous text (Messenger, Telegram): the text this message
    # last had is the latest one stored, else the original event's (parse is pure: re-parse it).
    texts = dict((report.extra or {}).get("message_texts") or {})
    old_text = msg.meta.get("previous_text") or texts.get(original) or (
        _original_text(hub, msg.channel, payload, original) if payload else None)
    if old_text and old_text in report.description:
        report.description = report.description.replace(old_text, msg.text, 1)
    else:
        report.description = f"{report.description}\n{msg.text}".strip()
    report.extra = {**(report.extra or {}), "message_texts": {**texts, original: msg.text}}
    report.updated_at = utcnow()
    lifecycle.record(session, report, actor="citizen", kind="message",
                     note=f"sửa tin nhắn: {msg.text}", public=False)
    return report


def _original_text(hub: Hub, channel: str, payload: str, external_id: str) -> str | None:
    adapter = hub.channels.get(channel)
    if adapter is None:
        return None
    return next((m.text.strip() for m in adapter.parse(json.loads(payload))
                 if m.external_id == external_id and m.text), None)


async def add_attachments(hub: Hub, session: AsyncSession, report: Report,
                          msg: InboundMessage) -> None:
    media_dir = hub.settings.path(hub.settings.storage.media_dir)
    cap = hub.settings.storage.max_attachment_bytes
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


async def attach_contact_to_open_report(hub: Hub, session: AsyncSession, contact: Contact,
                                        msg: InboundMessage) -> Report | None:
    """Contact-only events (shared phone, follow) update the contact; the open report, if any,
    reads the contact, so it sees the phone at once."""
    report = (await session.execute(
        select(Report).where(Report.contact_id == contact.id,
                             Report.status.in_(lifecycle.OPEN_STATUSES))
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if report is not None and msg.contact is not None:
        lifecycle.record(session, report, actor="citizen", kind="note",
                         note="công dân cung cấp thông tin liên hệ", public=False)
    return None


FAILED_DELIVERY_STATES = ("bounced", "failed")


async def apply_delivery(session: AsyncSession, msg: InboundMessage, hub: Hub) -> None:
    state = msg.meta.get("delivery_state", "delivered")
    ids = msg.meta.get("provider_ids") or []
    if ids and state in FAILED_DELIVERY_STATES:
        await apply_failed_delivery(session, msg, state, ids, hub)
    elif ids:
        await session.execute(update(OutboxMessage).where(
            OutboxMessage.channel == msg.channel, OutboxMessage.provider_id.in_(ids))
            .values(delivery_state=state))
    watermark = msg.meta.get("watermark")
    if watermark is not None:
        await session.execute(update(OutboxMessage).where(
            OutboxMessage.channel == msg.channel, OutboxMessage.address == msg.sender_id,
            OutboxMessage.state == "sent", OutboxMessage.sent_at <= watermark)
            .values(delivery_state=state))


async def apply_failed_delivery(session: AsyncSession, msg: InboundMessage, state: str,
                                ids: list[str], hub: Hub) -> None:
    """A provider said our message never arrived (an email bounce): the outbox row goes dead
    with the reason, and the address is suppressed (meta["suppress_address"], and with
    meta["suppress"] the rows' own addresses) so we stop sending there. A citizen message that
    bounced goes on to the next contact point the citizen gave (router.fallback)."""
    reason = str(msg.meta.get("reason") or state)[:500]
    rows = (await session.execute(select(OutboxMessage).where(
        OutboxMessage.channel == msg.channel, OutboxMessage.provider_id.in_(ids)))).scalars().all()
    for row in rows:
        was_dead = row.state == "dead"
        row.state, row.delivery_state, row.last_error = "dead", state, reason
        if row.report_id is not None:
            report = await session.get(Report, row.report_id)
            if report is not None:
                lifecycle.record(session, report, actor="system", kind="delivery", public=False,
                                 note=f"gửi qua {row.channel} thất bại: {reason}")
                if row.purpose == "citizen" and not was_dead:
                    from normalizer.schema import DeliveryResult
                    from router.fallback import reroute_failed_message

                    await reroute_failed_message(hub, session, row, report, DeliveryResult.give_up(
                        reason, needs_other_route=True))
    addresses = {msg.meta["suppress_address"]} if msg.meta.get("suppress_address") else set()
    if msg.meta.get("suppress"):
        addresses |= {row.address for row in rows}
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    for address in addresses:
        await session.execute(insert(Suppression).values(
            channel=msg.channel, address=address, reason=reason, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["channel", "address"]))
    log.info("failed delivery on %s: %d outbox rows dead, %d addresses suppressed",
             msg.channel, len(rows), len(addresses))


async def answer_command(hub: Hub, session: AsyncSession, contact: Contact,
                         msg: InboundMessage) -> None:
    from normalizer.schema import OutboundMessage
    from router import templates
    from router.notify import outbound_row

    command = msg.meta.get("command", "")
    if command == "status" and msg.report_code:
        report = (await session.execute(
            select(Report).where(Report.code == msg.report_code))).scalar_one_or_none()
        if report is None:
            text = templates.render("status_unknown", code=msg.report_code)
        else:
            text = templates.render(
                "status", code=report.code,
                status_label=templates.STATUS_LABELS.get(report.status, report.status),
                updated=report.updated_at.strftime("%d/%m/%Y %H:%M"))
    elif command == "status":
        text = templates.render("status_unknown", code="(trống)")
    else:
        text = templates.render("welcome")
    session.add(outbound_row(channel=msg.channel, address=msg.meta.get("reply_address", msg.sender_id),
                             report=None, template=f"command:{command}",
                             message=OutboundMessage(text=text, reply_context=msg.reply_context)))
