"""Contacts of a batch (hub.inbound.contacts): every sender gets a row up front (empty: a
message not applied in this transaction must leave no trace in it), each message's upsert then
sets what it says in arrival order; an existing row is updated the same way."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hub.app import close_hub, open_hub
from hub.inbound.contacts import ensure_contacts, upsert_contact
from normalizer.schema import ContactInfo, InboundMessage
from store.models import Contact
from tests.conftest import make_settings

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def msg(sender: str, n: int, *, name: str | None = None, phone: str | None = None,
        minutes: int = 0) -> InboundMessage:
    return InboundMessage(channel="zalo", external_id=f"z{sender}-{n}", sender_id=sender,
                          text="Đèn đường hỏng", sent_at=T0 + timedelta(minutes=minutes),
                          contact=ContactInfo(name=name, phone=phone) if name or phone else None)


async def contacts(hub) -> dict[str, tuple]:  # noqa: ANN001
    async with hub.sessions() as session:
        return {c.channel_user_id: (c.name, c.phone, c.last_inbound_at)
                for c in (await session.execute(select(Contact))).scalars()}


async def test_contacts_follow_the_applied_messages_only(db_url: str, tmp_path: Path) -> None:
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        async with hub.sessions() as session:
            session.add(Contact(channel="zalo", channel_user_id="old", name="Lan",
                                last_inbound_at=T0 - timedelta(days=1)))
            await session.commit()
        batch = [msg("new1", 1, name="Minh", phone="+84935111222"),
                 msg("new2", 1), msg("new2", 2, name="Hoa", minutes=5),
                 msg("old", 1, phone="+84905000111", minutes=1),
                 msg("late", 1, name="Tuấn", phone="+84914000222", minutes=2)]
        async with hub.sessions() as session:
            await ensure_contacts(session, batch)
            for m in batch[:4]:  # the transaction ends before the last message (its budget)
                await upsert_contact(session, m)
            await session.commit()
        assert await contacts(hub) == {
            "new1": ("Minh", "+84935111222", T0),
            "new2": ("Hoa", None, T0 + timedelta(minutes=5)),
            "old": ("Lan", "+84905000111", T0 + timedelta(minutes=1)),
            "late": (None, None, None)}  # its row exists, nothing of its message yet
        async with hub.sessions() as session:
            await ensure_contacts(session, batch[4:])
            await upsert_contact(session, batch[4])
            await session.commit()
        assert (await contacts(hub))["late"] == ("Tuấn", "+84914000222", T0 + timedelta(minutes=2))
    finally:
        await close_hub(hub)
