"""The status form's note says what it is for the status chosen, and who reads it (left by the
agency walkthrough: it always said "kết quả xử lý; gửi cho người phản ánh", also for statuses
whose note is a progress line, or that nobody outside the staff reads). Real headless Chromium:
the label follows the select; without JavaScript, a line per status."""
from __future__ import annotations

from typing import Any

from store.models import Report, utcnow
from tests.browser import Shots, new_page
from tests.console.test_browser import log_in
from tests.console.test_browser_work import Site, site  # noqa: F401  (the fixture, by name)

LABEL = "#status-note-label"


async def test_the_note_label_follows_the_status(browser: Any, site: Site, shots: Shots) -> None:  # noqa: F811
    async with site.hub.sessions() as session, session.begin():
        session.add(Report(code="PA-2026-000131", channel="zalo", status="forwarded",
                           category="environment", agency_id="moi-truong", ward="Phường Phú Xuân",
                           description="Rác ùn ứ ở kiệt 12 Nguyễn Trãi",
                           created_at=utcnow(), updated_at=utcnow(), last_message_at=utcnow()))
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await log_in(page, site.base, "mt.hoa")
    await page.goto(f"{site.base}/console/reports/PA-2026-000131")
    status = page.locator("#status-status")
    assert await status.input_value() == ""
    assert "chọn trạng thái" in await page.locator(LABEL).inner_text()
    await status.select_option("in_progress")
    assert await page.locator(LABEL).inner_text() == (
        "Ghi chú tiến độ (không bắt buộc) — gửi cho người phản ánh và hiển thị công khai")
    await status.select_option("resolved")
    assert await page.locator(LABEL).inner_text() == (
        "Kết quả xử lý (bắt buộc) — gửi cho người phản ánh và hiển thị công khai")
    await page.locator("#status-note").fill("Đã thu gom xong")
    await page.locator("#actions").scroll_into_view_if_needed()
    await shots.take(page, "note-label-resolved")
    await status.select_option("")
    assert "chọn trạng thái" in await page.locator(LABEL).inner_text()
    assert errors == []

    # Without JavaScript: the label for no choice and one line per status offered.
    ctx = await browser.new_context(locale="vi-VN", java_script_enabled=False)
    plain = await ctx.new_page()
    await log_in(plain, site.base, "mt.hoa")
    await plain.goto(f"{site.base}/console/reports/PA-2026-000131")
    hints = await plain.locator("form[action$='/status'] .hint li").all_inner_texts()
    assert "Đã xử lý xong: Kết quả xử lý (bắt buộc) — gửi cho người phản ánh và hiển thị công khai" in hints
    assert len(hints) == 2  # in_progress and resolved (returning has its own form)
    await shots.take(plain, "note-label-nojs")
    await ctx.close()
