"""Zalo through the whole hub: signed webhook → inbox → worker → report/contact/delivery state →
outbox → the fake Zalo API (and its OAuth endpoint)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from channels.zalo.parse import external_id
from hub.keys import HUB_KEY
from router.notify import request_phone
from store.models import Attachment, Contact, InboxEvent, OutboxMessage, Report, ReportEvent
from tests.conftest import wait_for
from tests.zalo.support import CS, USER, FakeZalo, signed, stamped, zalo_settings

URL = "/webhooks/zalo"
PHOTO = b"\xff\xd8\xff\xe0fake-jpeg-bytes"


@pytest.fixture
def zalo_flow(settings_factory, hub_client, fake_api):
    async def start(db_url: str | None = None):
        api = await fake_api()
        fake = FakeZalo(api)
        api.on("GET", "/media/photo.jpg", default=PHOTO)
        settings = settings_factory(db_url, **zalo_settings(api.url, media_hosts=["127.0.0.1"]))
        return await hub_client(settings), fake
    return start


async def post(client, raw: bytes, headers: dict[str, str] | None = None) -> int:
    resp = await client.post(URL, data=raw, headers=headers or signed(raw))
    return resp.status


async def settled(client, external_id: str) -> str:
    hub = client.app[HUB_KEY]

    async def check() -> str | None:
        async with hub.sessions() as session:
            state = (await session.execute(select(InboxEvent.state).where(
                InboxEvent.channel == "zalo", InboxEvent.external_id == external_id))).scalar()
        return state if state in ("done", "ignored", "parked") else None
    return await wait_for(check)


async def rows(client, model, *where):
    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(model).where(*where).order_by(model.id))).scalars())


async def sent_row(client, report_id: int) -> OutboxMessage:
    async def check():
        found = await rows(client, OutboxMessage, OutboxMessage.report_id == report_id,
                           OutboxMessage.state == "sent")
        return found[0] if found else None
    return await wait_for(check)


async def test_report_is_acknowledged_to_sender_id_with_its_code_and_redelivery_adds_nothing(zalo_flow):
    client, fake = await zalo_flow()
    raw = stamped("user_send_text__report")
    assert await post(client, raw) == 200
    assert await settled(client, "a1f0c3d9e2b74f0c8a11") == "done"
    [report] = await rows(client, Report)
    assert report.channel == "zalo" and report.reply_address == USER
    assert report.description.startswith("Rác thải đổ trộm ven đường Tố Hữu")
    ack = await sent_row(client, report.id)
    call = fake.api.calls_to(CS)[0]
    assert call.json()["recipient"] == {"user_id": USER}
    assert report.code in call.json()["message"]["text"] and ack.provider_id == "zmsg0000000000000001"

    # The ward is in the text: the acknowledgement asks for a photo (one question at a time).
    assert "ảnh chụp hiện trường" in call.json()["message"]["text"]
    skip = stamped("user_send_text__report", msg_id="a1f0c3d9e2b74f0c8a12", text="bỏ qua")
    assert await post(client, skip) == 200 and await settled(client, "a1f0c3d9e2b74f0c8a12") == "done"

    # The phone is unknown: asked in words, then with the request-user-info card.
    async def all_sent():
        return len(fake.api.calls_to(CS)) == 3 or None
    await wait_for(all_sent)
    question, card = (c.json()["message"] for c in fake.api.calls_to(CS)[1:])
    assert "số điện thoại" in question["text"]
    assert card["attachment"]["payload"]["template_type"] == "request_user_info"
    [report] = await rows(client, Report)
    assert "bỏ qua" not in report.description  # an answer to the bot, not part of the report

    assert await post(client, raw) == 200  # Zalo redelivers
    assert len(await rows(client, Report)) == 1 and len(await rows(client, InboxEvent)) == 2
    assert len(fake.api.calls_to(CS)) == 3


async def test_ack_after_a_216_takes_one_refresh_and_one_retry(zalo_flow):
    client, fake = await zalo_flow()
    fake.valid_access = set()  # the seeded access token has expired at Zalo
    assert await post(client, stamped("user_send_text__report")) == 200
    await settled(client, "a1f0c3d9e2b74f0c8a11")
    [report] = await rows(client, Report)
    ack = await sent_row(client, report.id)
    assert ack.attempts == 1 and fake.oauth_calls == 1
    calls = [c for c in fake.api.calls_to(CS) if "text" in c.json()["message"]]  # not the card
    assert [c.headers["access_token"] for c in calls] == ["AT-0", "AT-1"]
    assert calls[1].json()["recipient"]["user_id"] == USER and report.code in calls[1].json()["message"]["text"]


async def test_every_event_kind_of_one_citizen(zalo_flow):
    client, fake = await zalo_flow()
    photo_url = fake.api.url + "/media/photo.jpg"

    async def send(name: str, **changes) -> str:
        raw = stamped(name, **changes)
        assert await post(client, raw) == 200
        return await settled(client, external_id(json.loads(raw)))

    assert await send("follow__docs_sample", follower={"id": USER}) == "ignored"  # no report
    contact = (await rows(client, Contact))[0]
    assert contact.state == "active" and await rows(client, Report) == []

    assert await send("user_send_text__report") == "done"
    image = json.loads(stamped("user_send_image__with_caption"))
    image["message"]["attachments"][0]["payload"]["url"] = photo_url
    raw = json.dumps(image, ensure_ascii=False).encode()
    assert await post(client, raw) == 200 and await settled(client, "b2e1d4c0f3a85e1d9b22") == "done"
    assert await send("user_send_location__with_place_name") == "done"
    [report] = await rows(client, Report)
    assert report.external_ids == ["a1f0c3d9e2b74f0c8a11", "b2e1d4c0f3a85e1d9b22", "c9f8ebd7a0b52f8e6c99"]
    assert "Ổ gà lớn trước số 12 Lê Lợi" in report.description
    assert (report.lat, report.lon) == (16.4729431, 107.5882347)
    assert report.address == "Chợ Đông Ba, 2 Trần Hưng Đạo, Huế"

    async def photo_stored():
        found = await rows(client, Attachment, Attachment.report_id == report.id)
        return found if found and found[0].state == "stored" else None
    [att] = await wait_for(photo_stored)
    assert att.kind == "image" and att.size == len(PHOTO)

    ack = await sent_row(client, report.id)
    for name, state in (("user_received_message__basic", "delivered"), ("user_seen_message__basic", "seen")):
        await send(name, message={"msg_ids": [ack.provider_id]})
        [row] = await rows(client, OutboxMessage, OutboxMessage.id == ack.id)
        assert row.delivery_state == state

    await send("user_submit_info__full")
    async def shared_phone():
        c = (await rows(client, Contact, Contact.channel_user_id == USER))[0]
        return c if c.phone else None
    contact = await wait_for(shared_phone)
    assert (contact.name, contact.phone) == ("Nguyễn Thị Lan", "+84905123456")
    assert contact.address == "12 Nguyễn Trãi, Phường Phú Xuân, Thành phố Huế"
    notes = [e.note for e in await rows(client, ReportEvent, ReportEvent.report_id == report.id)]
    assert "công dân cung cấp thông tin liên hệ" in notes

    for name in ("oa_send_text__echo", "user_send_sticker__basic", "user_reacted_message__heart",
                 "shop_has_order__unknown"):
        assert await send(name) == "ignored"
    assert len(await rows(client, Report)) == 1

    assert await send("unfollow__basic") == "ignored"
    assert (await rows(client, Contact, Contact.channel_user_id == USER))[0].state == "unfollowed"

    assert await send("anonymous_send_text__basic") == "done"
    reports = await rows(client, Report)
    assert len(reports) == 2 and reports[1].reply_address == "anonymous:an-7c1d2e3f4a5b:cv-9f8e7d6c5b4a"
    await sent_row(client, reports[1].id)
    assert fake.api.calls_to(CS)[-1].json()["recipient"] == {
        "anonymous_id": "an-7c1d2e3f4a5b", "conversation_id": "cv-9f8e7d6c5b4a"}

    # a bad signature changes nothing
    before = [len(await rows(client, m)) for m in (InboxEvent, Report, Contact, OutboxMessage)]
    raw = stamped("user_send_text__report", msg_id="ffff0000ffff0000ffff")
    assert await post(client, raw, {"X-ZEvent-Signature": "mac=" + "0" * 64}) == 401
    assert [len(await rows(client, m)) for m in (InboxEvent, Report, Contact, OutboxMessage)] == before


async def test_request_user_info_card_then_the_shared_phone_lands_on_the_contact(zalo_flow):
    client, fake = await zalo_flow()
    hub = client.app[HUB_KEY]
    assert await post(client, stamped("user_send_text__report")) == 200
    await settled(client, "a1f0c3d9e2b74f0c8a11")
    [report] = await rows(client, Report)
    async with hub.sessions() as session, session.begin():
        report = await session.get(Report, report.id)
        row = await request_phone(session, hub, report)

    async def card_sent():
        [r] = await rows(client, OutboxMessage, OutboxMessage.id == row.id)
        return r if r.state == "sent" else None
    await wait_for(card_sent)
    card = [c.json() for c in fake.api.calls_to(CS) if "attachment" in c.json()["message"]][0]
    assert card["recipient"] == {"user_id": USER}
    payload = card["message"]["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info"
    assert report.code in payload["elements"][0]["subtitle"] and payload["elements"][0]["title"]

    assert await post(client, stamped("user_submit_info__full")) == 200

    async def phone():
        c = (await rows(client, Contact, Contact.channel_user_id == USER))[0]
        return c.phone
    assert await wait_for(phone) == "+84905123456"
    async with hub.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1


async def test_no_request_info_card_when_the_citizen_already_shared_a_phone(zalo_flow):
    client, fake = await zalo_flow()
    shared = stamped("user_submit_info__full")
    assert await post(client, shared) == 200
    await settled(client, external_id(json.loads(shared)))
    assert await post(client, stamped("user_send_text__report")) == 200
    await settled(client, "a1f0c3d9e2b74f0c8a11")
    [report] = await rows(client, Report)
    await sent_row(client, report.id)
    messages = [c.json()["message"] for c in fake.api.calls_to(CS)]
    assert messages and all("attachment" not in m for m in messages), messages
