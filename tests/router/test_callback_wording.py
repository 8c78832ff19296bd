"""The call-back list holds what an operator reads out on the phone: the template's callback
wording, not the chat text rendered for the channel that refused ("reply with a number")."""
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Callback, Report
from tests.conftest import wait_for
from tests.router.helpers import report, token
from tests.router.test_e2e_telegram import _post
from tests.telegram.fakebot import channel_settings, error, path, sent_messages, serve

BLOCKED = error(403, "Forbidden: bot was blocked by the user")


async def test_failed_result_is_called_back_with_the_spoken_wording(settings_factory, hub_client,
                                                                   fake_api):
    bot_api = await fake_api()
    serve(bot_api)
    client = await hub_client(settings_factory(channels=channel_settings(bot_api.url)))
    hub = client.app[HUB_KEY]
    await _post(client, "message__text")
    await _post(client, "message__contact_own")
    await _post(client, "message__text", text="xong", update_id=830100700)

    async def routed():
        async with hub.sessions() as session:
            rep = (await session.execute(select(Report))).scalar()
            return rep if rep is not None and rep.status in ("forwarded", "triage") else None
    rep = await wait_for(routed)
    code = rep.code
    center = await token(client, "center")
    if rep.status == "triage":
        resp = await client.post(f"/api/v1/reports/{code}/route",
                                 json={"category": "traffic_infrastructure"}, headers=center)
        assert resp.status == 200
    agency_id = (await report(client, code)).agency_id
    agency = await token(client, agency_id)
    await wait_for(lambda: _pending_done(client))
    sent_before = len(sent_messages(bot_api))

    bot_api.on("POST", path("sendMessage"), default=BLOCKED)  # the chat refuses the result
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã vá ổ gà"}, headers=agency)
    assert resp.status == 200

    async def listed():
        async with hub.sessions() as session:
            return (await session.execute(select(Callback))).scalars().all()
    [entry] = await wait_for(listed)
    assert len(sent_messages(bot_api)) > sent_before  # it was tried on Telegram first
    assert "trả lời bằng một số" not in entry.text  # the chat wording
    assert entry.text.startswith(f"Phản ánh {code} đã được ")
    assert entry.text.endswith(" xử lý xong. Kết quả: Đã vá ổ gà\n"
                               "Xin ông/bà cho biết mức độ hài lòng từ 1 đến 5 (5 là rất hài lòng).")


async def _pending_done(client):
    from store.models import OutboxMessage

    async with client.app[HUB_KEY].sessions() as session:
        states = (await session.execute(select(OutboxMessage.state))).scalars().all()
    return states and all(s in ("sent", "dead") for s in states)
