"""The queue: filters, scope, triage first, paging and counts (store), and the page over HTTP."""
from __future__ import annotations

from datetime import timedelta

from store.models import utcnow
from store.report_list import QueueFilter, QueueScope, list_reports
from tests.console.conftest import ConsoleDB, login


async def _codes(db: ConsoleDB, flt: QueueFilter, scope: QueueScope = QueueScope(), **kw) -> list[str]:
    async with db.sessions() as session:
        page = await list_reports(session, flt, scope, now=utcnow(), **kw)
    return [r.code for r in page.reports]


async def test_filters(console_db: ConsoleDB) -> None:
    now = utcnow()
    a = await console_db.add_report(status="forwarded", agency_id="moi-truong", category="environment",
                                    ward="Phường Thuận Hóa", channel="zalo", due_at=now - timedelta(days=1),
                                    description="Rác thải đổ trộm ở kiệt 12 Nguyễn Trãi")
    b = await console_db.add_report(status="in_progress", agency_id="moi-truong", category="environment",
                                    ward="Phường Phú Xuân", channel="email", due_at=now + timedelta(days=2),
                                    description="Mùi hôi từ cống", address="50% đường Lê Lợi")
    c = await console_db.add_report(status="triage", category="public_order", channel="hotline",
                                    description="Karaoke ồn ào sau 23 giờ")
    d = await console_db.add_report(status="forwarded", agency_id="so-xay-dung", category="construction_order",
                                    ward="Phường Thuận Hóa", channel="zalo", due_at=now - timedelta(hours=2),
                                    description="Xây nhà lấn chiếm vỉa hè")
    assert await _codes(console_db, QueueFilter()) == [a.code, b.code, c.code, d.code]
    assert await _codes(console_db, QueueFilter(status="forwarded")) == [a.code, d.code]
    assert await _codes(console_db, QueueFilter(category="environment")) == [a.code, b.code]
    assert await _codes(console_db, QueueFilter(ward="Phường Thuận Hóa")) == [a.code, d.code]
    assert await _codes(console_db, QueueFilter(channel="hotline")) == [c.code]
    assert await _codes(console_db, QueueFilter(overdue=True)) == [a.code, d.code]
    assert await _codes(console_db, QueueFilter(q="karaoke")) == [c.code]
    assert await _codes(console_db, QueueFilter(q="vỉa hè")) == [d.code]
    # Vietnamese capitals: "xây" finds "Xây", "RÁC" finds "Rác", "mùi HÔI" finds "Mùi hôi".
    assert await _codes(console_db, QueueFilter(q="xây nhà")) == [d.code]
    assert await _codes(console_db, QueueFilter(q="RÁC THẢI")) == [a.code]
    assert await _codes(console_db, QueueFilter(q="nguyễn trãi")) == [a.code]
    assert await _codes(console_db, QueueFilter(q="50%")) == [b.code]  # LIKE wildcards are literal
    assert await _codes(console_db, QueueFilter(q="%hôi")) == []  # not "anything, then hôi"
    assert await _codes(console_db, QueueFilter(q=c.code.lower())) == [c.code]
    assert await _codes(console_db, QueueFilter(sort="old")) == [d.code, c.code, b.code, a.code]
    assert await _codes(console_db, QueueFilter(sort="due")) == [a.code, d.code, b.code, c.code]
    # An agency officer's scope: only that agency's reports, counts included.
    scope = QueueScope(agency_id="moi-truong")
    assert await _codes(console_db, QueueFilter(), scope) == [a.code, b.code]
    async with console_db.sessions() as session:
        page = await list_reports(session, QueueFilter(), scope, now=utcnow())
    assert page.counts == {"forwarded": 1, "in_progress": 1} and page.total == 2


async def test_triage_first_pages_across_the_boundary(console_db: ConsoleDB) -> None:
    """The center's default: triage reports first (newest first), then the rest, page by page."""
    base = utcnow()
    made = []
    for i in range(7):
        status = "triage" if i % 3 == 0 else "forwarded"  # triage: 0, 3, 6
        made.append(await console_db.add_report(status=status, created_at=base - timedelta(minutes=i)))
    triage = [made[i].code for i in (0, 3, 6)]
    rest = [made[i].code for i in (1, 2, 4, 5)]
    scope = QueueScope(triage_first=True)
    pages = [await _codes(console_db, QueueFilter(), scope, page=p, page_size=2) for p in (1, 2, 3, 4, 5)]
    assert pages == [triage[:2], [triage[2], rest[0]], rest[1:3], rest[3:], []]
    async with console_db.sessions() as session:
        page = await list_reports(session, QueueFilter(), scope, now=utcnow(), page_size=2)
    assert page.total == 7 and page.pages == 4 and page.counts == {"triage": 3, "forwarded": 4}
    # With a status filter the order is the plain one.
    assert await _codes(console_db, QueueFilter(status="forwarded"), scope) == rest


async def test_queue_page_per_role(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("tt.lan", "center")
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    ours = await console_db.add_report(status="forwarded", agency_id="moi-truong", category="environment",
                                       description="Rác <script>alert(1)</script> ở chợ Đông Ba",
                                       due_at=utcnow() - timedelta(days=2))
    theirs = await console_db.add_report(status="forwarded", agency_id="so-xay-dung",
                                         description="Ổ gà đường Hùng Vương")
    triage = await console_db.add_report(status="triage", description="Chưa phân loại")
    center = await console_client(console_db)
    await login(center, "tt.lan")
    html = await (await center.get("/console/")).text()
    assert html.index(triage.code) < html.index(ours.code) and theirs.code in html
    # Autoescaping: the citizen's text is shown, never executed.
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Quá hạn 2 ngày" in html and "Công ty Môi trường đô thị Huế" in html
    officer = await console_client(console_db)
    await login(officer, "mt.hoa")
    html = await (await officer.get("/console/")).text()
    assert ours.code in html and theirs.code not in html and triage.code not in html
    # Even asking for the other agency's report by its code finds nothing.
    html = await (await officer.get("/console/", params={"q": theirs.code})).text()
    assert f'href="/console/reports/{theirs.code}"' not in html and "Không có phản ánh nào" in html
    # htmx asks for the results only.
    part = await (await center.get("/console/", params={"status": "triage"},
                                   headers={"HX-Request": "true", "HX-Target": "queue-results"})).text()
    assert "<html" not in part and triage.code in part and ours.code not in part
    # Unknown filter values are ignored, not errors.
    resp = await center.get("/console/", params={"status": "nope", "page": "abc", "ward": "Không có",
                                                 "channel": "../../x"})
    assert resp.status == 200


def test_sla_countdown_text() -> None:
    from web.console.queue import sla_state

    now = utcnow()
    assert sla_state(now + timedelta(days=2, hours=23, minutes=59), "forwarded", now) == ("sla-ok", "Còn 2 ngày 23 giờ")
    assert sla_state(now + timedelta(days=3), "in_progress", now) == ("sla-ok", "Còn 3 ngày")
    assert sla_state(now + timedelta(hours=5, minutes=1), "forwarded", now) == ("sla-soon", "Còn 5 giờ")
    assert sla_state(now - timedelta(hours=30, minutes=5), "forwarded", now) == ("sla-late", "Quá hạn 1 ngày 6 giờ")
    assert sla_state(now - timedelta(minutes=5), "in_progress", now) == ("sla-late", "Quá hạn dưới 1 giờ")
    # Resolved, triage, or no due date: no countdown.
    assert sla_state(now - timedelta(days=3), "resolved", now) == ("", "")
    assert sla_state(None, "forwarded", now) == ("", "")


async def test_word_search_is_folded_and_kept_current(console_db: ConsoleDB) -> None:
    """"o ga le loi" finds "Ổ gà … Lê Lợi" once the search job folded it; a report changed since
    the job's last run is found on its raw text; every word must be present."""
    from store.report_list import refresh_search_text

    old = utcnow() - timedelta(days=3)
    pothole = await console_db.add_report(description="Ổ gà lớn giữa đường Lê Lợi", status="forwarded",
                                          created_at=old, updated_at=old)
    other = await console_db.add_report(description="Ổ gà trên đường Hùng Vương", created_at=old, updated_at=old)
    fresh = await console_db.add_report(description="Đèn đường Lê Lợi hỏng")

    async def found(q: str) -> list[str]:
        async with console_db.sessions() as session:
            page = await list_reports(session, QueueFilter(q=q), QueueScope(triage_first=True), now=utcnow())
        return sorted(r.code for r in page.reports)

    assert await found("o ga le loi") == []  # not folded yet, and changed days ago
    assert await found("Lê Lợi") == [fresh.code]  # the fallback: recent, raw text
    async with console_db.sessions() as session, session.begin():
        assert await refresh_search_text(session, batch=2) == 2
    async with console_db.sessions() as session, session.begin():
        assert await refresh_search_text(session, batch=2) == 1
        assert await refresh_search_text(session, batch=2) == 0  # the cursor remembers
    assert await found("o ga le loi") == [pothole.code]
    assert await found("Ổ GÀ") == sorted([pothole.code, other.code])
    assert await found("le loi") == sorted([pothole.code, fresh.code])
    assert await found("100%_") == []

