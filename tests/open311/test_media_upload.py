"""A photo uploaded as a multipart ``media`` file part (uReport, Open311 Mobile): stored as the
report's attachment with the portal's checks (size limit, type sniffed from the bytes, public
copy without EXIF); a file that is not a photo is refused and nothing is stored; an
Idempotency-Key retry of a multipart POST is the same request (walkthrough: every multipart
photo was a 400 and the whole report was lost)."""
from __future__ import annotations

import hashlib
import io
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import Attachment, InboxEvent, Report
from tests.conftest import wait_for
from tests.open311.spec import check_json, check_xml
from tests.open311.test_public_fields import _public
from tests.portal.conftest import jpeg, run_portal_jobs

V2 = "/open311/v2"
FIELDS = {"service_code": "environment", "lat": "16.46", "long": "107.59",
          "description": "Rác thải ùn ứ ở chợ Đông Ba"}


def multipart(fields: dict[str, str], name: str, body: bytes,
              content_type: str = "image/jpeg", field: str = "media") -> aiohttp.FormData:
    data = aiohttp.FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    data.add_field(field, io.BytesIO(body), filename=name, content_type=content_type)
    return data


async def _media_files(client: Any) -> int:
    media_dir = client.app[HUB_KEY].media_dir
    return sum(1 for p in media_dir.rglob("*") if p.is_file() and "public" not in p.parts) \
        if media_dir.exists() else 0


async def test_an_uploaded_photo_becomes_the_reports_attachment(portal: Any) -> None:
    client = portal
    photo = jpeg(width=1200, height=900, gps=(16.4701, 107.5802))
    headers = {"Idempotency-Key": "ureport-0001-upload"}
    resp = await client.post(f"{V2}/requests.json", data=multipart(FIELDS, "photo.jpg", photo),
                             headers=headers)
    assert resp.status == 201, await resp.text()
    [answer] = await resp.json()
    # a retry of the same multipart POST (same key, same photo) is the same request
    again = await client.post(f"{V2}/requests.json", data=multipart(FIELDS, "photo.jpg", photo),
                              headers=headers)
    assert again.status in (200, 201), await again.text()
    # the same key with another photo is another request: a 409
    other = await client.post(f"{V2}/requests.json", data=multipart(FIELDS, "photo.jpg", jpeg()),
                              headers=headers)
    assert other.status == 409, await other.text()

    async def code() -> str | None:
        got = await (await client.get(f"{V2}/tokens/{answer['token']}.json")).json()
        return got[0]["service_request_id"]
    code = await wait_for(code)
    digest = hashlib.sha256(photo).hexdigest()

    async def attachments() -> list[Attachment] | None:
        await run_portal_jobs(client)
        async with client.app[HUB_KEY].sessions() as session:
            report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
            return list((await session.execute(select(Attachment).where(
                Attachment.report_id == report.id))).scalars()) or None
    [att] = await wait_for(attachments)
    assert (att.sha256, att.content_type, att.state, att.size) == (digest, "image/jpeg", "stored", len(photo))
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 1
    # the 409's photo was not kept
    assert await _media_files(client) == 1
    # the public copy is the portal's: re-encoded, no EXIF (no GPS, no camera)
    await _public(client, code)
    [req] = await (await client.get(f"{V2}/requests/{code}.json")).json()
    assert req["media_url"] and digest in req["media_url"]
    public = await client.get(urlsplit(req["media_url"]).path)
    assert public.status == 200
    from PIL import Image

    with Image.open(io.BytesIO(await public.read())) as image:
        assert not image.getexif() and "exif" not in image.info


async def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(settings_factory, hub_client) -> None:
    client = await hub_client(settings_factory())
    for fmt, check in (("json", check_json), ("xml", check_xml)):
        # named and typed as a photo: the bytes decide
        resp = await client.post(f"{V2}/requests.{fmt}",
                                 data=multipart(FIELDS, "photo.jpg", b"%PDF-1.4 not a photo"))
        body = await resp.read()
        assert resp.status == 400, body[:300]
        [err] = check("errors", body, resp.headers["Content-Type"])
        assert "JPEG, PNG or WebP" in err["description"]
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0
    assert await _media_files(client) == 0


async def test_a_photo_over_the_limit_is_a_413(settings_factory, hub_client) -> None:
    photo = jpeg(width=800, height=600)
    client = await hub_client(settings_factory(channels={"web": {"max_media_bytes": len(photo) - 1}}))
    resp = await client.post(f"{V2}/requests.json", data=multipart(FIELDS, "p.jpg", photo))
    assert resp.status == 413, await resp.text()
    [err] = await resp.json()
    assert str(len(photo) - 1) in err["description"]
    assert await _media_files(client) == 0


async def test_a_photo_within_the_limit_may_exceed_the_text_body_limit(settings_factory, hub_client) -> None:
    photo = jpeg(width=800, height=600)
    assert len(photo) > 4096
    client = await hub_client(settings_factory(server={"max_body_bytes": 4096}))
    resp = await client.post(f"{V2}/requests.json", data=multipart(FIELDS, "p.jpg", photo))
    assert resp.status == 201, await resp.text()
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 1
    assert await _media_files(client) == 1


async def test_only_a_media_file_part_is_taken(settings_factory, hub_client) -> None:
    client = await hub_client(settings_factory())
    resp = await client.post(f"{V2}/requests.json",
                             data=multipart(FIELDS, "p.jpg", jpeg(), field="attachment"))
    assert resp.status == 400 and "media" in (await resp.json())[0]["description"]
