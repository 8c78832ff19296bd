"""The intake dialogue end to end on each chat channel, against the loopback fakes of the
providers' APIs: the hub asks for the missing place, photo and phone with the channel's own
affordance, one question at a time, never twice, stops once given or skipped, and routes the
report when the dialogue is done (not at the end of the assembly window). Status lookups answer
without making a report. Run with ``-s`` to read each transcript."""
from __future__ import annotations

import json
import time

from aiohttp import web
from sqlalchemy import select

from hub.keys import HUB_KEY
from router import templates
from store.models import InboxEvent, OutboxMessage, Report
from tests.conftest import wait_for
from tests.dialogue.chat_support import telegram_hub
from tests.dialogue.transcript import Transcript
from tests.messenger.conftest import GRAPH_PATH, batch, image, message, messenger_section, sign
from tests.telegram.fakebot import SECRET, channel_settings, load, sent_messages, serve
from tests.zalo.support import CS, USER, FakeZalo, signed, stamped, zalo_settings

PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-photo-of-the-street-light" * 20


async def _reports(client) -> list[Report]:
    async with client.app[HUB_KEY].sessions() as session:
        return list((await session.execute(select(Report).order_by(Report.id))).scalars())


async def _asked(client, report_id: int) -> list[str]:
    """The dialogue's questions sent about the report (the first rides on the acknowledgement)."""
    async with client.app[HUB_KEY].sessions() as session:
        payloads = (await session.execute(select(OutboxMessage.payload).where(
            OutboxMessage.report_id == report_id).order_by(OutboxMessage.id))).scalars()
        return [p["ask"] for p in payloads if p.get("ask")]


async def _at_least(getter, count):
    items = getter()
    return items if len(items) >= count else None


# --- Messenger --------------------------------------------------------------------------------

PSID = "7712340099887766"


async def test_messenger_dialogue_with_quick_replies(settings_factory, hub_client, fake_api):
    graph = await fake_api()
    graph.on("GET", "/media/photo.jpg", default=PHOTO)

    async def accept(request, body):
        return web.json_response({"recipient_id": PSID, "message_id": f"m_out_{len(graph.calls_to(GRAPH_PATH))}"})
    graph.on("POST", GRAPH_PATH, default=accept)
    client = await hub_client(settings_factory(channels={"messenger": messenger_section(graph.url)}))
    talk = Transcript("Messenger")
    mid = iter(range(1, 100))

    async def say(text="", *, attachments=None, quick=None):
        item = message(PSID, f"m_dlg_{next(mid)}", text, attachments=attachments)
        if quick is not None:
            item["message"]["quick_reply"] = {"payload": quick}
        raw = json.dumps(batch([item]), ensure_ascii=False).encode()
        resp = await client.post("/webhooks/messenger", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)})
        assert resp.status == 200
        talk.citizen(text or "(ảnh)")

    async def answer(n):
        sends = await wait_for(lambda: _at_least(lambda: graph.calls_to(GRAPH_PATH), n))
        body = sends[n - 1].json()
        quick = body["message"].get("quick_replies") or []
        talk.hub(body["message"]["text"], [q.get("title") or q["content_type"] for q in quick])
        return body["message"]["text"], quick

    await say("Đèn đường hỏng cả tuần nay, buổi tối tối om rất nguy hiểm")
    text, quick = await answer(1)
    [report] = await _reports(client)
    assert f"Mã phản ánh: {report.code}" in text and "Sự việc ở đâu" in text
    # Messenger has no location quick reply any more: asked in words, with skip/done.
    assert [q["content_type"] for q in quick] == ["text", "text"]
    assert [q["title"] for q in quick] == ["Bỏ qua", "Xong"]
    assert report.status == "received"  # waits for the dialogue

    await say("kiệt 5 Ngự Bình, phường An Cựu")
    text, quick = await answer(2)
    assert text == templates.render("ask_photo") and len(quick) == 2
    await say(attachments=[image(graph.url + "/media/photo.jpg")])
    text, quick = await answer(3)
    assert text == templates.render("ask_phone@messenger")
    assert quick[0] == {"content_type": "user_phone_number"}
    # The citizen taps their number: Messenger sends it as text with the number as payload.
    await say("+84905123456", quick="+84905123456")
    text, quick = await answer(4)
    [report] = await _reports(client)
    assert report.status in ("forwarded", "triage") and report.address.startswith("kiệt 5 Ngự Bình")
    assert text in (templates.render("forwarded", code=report.code, agency="Sở Xây dựng"),
                    templates.render("dialogue_triage", code=report.code)) and not quick
    # The dialogue is over: more text joins the report, nothing more is asked.
    await say("Cột đèn số 14 ạ")
    await wait_for(lambda: _extended(client, "Cột đèn số 14"))
    assert await _asked(client, report.id) == ["place", "photo", "phone"]
    assert len(graph.calls_to(GRAPH_PATH)) == 4
    talk.show()


async def _extended(client, text):
    return any(text in r.description for r in await _reports(client))


# --- Telegram ---------------------------------------------------------------------------------

CHAT = 512340001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


def _keyboard(sent: dict[str, str]) -> list[list[dict]]:
    markup = json.loads(sent.get("reply_markup") or "{}")
    return markup.get("keyboard") or []


async def test_telegram_dialogue_with_reply_keyboards(settings_factory, hub_client, fake_api):
    client, bot_api = await telegram_hub(settings_factory, hub_client, fake_api)
    talk = Transcript("Telegram")
    ids = iter(range(830200001, 830200100))

    async def say(update, shown):
        update["update_id"] = next(ids)
        update["message"]["date"] = int(time.time())
        resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                                 headers=HEADERS)
        assert resp.status == 200
        talk.citizen(shown)

    def text_update(text):
        update = load("message__text")
        update["message"]["text"] = text
        return update

    async def answer(n):
        sent = await wait_for(lambda: _at_least(lambda: sent_messages(bot_api), n))
        keyboard = _keyboard(sent[n - 1])
        talk.hub(sent[n - 1]["text"], [b["text"] for row in keyboard for b in row])
        return sent[n - 1]["text"], keyboard

    await say(text_update("Ổ gà rất lớn giữa đường, xe máy đi qua dễ ngã, đề nghị sửa gấp."),
              "Ổ gà rất lớn giữa đường, xe máy đi qua dễ ngã, đề nghị sửa gấp.")
    text, keyboard = await answer(1)
    assert "Mã phản ánh" in text and templates.render("ask_place@telegram") in text
    assert keyboard[0] == [{"text": "Gửi vị trí", "request_location": True}]
    assert [b["text"] for b in keyboard[1]] == ["Bỏ qua", "Xong"]

    located = load("message__text")
    del located["message"]["text"]
    located["message"]["location"] = {"latitude": 16.4676, "longitude": 107.5791}
    await say(located, "(chia sẻ vị trí 16.4676, 107.5791)")
    text, keyboard = await answer(2)
    assert text == templates.render("ask_photo") and [b["text"] for b in keyboard[0]] == ["Bỏ qua", "Xong"]

    await say(text_update("Bỏ qua"), "Bỏ qua")  # the keyboard's own button
    text, keyboard = await answer(3)
    assert text == templates.render("ask_phone@telegram")
    assert keyboard[0] == [{"text": "Chia sẻ số điện thoại", "request_contact": True}]

    await say(load("message__contact_own"), "(chia sẻ số điện thoại +84905123456)")
    text, keyboard = await answer(4)
    [report] = await _reports(client)
    assert report.status in ("forwarded", "triage") and not keyboard
    assert (report.lat, report.lon) == (16.4676, 107.5791)
    assert "Bỏ qua" not in report.description
    assert await _asked(client, report.id) == ["place", "photo", "phone"]

    # A status lookup of their own report, by command and by bare code: full status, no report.
    await say(text_update(f"/status {report.code}"), f"/status {report.code}")
    text, _ = await answer(5)
    assert text.startswith(f"Phản ánh {report.code}: ") and "Cập nhật lúc" in text
    await say(text_update(f"tra cứu {report.code.lower()}"), f"tra cứu {report.code.lower()}")
    text2, _ = await answer(6)
    assert text2 == text
    assert len(await _reports(client)) == 1
    talk.show()


async def test_telegram_window_end_routes_a_silent_citizen(db_url, settings_factory, hub_client,
                                                            fake_api):
    bot_api = await fake_api()
    serve(bot_api)
    client = await hub_client(settings_factory(db_url, channels=channel_settings(bot_api.url),
                                               intake={"assembly_window_minutes": 0.1}))
    update = load("message__text", date=int(time.time()))
    resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                             headers=HEADERS)
    assert resp.status == 200
    [report] = await wait_for(lambda: _reports(client))
    assert report.status == "received"  # the dialogue runs: not routed yet
    await wait_for(lambda: _at_least(lambda: sent_messages(bot_api), 1))

    async def routed():
        [r] = await _reports(client)
        return r if r.status in ("forwarded", "triage") else None
    report = await wait_for(routed, timeout=30)  # the 6-second window ends
    assert report.extra["dialogue"]["done"] is True and report.extra["dialogue"]["pending"] is None
    sent = await wait_for(lambda: _at_least(lambda: sent_messages(bot_api), 2))
    assert sent[1]["text"] in (templates.render("forwarded", code=report.code, agency="Sở Xây dựng"),
                               templates.render("dialogue_triage", code=report.code))
    # A late answer after the window makes no second question of the first report.
    assert len(await _asked(client, report.id)) == 1


# --- Zalo ---------------------------------------------------------------------------------------

OTHER = "9988776655443322110"


async def test_zalo_dialogue_card_and_lookup_by_code(settings_factory, hub_client, fake_api):
    api = await fake_api()
    FakeZalo(api)
    api.on("GET", "/media/photo.jpg", default=PHOTO)
    client = await hub_client(settings_factory(**zalo_settings(api.url, media_hosts=["127.0.0.1"])))
    talk = Transcript("Zalo OA")
    ids = iter(range(1, 100))

    async def say(name, shown, sender=USER, **changes):
        msg_id = f"dlg{next(ids):017d}"
        raw = stamped(name, msg_id=msg_id, sender=sender, **changes)
        resp = await client.post("/webhooks/zalo", data=raw, headers={"Content-Type": "application/json",
                                                                      **signed(raw)})
        assert resp.status == 200
        talk.citizen(shown)
        return msg_id

    async def answer(n, to=USER):
        calls = await wait_for(lambda: _at_least(lambda: [
            c for c in api.calls_to(CS) if c.json()["recipient"].get("user_id") == to], n))
        body = calls[n - 1].json()["message"]
        if "attachment" in body:
            element = body["attachment"]["payload"]["elements"][0]
            talk.hub(f"[thẻ yêu cầu thông tin] {element['title']} — {element['subtitle']}",
                     ["Chia sẻ"])
        else:
            talk.hub(body["text"])
        return body

    await say("user_send_text__report", "Cây xanh gãy đổ chắn ngang kiệt, không ai dọn",
              text="Cây xanh gãy đổ chắn ngang kiệt, không ai dọn")
    first = await answer(1)
    [report] = await _reports(client)
    assert report.code in first["text"] and templates.render("ask_place@zalo") in first["text"]

    await say("user_send_location__coordinates_only", "(gửi vị trí 16.4637, 107.5909)")
    assert (await answer(2))["text"] == templates.render("ask_photo@zalo")
    image_event = json.loads(stamped("user_send_image__with_caption"))
    image_event["message"]["attachments"][0]["payload"]["url"] = api.url + "/media/photo.jpg"
    await say("user_send_image__with_caption", "(ảnh) Cây đổ trước nhà số 12",
              text="Cây đổ trước nhà số 12", message=image_event["message"])
    assert (await answer(3))["text"] == templates.render("ask_phone@zalo")
    card = await answer(4)  # Zalo's request-user-info card follows the question
    assert card["attachment"]["payload"]["template_type"] == "request_user_info"
    await say("user_submit_info__full", "(chia sẻ: Nguyễn Thị Lan, 0905 123 456)")
    done = await answer(5)
    [report] = await _reports(client)
    assert report.status in ("forwarded", "triage")
    assert done["text"] in (templates.render("forwarded", code=report.code, agency="Sở Xây dựng"),
                            templates.render("dialogue_triage", code=report.code))
    assert await _asked(client, report.id) == ["place", "photo", "phone"]

    # Lookups: the owner by a bare code sees it in full; another citizen only the public status.
    await say("user_send_text__report", report.code, text=report.code)
    own = await answer(6)
    assert own["text"].startswith(f"Phản ánh {report.code}: ") and "Cập nhật lúc" in own["text"]
    msg_id = await say("user_send_text__report", f"tra cứu {report.code}", sender=OTHER,
                       text=f"tra cứu {report.code}")
    other = await answer(1, to=OTHER)
    label = templates.STATUS_LABELS[report.status]
    assert other["text"] == templates.render("status_public", code=report.code, status_label=label,
                                             status_url=f"http://hub.test/r/{report.code}")

    async def settled():
        async with client.app[HUB_KEY].sessions() as session:
            state = (await session.execute(select(InboxEvent.state).where(
                InboxEvent.external_id == msg_id))).scalar()
        return state if state in ("ignored", "done") else None
    assert await settled() or await wait_for(settled) == "ignored"
    assert len(await _reports(client)) == 1  # no report from a lookup
    talk.show()
