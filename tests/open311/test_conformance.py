"""Our GeoReport v2 answers against the spec: every endpoint and every error, in XML and JSON,
checked with the JSON Schemas and the XML element structure of tests/open311/spec.py, the two
formats carrying the same data; then the details real clients rely on."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from hub.keys import HUB_KEY
from store.models import Report
from tests.conftest import wait_for
from tests.open311.spec import check_json, check_xml, same_data
from tests.router.helpers import post_report, token

V2 = "/open311/v2"
FORM = {"service_code": "environment", "lat": "16.4637", "long": "107.5909",
        "description": "Rác thải ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi, gọi 0905 123 456",
        "email": "lan@example.vn", "first_name": "Lan", "last_name": "Nguyễn",
        "media_url": "https://cdn.portal.example.vn/u/rac-1.jpg", "address_id": "HUE-000123",
        "zipcode": "49000"}
ADDRESS_ONLY = {"service_code": "traffic_infrastructure",
                "address_string": "kiệt 5 Lê Lợi, phường Thuận Hóa, Huế",
                "description": "Ổ gà lớn giữa đường Lê Lợi"}


async def _get(client, path, kind, status=200, method="GET", **kw):
    """The answer at ``path`` in both formats, each checked; returns (xml value, json value)."""
    out = {}
    for fmt, check in (("xml", check_xml), ("json", check_json)):
        url = path.replace("{fmt}", fmt)
        resp = await client.request(method, url, **kw)
        body = await resp.read()
        assert resp.status == status, (url, resp.status, body[:300])
        out[fmt] = check(kind, body, resp.headers["Content-Type"])
    return out["xml"], out["json"]


@pytest.fixture
async def hub(settings_factory, hub_client, db_url):
    """The hub with an api_key, on SQLite and (marked postgres) on PostgreSQL."""
    return await hub_client(settings_factory(db_url, channels={"web": {"api_key": "k-123"}}))


async def test_every_endpoint_in_both_formats_matches_the_spec(hub):
    client = hub
    code = await post_report(client, FORM, api_key="k-123")
    # discovery, at the API's root and under v2
    for base in ("/open311", V2):
        xml, data = await _get(client, f"{base}/discovery.{{fmt}}", "discovery")
        same_data(xml, data)
        [endpoint] = data["endpoints"]
        assert endpoint["url"] == "http://hub.test/open311/v2"
        assert endpoint["formats"] == ["text/xml", "application/json"]
    # services and a service definition
    xml, services = await _get(client, f"{V2}/services.{{fmt}}", "services")
    same_data(xml, services)
    assert {s["type"] for s in services} == {"batch"}  # POST answers with a token
    xml, definition = await _get(client, f"{V2}/services/environment.{{fmt}}", "service_definition")
    same_data(xml, definition)
    # one request, the list, a token
    xml, one = await _get(client, f"{V2}/requests/{code}.{{fmt}}", "requests")
    same_data(xml, one)
    assert [r["service_request_id"] for r in one] == [code]
    xml, listed = await _get(client, f"{V2}/requests.{{fmt}}", "requests")
    same_data(xml, listed)
    assert [r["service_request_id"] for r in listed] == [code]
    # POST: a new request answers with a token, in the format asked for
    for fmt, check in (("xml", check_xml), ("json", check_json)):
        resp = await client.post(f"{V2}/requests.{fmt}", data={**ADDRESS_ONLY, "api_key": "k-123"})
        assert resp.status == 201
        [posted] = check("post", await resp.read(), resp.headers["Content-Type"])
        assert posted["token"] and "service_request_id" not in posted

        async def processed(token=posted["token"]):
            [answer] = await (await client.get(f"{V2}/tokens/{token}.json")).json()
            return answer["service_request_id"]
        await wait_for(processed)
        xml, tok = await _get(client, f"{V2}/tokens/{posted['token']}.{{fmt}}", "token")
        same_data(xml, tok)
        assert tok[0]["service_request_id"].startswith("PA-")


ERRORS = [
    # (method, path, form, status, words in the description)
    ("GET", f"{V2}/services/nope.{{fmt}}", None, 404, "service_code"),
    ("GET", f"{V2}/requests/PA-2000-000001.{{fmt}}", None, 404, "not found"),
    ("GET", f"{V2}/tokens/unknown.{{fmt}}", None, 404, "token"),
    ("GET", f"{V2}/requests.{{fmt}}?status=pending", None, 400, "status"),
    ("GET", f"{V2}/requests.{{fmt}}?start_date=2026-01-01", None, 400, "time zone"),
    ("GET", f"{V2}/requests.{{fmt}}?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
     None, 400, "90 days"),
    ("POST", f"{V2}/requests.{{fmt}}", {"service_code": "environment", "api_key": "k-123"}, 400,
     "location"),
    ("POST", f"{V2}/requests.{{fmt}}", {**FORM, "service_code": "nope", "api_key": "k-123"}, 404,
     "service_code"),
    ("POST", f"{V2}/requests.{{fmt}}", FORM, 403, "api_key"),
    ("POST", f"{V2}/requests.{{fmt}}", {**FORM, "api_key": "wrong"}, 403, "api_key"),
    ("DELETE", f"{V2}/requests.{{fmt}}", None, 405, "not allowed"),
    ("POST", f"{V2}/services.{{fmt}}", None, 405, "not allowed"),
    ("GET", f"{V2}/nothing-here.{{fmt}}", None, 404, "no such"),
    ("GET", "/open311/v3/services.{fmt}", None, 404, "no such"),
]


@pytest.mark.parametrize(("method", "path", "form", "status", "words"), ERRORS,
                         ids=[f"{m} {p.split('/')[-1]} {s}" for m, p, _, s, _ in ERRORS])
async def test_errors_are_the_spec_error_body_in_both_formats(hub, method, path, form, status,
                                                             words):
    xml, data = await _get(hub, path, "errors", status=status, method=method, data=form)
    same_data(xml, data)
    [error] = data
    assert error["code"] == status and words in error["description"], error


async def test_errors_without_a_format_or_with_another_one_are_spec_errors_too(hub):
    for path, status in ((f"{V2}/services", 404), (f"{V2}/services.yaml", 404),
                         (f"{V2}/requests.csv", 404)):
        resp = await hub.get(path)
        assert resp.status == status
        [error] = check_xml("errors", await resp.read(), resp.headers["Content-Type"])
        assert error["code"] == str(status)
    resp = await hub.put(f"{V2}/requests.json")
    assert resp.status == 405 and "POST" in resp.headers["Allow"]


async def test_a_body_over_the_limit_and_a_json_body_are_spec_errors(settings_factory, hub_client):
    client = await hub_client(settings_factory(server={"max_body_bytes": 2048}))
    for fmt, check in (("xml", check_xml), ("json", check_json)):
        resp = await client.post(f"{V2}/requests.{fmt}", data={**ADDRESS_ONLY, "description": "x" * 5000})
        assert resp.status == 413
        [error] = check("errors", await resp.read(), resp.headers["Content-Type"])
        resp = await client.post(f"{V2}/requests.{fmt}", json={"service_code": "environment"})
        assert resp.status == 400
        check("errors", await resp.read(), resp.headers["Content-Type"])


async def test_details_clients_rely_on(hub):
    client = hub
    code = await post_report(client, FORM, api_key="k-123")
    # api_key in the query string is accepted as well as in the body
    resp = await client.post(f"{V2}/requests.json?api_key=k-123", data=ADDRESS_ONLY)
    assert resp.status == 201, await resp.text()
    [posted] = await resp.json()
    other = await post_report(client, ADDRESS_ONLY, api_key="k-123")

    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    # address_id and zipcode (plain references) come back as sent; media_url only as our own
    # public photo (none here: a host not in media_hosts is never fetched); datetimes to the
    # second, +07:00
    assert req["media_url"] is None
    assert req["address_id"] == "HUE-000123" and req["zipcode"] == "49000"
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert req[key].endswith("+07:00") and "." not in req[key], req[key]
    assert "0905" not in req["description"] and "090*****56" in req["description"]
    # an address-only report is placed at its ward's centre
    [addr] = await (await client.get(f"{V2}/requests/{other}.json")).json()
    assert addr["lat"] is not None and addr["long"] is not None
    assert 16.3 < addr["lat"] < 16.6 and 107.4 < addr["long"] < 107.8
    assert "Thuận Hóa" in addr["address"]

    # service_request_id overrides every other filter
    listed = await (await client.get(f"{V2}/requests.json?service_request_id={code}"
                                     "&status=closed&service_code=tourism")).json()
    assert [r["service_request_id"] for r in listed] == [code]
    listed = await (await client.get(f"{V2}/requests.json?service_request_id={code},{other}")).json()
    assert {r["service_request_id"] for r in listed} == {code, other}

    # no dates: the most recent 90 days only (a report made 100 days ago is left out)
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code == other).values(
            created_at=datetime.now(UTC) - timedelta(days=100)))
    listed = await (await client.get(f"{V2}/requests.json")).json()
    assert other not in {r["service_request_id"] for r in listed}
    assert code in {r["service_request_id"] for r in listed}
    old = (datetime.now(UTC) - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = await (await client.get(f"{V2}/requests.json?start_date={old}")).json()
    assert {code, other} <= {r["service_request_id"] for r in listed}
    # only an end date: the 90 days before it
    end = (datetime.now(UTC) - timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = await (await client.get(f"{V2}/requests.json?end_date={end}")).json()
    assert [r["service_request_id"] for r in listed] == [other]
    # a token already turned into an id: the retried POST is told the id
    resp = await client.post(f"{V2}/requests.xml", data={**ADDRESS_ONLY, "api_key": "k-123"},
                             headers={"Idempotency-Key": posted["token"]})
    [again] = check_xml("post", await resp.read(), resp.headers["Content-Type"])
    assert again["service_request_id"].startswith("PA-")


async def test_status_notes_are_the_citizen_facing_notes_only(hub):
    client = hub
    code = await post_report(client, FORM, api_key="k-123")
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    # the system's routing words ("đúng lĩnh vực và địa bàn", "tiếp nhận qua web") are not notes
    assert req["status"] == "open" and req["status_notes"] is None
    agency = await token(client, "moi-truong")
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "in_progress", "note": "Đã cử xe thu gom, gọi 0905 123 456"})
    assert resp.status == 200
    xml, [req] = await _get(client, f"{V2}/requests/{code}.{{fmt}}", "requests")
    assert req["status"] == "open" and req["status_notes"] == "Đã cử xe thu gom, gọi 090*****56"
    assert xml[0]["status_notes"] == req["status_notes"]
    resp = await client.post(f"/api/v1/reports/{code}/reply", headers=agency,
                             json={"text": "Nội dung nội bộ trả lời riêng công dân"})
    assert resp.status == 202
    resp = await client.post(f"/api/v1/reports/{code}/status", headers=agency,
                             json={"status": "resolved", "note": "Đã thu gom xong, vệ sinh sạch sẽ"})
    assert resp.status == 200
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    assert req["status"] == "closed" and req["status_notes"] == "Đã thu gom xong, vệ sinh sạch sẽ"
    closed = await (await client.get(f"{V2}/requests.json?status=closed")).json()
    assert [r["service_request_id"] for r in closed] == [code]


async def test_a_jurisdiction_other_than_ours_is_404(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"jurisdiction_id": "hue.gov.vn"}}))
    resp = await client.get(f"{V2}/services.xml?jurisdiction_id=hue.gov.vn")
    assert resp.status == 200
    xml, data = await _get(client, f"{V2}/services.{{fmt}}?jurisdiction_id=sfgov.org", "errors",
                           status=404)
    assert "jurisdiction_id" in data[0]["description"]
    resp = await client.post(f"{V2}/requests.json", data={**ADDRESS_ONLY, "jurisdiction_id": "x.org"})
    assert resp.status == 404
    resp = await client.post(f"{V2}/requests.json", data={**ADDRESS_ONLY, "jurisdiction_id": "hue.gov.vn"})
    assert resp.status == 201


async def test_a_token_not_yet_processed_answers_with_an_empty_id(settings_factory, hub_client):
    client = await hub_client(settings_factory(workers={"enabled": False}))
    resp = await client.post(f"{V2}/requests.xml", data=ADDRESS_ONLY)
    assert resp.status == 201
    [posted] = check_xml("post", await resp.read(), resp.headers["Content-Type"])
    xml, data = await _get(client, f"{V2}/tokens/{posted['token']}.{{fmt}}", "token")
    same_data(xml, data)
    assert data == [{"service_request_id": None, "token": posted["token"]}]


async def test_control_characters_in_a_citizens_text_keep_the_xml_well_formed(hub):
    form = {**ADDRESS_ONLY, "description": "Ổ gà\x0b sâu\x1b[31m nguy hiểm\x00", "api_key": "k-123"}
    code = await post_report(hub, form)
    xml, data = await _get(hub, f"{V2}/requests/{code}.{{fmt}}", "requests")
    assert xml[0]["description"].startswith("Ổ gà sâu[31m nguy hiểm")
    assert data[0]["description"].startswith("Ổ gà")
