"""Contacts: who wrote (one row per channel user), kept up to date by every event."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from normalizer import dialogue
from normalizer.schema import OPEN_STATUSES, InboundMessage
from router import lifecycle
from store.models import Contact, Report, utcnow
from store.txn import txn_scoped

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.inbox")


LOADED = "contacts_loaded"  # {(channel, sender): Contact} read (and locked) by this transaction


def needs_contact(msg: InboundMessage) -> bool:
    return msg.kind not in ("ignore", "delivery")


async def ensure_contacts(session: AsyncSession, messages: list[InboundMessage]) -> None:
    """Batch: every sender of these messages has a contact row — inserted in ONE executemany
    statement, read back in one query per channel (locked, on PostgreSQL: the messages of one
    citizen are applied by one worker at a time, so assembly sees its own writes). The
    per-message upsert then finds its row here, without a query."""
    # sorted: replicas inserting and locking overlapping senders take the locks in one order
    keys = sorted({(m.channel, m.sender_id) for m in messages if needs_contact(m)})
    loaded: dict[tuple[str, str], Contact] = await txn_scoped(session, LOADED, dict)
    keys = [k for k in keys if k not in loaded]
    if not keys:
        return
    postgres = session.bind.dialect.name == "postgresql"
    insert = pg_insert if postgres else sqlite_insert
    now = utcnow()
    # Empty rows: what a citizen's messages say is set by their upserts as each is applied (the
    # worker's transaction may end before some of these messages, which then go to the next one,
    # or fail: a row filled here from them would be committed without them).
    await session.execute(
        insert(Contact).on_conflict_do_nothing(index_elements=["channel", "channel_user_id"]),
        [{"channel": c, "channel_user_id": s, "state": "active", "extra": {}, "created_at": now,
          "updated_at": now} for c, s in keys])
    by_channel: dict[str, list[str]] = {}
    for channel, sender in keys:
        by_channel.setdefault(channel, []).append(sender)
    for channel, senders in by_channel.items():
        for start in range(0, len(senders), 500):  # bound the statement's parameters
            query = (select(Contact).where(Contact.channel == channel,
                                           Contact.channel_user_id.in_(senders[start:start + 500]))
                     .order_by(Contact.channel_user_id))
            if postgres:
                query = query.with_for_update()
            for contact in (await session.execute(query)).scalars():
                loaded[(contact.channel, contact.channel_user_id)] = contact


async def upsert_contact(session: AsyncSession, msg: InboundMessage) -> Contact:
    now = utcnow()
    loaded = await txn_scoped(session, LOADED, dict)
    if (msg.channel, msg.sender_id) not in loaded:
        await ensure_contacts(session, [msg])
    contact = loaded[(msg.channel, msg.sender_id)]
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
        # After a day of silence a chat channel's window had closed: messages it kept back may
        # wait for this one (hub/inbound/resend.py asks only then: it costs a query).
        msg.meta["window_reopened"] = contact.last_inbound_at is not None and (
            at - contact.last_inbound_at > WINDOW_CLOSES_AFTER)
        if contact.last_inbound_at is None or at > contact.last_inbound_at:
            contact.last_inbound_at = at
    _carry_category_hint(contact, msg, now)
    return contact


# Messenger's standard window (Zalo's are longer): no message can have died for a closed window
# while the citizen wrote more often than this.
WINDOW_CLOSES_AFTER = timedelta(hours=24)

# A category button tapped alone (Messenger's CATEGORY_* postback: a "category" command) names
# the category of what the citizen writes next, if it comes within this time.
CATEGORY_HINT_MINUTES = 60


def _carry_category_hint(contact: Contact, msg: InboundMessage, now: datetime) -> None:
    """Kept on the contact by the category command; the citizen's next message takes it (as
    its meta's ``category_hint``, which the report's analysis uses) unless it names its own."""
    extra = contact.extra or {}
    if msg.kind == "command" and msg.meta.get("command") == "category":
        hint = msg.meta.get("category_hint")
        kept = {k: v for k, v in extra.items() if k != "category_hint"}
        contact.extra = {**kept, "category_hint": {
            "category": hint, "at": (msg.sent_at or now).isoformat()}} if hint else kept
    elif msg.kind == "message" and isinstance(extra.get("category_hint"), dict) and not (
            not (msg.attachments or msg.location) and (
                dialogue.says_nothing(msg.text) or dialogue.small_talk(msg.text))):
        # (a "👍", "ok" or "chào ad" in between describes nothing: the hint waits for the report)
        pending = extra["category_hint"]
        contact.extra = {k: v for k, v in extra.items() if k != "category_hint"}
        try:
            at = datetime.fromisoformat(str(pending.get("at")))
        except ValueError:
            return
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if (msg.sent_at or now) - at <= timedelta(minutes=CATEGORY_HINT_MINUTES) and \
                pending.get("category") and not msg.meta.get("category_hint"):
            msg.meta["category_hint"] = pending["category"]


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
