"""The agency's queue opens by due date, overdue on top, and marks the reports whose citizen wrote
after the staff's last action "Có tin mới từ người dân" (left by the agency walkthrough: newest
first, an overdue report under the new ones, and nothing said a citizen had written again)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from store.models import Report, ReportEvent, utcnow
from tests.console.conftest import ConsoleDB, login

BADGE = "Có tin mới từ người dân"


def _rows(html: str) -> list[tuple[str, bool]]:
    """(code, has the badge) per queue row, in order."""
    return [(code, BADGE in cell) for code, cell in re.findall(
        r'<td data-label="Mã"><a href="/console/reports/([^"]+)">[^<]*</a>(.*?)</td>', html)]


async def test_agency_queue_by_due_date_with_new_messages_marked(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    await console_db.add_account("tt.lan", "center")
    now = utcnow()
    h = timedelta(hours=1)
    fresh = await console_db.add_report(status="forwarded", agency_id="moi-truong", created_at=now - h,
                                        forwarded_at=now - h, due_at=now + 48 * h, last_message_at=now - h)
    overdue = await console_db.add_report(status="in_progress", agency_id="moi-truong",
                                          created_at=now - 72 * h, forwarded_at=now - 70 * h,
                                          due_at=now - 2 * h, last_message_at=now - 10 * timedelta(minutes=1))
    answered = await console_db.add_report(status="in_progress", agency_id="moi-truong",
                                           created_at=now - 30 * h, forwarded_at=now - 29 * h,
                                           due_at=now + 5 * h, last_message_at=now - 2 * h)
    system_after = await console_db.add_report(status="forwarded", agency_id="moi-truong",
                                               created_at=now - 20 * h, forwarded_at=now - 19 * h,
                                               due_at=now + 20 * h, last_message_at=now - 3 * h)
    async with console_db.sessions() as session, session.begin():
        ids = dict((await session.execute(select(Report.code, Report.id))).all())
        session.add_all([
            # the officer started work, then the citizen wrote again
            ReportEvent(report_id=ids[overdue.code], actor="user:mt.hoa", kind="status",
                        status_to="in_progress", at=now - 5 * h),
            # the citizen wrote, then the officer answered
            ReportEvent(report_id=ids[answered.code], actor="user:mt.hoa", kind="reply", at=now - h),
            # a reminder by the system is no answer
            ReportEvent(report_id=ids[system_after.code], actor="system", kind="notification", at=now),
            ReportEvent(report_id=ids[system_after.code], actor="citizen", kind="message", at=now - 3 * h)])
    client = await console_client(console_db)
    await login(client, "mt.hoa")
    html = await (await client.get("/console/")).text()
    assert _rows(html) == [(overdue.code, True), (answered.code, False), (system_after.code, True),
                           (fresh.code, False)]
    assert '<option value="due" selected>' in html
    # Asked for newest first: kept in the links (the default is not written out).
    html = await (await client.get("/console/?sort=new")).text()
    assert [c for c, _ in _rows(html)] == [fresh.code, system_after.code, answered.code, overdue.code]
    assert '<option value="new" selected>' in html

    # The center's default stays newest first.
    center = await console_client(console_db)
    await login(center, "tt.lan")
    html = await (await center.get("/console/")).text()
    assert [c for c, _ in _rows(html)] == [fresh.code, system_after.code, answered.code, overdue.code]
