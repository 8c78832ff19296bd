"""The report page: contact, timeline with officers, deliveries; scope per agency."""
from __future__ import annotations

from store.models import Contact, OutboxMessage, ReportEvent
from tests.console.conftest import ConsoleDB, login


async def _report_with_history(db: ConsoleDB):
    async with db.sessions() as session, session.begin():
        contact = Contact(channel="zalo", channel_user_id="z-1", name="Phạm Văn Bình", phone="0905123456")
        session.add(contact)
        await session.flush()
        contact_id = contact.id
    report = await db.add_report(status="in_progress", agency_id="moi-truong", category="environment",
                                 category_confidence=0.87, contact_id=contact_id, lat=16.4637, lon=107.5909,
                                 ward="Phường Thuận Hóa", address="12 Lê Lợi",
                                 description="Rác đổ trộm\n<b>cạnh</b> bờ sông")
    async with db.sessions() as session, session.begin():
        session.add_all([
            ReportEvent(report_id=report.id, actor="system", kind="status", status_from=None,
                        status_to="received"),
            ReportEvent(report_id=report.id, actor="user:tt.lan", kind="status", status_from="triage",
                        status_to="forwarded", note="Chuyển Công ty Môi trường"),
            ReportEvent(report_id=report.id, actor="moi-truong", kind="status", status_from="forwarded",
                        status_to="in_progress", note="Đã cử tổ thu gom"),
            OutboxMessage(channel="zalo", address="z-1", report_id=report.id, state="dead", attempts=3,
                          last_error="-230 ngoài khung 7 ngày"),
        ])
    return report


async def test_report_page_shows_the_case(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center", name="Trần Thị Lan")
    report = await _report_with_history(console_db)
    client = await console_client(console_db)
    await login(client, "tt.lan")
    resp = await client.get(f"/console/reports/{report.code.lower()}")
    assert resp.status == 200
    html = await resp.text()
    for text in ("Phạm Văn Bình", 'href="tel:0905123456"', "Vệ sinh môi trường", "87%", "Phường Thuận Hóa",
                 "Trần Thị Lan", "Chuyển Công ty Môi trường", "Đã cử tổ thu gom", "Không gửi được",
                 "ngoài khung 7 ngày", 'data-lat="16.4637"', "leaflet-1.9.4/leaflet.js",
                 "Công ty Môi trường đô thị Huế"):
        assert text in html, text
    assert "<b>cạnh</b>" not in html and "&lt;b&gt;cạnh&lt;/b&gt;" in html


async def test_agency_sees_only_its_reports(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    await console_db.add_account("xd.nam", "agency", "so-xay-dung")
    await console_db.add_account("ld.xem", "viewer")
    report = await _report_with_history(console_db)
    ours = await console_client(console_db)
    await login(ours, "mt.hoa")
    assert (await ours.get(f"/console/reports/{report.code}")).status == 200
    other = await console_client(console_db)
    await login(other, "xd.nam")
    resp = await other.get(f"/console/reports/{report.code}")
    missing = await other.get("/console/reports/PA-2026-999999")
    assert resp.status == missing.status == 404
    assert "Phạm Văn Bình" not in await resp.text()
    assert (await resp.text()).replace(report.code, "X") == (await missing.text()).replace("PA-2026-999999", "X")
    viewer = await console_client(console_db)
    await login(viewer, "ld.xem")
    assert (await viewer.get(f"/console/reports/{report.code}")).status == 200
