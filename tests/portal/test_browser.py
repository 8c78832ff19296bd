"""The portal in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Skipped with a reason where Chromium or Playwright is missing; ``HUB_REQUIRE_BROWSER=1`` turns
that skip into a failure. ``HUB_PORTAL_SCREENSHOTS=DIR`` keeps a PNG of each page checked.
Map tiles come from a local tile server (no network in tests).
"""
from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from store.models import utcnow
from tests.browser import Shots, new_page
from tests.conftest import make_settings, wait_for
from tests.portal.conftest import jpeg, run_portal_jobs, seed_report

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def _tile() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), (232, 236, 228))
    draw = ImageDraw.Draw(image)
    draw.line((0, 128, 256, 128), fill=(255, 255, 255), width=9)
    draw.line((128, 0, 128, 256), fill=(255, 255, 255), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def site(tmp_path: Path, aiohttp_server: Any) -> AsyncIterator[tuple[str, Any]]:
    """A local tile server, then the whole hub with the portal on a loopback port."""
    from hub.app import create_app

    tile = _tile()

    async def tiles(request: web.Request) -> web.Response:
        return web.Response(body=tile, content_type="image/png")
    tile_app = web.Application()
    tile_app.router.add_get("/{z}/{x}/{y}.png", tiles)
    tile_server = await aiohttp_server(tile_app)
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", portal={
        "tile_url": f"http://127.0.0.1:{tile_server.port}/{{z}}/{{x}}/{{y}}.png", "tile_attribution": "thử nghiệm",
        "stats_cache_seconds": 0, "map_zoom": 14})
    server = await aiohttp_server(create_app(settings))
    yield f"http://127.0.0.1:{server.port}", SimpleNamespace(app=server.app)  # seeds through the app


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    return Shots(tmp_path, "portal", "HUB_PORTAL_SCREENSHOTS")


async def until(page: Any, selector: str, check: str) -> None:
    """Poll a check on an element (wait_for_function evaluates strings, which our CSP forbids)."""
    async def ok() -> bool:
        return bool(await page.locator(selector).first.evaluate(check))
    await wait_for(ok, timeout=30)  # generous: the machine may be loaded


async def fits_the_screen(page: Any) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def seed_site(client: Any) -> dict[str, str]:
    now = utcnow()
    codes = {}
    for i, (days, rating) in enumerate(((1, 5), (2, 4), (6, 2), (3, 5))):
        codes[f"done{i}"] = await seed_report(
            client, status="resolved", agency="moi-truong", category="environment", rating=rating,
            resolved_after=timedelta(days=days), created=now - timedelta(days=20 + 9 * i),
            description=f"Rác thải tồn đọng ở kiệt {10 + i} Chi Lăng, bốc mùi", ward="Phường Phú Xuân",
            lat=16.4700 + i * 0.001, lon=107.5900 + i * 0.001, notes={"resolved": "Đã thu gom, vệ sinh khu vực"})
    codes["pothole"] = await seed_report(
        client, status="in_progress", agency="so-xay-dung", category="traffic_infrastructure",
        ward="Phường Kim Long", description="Ổ gà sâu giữa đường Kim Long, xe máy dễ ngã",
        lat=16.4620, lon=107.5640, photos=[jpeg(colour=(80, 80, 90)), jpeg(colour=(120, 100, 60))],
        notes={"in_progress": "Đã cử tổ kỹ thuật kiểm tra hiện trường"})
    codes["light"] = await seed_report(
        client, status="forwarded", agency="so-xay-dung", category="urban_infrastructure",
        ward="Phường Vỹ Dạ", description="Đèn đường hỏng cả tuần ở đường Nguyễn Sinh Cung", lat=16.4745, lon=107.6050)
    await run_portal_jobs(client)
    return codes


async def test_report_form_with_a_photo_from_a_phone(browser: Any, site: tuple[str, Any], shots: Shots,
                                                     tmp_path: Path) -> None:
    base, client = site
    errors: list[str] = []
    page = await new_page(browser, errors, **PHONE)
    await page.goto(f"{base}/report")
    assert await fits_the_screen(page)
    await shots.take(page, "form-phone")
    await page.get_by_label("Vệ sinh môi trường").check()
    await page.locator("#description").fill("Rác thải đổ trộm ven sông Như Ý, bốc mùi nặng")
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(jpeg(gps=(16.4589, 107.6011)))
    await page.locator("#photo").set_input_files(str(photo))
    # drop a pin: the map fills lat/long (the form also works with the address alone)
    await page.locator("#pick-map").click(position={"x": 180, "y": 120})
    assert re.match(r"^16\.\d+$", await page.locator("#lat").input_value())
    await page.locator("#address").fill("Đường Ngự Bình, Phường An Cựu")
    await page.locator("#phone").fill("0935 111 222")
    await shots.take(page, "form-phone-filled")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/" in page.url
    assert "Cảm ơn bạn" in await page.locator("h1").inner_text()

    async def code_shown() -> str | None:
        await run_portal_jobs(client)
        await page.reload()
        found = re.search(r"PA-\d{4}-\d{6}", await page.locator("main").inner_text())
        return found.group(0) if found else None
    code = await wait_for(code_shown, timeout=60)
    await shots.take(page, "form-sent")
    async with page.expect_navigation():
        await page.locator(f"main a[href='/r/{code}']").click()
    assert await page.locator("h1").inner_text() != "Không tìm thấy"
    await until(page, ".photos img", "i => i.complete && i.naturalWidth > 0")
    assert await page.locator(".photos img").evaluate("img => img.naturalWidth") == 640
    assert await fits_the_screen(page)
    await shots.take(page, "report-phone")
    assert errors == []


async def test_home_list_report_and_agency_pages(browser: Any, site: tuple[str, Any], shots: Shots) -> None:
    base, client = site
    codes = await seed_site(client)
    errors: list[str] = []
    page = await new_page(browser, errors, **DESKTOP)
    await page.goto(f"{base}/")
    await until(page, "#map", "el => el.dataset.loaded !== undefined")
    assert int(await page.locator("#map").get_attribute("data-loaded")) >= 2  # clusters drawn
    assert await page.locator(".leaflet-marker-icon").count() >= 2
    assert codes["pothole"] in await page.locator("main").inner_text()
    await shots.take(page, "home")
    # the filtered list, chosen with the form as a person does
    await page.goto(f"{base}/reports")
    await page.locator("#f-category").select_option("traffic_infrastructure")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Lọc").click()
    assert "category=traffic_infrastructure" in page.url
    cards = await page.locator(".cards .card").all_inner_texts()
    assert len(cards) == 1 and codes["pothole"] in cards[0] and "Hạ tầng giao thông" in cards[0]
    await shots.take(page, "list-filtered")
    await page.goto(f"{base}/reports?q=rac thai")
    assert await page.locator(".cards .card").count() == 4
    # a report with photos and its timeline
    await page.goto(f"{base}/r/{codes['pothole']}")
    await until(page, ".photos", "ul => [...ul.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)")
    assert await page.locator(".photos img").count() == 2
    steps = await page.locator(".timeline li").all_inner_texts()
    timeline = "\n".join(steps)
    assert "Trung tâm đã tiếp nhận phản ánh" in timeline
    assert "Trung tâm đã chuyển phản ánh đến Sở Xây dựng" in timeline
    assert "Sở Xây dựng đang xử lý" in timeline and "Đã cử tổ kỹ thuật kiểm tra hiện trường" in timeline
    assert await page.locator(".leaflet-tile-loaded").count() > 0  # the tiles from the setting
    await shots.take(page, "report")
    # an agency with its chart
    await page.goto(f"{base}/agencies")
    await shots.take(page, "agencies")
    async with page.expect_navigation():
        await page.get_by_role("link", name="Công ty Môi trường đô thị Huế").first.click()
    chart = page.locator("svg.chart")
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 500 and box["height"] > 150
    assert await chart.locator("rect[fill='#2e7d32'] > title").count() == 12  # a resolved bar per month
    assert "Tỷ lệ đúng hạn" in await page.locator("main").inner_text()
    await shots.take(page, "agency")
    assert errors == []
    # the same pages on a phone: nothing wider than the screen
    phone = await new_page(browser, errors, **PHONE)
    for path in ("/", "/reports", f"/r/{codes['pothole']}", "/agencies", "/agencies/moi-truong"):
        await phone.goto(f"{base}{path}")
        assert await fits_the_screen(phone), path
    await shots.take(phone, "home-phone")
    assert errors == []


async def test_pages_work_without_javascript(browser: Any, site: tuple[str, Any], shots: Shots) -> None:
    base, client = site
    codes = await seed_site(client)
    errors: list[str] = []
    page = await new_page(browser, errors, java_script_enabled=False, **PHONE)
    await page.goto(f"{base}/reports?status=done")
    assert await page.locator(".cards .card").count() == 4
    await page.goto(f"{base}/agencies/moi-truong")
    assert await page.locator("svg.chart").is_visible()
    await page.goto(f"{base}/report")
    await page.get_by_label("Hạ tầng đô thị").check()
    await page.locator("#description").fill("Cây xanh gãy cành sau mưa, chắn lối đi bộ")
    await page.locator("#address").fill("Phường Vỹ Dạ")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Gửi phản ánh").click()
    assert "/report/sent/" in page.url
    await shots.take(page, "sent-nojs")
    assert codes and errors == []
