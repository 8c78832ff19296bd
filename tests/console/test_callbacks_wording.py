"""The call-back list tells an agency officer who calls (left by the agency walkthrough: it said
"gọi, báo nội dung dưới đây, rồi ghi lại kết quả", but only the center and the hotline may mark a
call done): the center's operators call, the outcome shows on the report's timeline."""
from __future__ import annotations

import re

from store.callbacks import add_callback
from tests.console.conftest import ConsoleDB, login


def _intro(html: str) -> str:
    return re.search(r'id="callbacks-intro">([^<]*)<', html).group(1)


async def test_the_list_says_who_calls(console_db: ConsoleDB, console_client) -> None:
    await console_db.add_account("mt.hoa", "agency", "moi-truong")
    await console_db.add_account("td.minh", "hotline")
    ours = await console_db.add_report(status="resolved", agency_id="moi-truong", description="Rác ở chợ")
    async with console_db.sessions() as session, session.begin():
        await add_callback(session, phone="0234 3822 111", text=f"Phản ánh {ours.code} đã xử lý xong",
                           report_code=ours.code, reason="không có kênh nhắn tin")
    officer = await console_client(console_db)
    await login(officer, "mt.hoa")
    html = await (await officer.get("/console/callbacks")).text()
    assert ours.code in html and "Đã gọi</button>" not in html
    assert "rồi ghi lại kết quả" not in html
    assert "tổng đài của Trung tâm sẽ gọi" in _intro(html) and "mục Diễn biến" in _intro(html)
    assert "Chờ tổng đài gọi" in html

    operator = await console_client(console_db)
    await login(operator, "td.minh")
    html = await (await operator.get("/console/callbacks")).text()
    assert "gọi, báo nội dung dưới đây, rồi ghi lại kết quả" in _intro(html)
    assert "Đã gọi</button>" in html
