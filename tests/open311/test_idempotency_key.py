"""The Idempotency-Key header (and the client_token field) is a short printable key: a long or
odd one is refused in the spec's error format, never stored and echoed back as the token."""
from __future__ import annotations

import pytest

from tests.open311.spec import check_json, check_xml

V2 = "/open311/v2"
FORM = {"service_code": "environment", "description": "Rác ở chợ Đông Ba",
        "address_string": "chợ Đông Ba, phường Phú Xuân"}


@pytest.mark.parametrize("key", ["k" * 5000, "k" * 129, "có dấu", "two words"])
async def test_an_oversized_or_odd_key_is_a_400_in_both_formats(settings_factory, hub_client, key):
    client = await hub_client(settings_factory())
    for fmt, check in (("json", check_json), ("xml", check_xml)):
        resp = await client.post(f"{V2}/requests.{fmt}", data=FORM,
                                 headers={"Idempotency-Key": key.encode().decode("latin-1")})
        body = await resp.read()
        assert resp.status == 400, (fmt, body[:200])
        [err] = check("errors", body, resp.headers["Content-Type"])
        assert "Idempotency-Key" in err["description"] and key[:50] not in body.decode()
    resp = await client.post(f"{V2}/requests.json", data={**FORM, "client_token": key})
    assert resp.status == 400


async def test_a_key_up_to_the_limit_is_the_token(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    key = "K" * 64 + "-0123456789abcdef:_.~" + "z" * 43
    assert len(key) == 128
    resp = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": key})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())[0]["token"] == key
    again = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": key})
    assert again.status in (200, 201) and (await again.json())[0].get("token", key) == key


async def test_partner_apps_keys_are_their_own(settings_factory, hub_client):
    """Two apps with their own api_keys that happen to use the same Idempotency-Key make two
    reports; each app's retry is still its own request's answer."""
    from tests.conftest import wait_for

    client = await hub_client(settings_factory(channels={"web": {
        "api_key": "k-main", "api_keys": {"app-a": "k-aaaa", "app-b": "k-bbbb"}}}))
    other = {**FORM, "description": "Đèn đường hỏng ở kiệt 3", "service_code": "urban_infrastructure"}
    a = await client.post(f"{V2}/requests.json", data={**FORM, "api_key": "k-aaaa"},
                          headers={"Idempotency-Key": "order-0001"})
    b = await client.post(f"{V2}/requests.json", data={**other, "api_key": "k-bbbb"},
                          headers={"Idempotency-Key": "order-0001"})
    assert (a.status, b.status) == (201, 201), await b.text()
    [ta], [tb] = await a.json(), await b.json()
    assert ta["token"] != tb["token"]
    again = await client.post(f"{V2}/requests.json", data={**other, "api_key": "k-bbbb"},
                              headers={"Idempotency-Key": "order-0001"})
    assert again.status == 200

    async def codes():
        out = []
        for t in (ta["token"], tb["token"]):
            [answer] = await (await client.get(f"{V2}/tokens/{t}.json")).json()
            out.append(answer["service_request_id"])
        return out if all(out) else None
    code_a, code_b = await wait_for(codes)
    assert code_a != code_b
    # a wrong key is still a 403; the main api_key still works
    assert (await client.post(f"{V2}/requests.json", data={**FORM, "api_key": "k-cccc"})).status == 403
    assert (await client.post(f"{V2}/requests.json", data={**FORM, "api_key": "k-main"})).status == 201


async def test_a_short_guessable_key_is_not_looked_up(settings_factory, hub_client):
    from tests.conftest import wait_for

    client = await hub_client(settings_factory())
    first = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": "1"})
    assert first.status == 201 and (await first.json())[0]["token"] == "1"
    for fmt in ("json", "xml"):
        resp = await client.get(f"{V2}/tokens/1.{fmt}")
        assert resp.status == 404
        assert b"PA-" not in await resp.read()

    # its client still learns the id by retrying the POST with the key
    async def code():
        again = await client.post(f"{V2}/requests.json", data=FORM, headers={"Idempotency-Key": "1"})
        return (await again.json())[0].get("service_request_id")
    assert (await wait_for(code)).startswith("PA-")
