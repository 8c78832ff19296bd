"""A status change refused for what the request lacks (a note, a good duplicate_of) answers
what is needed — ``field`` — and no ``"allowed": null`` (the key is there only with the list of
statuses the caller may set)."""
from __future__ import annotations

from tests.router.helpers import ENV_FORM, ROAD_FORM, post_report, token


async def test_refusals_say_what_is_needed(settings_factory, hub_client):
    client = await hub_client(settings_factory())
    env = await post_report(client, ENV_FORM)
    road = await post_report(client, ROAD_FORM)
    auth, center = await token(client, "moi-truong"), await token(client, "center")
    url = f"/api/v1/reports/{env}/status"

    for who, body in ((auth, {"status": "resolved"}), (auth, {"status": "returned", "note": " "}),
                      (center, {"status": "rejected"})):
        resp = await client.post(url, json=body, headers=who)
        assert resp.status == 422
        data = await resp.json()
        assert data["field"] == "note" and "allowed" not in data and data["status"] == "forwarded"
        assert "needs a note" in data["error"]

    for duplicate_of in (None, env, "PA-2000-999999"):
        resp = await client.post(url, json={"status": "duplicate", "duplicate_of": duplicate_of},
                                 headers=center)
        assert resp.status == 422
        data = await resp.json()
        assert data["field"] == "duplicate_of" and "allowed" not in data, data
    assert (await client.post(f"/api/v1/reports/{road}/status",
                              json={"status": "duplicate", "duplicate_of": env},
                              headers=center)).status == 200
    resp = await client.post(url, json={"status": "duplicate", "duplicate_of": road}, headers=center)
    assert resp.status == 409
    data = await resp.json()
    assert data["field"] == "duplicate_of" and "allowed" not in data

    # A refusal about the status itself still lists what the caller may set.
    resp = await client.post(url, json={"status": "rejected", "note": "x"}, headers=auth)
    assert resp.status == 403 and (await resp.json())["allowed"] == ["in_progress", "resolved",
                                                                      "returned"]
    resp = await client.post(f"/api/v1/reports/{env}/route", json={"agency": "nope"}, headers=center)
    assert resp.status == 422 and "allowed" not in await resp.json()
