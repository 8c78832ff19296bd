"""Inbox event → report, in one transaction per event.

The channel adapter parses the raw payload (pure) into InboundMessages; this package applies them
to the store, one module per kind of message: contacts, assembly (new or extended reports and
their attachments; status lookups and ratings), conversation (the intake dialogue on a report,
and routing when it or the assembly window ends), edits, receipts (delivery receipts and
bounces); bot commands and lookups are answered by ``router.commands``. Because everything — including the acknowledgement in the outbox and the inbox row's
``done`` mark — commits together, a crash at any point leaves the event to be processed again
and never half-applied.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hub.inbound.assembly import apply_citizen_message
from hub.inbound.contacts import attach_contact_to_open_report, upsert_contact
from hub.inbound.edits import apply_edit, bring_held_edits_forward
from hub.inbound.limits import bound_message, clamp_times
from hub.inbound.receipts import apply_delivery, lift_suppression
from hub.inbound.resend import resend_after_window
from normalizer.schema import InboundMessage
from router.commands import answer_command, answer_lookup
from store.models import InboxEvent, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


class UnknownChannel(Exception):
    pass


async def process_event(hub: Hub, session: AsyncSession, event: InboxEvent) -> Report | None:
    return await apply_event(hub, session, event, parse_event(hub, event))


def parse_event(hub: Hub, event: InboxEvent) -> list[InboundMessage]:
    """Pure: the event's messages, bounded and with sane times. Raises for a poison event (no
    adapter, unreadable payload), before any transaction, so it fails alone."""
    adapter = hub.channels.get(event.channel)
    if adapter is None:
        raise UnknownChannel(f"no enabled adapter for channel {event.channel!r}")
    payload = json.loads(event.payload)
    messages = adapter.parse(payload)
    skew = timedelta(minutes=hub.settings.intake.max_clock_skew_minutes)
    for msg in messages:  # one place for every channel: limits, NULs, provider clocks
        clamp_times(bound_message(msg), event.received_at or utcnow(), skew)
    return messages


class EventOutcome(Protocol):
    """What ``apply_event`` reads and sets of an inbox row: an ``InboxEvent``, or the inbox
    worker's plain row (hub.workers.ClaimedEvent), whose outcome it writes itself."""

    channel: str
    external_id: str
    state: str
    report_id: int | None
    processed_at: datetime | None
    error: str | None


async def apply_event(hub: Hub, session: AsyncSession, event: EventOutcome,
                      messages: list[InboundMessage]) -> Report | None:
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
    await lift_suppression(session, msg)
    await resend_after_window(hub, session, msg)
    if msg.kind == "contact":
        return await attach_contact_to_open_report(hub, session, contact, msg)
    if msg.kind == "command":
        await answer_command(session, hub, msg, contact)
        return None
    if msg.kind == "edit":
        return await apply_edit(hub, session, contact, msg)
    if not (msg.text.strip() or msg.attachments or msg.location) and msg.report_code:
        # A mail whose subject is a code ("PA-2026-000002", "Tra cứu PA-…") and whose body is
        # empty: a status lookup, as with a line of text (email walkthrough).
        await answer_lookup(session, hub, msg, msg.report_code, contact)
        return None
    if not (msg.text.strip() or msg.attachments or msg.location):
        # Nothing a report could be made of (a malformed but correctly signed event).
        log.info("empty %s message %s: no report", msg.channel, msg.external_id)
        hub.metrics.skipped.labels(msg.channel, "empty message").inc()
        return None
    report = await apply_citizen_message(hub, session, contact, msg)
    await bring_held_edits_forward(hub, session, msg)
    return report
