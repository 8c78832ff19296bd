"""Delivery receipts and bounces for our own outbound messages."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import DeliveryResult, InboundMessage
from router import lifecycle
from router.fallback import reroute_failed_message
from store.models import OutboxMessage, Report, Suppression, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


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


async def lift_suppression(session: AsyncSession, msg: InboundMessage) -> None:
    """A citizen writing from an address we stopped sending to (it bounced: a full mailbox, a
    server down that day) shows the address works again: sending there resumes. Only mail
    suppresses addresses, so other channels cost no query."""
    if msg.channel != "email":
        return
    address = str(msg.meta.get("reply_address", msg.sender_id) or "").strip().lower()
    if msg.kind != "message" or not address:
        return
    result = await session.execute(delete(Suppression).where(
        Suppression.channel == msg.channel, func.lower(Suppression.address) == address))
    if result.rowcount:
        log.info("email address suppressed after a bounce wrote to us: sending there again")
