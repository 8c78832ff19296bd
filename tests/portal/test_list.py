"""The public list and its open data: filters (category, ward, status, agency, q with or without
diacritics, page) the same on the page, the Atom feed, JSON and CSV; bad filters are 400;
Vietnamese everywhere; SEO and accessibility markup."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

from store.models import utcnow
from tests.portal.conftest import run_portal_jobs, seed_report

ATOM = "{http://www.w3.org/2005/Atom}"


async def seed_mix(client: Any) -> dict[str, str]:
    now = utcnow()
    codes = {
        "pothole": await seed_report(client, category="traffic_infrastructure", agency="so-xay-dung",
                                     ward="Phường Kim Long", status="in_progress",
                                     description="Ổ gà lớn trên đường Kim Long gây nguy hiểm",
                                     created=now - timedelta(hours=1)),
        "garbage": await seed_report(client, category="environment", agency="moi-truong",
                                     ward="Phường Phú Xuân", status="resolved",
                                     description="Rác thải ùn ứ ở kiệt 12 Nguyễn Trãi",
                                     notes={"resolved": "Đã thu gom toàn bộ"}, created=now - timedelta(hours=2)),
        "light": await seed_report(client, category="urban_infrastructure", agency="so-xay-dung",
                                   ward="Phường Phú Xuân", status="forwarded",
                                   description="Đèn đường hỏng cả tuần ở đường Lê Duẩn",
                                   created=now - timedelta(hours=3)),
    }
    await run_portal_jobs(client)
    return codes


def codes_in(text: str) -> set[str]:
    return set(re.findall(r"PA-\d{4}-\d{6}", text))


async def test_filters_agree_on_the_page_the_feed_and_the_exports(portal_db: Any) -> None:
    client = portal_db  # SQLite, and PostgreSQL when HUB_TEST_PG_URL is set
    c = await seed_mix(client)
    cases = {
        "": {c["pothole"], c["garbage"], c["light"]},
        "category=traffic_infrastructure": {c["pothole"]},
        "ward=Phường Phú Xuân": {c["garbage"], c["light"]},
        "ward=phu xuan": {c["garbage"], c["light"]},  # without diacritics or "phường"
        "ward=Kim Long": {c["pothole"]},
        "ward=Phường Vỹ Dạ": set(),  # a real ward with no report
        "status=done": {c["garbage"]},
        "status=open": {c["pothole"], c["light"]},
        "status=in_progress": {c["pothole"]},
        "agency=so-xay-dung": {c["pothole"], c["light"]},
        "q=ổ gà": {c["pothole"]},
        "q=o ga": {c["pothole"]},  # without diacritics
        "q=O GA LON": {c["pothole"]},
        "q=le duan": {c["light"]},
        f"q={c['garbage']}": {c["garbage"]},  # a code
        "q=phu xuan&agency=so-xay-dung": {c["light"]},  # ward words and a filter together
        "q=không có gì như thế": set(),
    }
    for query, expected in cases.items():
        page = await client.get(f"/reports?{query}")
        assert page.status == 200, query
        html_codes = {x for x in codes_in(await page.text())}
        assert html_codes == expected, (query, html_codes)
        feed = ElementTree.fromstring(await (await client.get(f"/reports.atom?{query}")).read())
        assert {e.find(f"{ATOM}id").text.rsplit("/", 1)[1] for e in feed.iter(f"{ATOM}entry")} == expected, query
        data = await (await client.get(f"/api/public/reports.json?{query}")).json()
        assert {r["code"] for r in data["reports"]} == expected and data["count"] == len(expected), query
        raw = (await (await client.get(f"/api/public/reports.csv?{query}")).read()).decode("utf-8-sig")
        assert {row["code"] for row in csv.DictReader(io.StringIO(raw))} == expected, query


async def test_exports_are_vietnamese_utf8_with_documented_columns(portal: Any) -> None:
    client = portal
    c = await seed_mix(client)
    resp = await client.get("/api/public/reports.json?category=environment")
    raw = await resp.text()
    assert resp.charset == "utf-8" and "Vệ sinh môi trường" in raw and "\\u" not in raw  # unescaped
    [row] = (await resp.json())["reports"]
    assert row["code"] == c["garbage"] and row["status_label"] == "Đã xử lý xong"
    assert row["agency_name"] == "Công ty Môi trường đô thị Huế" and row["due"] == "met"
    assert row["created_at"].endswith("+07:00")  # Vietnam time
    assert list(row) == (await resp.json())["columns"]
    csv_resp = await client.get("/api/public/reports.csv")
    assert csv_resp.content_type == "text/csv" and csv_resp.charset == "utf-8"
    body = (await csv_resp.read()).decode("utf-8")
    assert body.startswith("\ufeffcode,url,created_at,")
    assert "Hạ tầng giao thông" in body
    feed = await client.get("/reports.atom")
    assert feed.content_type == "application/atom+xml"
    root = ElementTree.fromstring(await feed.read())
    titles = [e.find(f"{ATOM}title").text for e in root.iter(f"{ATOM}entry")]
    assert titles[0] == f"{c['pothole']}: Ổ gà lớn trên đường Kim Long gây nguy hiểm"  # newest first
    # paging of the list
    for i in range(25):
        await seed_report(client, description=f"Phản ánh thêm số {i}", created=utcnow() - timedelta(days=1, minutes=i))
    first = codes_in(await (await client.get("/reports")).text())
    second = await (await client.get("/reports?page=2")).text()
    assert len(first) == 20 and len(codes_in(second)) == 8 and not first & codes_in(second)
    assert "Trang 2 / 2" in second and 'rel="prev"' in second
    two = await (await client.get("/api/public/reports.json?limit=10&page=3")).json()
    assert two["count"] == 8


async def test_bad_filters_are_clear_400s(portal: Any) -> None:
    for query, message in (("category=nope", "Không có lĩnh vực"), ("status=lost", "Không có trạng thái"),
                           ("agency=ai-do", "Không có đơn vị"), ("page=abc", "Số trang"),
                           ("page=0", "Số trang"), ("ward=bogus", "Không có phường/xã “bogus”")):
        page = await portal.get(f"/reports?{query}")
        assert page.status == 400 and message in await page.text(), query
        api = await portal.get(f"/api/public/reports.json?{query}")
        assert api.status == 400 and message in (await api.json())["error"], query
    assert (await portal.get("/api/public/reports.csv?limit=x")).status == 400
    assert (await portal.get("/api/public/map.json?bbox=1,2")).status == 400


async def test_pages_are_vietnamese_findable_and_accessible(portal: Any) -> None:
    client = portal
    c = await seed_mix(client)
    for path in ("/", "/reports", f"/r/{c['garbage']}", "/agencies", "/agencies/moi-truong", "/report"):
        resp = await client.get(path)
        text = await resp.text()
        assert resp.status == 200, path
        assert '<html lang="vi">' in text and '<meta name="viewport"' in text
        assert re.search(r"<title>[^<]+ · Phản ánh hiện trường — Huế</title>", text), path
        assert '<meta name="description" content="' in text and '<link rel="canonical" href="http://hub.test' in text
        assert '<meta property="og:image" content="http://hub.test/' in text
        assert "<main" in text and "<nav" in text and 'class="skip"' in text and "<footer" in text
        assert text.count("<h1") == 1, path
        assert "Content-Security-Policy" in resp.headers
    page = await (await client.get(f"/r/{c['garbage']}")).text()
    assert "Vệ sinh môi trường" in page and "Công ty Môi trường đô thị Huế" in page  # names, not slugs
    assert "environment" not in re.sub(r'(href|class)="[^"]*"', "", page)
    assert "Trung tâm đã chuyển phản ánh đến Công ty Môi trường đô thị Huế" in page
    assert "Kết quả xử lý" in page and "Đã thu gom toàn bộ" in page and "Đúng hạn" in page
    assert re.search(r"\d\d/\d\d/\d{4} lúc \d\d:\d\d", page)  # Vietnam time, readable
    assert "đúng lĩnh vực" not in page and "+00:00" not in page  # the routing note is internal
    home = await (await client.get("/")).text()
    assert "Tuần này" in home and "Phản ánh mới" in home and 'id="map"' in home
    assert c["pothole"] in home and "/agencies/moi-truong" in home
    assert (await client.get("/assets/portal.css")).status == 200
    assert (await client.get("/assets/vendor/leaflet-1.9.4/leaflet.js")).status == 200
    assert (await client.get("/assets/og.png")).content_type == "image/png"


async def test_map_clusters_open_and_recently_resolved_reports_in_sql(portal_db: Any) -> None:
    client = portal_db
    for i in range(5):  # five close together, one far away, one resolved long ago, one in triage
        await seed_report(client, lat=16.4630 + i * 0.0002, lon=107.5900 + i * 0.0002)
    far = await seed_report(client, lat=16.5500, lon=107.7000)
    await seed_report(client, status="resolved", resolved_after=timedelta(days=1),
                      created=utcnow() - timedelta(days=90), lat=16.40, lon=107.50)
    await seed_report(client, status="triage", agency=None, forwarded=False, lat=16.30, lon=107.40)
    wide = (await (await client.get("/api/public/map.json?zoom=10")).json())["clusters"]
    assert sorted(x["count"] for x in wide) == [1, 5]
    [single] = [x for x in wide if x["count"] == 1]
    assert single["code"] == far and single["lat"] == 16.55
    close = (await (await client.get("/api/public/map.json?zoom=19")).json())["clusters"]
    assert sum(x["count"] for x in close) == 6 and len(close) > 2
    boxed = (await (await client.get("/api/public/map.json?zoom=14&bbox=16.5,107.6,16.6,107.8")).json())["clusters"]
    assert [x["code"] for x in boxed] == [far]


async def test_control_characters_in_the_search_are_spaces_on_every_database(portal_db: Any) -> None:
    """A NUL in ``q`` (refused by PostgreSQL in any bound text: a 500 before) or another control
    character is a space: the search still finds the words around it, or the code."""
    client = portal_db  # SQLite, and PostgreSQL when HUB_TEST_PG_URL is set
    c = await seed_mix(client)
    cases = {"%00": {c["pothole"], c["garbage"], c["light"]},  # nothing left to search: every report
             "ổ%00gà": {c["pothole"]}, "le%01duan%7F": {c["light"]},
             f"%00{c['garbage']}%00": {c["garbage"]}}
    for query, expected in cases.items():
        page = await client.get(f"/reports?q={query}")
        assert page.status == 200, query
        assert codes_in(await page.text()) == expected, query
        data = await (await client.get(f"/api/public/reports.json?q={query}")).json()
        assert {r["code"] for r in data["reports"]} == expected, query
