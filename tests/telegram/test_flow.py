"""Telegram through the whole hub: webhook → inbox → worker → report/contact → outbox → the fake
Bot API. Each test gets its own database (SQLite; PostgreSQL too when HUB_TEST_PG_URL is set)."""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from router import templates
from store.models import Attachment, Contact, InboxEvent, OutboxMessage, Report
from tests.conftest import wait_for
from tests.telegram.fakebot import FILES, SECRET, error, load, path, sent_messages

URL = "/webhooks/telegram"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
CHAT = 512340001


def now_update(name: str, **kw: Any) -> dict[str, Any]:
    return load(name, date=int(time.time()), **kw)


async def post(client, update: dict[str, Any]) -> None:
    resp = await client.post(URL, data=json.dumps(update, ensure_ascii=False), headers=HEADERS)
    assert resp.status == 200, await resp.text()


async def processed(client, update_id: int) -> str:
    """Wait until the worker has applied the update; returns the inbox state."""
    hub = client.app[HUB_KEY]

    async def check() -> str | None:
        async with hub.sessions() as session:
            state = (await session.execute(select(InboxEvent.state).where(
                InboxEvent.channel == "telegram",
                InboxEvent.external_id == str(update_id)))).scalar()
        return state if state in ("done", "ignored", "parked") else None
    return await wait_for(check)


async def reports(client) -> list[Report]:
    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def contact(client, chat: int = CHAT) -> Contact:
    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(Contact).where(
            Contact.channel == "telegram", Contact.channel_user_id == str(chat)))).scalar_one()


async def stored_attachments(client, report_id: int, count: int) -> list[Attachment]:
    async def check() -> list[Attachment] | None:
        async with client.app[HUB_KEY].sessions() as session:
            rows = list((await session.execute(select(Attachment).where(
                Attachment.report_id == report_id).order_by(Attachment.id))).scalars())
        return rows if len(rows) == count and all(r.state != "pending" and r.state != "fetching"
                                                  for r in rows) else None
    return await wait_for(check)


async def sent_to(bot_api, chat: int, count: int = 1) -> list[str]:
    async def check() -> list[str] | None:
        texts = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(chat)]
        return texts if len(texts) >= count else None
    return await wait_for(check)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_text_becomes_a_report_and_the_ack_reaches_telegram(telegram_hub, bot_api, db_url):
    client = await telegram_hub(db_url=db_url)
    update = now_update("message__text")
    await post(client, update)
    assert await processed(client, update["update_id"]) == "done"
    [report] = await reports(client)
    assert report.channel == "telegram" and report.reply_address == str(CHAT)
    assert report.description == update["message"]["text"]
    assert report.external_ids == [str(update["update_id"])]
    [ack] = await sent_to(bot_api, CHAT)
    assert report.code in ack and "Mã phản ánh" in ack
    assert (await contact(client)).name == "Minh Trần"


async def test_an_edited_message_replaces_its_text_in_the_report(telegram_hub, bot_api):
    client = await telegram_hub()
    original = now_update("message__text")
    await post(client, original)
    assert await processed(client, original["update_id"]) == "done"
    edit = load("edited_message__text")  # same chat, message_id 101, a corrected house number
    await post(client, edit)
    assert await processed(client, edit["update_id"]) == "done"
    [report] = await reports(client)
    assert report.description == edit["edited_message"]["text"]
    assert "số nhà 12" not in report.description


# fixture → (attachment kind, bytes stored) or None, and the report's place.
KINDS: list[tuple[str, tuple[str, bytes] | None, dict[str, Any]]] = [
    ("message__photo", ("image", FILES["AgACAgUAAxkBAAIBZ2Wphoto_x"][1]), {}),
    ("message__video", ("video", FILES["BAACAgUAAxkBAAIBvideo01"][1]), {}),
    ("message__document", ("file", FILES["BQACAgUAAxkBAAIBdoc01"][1]), {}),
    ("message__document_image", ("image", FILES["BQACAgUAAxkBAAIBdocimg"][1]), {}),
    ("message__voice", ("audio", FILES["AwACAgUAAxkBAAIBvoice01"][1]), {}),
    ("message__location", None, {"lat": 16.463713, "lon": 107.590866, "address": None}),
    ("message__venue", None, {"lat": 16.4676, "lon": 107.5791,
                              "address": "Chợ Đông Ba, 2 Trần Hưng Đạo, Phú Hòa, Huế"}),
    ("message__contact_other", None, {}),
    # a group's message makes no report: tests/telegram/test_groups.py
]


@pytest.mark.parametrize(("fixture", "attachment", "place"), KINDS, ids=[k[0] for k in KINDS])
async def test_every_content_kind_gives_its_report(telegram_hub, bot_api, fixture, attachment, place):
    client = await telegram_hub()
    update = now_update(fixture)
    await post(client, update)
    assert await processed(client, update["update_id"]) == "done"
    [report] = await reports(client)
    chat = update["message"]["chat"]["id"]
    assert report.reply_address == str(chat)
    assert report.description == (update["message"].get("text") or update["message"].get("caption")
                                  or ("Liên hệ: Ban quản lý chợ +842343822123"
                                      if fixture == "message__contact_other" else ""))
    for key, value in place.items():
        assert getattr(report, key) == value, key
    if attachment is not None:
        kind, data = attachment
        [att] = await stored_attachments(client, report.id, 1)
        assert (att.kind, att.state, att.sha256, att.size) == (kind, "stored", sha(data), len(data))
    [ack] = await sent_to(bot_api, chat)
    assert report.code in ack


async def test_messages_of_one_citizen_assemble_into_one_report(telegram_hub, bot_api):
    client = await telegram_hub()
    for name in ("message__text", "message__photo", "message__venue", "message__voice"):
        update = now_update(name)
        await post(client, update)
        assert await processed(client, update["update_id"]) == "done"
    [report] = await reports(client)
    assert "ổ gà rất lớn" in report.description and "sông Hương" in report.description
    assert (report.lat, report.lon) == (16.4676, 107.5791)
    atts = await stored_attachments(client, report.id, 2)
    assert [a.kind for a in atts] == ["image", "audio"] and {a.state for a in atts} == {"stored"}
    assert len(report.external_ids) == 4
    await sent_to(bot_api, CHAT)
    async with client.app[HUB_KEY].sessions() as session:  # one acknowledgement, not four
        sent = (await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.report_id == report.id).order_by(OutboxMessage.id))).scalars().all()
    assert [t for t in sent if t in ("ack", "ack_forwarded")] == [sent[0]]
    assert len(sent) == len(set(sent))  # and no question of the dialogue twice


async def test_redelivery_adds_nothing(telegram_hub, bot_api):
    client = await telegram_hub()
    update = now_update("message__photo")
    await post(client, update)
    await processed(client, update["update_id"])
    await sent_to(bot_api, CHAT)
    for _ in range(3):  # Telegram retries when it missed our 200
        await post(client, update)
    later = now_update("message__text", update_id=830199999)  # a marker processed after them
    await post(client, later)
    await processed(client, later["update_id"])
    [report] = await reports(client)
    assert await stored_attachments(client, report.id, 1)
    async with client.app[HUB_KEY].sessions() as session:
        events = (await session.execute(select(func.count()).select_from(InboxEvent))).scalar()
    assert events == 2 and len(report.external_ids) == 2
    async with client.app[HUB_KEY].sessions() as session:  # the redeliveries said nothing
        sent = (await session.execute(select(OutboxMessage.template).where(
            OutboxMessage.report_id == report.id).order_by(OutboxMessage.id))).scalars().all()
    assert sent[0] == "ack" and len(sent) == len(set(sent))
    assert len(bot_api.calls_to(path("getFile"))) == 1


async def test_shared_phone_becomes_contact_data(telegram_hub, bot_api):
    client = await telegram_hub()
    text = now_update("message__text")
    await post(client, text)
    await processed(client, text["update_id"])
    shared = now_update("message__contact_own")
    await post(client, shared)
    assert await processed(client, shared["update_id"]) == "ignored"  # no report of its own
    person = await contact(client)
    assert (person.phone, person.name) == ("+84905123456", "Minh Trần")
    [report] = await reports(client)
    assert report.contact_id == person.id


async def test_start_answers_with_the_welcome_text(telegram_hub, bot_api):
    client = await telegram_hub()
    update = now_update("command__start")
    await post(client, update)
    assert await processed(client, update["update_id"]) == "ignored"
    assert await sent_to(bot_api, CHAT) == [templates.render_for("welcome", "telegram")]
    assert await reports(client) == []


async def test_status_answers_with_the_status_text(telegram_hub, bot_api):
    client = await telegram_hub()
    first = now_update("message__text", chat_id=600000001)
    await post(client, first)
    await processed(client, first["update_id"])
    [report] = await reports(client)
    await sent_to(bot_api, 600000001)
    ask = now_update("command__status")
    ask["message"]["text"] = f"/status {report.code.lower()}"
    await post(client, ask)
    await processed(client, ask["update_id"])
    [answer] = await sent_to(bot_api, CHAT)
    # Someone else's report: only what the public page shows.
    expected = templates.render("status_public", code=report.code,
                                status_label=templates.STATUS_LABELS[report.status],
                                status_url=f"http://hub.test/r/{report.code}")
    assert answer == expected and report.code in answer
    assert len(await reports(client)) == 1  # a lookup makes no report
    unknown = now_update("command__status_botname")  # PA-2026-000123 does not exist
    await post(client, unknown)
    await processed(client, unknown["update_id"])
    assert (await sent_to(bot_api, CHAT, 2))[1] == templates.render("status_unknown",
                                                                    code="PA-2026-000123")


async def test_blocking_the_bot_marks_the_contact(telegram_hub, bot_api):
    client = await telegram_hub()
    blocked = load("my_chat_member__blocked")
    await post(client, blocked)
    await processed(client, blocked["update_id"])
    assert (await contact(client)).state == "blocked"
    unblocked = load("my_chat_member__unblocked")
    await post(client, unblocked)
    await processed(client, unblocked["update_id"])
    assert (await contact(client)).state == "active"


# (an edit of a message we never saw also makes nothing)
@pytest.mark.parametrize("fixture", ["message__sticker", "message__from_bot", "edited_message__text",
                                     "callback_query__button", "channel_post__text"])
async def test_ignored_updates_make_nothing(telegram_hub, bot_api, fixture):
    client = await telegram_hub()
    update = load(fixture)
    await post(client, update)
    assert await processed(client, update["update_id"]) == "ignored"
    assert await reports(client) == []
    assert sent_messages(bot_api) == []


async def test_blocked_bot_ack_is_given_up_with_the_reason(telegram_hub, bot_api):
    bot_api.on("POST", path("sendMessage"), default=error(403, "Forbidden: bot was blocked by the user"))
    client = await telegram_hub()
    update = now_update("message__text")
    await post(client, update)
    await processed(client, update["update_id"])

    async def dead() -> OutboxMessage | None:
        async with client.app[HUB_KEY].sessions() as session:
            row = (await session.execute(select(OutboxMessage))).scalars().first()
        return row if row is not None and row.state == "dead" else None
    row = await wait_for(dead)
    assert row.last_error == "bot blocked by user" and row.channel == "telegram"
