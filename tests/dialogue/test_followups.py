"""What happens after intake, end to end: "me too" (a merged duplicate's reporter hears the
surviving report's result on their own channel), a returned report alerts the center, and
Messenger past 24 hours (an agency's reply with the HUMAN_AGENT tag within 7 days, automatic
updates never)."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select, update

from hub.keys import HUB_KEY
from router import templates
from store.models import Contact, utcnow
from tests.conftest import wait_for
from tests.dialogue.chat_support import telegram_hub
from tests.messenger.conftest import GRAPH_PATH, batch, message, messenger_section, sign
from tests.router.helpers import ENV_FORM, events, outbox, post_report, report, token
from tests.telegram.fakebot import SECRET, load, sent_messages

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
ALICE, BOB = 512340001, 600000002


async def _texts(bot_api, chat, count):
    async def check():
        texts = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(chat)]
        return texts if len(texts) >= count else None
    return await wait_for(check)


async def _code_of(client, chat):
    from store.models import Report

    async def check():
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(Report.code).where(
                Report.reply_address == str(chat)))).scalar()
    return await wait_for(check)


async def test_merged_reporter_hears_the_surviving_reports_result(settings_factory, hub_client,
                                                                  fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    for chat, update_id in ((ALICE, 830300001), (BOB, 830300002)):
        body = load("message__text", chat_id=chat, update_id=update_id, date=int(time.time()))
        assert (await client.post("/webhooks/telegram", data=json.dumps(body, ensure_ascii=False),
                                  headers=HEADERS)).status == 200
    first, second = await _code_of(client, ALICE), await _code_of(client, BOB)
    await _texts(bot_api, BOB, 1)
    center = await token(client, "center")
    assert (await client.post(f"/api/v1/reports/{first}/route", json={"agency": "so-xay-dung"},
                              headers=center)).status == 200
    resp = await client.post(f"/api/v1/reports/{second}/status", headers=center,
                             json={"status": "duplicate", "duplicate_of": first})
    assert resp.status == 200
    told = (await _texts(bot_api, BOB, 2))[-1]
    # The page to follow is the surviving report's, not the merged one's (it never changes).
    assert told == templates.render("duplicate", code=second, duplicate_of=first,
                                    status_url=f"http://hub.test/r/{first}")

    agency = await token(client, "so-xay-dung")
    assert (await client.post(f"/api/v1/reports/{first}/status", headers=agency,
                              json={"status": "resolved", "note": "Đã vá ổ gà"})).status == 200
    alice = (await _texts(bot_api, ALICE, 3))[-1]
    bob = (await _texts(bot_api, BOB, 3))[-1]
    assert "Kết quả: Đã vá ổ gà" in alice and "từ 1 đến 5" in alice
    assert bob == (templates.render("merged_prefix", own_code=second, code=first)
                   + templates.render("resolved_merged", code=first, agency="Sở Xây dựng",
                                      note="Đã vá ổ gà"))
    [row] = await outbox(client, second, template="resolved_merged")
    assert row.channel == "telegram" and row.address == str(BOB)


async def test_a_returned_report_alerts_the_center(settings_factory, hub_client):
    client = await hub_client(settings_factory(routing={"center_email": "trungtam@hue.gov.vn"}))
    code = await post_report(client, ENV_FORM)
    agency = await token(client, "moi-truong")
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "returned", "note": "Không thuộc thẩm quyền, đề nghị chuyển Sở Xây dựng"})
    assert resp.status == 200
    [row] = await outbox(client, code, template="center_returned")
    assert (row.purpose, row.address) == ("agency_email", "trungtam@hue.gov.vn")
    assert row.payload["subject"] == f"[#{code}] Đơn vị trả lại phản ánh"
    assert "Công ty Môi trường đô thị Huế trả lại phản ánh" in row.payload["text"]
    assert "Không thuộc thẩm quyền" in row.payload["text"]
    # the center's staff open it in the console (the public page may be hidden, and is a 404
    # for a report never forwarded)
    assert row.payload["text"].rstrip().endswith(f"/console/reports/{code}")
    notes = [e.note for e in await events(client, code, "note")]
    assert any(n.startswith("Công ty Môi trường đô thị Huế trả lại phản ánh") for n in notes)
    metrics = await (await client.get("/metrics")).text()
    assert 'hub_alerts_total{channel="router",kind="returned"} 1.0' in metrics
    assert (await report(client, code)).status == "returned"


PSID = "5512340077665544"


async def test_messenger_after_24_hours_only_a_persons_reply_goes_with_human_agent(
        settings_factory, hub_client, fake_api):
    graph = await fake_api()

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID,
                                  "message_id": f"m_out_{len(graph.calls_to(GRAPH_PATH))}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)}))
    mids = iter(range(1, 50))

    async def say(text):
        raw = json.dumps(batch([message(PSID, f"m_ha_{next(mids)}", text)]), ensure_ascii=False).encode()
        assert (await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})).status == 200

    await say("Rác thải ùn ứ trước chợ Đông Ba, phường Phú Xuân, bốc mùi. SĐT 0905 123 456")
    await say("xong")
    await wait_for(lambda: _sends(graph, 2))
    from store.models import Report
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    center = await token(client, "center")
    if (await report(client, code)).agency_id != "moi-truong":
        assert (await client.post(f"/api/v1/reports/{code}/route", json={"agency": "moi-truong"},
                                  headers=center)).status == 200

    async def last_message(hours):
        async with client.app[HUB_KEY].sessions() as session, session.begin():
            await session.execute(update(Contact).where(Contact.channel_user_id == PSID)
                                  .values(last_inbound_at=utcnow() - timedelta(hours=hours)))
    await last_message(30)
    agency = await token(client, "moi-truong")
    before = len(graph.calls_to(GRAPH_PATH))
    resp = await client.post(f"/api/v1/reports/{code}/reply", headers=agency,
                             json={"text": "Chiều nay tổ thu gom sẽ đến"})
    assert resp.status == 202
    await wait_for(lambda: _sends(graph, before + 1))
    body = graph.calls_to(GRAPH_PATH)[-1].json()
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert "Chiều nay tổ thu gom sẽ đến" in body["message"]["text"]

    # An automatic update after 24 hours is not sent on Messenger: the fallback chain takes it.
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "in_progress", "note": "Đang xử lý"})
    assert resp.status == 200

    async def dead(template):
        rows = await outbox(client, code, channel="messenger", template=template)
        return rows if rows and rows[0].state == "dead" else None
    [row] = await wait_for(lambda: dead("in_progress"))
    assert row.last_error == "outside 24-hour window"
    # Past 7 days even a person's reply is not attempted.
    await last_message(24 * 8)
    count = len(graph.calls_to(GRAPH_PATH))
    await client.post(f"/api/v1/reports/{code}/reply", headers=agency, json={"text": "Đã xong"})
    rows = await wait_for(lambda: _dead_replies(client, code, 2))
    assert rows[-1].last_error == "outside 24-hour window"
    assert len(graph.calls_to(GRAPH_PATH)) == count


async def _dead_replies(client, code, count):
    rows = [r for r in await outbox(client, code, channel="messenger", template="agency_reply")]
    return rows if len(rows) >= count and rows[-1].state == "dead" else None


async def _sends(graph, count):
    return len(graph.calls_to(GRAPH_PATH)) >= count
