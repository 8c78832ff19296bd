"""Left by the operator console walkthrough, in real headless Chromium on the whole hub:

- a note typed and abandoned (the browser refused the form: no status chosen) does not come back
  on a later visit of the report, where it would go to the citizen as the result; what a form
  held comes back only on the page the login returns to after an expired session, once;
- the confirmation after an action is on screen where the page lands (1366x768), not scrolled
  past;
- "Đã trả lại" fits a 390 px phone when the report went to an agency with a long name.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from store.models import Agency, ConsoleSession, Report, utcnow
from tests.browser import Shots, new_page
from tests.console.conftest import PASSWORD
from tests.console.test_browser import log_in
from tests.console.test_browser_work import Site, site  # noqa: F401  (the fixture, by name)

CODE = "PA-2026-000311"
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


async def _report(site: Site, code: str = CODE, **fields: Any) -> None:  # noqa: F811
    now = utcnow()
    values: dict[str, Any] = dict(
        code=code, channel="zalo", status="forwarded", category="environment",
        agency_id="moi-truong", ward="Phường Phú Xuân", description="Rác ùn ứ ở kiệt 34 Chi Lăng",
        created_at=now - timedelta(hours=3), forwarded_at=now - timedelta(hours=2),
        due_at=now + timedelta(hours=40), updated_at=now, last_message_at=now - timedelta(hours=3))
    values.update(fields)
    async with site.hub.sessions() as session, session.begin():
        session.add(Report(**values))


async def _drafts(page: Any) -> list[str]:
    return await page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('hub-draft'))")


async def test_an_abandoned_note_does_not_come_back(browser: Any, site: Site,  # noqa: F811
                                                    shots: Shots) -> None:
    await _report(site)
    errors: list[str] = []
    page = await new_page(browser, errors, **LAPTOP)
    await log_in(page, site.base, "tt.lan")
    url = f"{site.base}/console/reports/{CODE}"
    await page.goto(url)
    await page.locator("#status-note").fill("Ghi chú thử")
    await page.locator("form[action$='/status'] button[type=submit]").click()
    # the browser refuses it: no status chosen
    assert await page.locator("#status-status").evaluate("s => s.validity.valueMissing")
    assert page.url == url
    await page.goto(url)  # later, the report again
    assert await page.locator("#status-note").input_value() == ""
    assert await page.locator(".draft-restored").count() == 0
    await page.locator("#status-status").select_option("resolved")
    assert await page.locator("#status-note").input_value() == ""
    assert await _drafts(page) == []
    await shots.take(page, "walk-note-not-refilled", full_page=False)

    # A form really sent while the session had expired comes back after the login, once.
    await page.locator("#internal-note").fill("Đã gọi tổ thu gom, hẹn 15 giờ")
    async with site.hub.sessions() as session, session.begin():
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    async with page.expect_navigation():
        await page.locator("form[action$='/note'] button[type=submit]").click()
    assert "/console/login" in page.url and "expired=1" in page.url
    await page.locator("#username").fill("tt.lan")
    await page.locator("#password").fill(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == url
    assert await page.locator("#internal-note").input_value() == "Đã gọi tổ thu gom, hẹn 15 giờ"
    assert await page.locator("#status-note").input_value() == ""  # only the form that was sent
    assert await page.locator(".draft-restored").count() == 1
    await page.goto(f"{site.base}/console/")
    await page.goto(url)  # not a second time
    assert await page.locator("#internal-note").input_value() == ""
    assert await page.locator(".draft-restored").count() == 0
    assert await _drafts(page) == []
    assert [e for e in errors if "401" not in e] == []


async def test_the_confirmation_is_on_screen(browser: Any, site: Site,  # noqa: F811
                                             shots: Shots) -> None:
    await _report(site)
    errors: list[str] = []
    page = await new_page(browser, errors, **LAPTOP)
    await log_in(page, site.base, "tt.lan")
    await page.goto(f"{site.base}/console/reports/{CODE}")
    await page.locator("#internal-note").fill("Đã gọi tổ thu gom, hẹn 15 giờ")
    async with page.expect_navigation():
        await page.locator("form[action$='/note'] button[type=submit]").click()
    assert "done=note" in page.url
    done = page.locator("#action-done")
    assert await done.inner_text() == "Đã lưu ghi chú nội bộ."
    box = await done.bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 768, box
    await shots.take(page, "walk-confirmation", full_page=False)

    await page.locator("#status-status").select_option("in_progress")
    await page.locator("#status-note").fill("Tổ thu gom đang trên đường đến")
    async with page.expect_navigation():
        await page.locator("form[action$='/status'] button[type=submit]").click()
    box = await page.locator("#action-done").bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 768, box
    assert await page.locator("#action-done").inner_text() == "Đã cập nhật trạng thái."
    await shots.take(page, "walk-confirmation-status", full_page=False)
    assert errors == []


LONG_NAME = "Ban Quản lý dự án đầu tư xây dựng các công trình dân dụng và công nghiệp thành phố Huế"


async def test_returned_fits_a_phone_with_a_long_agency_name(browser: Any, site: Site,  # noqa: F811
                                                             shots: Shots) -> None:
    await _report(site)
    async with site.hub.sessions() as session, session.begin():
        await session.execute(update(Agency).where(Agency.id == "so-xay-dung").values(name=LONG_NAME))
    errors: list[str] = []
    page = await new_page(browser, errors, **LAPTOP)
    await log_in(page, site.base, "mt.hoa")
    await page.goto(f"{site.base}/console/reports/{CODE}")
    await page.locator("summary", has_text="Trả lại Trung tâm").click()
    await page.locator("#return-note").fill("Không thuộc thẩm quyền: công trình đang thi công")
    async with page.expect_navigation():
        await page.locator("form[action$='/return'] button[type=submit]").click()
    center = await new_page(browser, errors, **LAPTOP)
    await log_in(center, site.base, "tt.lan")
    await center.goto(f"{site.base}/console/reports/{CODE}")
    await center.locator("select[name=agency]").select_option("so-xay-dung")
    async with center.expect_navigation():
        await center.locator("form[action$='/route'] button[type=submit]").first.click()

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{site.base}/console/returned")
    badge = page.locator("table.returned .badge").first
    assert LONG_NAME in await badge.inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") == 390
    box = await badge.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    await shots.take(page, "walk-returned-phone")
    # the other badges keep their one line
    await page.goto(f"{site.base}/console/")
    await page.set_viewport_size({"width": 1366, "height": 768})
    await center.goto(f"{site.base}/console/")
    assert await center.locator(".badge").first.evaluate("b => getComputedStyle(b).whiteSpace") == "nowrap"
    assert errors == []
