"""End to end: an export is imported, serve's inbox worker turns each call into a report with the
call time, the caller's phone, the operator and the category; the receipt and a status update
reach the caller by the SMS gateway (a fake on loopback)."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from channels.hotline.importer import import_file
from channels.hotline.records import ReaderOptions
from hub.keys import HUB_KEY
from router import lifecycle
from store.models import Contact, OutboxMessage, Report
from tests.conftest import wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "hotline"
NOW = datetime(2026, 11, 6, 0, 0, tzinfo=UTC)


async def test_calls_become_reports_and_callers_hear_back(settings_factory: Any, hub_client: Any,
                                                          fake_api: Any) -> None:
    api = await fake_api()
    api.on("POST", "/sms", default={"id": "sms-ok"})
    settings = settings_factory(channels={"hotline": {
        "enabled": True, "sms_gateway_url": f"{api.url}/sms", "sms_max_chars": 320}})
    client = await hub_client(settings)
    hub = client.app[HUB_KEY]
    opts = ReaderOptions(now=NOW)
    first = await import_file(hub.intake.submit_many, FIXTURES / "calls__utf8_bom_semicolon.csv", opts)
    anonymous = await import_file(hub.intake.submit_many, FIXTURES / "calls__bad_rows.csv", opts)
    assert (first.imported, anonymous.imported) == (3, 3)

    async def reports() -> list[Report]:
        async with hub.sessions() as session:
            rows = (await session.execute(select(Report).order_by(Report.id))).scalars().all()
            return rows if len(rows) == 6 else []
    hl01, hl02, hl03, b4, b7, b8 = await wait_for(reports)
    assert [r.channel for r in (hl01, hl02, hl03, b4, b7, b8)] == ["hotline"] * 6
    # A caller number that cannot exist ("0905 12", "1900 1234"): the call is a report, no
    # reply goes to it, and the number as typed waits for the operator to check.
    assert (b4.extra["caller_unverified"], b7.extra["caller_unverified"]) == ("0905 12", "1900 1234")
    assert not b4.reply_address and not b7.reply_address and "caller_unverified" not in b8.extra
    assert hl01.created_at == datetime(2026, 11, 5, 7, 2, tzinfo=UTC)
    assert hl01.reply_address == "+84905123456" and hl01.external_ids == ["call:HL-01"]
    assert hl01.category == "construction_order" and hl01.agency_id == "so-xay-dung"
    assert hl01.address == "45 Nguyễn Huệ; phường Thuận Hóa"
    assert hl01.extra["operator"] == "Nguyễn Thị Lan"
    assert hl02.category == "public_service" and hl03.category == "public_order"
    assert not b8.reply_address
    async with hub.sessions() as session:
        contact = await session.get(Contact, hl01.contact_id)
        assert (contact.channel, contact.channel_user_id, contact.phone, contact.name) == (
            "hotline", "+84905123456", "+84905123456", "Trần Văn An")

    # Receipts: the two recent calls get one; the call older than ack_max_age_hours and the
    # withheld number get none.
    async def receipts() -> list[Any]:
        calls = api.calls_to("/sms")
        return calls if len(calls) >= 2 else []
    sms = await wait_for(receipts)
    assert sorted(c.json()["to"] for c in sms) == ["+842343822123", "+84905123456"]
    assert any(hl01.code in c.json()["text"] for c in sms)
    async with hub.sessions() as session:
        channels = (await session.execute(select(OutboxMessage.channel, OutboxMessage.address)
                                          .where(OutboxMessage.purpose == "citizen"))).all()
    assert sorted(channels) == [("hotline", "+842343822123"), ("hotline", "+84905123456")]

    # A status update reaches the caller by SMS too.
    async with hub.sessions() as session, session.begin():
        report = await session.get(Report, hl01.id)
        lifecycle.set_status(session, report, "in_progress", actor="so-xay-dung")
        await lifecycle.notify_citizen(session, hub, report, "in_progress")

    async def update_sent() -> bool:
        return any("đang được" in c.json()["text"] and hl01.code in c.json()["text"]
                   for c in api.calls_to("/sms"))
    await wait_for(update_sent)
    async with hub.sessions() as session:
        sent = (await session.execute(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.state == "sent",
                                             OutboxMessage.purpose == "citizen"))).scalar()
    assert sent == 3
    assert len(api.calls_to("/sms")) == 3
