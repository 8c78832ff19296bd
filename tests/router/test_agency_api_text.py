"""Text the database cannot store, sent to the agency API: an unpaired UTF-16 surrogate
(``"\\ud800"``: no UTF-8 encoding, every write failed with UnicodeEncodeError) or a NUL
(``"\\u0000"``: PostgreSQL text refuses it) in any JSON field is a JSON 400 naming the field, on
both databases — it was a plain-text 500. The report is left as it was."""
from __future__ import annotations

import pytest

from tests.router.helpers import ENV_FORM, events, post_report, report, token

UNSTORABLE = ["\\ud800", "a\\udc00b", "a\\u0000b"]


async def _client(settings_factory, hub_client, db_url):
    client = await hub_client(settings_factory(db_url))
    code = await post_report(client, ENV_FORM)  # → moi-truong
    return client, code, await token(client, "moi-truong"), await token(client, "center")


@pytest.mark.parametrize("bad", UNSTORABLE, ids=["surrogate", "low_surrogate", "nul"])
async def test_unstorable_text_is_a_400_naming_the_field(settings_factory, hub_client, db_url, bad):
    client, code, auth, center = await _client(settings_factory, hub_client, db_url)
    before = [e.id for e in await events(client, code) if e.actor != "system"]
    base = f"/api/v1/reports/{code}"
    calls = [
        (auth, "status", '{"status":"in_progress","note":"BAD"}', "note"),
        (auth, "status", '{"status":"BAD"}', "status"),
        (auth, "reply", '{"text":"BAD"}', "text"),
        (auth, "note", '{"note":"BAD"}', "note"),
        (center, "status", '{"status":"rejected","note":"BAD"}', "note"),
        (center, "status", '{"status":"duplicate","duplicate_of":"BAD"}', "duplicate_of"),
        (center, "route", '{"agency":"BAD"}', "agency"),
        (center, "route", '{"category":"BAD"}', "category"),
    ]
    for headers, action, template, field in calls:
        resp = await client.post(f"{base}/{action}", data=template.replace("BAD", bad).encode(),
                                 headers={**headers, "Content-Type": "application/json"})
        assert resp.status == 400, (action, field, resp.status, await resp.text())
        assert resp.content_type == "application/json"
        body = await resp.json()
        assert body["field"] == field and body["error"].startswith(f"{field} is not valid text")
    resp = await client.post("/api/v1/callbacks/1/done", data=('{"outcome":"BAD"}'.replace("BAD", bad)).encode(),
                             headers={**center, "Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["field"] == "outcome"
    assert (await report(client, code)).status == "forwarded"
    assert [e.id for e in await events(client, code) if e.actor != "system"] == before, \
        [(e.kind, e.actor, e.note) for e in await events(client, code)]

    # The same request with good text goes through.
    resp = await client.post(f"{base}/status", json={"status": "in_progress", "note": "Đã cử tổ 😀"},
                             headers=auth)
    assert resp.status == 200, await resp.text()
    assert (await events(client, code, "status"))[-1].note == "Đã cử tổ 😀"


async def test_a_surrogate_pair_is_one_character_not_a_refusal(settings_factory, hub_client, db_url):
    client, code, auth, _ = await _client(settings_factory, hub_client, db_url)
    resp = await client.post(f"/api/v1/reports/{code}/note", data=b'{"note":"xe \\ud83d\\ude9b"}',
                             headers={**auth, "Content-Type": "application/json"})
    assert resp.status == 201, await resp.text()
    assert (await events(client, code, "note"))[-1].note == "xe 🚛"
