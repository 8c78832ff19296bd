"""The citizen's report form: through the web channel's durable intake (idempotent), photos
checked and attached, EXIF GPS used when no pin, abuse resisted, Vietnamese errors."""
from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import aiohttp
from sqlalchemy import func, select

from hub.keys import HUB_KEY
from store.models import Attachment, Contact, InboxEvent, Report
from tests.conftest import wait_for
from tests.portal.conftest import jpeg, run_portal_jobs

FORM = {"category": "environment", "description": "Bãi rác tự phát bốc mùi ở cuối kiệt 47 Chi Lăng",
        "address": "kiệt 47 Chi Lăng, Phường Phú Xuân", "name": "Trần Văn Bình", "phone": "0935 111 222",
        "email": "binh.tv@example.vn"}


def multipart(fields: dict[str, str], photos: list[tuple[str, bytes, str]] = ()) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    for filename, body, content_type in photos:
        data.add_field("photo", io.BytesIO(body), filename=filename, content_type=content_type)
    return data


async def form_key(client: Any) -> str:
    page = await (await client.get("/report")).text()
    return re.search(r'name="form_key" value="([0-9a-f]+)"', page).group(1)


async def sent_code(client: Any, location: str) -> str:
    async def code() -> str | None:
        await run_portal_jobs(client)
        text = await (await client.get(location)).text()
        found = re.search(r"PA-\d{4}-\d{6}", text)
        return found.group(0) if found else None
    return await wait_for(code)


async def test_form_with_photos_makes_one_report_with_its_photos(portal: Any) -> None:
    client = portal
    key = await form_key(client)
    photos = [("IMG_0001.jpg", jpeg(gps=(16.4701, 107.5802)), "image/jpeg"),
              ("IMG_0002.jpg", jpeg(colour=(200, 50, 50)), "image/jpeg")]
    resp = await client.post("/report", data=multipart({**FORM, "form_key": key}, photos), allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    assert location.startswith("/report/sent/form-")
    page = await client.get(location)
    assert page.status == 200 and "Cảm ơn bạn" in await page.text()
    code = await sent_code(client, location)
    text = await (await client.get(location)).text()
    assert f'href="/r/{code}"' in text
    await run_portal_jobs(client)  # the photos job attaches once the report exists (it may just have)
    async with client.app[HUB_KEY].sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        contact = await session.get(Contact, report.contact_id)
        atts = list((await session.execute(select(Attachment).where(Attachment.report_id == report.id))).scalars())
    assert report.channel == "web" and report.category == "environment" and report.agency_id == "moi-truong"
    assert report.description == FORM["description"] and report.address == FORM["address"]
    assert (contact.name, contact.phone, contact.email) == ("Trần Văn Bình", "+84935111222", "binh.tv@example.vn")
    # a pin was not given, so the first photo's EXIF position places the report
    assert (report.lat, report.lon) == (16.4701, 107.5802)
    assert sorted(a.sha256 for a in atts) == sorted(hashlib.sha256(p[1]).hexdigest() for p in photos)
    assert {a.state for a in atts} == {"stored"}
    # resubmitting the same form (double click, back + send) is the same submission
    again = await client.post("/report", data=multipart({**FORM, "form_key": key}, photos), allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == location
    await run_portal_jobs(client)
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Report))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(Attachment))).scalar_one() == 2
    # the public page shows the photos and none of the citizen's details
    public = await (await client.get(f"/r/{code}")).text()
    assert public.count(f"/r/{code}/photos/") >= 2
    for private in ("Bình", "0935", "binh.tv"):
        assert private not in public


async def test_form_works_without_photos_and_without_javascript_fields(portal: Any) -> None:
    client = portal
    resp = await client.post("/report", data={**FORM, "lat": "16.4637", "long": "107.5909"},
                             allow_redirects=False)  # urlencoded, as a form without files posts
    assert resp.status == 303
    code = await sent_code(client, resp.headers["Location"])
    async with client.app[HUB_KEY].sessions() as session:
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
    assert (report.lat, report.lon) == (16.4637, 107.5909)


async def test_bad_input_is_a_clear_vietnamese_error_and_nothing_is_stored(portal: Any) -> None:
    client = portal
    cases = [
        ({**FORM, "category": ""}, [], 400, "Vui lòng chọn lĩnh vực"),
        ({**FORM, "category": "nope"}, [], 400, "Vui lòng chọn lĩnh vực"),
        ({**FORM, "description": "  "}, [], 400, "Vui lòng mô tả sự việc"),
        ({**FORM, "address": ""}, [], 400, "Vui lòng chọn vị trí"),
        ({**FORM, "phone": "12345"}, [], 400, "Số điện thoại không đúng"),
        ({**FORM, "email": "không phải thư"}, [], 400, "thư điện tử không đúng"),
        ({**FORM, "email": "bad@@x"}, [], 400, "thư điện tử không đúng"),
        ({**FORM, "lat": "abc", "long": "1"}, [], 400, "Vị trí trên bản đồ không hợp lệ"),
        ({**FORM, "description": "Rác " * 1001}, [], 400, "Nội dung tối đa 4000 ký tự."),
        ({**FORM, "address": "kiệt 47 Chi Lăng " * 60}, [], 400, "Địa chỉ tối đa 1000 ký tự."),
        ({**FORM, "name": "Trần Văn Bình " * 20}, [], 400, "Họ và tên tối đa 255 ký tự."),
        (FORM, [("virus.exe", b"MZ\x90\x00" * 100, "image/jpeg")], 400, "không phải ảnh"),
        (FORM, [("big.jpg", b"\xff\xd8" + b"0" * (11 * 1024 * 1024), "image/jpeg")], 413, "tối đa 10 MB"),
        (FORM, [(f"{i}.jpg", jpeg(), "image/jpeg") for i in range(6)], 413, "tối đa 5 ảnh"),
    ]
    for fields, photos, status, message in cases:
        resp = await client.post("/report", data=multipart(fields, photos), allow_redirects=False)
        text = await resp.text()
        assert resp.status == status, (fields, status, text[:200])
        assert message in text, (message, text)
        assert 'role="alert"' in text
    # what the citizen typed is kept for the next try (photos must be chosen again), also when
    # a photo was refused (Vietnamese review: a too-big photo emptied the whole form)
    resp = await client.post("/report", data=multipart({**FORM, "phone": "12345"}))
    assert "Bãi rác tự phát bốc mùi" in await resp.text()
    for photos in ([("big.jpg", b"\xff\xd8" + b"0" * (11 * 1024 * 1024), "image/jpeg")],
                   [(f"{i}.jpg", jpeg(), "image/jpeg") for i in range(6)]):
        resp = await client.post("/report", data=multipart(FORM, photos))
        assert resp.status == 413 and "Bãi rác tự phát bốc mùi" in await resp.text()
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0


async def test_honeypot_and_rate_limit_stop_abuse_without_a_captcha(settings_factory: Any, hub_client: Any) -> None:
    client = await hub_client(settings_factory(portal={"form_per_hour": 3}))
    resp = await client.post("/report", data=multipart({**FORM, "website": "http://spam.example"}))
    assert resp.status == 400 and "Không gửi được phản ánh" in await resp.text()
    for _ in range(2):
        resp = await client.post("/report", data=multipart(FORM), allow_redirects=False)
        assert resp.status == 303
    resp = await client.post("/report", data=multipart(FORM), allow_redirects=False)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert "quá nhiều" in await resp.text()
    async with client.app[HUB_KEY].sessions() as session:
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 2
    metrics = await (await client.get("/metrics")).text()
    assert 'reason="form_honeypot"' in metrics and 'reason="form_rate_limit"' in metrics


async def test_form_page_is_accessible_and_has_the_contract_field_names(portal: Any) -> None:
    page = await portal.get("/report")
    text = await page.text()
    assert page.status == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert '<input id="photo" type="file" name="photo" multiple accept="image/*" capture' in text
    for name in ("category", "description", "lat", "long", "address", "name", "phone", "email"):
        assert f'name="{name}"' in text
        if name != "category":
            assert f'<label for="{name}">' in text  # every field has its label
    assert 'enctype="multipart/form-data"' in text and "<main" in text and 'lang="vi"' in text
    assert "Ổ gà, hư hỏng mặt đường" in text  # categories explained in plain Vietnamese
    assert "Phường Phú Xuân" in text  # ward suggestions
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert (await portal.get("/report/sent/form-doesnotexist")).status == 404


async def test_rate_limit_is_per_client_behind_the_local_proxy(settings_factory: Any, hub_client: Any) -> None:
    """deploy/'s nginx adds the client's address to X-Forwarded-For; each client has its own limit."""
    client = await hub_client(settings_factory(portal={"form_per_hour": 1}))
    first = {"X-Forwarded-For": "203.0.113.7"}
    second = {"X-Forwarded-For": "198.51.100.2, 203.0.113.9"}  # a forged first entry is not the key
    assert (await client.post("/report", data=multipart(FORM), headers=first, allow_redirects=False)).status == 303
    assert (await client.post("/report", data=multipart(FORM), headers=first, allow_redirects=False)).status == 429
    assert (await client.post("/report", data=multipart(FORM), headers=second, allow_redirects=False)).status == 303
    spoof = {"X-Forwarded-For": "198.51.100.2, 203.0.113.9"}
    assert (await client.post("/report", data=multipart(FORM), headers=spoof, allow_redirects=False)).status == 429


def test_the_status_filter_has_no_two_options_that_read_the_same() -> None:
    """Vietnamese review: 'Đã xử lý xong' was offered twice (the group and the status)."""
    from web.portal.render import PUBLIC_STATUS_FILTERS

    labels = list(PUBLIC_STATUS_FILTERS.values())
    assert len(labels) == len(set(labels))
