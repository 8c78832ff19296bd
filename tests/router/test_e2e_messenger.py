"""Messenger end to end: webhook → report → routed → the agency works it through the API → the
fake Graph API receives the Vietnamese updates; after 24 hours without a message from the
citizen, the update goes by SMS to the phone they wrote."""
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select, update

from hub.keys import HUB_KEY
from router.rating import rating_token_report
from store.models import Contact, Report, utcnow
from tests.conftest import wait_for
from tests.messenger.conftest import GRAPH_PATH, batch, message, messenger_section, sign
from tests.router.helpers import events, report, token

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
    assert sent[-1] == f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý."

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


async def _n(items, count):
    return len(items) >= count


async def _calls(api, path):
    return api.calls_to(path) or None
