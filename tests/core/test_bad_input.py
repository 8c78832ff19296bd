"""Bad input gets a clear 4xx, never a 500 (found by the contract review)."""
import pytest

from hub.keys import HUB_KEY
from store.tokens import issue_token


@pytest.mark.parametrize("query, status", [
    ("limit=abc", 400),
    ("limit=-99999999999999999999999", 400),  # a page size below 1 is an error, said so
    ("limit=0", 400),
    ("limit=99999999999999999999999", 200),  # clamped to the largest page (1000)
    ("start_date=2026-01-01", 400),  # no time zone
    ("start_date=2026-01-01T00:00:00%2B07:00", 200),
    ("end_date=yesterday", 400),
])
async def test_open311_list_parameters(settings_factory, hub_client, query, status):
    client = await hub_client(settings_factory())
    resp = await client.get(f"/open311/v2/requests.json?{query}")
    assert resp.status == status, await resp.text()


async def test_broken_multipart_body_is_a_400(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    resp = await client.post("/open311/v2/requests.json", data=b"garbage",
                             headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert resp.status == 400
    assert (await resp.json())[0]["code"] == 400


async def test_agency_api_numbers_out_of_range(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        token = await issue_token(session, "center")
    auth = {"Authorization": f"Bearer {token}"}
    huge = "99999999999999999999999"
    for path in (f"/api/v1/queue?offset={huge}", f"/api/v1/queue?status=all&offset={huge}",
                 f"/api/v1/callbacks?offset={huge}", "/api/v1/queue?limit=x"):
        resp = await client.get(path, headers=auth)
        assert resp.status in (200, 400), (path, resp.status)
    resp = await client.post(f"/api/v1/callbacks/{huge}/done", headers=auth)
    assert resp.status == 404


async def test_an_idempotency_key_reused_for_another_request_is_a_409(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    form = {"service_code": "environment", "address_string": "Huế", "description": "Rác thải"}
    first = await client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": "1"})
    assert first.status == 201
    again = await client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": "1"})
    assert again.status == 200  # the same request retried
    other = await client.post("/open311/v2/requests.json", headers={"Idempotency-Key": "1"},
                              data={**form, "service_code": "public_order", "description": "Gây rối"})
    assert other.status == 409
    assert "Idempotency-Key" in (await other.json())[0]["description"]
