"""When the origin channel refuses, the next contact point the citizen gave; else the operators'
call-back list; every attempt is on the report."""
import json
import time

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Callback, OutboxMessage
from tests.conftest import wait_for
from tests.router.helpers import events, report, token
from tests.telegram.fakebot import SECRET, channel_settings, error, load, path, sent_messages, serve

CHAT = 512340001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
BLOCKED = error(403, "Forbidden: bot was blocked by the user")


async def _post(client, name, **kw):
    update = load(name, **kw)
    resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                              headers=HEADERS)
    assert resp.status == 200
    hub = client.app[HUB_KEY]
    from store.models import InboxEvent

    async def done():
        async with hub.sessions() as session:
            return (await session.execute(select(InboxEvent.state).where(
                InboxEvent.external_id == str(update["update_id"])))).scalar() in ("done", "ignored")
    await wait_for(done)


async def _code(client):
    from store.models import Report

    async with client.app[HUB_KEY].sessions() as session:
        return (await session.execute(select(Report.code))).scalar_one()


async def _telegram_hub(settings_factory, hub_client, fake_api, **channels):
    bot_api = await fake_api()
    serve(bot_api)
    settings = settings_factory(channels={**channel_settings(bot_api.url), **channels})
    return await hub_client(settings), bot_api


async def test_refused_message_lands_on_the_callback_list(settings_factory, hub_client, fake_api):
    def receipts_too(**sections):  # by default a receipt is not worth a call; configurable
        return settings_factory(routing={"callback_templates": ["ack", "ack_forwarded"]}, **sections)
    client, bot_api = await _telegram_hub(receipts_too, hub_client, fake_api)
    await _post(client, "message__contact_own", date=int(time.time()))  # phone first
    bot_api.on("POST", path("sendMessage"), default=BLOCKED)
    await _post(client, "message__text", date=int(time.time()))
    code = await _code(client)

    async def listed():
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(Callback))).scalars().all()
    [entry] = await wait_for(listed)
    assert entry.phone == "+84905123456" and code in entry.text
    assert entry.reason.startswith("telegram: bot blocked by user")
    notes = [e.note for e in await events(client, code, "notification")]
    assert notes == ["gửi qua telegram thất bại: bot blocked by user",
                     "đưa vào danh sách gọi lại (telegram: bot blocked by user)"]
    center = await token(client, "center")
    [shown] = (await (await client.get("/api/v1/callbacks", headers=center)).json())["callbacks"]
    assert shown["report_code"] == code
    metrics = await (await client.get("/metrics")).text()
    assert ('hub_outbox_attempts_total{channel="telegram",outcome="to_callback",purpose="fallback"} 1.0'
            in metrics)


async def test_known_block_skips_the_channel_and_sms_reaches_the_phone(settings_factory, hub_client,
                                                                       fake_api):
    sms = await fake_api()
    sms.on("POST", "/send", default={"id": "sms-9"})
    client, bot_api = await _telegram_hub(
        settings_factory, hub_client, fake_api,
        hotline={"enabled": True, "sms_gateway_url": f"{sms.url}/send"})
    await _post(client, "message__text", date=int(time.time()))
    await _post(client, "message__contact_own", date=int(time.time()))
    code = await _code(client)
    await wait_for(lambda: _count(bot_api, 1))
    await _post(client, "my_chat_member__blocked")  # Telegram tells us the bot was blocked
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "rejected", "note": "Đã được xử lý ở phản ánh khác"},
                             headers=center)
    assert resp.status == 200
    [call] = await wait_for(lambda: _sms(sms))
    assert call.json()["text"] == f"Phản ánh {code} không được tiếp nhận. Lý do: Đã được xử lý ở phản ánh khác"
    assert len(sent_messages(bot_api)) == 1  # only the acknowledgement, before the block
    async with client.app[HUB_KEY].sessions() as session:
        rows = (await session.execute(select(OutboxMessage.channel, OutboxMessage.template)
                                      .order_by(OutboxMessage.id))).all()
    assert [tuple(r) for r in rows][-1] == ("sms", "rejected")
    notes = [e.note for e in await events(client, code, "notification")]
    assert "chuyển thông báo sang sms (telegram: người dân đã chặn tin của Trung tâm)" in notes


async def test_no_contact_point_left_is_recorded(settings_factory, hub_client, fake_api):
    def short_window(**sections):  # the report is routed when its assembly window ends
        return settings_factory(intake={"assembly_window_minutes": 0.1}, **sections)
    client, bot_api = await _telegram_hub(short_window, hub_client, fake_api)
    bot_api.on("POST", path("sendMessage"), default=BLOCKED)
    await _post(client, "message__text", date=int(time.time()))
    code = await _code(client)

    async def recorded():
        notes = [e.note for e in await events(client, code, "notification")]
        return notes if len(notes) == 2 else None
    notes = await wait_for(recorded)
    assert notes[1] == "không còn cách nào liên hệ công dân (telegram: bot blocked by user)"

    async def routed():
        return (await report(client, code)).status in ("forwarded", "triage")
    await wait_for(routed, timeout=30)


async def _count(api, n):
    return len(sent_messages(api)) >= n


async def _sms(api):
    return api.calls_to("/send") or None
