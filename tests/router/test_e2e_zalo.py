"""Zalo end to end: signed webhook → report → routed → the agency works it through the API → the
fake Zalo API receives the Vietnamese update; outside the 7-day window (-230) the update goes
as a ZNS message to the phone the citizen submitted."""
from aiohttp import web
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.router.helpers import events, report, token
from tests.zalo.support import CS, USER, ZNS, FakeZalo, signed, stamped, zalo_settings


async def _post(client, raw):
    resp = await client.post("/webhooks/zalo", data=raw,
                             headers={"Content-Type": "application/json", **signed(raw)})
    assert resp.status == 200


def _texts(api):
    # text messages only (the request-user-info card after the acknowledgement has none)
    return [c.json()["message"]["text"] for c in api.calls_to(CS) if "text" in c.json()["message"]]


async def test_zalo_citizen_hears_updates_then_zns_outside_the_window(settings_factory, hub_client,
                                                                      fake_api):
    api = await fake_api()
    FakeZalo(api)
    client = await hub_client(settings_factory(**zalo_settings(api.url)))
    await _post(client, stamped("user_send_text__report"))  # garbage on Tố Hữu street
    await wait_for(lambda: _n(_texts(api), 1))
    async with client.app[HUB_KEY].sessions() as session:
        code = (await session.execute(select(Report.code))).scalar_one()
    assert f"Mã phản ánh: {code}" in _texts(api)[0]
    assert api.calls_to(CS)[0].json()["recipient"] == {"user_id": USER}
    await _post(client, stamped("user_submit_info__full"))  # name and phone
    center = await token(client, "center")
    if (await report(client, code)).agency_id != "moi-truong":
        # (still asking for a photo: the center routes it without waiting for the window)
        sent = len(_texts(api))
        assert (await client.post(f"/api/v1/reports/{code}/route", json={"agency": "moi-truong"},
                                  headers=center)).status == 200
        await wait_for(lambda: _n(_texts(api), sent + 1))
    agency = await token(client, "moi-truong")
    before = len(_texts(api))
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "in_progress", "note": "Đang xử lý"}, headers=agency)
    assert resp.status == 200
    await wait_for(lambda: _n(_texts(api), before + 1))
    assert _texts(api)[-1] == (f"Phản ánh {code} đang được Công ty Môi trường đô thị Huế xử lý.\n"
                               "Ghi chú của đơn vị: Đang xử lý")

    async def outside_window(request, body):
        return web.json_response({"error": -230,
                                  "message": "User has not interacted with the OA in the past 7 days"})
    api.on("POST", CS, default=outside_window)
    resp = await client.post(f"/api/v1/reports/{code}/status",
                             json={"status": "resolved", "note": "Đã thu gom"}, headers=agency)
    assert resp.status == 200
    [zns] = await wait_for(lambda: _calls(api, ZNS))
    body = zns.json()
    assert body["phone"] == "84905123456" and body["template_id"] == "305678"
    assert body["template_data"]["code"] == code and body["template_data"]["note"] == "Đã thu gom"
    notes = [e.note for e in await events(client, code, "notification")]
    assert any(n.startswith("chuyển thông báo sang zns (zalo:") for n in notes)
    await wait_for(lambda: _has(client, code, "đã gửi qua zns (resolved)"))


async def _n(items, count):
    return len(items) >= count


async def _has(client, code, note):
    return note in [e.note for e in await events(client, code)]


async def _calls(api, path):
    return api.calls_to(path) or None
