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


async def test_a_merged_callers_call_back_names_their_own_code(settings_factory, hub_client,
                                                              tmp_path):
    """Vietnamese review: a "me too" caller merged into another report was read out the other
    report's news without being told it was theirs ("Phản ánh PA-…1 không được tiếp nhận…" to
    the caller of PA-…2): every fallback route dropped the merged reporter's prefix."""
    from datetime import datetime, timedelta, timezone

    from channels.hotline.importer import import_file, reader_options

    client = await hub_client(settings_factory(channels={"hotline": {"enabled": True}}))
    hub = client.app[HUB_KEY]
    when = (datetime.now(timezone(timedelta(hours=7))) - timedelta(minutes=5)).isoformat(
        timespec="seconds")
    export = tmp_path / "calls.csv"
    export.write_text(
        "Call ID,Call time,Caller,Agent,Transcript,Address\n"
        f'CC-1,{when},0905 111 222,Lan,"Cây xanh đổ chắn đường Lê Lợi",Lê Lợi\n'
        f'CC-2,{when},0914 222 333,Lan,"Cây đổ ngang đường Lê Lợi, không đi được",Lê Lợi\n',
        encoding="utf-8")
    summary = await import_file(hub.intake.submit_many, export,
                                reader_options(hub.settings.channels.hotline))
    assert summary.imported == 2

    async def codes():
        async with hub.sessions() as session:
            found = (await session.execute(select(Report.code).order_by(Report.id))).scalars().all()
        return found if len(found) == 2 else None
    first, second = await wait_for(codes)
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{second}/status", headers=center,
                             json={"status": "duplicate", "duplicate_of": first})
    assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/reports/{first}/status", headers=center,
                             json={"status": "rejected", "note": "Cây đã được dọn trước đó."})
    assert resp.status == 200, await resp.text()

    async def listed():
        async with hub.sessions() as session:
            entries = (await session.execute(select(Callback).where(
                Callback.phone == "+84914222333"))).scalars().all()
        return [e for e in entries if first in e.text] or None
    [entry] = await wait_for(listed)
    assert entry.text.startswith(f"Phản ánh {second} của bạn đã được gộp vào phản ánh {first}. ")
    assert "không được tiếp nhận" in entry.text and "Cây đã được dọn trước đó." in entry.text
