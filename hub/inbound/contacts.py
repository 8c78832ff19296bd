"""Contacts: who wrote (one row per channel user), kept up to date by every event."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer.schema import OPEN_STATUSES, InboundMessage
from router import lifecycle
from store.models import Contact, Report, utcnow

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


READY = "contacts_ready"  # session.info key: (channel, sender) rows ensure_contacts inserted


def needs_contact(msg: InboundMessage) -> bool:
    return msg.kind not in ("ignore", "delivery")


async def ensure_contacts(session: AsyncSession, messages: list[InboundMessage]) -> None:
    """Batch: every sender of these messages has a contact row, in ONE statement; the
    per-message upsert then only reads (and locks, on PostgreSQL) its row."""
    # sorted: replicas inserting overlapping senders take the unique index's locks in one order
    keys = sorted({(m.channel, m.sender_id) for m in messages if needs_contact(m)})
    if not keys:
        return
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    for start in range(0, len(keys), 500):  # bound the statement's parameters
        await session.execute(insert(Contact).values([
            {"channel": c, "channel_user_id": s, "state": "active", "extra": {}, "created_at": now,
             "updated_at": now} for c, s in keys[start:start + 500]])
            .on_conflict_do_nothing(index_elements=["channel", "channel_user_id"]))
    session.info.setdefault(READY, set()).update(keys)


async def upsert_contact(session: AsyncSession, msg: InboundMessage) -> Contact:
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    if (msg.channel, msg.sender_id) not in session.info.get(READY, ()):
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


async def attach_contact_to_open_report(hub: Hub, session: AsyncSession, contact: Contact,
                                        msg: InboundMessage) -> Report | None:
    """Contact-only events (shared phone, follow) update the contact; the open report, if any,
    reads the contact, so it sees the phone at once."""
    report = (await session.execute(
        select(Report).where(Report.contact_id == contact.id,
                             Report.status.in_(OPEN_STATUSES))
        .order_by(Report.id.desc()).limit(1))).scalar_one_or_none()
    if report is not None and msg.contact is not None:
        lifecycle.record(session, report, actor="citizen", kind="note",
                         note="công dân cung cấp thông tin liên hệ", public=False)
        if msg.contact.phone and report.channel == msg.channel:
            # The answer to the dialogue's phone question (a share-phone button or card).
            from hub.inbound.conversation import advance

            await advance(hub, session, report, contact, msg)
    return None
