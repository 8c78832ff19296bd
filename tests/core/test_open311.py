"""The web channel (Open311 GeoReport v2) through the whole hub: intake → worker → report."""
import asyncio
import html
import json

from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import InboxEvent, OutboxMessage, Report
from tests.conftest import wait_for

FORM = {"service_code": "environment", "lat": "16.4637", "long": "107.5909",
        "description": "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi, gọi tôi 0905 123 456",
        "email": "Citizen@Example.vn", "first_name": "Lan", "last_name": "Nguyễn",
        "phone": "0905.123.456"}


async def _report_code(client, token):
    async def check():
        resp = await client.get(f"/open311/v2/tokens/{token}.json")
        assert resp.status == 200
        return (await resp.json())[0]["service_request_id"]
    return await wait_for(check)


async def test_services_lists_our_categories(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    resp = await client.get("/open311/v2/services.json")
    services = await resp.json()
    assert {s["service_code"] for s in services} >= {"environment", "public_service", "tourism"}
    assert all(s["type"] == "batch" and s["metadata"] is False for s in services)


async def test_post_request_becomes_a_report_without_personal_data_in_public(
        settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    resp = await client.post("/open311/v2/requests.json", data=FORM)
    assert resp.status == 201, await resp.text()
    token = (await resp.json())[0]["token"]
    code = await _report_code(client, token)
    assert code.startswith("PA-2")

    resp = await client.get(f"/open311/v2/requests/{code}.json")
    [public] = await resp.json()
    assert public["service_request_id"] == code and public["status"] == "open"
    assert public["service_code"] == "environment"
    assert public["lat"] == 16.464 and public["long"] == 107.591  # rounded, as on the portal
    body = await resp.text()
    assert "090*****56" in body  # the number in the description is masked, not dropped
    for secret in ("0905", "123 456", "905123", "Citizen@",
                   "citizen@example.vn", "Lan"):
        assert secret not in body, secret
    # the citizen is Lan Nguyễn; "kiệt 12 Nguyễn Trãi" is a street named like them, kept
    assert "kiệt 12 Nguyễn Trãi" in body and body.count("Nguyễn") == body.count("Nguyễn Trãi")

    hub = client.app[HUB_KEY]
    async with hub.sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        # an explicit service code routes with full confidence to the environment agency
        assert report.category == "environment" and report.agency_id == "moi-truong"
        assert report.status == "forwarded" and report.due_at is not None
        ack = (await session.execute(select(OutboxMessage).where(
            OutboxMessage.report_id == report.id))).scalars().first()
        assert ack is not None and code in ack.payload["text"]
        assert "Mã phản ánh" in ack.payload["text"]

    listed = await (await client.get("/open311/v2/requests.json?status=open")).json()
    assert [r["service_request_id"] for r in listed] == [code]
    assert await (await client.get("/open311/v2/requests.json?status=closed")).json() == []


async def test_validation_errors_use_the_spec_error_format(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    cases = [
        ({}, 400, "service_code is required"),
        ({"service_code": "nope", "lat": "1", "long": "1", "description": "x"}, 404, "not found"),
        ({"service_code": "environment", "description": "x"}, 400, "location is required"),
        ({"service_code": "environment", "lat": "abc", "long": "1", "description": "x"}, 400, "numbers"),
        ({"service_code": "environment", "address_string": "Huế"}, 400, "description or media_url"),
        ({**FORM, "phone": "12345"}, 400, "phone"),
        ({**FORM, "media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({**FORM, "description": "x" * 4001}, 400, "description longer than 4000 characters"),
        ({**FORM, "address_string": "Kiệt " * 201}, 400, "address_string longer than 1000"),
        ({**FORM, "first_name": "A" * 200, "last_name": "Nguyễn" * 10}, 400,
         "last_name and first_name longer than 255"),
    ]
    for form, status, message in cases:
        resp = await client.post("/open311/v2/requests.json", data=form)
        assert resp.status == status, (form, await resp.text())
        [error] = await resp.json()
        assert error["code"] == status and message in error["description"], (form, error)
    resp = await client.post("/open311/v2/requests.json", json={"service_code": "environment"})
    assert resp.status == 400
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar() == 0
    assert (await client.get("/open311/v2/requests/PA-2000-000001.json")).status == 404
    assert (await client.get("/open311/v2/tokens/unknown.json")).status == 404


async def test_same_request_five_times_concurrently_gives_one_report(
        settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    headers = {"Idempotency-Key": "app-req-42"}
    responses = await asyncio.gather(*(client.post("/open311/v2/requests.json", data=FORM,
                                                   headers=headers) for _ in range(5)))
    assert sorted(r.status for r in responses) == [200, 200, 200, 200, 201]
    await _report_code(client, "app-req-42")
    hub = client.app[HUB_KEY]
    await asyncio.sleep(0.3)
    async with hub.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar() == 1
        assert (await session.execute(select(func.count()).select_from(Report))).scalar() == 1
        assert (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar() == 1
    # a later retry of the same request is told the report's id directly
    resp = await client.post("/open311/v2/requests.json", data=FORM, headers=headers)
    assert (await resp.json())[0]["service_request_id"].startswith("PA-")


async def test_api_key_is_required_when_configured(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"api_key": "k-123"}}))
    resp = await client.post("/open311/v2/requests.json", data=FORM)
    assert resp.status == 403
    resp = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": "k-123"})
    assert resp.status == 201


async def test_healthz_and_metrics(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    await client.post("/open311/v2/requests.json", data=FORM)
    text = await (await client.get("/metrics")).text()
    assert 'hub_intake_events_total{channel="web",result="stored"} 1.0' in text
    assert "hub_webhook_ack_seconds_bucket" in text
    assert "hub_inbox_lag_seconds" in text


async def test_public_views_mask_the_citizens_name_and_any_address_shaped_email(
        settings_factory, hub_client):
    client = await hub_client(settings_factory())
    form = {"service_code": "traffic_infrastructure", "first_name": "Nguyễn Thị", "last_name": "Lan",
            "description": "Tôi là nguyễn thị lan, email nguyễn.lan@gmail.com. Ổ gà lớn",
            "address_string": "kiệt 5 Lê Lợi, nhà chị Lan, lan@example.vn"}
    resp = await client.post("/open311/v2/requests.json", data=form)
    code = await _report_code(client, (await resp.json())[0]["token"])
    for path in (f"/api/public/reports/{code}", f"/r/{code}", f"/open311/v2/requests/{code}.json",
                 "/open311/v2/requests.json"):
        resp = await client.get(path)
        if resp.content_type == "application/json":  # compare text, not \u escapes
            body = json.dumps(await resp.json(), ensure_ascii=False)
        else:
            body = html.unescape(await resp.text())
        for secret in ("nguyễn thị lan", "Nguyễn Thị Lan", "nguyễn.lan@gmail.com", "lan@example.vn"):
            assert secret not in body, (path, secret)
        assert "Ổ gà lớn" in body, (path, body)
