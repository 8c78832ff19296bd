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
