"""Fields starting with "_" are the hub's own (the portal form's stored photo list, the token):
a client's POST cannot set them, and the form-photo job skips a stored row whose photo list is
malformed and moves on, so one bad row never stops every later form's photos being attached."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, update

from channels.open311.form import CURSOR_KEY, link_form_photos
from hub.keys import HUB_KEY
from store.models import Attachment, ChannelState, InboxEvent, Report
from tests.portal.conftest import jpeg
from tests.portal.test_form import FORM, form_key, multipart, sent_code
from tests.router.helpers import post_report

V2 = "/open311/v2"
POST = {"service_code": "environment", "lat": "16.46", "long": "107.59", "description": "Rác ở chợ"}


async def _payload(client: Any, token: str) -> dict[str, Any]:
    async with client.app[HUB_KEY].sessions() as session:
        raw = (await session.execute(select(InboxEvent.payload).where(
            InboxEvent.channel == "web", InboxEvent.external_id == token))).scalar_one()
    return json.loads(raw)


async def test_a_client_post_cannot_set_internal_fields(portal: Any) -> None:
    client = portal
    resp = await client.post(f"{V2}/requests.json", data={
        **POST, "_photos": "junk", "_token": "someone-else", "_x": "1",
        "received_at": "2000-01-01T00:00:00+00:00"})
    assert resp.status == 201, await resp.text()
    [answer] = await resp.json()
    stored = await _payload(client, answer["token"])
    assert "_photos" not in stored and "_x" not in stored
    assert stored["_token"] == answer["token"]
    assert not stored["received_at"].startswith("2000")
    assert await link_form_photos(client.app[HUB_KEY].sessions) == 0


async def test_a_malformed_photo_row_is_skipped_and_later_photos_are_linked(portal: Any) -> None:
    client = portal
    hub = client.app[HUB_KEY]
    # two rows as an older hub could have stored them: a string and a list of junk
    bad = []
    for junk in ("junk", [1, "x", {"sha256": 5}, {"name": "a"}, None]):
        code = await post_report(client, {**POST, "description": f"Rác {junk!r}"})
        async with hub.sessions() as session, session.begin():
            report_id = (await session.execute(select(Report.id).where(Report.code == code))).scalar_one()
            row = (await session.execute(select(InboxEvent).where(
                InboxEvent.report_id == report_id))).scalar_one()
            payload = json.loads(row.payload) | {"_photos": junk}
            await session.execute(update(InboxEvent).where(InboxEvent.id == row.id)
                                  .values(payload=json.dumps(payload)))
            bad.append(row.id)
    # then a portal form with a photo
    photo = jpeg()
    key = await form_key(client)
    resp = await client.post("/report", data=multipart(
        {**FORM, "form_key": key}, [("a.jpg", photo, "image/jpeg")]), allow_redirects=False)
    assert resp.status == 303, await resp.text()
    code = await sent_code(client, resp.headers["Location"])  # runs link_form_photos too
    await link_form_photos(hub.sessions)
    async with hub.sessions() as session:
        report_id = (await session.execute(select(Report.id).where(Report.code == code))).scalar_one()
        atts = list((await session.execute(select(Attachment.sha256).where(
            Attachment.report_id == report_id))).scalars())
        cursor = await session.get(ChannelState, CURSOR_KEY)
        junk_atts = (await session.execute(select(Attachment.id).where(
            Attachment.report_id.in_(select(InboxEvent.report_id).where(InboxEvent.id.in_(bad)))))).all()
    assert atts == [hashlib.sha256(photo).hexdigest()]
    assert cursor.value["last_id"] > max(bad)
    assert junk_atts == []
