"""Contacts of a batch (hub.inbound.contacts): a new contact's row starts as its first message's
upsert would leave it, so a one-message citizen's row needs no UPDATE; later messages of the
same transaction still update it in arrival order, and an existing row is left to the upserts."""
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
        minutes: int = 0, kind: str = "message") -> InboundMessage:
    return InboundMessage(channel="zalo", external_id=f"z{sender}-{n}", sender_id=sender, kind=kind,
                          text="Đèn đường hỏng", sent_at=T0 + timedelta(minutes=minutes),
                          contact=ContactInfo(name=name, phone=phone) if name or phone else None)


async def test_new_contacts_start_from_their_first_message(db_url: str, tmp_path: Path) -> None:
    hub = await open_hub(make_settings(tmp_path, db_url))
    try:
        async with hub.sessions() as session:
            # an existing contact, last seen yesterday
            session.add(Contact(channel="zalo", channel_user_id="old", name="Lan",
                                last_inbound_at=T0 - timedelta(days=1)))
            await session.commit()
        batch = [msg("new1", 1, name="Minh", phone="+84935111222"),
                 msg("new2", 1), msg("new2", 2, name="Hoa", minutes=5),
                 msg("old", 1, phone="+84905000111", minutes=1)]
        async with hub.sessions() as session:
            await ensure_contacts(session, batch)
            first = await upsert_contact(session, batch[0])
            # the first message's upsert changes nothing on the new row: no UPDATE to flush
            assert first not in session.dirty
            assert (first.name, first.phone, first.last_inbound_at) == ("Minh", "+84935111222", T0)
            second = await upsert_contact(session, batch[1])
            assert second.name is None  # not yet: the name comes with the next message
            await upsert_contact(session, batch[2])
            assert second in session.dirty
            old = await upsert_contact(session, batch[3])
            assert old in session.dirty
            await session.commit()
        async with hub.sessions() as session:
            rows = {c.channel_user_id: (c.name, c.phone, c.last_inbound_at)
                    for c in (await session.execute(select(Contact))).scalars()}
        assert rows == {"new1": ("Minh", "+84935111222", T0),
                        "new2": ("Hoa", None, T0 + timedelta(minutes=5)),
                        "old": ("Lan", "+84905000111", T0 + timedelta(minutes=1))}
    finally:
        await close_hub(hub)
