"""The citizen form with photos other than a phone's JPEG (PNG, WebP), hostile image files
(decompression bombs, broken files: a Vietnamese refusal, never a 500), and the hourly limit that
charges only submissions that pass the checks, answered with the portal's own page."""
from __future__ import annotations

import hashlib
import io
import random
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import Attachment, InboxEvent, Report
from tests.portal.conftest import jpeg, run_portal_jobs
from tests.portal.test_form import FORM, form_key, multipart, sent_code


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB",
                gps: tuple[float, float] | None = None) -> bytes:
    """A Pillow image saved as ``fmt``, with an EXIF GPS block (N/E) when ``gps`` is given."""
    from PIL import Image

    image = Image.new(mode, size, (90, 140, 60) if mode == "RGB" else 0)
    if mode == "RGB":
        for x in range(0, size[0], 40):
            for y in range(0, size[1], 40):
                image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    if gps is None:
        image.save(out, fmt)
    else:
        def dms(value: float) -> tuple[float, float, float]:
            d = int(value)
            m = int((value - d) * 60)
            return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(0x8825).update({1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])})
        image.save(out, fmt, exif=exif)
    return out.getvalue()


def bomb() -> bytes:
    """16000 x 16000 1-bit PNG: 31 KB on the wire, 256 megapixels decoded."""
    return image_bytes("PNG", (16000, 16000), mode="1")


def media_files(client: Any) -> list[str]:
    root = client.app[HUB_KEY].media_dir
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_png_and_webp_photos_make_one_report_with_their_photos(portal: Any) -> None:
    from PIL import Image

    client = portal
    photos = [("screenshot.png", image_bytes("PNG"), "image/png"),
              ("zalo.webp", image_bytes("WEBP", gps=(16.4701, 107.5802)), "image/webp")]
    resp = await client.post("/report", data=multipart({**FORM, "form_key": await form_key(client)}, photos),
                             allow_redirects=False)
    assert resp.status == 303, (await resp.text())[:500]
    code = await sent_code(client, resp.headers["Location"])
    await run_portal_jobs(client)  # the photos are linked once the report is made
    async with client.app[HUB_KEY].sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        atts = list((await session.execute(select(Attachment).where(Attachment.report_id == report.id))).scalars())
        assert (await session.execute(select(func.count()).select_from(Report))).scalar_one() == 1
    assert sorted((a.sha256, a.content_type) for a in atts) == sorted(
        (hashlib.sha256(p[1]).hexdigest(), p[2]) for p in photos)
    assert {a.state for a in atts} == {"stored"}
    # no pin: the WebP's EXIF position places the report
    assert (report.lat, report.lon) == (16.4701, 107.5802)
    # the public copies are JPEGs without any EXIF (no GPS)
    public = await (await client.get(f"/r/{code}")).text()
    for sha in {a.sha256 for a in atts}:
        assert f"/r/{code}/photos/{sha}" in public
        photo = await client.get(f"/r/{code}/photos/{sha}.jpg")
        assert photo.status == 200
        with Image.open(io.BytesIO(await photo.read())) as image:
            assert image.format == "JPEG" and not dict(image.getexif()) and "exif" not in image.info


def mpo(gps: tuple[float, float] | None = None) -> bytes:
    """An Android "Ultra HDR" / dual-camera style multi-picture JPEG: Pillow reads it as MPO."""
    from PIL import Image

    first = Image.open(io.BytesIO(jpeg(640, 480, gps=gps)))
    second = Image.new("RGB", (320, 240), (20, 20, 20))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second], exif=first.info.get("exif", b""))
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "MPO" and image.n_frames == 2
    return data


async def test_a_multi_picture_jpeg_is_accepted_as_a_jpeg(portal: Any) -> None:
    """A phone's MPO (a JPEG followed by a gain map or a second view): kept as image/jpeg, its
    EXIF position used, its public copy one plain JPEG without EXIF (was refused as unsupported)."""
    from PIL import Image

    client = portal
    data = mpo(gps=(16.4701, 107.5802))
    resp = await client.post("/report", data=multipart({**FORM, "form_key": await form_key(client)},
                                                       [("PXL_0001.jpg", data, "image/jpeg")]),
                             allow_redirects=False)
    assert resp.status == 303, (await resp.text())[:500]
    code = await sent_code(client, resp.headers["Location"])
    await run_portal_jobs(client)
    async with client.app[HUB_KEY].sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        [att] = (await session.execute(select(Attachment).where(Attachment.report_id == report.id))).scalars()
    assert (att.sha256, att.content_type) == (hashlib.sha256(data).hexdigest(), "image/jpeg")
    assert (report.lat, report.lon) == (16.4701, 107.5802)
    photo = await client.get(f"/r/{code}/photos/{att.sha256}.jpg")
    assert photo.status == 200
    with Image.open(io.BytesIO(await photo.read())) as image:
        assert image.format == "JPEG" and image.size == (640, 480)
        assert not dict(image.getexif()) and "exif" not in image.info


async def test_a_decompression_bomb_is_refused_in_vietnamese_and_nothing_is_stored(portal: Any) -> None:
    client = portal
    data = bomb()
    assert len(data) < 64 * 1024
    before = media_files(client)
    resp = await client.post("/report", data=multipart(FORM, [("bomb.png", data, "image/png")]),
                             allow_redirects=False)
    text = await resp.text()
    assert resp.status == 400, text[:300]
    assert "bomb.png: Ảnh có kích thước (số điểm ảnh) quá lớn" in text and 'role="alert"' in text
    assert "Bãi rác tự phát bốc mùi" in text  # what was typed is kept
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(Attachment))).scalar_one() == 0
    assert media_files(client) == before


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = [data[:n] for n in (8, 16, 33, len(data) // 2, len(data) - 12)]  # truncated
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            buf[rng.randrange(8, len(buf))] = rng.randrange(256)
        out.append(bytes(buf))
    return out


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "MPO"])
def test_any_broken_or_hostile_image_is_a_refusal_never_another_exception(fmt: str) -> None:
    from web.portal.photos import CheckedPhoto, PhotoRefused, check_photo

    rng = random.Random(f"hostile-{fmt}")
    base = {"JPEG": lambda: jpeg(160, 120, gps=(16.47, 107.58)),
            "MPO": lambda: mpo(gps=(16.47, 107.58))}.get(fmt, lambda: image_bytes(fmt, (160, 120)))()
    assert check_photo(base, 10 * 1024 * 1024).content_type == (
        "image/jpeg" if fmt == "MPO" else f"image/{fmt.lower()}")
    for data in _mutations(base, rng, 150):
        try:
            result = check_photo(data, 10 * 1024 * 1024)
        except PhotoRefused as exc:
            assert re.search(r"[ảệđ]", str(exc)), exc  # Vietnamese, for the citizen
        else:
            assert isinstance(result, CheckedPhoto)


def test_photo_checks_for_bombs_png_exif_and_other_formats() -> None:
    from PIL import Image

    from web.portal.photos import PhotoRefused, check_photo

    cap = 10 * 1024 * 1024
    # past the pixel limit (also between the limit and twice it, where Pillow only warns)
    for size in ((16000, 16000), (10000, 10000)):
        with pytest.raises(PhotoRefused, match="số điểm ảnh"):
            check_photo(image_bytes("PNG", size, mode="1"), cap)
    assert 10000 * 10000 > Image.MAX_IMAGE_PIXELS
    with pytest.raises(PhotoRefused, match="chưa hỗ trợ"):
        check_photo(image_bytes("GIF", (64, 48)), cap)
    with pytest.raises(PhotoRefused, match="không phải ảnh"):
        check_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, cap)
    # JPEG EXIF GPS as before; a PNG without EXIF has none
    assert check_photo(jpeg(gps=(16.4701, 107.5802)), cap).gps == (16.4701, 107.5802)
    png = check_photo(image_bytes("PNG"), cap)
    assert (png.content_type, png.gps) == ("image/png", None)


async def test_invalid_tries_are_not_charged_and_the_limit_page_is_the_portals(settings_factory: Any,
                                                                                hub_client: Any) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 3}))
    # a citizen corrects several mistakes: none of them counts
    for fields in ({**FORM, "category": ""}, {**FORM, "phone": "12345"}, {**FORM, "description": " "},
                   {**FORM, "email": "bad@@x"}, {**FORM, "address": ""}):
        resp = await client.post("/report", data=multipart(fields), allow_redirects=False)
        assert resp.status == 400
    resp = await client.post("/report", data=multipart(FORM, [("x.png", bomb(), "image/png")]),
                             allow_redirects=False)
    assert resp.status == 400
    key = await form_key(client)
    first = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    assert first.status == 303
    # the same form sent again (double click) makes nothing new and is not charged
    again = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == first.headers["Location"]
    for _ in range(2):
        resp = await client.post("/report", data=multipart(FORM), allow_redirects=False)
        assert resp.status == 303
    # a fourth new report within the hour: the form page again, with the reason, in Vietnamese
    flood = {**FORM, "description": "Đèn đường hỏng cả tuần ở kiệt 9 Lê Lợi"}
    resp = await client.post("/report", data=multipart(flood), allow_redirects=False)
    text = await resp.text()
    assert resp.status == 429 and 0 < int(resp.headers["Retry-After"]) <= 3601
    assert resp.content_type == "text/html" and 'lang="vi"' in text and "<main" in text
    assert 'role="alert"' in text and "quá nhiều phản ánh trong một giờ" in text
    assert "Đèn đường hỏng cả tuần" in text and 'action="/report"' in text
    # invalid tries at the limit still get their own errors; a replay of a stored form still passes
    resp = await client.post("/report", data=multipart({**FORM, "phone": "12345"}), allow_redirects=False)
    assert resp.status == 400 and "Số điện thoại không đúng" in await resp.text()
    replay = await client.post("/report", data=multipart({**FORM, "form_key": key}), allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"] == first.headers["Location"]
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 3
    metrics = await (await client.get("/metrics")).text()
    assert 'reason="form_rate_limit"' in metrics and 'reason="form_invalid"' in metrics


async def test_a_flood_of_refused_posts_is_stopped_before_it_is_read(settings_factory: Any,
                                                                     hub_client: Any) -> None:
    """Refused submissions have their own limit, REFUSED_FACTOR times looser: past it a client's
    posts get the 429 page unread (no parsing, no photo checks), while another client is not
    affected and a citizen's few mistakes never reach it."""
    from web.portal.keys import REFUSED_FACTOR

    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    for _ in range(REFUSED_FACTOR):
        resp = await client.post("/report", data=multipart({**FORM, "phone": "12345"}), allow_redirects=False)
        assert resp.status == 400
    resp = await client.post("/report", data=multipart(FORM), allow_redirects=False)
    text = await resp.text()
    assert resp.status == 429 and "quá nhiều phản ánh trong một giờ" in text and 'lang="vi"' in text
    # another address (behind the local proxy: the X-Forwarded-For it adds) still reports
    other = await client.post("/report", data=multipart(FORM), allow_redirects=False,
                              headers={"X-Forwarded-For": "203.0.113.9"})
    assert other.status == 303
    metrics = await (await client.get("/metrics")).text()
    assert 'reason="form_refused_rate_limit"' in metrics
