"""Providers deliver out of order: an edit that arrives before the message it edits is kept and
applied once the message has made its report, so the report ends with the edited text."""
from __future__ import annotations

import json
import time

from aiohttp import web
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import InboxEvent, Report
from tests.conftest import wait_for
from tests.dialogue.chat_support import telegram_hub
from tests.messenger.conftest import GRAPH_PATH, PAGE_ID, batch, message, messenger_section, now_ms, sign
from tests.telegram.fakebot import SECRET, load

PSID = "7712340099881008"
OLD = "Cống thoát nước ở kiệt 8 Phan Đình Phùng bị tắc, nước tràn ra đường"
NEW = "Cống thoát nước ở kiệt 18 Phan Đình Phùng bị tắc, nước tràn ra đường"


async def _reports(client) -> list[Report]:
    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def _edit_processed(client) -> bool:
    """The edit's own event was processed (with nothing to edit yet)."""
    async with client.app[HUB_KEY].sessions() as session:
        rows = (await session.execute(select(InboxEvent.external_id, InboxEvent.state))).all()
    return any(state == "ignored" and "~edit@" not in key for key, state in rows)


async def _description_is(client, text):
    reports = await _reports(client)
    return reports if len(reports) == 1 and reports[0].description == text else None


async def test_messenger_edit_before_its_message(settings_factory, hub_client, fake_api):
    graph = await fake_api()

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": "m_out"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)}))

    async def post(item):
        raw = json.dumps(batch([item]), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
        assert resp.status == 200

    sent = now_ms(-5)
    await post({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                "message_edit": {"mid": "m_1008_x", "text": NEW, "num_edit": 1}})
    await wait_for(lambda: _edit_processed(client))
    assert await _reports(client) == []  # nothing to edit yet
    await post(message(PSID, "m_1008_x", OLD, ts=sent))  # the message itself, late
    [report] = await wait_for(lambda: _description_is(client, NEW), timeout=20)
    assert report.extra["message_texts"]["m_1008_x"] == NEW


async def test_telegram_edit_before_its_message(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    now = int(time.time())

    async def post(update):
        resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                                 headers=headers)
        assert resp.status == 200

    edit = load("edited_message__text", date=now - 5)
    edit["edited_message"]["edit_date"] = now
    edit["edited_message"]["text"] = NEW
    await post(edit)
    await wait_for(lambda: _edit_processed(client))
    original = load("message__text", date=now - 5)
    original["message"]["text"] = OLD
    await post(original)
    await wait_for(lambda: _description_is(client, NEW), timeout=20)


async def test_a_kept_edit_does_not_undo_a_later_one(settings_factory, hub_client, fake_api):
    graph = await fake_api()

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": "m_out"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)}))

    async def post(*items):
        raw = json.dumps(batch(list(items)), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
        assert resp.status == 200

    def edit(n, text):
        return {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                "message_edit": {"mid": "m_1009_x", "text": text, "num_edit": n}}
    latest = NEW.replace("kiệt 18", "kiệt 28")
    await post(edit(1, NEW))
    await wait_for(lambda: _edit_processed(client))
    # the message, then its second edit, arrive together; the kept first edit comes round later
    await post(message(PSID, "m_1009_x", OLD, ts=now_ms(-5)), edit(2, latest))

    async def nothing_pending():
        async with client.app[HUB_KEY].sessions() as session:
            states = (await session.execute(select(InboxEvent.state))).scalars().all()
        return len(states) >= 4 and all(s in ("done", "ignored") for s in states)
    await wait_for(nothing_pending, timeout=20)
    [report] = await _reports(client)
    assert report.description == latest


async def test_a_held_edit_is_applied_as_soon_as_its_message_comes(settings_factory, hub_client,
                                                                   fake_api):
    """Left last session: a held edit waited for its retry time (up to 5 minutes) even after its
    message had come. With a 60 s retry base, the edit must still land within seconds."""
    graph = await fake_api()

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": "m_out"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(
        channels={"messenger": messenger_section(graph.url)},
        workers={"retry_base_seconds": 60, "retry_max_seconds": 300}))

    async def post(item):
        raw = json.dumps(batch([item]), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
        assert resp.status == 200

    await post({"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
                "message_edit": {"mid": "m_1009_x", "text": NEW, "num_edit": 1}})
    await wait_for(lambda: _edit_processed(client))
    await post(message(PSID, "m_1009_x", OLD, ts=now_ms(-5)))
    [report] = await wait_for(lambda: _description_is(client, NEW), timeout=10)
    assert report.extra["message_texts"]["m_1009_x"] == NEW
