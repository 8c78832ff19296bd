"""Real Open311 clients against our server, unmodified, over loopback HTTP.

From PyPI, the GeoReport v2 client libraries that run on Python 3: ``georeport`` 0.3.1 (reads:
services, service definitions, requests, in XML and JSON; it has no POST) and ``civicbot``
0.4.0's ``Open311Client`` (JSON only, with POST and tokens). Code for America's ``three`` 0.8.0
and ``open311`` 1.1 do not import on Python 3 (``itertools.ifilter``; Python 2 relative
imports), see docs/open311.md. The XML POST is exercised by the FixMyStreet-style client we
ship (router/open311_client.py) posting to our own endpoint as if we were the agency.
"""
from __future__ import annotations

import asyncio
import socket

from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport

from hub.app import create_app
from hub.keys import HUB_KEY
from router.open311_client import poll_open311
from tests.conftest import wait_for
from tests.open311.spec import REQUEST_FIELDS
from tests.router.helpers import ENV_FORM, ROAD_FORM, outbox, post_report, report, token

KEY = "portal-app-key"


def _civicbot(base: str) -> Open311Client:
    endpoint = Endpoint(id="hue", name="Huế", base_url=base, write=True)
    return Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(min_interval=0)))


async def test_georeport_and_civicbot_list_post_and_read_back(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"api_key": KEY}}))
    base = str(client.make_url("/open311/v2"))
    bot = _civicbot(base)
    # civicbot: list services (JSON), check the form against them, POST for real
    services = await asyncio.to_thread(bot.list_services)
    assert "environment" in {s["service_code"] for s in services}
    prepared = await asyncio.to_thread(
        bot.create_request, "environment", dry_run=False, confirm="SEND", api_key=KEY,
        validate_remote=True, lat=16.4637, lng=107.5909,
        description="Rác thải ùn ứ ở kiệt 12 Nguyễn Trãi", media_url="https://cdn.example.vn/a.jpg")
    [answer] = prepared.response
    assert answer["token"] and "service_request_id" not in answer

    async def code_from_token():
        [row] = await asyncio.to_thread(bot.get_token, answer["token"])
        return row["service_request_id"]
    code = await wait_for(code_from_token)
    read = await asyncio.to_thread(bot.get_request, code)
    # the client's media_url is not published (a host we never fetched from): no photo of ours
    assert read["service_request_id"] == code and read["media_url"] is None
    listed = await asyncio.to_thread(bot.list_requests, service_request_ids=[code])
    assert [r["service_request_id"] for r in listed] == [code]

    # georeport, in both formats: the same services, the same request
    for fmt in ("xml", "json"):
        geo = GeoReport(base, output_format=fmt)
        listed_services = await asyncio.to_thread(geo.get_service_list)
        assert [s["service_code"] for s in listed_services] == [s["service_code"] for s in services]
        assert {s["type"] for s in listed_services} == {"batch"}
        definition = await asyncio.to_thread(geo.get_service_definition, "environment")
        assert definition["service_code"] == "environment"
        one = await asyncio.to_thread(geo.get_service_request, code)
        assert one["service_request_id"] == code and set(one) == set(REQUEST_FIELDS), fmt
        assert one["status"] == "open" and one["service_code"] == "environment"
        assert float(one["lat"]) == 16.464 and not one["media_url"]  # None, or XML's empty
        many = await asyncio.to_thread(geo.get_service_requests, service_request_id=code)
        # xmltodict gives one <request> as a dict, several as a list
        many = [many] if isinstance(many, dict) else many
        assert [r["service_request_id"] for r in many] == [code]
        open_ = await asyncio.to_thread(geo.get_service_requests, status="open",
                                        service_code="environment")
        open_ = [open_] if isinstance(open_, dict) else open_
        assert [r["service_request_id"] for r in open_] == [code]
    # An empty list is <service_requests/>, which georeport's XML path cannot read (it indexes
    # the None xmltodict gives); its JSON path reads [].
    assert await asyncio.to_thread(GeoReport(base).get_service_requests, status="closed") == []


async def test_our_open311_client_posts_xml_to_our_server_and_polls_it_back(
        settings_factory, aiohttp_client):
    """The hub is both sides: the road agency's "own system" is our endpoint, where its copy
    is filed under environment (another agency, so nothing loops). Work on the copy comes back
    to the original by polling requests.xml."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agencies = [
        {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"]},
        {"id": "so-xay-dung", "name": "Sở Xây dựng", "categories": ["traffic_infrastructure"],
         "open311_endpoint": f"http://127.0.0.1:{port}/open311/v2", "open311_api_key": KEY,
         "open311_services": {"traffic_infrastructure": "environment"}},
    ]
    settings = settings_factory(agencies=agencies, channels={"web": {"api_key": KEY}})
    client = await aiohttp_client(create_app(settings), server_kwargs={"port": port})
    original = await post_report(client, ROAD_FORM, api_key=KEY)

    async def posted():
        rows = await outbox(client, original, channel="agency_open311")
        return rows[0] if rows and rows[0].state in ("sent", "dead") else None
    row = await wait_for(posted)
    assert row.state == "sent", row.last_error
    # our server answered a token to our client, which asked tokens/{t}.xml for the id (or
    # keeps the token for the next poll)
    hub = client.app[HUB_KEY]
    ticket = (await report(client, original)).extra["open311_ticket"]
    assert ticket["token"] and row.provider_id in (ticket["service_request_id"], f"token:{ticket['token']}")

    async def copy_id():
        await poll_open311(hub)
        return (await report(client, original)).extra["open311_ticket"]["service_request_id"]
    copy = await wait_for(copy_id)
    assert copy != original
    assert (await report(client, copy)).agency_id == "moi-truong"
    assert f"Mã phản ánh: {original}" in (await report(client, copy)).description

    center = await token(client, "moi-truong")
    resp = await client.post(f"/api/v1/reports/{copy}/status", headers=center,
                             json={"status": "resolved", "note": "Đã xử lý xong tại hiện trường"})
    assert resp.status == 200
    assert (await poll_open311(hub))["changed"] == 1
    back = await report(client, original)
    assert back.status == "resolved"
    [resp_json] = await (await client.get(f"/open311/v2/requests/{original}.json")).json()
    assert resp_json["status_notes"] == "Đã xử lý xong tại hiện trường"
    # an environment report of our own is untouched by the round trip
    other = await post_report(client, ENV_FORM, api_key=KEY)
    assert (await report(client, other)).status == "forwarded"
