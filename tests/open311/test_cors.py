"""Open311 is a public API for third-party apps: a browser on any origin may read it and POST to
it (no credentials; api_key stays the gate), and a preflight of a known path is answered."""
from __future__ import annotations

V2 = "/open311/v2"
ORIGIN = {"Origin": "https://app.example.org"}


async def test_preflight_and_answers_allow_any_origin(settings_factory, hub_client):
    client = await hub_client(settings_factory(channels={"web": {"api_key": "k-123"}}))
    pre = await client.options(f"{V2}/requests.json", headers={
        **ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert pre.status == 204, await pre.text()
    assert pre.headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "POST"} <= {m.strip() for m in pre.headers["Access-Control-Allow-Methods"].split(",")}
    allowed = pre.headers["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed and "idempotency-key" in allowed
    assert "Access-Control-Allow-Credentials" not in pre.headers
    pre = await client.options(f"{V2}/services.xml", headers=ORIGIN)
    assert pre.status == 204 and "POST" not in pre.headers["Access-Control-Allow-Methods"]
    for path in (f"{V2}/services.json", f"{V2}/requests.xml", "/open311/discovery.json",
                 f"{V2}/requests/PA-0000-000000.json", f"{V2}/nothing.json"):
        resp = await client.get(path, headers=ORIGIN)
        assert resp.headers.get("Access-Control-Allow-Origin") == "*", (path, resp.status)
    # POST: still gated by api_key, and the answer readable cross-origin either way
    form = {"service_code": "environment", "lat": "16.46", "long": "107.59", "description": "Rác"}
    refused = await client.post(f"{V2}/requests.json", data=form, headers=ORIGIN)
    assert refused.status == 403 and refused.headers["Access-Control-Allow-Origin"] == "*"
    made = await client.post(f"{V2}/requests.json", data={**form, "api_key": "k-123"}, headers=ORIGIN)
    assert made.status == 201 and made.headers["Access-Control-Allow-Origin"] == "*"
    # an unknown path is still a 404, a preflight included
    assert (await client.options(f"{V2}/nothing.json", headers=ORIGIN)).status == 404
