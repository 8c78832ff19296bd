"""A report re-routed while its first delivery still waits must not reach the old agency:
the queued forward gives up, and the withdrawal carries only the code (no citizen, no notes)."""
import asyncio
import contextlib

from aiohttp import web
from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import OutboxMessage
from tests.conftest import wait_for
from tests.router.helpers import ENV_FORM, outbox, post_report, token

SECRET = "s1"


async def test_rerouted_report_is_not_delivered_to_the_old_agency(settings_factory, hub_client,
                                                                  fake_api):
    api = await fake_api()
    api.on("POST", "/hookA", default={"ok": True})
    agencies = [
        {"id": "moi-truong", "name": "MT", "categories": ["environment"],
         "webhook_url": f"{api.url}/hookA", "webhook_secret": SECRET},
        {"id": "so-xay-dung", "name": "SXD", "categories": ["traffic_infrastructure"]},
    ]
    release = asyncio.Event()

    async def slow_photo(request, body):  # a download still running holds the delivery back
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 5)
        return web.Response(status=503)
    api.on("GET", "/x.jpg", default=slow_photo)
    client = await hub_client(settings_factory(
        agencies=agencies, routing={"delivery_media_wait_seconds": 2},
        channels={"web": {"media_hosts": ["127.0.0.1"]}}))
    # A pending download holds the first delivery back for a while (a media_url outside
    # media_hosts is only a link: nothing to wait for).
    code = await post_report(client, ENV_FORM, media_url=f"{api.url}/x.jpg")
    center = await token(client, "center")
    resp = await client.post(f"/api/v1/reports/{code}/route", json={"agency": "so-xay-dung"},
                             headers=center)
    assert resp.status == 200, await resp.text()
    sxd = await token(client, "so-xay-dung")
    await client.post(f"/api/v1/reports/{code}/note", json={"note": "ghi chú nội bộ của SXD"},
                      headers=sxd)

    async def settled():
        rows = await outbox(client, code, purpose="agency_webhook")
        return rows if len(rows) >= 2 and all(r.state in ("sent", "dead") for r in rows) else None
    rows = await wait_for(settled, timeout=15)
    release.set()
    states = {r.payload["template_data"]["event"]: r for r in rows}
    assert states["report.forwarded"].state == "dead"
    assert "no longer assigned" in states["report.forwarded"].last_error
    assert states["report.withdrawn"].state == "sent"
    [call] = api.calls_to("/hookA")
    body = call.json()
    assert body["event"] == "report.withdrawn" and body["report"] == {"code": code, "withdrawn": True}
    assert "ghi chú" not in call.body.decode() and "citizen" not in body["report"]
    # nothing else is queued for the old agency
    async with client.app[HUB_KEY].sessions() as s:
        left = (await s.execute(select(OutboxMessage).where(
            OutboxMessage.state.in_(("pending", "retry")),
            OutboxMessage.address == "moi-truong"))).scalars().all()
    assert left == []
