"""The call-back list in the console: hotline works it, agencies see their own, viewers read."""
from __future__ import annotations

from sqlalchemy import select

from store.callbacks import add_callback
from store.models import Callback, ReportEvent
from tests.console.conftest import ConsoleDB, csrf_of, login


async def _entries(db: ConsoleDB):
    ours = await db.add_report(status="resolved", agency_id="moi-truong", description="Rác ở chợ")
    theirs = await db.add_report(status="resolved", agency_id="so-xay-dung", description="Ổ gà")
    async with db.sessions() as session, session.begin():
        a = await add_callback(session, phone="0234 3822 111", text=f"Phản ánh {ours.code} đã xử lý xong",
                               report_code=ours.code, reason="không có kênh nhắn tin")
        b = await add_callback(session, phone="0905 000 222", text=f"Phản ánh {theirs.code} đã xử lý xong",
                               report_code=theirs.code, reason="SMS lỗi")
    return ours, theirs, a.id, b.id


async def test_hotline_marks_a_call_done(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("td.minh", "hotline", name="Đỗ Văn Minh")
    ours, theirs, first, _ = await _entries(console_db)
    client = await console_client(console_db)
    await login(client, "td.minh")
    html = await (await client.get("/console/callbacks")).text()
    assert ours.code in html and theirs.code in html and 'href="tel:0234 3822 111"' in html
    resp = await client.post(f"/console/callbacks/{first}/done", data={"outcome": "Đã báo, bà Lan cảm ơn"},
                             allow_redirects=False)
    assert resp.status == 403  # no CSRF token
    resp = await client.post(f"/console/callbacks/{first}/done", allow_redirects=False,
                             data={"outcome": "Đã báo, bà Lan cảm ơn", "csrf_token": csrf_of(html)})
    assert resp.status == 303
    async with console_db.sessions() as session:
        entry = await session.get(Callback, first)
        note = (await session.execute(select(ReportEvent).where(ReportEvent.report_id == ours.id))).scalar_one()
    assert entry.done_by == "user:td.minh" and entry.outcome == "Đã báo, bà Lan cảm ơn"
    assert note.actor == "user:td.minh" and "bà Lan cảm ơn" in note.note and not note.public
    open_now = await (await client.get("/console/callbacks")).text()
    assert ours.code not in open_now and theirs.code in open_now
    done = await (await client.get("/console/callbacks?state=done")).text()
    assert "bà Lan cảm ơn" in done
    assert (await client.post("/console/callbacks/999/done", data={"csrf_token": csrf_of(html)})).status == 404


async def test_callbacks_per_role(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    await console_db.add_account("ld.xem", "viewer")
    ours, theirs, first, _ = await _entries(console_db)
    officer = await console_client(console_db)
    await login(officer, "mt.hoa")
    html = await (await officer.get("/console/callbacks")).text()
    assert ours.code in html and theirs.code not in html and "Đã gọi</button>" not in html
    viewer = await console_client(console_db)
    await login(viewer, "ld.xem")
    html = await (await viewer.get("/console/callbacks")).text()
    assert theirs.code in html and "Đã gọi</button>" not in html
    resp = await viewer.post(f"/console/callbacks/{first}/done", data={"csrf_token": csrf_of(html)})
    assert resp.status == 403
    async with console_db.sessions() as session:
        assert (await session.get(Callback, first)).done_at is None


async def test_the_callers_rating_of_a_result_is_recorded(console_db: ConsoleDB, console_client) -> None:
    """The script asks the caller for 1–5 on a resolved report: the operator records it with the
    call; it becomes the report's rating, as if the citizen had sent it. An open report's call
    has no rating field, and a rating posted for it anyway is ignored."""
    from store.models import Report

    await console_db.add_account("td.minh", "hotline", name="Đỗ Văn Minh")
    resolved = await console_db.add_report(status="resolved", agency_id="moi-truong", description="Ổ gà")
    working = await console_db.add_report(status="in_progress", agency_id="moi-truong", description="Cây đổ")
    async with console_db.sessions() as session, session.begin():
        done = await add_callback(session, phone="0905 000 222", report_code=resolved.code,
                                  text=f"Phản ánh {resolved.code} đã xử lý xong. Xin ông/bà cho biết mức độ hài lòng",
                                  reason="hotline: không gửi tin đi được trên kênh này")
        busy = await add_callback(session, phone="0905 000 333", report_code=working.code,
                                  text=f"Phản ánh {working.code} đang được xử lý", reason="SMS lỗi")
    client = await console_client(console_db)
    await login(client, "td.minh")
    html = await (await client.get("/console/callbacks")).text()
    assert f'id="rating-{done.id}"' in html and f'id="rating-{busy.id}"' not in html
    assert "Đường dây nóng: không gửi tin đi được trên kênh này" in html and "hotline:" not in html
    async with console_db.sessions() as session, session.begin():  # a comment sent with the link
        (await session.get(Report, resolved.id)).rating_comment = "Sửa nhanh, cảm ơn"
    for entry, rating in ((done, "4"), (busy, "2"), (done, "1")):  # the last: a double submit
        resp = await client.post(f"/console/callbacks/{entry.id}/done", allow_redirects=False,
                                 data={"outcome": "Đã báo", "rating": rating, "csrf_token": csrf_of(html)})
        assert resp.status == 303
    async with console_db.sessions() as session:
        scores = {r.code: r.rating_score for r in (await session.execute(select(Report))).scalars()}
        notes = [e.note for e in (await session.execute(
            select(ReportEvent).where(ReportEvent.report_id == resolved.id))).scalars()]
    assert scores[resolved.code] == 4 and scores[working.code] is None
    assert [n for n in notes if n.startswith("đánh giá")] == ["đánh giá 4/5 qua đường dây nóng"]
    assert len([n for n in notes if n.startswith("đã gọi lại")]) == 1
    async with console_db.sessions() as session:
        assert (await session.get(Report, resolved.id)).rating_comment == "Sửa nhanh, cảm ơn"


async def test_messages_for_one_citizen_and_report_make_one_call(console_db: ConsoleDB,
                                                                 console_client) -> None:
    """The result, then the agency's question, on one report for one phone: one open entry
    holding both in order (one call, not two); a retried send adds nothing; another report of
    the same citizen, or an entry already called, is a new entry."""
    await console_db.add_account("td.minh", "hotline", name="Đỗ Văn Minh")
    first = await console_db.add_report(status="resolved", agency_id="moi-truong", description="Rác")
    other = await console_db.add_report(status="in_progress", agency_id="moi-truong", description="Cây")
    result = f"Phản ánh {first.code} đã xử lý xong"
    question = f"Đơn vị hỏi thêm về phản ánh {first.code}: rác ở đầu kiệt hay cuối kiệt?"
    async with console_db.sessions() as session, session.begin():
        a = await add_callback(session, phone="0905 000 222", text=result,
                               report_code=first.code, reason="SMS lỗi")
        b = await add_callback(session, phone="0905 000 222", text=question,
                               report_code=first.code, reason="zalo: ngoài khung giờ")
        c = await add_callback(session, phone="0905 000 222", text=result,  # a retried send
                               report_code=first.code, reason="SMS lỗi")
        d = await add_callback(session, phone="0905 000 222", text="Đang xử lý",
                               report_code=other.code, reason="SMS lỗi")
    assert a.id == b.id == c.id != d.id
    async with console_db.sessions() as session:
        entry = await session.get(Callback, a.id)
    assert entry.text == f"{result}\n\n{question}" and entry.reason == "SMS lỗi"
    client = await console_client(console_db)
    await login(client, "td.minh")
    html = await (await client.get("/console/callbacks")).text()
    assert html.count("0905 000 222") >= 2 and question in html and 'class="desc lines"' in html
    resp = await client.post(f"/console/callbacks/{a.id}/done", allow_redirects=False,
                             data={"outcome": "Đã báo cả hai", "csrf_token": csrf_of(html)})
    assert resp.status == 303
    async with console_db.sessions() as session, session.begin():
        later = await add_callback(session, phone="0905 000 222", text=question,
                                   report_code=first.code, reason="SMS lỗi")
    assert later.id not in (a.id, d.id)
