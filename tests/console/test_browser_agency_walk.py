"""The agency officer's walk, in real headless Chromium, after the fixes of the agency
walkthrough: the queue opens overdue first with the new-message marker, the report page shows
attachment states in Vietnamese and the phone in national format, a progress note goes to the
"Ghi chú nội bộ" form and leaves the status alone."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from store.models import Attachment, Contact, Report, ReportEvent, utcnow
from tests.browser import Shots, new_page
from tests.console.test_browser import log_in
from tests.console.test_browser_work import Site, site  # noqa: F401  (the fixture, by name)

NOTE = "Đã cử xe, dự kiến xong thứ Hai"


async def test_agency_officer_walk(browser: Any, site: Site, shots: Shots) -> None:  # noqa: F811
    now, h = utcnow(), timedelta(hours=1)
    async with site.hub.sessions() as session, session.begin():
        contact = Contact(channel="zalo", channel_user_id="z-walk", name="Bà Hoa", phone="+84905777888")
        session.add(contact)
        await session.flush()
        session.add_all([
            Report(code="PA-2026-000151", channel="zalo", status="forwarded", category="environment",
                   agency_id="moi-truong", ward="Phường Phú Xuân", description="Cây đổ chắn lối đi",
                   created_at=now - h, forwarded_at=now - h, due_at=now + 40 * h, updated_at=now,
                   last_message_at=now - h),
            Report(code="PA-2026-000152", channel="zalo", status="in_progress", category="environment",
                   agency_id="moi-truong", ward="Phường Thuận Hóa", contact_id=contact.id,
                   description="Rác ùn ứ nhiều ngày ở kiệt 12 Nguyễn Trãi", created_at=now - 80 * h,
                   forwarded_at=now - 79 * h, due_at=now - 3 * h, updated_at=now,
                   last_message_at=now - timedelta(minutes=20))])
        await session.flush()
        rid = (await session.execute(select(Report.id).where(Report.code == "PA-2026-000152"))).scalar_one()
        session.add_all([
            ReportEvent(report_id=rid, actor="user:mt.hoa", kind="status", status_from="forwarded",
                        status_to="in_progress", at=now - 5 * h),
            Attachment(report_id=rid, channel="zalo", kind="image", content_type="image/jpeg",
                       size=7 * 1024, state="pending", next_attempt_at=now + 24 * h),  # not yet
            Attachment(report_id=rid, channel="zalo", kind="video", content_type="video/mp4",
                       size=30 * 1024 * 1024, state="refused", error="file exceeds 20971520 bytes")])
    errors: list[str] = []
    page = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await log_in(page, site.base, "mt.hoa")
    rows = page.locator("table.queue tbody tr")
    assert "PA-2026-000152" in await rows.nth(0).inner_text()
    assert "Có tin mới từ người dân" in await rows.nth(0).inner_text()
    assert "Có tin mới" not in await rows.nth(1).inner_text()
    await shots.take(page, "agency-queue")

    await page.locator("a[href='/console/reports/PA-2026-000152']").click()
    await page.wait_for_load_state()
    states = await page.locator(".attachment-state").all_inner_texts()
    assert states == ["đang tải", "bị từ chối: tệp quá lớn"]
    assert await page.locator("a[href='tel:+84905777888']").inner_text() == "0905 777 888"
    await page.locator("#internal-note").fill(NOTE)
    async with page.expect_navigation():
        await page.locator("form[action$='/note'] button[type=submit]").click()
    assert await page.locator("#action-done").inner_text() == "Đã lưu ghi chú nội bộ."
    assert NOTE in await page.locator("main").inner_text()
    await shots.take(page, "agency-report-noted")
    async with site.hub.sessions() as session:
        assert (await session.execute(select(Report.status).where(
            Report.code == "PA-2026-000152"))).scalar_one() == "in_progress"
    assert errors == []
