"""An internal note (POST /api/v1/reports/{code}/note, not public) does not move the report's
public update time: Open311's updated_datetime and the report's updated_at stay as they were."""
from __future__ import annotations

import asyncio

from tests.router.helpers import ENV_FORM, events, post_report, report, token


async def test_a_note_leaves_the_public_update_time(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)
    auth = await token(client, "moi-truong")
    before = (await report(client, code)).updated_at
    [public] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    await asyncio.sleep(1.1)  # updated_datetime is to the second

    resp = await client.post(f"/api/v1/reports/{code}/note", json={"note": "Cần xe ép rác"},
                             headers=auth)
    assert resp.status == 201
    assert (await events(client, code, "note"))[-1].note == "Cần xe ép rác"
    assert (await report(client, code)).updated_at == before
    [after] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert after["updated_datetime"] == public["updated_datetime"]
    assert "Cần xe ép rác" not in str(after)


async def test_a_reply_moves_it_whoever_sends_it(settings_factory, hub_client, db_url):
    """Left last session: a reply sent in the console moved the report's update time, the same
    reply through the agency API did not (Open311 clients polling updated_datetime missed it)."""
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)
    auth = await token(client, "moi-truong")
    [public] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    await asyncio.sleep(1.1)
    resp = await client.post(f"/api/v1/reports/{code}/reply", json={"text": "Chiều nay tổ thu gom đến"},
                             headers=auth)
    assert resp.status == 202
    [after] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert after["updated_datetime"] > public["updated_datetime"]
    assert after["status_notes"] == "Chiều nay tổ thu gom đến"
