"""What an officer typed survives a session that expired under it (left by the console
walkthrough: a long reply posted after the idle timeout went to the login page and was lost;
the notice said to type it again). In real headless Chromium: the text comes back on the report
page after the login, and is gone once the reply went through."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from store.models import ConsoleSession, Report, utcnow
from tests.browser import Shots, new_page
from tests.console.conftest import PASSWORD
from tests.console.test_browser import log_in
from tests.console.test_browser_work import Site, site  # noqa: F401  (the fixture, by name)

REPLY = "Đơn vị đã cử tổ thu gom đến kiệt 34 Chi Lăng, dự kiến xong trước 17 giờ hôm nay."


async def test_a_reply_typed_before_the_session_expired_comes_back(
        browser: Any, site: Site, shots: Shots) -> None:  # noqa: F811
    base = site.base
    async with site.hub.sessions() as session, session.begin():
        session.add(Report(code="PA-2026-000102", channel="web", status="forwarded",
                           category="environment", agency_id="moi-truong", ward="Phường Phú Xuân",
                           description="Đống rác lớn bốc mùi ở kiệt 34 Chi Lăng",
                           created_at=utcnow(), updated_at=utcnow(), last_message_at=utcnow()))
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await log_in(page, base, "mt.hoa")
    report = f"{base}/console/reports/PA-2026-000102"
    await page.goto(report)
    await page.locator("#reply-text").fill(REPLY)
    async with site.hub.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    async with page.expect_navigation():
        await page.locator("form[action$='/reply'] button[type=submit]").click()
    assert "/console/login" in page.url and "expired=1" in page.url
    assert "sau khi đăng nhập" in await page.locator("main").inner_text()
    await shots.take(page, "draft-expired")

    await page.locator("#username").fill("mt.hoa")
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == report
    assert await page.locator("#reply-text").input_value() == REPLY
    assert await page.locator(".draft-restored").count() == 1
    await shots.take(page, "draft-restored")

    async with page.expect_navigation():
        await page.locator("form[action$='/reply'] button[type=submit]").click()
    assert "done=reply" in page.url
    assert await page.locator("#reply-text").input_value() == ""
    await page.goto(report)
    assert await page.locator("#reply-text").input_value() == ""
    assert await page.locator(".draft-restored").count() == 0
    assert [e for e in errors if "401" not in e] == []
