"""The Open311 client side: an agency whose own system speaks GeoReport v2 is a delivery route.
A citizen's Telegram report routed to it is POSTed to the agency's (fake, loopback) Open311
server; the agency's status is polled back and applied to our lifecycle, and the citizen hears
each step on Telegram."""
from __future__ import annotations

import json
import socket
import time

import pytest

from hub.keys import HUB_KEY
from router.open311_client import parse_answer, poll_open311
from tests.conftest import wait_for
from tests.open311.fake_agency import API_KEY, JURISDICTION, FakeAgencyOpen311
from tests.router.helpers import ROAD_FORM, outbox, post_report, report, token
from tests.telegram.fakebot import SECRET, channel_settings, load, sent_messages, serve

CHAT = 512340001
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


@pytest.fixture
async def agency_server():
    servers = []

    async def make(**kw):
        server = await FakeAgencyOpen311(**kw).start()
        servers.append(server)
        return server
    yield make
    for server in servers:
        await server.close()


def _agencies(endpoint: str, **extra):
    road = {"id": "so-xay-dung", "name": "Sở Xây dựng",
            "categories": ["traffic_infrastructure", "urban_infrastructure", "construction_order"],
            "open311_endpoint": endpoint, "open311_api_key": API_KEY,
            "open311_jurisdiction": JURISDICTION,
            "open311_services": {"traffic_infrastructure": "ROAD-01"}, **extra}
    env = {"id": "moi-truong", "name": "Công ty Môi trường đô thị Huế", "categories": ["environment"]}
    return [env, road]


async def _sent_row(client, code):
    async def check():
        rows = await outbox(client, code, channel="agency_open311")
        return rows[0] if rows and rows[0].state in ("sent", "dead") else None
    return await wait_for(check)


async def _telegram_report(client, bot_api):
    update = load("message__text", date=int(time.time()))  # a pothole on Lê Lợi street
    resp = await client.post("/webhooks/telegram", data=json.dumps(update, ensure_ascii=False),
                             headers=HEADERS)
    assert resp.status == 200
    from sqlalchemy import select

    from store.models import Report

    async def code():
        async with client.app[HUB_KEY].sessions() as session:
            return (await session.execute(select(Report.code))).scalar()
    code = await wait_for(code)
    if (await report(client, code)).status == "triage":
        resp = await client.post(f"/api/v1/reports/{code}/route", headers=await token(client, "center"),
                                 json={"category": "traffic_infrastructure"})
        assert resp.status == 200
    return code


async def _bot_texts_until(bot_api, said):
    """The texts the citizen has received, once one of them satisfies ``said``."""
    async def check():
        texts = [m["text"] for m in sent_messages(bot_api) if m["chat_id"] == str(CHAT)]
        return texts if any(said(t) for t in texts) else None
    return await wait_for(check)


async def test_report_is_posted_polled_back_and_the_citizen_hears_it_on_telegram(
        settings_factory, hub_client, fake_api, agency_server):
    agency = await agency_server()
    bot_api = await fake_api()
    serve(bot_api)
    client = await hub_client(settings_factory(
        channels=channel_settings(bot_api.url), intake={"assembly_window_minutes": 0},
        agencies=_agencies(agency.endpoint)))
    hub = client.app[HUB_KEY]
    assert "router-open311-poll" in {job_id for job_id, *_ in hub.jobs}
    code = await _telegram_report(client, bot_api)
    row = await _sent_row(client, code)
    assert row.state == "sent", row.last_error
    [form] = agency.posts
    assert form["service_code"] == "ROAD-01" and form["jurisdiction_id"] == JURISDICTION
    assert form["api_key"] == API_KEY
    assert f"Mã phản ánh: {code}" in form["description"] and "Lê Lợi" in form["description"]
    [srid] = agency.requests
    assert row.provider_id == srid
    assert ((await report(client, code)).extra["open311_ticket"])["service_request_id"] == srid
    # the citizen has heard where the report went (the acknowledgement and the forwarding
    # notice are sent by the outbox worker on its own pace: count them only once both are out)
    forwarded = f"Phản ánh {code} đã được chuyển đến Sở Xây dựng để xử lý."
    acked = len(await _bot_texts_until(bot_api, lambda t: t == forwarded))
    # the row sent again (a crash after the answer was recorded) does not post twice
    from normalizer.schema import OutboundMessage
    again = await hub.senders["agency_open311"].send("so-xay-dung", OutboundMessage(**row.payload))
    assert again.status == "sent" and again.provider_id == srid and len(agency.posts) == 1

    # nothing new at the agency: the poll changes nothing and tells the citizen nothing
    assert (await poll_open311(hub))["changed"] == 0
    assert agency.gets[-1]["service_request_id"] == srid
    assert agency.gets[-1]["jurisdiction_id"] == JURISDICTION

    # the agency starts work, with a note: in_progress, and the citizen hears it
    agency.update(srid, "open", "Đã cử đội duy tu kiểm tra hiện trường")
    assert (await poll_open311(hub))["changed"] == 1
    assert (await report(client, code)).status == "in_progress"
    progress = (f"Phản ánh {code} đang được Sở Xây dựng xử lý.\n"
                "Ghi chú của đơn vị: Đã cử đội duy tu kiểm tra hiện trường")
    texts = await _bot_texts_until(bot_api, lambda t: t == progress)
    assert texts[acked:] == [progress]
    [public] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert public["status_notes"] == "Đã cử đội duy tu kiểm tra hiện trường"

    # the agency closes it: resolved with its note as the result, and a request to rate
    agency.update(srid, "closed", "Đã vá ổ gà, thảm lại mặt đường")
    assert (await poll_open311(hub))["changed"] == 1
    rep = await report(client, code)
    assert rep.status == "resolved"
    texts = await _bot_texts_until(bot_api, lambda t: "Kết quả: Đã vá ổ gà" in t)
    assert len(texts) == acked + 2
    assert "Kết quả: Đã vá ổ gà, thảm lại mặt đường" in texts[-1] and "đánh giá" in texts[-1]
    [public] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert public["status"] == "closed" and public["status_notes"] == "Đã vá ổ gà, thảm lại mặt đường"
    # a resolved report is no longer polled
    before = len(agency.gets)
    assert (await poll_open311(hub))["polled"] == 0 and len(agency.gets) == before


async def test_batch_agency_token_becomes_an_id_on_a_later_poll(
        settings_factory, hub_client, agency_server, db_url):
    # no mapping set: the agency's service named like our category (folded) is used
    agency = await agency_server(mode="batch", services=[("CS-2", "Đèn chiếu sáng"),
                                                         ("GT-1", "hạ tầng giao thông")])
    client = await hub_client(settings_factory(db_url, agencies=_agencies(agency.endpoint,
                                                                          open311_services={})))
    hub = client.app[HUB_KEY]
    code = await post_report(client, ROAD_FORM)
    row = await _sent_row(client, code)
    assert row.state == "sent" and row.provider_id == "token:tok-0"
    [form] = agency.posts
    assert form["service_code"] == "GT-1"
    assert form["address_string"].startswith("Lê Lợi") and "lat" not in form
    assert (await poll_open311(hub))["polled"] == 0  # no id yet: nothing to ask for
    agency.issue_ids()
    [srid] = agency.requests
    agency.update(srid, "closed", None)
    assert (await poll_open311(hub))["changed"] == 1
    rep = await report(client, code)
    assert rep.status == "resolved" and rep.extra["open311_ticket"]["service_request_id"] == srid
    [resolved] = [e for e in await _events(client, code) if e.status_to == "resolved"]
    assert resolved.note == "Đơn vị đã báo hoàn thành xử lý trên hệ thống của mình."
    assert resolved.actor == "so-xay-dung"


async def _events(client, code):
    from tests.router.helpers import events
    return await events(client, code)


async def test_agency_refusals_and_outages(settings_factory, hub_client, agency_server):
    agency = await agency_server()
    agency.fail_next = [(503, "CRM down"), (400, "description too vague for our CRM")]
    client = await hub_client(settings_factory(agencies=_agencies(agency.endpoint)))
    code = await post_report(client, ROAD_FORM)
    row = await _sent_row(client, code)
    # 503: retried; then a 400 is a refusal: dead, with the agency's own words, nothing posted
    assert row.state == "dead" and row.attempts == 2
    assert "HTTP 400" in row.last_error and "description too vague" in row.last_error
    assert agency.posts == []


async def test_unmappable_category_and_unreachable_endpoint(settings_factory, hub_client,
                                                            agency_server):
    agency = await agency_server(services=[("A", "Cây xanh"), ("B", "Vỉa hè")])  # none is ours
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    agencies = _agencies(agency.endpoint, open311_services={})
    agencies[0].update(categories=["environment"], open311_endpoint=f"http://127.0.0.1:{dead_port}/v2",
                       open311_api_key="x")
    client = await hub_client(settings_factory(agencies=agencies, workers={"outbox_max_attempts": 2}))
    code = await post_report(client, ROAD_FORM)
    row = await _sent_row(client, code)
    assert row.state == "dead" and "no Open311 service for category traffic_infrastructure" in row.last_error
    env = await post_report(client)
    row = await _sent_row(client, env)
    assert row.state == "dead" and "unreachable" in row.last_error and row.attempts == 2
    assert agency.posts == []


def test_answers_in_xml_and_json_are_read_alike():
    xml = (b'<?xml version="1.0" encoding="utf-8"?><service_requests><request>'
           b"<service_request_id>638344</service_request_id><status_notes/></request>"
           b"</service_requests>")
    assert parse_answer(xml) == [{"service_request_id": "638344", "status_notes": ""}]
    assert parse_answer(b'[{"service_request_id": 638344, "status_notes": null}]',
                        "application/json") == [{"service_request_id": "638344", "status_notes": ""}]
    assert parse_answer(b"<errors><error><code>403</code><description>bad key</description>"
                        b"</error></errors>") == [{"code": "403", "description": "bad key"}]


async def test_not_the_agencys_responsibility_goes_back_to_the_center(settings_factory, hub_client,
                                                                     agency_server):
    agency = await agency_server()
    client = await hub_client(settings_factory(agencies=_agencies(agency.endpoint)))
    hub = client.app[HUB_KEY]
    code = await post_report(client, ROAD_FORM)
    assert (await _sent_row(client, code)).state == "sent"
    [srid] = agency.requests
    agency.update(srid, "not_councils_responsibility", None)
    assert (await poll_open311(hub))["changed"] == 1
    rep = await report(client, code)
    assert rep.status == "returned" and rep.agency_id is None
    [returned] = [e for e in await _events(client, code) if e.status_to == "returned"]
    assert returned.note == "Đơn vị báo phản ánh không thuộc thẩm quyền xử lý của mình."
    assert (await poll_open311(hub))["polled"] == 0  # back with the center: not polled


def test_open311_agency_settings_are_checked():
    from pydantic import ValidationError

    from router.settings import AgencySettings

    ok = AgencySettings(id="a", name="A", open311_endpoint="https://crm.example.vn/open311/v2/")
    assert ok.open311_endpoint == "https://crm.example.vn/open311/v2"
    assert "k-9f3a77" not in repr(AgencySettings(id="a", name="A", open311_api_key="k-9f3a77"))
    for bad in ({"open311_endpoint": "crm.example.vn"}, {"open311_services": {"roads": "R1"}}):
        with pytest.raises(ValidationError, match="open311"):
            AgencySettings(id="a", name="A", **bad)
