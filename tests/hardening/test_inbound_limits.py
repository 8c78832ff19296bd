"""Probes 7 and 10: provider clocks and free text are bounded where every channel's messages are
applied (hub/inbound/limits.py); Zalo events must be for our app and inside the replay window."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.zalo.adapter import stale_event
from hub.inbound.limits import FIELD_MAX, TEXT_MAX
from store.models import Contact, InboxEvent, Report, utcnow
from tests.conftest import wait_for
from tests.hardening.conftest import zalo_event
from tests.messenger.conftest import batch, message

YEAR_2100_MS = 4_102_444_800_000


async def _report(hub):
    async def check():
        async with hub.hub.sessions() as session:
            return (await session.execute(select(Report))).scalars().first()
    return await wait_for(check)


async def test_a_message_dated_2100_is_clamped_to_its_receipt(channels_hub):
    hub = await channels_hub()
    raw = json.dumps(batch([message("psid-2100", "mid.2100", "Cống thoát nước bị tắc ở Kim Long",
                                    ts=YEAR_2100_MS)])).encode()
    assert (await hub.messenger(raw)).status == 200
    report = await _report(hub)
    assert abs(report.last_message_at - utcnow()) < timedelta(minutes=5)
    async with hub.hub.sessions() as session:
        contact = (await session.execute(select(Contact))).scalars().one()
        due = [r for r in (await session.execute(select(InboxEvent))).scalars()]
    assert contact.last_inbound_at < utcnow() + timedelta(minutes=5)
    assert all(e.state == "done" for e in due)
    # The citizen's next message (now) still folds into the same report.
    raw = json.dumps(batch([message("psid-2100", "mid.2100b", "ở gần chợ")])).encode()
    assert (await hub.messenger(raw)).status == 200

    async def extended():
        async with hub.hub.sessions() as session:
            rows = (await session.execute(select(Report))).scalars().all()
            return rows if len(rows[0].external_ids) == 2 else None
    rows = await wait_for(extended)
    assert len(rows) == 1


def test_zalo_window():
    now = 1_767_252_600_000
    assert stale_event(str(now), 72, now) is None
    assert stale_event(str(YEAR_2100_MS), 72, now) == "event timestamp is in the future"
    assert stale_event(str(now - 73 * 3_600_000), 72, now).startswith("event timestamp is too old")
    assert stale_event(str(now - 73 * 3_600_000), 0, now) is None
    assert stale_event("abc", 72, now) == "event timestamp missing or not a number"


async def test_zalo_event_dated_2100_or_for_another_app_is_refused(channels_hub):
    hub = await channels_hub(run_workers=False, channels={"zalo": {"max_event_age_hours": 24}})
    assert (await hub.zalo(zalo_event(ts_ms=YEAR_2100_MS))).status == 400
    assert (await hub.zalo(zalo_event(ts_ms=int(time.time() * 1000) - 25 * 3_600_000))).status == 400
    assert (await hub.zalo(zalo_event(app_id="1234567890"))).status == 403
    async with hub.hub.sessions() as session:
        assert (await session.execute(select(InboxEvent))).scalars().all() == []
    assert (await hub.zalo(zalo_event())).status == 200


async def test_long_text_and_names_are_cut_and_nuls_removed(channels_hub):
    hub = await channels_hub()
    update = {"update_id": 77, "message": {
        "message_id": 3, "date": int(time.time()),
        "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Bảo\x00" + "x" * 300_000},
        "text": "Rác\x00 " + "đầy đường " * 35_000}}
    raw = json.dumps(update, ensure_ascii=False).encode()
    assert len(raw) < 1_000_000
    assert (await hub.telegram(raw)).status == 200
    report = await _report(hub)
    assert len(report.description) <= TEXT_MAX and "\x00" not in report.description
    assert report.description.startswith("Rác ")
    async with hub.hub.sessions() as session:
        contact = (await session.execute(select(Contact))).scalars().one()
    assert contact.name is None or (len(contact.name) <= FIELD_MAX["name"] and "\x00" not in contact.name)


@pytest.mark.postgres
async def test_nul_bytes_reach_postgres_cleanly(db_url, channels_hub):
    if not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL variant of the NUL test")
    hub = await channels_hub(db_url)
    raw = json.dumps(batch([message("psid-nul", "mid.nul", "Đèn\x00 đường hỏng\x00")])).encode()
    assert (await hub.messenger(raw)).status == 200
    report = await _report(hub)
    assert report.description == "Đèn đường hỏng"


def test_numbers_where_text_belongs_are_bounded_as_text():
    """Found by bench/fuzz.py: a Telegram video whose file_name was a number crashed the worker
    (python-telegram-bot keeps the JSON types as sent)."""
    from hub.inbound.limits import bound_message
    from normalizer.schema import AttachmentRef, ContactInfo, InboundMessage, Location

    msg = InboundMessage(channel="telegram", external_id="1", sender_id="5", text="Rác",
                         attachments=[AttachmentRef(kind="video", name=12345)],  # type: ignore[arg-type]
                         contact=ContactInfo(name=7, phone=905123456),  # type: ignore[arg-type]
                         location=Location(lat=1.0, lon=2.0, address=42))  # type: ignore[arg-type]
    bound_message(msg)
    assert msg.attachments[0].name == "12345" and msg.contact.name == "7"
    assert msg.location.address == "42"
