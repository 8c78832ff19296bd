"""A citizen edited an earlier message: the report's text follows.

Providers deliver out of order: an edit may come before the message it edits. Such an edit is
kept in the inbox — a copy of its raw event, ``<edit key>~edit@<n>``, pending a little later
(the worker's retry base, doubling, at most ``RETRY_MAX_SECONDS``) — and is applied when it comes
round after the message has made or joined a report; tried for ``PENDING_EDIT_SECONDS`` after the
edit arrived, or until the message itself was processed without making a report.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbound import conversation
from hub.inbound.assembly import reanalyse, still_with_center
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
        await _keep_for_later(hub, session, msg, original)
        return None
    mark = _edit_mark(msg)
    marks = dict((report.extra or {}).get("message_edit_marks") or {})
    if original in marks and mark < list(marks[original]):
        # A kept edit coming round after a later edit of the same message: the later one stands.
        log.info("older edit of %s message %s not applied", msg.channel, original)
        return report
    # Channels that do not send the previous text (Messenger, Telegram): the text this message
    # last had is the latest one stored, else the original event's (parse is pure: re-parse it).
    texts = dict((report.extra or {}).get("message_texts") or {})
    old_text = msg.meta.get("previous_text") or texts.get(original) or (
        _original_text(hub, msg.channel, payload, original) if payload else None)
    if old_text and old_text in report.description:
        report.description = report.description.replace(old_text, msg.text, 1)
    else:
        report.description = f"{report.description}\n{msg.text}".strip()
    report.extra = {**(report.extra or {}), "message_texts": {**texts, original: msg.text},
                    "message_edit_marks": {**marks, original: mark}}
    report.updated_at = utcnow()
    lifecycle.record(session, report, actor="citizen", kind="message",
                     note=f"sửa tin nhắn: {msg.text}", public=False)
    if still_with_center(report):
        # The edited text may say what the report lacked ("Đèn đường ở kiệt 3 Nguyễn Huệ,
        # phường Thuận Hóa hỏng…"): analysed again as when text is added, and the dialogue
        # sees what is now known (the place question answered, the next one asked).
        in_triage = report.status == "triage"
        await reanalyse(hub, session, report, msg)
        if not in_triage and conversation.converses(hub, msg):
            await conversation.advance(hub, session, report, contact, msg)
    # Once with an agency the edit stays on the center's timeline: the agency is not told.
    return report


def _original_text(hub: Hub, channel: str, payload: str, external_id: str) -> str | None:
    adapter = hub.channels.get(channel)
    if adapter is None:
        return None
    return next((m.text.strip() for m in adapter.parse(json.loads(payload))
                 if m.external_id == external_id and m.text), None)


# How long an edit of a message not yet seen is kept, and the longest wait between two tries.
PENDING_EDIT_SECONDS = 3600.0
RETRY_MAX_SECONDS = 300.0
_RETRY_MARK = "~edit@"


def _edit_mark(msg: InboundMessage) -> list[float]:
    """Orders the edits of one message: Messenger's ``num_edit``, then the edit's time."""
    num = msg.meta.get("num_edit")
    stamp = msg.sent_at.timestamp() if isinstance(msg.sent_at, datetime) else 0.0
    return [float(num) if isinstance(num, int | float) and not isinstance(num, bool) else 0.0,
            stamp]


async def _keep_for_later(hub: Hub, session: AsyncSession, msg: InboundMessage,
                          original: str) -> None:
    """The edited message is not on any report (yet): queue the edit's event again, later."""
    base = (await session.execute(select(InboxEvent.payload, InboxEvent.received_at).where(
        InboxEvent.channel == msg.channel, InboxEvent.external_id == msg.external_id))).first()
    edited = (await session.execute(select(InboxEvent.state).where(
        InboxEvent.channel == msg.channel, InboxEvent.external_id == original))).scalar()
    if base is None or edited in ("done", "ignored", "parked"):
        # Not a stored edit event, or the message came and made no report (a command, a sticker).
        log.info("edit of unknown %s message %s ignored", msg.channel, original)
        return
    prefix = msg.external_id[:255 - len(_RETRY_MARK) - 4] + _RETRY_MARK
    tries = (await session.execute(select(func.count()).select_from(InboxEvent).where(
        InboxEvent.channel == msg.channel,
        InboxEvent.external_id.startswith(prefix, autoescape=True)))).scalar() or 0
    cfg = hub.settings.workers
    delay = min(cfg.retry_base_seconds * 2 ** tries, RETRY_MAX_SECONDS)
    now = utcnow()
    first_seen = base.received_at or now
    if now + timedelta(seconds=delay) > first_seen + timedelta(seconds=PENDING_EDIT_SECONDS):
        log.info("edit of unknown %s message %s ignored: the message did not come within %.0f "
                 "minutes", msg.channel, original, PENDING_EDIT_SECONDS / 60)
        return
    if len(hub.held_edits) < 10_000:
        hub.held_edits[(msg.channel, original)] = prefix
    session.add(InboxEvent(channel=msg.channel, external_id=f"{prefix}{tries + 1}",
                           payload=base.payload, received_at=first_seen, state="pending",
                           attempts=0, next_attempt_at=now + timedelta(seconds=delay)))
    log.info("edit of %s message %s came before the message: kept, tried again in %.0fs",
             msg.channel, original, delay)


async def bring_held_edits_forward(hub: Hub, session: AsyncSession, msg: InboundMessage) -> None:
    """The message an edit was held for has come: its held edit is due now (it is applied once
    this message's report is committed), not at its retry time up to RETRY_MAX_SECONDS away."""
    prefix = hub.held_edits.pop((msg.channel, msg.external_id), None) if hub.held_edits else None
    if prefix is None:
        return
    await session.execute(update(InboxEvent).where(
        InboxEvent.channel == msg.channel, InboxEvent.state == "pending",
        InboxEvent.external_id.startswith(prefix, autoescape=True)).values(next_attempt_at=utcnow()))
    hub.inbox_wakeup.set()
