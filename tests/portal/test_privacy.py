"""Personal data and markup never reach a public page, feed or export; a report is public only
once forwarded; the center hides reports (404, in no list) and single photos."""
from __future__ import annotations

import html
import json
from typing import Any

from sqlalchemy import select

from hub.keys import HUB_KEY
from store.models import Report
from store.public_reports import set_photo_hidden, set_report_hidden
from tests.conftest import wait_for
from tests.portal.conftest import jpeg, run_portal_jobs, seed_report
from tests.router.helpers import token

NAME = "Nguyễn Thị Lan"
PHONE = "0905 123 456"
EMAIL = "lan.nguyen@gmail.com"
SCRIPT = "<script>alert('x')</script>"
# What must never appear raw: the phone in every notation it was written, the email, every word
# of the name with and without diacritics, the markup.
SECRETS = ("0905 123 456", "0905123456", "905123456", "lan.nguyen@gmail.com", "Nguyễn Thị Lan",
           "nguyen thi lan", "Lan", "NGUYEN", "0914 888 777", "0914888777", "hoa.tran@yahoo.com")


def public_paths(code: str) -> list[str]:
    return ["/", "/reports", f"/reports?q={code}", "/reports?q=ga", "/reports?category=traffic_infrastructure",
            f"/r/{code}", "/reports.atom", "/reports.atom?category=traffic_infrastructure",
            "/api/public/reports.json", "/api/public/reports.csv", f"/api/public/reports/{code}",
            "/agencies", "/agencies/so-xay-dung", "/api/public/map.json?zoom=12", "/api/public/stats",
            f"/open311/v2/requests/{code}.json"]


async def body_of(resp: Any) -> str:
    """The text a reader sees (entities decoded, JSON unescaped); checks markup on the way."""
    text = await resp.text()
    if resp.content_type == "text/csv":
        # A download, never rendered: the cell keeps the citizen's exact text, with no sniffing.
        assert resp.headers["Content-Disposition"].startswith("attachment")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    elif not resp.url.path.startswith("/open311/"):  # Open311 answers are issue 20's (PII checked)
        assert "<script>alert" not in text, resp.url  # markup only ever arrives escaped
    if resp.content_type == "application/json":  # compare text, not \u escapes
        return json.dumps(await resp.json(), ensure_ascii=False)
    return html.unescape(text) if "html" in resp.content_type or "xml" in resp.content_type else text


def assert_clean(body: str, path: str) -> None:
    for secret in SECRETS:
        if secret == "Lan":  # the bare word, not inside others ("Lang Cô")
            import re

            assert not re.search(r"\bLan\b", body), (path, secret)
        else:
            assert secret not in body, (path, secret)


async def test_pii_and_markup_in_every_free_text_field_stay_off_public_pages(portal: Any) -> None:
    client = portal
    form = {"service_code": "traffic_infrastructure", "first_name": NAME, "phone": PHONE, "email": EMAIL,
            "address_string": f"kiệt 5 Lê Lợi, nhà chị lan, {PHONE}",
            "description": (f"Tôi là nguyen thi lan ({EMAIL}, {PHONE}). Ổ gà lớn giữa đường {SCRIPT} "
                            "gọi NGUYEN THI LAN hoặc hàng xóm hoa.tran@yahoo.com 0914 888 777")}
    resp = await client.post("/open311/v2/requests.json", data=form)
    assert resp.status == 201, await resp.text()
    tok = (await resp.json())[0]["token"]

    async def made() -> str | None:
        return (await (await client.get(f"/open311/v2/tokens/{tok}.json")).json())[0]["service_request_id"]
    code = await wait_for(made)
    auth = await token(client, "so-xay-dung")
    for status, note in (("in_progress", f"Đã liên hệ chị Lan qua {PHONE} {SCRIPT}"),
                         ("resolved", f"Đã vá ổ gà, báo lại cho {NAME} qua {EMAIL}. {SCRIPT}")):
        resp = await client.post(f"/api/v1/reports/{code}/status", json={"status": status, "note": note},
                                 headers=auth)
        assert resp.status == 200, await resp.text()
    resp = await client.post(f"/api/v1/reports/{code}/reply", headers=auth,
                             json={"text": f"Chào chị Lan, đơn vị đã gọi {PHONE} và gửi {EMAIL} {SCRIPT}"})
    assert resp.status == 202, await resp.text()
    # The citizen's rating (stored as router.rating stores it) quotes them too.
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        report.rating_score, report.rating_comment = 4, f"Cảm ơn, tôi là Lan {PHONE} {SCRIPT}"
    await run_portal_jobs(client)
    page = await client.get(f"/r/{code}")
    text = html.unescape(await page.text())
    assert page.status == 200
    assert "Ổ gà lớn giữa đường" in text and "Đã vá ổ gà" in text and "4/5" in text
    assert "Sở Xây dựng phản hồi" in text and "đơn vị đã gọi" in text  # the agency's reply, public
    assert "090*****56" in text and "l***@gmail.com" in text
    assert "&lt;script&gt;" in await page.text()  # shown as text, never as markup
    for path in public_paths(code):
        resp = await client.get(path)
        assert resp.status == 200, (path, resp.status)
        assert_clean(await body_of(resp), path)
    # Search finds the report by its words, never by the personal data it masks.
    assert code in await (await client.get("/reports?q=o ga lon")).text()
    assert code not in await (await client.get("/reports?q=0905123456")).text()
    assert code not in await (await client.get("/reports?q=lan.nguyen")).text()
    assert code not in await (await client.get("/reports?q=nguyen thi lan")).text()


async def test_notes_replies_and_ratings_seeded_with_pii_are_masked_everywhere(portal: Any) -> None:
    client = portal
    code = await seed_report(
        client, status="resolved", agency="so-xay-dung", category="traffic_infrastructure",
        name=NAME, phone="+84905123456", email=EMAIL,
        description=f"Ổ gà lớn, liên hệ {NAME.lower()} {PHONE} {SCRIPT}",
        address=f"12 Lê Lợi {EMAIL}", rating=2, rating_comment=f"nguyen thi lan: chậm {PHONE} {SCRIPT}",
        notes={"resolved": f"Đã xử lý, đã gọi {PHONE} của {NAME} {SCRIPT}",
               "reply": f"Đơn vị đã liên hệ {EMAIL} {SCRIPT} hoa.tran@yahoo.com"})
    await run_portal_jobs(client)
    for path in public_paths(code):
        resp = await client.get(path)
        assert resp.status == 200, (path, resp.status)
        assert_clean(await body_of(resp), path)
    text = html.unescape(await (await client.get(f"/r/{code}")).text())
    assert "Phản hồi: Đơn vị đã liên hệ" in text.replace("\n", " ").replace("  ", " ") or "Phản hồi" in text
    assert "đúng lĩnh vực và địa bàn" not in text  # internal routing notes stay internal


async def test_public_only_once_forwarded_and_hidden_reports_are_404_and_in_no_list(portal: Any) -> None:
    client = portal
    triage = await seed_report(client, status="triage", agency=None, forwarded=False,
                               description="Tiếng ồn karaoke đêm khuya ở kiệt 3")
    shown = await seed_report(client, description="Cây xanh gãy đổ chắn đường Lê Duẩn",
                              category="urban_infrastructure", agency="so-xay-dung")
    hidden = await seed_report(client, description="Nội dung nhạy cảm cần ẩn", agency="so-xay-dung")
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, hidden, True, actor="user:tt.lan", reason="thông tin riêng")
    await run_portal_jobs(client)
    # triage: status only, nothing of its content, in no list
    page = await client.get(f"/r/{triage}")
    text = await page.text()
    assert page.status == 200 and "Đang phân loại" in text and "karaoke" not in text
    assert (await client.get(f"/api/public/reports/{triage}")).status == 404
    # hidden: the page its citizen follows says where it stands, nothing of its content
    page = await client.get(f"/r/{hidden}")
    text = html.unescape(await page.text())
    assert page.status == 200 and "không được công khai" in text and "nhạy cảm" not in text
    assert (await client.get(f"/api/public/reports/{hidden}")).status == 404
    assert (await client.get("/r/PA-2026-999999")).status == 404
    for path in ("/", "/reports", "/reports?q=nhay cam", "/reports?q=karaoke", "/reports.atom",
                 "/api/public/reports.json", "/api/public/reports.csv", "/agencies/so-xay-dung",
                 "/open311/v2/requests.json", "/open311/v2/requests.xml",
                 f"/open311/v2/requests.json?service_request_id={hidden}"):
        body = await (await client.get(path)).text()
        assert hidden not in body and "nhạy cảm" not in html.unescape(body), path
        assert triage not in body and "đêm khuya" not in html.unescape(body), path
    assert shown in await (await client.get("/reports")).text()
    assert shown in await (await client.get("/open311/v2/requests.json")).text()
    # Open311, as the portal: a hidden report is 404; one in triage is its code and status only
    # (the app that sent it may follow it), in no list
    assert (await client.get(f"/open311/v2/requests/{hidden}.json")).status == 404
    for path in (f"/open311/v2/requests/{triage}.json",
                 f"/open311/v2/requests.json?service_request_id={triage}"):
        [one] = await (await client.get(path)).json()
        assert one["service_request_id"] == triage and one["status"] == "open", path
        assert {k for k, v in one.items() if v is not None} == {"service_request_id", "status"}, path
    # asked together: the public one in full, the one in triage by status, the hidden one not
    asked = await (await client.get(
        f"/open311/v2/requests.json?service_request_id={shown},{triage},{hidden}")).json()
    assert {r["service_request_id"]: r["description"] is not None for r in asked} == {
        shown: True, triage: False}
    # unhiding brings it back
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_report_hidden(session, hidden, False, actor="user:tt.lan")
    assert (await client.get(f"/r/{hidden}")).status == 200


async def test_photos_are_public_copies_without_exif_and_a_hidden_photo_is_gone(portal: Any) -> None:
    client = portal
    first, second = jpeg(gps=(16.4637, 107.5909)), jpeg(colour=(20, 60, 160))
    code = await seed_report(client, photos=[first, second])
    page = await (await client.get(f"/r/{code}")).text()
    import hashlib

    sha1, sha2 = hashlib.sha256(first).hexdigest(), hashlib.sha256(second).hexdigest()
    assert f"/r/{code}/photos/{sha1}.jpg" in page and f"/r/{code}/photos/{sha2}.jpg" in page
    resp = await client.get(f"/r/{code}/photos/{sha1}.jpg")
    data = await resp.read()
    assert resp.status == 200 and resp.content_type == "image/jpeg" and data[:2] == b"\xff\xd8"
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(data)) as public:
        assert not public.getexif()  # no GPS, no maker: no EXIF at all
        assert public.size == (640, 480)
    with Image.open(BytesIO(first)) as original:
        assert original.getexif().get_ifd(0x8825)  # the stored original had it
    api = await (await client.get(f"/api/public/reports/{code}")).json()
    assert [a["url"] for a in api["attachments"]] == [
        f"http://hub.test/r/{code}/photos/{sha1}.jpg", f"http://hub.test/r/{code}/photos/{sha2}.jpg"]
    async with client.app[HUB_KEY].sessions() as session, session.begin():
        await set_photo_hidden(session, code, sha1, True, actor="user:tt.lan")
    assert (await client.get(f"/r/{code}/photos/{sha1}.jpg")).status == 404
    page = await (await client.get(f"/r/{code}")).text()
    assert sha1 not in page and sha2 in page
    assert [a["sha256"] for a in (await (await client.get(f"/api/public/reports/{code}")).json())["attachments"]] == [sha2]
    # another report's photo through this code is not served
    other = await seed_report(client)
    assert (await client.get(f"/r/{other}/photos/{sha2}.jpg")).status == 404


async def test_public_coordinates_are_rounded(portal: Any) -> None:
    client = portal
    code = await seed_report(client, lat=16.46371234, lon=107.59091234)
    for path in (f"/r/{code}", f"/api/public/reports/{code}", "/api/public/reports.json",
                 "/api/public/reports.csv", "/api/public/map.json?zoom=18",
                 f"/open311/v2/requests/{code}.json", f"/open311/v2/requests/{code}.xml",
                 "/open311/v2/requests.json"):
        body = await (await client.get(path)).text()
        assert "16.4637" not in body and "107.5909" not in body, path
        assert "16.464" in body and "107.591" in body, path


async def test_notes_for_the_center_and_staff_logins_stay_internal(portal: Any) -> None:
    """A note an agency writes when it sends a report back to the center ("returned"), or the
    center's note when it takes it back to triage, is internal: on no public page, JSON or Open311
    answer; a staff member's login (actor ``user:…``) is shown as ``staff``. The agency's
    progress note is public."""
    from router import lifecycle

    client = portal
    code = await seed_report(client, status="forwarded", agency="moi-truong")
    auth = await token(client, "moi-truong")
    for status, note in (("in_progress", "Đội môi trường đã đến hiện trường"),
                         ("returned", "NỘI BỘ: không thuộc thẩm quyền, gọi cán bộ Hưng")):
        resp = await client.post(f"/api/v1/reports/{code}/status", headers=auth,
                                 json={"status": status, "note": note})
        assert resp.status == 200, await resp.text()
    hub = client.app[HUB_KEY]
    async with hub.sessions() as session, session.begin():
        report = (await session.execute(select(Report).where(Report.code == code))).scalar_one()
        await lifecycle.change_status(hub, session, report, "triage", actor="user:tt.lan",
                                      center=True, note="NỘI BỘ xem lại theo chỉ đạo lãnh đạo")
    await run_portal_jobs(client)
    for path in (f"/r/{code}", f"/api/public/reports/{code}", f"/open311/v2/requests/{code}.json",
                 f"/open311/v2/requests/{code}.xml", "/open311/v2/requests.json"):
        body = await body_of(await client.get(path))
        assert "NỘI BỘ" not in body and "Hưng" not in body and "tt.lan" not in body, path
    events = (await (await client.get(f"/api/public/reports/{code}")).json())["events"]
    assert "staff" in {e["actor"] for e in events}
    assert not any(":" in e["actor"] for e in events)
    assert "Đội môi trường đã đến hiện trường" in {e["note"] for e in events}
    [one] = await (await client.get(f"/open311/v2/requests/{code}.json")).json()
    assert one["status_notes"] == "Đội môi trường đã đến hiện trường"
