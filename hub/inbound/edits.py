"""A citizen edited an earlier message: the report's text follows."""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import InboundMessage
from router import lifecycle
from store.models import Contact, InboxEvent, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


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
