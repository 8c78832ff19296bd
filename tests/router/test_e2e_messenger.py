"""Messenger end to end: webhook → report → routed → the agency works it through the API → the
fake Graph API receives the Vietnamese updates; after 24 hours without a message from the
citizen, the update goes by SMS to the phone they wrote."""
import asyncio
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select, update

from hub.keys import HUB_KEY
from router.rating import rating_token_report
from store.models import Contact, Report, utcnow
from tests.conftest import wait_for
from tests.messenger.conftest import GRAPH_PATH, batch, message, messenger_section, sign
from tests.router.helpers import events, outbox, report, token

PSID = "6623480917364512"


async def test_messenger_citizen_hears_updates_then_sms_outside_the_window(settings_factory, hub_client,
                                                                           fake_api):
    graph, sms = await fake_api(), await fake_api()
    sent = []

    async def accept(request, body):
        sent.append((await request.json())["message"]["text"])
        return web.json_response({"recipient_id": PSID, "message_id": f"m_out_{len(sent)}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    sms.on("POST", "/send", default={"id": "sms-1"})
    settings = settings_factory(channels={"messenger": messenger_section(graph.url),
                                          "hotline": {"enabled": True,
                                                      "sms_gateway_url": f"{sms.url}/send"}})
    client = await hub_client(settings)
    import json

    raw = json.dumps(batch([message(PSID, "m_e2e_1", "Rác thải ùn ứ trước chợ Đông Ba, phường Phú Xuân,"
                                                      " bốc mùi nhiều ngày. SĐT 0905 123 456")]),
                     ensure_ascii=False).encode()
    resp = await client.post("/webhooks/messenger", data=raw,
                             headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
    assert resp.status == 200
    await wait_for(lambda: _n(sent, 1))
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    assert f"Mã phản ánh: {code}" in sent[0]
    center = await token(client, "center")
    if (await report(client, code)).agency_id != "moi-truong":
        resp = await client.post(f"/api/v1/reports/{code}/route", json={"agency": "moi-truong",
                                                                      "category": "environment"},
                                 headers=center)
        assert resp.status == 200
        await wait_for(lambda: _n(sent, 2))
    agency = await token(client, "moi-truong")
    before = len(sent)
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "in_progress", "note": "Đã giao tổ thu gom"}, headers=agency)
    assert resp.status == 200
    await wait_for(lambda: _n(sent, before + 1))
    # the agency's note goes with it (it is public on the report's page anyway)
    assert sent[-1] == (f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý.\n"
                        "Ghi chú của đơn vị: Đã giao tổ thu gom")

    # a day and more later the citizen has not written again: Messenger's window is closed
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Contact).where(Contact.channel_user_id == PSID)
                              .values(last_inbound_at=utcnow() - timedelta(hours=25)))
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã thu gom và khử mùi"}, headers=agency)
    assert resp.status == 200
    [call] = await wait_for(lambda: _calls(sms, "/send"))
    # By SMS the citizen cannot answer with a digit: a one-time link to rate on the report page.
    text = call.json()["text"]
    prefix = f"Phản ánh {code} đã được xử lý xong. Đánh giá 1-5: http://hub.test/r/{code}?rate="
    assert text.startswith(prefix) and text.endswith("\nKết quả: Đã thu gom và khử mùi")
    rate_token = text[len(prefix):].split("\n", 1)[0]
    async with client.app[HUB_KEY].sessions() as session:
        assert await rating_token_report(session, code, rate_token) is not None
    assert len(sent) == before + 1  # nothing more went to Graph
    notes = [e.note for e in await events(client, code, "notification")]
    assert any(n.startswith("gửi qua messenger thất bại:") for n in notes)
    assert any(n.startswith("chuyển thông báo sang sms (messenger:") for n in notes)

    # The citizen writes again: the result went by SMS already, so it is not sent again here.
    graph_before = len(sent)
    raw = json.dumps(batch([message(PSID, "m_e2e_2", "cảm ơn ad")]), ensure_ascii=False).encode()
    resp = await client.post("/webhooks/messenger", data=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
    assert resp.status == 200
    await wait_for(lambda: _n(sent, graph_before + 1))  # the "you're welcome"
    await asyncio.sleep(1)
    assert not any("Đã thu gom và khử mùi" in t for t in sent[graph_before:])


async def _n(items, count):
    return len(items) >= count


async def _calls(api, path):
    return api.calls_to(path) or None


async def test_a_result_the_window_kept_back_goes_out_when_the_citizen_writes_again(
        settings_factory, hub_client, fake_api):
    """Messenger walkthrough: a result refused because the citizen's 24-hour window had closed,
    with no other way to reach them, was lost; the citizen who wrote days later ('xử lý chưa
    ạ?') never read it. Their new message reopens the window and the result is sent then,
    once, before the answer to that message."""
    import json

    graph = await fake_api()
    sent = []

    async def accept(request, body):
        sent.append((await request.json())["message"]["text"])
        return web.json_response({"recipient_id": PSID, "message_id": f"m_out_{len(sent)}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)}))
    hub = client.app[HUB_KEY]

    async def say(mid, text):
        raw = json.dumps(batch([message(PSID, mid, text)]), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
        assert resp.status == 200
    await say("m_w_1", "Cống thoát nước đường Hùng Vương trước số 12, phường Phú Xuân bị tắc, "
                       "nước tràn lên mặt đường")
    await wait_for(lambda: _n(sent, 1))
    async with hub.sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    center = await token(client, "center")
    rep = await report(client, code)
    if rep.agency_id is None or rep.status != "forwarded":
        resp = await client.post(f"/api/v1/reports/{code}/route", headers=center,
                                 json={"agency": "moi-truong", "category": "urban_infrastructure"})
        assert resp.status == 200
    agency = await token(client, (await report(client, code)).agency_id)

    async def settled():
        rows = await outbox(client, code)
        return rows and all(r.state in ("sent", "dead") for r in rows)
    await wait_for(settled)  # what the first message and the routing made has gone out
    async with hub.sessions() as session, session.begin():  # three days without a word
        await session.execute(update(Contact).where(Contact.channel_user_id == PSID)
                              .values(last_inbound_at=utcnow() - timedelta(days=3)))
    before = len(sent)
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "resolved", "note": "Đã nạo vét cống"})
    assert resp.status == 200

    async def dead():
        rows = await outbox(client, code, template="resolved")
        return rows and rows[0].state == "dead" and "outside 24-hour window" in rows[0].last_error
    await wait_for(dead)
    assert len(sent) == before  # nothing reached Graph: the window is closed

    await say("m_w_2", "ad ơi phản ánh hôm trước xử lý chưa ạ")
    await wait_for(lambda: _n(sent, before + 2))
    await asyncio.sleep(1)
    results = [t for t in sent[before:] if "Đã nạo vét cống" in t]
    assert len(results) == 1 and results[0].startswith(f"Phản ánh {code} đã được ")
    assert sent[before] == results[0]  # first: before whatever answers the new message
    # the question itself is answered with the citizen's reports, not taken as a dispute of
    # the result nor as a new report
    assert len(sent) == before + 2 and sent[-1].startswith("Các phản ánh gần đây của bạn:")
    assert code in sent[-1]
    async with hub.sessions() as session:
        assert len((await session.execute(select(Report.id))).scalars().all()) == 1
    notes = [e.note for e in await events(client, code, "notification")]
    assert any(n.startswith("gửi lại qua messenger khi công dân nhắn tin trở lại") for n in notes), notes
