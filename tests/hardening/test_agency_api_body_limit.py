"""A body over ``server.max_body_bytes`` to the agency API is a 413 in the API's own JSON error
shape ({"error": …}), not aiohttp's plain-text page."""
from __future__ import annotations

import io
import json

from tests.router.helpers import ENV_FORM, post_report, token


async def test_an_oversized_body_is_a_json_413(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    code = await post_report(client, ENV_FORM)
    auth = await token(client, "center")
    limit = client.app._client_max_size
    body = json.dumps({"text": "a" * 3_000_000}).encode()
    assert len(body) > limit
    for path in (f"/api/v1/reports/{code}/reply", f"/api/v1/reports/{code}/note",
                 f"/api/v1/reports/{code}/status", f"/api/v1/reports/{code}/route"):
        resp = await client.post(path, data=io.BytesIO(body), headers={**auth, "Content-Type": "application/json"})
        assert resp.status == 413, (path, await resp.text())
        assert resp.content_type == "application/json", (path, resp.content_type)
        answer = await resp.json()
        assert set(answer) == {"error", "max_bytes"} and str(limit) in answer["error"], answer
    # still the usual 400 for a small broken body, and a normal reply goes through
    resp = await client.post(f"/api/v1/reports/{code}/reply", data=b"{", headers={
        **auth, "Content-Type": "application/json"})
    assert resp.status == 400 and "error" in await resp.json()
    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": "Đã nhận."}, headers=auth)
    assert resp.status == 202, await resp.text()
