"""What the public Open311 answers give of the fields a client sends that are not text:
``media_url`` is only ever the hub's own public copy of a photo (the client's URL may name the
citizen), ``address_id`` and ``zipcode`` only plain references (free text typed there is not
shown). docs/open311.md: no name, phone or email of the citizen in any answer."""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update

from hub.keys import HUB_KEY
from store.models import Report, utcnow
from store.public_reports import set_photo_hidden
from tests.open311.spec import check_json, check_xml
from tests.portal.conftest import jpeg, seed_report
from tests.router.helpers import post_report

V2 = "/open311/v2"
LEAKY = {"service_code": "environment", "description": "Rác ở chợ Đông Ba",
         "address_string": "chợ Đông Ba, phường Phú Xuân",
         "media_url": "https://photos.example.org/u/nguyen.van.a@gmail.com/0912345678/img.jpg",
         "address_id": "Nhà ông Nguyễn Văn A 0912345678"}
SECRETS = ("0912345678", "nguyen.van.a", "gmail.com", "Nguyễn Văn A", "photos.example.org")


async def _public(client: Any, code: str) -> None:
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await session.execute(update(Report).where(Report.code == code, Report.forwarded_at.is_(None))
                              .values(forwarded_at=utcnow(), agency_id="moi-truong"))


async def test_media_url_and_address_id_given_as_free_text_are_not_published(portal: Any) -> None:
    client = portal
    code = await post_report(client, LEAKY)
    await _public(client, code)
    for path in (f"{V2}/requests/{code}.json", f"{V2}/requests/{code}.xml",
                 f"{V2}/requests.json", f"{V2}/requests.xml",
                 f"{V2}/requests.json?service_request_id={code}"):
        resp = await client.get(path)
        body = await resp.read()
        assert resp.status == 200, (path, body[:300])
        check = check_json if path.split("?")[0].endswith(".json") else check_xml
        requests = check("requests", body, resp.headers["Content-Type"])
        [req] = [r for r in requests if r["service_request_id"] == code]
        assert req["media_url"] in (None, "") and req["address_id"] in (None, ""), (path, req)
        text = body.decode()
        for secret in SECRETS:
            assert secret not in text, (path, secret)
        assert "Đông Ba" in text  # the report itself is there


async def test_media_url_is_the_hubs_public_photo_and_references_come_back(portal: Any) -> None:
    client = portal
    photo = jpeg()
    sha = hashlib.sha256(photo).hexdigest()
    code = await seed_report(client, photos=[photo])
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    base = client.app[HUB_KEY].settings.server.public_base_url.rstrip("/")
    assert req["media_url"] == f"{base}/r/{code}/photos/{sha}.jpg"
    served = await client.get(urlsplit(req["media_url"]).path)
    assert served.status == 200 and served.content_type == "image/jpeg"
    # the center hides the photo: no media_url any more
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_photo_hidden(session, code, sha, True, actor="center")
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    assert req["media_url"] is None
    # a real reference (an address database's key, a postal code) still comes back
    ref = await post_report(client, {**LEAKY, "address_id": "HUE-000123", "zipcode": "49000",
                                     "media_url": "https://cdn.portal.example.vn/u/rac-1.jpg"})
    await _public(client, ref)
    [req] = await (await client.get(f"{V2}/requests/{ref}.json")).json()
    assert req["address_id"] == "HUE-000123" and req["zipcode"] == "49000"
    assert req["media_url"] is None  # a link we never fetched is not ours to publish
