"""End to end: webhook → inbox worker → report → acknowledgement on the fake Graph API; chat
assembly with attachments; edits; delivery receipts; the 24-hour window from real contacts."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from sqlalchemy import select

from store.models import Attachment, OutboxMessage, Report, ReportEvent
from tests.conftest import wait_for
from tests.messenger.conftest import PAGE_ID, batch, image, message, now_ms

PSID = "6623480917364512"
PHOTO = b"\xff\xd8\xff\xe0" + b"anh-o-ga-le-loi" * 200


async def _reports(m) -> list[Report]:
    return await m.reports()


async def _settled(m) -> None:
    await m.settled()


async def test_acknowledgement_reaches_graph_with_recipient_type_and_code(messenger) -> None:
    m = await messenger()
    body = batch([message(PSID, "m_ack_1", "Rác thải ùn ứ trước chợ Đông Ba, phường Phú Xuân")])
    assert (await m.post(body)).status == 200

    async def sent() -> list:
        return m.sends()
    [ack] = await wait_for(sent)
    [report] = await _reports(m)
    assert ack["recipient"] == {"id": PSID} and ack["messaging_type"] == "RESPONSE"
    assert report.code in ack["message"]["text"] and "Mã phản ánh" in ack["message"]["text"]
    assert "tiếp nhận phản ánh" in ack["message"]["text"]

    async def row_sent() -> OutboxMessage | None:
        async with m.hub.sessions() as session:
            row = (await session.execute(select(OutboxMessage))).scalar_one()
            return row if row.state == "sent" else None
    row = await wait_for(row_sent)
    assert (row.address, row.provider_id) == (PSID, "m_out_1")

    # Meta then reports delivery and read; the outbox row records both.
    receipt = batch([{"sender": {"id": PSID}, "recipient": {"id": PAGE_ID},
                      "delivery": {"mids": ["m_out_1"], "watermark": now_ms()}}])
    assert (await m.post(receipt)).status == 200

    async def delivered() -> str | None:
        async with m.hub.sessions() as session:
            return (await session.execute(select(OutboxMessage.delivery_state))).scalar_one()
    assert await wait_for(delivered) == "delivered"
    read = batch([{"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                   "read": {"watermark": now_ms(1)}}])
    assert (await m.post(read)).status == 200

    async def seen() -> bool:
        return await delivered() == "read"
    await wait_for(seen)


async def test_messages_of_one_sender_assemble_into_one_report(messenger) -> None:
    m = await messenger()
    m.graph.on("GET", "/cdn/o-ga.jpg", (200, PHOTO))
    m.graph.on("GET", "/cdn/elsewhere.jpg", (200, b"never fetched"))
    port = urlsplit(m.graph.url).port
    allowed = f"{m.graph.url}/cdn/o-ga.jpg"
    other_host = f"http://localhost:{port}/cdn/elsewhere.jpg"  # same server, host not allowed
    body = batch(
        [message(PSID, "m_as_1", "Đường Lê Lợi có ổ gà rất lớn", ts=now_ms(-20)),
         message(PSID, "m_as_2", attachments=[image(allowed)], ts=now_ms(-10))],
        [message(PSID, "m_as_3", "Ngay trước số 12, gần trường học",
                 attachments=[image(other_host)], ts=now_ms())])
    assert (await m.post(body)).status == 200
    await _settled(m)
    [report] = await _reports(m)
    assert report.description == "Đường Lê Lợi có ổ gà rất lớn\nNgay trước số 12, gần trường học"
    assert report.external_ids == ["m_as_1", "m_as_2", "m_as_3"]

    async def fetched() -> list[Attachment] | None:
        async with m.hub.sessions() as session:
            rows = list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())
        return rows if rows and all(r.state != "pending" and r.state != "fetching" for r in rows) else None
    stored, refused = await wait_for(fetched)
    assert (stored.state, stored.sha256, stored.size) == (
        "stored", hashlib.sha256(PHOTO).hexdigest(), len(PHOTO))
    assert stored.report_id == report.id and refused.report_id == report.id
    assert refused.state == "refused" and "not an allowed media host" in refused.error
    assert [c.path for c in m.graph.calls if c.method == "GET"] == ["/cdn/o-ga.jpg"]
    # one acknowledgement for the assembled report (the refused photo is told on its own)
    assert len([s for s in m.sends() if "Mã phản ánh" in s["message"].get("text", "")]) == 1


async def test_an_edit_changes_the_report_text_and_opens_nothing(messenger) -> None:
    m = await messenger()
    await m.post(batch([message(PSID, "m_ed_1", "Cột đèn số 12 đường Hùng Vương bị đổ"),
                        message(PSID, "m_ed_2", "Dây điện rơi xuống vỉa hè")]))
    await _settled(m)
    for n, text in ((1, "Cột đèn số 14 đường Hùng Vương bị đổ"),
                    (2, "Cột đèn số 16 đường Hùng Vương bị đổ")):
        edit = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                "message_edit": {"mid": "m_ed_1", "text": text, "num_edit": n}}
        assert (await m.post(batch([edit]))).status == 200
        await _settled(m)
    [report] = await _reports(m)
    assert report.description == ("Cột đèn số 16 đường Hùng Vương bị đổ\n"
                                  "Dây điện rơi xuống vỉa hè")


async def test_old_message_makes_a_report_but_no_send_outside_the_window(messenger) -> None:
    m = await messenger()
    two_days_ago = now_ms(-48 * 3600)
    await m.post(batch([message(PSID, "m_old_1", "Xe rác đổ trộm ở bờ sông", ts=two_days_ago)]))
    await _settled(m)
    [report] = await _reports(m)

    async def dead() -> OutboxMessage | None:
        async with m.hub.sessions() as session:
            row = (await session.execute(select(OutboxMessage))).scalar_one_or_none()
            return row if row is not None and row.state == "dead" else None
    row = await wait_for(dead)
    assert row.last_error == "outside 24-hour window" and row.report_id == report.id
    assert m.sends() == []
    async with m.hub.sessions() as session:
        notes = list((await session.execute(select(ReportEvent.note).where(
            ReportEvent.report_id == report.id, ReportEvent.kind == "notification"))).scalars())
    assert any("outside 24-hour window" in (n or "") for n in notes)
