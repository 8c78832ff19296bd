"""Telegram end to end: update → report → routed → the agency works it through the API → the
citizen's fake Bot API receives each Vietnamese update; a blocked bot falls back to SMS; the
citizen rates the result with a digit."""
import json
import time

from aiohttp import web

from tests.conftest import wait_for
from tests.router.helpers import events, report, token
from tests.telegram.fakebot import SECRET, channel_settings, error, load, path, sent_messages, serve

CHAT = 512340001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


async def _post(client, name, text=None, update_id=None):
    update = load(name, date=int(time.time()), update_id=update_id)
    if text is not None:
        update["message"]["text"] = text
    resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                             headers=HEADERS)
    assert resp.status == 200


async def _bot_texts(bot_api, count):
    async def check():
        texts = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(CHAT)]
        return texts if len(texts) >= count else None
    return await wait_for(check)


async def _code(client):
    from sqlalchemy import select

    from hub.keys import HUB_KEY
    from store.models import Report

    async def check():
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(Report.code))).scalar()
    return await wait_for(check)


async def test_telegram_citizen_hears_every_step_and_rates(settings_factory, hub_client, fake_api):
    bot_api, sms = await fake_api(), await fake_api()
    serve(bot_api)
    sms.on("POST", "/send", default={"id": "sms-1", "status": "queued"})
    settings = settings_factory(channels={**channel_settings(bot_api.url),
                                          "hotline": {"enabled": True,
                                                      "sms_gateway_url": f"{sms.url}/send"}})
    client = await hub_client(settings)
    await _post(client, "message__text")  # a pothole on Lê Lợi street
    code = await _code(client)
    [ack] = await _bot_texts(bot_api, 1)
    assert f"Mã phản ánh: {code}" in ack
    await _post(client, "message__contact_own")  # the citizen shares their phone
    await _post(client, "message__text", text="xong", update_id=830100700)  # nothing more to add
    # The dialogue is done: routed now (not at the end of the assembly window).
    await wait_for(lambda: _routed(client, code))
    await _bot_texts(bot_api, 2)
    center = await token(client, "center")
    if (await report(client, code)).status == "triage":
        resp = await client.post(f"/api/v1/reports/{code}/route",
                                 json={"category": "traffic_infrastructure"}, headers=center)
        assert resp.status == 200
        await _bot_texts(bot_api, 3)
    assert (await report(client, code)).agency_id == "so-xay-dung"
    agency = await token(client, "so-xay-dung")
    before = len(sent_messages(bot_api))

    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "in_progress", "note": "Đã cử đội duy tu"}, headers=agency)
    assert resp.status == 200
    texts = await _bot_texts(bot_api, before + 1)
    assert texts[-1] == (f"Phản ánh {code} đang được Sở Xây dựng xử lý.\n"
                         "Ghi chú của đơn vị: Đã cử đội duy tu")

    # the citizen blocks the bot: the reply goes out by SMS to the phone they shared
    bot_api.on("POST", path("sendMessage"), default=error(403, "Forbidden: bot was blocked by the user"))
    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": "Tối nay sẽ vá xong"},
                             headers=agency)
    assert resp.status == 202
    [call] = await wait_for(lambda: _calls(sms, "/send", 1))
    sent = call.json()
    assert sent["to"] in ("+84905123456", "84905123456", "0905123456")
    assert f"Sở Xây dựng phản hồi phản ánh {code}: Tối nay sẽ vá xong" in sent["text"]
    notes = [e.note for e in await events(client, code, "notification")]
    assert any(n.startswith("gửi qua telegram thất bại: bot blocked by user") for n in notes)
    assert any(n.startswith("chuyển thông báo sang sms (telegram: bot blocked") for n in notes)
    await wait_for(lambda: _has_note(client, code, "đã gửi qua sms (agency_reply)"))

    # unblocked again: the result and the request to rate arrive on Telegram
    async def ok(request, body):
        return web.json_response({"ok": True, "result": {
            "message_id": 5000, "date": int(time.time()), "chat": {"id": CHAT, "type": "private"},
            "text": "x"}})
    bot_api.on("POST", path("sendMessage"), default=ok)
    count = len(sent_messages(bot_api))
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã vá ổ gà"}, headers=agency)
    assert resp.status == 200
    texts = await _bot_texts(bot_api, count + 1)
    assert "Kết quả: Đã vá ổ gà" in texts[-1] and "từ 1 đến 5" in texts[-1]

    await _post(client, "message__text", text="5", update_id=830100777)  # the citizen's rating
    rated = await wait_for(lambda: _rating(client, code))
    assert rated == 5
    texts = await _bot_texts(bot_api, count + 2)
    assert texts[-1] == f"Cảm ơn bạn đã đánh giá 5/5 cho phản ánh {code}."

    # a second answer with a comment changes the rating and keeps the comment
    await _post(client, "message__text", text="4 sao, hơi chậm", update_id=830100778)
    assert await wait_for(lambda: _rating_if(client, code, 4)) == 4
    assert (await report(client, code)).rating_comment == "hơi chậm"


async def _calls(api, route, count):
    calls = api.calls_to(route)
    return calls if len(calls) >= count else None


async def _has_note(client, code, note):
    return note in [e.note for e in await events(client, code)]


async def _rating(client, code):
    return (await report(client, code)).rating_score


async def _rating_if(client, code, score):
    found = (await report(client, code)).rating_score
    return found if found == score else None


async def _routed(client, code):
    return (await report(client, code)).status in ("forwarded", "triage")
