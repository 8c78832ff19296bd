"""In real headless Chromium: an agency officer returns a report to the center, follows the
confirmation's link to "Đã trả lại" and reads what they returned, why, and that it waits for the
center; after the center sends it to another agency, the row says where it went. Skips with a
reason where Chromium or Playwright is missing (tests/browser.py)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from store.models import Report, utcnow
from tests.browser import Shots, new_page
from tests.console.test_browser import log_in
from tests.console.test_browser_work import Site, site  # noqa: F401  (the fixture, by name)

CODE = "PA-2026-000171"
REASON = "Không thuộc thẩm quyền: cây xanh trong khuôn viên trường học"


async def test_agency_returns_then_finds_it_under_returned(browser: Any, site: Site,  # noqa: F811
                                                           shots: Shots) -> None:
    now, h = utcnow(), timedelta(hours=1)
    async with site.hub.sessions() as session, session.begin():
        session.add(Report(code=CODE, channel="zalo", status="forwarded", category="environment",
                           agency_id="moi-truong", ward="Phường Phú Xuân",
                           description="Cây đổ trong sân trường, số nhà 7 Lê Lợi", created_at=now - 3 * h,
                           forwarded_at=now - 2 * h, due_at=now + 40 * h, updated_at=now,
                           last_message_at=now - 3 * h))
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await log_in(page, site.base, "mt.hoa")
    await page.goto(f"{site.base}/console/reports/{CODE}")
    await page.locator("summary", has_text="Trả lại Trung tâm").click()
    await page.locator("#return-note").fill(REASON)
    async with page.expect_navigation():
        await page.locator("form[action$='/return'] button[type=submit]").click()
    assert CODE not in await page.locator("#queue-results").inner_text()
    async with page.expect_navigation():
        await page.locator("a", has_text="Xem các phản ánh đã trả lại").click()
    assert page.url.endswith("/console/returned")
    assert await page.locator("nav a[aria-current=page]").inner_text() == "Đã trả lại"
    row = page.locator("table.returned tbody tr")
    assert await row.count() == 1
    text = await row.first.inner_text()
    assert CODE in text and REASON in text and "Chờ Trung tâm phân loại" in text and "Lê Thị Hoa" in text
    assert "Lê Lợi" not in await page.locator("main").inner_text()  # no citizen data
    await shots.take(page, "agency-returned")

    center = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await log_in(center, site.base, "tt.lan")
    await center.goto(f"{site.base}/console/reports/{CODE}")
    await center.locator("select[name=agency]").select_option("so-xay-dung")
    async with center.expect_navigation():
        await center.locator("form[action$='/route'] button[type=submit]").first.click()
    await page.reload()
    text = await page.locator("table.returned tbody tr").first.inner_text()
    assert "Đã chuyển cho Sở Xây dựng" in text and REASON in text
    await shots.take(page, "agency-returned-rerouted")
    # a phone-width screen: the row's cells stack and fit
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await shots.take(page, "agency-returned-phone")
    assert errors == []
