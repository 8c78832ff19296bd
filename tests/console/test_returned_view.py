"""An agency officer who returned a report to the center still finds it, read only, under
"Đã trả lại" (``/console/returned``): code, category, when, by whom and why, and where it is now.
The report page and every action on it still answer 404 to the officer; another agency's officer
does not see it; the list shows none of the citizen's data."""
from __future__ import annotations

from typing import Any

from tests.console.test_actions import Officer, hub_with_officers
from tests.router.helpers import ENV_FORM, post_report, report

REASON = "Không thuộc địa bàn, đề nghị chuyển UBND phường"


async def test_returned_reports_stay_visible_read_only(settings_factory: Any, hub_client: Any) -> None:
    client = await hub_with_officers(settings_factory, hub_client)
    code = await post_report(client, ENV_FORM)  # → moi-truong, with the citizen's phone and e-mail
    hoa, nam, center = Officer(client, "mt.hoa"), Officer(client, "xd.nam"), Officer(client, "tt.lan")
    status, html = await hoa.page("/console/returned")
    assert status == 200 and "Đơn vị chưa trả lại phản ánh nào." in html
    assert 'href="/console/returned" aria-current="page"' in html

    resp = await hoa.post(f"/console/reports/{code}/return", {"note": REASON})
    assert resp.status == 303
    landing = await (await client.get(resp.headers["Location"])).text()
    assert 'href="/console/returned"' in landing and "Xem các phản ánh đã trả lại" in landing
    status, html = await hoa.page("/console/returned")
    assert status == 200
    row = html[html.index("<tbody>"):html.index("</tbody>")]
    assert code in row and REASON in row and "Vệ sinh môi trường" in row and "Lê Thị Hoa" in row
    assert "Chờ Trung tâm phân loại" in row
    assert f'href="/console/reports/{code}"' not in row  # not theirs: no link to a 404
    for personal in ("Rác thải ùn ứ", "Nguyễn Trãi", "0905", "905 123 456", "lan@example.vn", "Lan<"):
        assert personal not in html, personal

    # Still not theirs: the page and the actions answer 404 as before.
    assert (await hoa.page(f"/console/reports/{code}"))[0] == 404
    for action, data in (("reply", {"text": "Chúng tôi đã nhận"}), ("status", {"status": "in_progress"}),
                         ("note", {"note": "ghi chú"})):
        resp = await hoa.post(f"/console/reports/{code}/{action}", data)
        assert resp.status == 404, (action, resp.status)
    assert (await report(client, code)).status == "returned"

    # Another agency sees nothing of it; the page is an agency officer's.
    status, html = await nam.page("/console/returned")
    assert status == 200 and code not in html
    assert (await center.page("/console/returned"))[0] == 403

    # The center sends it on: the officer reads where it went.
    resp = await center.post(f"/console/reports/{code}/route", {"agency": "so-xay-dung", "category": ""},
                             page=f"/console/reports/{code}")
    assert resp.status == 303, await resp.text()
    _, html = await hoa.page("/console/returned")
    row = html[html.index("<tbody>"):html.index("</tbody>")]
    assert "Đã chuyển cho Sở Xây dựng" in row and REASON in row
    _, html = await nam.page("/console/returned")
    assert code not in html  # so-xay-dung holds it, it returned nothing


async def test_returned_list_reads_returns_by_index(settings_factory: Any, hub_client: Any) -> None:
    """The list starts from the return events (index ix_report_events_status_to), not from a
    scan of every report checked by a JSON function, and a page past the end counts once."""
    from sqlalchemy import event

    from hub.keys import HUB_KEY

    client = await hub_with_officers(settings_factory, hub_client)
    hoa, center = Officer(client, "mt.hoa"), Officer(client, "tt.lan")
    codes = [await post_report(client, ENV_FORM, description=f"Rác ùn ứ điểm số {i}") for i in range(3)]
    resp = await hoa.post(f"/console/reports/{codes[0]}/return", {"note": REASON})
    assert resp.status == 303
    engine = client.app[HUB_KEY].engine
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "json_each" in statement:  # the check of extra.returned_by
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", keep)
    try:
        status, html = await hoa.page("/console/returned?page=99")  # past the end: the last page
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", keep)
    assert status == 200 and codes[0] in html and codes[1] not in html
    assert len(seen) == 2, seen  # the count and the page, once each
    async with engine.connect() as conn:
        for statement, params in seen:
            plan = [row[-1] for row in (await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params)).all()]
            assert not [step for step in plan if step.startswith("SCAN reports")], plan
            assert any("ix_report_events_status_to" in step for step in plan), plan
    assert (await center.page("/console/returned"))[0] == 403
